//! Organization membership with Kith's own rules (accounts, e-mail addresses, domains, phone
//! numbers), so a plugin never re-implements them.

use std::fmt;

use crate::PluginError;
use crate::bindings::kith::plugin::membership as host;

/// Someone a plugin's record is about: an account id, an address, a phone number, or several.
///
/// ```
/// use kith_plugin_sdk::membership::Subject;
/// let s = Subject { user_id: Some(12), email: None, phone: Some("+44 20 7946 0000".into()) };
/// ```
pub use host::Subject;

/// One rule of the organization that pulls a subject in: `kind` is `username`, `email`,
/// `domain` or `phone`, `value` the rule's value. Displays as `"domain example.com"`.
///
/// ```
/// use kith_plugin_sdk::membership::MatchedBy;
/// let m = MatchedBy { kind: "email".into(), value: "a@example.com".into() };
/// assert_eq!(m.to_string(), "email a@example.com");
/// ```
pub use host::MatchedBy;

/// The most subjects the host answers in one call; [`match_members`] splits longer lists.
///
/// ```
/// assert_eq!(kith_plugin_sdk::membership::MAX_SUBJECTS, 1000);
/// ```
pub const MAX_SUBJECTS: usize = 1000;

impl Subject {
    /// A subject known only by e-mail address.
    ///
    /// ```
    /// let s = kith_plugin_sdk::membership::Subject::email("a@example.com");
    /// assert_eq!(s.email.as_deref(), Some("a@example.com"));
    /// ```
    pub fn email(email: impl Into<String>) -> Self {
        Subject { user_id: None, email: Some(email.into()), phone: None }
    }
}

impl fmt::Display for MatchedBy {
    /// ```
    /// let m = kith_plugin_sdk::membership::MatchedBy { kind: "domain".into(), value: "example.com".into() };
    /// assert_eq!(m.to_string(), "domain example.com");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.value)
    }
}

/// For each subject (in order), the rules of organization `org_id` that make it a member; an
/// empty list means "not a member". Ask once per page of records, not once per record: lists
/// longer than [`MAX_SUBJECTS`] are sent in several calls.
///
/// ```no_run
/// use kith_plugin_sdk::membership::{self, Subject};
///
/// let subjects = vec![Subject::email("a@example.com"), Subject { user_id: Some(12), email: None, phone: None }];
/// let matches = membership::match_members(3, &subjects)?;
/// let members = matches.iter().filter(|m| !m.is_empty()).count();
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn match_members(org_id: i64, subjects: &[Subject]) -> Result<Vec<Vec<MatchedBy>>, PluginError> {
    let mut all = Vec::with_capacity(subjects.len());
    for chunk in subjects.chunks(MAX_SUBJECTS) {
        let answer =
            host::match_members(org_id, chunk).map_err(|e| PluginError::internal(format!("match-members: {e}")))?;
        if answer.len() != chunk.len() {
            return Err(PluginError::internal(format!(
                "match-members answered {} entries for {} subjects",
                answer.len(),
                chunk.len()
            )));
        }
        all.extend(answer);
    }
    Ok(all)
}
