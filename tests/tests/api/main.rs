//! The JSON API over HTTP, every test on SQLite and on PostgreSQL.

mod auth;
mod login_hardening;
mod ops;
mod organizations;
mod roles;
mod users;
