//! The plugin's log, kept by Kith and tagged with the plugin id, version and hook.
//!
//! Use the macros [`trace!`](crate::trace), [`debug!`](crate::debug), [`info!`](crate::info),
//! [`warn!`](crate::warn) and [`error!`](crate::error) — `format!` syntax — or [`write`].

/// How important a log line is.
///
/// ```no_run
/// kith_plugin_sdk::log::write(kith_plugin_sdk::log::Level::Warn, "slow answer");
/// ```
pub use crate::bindings::kith::plugin::log::Level;

/// Writes one line to the plugin's log.
///
/// ```no_run
/// use kith_plugin_sdk::log::{self, Level};
///
/// log::write(Level::Info, "cache warmed");
/// ```
pub fn write(level: Level, message: &str) {
    crate::bindings::kith::plugin::log::log(level, message);
}

/// Logs at `trace` level, with `format!` arguments.
///
/// ```no_run
/// kith_plugin_sdk::trace!("looked at {} keys", 12);
/// ```
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log::write($crate::log::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Logs at `debug` level, with `format!` arguments.
///
/// ```no_run
/// kith_plugin_sdk::debug!("page {} of {}", 2, 5);
/// ```
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log::write($crate::log::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Logs at `info` level, with `format!` arguments.
///
/// ```no_run
/// let user = "ada";
/// kith_plugin_sdk::info!("accepted {user}");
/// ```
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log::write($crate::log::Level::Info, &::std::format!($($arg)+))
    };
}

/// Logs at `warn` level, with `format!` arguments.
///
/// ```no_run
/// kith_plugin_sdk::warn!("CRM answered {}", 503);
/// ```
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log::write($crate::log::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Logs at `error` level, with `format!` arguments.
///
/// ```no_run
/// kith_plugin_sdk::error!("record {} is not valid JSON", "form/1");
/// ```
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log::write($crate::log::Level::Error, &::std::format!($($arg)+))
    };
}
