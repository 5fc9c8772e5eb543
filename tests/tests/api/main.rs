//! The JSON API over HTTP, every test on SQLite and on PostgreSQL.

mod auth;
mod ops;
mod organizations;
mod roles;
mod users;
