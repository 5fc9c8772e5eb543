//! Avatars (SPEC 7): an uploaded image, else what avatar-provider plugins supply (tried in
//! order, fetched and cached by Kith), else generated initials. Every avatar is served from
//! Kith's own URL, so a viewer's browser never calls a third party. An avatar nobody viewed for
//! 30 days is recompressed to save disk.

use std::io::Cursor;
use std::time::Duration;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::auth::hex;
use crate::clock::Millis;
use crate::domain::{Result, UserId};
use crate::plugins::manifest::ExtensionPoint;
use crate::plugins::{Answer, Avatar, Hook, granted_hosts};
use crate::store::{Store, StoredAvatar};

/// Largest side of a stored avatar, px.
pub const STORED_PX: u32 = 256;
/// Largest side after recompression, px.
const COMPRESSED_PX: u32 = 128;
/// An image from a provider is refreshed after this long.
const PROVIDER_TTL_MS: Millis = 7 * 24 * 3600 * 1000;
/// Unviewed for this long → recompressed.
pub const STALE_MS: Millis = 30 * 24 * 3600 * 1000;
/// The view time is written at most this often.
const TOUCH_EVERY_MS: Millis = 24 * 3600 * 1000;
/// Largest image fetched from a provider.
const MAX_FETCH_BYTES: usize = 1 << 20;
/// Largest side of an image Kith decodes, px — plenty for a 256 px avatar — checked against
/// the file's header before any pixel buffer is allocated (a 55 KB PNG claiming 4096 × 4096
/// took 1.2 s and 64 MiB to decode).
const MAX_SIDE_PX: u32 = 2048;
/// Most memory one decode may allocate (a 2048 × 2048 RGBA image is 16 MiB).
const MAX_DECODE_BYTES: u64 = 24 << 20;

/// Decodes an image (PNG, JPEG, GIF or WebP only, bounded in size and decoding memory),
/// crops it square and scales it to at most `px`.
fn decode_square(bytes: &[u8], px: u32) -> std::result::Result<DynamicImage, String> {
    let format = image::guess_format(bytes).map_err(|_| "is not a PNG, JPEG, GIF or WebP image".to_string())?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP) {
        return Err("is not a PNG, JPEG, GIF or WebP image".into());
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| format!("cannot be read as an image: {e}"))?;
    let side = img.width().min(img.height());
    if side == 0 {
        return Err("is empty".into());
    }
    let img = img.crop_imm((img.width() - side) / 2, (img.height() - side) / 2, side, side);
    Ok(if side > px { img.resize_exact(px, px, image::imageops::FilterType::Lanczos3) } else { img })
}

/// An uploaded or fetched image, ready to store: square, at most 256 px, PNG.
pub fn normalize(bytes: &[u8]) -> std::result::Result<(Vec<u8>, &'static str), String> {
    let img = decode_square(bytes, STORED_PX)?;
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(|e| format!("cannot be encoded: {e}"))?;
    Ok((out, "image/png"))
}

/// The space-saving form of a stored avatar: 128 px JPEG at quality 70, on white.
pub fn recompress(bytes: &[u8]) -> std::result::Result<(Vec<u8>, &'static str), String> {
    let img = decode_square(bytes, COMPRESSED_PX)?;
    let rgba = img.to_rgba8();
    let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
    for (x, y, p) in rgba.enumerate_pixels() {
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        rgb.put_pixel(x, y, image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])]));
    }
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 70);
    rgb.write_with_encoder(encoder).map_err(|e| format!("cannot be encoded: {e}"))?;
    Ok((out, "image/jpeg"))
}

pub fn etag_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))[..32].to_string()
}

/// What to send for an avatar.
pub struct Served {
    pub content_type: String,
    pub body: Vec<u8>,
    pub etag: String,
}

/// Initials on a colour picked from the user id: the last resort, never stored.
pub fn initials_svg(display_name: &str, id: UserId) -> Served {
    let initials: String = display_name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    let initials = if initials.is_empty() { "?".to_string() } else { initials };
    // only letters and digits reach the SVG, escaped anyway
    let text: String = initials
        .chars()
        .map(|c| match c {
            '<' | '>' | '&' | '"' | '\'' => '?',
            c => c,
        })
        .collect();
    const COLOURS: [&str; 8] = ["#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#4d2d00", "#1a7f37", "#0a3069"];
    let colour = COLOURS[(id.0.unsigned_abs() % COLOURS.len() as u64) as usize];
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"256\" viewBox=\"0 0 256 256\">\
         <rect width=\"256\" height=\"256\" fill=\"{colour}\"/>\
         <text x=\"128\" y=\"128\" dy=\".35em\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"110\" fill=\"#fff\">{text}</text></svg>"
    );
    let etag = etag_of(svg.as_bytes());
    Served { content_type: "image/svg+xml".into(), body: svg.into_bytes(), etag }
}

/// The `source` of a row that says "the providers were asked and none had an image": it holds
/// no image (the initials are drawn fresh) and spares every view the provider calls.
const NO_PROVIDER_IMAGE: &str = "none";
/// How long "no provider had one" is believed (a person may sign up with Gravatar meanwhile).
const NONE_TTL_MS: Millis = 24 * 3600 * 1000;

impl From<StoredAvatar> for Served {
    fn from(a: StoredAvatar) -> Served {
        Served { content_type: a.content_type, body: a.image, etag: a.etag }
    }
}

/// The avatar of a user: stored upload, cached provider image (refreshed weekly), providers
/// in order (failures fall through to the next), initials. The user's record is read only
/// when the answer needs it (404 for a user who does not exist).
pub async fn resolve(state: &App, user: UserId) -> Result<Served> {
    let store = &state.store;
    let now = store.now();
    let stored = match store.avatar(user).await? {
        Some(a) if a.source == "upload" || now - a.updated_at < ttl_of(&a.source) => {
            if now - a.last_viewed_at > TOUCH_EVERY_MS {
                store.touch_avatar(user).await?;
            }
            if a.source != NO_PROVIDER_IMAGE {
                return Ok(a.into());
            }
            return Ok(initials_svg(&store.get_user(user).await?.display_name, user));
        }
        other => other,
    };
    let person = store.get_user(user).await?;
    let email = person.emails.iter().find(|e| e.primary).or(person.emails.first()).map(|e| e.email.as_str());
    let providers = if email.is_some() { provider_order(state).await } else { Vec::new() };
    for id in &providers {
        let Some(email) = email else { break };
        if let Some((bytes, content_type)) = from_provider(state, id, email).await {
            let a = StoredAvatar {
                source: format!("plugin:{id}"),
                content_type: content_type.to_string(),
                etag: etag_of(&bytes),
                image: bytes,
                compressed: false,
                updated_at: now,
                last_viewed_at: now,
            };
            store.put_avatar(user, &a).await?;
            return Ok(a.into());
        }
    }
    match stored {
        // a provider image gone stale whose provider now fails is still better than initials,
        // and is kept for another period rather than re-asked at every view
        Some(a) if a.source != NO_PROVIDER_IMAGE => {
            let a = StoredAvatar { updated_at: now, ..a };
            store.put_avatar(user, &a).await?;
            Ok(a.into())
        }
        _ => {
            if !providers.is_empty() {
                let none = StoredAvatar {
                    source: NO_PROVIDER_IMAGE.into(),
                    content_type: String::new(),
                    image: Vec::new(),
                    etag: String::new(),
                    // nothing for the recompression job to do
                    compressed: true,
                    updated_at: now,
                    last_viewed_at: now,
                };
                store.put_avatar(user, &none).await?;
            }
            Ok(initials_svg(&person.display_name, user))
        }
    }
}

fn ttl_of(source: &str) -> Millis {
    if source == NO_PROVIDER_IMAGE { NONE_TTL_MS } else { PROVIDER_TTL_MS }
}

/// Enabled avatar-provider plugins: `avatars.providers` order, else by id.
async fn provider_order(state: &App) -> Vec<String> {
    let all = state.plugins.all();
    let mut ids: Vec<String> = Vec::new();
    for (id, p) in all.iter() {
        if p.manifest.provides(ExtensionPoint::AvatarProvider) && state.plugins.is_enabled(id).await {
            ids.push(id.clone());
        }
    }
    let order = &state.config.avatars.providers;
    if !order.is_empty() {
        ids.retain(|i| order.contains(i));
        ids.sort_by_key(|i| order.iter().position(|o| o == i));
    }
    ids
}

/// One provider's image, normalized; `None` on anything but a usable image (fail open).
async fn from_provider(state: &App, id: &str, email: &str) -> Option<(Vec<u8>, &'static str)> {
    let answer = state.plugins.call(id, Hook::Avatar { email: email.to_string(), size: STORED_PX }).await;
    let raw = match answer {
        Ok(Answer::Avatar(Ok(Avatar::Image(img)))) => img.bytes,
        Ok(Answer::Avatar(Ok(Avatar::Url(url)))) => match fetch(state, id, &url).await {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(plugin = id, error = %e, "avatar fetch failed");
                return None;
            }
        },
        Ok(_) => return None,
        Err(e) => {
            tracing::info!(plugin = id, error = %e, "avatar provider unavailable; trying the next");
            return None;
        }
    };
    let _permit = state.image_decodes.acquire().await.ok()?;
    let out = tokio::task::spawn_blocking(move || normalize(&raw)).await.ok()?;
    match out {
        Ok(x) => Some(x),
        Err(e) => {
            tracing::warn!(plugin = id, error = %e, "avatar provider gave something that is not an image");
            None
        }
    }
}

/// Fetches a provider's URL for Kith itself: only hosts the plugin may reach (manifest ∩
/// grant, no internal address unless granted by address), the checked address pinned, no
/// redirects, 5 s, 1 MiB. `None` for "no avatar here" (404).
async fn fetch(state: &App, id: &str, url: &str) -> std::result::Result<Option<Vec<u8>>, String> {
    let plugin = state.plugins.get(id).ok_or("plugin gone")?;
    let settings = state.plugins.settings_of(id).await.map_err(|e| e.to_string())?;
    let allowed = granted_hosts(&plugin.manifest, &settings);
    let parsed: http::Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let timeout = Duration::from_secs(5);
    let client = crate::plugins::outbound::pinned_client(&allowed, &parsed, timeout, timeout).await?;
    let mut res = client.get(url).timeout(timeout).send().await.map_err(|e| e.to_string())?;
    if res.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !res.status().is_success() {
        return Err(format!("{url} answered {}", res.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_FETCH_BYTES {
            return Err(format!("{url} sent more than {MAX_FETCH_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Recompresses every avatar not viewed for [`STALE_MS`]; answers how many.
pub async fn recompress_stale(store: &Store) -> Result<usize> {
    let before = store.now() - STALE_MS;
    let mut done = 0;
    loop {
        let users = store.stale_avatars(before, 100).await?;
        if users.is_empty() {
            return Ok(done);
        }
        for id in users {
            let user = UserId(id);
            let Some(a) = store.avatar(user).await? else { continue };
            let image = a.image.clone();
            let result = tokio::task::spawn_blocking(move || recompress(&image))
                .await
                .map_err(|e| crate::domain::Error::Internal(e.to_string()))?;
            let (bytes, content_type) = match result {
                Ok(x) => x,
                Err(e) => {
                    // keep it, but do not try again every hour
                    tracing::warn!(user = %user, error = %e, "avatar could not be recompressed");
                    (a.image.clone(), "keep")
                }
            };
            let (bytes, content_type) = if content_type == "keep" || bytes.len() >= a.image.len() {
                (a.image.clone(), a.content_type.clone())
            } else {
                (bytes, content_type.to_string())
            };
            let etag = etag_of(&bytes);
            if store.replace_compressed_avatar(user, &a.etag, &content_type, &bytes, &etag).await? {
                done += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        // noise, like a photo: PNG keeps every pixel, JPEG at quality 70 does not
        let mut seed: u32 = 12345;
        let img = image::RgbaImage::from_fn(w, h, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let b = seed.to_be_bytes();
            image::Rgba([b[0], b[1], b[2], 255])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap_or_default();
        out
    }

    #[test]
    fn uploads_are_squared_scaled_and_checked() {
        let (bytes, ct) = normalize(&png(800, 600)).unwrap_or_default();
        assert_eq!(ct, "image/png");
        let img = image::load_from_memory(&bytes).unwrap_or_default();
        assert_eq!((img.width(), img.height()), (256, 256));
        assert!(normalize(b"<svg onload=alert(1)>").is_err());
        assert!(normalize(b"GIF89a garbage").is_err());
        let (small, ct) = recompress(&bytes).unwrap_or_default();
        assert_eq!(ct, "image/jpeg");
        assert!(small.len() < bytes.len(), "{} < {}", small.len(), bytes.len());
    }

    /// A PNG whose header says `w` × `h`, holding one pixel's worth of data.
    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for b in bytes {
                crc ^= u32::from(*b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            !crc
        }
        let mut bytes = png(1, 1);
        // the IHDR chunk's data starts after the 8-byte signature, its length and its type
        bytes[16..20].copy_from_slice(&w.to_be_bytes());
        bytes[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    /// RELIABILITY F3: files that are not images, images carrying script, and images whose
    /// header claims a huge size.
    #[test]
    fn hostile_images_are_refused_or_reencoded() {
        // an HTML page named .png, SVG with script: refused by their bytes, whatever they claim
        for bytes in [&b"<!doctype html><script>alert(1)</script>"[..], b"<svg onload=alert(1)/>", b""] {
            assert_eq!(normalize(bytes).err().as_deref(), Some("is not a PNG, JPEG, GIF or WebP image"));
        }
        // a GIF carrying script after its image data: decoded and re-encoded as a plain PNG
        let mut gif = Vec::new();
        DynamicImage::new_rgb8(4, 4).write_to(&mut Cursor::new(&mut gif), ImageFormat::Gif).unwrap_or_default();
        gif.extend_from_slice(b"*/=1;alert(document.cookie)//<script>alert(1)</script>");
        let (out, ct) = normalize(&gif).unwrap_or_default();
        assert_eq!(ct, "image/png");
        assert!(out.starts_with(b"\x89PNG"), "re-encoded");
        assert!(!out.windows(5).any(|w| w == b"alert"), "the script is gone");
        // 20,000 × 20,000 px claimed: refused from the header, before 1.6 GB is allocated
        let started = std::time::Instant::now();
        let err = normalize(&png_claiming(20_000, 20_000)).err().unwrap_or_default();
        assert!(err.contains("limit"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(normalize(&png_claiming(MAX_SIDE_PX + 1, 1)).is_err());
        // the patched header itself is sound: a claim within the limits gets as far as the
        // (missing) pixel data
        let err = normalize(&png_claiming(64, 64)).err().unwrap_or_default();
        assert!(!err.contains("limit") && err.starts_with("cannot be read as an image"), "{err}");
    }

    #[test]
    fn initials_are_escaped_and_stable() {
        let a = initials_svg("<script> Ada Lovelace", UserId(7));
        let text = String::from_utf8(a.body).unwrap_or_default();
        assert!(!text.contains("<script"), "{text}");
        assert!(text.contains(">SA<"), "{text}");
        assert_eq!(initials_svg("Ada", UserId(7)).etag, initials_svg("Ada", UserId(7)).etag);
    }
}
