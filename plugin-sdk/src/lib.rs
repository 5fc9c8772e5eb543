//! Write Kith plugins in Rust: WebAssembly components for the `kith:plugin@0.1.0` API.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`. It implements whichever of the five
//! extension traits it needs — [`AuthProvider`], [`FieldType`], [`AvatarProvider`], [`OrgTab`],
//! [`Actions`] — on one type, and registers that type with [`export!`]. Every extension point is
//! exported by every plugin; the ones a plugin does not implement answer with the trait's default
//! ("not handled", "not implemented", ...), and the host only calls what the manifest's
//! `provides` lists.
//!
//! ```no_run
//! use kith_plugin_sdk::prelude::*;
//!
//! struct Shout;
//!
//! impl FieldType for Shout {
//!     fn validate(_field: FieldInfo, value: String) -> Result<String, String> {
//!         if value.trim().is_empty() {
//!             return Err("say something".into());
//!         }
//!         Ok(value.to_uppercase())
//!     }
//! }
//!
//! kith_plugin_sdk::export!(Shout);
//! ```
//!
//! Every call runs in a fresh sandbox: nothing survives between calls except what the plugin
//! puts in [`kv`]. Host services: [`config`], [`kv`], [`membership`], [`log`] (with the
//! [`info!`]-style macros) and [`http`] (outbound requests to the hosts the admin granted).
//!
//! A panic writes `kith-plugin panicked at <file>:<line>:<column>:` and, on the next line, the
//! message to stderr (the host keeps it with the fault), then traps.

// Generated bindings need `unsafe`; it is denied everywhere else in this crate (see Cargo.toml).
#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_kith_plugin",
        default_bindings_module: "kith_plugin_sdk::bindings",
        additional_derives: [PartialEq, Eq],
    });
}

pub mod actions;
pub mod auth;
pub mod avatar;
pub mod config;
mod error;
pub mod field;
pub mod http;
pub mod kv;
pub mod log;
pub mod membership;
pub mod org_tab;

pub use actions::Actions;
pub use auth::AuthProvider;
pub use avatar::AvatarProvider;
pub use field::FieldType;
pub use org_tab::OrgTab;

/// The error a plugin reports on purpose, as opposed to a fault such as a panic.
///
/// * `InvalidInput` — the input is wrong; the message may be shown to whoever sent it.
/// * `Unavailable` — a remote service is down or slow; worth trying again later (an auth
///   provider answering this lets Kith try the next provider).
/// * `Denied` — the caller may not do this.
/// * `Internal` — a bug or an unexpected state in the plugin.
///
/// `?` converts [`serde_json::Error`] (to `InvalidInput`) and [`http::HttpError`] (to
/// `Unavailable`, or `Internal` for a request the plugin built wrongly).
///
/// ```
/// use kith_plugin_sdk::PluginError;
///
/// fn parse_limit(input: &str) -> Result<u32, PluginError> {
///     let value: serde_json::Value = serde_json::from_str(input)?;
///     let limit = value["limit"].as_u64().ok_or_else(|| PluginError::invalid_input("limit: expected a number"))?;
///     u32::try_from(limit).map_err(|_| PluginError::invalid_input("limit: too large"))
/// }
///
/// assert!(matches!(parse_limit("{"), Err(PluginError::InvalidInput(_))));
/// assert_eq!(parse_limit(r#"{"limit": 5}"#).ok(), Some(5));
/// ```
pub use bindings::kith::plugin::types::PluginError;

/// An organization as the host shows it to a plugin (its numeric id and display name).
///
/// ```
/// let org = kith_plugin_sdk::OrgRef { id: 7, name: "Example Ltd".into() };
/// assert_eq!(org.id, 7);
/// ```
pub use bindings::kith::plugin::types::OrgRef;

/// Everything a plugin usually needs, in one `use`.
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
///
/// struct Nothing;
/// impl AvatarProvider for Nothing {}
/// kith_plugin_sdk::export!(Nothing);
/// ```
pub mod prelude {
    pub use crate::actions::{Actions, Caller};
    pub use crate::auth::{AuthOutcome, AuthProvider, AuthenticatedUser, Credentials};
    pub use crate::avatar::{Avatar, AvatarProvider, Image};
    pub use crate::field::{FieldInfo, FieldType};
    pub use crate::membership::{MatchedBy, Subject};
    pub use crate::org_tab::{OrgTab, PageRequest, TabContent, Table};
    pub use crate::{OrgRef, PluginError};
}

/// Registers a plugin type: wires all five `kith:plugin` exports to its trait implementations.
///
/// The type implements any of [`AuthProvider`], [`FieldType`], [`AvatarProvider`], [`OrgTab`] and
/// [`Actions`]; an extension point whose trait it does not implement answers with that trait's
/// defaults (so `export!` works with one trait or all five, and nothing else has to be written).
/// Call it once per plugin crate, at the top level of `lib.rs`.
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
///
/// struct Echo;
///
/// impl Actions for Echo {
///     fn run(name: String, input: String, _caller: Caller) -> Result<String, PluginError> {
///         match name.as_str() {
///             "echo" => Ok(input),
///             _ => Err(PluginError::invalid_input(format!("unknown action {name}"))),
///         }
///     }
/// }
///
/// kith_plugin_sdk::export!(Echo);
/// ```
///
/// How it works: the macro implements the generated bindings' `Guest` traits on a private type
/// and forwards each call through "autoref specialization": a method that exists only when the
/// plugin type implements the extension trait is found before the fallback that uses the trait's
/// default. This needs the concrete type, which the macro has. The `#[export_name]` functions
/// are only emitted for `target_arch = "wasm32"`, so a plugin crate also builds (and its unit
/// tests run) on the host.
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        #[allow(unsafe_code)]
        const _: () = {
            // Only one of each Impl/Default pair is used, depending on `$plugin`.
            #[allow(unused_imports)]
            use $crate::__private::{
                ActionsDefault as _, ActionsImpl as _, AuthDefault as _, AuthImpl as _, AvatarDefault as _,
                AvatarImpl as _, FieldDefault as _, FieldImpl as _, TabDefault as _, TabImpl as _,
            };

            #[allow(dead_code)]
            struct KithPluginExports;

            impl $crate::bindings::exports::kith::plugin::auth_provider::Guest for KithPluginExports {
                fn authenticate(
                    creds: $crate::auth::Credentials,
                ) -> ::core::result::Result<$crate::auth::AuthOutcome, $crate::PluginError> {
                    $crate::__private::enter();
                    (&&$crate::__private::Dispatch::<$plugin>::NEW).authenticate(creds)
                }
            }

            impl $crate::bindings::exports::kith::plugin::field_type::Guest for KithPluginExports {
                fn validate(
                    field: $crate::field::FieldInfo,
                    value: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                    $crate::__private::enter();
                    (&&$crate::__private::Dispatch::<$plugin>::NEW).validate(field, value)
                }

                fn format(
                    field: $crate::field::FieldInfo,
                    value: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, $crate::PluginError> {
                    $crate::__private::enter();
                    (&&$crate::__private::Dispatch::<$plugin>::NEW).format(field, value)
                }
            }

            impl $crate::bindings::exports::kith::plugin::avatar_provider::Guest for KithPluginExports {
                fn avatar_for(
                    email: ::std::string::String,
                    size_px: u32,
                ) -> ::core::result::Result<$crate::avatar::Avatar, $crate::PluginError> {
                    $crate::__private::enter();
                    (&&$crate::__private::Dispatch::<$plugin>::NEW).avatar_for(email, size_px)
                }
            }

            impl $crate::bindings::exports::kith::plugin::org_tab::Guest for KithPluginExports {
                fn render(
                    req: $crate::org_tab::PageRequest,
                ) -> ::core::result::Result<$crate::org_tab::TabContent, $crate::PluginError> {
                    $crate::__private::enter();
                    (&&$crate::__private::Dispatch::<$plugin>::NEW).render(req)
                }
            }

            impl $crate::bindings::exports::kith::plugin::actions::Guest for KithPluginExports {
                fn run(
                    name: ::std::string::String,
                    input: ::std::string::String,
                    caller: $crate::actions::Caller,
                ) -> ::core::result::Result<::std::string::String, $crate::PluginError> {
                    $crate::__private::enter();
                    (&&$crate::__private::Dispatch::<$plugin>::NEW).run(name, input, caller)
                }
            }

            #[cfg(target_arch = "wasm32")]
    $crate::bindings::__export_kith_plugin!(KithPluginExports with_types_in $crate::bindings);
        };
    };
}

/// Support for [`export!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    use crate::PluginError;
    use crate::actions::{Actions, Caller};
    use crate::auth::{AuthOutcome, AuthProvider, Credentials};
    use crate::avatar::{Avatar, AvatarProvider};
    use crate::field::{FieldInfo, FieldType};
    use crate::org_tab::{OrgTab, PageRequest, TabContent};

    /// Runs at the start of every export: installs the panic hook (once per instance).
    pub fn enter() {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| std::panic::set_hook(Box::new(write_panic)));
    }

    fn write_panic(info: &std::panic::PanicHookInfo<'_>) {
        use std::io::Write as _;
        let message = info.payload_as_str().unwrap_or("(no message)");
        // The shape of Rust's own panic message, which the host parses: location line, then
        // the message.
        let line = match info.location() {
            Some(at) => format!("kith-plugin panicked at {}:{}:{}:\n{message}\n", at.file(), at.line(), at.column()),
            None => format!("kith-plugin panicked at <unknown>:\n{message}\n"),
        };
        // Nothing useful can be done if stderr is gone: the trap that follows still reports.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    /// The plugin type `T`, seen through the extension traits it may or may not implement.
    pub struct Dispatch<T>(PhantomData<T>);

    impl<T> Dispatch<T> {
        pub const NEW: Self = Dispatch(PhantomData);
    }

    /// Stands in for a plugin that does not implement a trait: every method is the default.
    struct Defaults;
    impl AuthProvider for Defaults {}
    impl FieldType for Defaults {}
    impl AvatarProvider for Defaults {}
    impl OrgTab for Defaults {}
    impl Actions for Defaults {}

    // For each extension point: `…Impl` is implemented for `&Dispatch<T>` when `T` implements the
    // trait, `…Default` for `Dispatch<T>` always. Called as `(&&Dispatch::<T>::NEW).method()`,
    // method lookup tries the `&&Dispatch` receiver (the plugin's impl) before auto-deref reaches
    // the `&Dispatch` receiver (the default).

    pub trait AuthImpl {
        fn authenticate(&self, creds: Credentials) -> Result<AuthOutcome, PluginError>;
    }
    impl<T: AuthProvider> AuthImpl for &Dispatch<T> {
        fn authenticate(&self, creds: Credentials) -> Result<AuthOutcome, PluginError> {
            T::authenticate(creds)
        }
    }
    pub trait AuthDefault {
        fn authenticate(&self, creds: Credentials) -> Result<AuthOutcome, PluginError>;
    }
    impl<T> AuthDefault for Dispatch<T> {
        fn authenticate(&self, creds: Credentials) -> Result<AuthOutcome, PluginError> {
            Defaults::authenticate(creds)
        }
    }

    pub trait FieldImpl {
        fn validate(&self, field: FieldInfo, value: String) -> Result<String, String>;
        fn format(&self, field: FieldInfo, value: String) -> Result<String, PluginError>;
    }
    impl<T: FieldType> FieldImpl for &Dispatch<T> {
        fn validate(&self, field: FieldInfo, value: String) -> Result<String, String> {
            T::validate(field, value)
        }
        fn format(&self, field: FieldInfo, value: String) -> Result<String, PluginError> {
            T::format(field, value)
        }
    }
    pub trait FieldDefault {
        fn validate(&self, field: FieldInfo, value: String) -> Result<String, String>;
        fn format(&self, field: FieldInfo, value: String) -> Result<String, PluginError>;
    }
    impl<T> FieldDefault for Dispatch<T> {
        fn validate(&self, field: FieldInfo, value: String) -> Result<String, String> {
            Defaults::validate(field, value)
        }
        fn format(&self, field: FieldInfo, value: String) -> Result<String, PluginError> {
            Defaults::format(field, value)
        }
    }

    pub trait AvatarImpl {
        fn avatar_for(&self, email: String, size_px: u32) -> Result<Avatar, PluginError>;
    }
    impl<T: AvatarProvider> AvatarImpl for &Dispatch<T> {
        fn avatar_for(&self, email: String, size_px: u32) -> Result<Avatar, PluginError> {
            T::avatar_for(email, size_px)
        }
    }
    pub trait AvatarDefault {
        fn avatar_for(&self, email: String, size_px: u32) -> Result<Avatar, PluginError>;
    }
    impl<T> AvatarDefault for Dispatch<T> {
        fn avatar_for(&self, email: String, size_px: u32) -> Result<Avatar, PluginError> {
            Defaults::avatar_for(email, size_px)
        }
    }

    pub trait TabImpl {
        fn render(&self, req: PageRequest) -> Result<TabContent, PluginError>;
    }
    impl<T: OrgTab> TabImpl for &Dispatch<T> {
        fn render(&self, req: PageRequest) -> Result<TabContent, PluginError> {
            T::render(req)
        }
    }
    pub trait TabDefault {
        fn render(&self, req: PageRequest) -> Result<TabContent, PluginError>;
    }
    impl<T> TabDefault for Dispatch<T> {
        fn render(&self, req: PageRequest) -> Result<TabContent, PluginError> {
            Defaults::render(req)
        }
    }

    pub trait ActionsImpl {
        fn run(&self, name: String, input: String, caller: Caller) -> Result<String, PluginError>;
    }
    impl<T: Actions> ActionsImpl for &Dispatch<T> {
        fn run(&self, name: String, input: String, caller: Caller) -> Result<String, PluginError> {
            T::run(name, input, caller)
        }
    }
    pub trait ActionsDefault {
        fn run(&self, name: String, input: String, caller: Caller) -> Result<String, PluginError>;
    }
    impl<T> ActionsDefault for Dispatch<T> {
        fn run(&self, name: String, input: String, caller: Caller) -> Result<String, PluginError> {
            Defaults::run(name, input, caller)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    /// Implements one trait only; the others must fall back to their defaults.
    struct OnlyFields;

    impl FieldType for OnlyFields {
        fn validate(_field: FieldInfo, value: String) -> Result<String, String> {
            Ok(value.to_uppercase())
        }
    }

    crate::export!(OnlyFields);

    fn field() -> FieldInfo {
        FieldInfo { type_id: "shout".into(), settings_json: "{}".into() }
    }

    #[test]
    fn implemented_trait_is_used_and_the_rest_default() {
        use crate::__private::*;
        let d = &&Dispatch::<OnlyFields>::NEW;
        assert_eq!(d.validate(field(), "hi".into()), Ok("HI".into()));
        assert_eq!(d.format(field(), "hi".into()).ok(), Some("hi".into()));
        let creds = Credentials { username: "a".into(), password: "b".into(), remote_addr: None };
        assert!(matches!(d.authenticate(creds), Ok(AuthOutcome::NotHandled)));
        assert!(matches!(d.avatar_for("a@b.c".into(), 80), Ok(Avatar::None)));
        let caller = Caller { user_id: 1, username: "agent".into() };
        match d.run("nope".into(), "{}".into(), caller) {
            Err(PluginError::InvalidInput(message)) => assert_eq!(message, "unknown action nope"),
            other => panic!("unexpected {other:?}"),
        }
        let req = PageRequest { tab_id: "t".into(), org: OrgRef { id: 1, name: "Org".into() }, page: 1, per_page: 20 };
        assert!(matches!(d.render(req), Err(PluginError::Internal(_))));
    }

    #[test]
    fn a_type_without_the_trait_uses_the_default() {
        use crate::__private::*;
        struct Bare;
        let d = &&Dispatch::<Bare>::NEW;
        assert_eq!(d.validate(field(), "x".into()), Err("this plugin has no field types".into()));
    }
}
