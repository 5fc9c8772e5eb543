//! Kith: the people side of a help desk — users, agents and the organizations they belong to.
//!
//! The crate is laid out in layers a request passes through in one direction:
//! [`http`] (JSON API handlers) → [`domain`] (types and rules, no HTTP or SQL) → [`store`]
//! (SQL, one implementation compiled for SQLite and for PostgreSQL). [`auth`] holds password
//! hashing and token handling, [`config`] the layered configuration, [`cli`] the commands.

pub mod auth;
pub mod avatars;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod ldap;
pub mod login;
pub mod mail;
pub mod oidc;
pub mod plugins;
pub mod server;
pub mod store;
pub mod telemetry;

pub use http::{AppState, app};
