//! Avatar providers: a picture for people who did not upload one
//! (manifest `provides = ["avatar-provider"]`). Kith fetches and caches what comes back and
//! serves it from its own URL, so a viewer's browser never talks to the third party.

use crate::PluginError;

/// The answer: `Url(..)` (an https URL Kith fetches; its host must be in the manifest's
/// `allowed_outbound_hosts`), `Image(..)` (the bytes themselves) or `None` (Kith shows its own
/// initials avatar).
///
/// ```
/// use kith_plugin_sdk::avatar::Avatar;
/// let nothing = Avatar::None;
/// ```
pub use crate::bindings::exports::kith::plugin::avatar_provider::Avatar;

/// Image bytes with their content type (e.g. `image/png`).
///
/// ```
/// use kith_plugin_sdk::avatar::{Avatar, Image};
/// let avatar = Avatar::Image(Image { content_type: "image/png".into(), bytes: vec![0x89, b'P', b'N', b'G'] });
/// ```
pub use crate::bindings::exports::kith::plugin::avatar_provider::Image;

/// An avatar Kith fetches from `url`.
///
/// ```
/// use kith_plugin_sdk::avatar::{self, Avatar};
///
/// let a = avatar::url("https://seccdn.libravatar.org/avatar/abc?s=80&d=404");
/// assert!(matches!(a, Avatar::Url(u) if u.ends_with("d=404")));
/// ```
pub fn url(url: impl Into<String>) -> Avatar {
    Avatar::Url(url.into())
}

/// An avatar made of image bytes.
///
/// ```
/// use kith_plugin_sdk::avatar::{self, Avatar};
///
/// let a = avatar::image("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec());
/// assert!(matches!(a, Avatar::Image(i) if i.content_type == "image/svg+xml"));
/// ```
pub fn image(content_type: impl Into<String>, bytes: Vec<u8>) -> Avatar {
    Avatar::Image(Image { content_type: content_type.into(), bytes })
}

/// Finds an avatar for an e-mail address. The default answers [`Avatar::None`].
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
///
/// struct Robohash;
///
/// impl AvatarProvider for Robohash {
///     fn avatar_for(email: String, size_px: u32) -> Result<Avatar, PluginError> {
///         let name = email.trim().to_lowercase().replace('@', "-at-");
///         Ok(kith_plugin_sdk::avatar::url(format!("https://robohash.example/{name}?size={size_px}x{size_px}")))
///     }
/// }
///
/// kith_plugin_sdk::export!(Robohash);
/// ```
pub trait AvatarProvider {
    /// The avatar for `email`, about `size_px` pixels square.
    fn avatar_for(email: String, size_px: u32) -> Result<Avatar, PluginError> {
        let _ = (email, size_px);
        Ok(Avatar::None)
    }
}
