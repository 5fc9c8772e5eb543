//! Outbound HTTP for plugins: only through `wasi:http`, only to origins the manifest asks for
//! *and* an admin granted, never to a private, loopback or link-local address unless the admin
//! granted that address itself, with forced timeouts and a request count per call.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::manifest::HostPattern;

/// Per-call ceilings.
const MAX_REQUESTS_PER_CALL: u32 = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request body a plugin may send.
const MAX_REQUEST_BODY_BYTES: usize = 1 << 20;

/// The allow-list of one call and its counters.
pub struct Outbound {
    /// Manifest ∩ admin grant.
    pub allowed: Arc<Vec<HostPattern>>,
    requests: u32,
    /// Counted per plugin (refused requests show in `GET /plugins`).
    pub denied: Arc<AtomicU64>,
}

impl Outbound {
    pub fn new(allowed: Arc<Vec<HostPattern>>, denied: Arc<AtomicU64>) -> Outbound {
        Outbound { allowed, requests: 0, denied }
    }
}

/// Whether an address is one only an explicit grant may reach: loopback, private, link-local,
/// unique-local, carrier-grade NAT, unspecified, multicast, documentation or broadcast.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// Checks a destination against the allow-list and resolves it; the addresses returned are the
/// ones a connection may use. Internal addresses pass only when the granted entry names that
/// very IP address (an admin typing `http://127.0.0.1:9000` means it).
pub async fn resolve_allowed(
    allowed: &[HostPattern],
    scheme: &str,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Some(entry) = allowed.iter().find(|p| p.allows(scheme, host, port)) else {
        return Err(format!("{scheme}://{host}:{port} is not an allowed outbound host"));
    };
    let literal: Option<IpAddr> = host.parse().ok();
    let addrs: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("resolving {host} timed out"))?
            .map_err(|e| format!("resolving {host}: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    let granted_ip: Option<IpAddr> = entry.host.trim_start_matches('[').trim_end_matches(']').parse().ok();
    for a in &addrs {
        if is_internal(a.ip()) && granted_ip != Some(a.ip()) {
            return Err(format!("{host} resolves to the internal address {}, which is not granted", a.ip()));
        }
    }
    Ok(addrs)
}

/// Checks `uri` against the allow-list ([`resolve_allowed`]) and answers a client that reaches
/// its host only at the addresses just checked — a second DNS answer cannot steer it elsewhere —
/// and follows no redirects and no proxy. Every request Kith sends for a plugin goes through one.
pub async fn pinned_client(
    allowed: &[HostPattern],
    uri: &http::Uri,
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<reqwest::Client, String> {
    let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
    let host = uri.host().ok_or_else(|| format!("{uri} names no host"))?;
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let addrs = resolve_allowed(allowed, &scheme, host, port).await?;
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .resolve_to_addrs(host.trim_start_matches('[').trim_end_matches(']'), &addrs)
        .build()
        .map_err(|e| e.to_string())
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        drop(fut);
        self.requests += 1;
        let over = self.requests > MAX_REQUESTS_PER_CALL;
        let allowed = self.allowed.clone();
        let denied = self.denied.clone();
        Box::new(async move {
            use http_body_util::BodyExt;
            let (parts, body) = request.into_parts();
            let connect = options.and_then(|o| o.connect_timeout).unwrap_or(CONNECT_TIMEOUT).min(CONNECT_TIMEOUT);
            let first_byte =
                options.and_then(|o| o.first_byte_timeout).unwrap_or(RESPONSE_TIMEOUT).min(RESPONSE_TIMEOUT);
            let between =
                options.and_then(|o| o.between_bytes_timeout).unwrap_or(RESPONSE_TIMEOUT).min(RESPONSE_TIMEOUT);
            let client = if over {
                Err(format!("more than {MAX_REQUESTS_PER_CALL} requests in one call"))
            } else {
                pinned_client(&allowed, &parts.uri, connect, between).await
            };
            let client = match client {
                Ok(c) => c,
                Err(why) => {
                    denied.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "kith::plugin", %why, "plugin HTTP request refused");
                    return Err(HttpError::HttpRequestDenied);
                }
            };
            let body = http_body_util::Limited::new(body, MAX_REQUEST_BODY_BYTES).collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    HttpError::HttpRequestBodySize(None)
                } else {
                    HttpError::InternalError(Some(e.to_string()))
                }
            })?;
            let send = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body.to_bytes());
            let response = tokio::time::timeout(first_byte, send.send())
                .await
                .map_err(|_| HttpError::ConnectionReadTimeout)?
                .map_err(|e| {
                    if e.is_timeout() {
                        HttpError::ConnectionTimeout
                    } else if e.is_connect() {
                        HttpError::ConnectionRefused
                    } else {
                        HttpError::HttpProtocolError
                    }
                })?;
            let response: http::Response<reqwest::Body> = response.into();
            let response = response.map(|b| {
                b.map_err(
                    |e| if e.is_timeout() { HttpError::ConnectionReadTimeout } else { HttpError::HttpProtocolError },
                )
                .boxed_unsync()
            });
            // reqwest drives the connection itself: nothing is left for the caller to await
            let io = async { Ok::<(), HttpError>(()) };
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(a.parse().unwrap_or(IpAddr::from([1, 1, 1, 1]))), "{a}");
        }
        for a in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(!is_internal(a.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))), "{a}");
        }
    }

    #[tokio::test]
    async fn grants_decide_and_internal_needs_the_literal_address() {
        let p = |s: &str| HostPattern::parse(s).unwrap_or_else(|e| panic!("{e}"));
        let allowed = vec![p("http://127.0.0.1:9000"), p("http://localhost:9001"), p("http://[::1]:9000")];
        assert!(resolve_allowed(&allowed, "http", "127.0.0.1", 9000).await.is_ok());
        assert!(resolve_allowed(&allowed, "http", "[::1]", 9000).await.is_ok());
        assert!(resolve_allowed(&allowed, "http", "127.0.0.1", 9002).await.is_err());
        // a name that resolves to loopback is refused even though the name is granted
        let e = resolve_allowed(&allowed, "http", "localhost", 9001).await.err().unwrap_or_default();
        assert!(e.contains("internal address"), "{e}");
        assert!(resolve_allowed(&allowed, "https", "example.org", 443).await.is_err());
        // RELIABILITY F7: loopback spelled as a number is a name to Rust but 127.0.0.1 to the
        // resolver; the check runs on what it resolves to, so a grant of the spelling is not
        // a grant of loopback
        for host in ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"] {
            let allowed = vec![p(&format!("http://{host}:9000"))];
            let e = resolve_allowed(&allowed, "http", host, 9000).await.err().unwrap_or_default();
            assert!(e.contains("resolves to the internal address 127.0.0.1"), "{host}: {e}");
        }
    }
}
