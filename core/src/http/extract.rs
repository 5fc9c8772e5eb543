//! Request extractors that turn malformed input into the SPEC error body naming the field,
//! instead of axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::Error;

/// JSON body → `T`; type errors are 422 on the offending path, syntax errors 400.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("the request body is too large".into())
            } else {
                Error::BadRequest(format!("could not read the body: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// 415 unless the body is declared JSON (what a cross-site form post can never declare).
pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let is_json = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json_media_type);
    if is_json {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType("send a JSON body with Content-Type: application/json".into()).into())
    }
}

/// `application/json` or `application/<anything>+json`, parameters (`; charset=utf-8`) allowed,
/// any letter case — the media type itself parsed, not searched for `json` (`text/plain;
/// x=+json` is not JSON).
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    let token = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c));
    kind == "application"
        && token(subtype)
        && (subtype == "json" || subtype.strip_suffix("+json").is_some_and(|rest| !rest.is_empty()))
}

/// Parses JSON with the failing path named (`emails[0].email`). Every string in the body —
/// whatever field it is for — is first checked for control characters
/// ([`crate::domain::text::check_controls`]): one refusal naming the field, on every backend.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::from(Error::BadRequest(format!("the body is not valid JSON: {e}"))))?;
    crate::domain::text::check_json(&value)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.inner();
        let path = e.path().to_string();
        let msg = inner.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        let field = missing_field(&msg).map_or_else(
            || {
                if path == "." { "body".to_string() } else { path.clone() }
            },
            |f| {
                if path == "." { f.to_string() } else { format!("{path}.{f}") }
            },
        );
        Error::invalid(field, msg).into()
    })
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// Query string → `T`, errors named like bodies.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        for (k, v) in form_pairs(q) {
            crate::domain::text::check_controls(&v).map_err(|why| Error::invalid(k.clone(), why))?;
            crate::domain::text::check_controls(&k).map_err(|why| Error::invalid("query", why))?;
        }
        let de = serde_urlencoded_deserializer(q);
        match de {
            Ok(v) => Ok(ApiQuery(v)),
            Err((field, msg)) => Err(Error::invalid(field, msg).into()),
        }
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(q: &str) -> Result<T, (String, String)> {
    // Parse to a JSON object of strings first, so serde_path_to_error can name the key.
    let mut map = serde_json::Map::new();
    for (k, v) in form_pairs(q) {
        map.insert(k, serde_json::Value::String(v));
    }
    let value = serde_json::Value::Object(map);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        (if path == "." { "query".into() } else { path }, msg)
    })
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded; at most 100 pairs are read.
pub(crate) fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .take(100)
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_media_types_are_json() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            "application/vnd.kith+json ;x=y",
        ] {
            assert!(is_json_media_type(ok), "{ok}");
        }
        for bad in [
            "text/plain; x=+json",
            "application/jsonx",
            "application/+json",
            "text/json",
            "application/json-seq",
            "json",
            "",
        ] {
            assert!(!is_json_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn query_decoding() {
        assert_eq!(decode("a+b%20c%2"), "a b c%2");
        assert_eq!(decode("%E2%9C%93"), "✓");
        assert_eq!(
            form_pairs("q=jo+hn&role=Agent"),
            vec![("q".into(), "jo hn".into()), ("role".into(), "Agent".into())]
        );
    }
}

/// The client's IP address: the connection's peer, or — when that peer is one of
/// `server.trusted_proxies` — the nearest untrusted address in `X-Forwarded-For`. No other
/// header is believed. Requests served without a connection (in-process) count as `0.0.0.0`.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<super::AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &super::AppState) -> Result<Self, Self::Rejection> {
        use std::net::{IpAddr, Ipv4Addr, SocketAddr};
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let trusted = &state.config.server.trusted_proxies;
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.parse::<IpAddr>().is_ok_and(|t| t == *ip));
        if !is_trusted(&peer) {
            return Ok(ClientAddr(peer));
        }
        let mut client = peer;
        let hops = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let hops: Vec<&str> = hops.flat_map(|v| v.split(',')).map(str::trim).collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if is_trusted(&ip) => client = ip,
                Ok(ip) => return Ok(ClientAddr(ip)),
                Err(_) => break,
            }
        }
        Ok(ClientAddr(client))
    }
}

/// `If-Match` on an edit (RFC 9110 section 13.1.1) with the record's version as its entity
/// tag (`"7"`; `W/"7"` and a bare `7` are taken too; `*` or no header: no precondition). A
/// malformed header is 400. See [`IfMatch::apply`].
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(raw) = parts.headers.get(axum::http::header::IF_MATCH) else { return Ok(IfMatch(None)) };
        let bad = || Error::BadRequest("If-Match: send the record's version as an entity tag, e.g. \"7\"".into());
        let text = raw.to_str().map_err(|_| bad())?.trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let tag = text.strip_prefix("W/").unwrap_or(text);
        let tag = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
        tag.parse::<i64>().map(|v| IfMatch(Some(v))).map_err(|_| bad().into())
    }
}

impl IfMatch {
    /// Puts the header's version into the edit (`version` in the body means the same; both
    /// given and different is 400).
    pub fn apply(&self, version: &mut Option<i64>) -> Result<(), ApiError> {
        match (self.0, *version) {
            (Some(h), Some(b)) if h != b => {
                Err(Error::BadRequest(format!("If-Match says version {h} but the body says {b}")).into())
            }
            (Some(h), _) => {
                *version = Some(h);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A stale edit is 412 Precondition Failed when the version came in `If-Match` (409 when
    /// it came in the body).
    pub fn answer(&self, e: Error) -> ApiError {
        match e {
            Error::Stale { current } if self.0.is_some() => ApiError::precondition_failed(current),
            other => other.into(),
        }
    }
}

/// The `ETag` of a record at `version` (what `If-Match` takes back).
pub fn etag(version: i64) -> [(axum::http::HeaderName, String); 1] {
    [(axum::http::header::ETAG, format!("\"{version}\""))]
}
