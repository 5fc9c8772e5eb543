//! Kith plugin: checks a username and password by POSTing them as JSON to an HTTP endpoint the
//! admin configures (`endpoint`), for users whose `auth_method` is `plugin:http-auth`.
//!
//! The endpoint answers 200 with `{"id": "...", "email"?, "name"?, "groups"?}` for good
//! credentials and 401 or 403 for bad ones; anything else (or no answer) makes the provider
//! "unavailable", so Kith can try the next one. The password is never logged.

use std::time::Duration;

use kith_plugin_sdk::prelude::*;
use kith_plugin_sdk::{config, http, info, warn};
use serde::{Deserialize, Serialize};

/// The plugin type registered with Kith.
pub struct HttpAuth;

kith_plugin_sdk::export!(HttpAuth);

/// Below the auth hook's default 3 s budget, so a slow endpoint reads as "unavailable" rather
/// than as a plugin timeout.
const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// An identity answer is small; anything bigger is not one.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Serialize)]
struct Login<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Deserialize)]
struct Identity {
    id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl AuthProvider for HttpAuth {
    fn authenticate(creds: Credentials) -> Result<AuthOutcome, PluginError> {
        let endpoint = config::require("endpoint")?;
        let timeout = config::get_parsed::<u64>("timeout_ms")?.unwrap_or(DEFAULT_TIMEOUT_MS);
        let response = http::post(&endpoint)
            .header("accept", "application/json")
            .json(&Login { username: &creds.username, password: &creds.password })?
            .timeout(Duration::from_millis(timeout))
            .max_response_bytes(MAX_ANSWER_BYTES)
            .send()
            .inspect_err(|e| warn!("{endpoint}: {e}"))?;
        let outcome = outcome(response.status, &response.body)?;
        match &outcome {
            AuthOutcome::Accepted(user) => info!("accepted {:?} as {:?}", creds.username, user.external_id),
            _ => info!("rejected {:?} (endpoint answered {})", creds.username, response.status),
        }
        Ok(outcome)
    }
}

/// What the endpoint's answer means.
fn outcome(status: u16, body: &[u8]) -> Result<AuthOutcome, PluginError> {
    match status {
        200 => {
            let identity: Identity = serde_json::from_slice(body)
                .map_err(|e| PluginError::unavailable(format!("endpoint answered 200 without an identity: {e}")))?;
            if identity.id.trim().is_empty() {
                return Err(PluginError::unavailable("endpoint answered 200 with an empty id"));
            }
            Ok(AuthOutcome::Accepted(AuthenticatedUser {
                external_id: identity.id,
                email: identity.email.filter(|e| !e.trim().is_empty()),
                display_name: identity.name.filter(|n| !n.trim().is_empty()),
                groups: identity.groups,
            }))
        }
        401 | 403 => Ok(AuthOutcome::Rejected("wrong credentials".into())),
        other => Err(PluginError::unavailable(format!("endpoint answered {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_identity_is_accepted() {
        let body = br#"{"id": "u-7", "email": "ada@example.com", "name": "Ada", "groups": ["staff"], "extra": 1}"#;
        match outcome(200, body) {
            Ok(AuthOutcome::Accepted(user)) => {
                assert_eq!(user.external_id, "u-7");
                assert_eq!(user.email.as_deref(), Some("ada@example.com"));
                assert_eq!(user.display_name.as_deref(), Some("Ada"));
                assert_eq!(user.groups, ["staff"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let minimal = outcome(200, br#"{"id": "u-8"}"#);
        assert!(matches!(minimal, Ok(AuthOutcome::Accepted(u)) if u.groups.is_empty() && u.email.is_none()));
    }

    #[test]
    fn statuses_401_and_403_reject() {
        for status in [401, 403] {
            assert!(matches!(outcome(status, b""), Ok(AuthOutcome::Rejected(r)) if r == "wrong credentials"));
        }
    }

    #[test]
    fn anything_else_is_unavailable() {
        for (status, body) in [(500, &b""[..]), (404, b""), (302, b""), (200, b"not json"), (200, br#"{"id": ""}"#)] {
            assert!(matches!(outcome(status, body), Err(PluginError::Unavailable(_))), "{status}");
        }
    }

    #[test]
    fn the_request_body_has_exactly_username_and_password() {
        let json = serde_json::to_string(&Login { username: "ada", password: "s3cret" }).unwrap_or_default();
        assert_eq!(json, r#"{"username":"ada","password":"s3cret"}"#);
    }
}
