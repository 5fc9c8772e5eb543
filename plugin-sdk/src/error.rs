//! Constructors and `?` conversions for [`PluginError`].

use crate::PluginError;

impl PluginError {
    /// The input is wrong; `message` may be shown to whoever sent it.
    ///
    /// ```
    /// let err = kith_plugin_sdk::PluginError::invalid_input("form: must not be empty");
    /// assert_eq!(err.message(), "form: must not be empty");
    /// ```
    pub fn invalid_input(message: impl Into<String>) -> Self {
        PluginError::InvalidInput(message.into())
    }

    /// A remote service is down or slow; worth trying again later.
    ///
    /// ```
    /// let err = kith_plugin_sdk::PluginError::unavailable("CRM answered 503");
    /// assert!(matches!(err, kith_plugin_sdk::PluginError::Unavailable(_)));
    /// ```
    pub fn unavailable(message: impl Into<String>) -> Self {
        PluginError::Unavailable(message.into())
    }

    /// The caller may not do this.
    ///
    /// ```
    /// let err = kith_plugin_sdk::PluginError::denied("only the record's author may delete it");
    /// assert!(matches!(err, kith_plugin_sdk::PluginError::Denied(_)));
    /// ```
    pub fn denied(message: impl Into<String>) -> Self {
        PluginError::Denied(message.into())
    }

    /// A bug or an unexpected state in the plugin.
    ///
    /// ```
    /// let err = kith_plugin_sdk::PluginError::internal("not implemented");
    /// assert!(matches!(err, kith_plugin_sdk::PluginError::Internal(_)));
    /// ```
    pub fn internal(message: impl Into<String>) -> Self {
        PluginError::Internal(message.into())
    }

    /// The message, whatever the kind.
    ///
    /// ```
    /// assert_eq!(kith_plugin_sdk::PluginError::denied("no").message(), "no");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            PluginError::InvalidInput(m)
            | PluginError::Unavailable(m)
            | PluginError::Denied(m)
            | PluginError::Internal(m) => m,
        }
    }
}

/// JSON that does not parse (or does not fit the expected shape) is the caller's mistake:
/// `InvalidInput`, with serde's message (which names the line and column or the field).
impl From<serde_json::Error> for PluginError {
    fn from(err: serde_json::Error) -> Self {
        PluginError::InvalidInput(format!("invalid JSON: {err}"))
    }
}
