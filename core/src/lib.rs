//! Kith: the people side of a help desk — users, agents and the organizations they belong to.
//!
//! The crate is laid out in layers a request passes through in one direction: a front —
//! [`http`] (the JSON API), [`web`] (the browser pages), [`cli`], [`jobs`] — calls
//! [`services`] (every rule and permission, once), which use [`domain`] (types and rules, no
//! HTTP or SQL) and [`store`] (SQL, one implementation compiled for SQLite and for PostgreSQL).
//! [`app::App`] is the composition root, built without axum; [`auth`] holds password hashing
//! and token handling, [`config`] the layered configuration.

pub mod app;
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
mod layering;
pub mod ldap;
pub mod login;
pub mod mail;
pub mod oidc;
pub mod plugins;
pub mod server;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod web;

pub use http::{AppState, app};
