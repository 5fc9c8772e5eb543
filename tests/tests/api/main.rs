//! The JSON API over HTTP, every test on SQLite and on PostgreSQL.

mod accounts;
mod agent_actions;
mod agent_nav;
mod agent_orgs;
mod agent_pages;
mod agent_record;
mod auth;
mod comments;
mod hardening;
mod login_hardening;
mod ops;
mod organizations;
mod pages;
mod roles;
mod statements;
mod users;
mod web;
