//! Auth providers: check a username and password for users whose `auth_method` is
//! `plugin:<id>` (manifest `provides = ["auth-provider"]`).

use crate::PluginError;

/// What the person typed on the login form, plus the address they came from if known.
///
/// ```
/// use kith_plugin_sdk::auth::Credentials;
/// let creds = Credentials { username: "ada".into(), password: "secret".into(), remote_addr: None };
/// assert_eq!(creds.username, "ada");
/// ```
pub use crate::bindings::exports::kith::plugin::auth_provider::Credentials;

/// Who the credentials belong to in the plugin's world. Kith keys the account by
/// (plugin id, `external_id`); roles come from Kith's own group mapping, never from the plugin.
///
/// ```
/// use kith_plugin_sdk::auth::AuthenticatedUser;
/// let user = AuthenticatedUser {
///     external_id: "crm-17".into(),
///     email: Some("ada@example.com".into()),
///     display_name: Some("Ada Lovelace".into()),
///     groups: vec!["support".into()],
/// };
/// ```
pub use crate::bindings::exports::kith::plugin::auth_provider::AuthenticatedUser;

/// The answer to a login attempt: `Accepted(user)`, `Rejected(reason)` (wrong credentials:
/// the login fails) or `NotHandled` (this provider does not know the user: Kith asks the next).
///
/// ```
/// use kith_plugin_sdk::auth::AuthOutcome;
/// let outcome = AuthOutcome::Rejected("wrong credentials".into());
/// assert!(!matches!(outcome, AuthOutcome::Accepted(_)));
/// ```
pub use crate::bindings::exports::kith::plugin::auth_provider::AuthOutcome;

/// Checks credentials. The default answers [`AuthOutcome::NotHandled`].
///
/// Return `Err(PluginError::Unavailable(..))` when the identity service cannot be reached, so
/// Kith can fail over; never log the password.
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
///
/// struct Demo;
///
/// impl AuthProvider for Demo {
///     fn authenticate(creds: Credentials) -> Result<AuthOutcome, PluginError> {
///         if creds.username != "demo" {
///             return Ok(AuthOutcome::NotHandled);
///         }
///         if creds.password != kith_plugin_sdk::config::require("demo_password")? {
///             return Ok(AuthOutcome::Rejected("wrong credentials".into()));
///         }
///         Ok(AuthOutcome::Accepted(AuthenticatedUser {
///             external_id: "demo".into(),
///             email: Some("demo@example.com".into()),
///             display_name: Some("Demo User".into()),
///             groups: vec![],
///         }))
///     }
/// }
///
/// kith_plugin_sdk::export!(Demo);
/// ```
pub trait AuthProvider {
    /// Checks one login attempt.
    fn authenticate(creds: Credentials) -> Result<AuthOutcome, PluginError> {
        let _ = creds;
        Ok(AuthOutcome::NotHandled)
    }
}
