//! Kith's types and rules, free of HTTP and SQL: what a valid user, address, role or change is.

pub mod address;
pub mod change;
pub mod custom_field;
pub mod organization;
pub mod records;
pub mod role;
pub mod text;
pub mod user;

use std::collections::BTreeMap;

/// Field path (`emails[1].email`) → why its value was refused.
pub type FieldErrors = BTreeMap<String, String>;

/// Every way a request can fail below the HTTP layer; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more values are malformed or refer to something that does not exist (422).
    #[error("invalid input: {0:?}")]
    Invalid(FieldErrors),
    /// The request is well-formed but not acceptable as a whole (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request body is not JSON (415): also what a cross-site form post gets.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The request body is larger than allowed (413).
    #[error("too large: {0}")]
    TooLarge(String),
    /// A unique value is already taken (409).
    #[error("conflict on {field}: {message}")]
    Conflict { field: String, message: String },
    /// The record changed since the version the edit was made over (409; 412 when the version
    /// came in `If-Match`). Nothing was written.
    #[error("stale: the record is at version {current}")]
    Stale { current: i64 },
    /// No such record, or one the caller may not see (404).
    #[error("not found")]
    NotFound,
    /// The caller is known but lacks the permission (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No valid credentials (401).
    #[error("unauthenticated")]
    Unauthenticated,
    /// Too many attempts: try again after this many milliseconds (429 with `Retry-After`).
    #[error("rate limited for {0} ms")]
    RateLimited(i64),
    /// The database is unreachable or saturated (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A plugin failed or is switched off, and the answer was all the plugin's (502).
    #[error("plugin failed: {0}")]
    PluginFailed(String),
    /// A bug or an unexpected failure (500); details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A 422 for one field.
    pub fn invalid(field: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid(BTreeMap::from([(field.into(), why.into())]))
    }
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Conflict { field: field.into(), message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// For optional fields of edit inputs: a present value (even `null`) deserializes as `Some`, so
/// a missing field stays `None` and `null` can clear. Use with `#[serde(default)]`.
pub(crate) fn present<'de, T, D>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    T::deserialize(d).map(Some)
}

/// Collects field errors while a whole input is checked, so one answer names them all.
#[derive(Debug, Default)]
pub struct Checker(pub FieldErrors);

impl Checker {
    pub fn fail(&mut self, field: impl Into<String>, why: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| why.into());
    }
    /// Keeps `Ok` values, records `Err` ones under `field`.
    pub fn take<T>(&mut self, field: impl Into<String>, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(why) => {
                self.fail(field, why);
                None
            }
        }
    }
    /// Checks a length limit in characters.
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(field, format!("too long (at most {max} characters)"));
        }
    }
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Invalid(self.0)) }
    }
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's (or agent's) number.
    UserId
);
id_type!(
    /// A role's number.
    RoleId
);
