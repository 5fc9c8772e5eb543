//! Kith plugin: avatars from Gravatar or Libravatar. It only builds the URL — the SHA-256 of the
//! trimmed, lower-cased address — and Kith fetches, caches and serves the picture itself, so
//! viewers' browsers never contact the avatar service.

use kith_plugin_sdk::prelude::*;
use kith_plugin_sdk::{avatar, config};
use sha2::{Digest, Sha256};

/// The plugin type registered with Kith.
pub struct Gravatar;

impl AvatarProvider for Gravatar {
    fn avatar_for(email: String, size_px: u32) -> Result<Avatar, PluginError> {
        let base = match config::get("base_url").filter(|b| !b.trim().is_empty()) {
            Some(base) => base,
            None => service_url(&config::get_or("service", "gravatar"))?.to_owned(),
        };
        let fallback = config::get_or("default", "404");
        Ok(avatar_url(&base, &email, size_px, &fallback).map_or(Avatar::None, avatar::url))
    }
}

kith_plugin_sdk::export!(Gravatar);

fn service_url(service: &str) -> Result<&'static str, PluginError> {
    match service.trim() {
        "gravatar" => Ok("https://secure.gravatar.com"),
        "libravatar" => Ok("https://seccdn.libravatar.org"),
        other => Err(PluginError::internal(format!(
            "config key `service` is {other:?}; expected \"gravatar\" or \"libravatar\""
        ))),
    }
}

/// `<base>/avatar/<sha256 hex>?s=<size>&d=<fallback>`, or `None` for an empty address.
fn avatar_url(base: &str, email: &str, size_px: u32, fallback: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    let hash = Sha256::digest(email.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    // Both services serve 1..=2048 (Libravatar clamps to 512 itself).
    let size = size_px.clamp(1, 2048);
    Some(format!("{}/avatar/{hex}?s={size}&d={}", base.trim_end_matches('/'), encode(fallback)))
}

/// Percent-encodes a query value (the fallback may be a URL of the admin's own image).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hashes_the_trimmed_lower_cased_address() {
        // sha256("test@example.com")
        let hex = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b";
        let url = avatar_url("https://secure.gravatar.com/", "  Test@Example.COM ", 80, "404");
        assert_eq!(url, Some(format!("https://secure.gravatar.com/avatar/{hex}?s=80&d=404")));
    }

    #[test]
    fn odd_inputs() {
        assert_eq!(avatar_url("https://x", "   ", 80, "404"), None);
        let url = avatar_url("https://x", "a@b.c", 0, "https://kith.example/a b.png").unwrap_or_default();
        assert!(url.ends_with("?s=1&d=https%3A%2F%2Fkith.example%2Fa%20b.png"), "{url}");
        assert!(avatar_url("https://x", "a@b.c", 99_999, "mp").unwrap_or_default().contains("s=2048&"));
    }

    #[test]
    fn services() {
        assert_eq!(service_url("libravatar").ok(), Some("https://seccdn.libravatar.org"));
        assert!(matches!(service_url("myspace"), Err(PluginError::Internal(_))));
    }
}
