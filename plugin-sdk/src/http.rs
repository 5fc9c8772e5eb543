//! A small blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! Kith lets a request through only to the hosts in the manifest's `allowed_outbound_hosts`
//! that the admin granted; anything else fails with [`HttpError::Denied`]. Each request has a
//! deadline ([`DEFAULT_TIMEOUT`] unless set) covering connect, headers and body, and a cap on
//! the response body ([`DEFAULT_MAX_RESPONSE_BYTES`] unless set).
//!
//! ```no_run
//! use kith_plugin_sdk::{PluginError, http};
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize)]
//! struct Answer {
//!     id: String,
//! }
//!
//! fn lookup(endpoint: &str, email: &str) -> Result<Option<String>, PluginError> {
//!     let response = http::post(endpoint)
//!         .header("accept", "application/json")
//!         .json(&serde_json::json!({ "email": email }))?
//!         .timeout(Duration::from_millis(1500))
//!         .send()?;
//!     match response.status {
//!         200 => Ok(Some(response.json::<Answer>()?.id)),
//!         404 => Ok(None),
//!         other => Err(PluginError::unavailable(format!("lookup answered {other}"))),
//!     }
//! }
//! ```

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types as wasi;
use wasip2::io::poll::{self, Pollable};
use wasip2::io::streams::StreamError;

use crate::PluginError;

/// How long a request may take, connect to last body byte, unless [`Request::timeout`] says.
///
/// ```
/// assert_eq!(kith_plugin_sdk::http::DEFAULT_TIMEOUT.as_secs(), 2);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest response body accepted unless [`Request::max_response_bytes`] says (1 MiB).
///
/// ```
/// assert_eq!(kith_plugin_sdk::http::DEFAULT_MAX_RESPONSE_BYTES, 1024 * 1024);
/// ```
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The request methods this client sends.
///
/// ```
/// use kith_plugin_sdk::http::{Method, Request};
/// let request = Request::new(Method::Put, "https://api.example.com/items/7").json(&[1, 2])?;
/// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

/// Why a request failed.
///
/// ```no_run
/// use kith_plugin_sdk::http::{self, HttpError};
///
/// match http::get("https://api.example.com/status").send() {
///     Ok(response) => println!("{}", response.status),
///     Err(HttpError::Denied(why)) => println!("ask an admin to grant the host: {why}"),
///     Err(other) => println!("{other}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The plugin built a request that cannot be sent (bad URL or header).
    InvalidRequest(String),
    /// Kith refused the destination: it is not in `allowed_outbound_hosts` or not granted.
    Denied(String),
    /// No complete answer before the deadline.
    Timeout,
    /// The response body was larger than the cap (in bytes).
    TooLarge(usize),
    /// DNS, connection, TLS or protocol failure.
    Transport(String),
    /// The response body is not what [`Response::json`] expected.
    InvalidBody(String),
}

impl fmt::Display for HttpError {
    /// ```
    /// use kith_plugin_sdk::http::HttpError;
    /// assert_eq!(HttpError::TooLarge(1024).to_string(), "response body larger than 1024 bytes");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            HttpError::Denied(m) => write!(f, "request denied by Kith: {m}"),
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::TooLarge(limit) => write!(f, "response body larger than {limit} bytes"),
            HttpError::Transport(m) => write!(f, "transport error: {m}"),
            HttpError::InvalidBody(m) => write!(f, "invalid response body: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A failed request is `unavailable` (the remote side or the way to it is the problem), except a
/// request the plugin built wrongly, which is `internal`.
impl From<HttpError> for PluginError {
    fn from(err: HttpError) -> Self {
        match err {
            HttpError::InvalidRequest(_) => PluginError::internal(format!("http: {err}")),
            _ => PluginError::unavailable(format!("http: {err}")),
        }
    }
}

/// A request being built; send it with [`Request::send`].
///
/// ```no_run
/// let response = kith_plugin_sdk::http::get("https://api.example.com/people?q=ada")
///     .header("authorization", "Bearer token")
///     .send()?;
/// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Duration,
    max_response_bytes: usize,
}

/// A `GET` request to `url` (`http://` or `https://`).
///
/// ```no_run
/// let response = kith_plugin_sdk::http::get("https://api.example.com/status").send()?;
/// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
/// ```
pub fn get(url: impl Into<String>) -> Request {
    Request::new(Method::Get, url)
}

/// A `POST` request to `url`; add a body with [`Request::json`] or [`Request::body`].
///
/// ```no_run
/// let response = kith_plugin_sdk::http::post("https://api.example.com/login")
///     .json(&serde_json::json!({ "username": "ada" }))?
///     .send()?;
/// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
/// ```
pub fn post(url: impl Into<String>) -> Request {
    Request::new(Method::Post, url)
}

impl Request {
    /// A request with any [`Method`].
    ///
    /// ```no_run
    /// use kith_plugin_sdk::http::{Method, Request};
    /// let response = Request::new(Method::Delete, "https://api.example.com/items/7").send()?;
    /// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
    /// ```
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Adds a header (names are case-insensitive; `host`, `connection` and a few others are
    /// refused by the runtime).
    ///
    /// ```
    /// let request = kith_plugin_sdk::http::get("https://api.example.com").header("accept", "application/json");
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body bytes.
    ///
    /// ```
    /// let request = kith_plugin_sdk::http::post("https://api.example.com/echo").body("hello");
    /// ```
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some(bytes.into());
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    ///
    /// ```
    /// let request = kith_plugin_sdk::http::post("https://api.example.com/echo").json(&[1, 2, 3])?;
    /// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, HttpError> {
        let bytes = serde_json::to_vec(value).map_err(|e| HttpError::InvalidRequest(format!("JSON body: {e}")))?;
        Ok(self.header("content-type", "application/json").body(bytes))
    }

    /// Sets the deadline for the whole exchange (also passed to the runtime as connect,
    /// first-byte and between-bytes timeouts). Keep it below the hook's own time budget.
    ///
    /// ```
    /// let request = kith_plugin_sdk::http::get("https://api.example.com").timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the largest response body accepted; a longer one fails with [`HttpError::TooLarge`].
    ///
    /// ```
    /// let request = kith_plugin_sdk::http::get("https://api.example.com").max_response_bytes(64 * 1024);
    /// ```
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends the request and reads the whole response, blocking until done or the deadline.
    /// Any status is a response; only failures to get one are errors.
    ///
    /// ```no_run
    /// let response = kith_plugin_sdk::http::get("https://api.example.com/status").send()?;
    /// if response.is_success() {
    ///     println!("{}", response.text());
    /// }
    /// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
    /// ```
    pub fn send(self) -> Result<Response, HttpError> {
        let timeout_ns = u64::try_from(self.timeout.as_nanos()).unwrap_or(u64::MAX);
        let deadline = monotonic_clock::now().saturating_add(timeout_ns);
        let target = Target::parse(&self.url)?;

        let mut entries: Vec<(String, Vec<u8>)> =
            self.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect();
        if let Some(body) = &self.body
            && !entries.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        {
            entries.push(("content-length".into(), body.len().to_string().into_bytes()));
        }
        let fields =
            wasi::Fields::from_list(&entries).map_err(|e| HttpError::InvalidRequest(format!("headers: {e:?}")))?;

        let request = wasi::OutgoingRequest::new(fields);
        let invalid = |what: &str| HttpError::InvalidRequest(format!("{what} refused: {}", self.url));
        request.set_method(&self.method.to_wasi()).map_err(|()| invalid("method"))?;
        request.set_scheme(Some(&target.scheme)).map_err(|()| invalid("scheme"))?;
        request.set_authority(Some(&target.authority)).map_err(|()| invalid("authority"))?;
        request.set_path_with_query(Some(&target.path_and_query)).map_err(|()| invalid("path"))?;
        let outgoing_body = match &self.body {
            Some(_) => Some(request.body().map_err(|()| invalid("body"))?),
            None => None,
        };

        let options = wasi::RequestOptions::new();
        // A runtime that does not support one of these still has the deadline below.
        let _ = options.set_connect_timeout(Some(timeout_ns));
        let _ = options.set_first_byte_timeout(Some(timeout_ns));
        let _ = options.set_between_bytes_timeout(Some(timeout_ns));

        let future = outgoing_handler::handle(request, Some(options)).map_err(from_code)?;
        if let (Some(outgoing_body), Some(bytes)) = (outgoing_body, &self.body) {
            write_body(outgoing_body, bytes)?;
        }
        wait(&future.subscribe(), deadline)?;
        let incoming = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(from_code(code)),
            Some(Err(())) => return Err(HttpError::Transport("response already taken".into())),
            None => return Err(HttpError::Timeout),
        };
        drop(future);

        let status = incoming.status();
        let headers = {
            let fields = incoming.headers();
            fields
                .entries()
                .into_iter()
                .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
                .collect()
        };
        let body = read_body(&incoming, deadline, self.max_response_bytes)?;
        Ok(Response { status, headers, body })
    }
}

impl Method {
    fn to_wasi(self) -> wasi::Method {
        match self {
            Method::Get => wasi::Method::Get,
            Method::Post => wasi::Method::Post,
            Method::Put => wasi::Method::Put,
            Method::Patch => wasi::Method::Patch,
            Method::Delete => wasi::Method::Delete,
        }
    }
}

/// A complete response.
///
/// ```
/// let response = kith_plugin_sdk::http::Response { status: 404, headers: vec![], body: b"no".to_vec() };
/// assert!(!response.is_success());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// Header names (lower-case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_response_bytes`.
    pub body: Vec<u8>,
}

impl Response {
    /// True for a 2xx status.
    ///
    /// ```
    /// let r = kith_plugin_sdk::http::Response { status: 204, headers: vec![], body: vec![] };
    /// assert!(r.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// ```
    /// let r = kith_plugin_sdk::http::Response {
    ///     status: 200,
    ///     headers: vec![("content-type".into(), "application/json".into())],
    ///     body: vec![],
    /// };
    /// assert_eq!(r.header("Content-Type"), Some("application/json"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    ///
    /// ```
    /// let r = kith_plugin_sdk::http::Response { status: 200, headers: vec![], body: b"ok".to_vec() };
    /// assert_eq!(r.text(), "ok");
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded as JSON; [`HttpError::InvalidBody`] when it does not decode.
    ///
    /// ```
    /// let r = kith_plugin_sdk::http::Response { status: 200, headers: vec![], body: br#"{"id":"7"}"#.to_vec() };
    /// let v: serde_json::Value = r.json()?;
    /// assert_eq!(v["id"], "7");
    /// # Ok::<(), kith_plugin_sdk::http::HttpError>(())
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::InvalidBody(e.to_string()))
    }
}

/// A URL split the way `wasi:http` wants it.
#[derive(Debug)]
struct Target {
    scheme: wasi::Scheme,
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, HttpError> {
        let bad = |why: &str| HttpError::InvalidRequest(format!("URL {url:?}: {why}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("expected http:// or https://"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => wasi::Scheme::Http,
            "https" => wasi::Scheme::Https,
            _ => return Err(bad("expected http:// or https://")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty() || authority.contains(['@', ' ', '\\']) {
            return Err(bad("expected a host name"));
        }
        let path = path.split('#').next().unwrap_or_default();
        let path_and_query = match path.chars().next() {
            None => "/".to_owned(),
            Some('?') => format!("/{path}"),
            Some(_) => path.to_owned(),
        };
        Ok(Target { scheme, authority: authority.to_owned(), path_and_query })
    }
}

fn from_code(code: wasi::ErrorCode) -> HttpError {
    match code {
        wasi::ErrorCode::HttpRequestDenied | wasi::ErrorCode::DestinationIpProhibited => {
            HttpError::Denied(code.to_string())
        }
        wasi::ErrorCode::ConnectionTimeout | wasi::ErrorCode::ConnectionReadTimeout | wasi::ErrorCode::DnsTimeout => {
            HttpError::Timeout
        }
        _ => HttpError::Transport(code.to_string()),
    }
}

/// Waits until `pollable` is ready or `deadline` (monotonic-clock nanoseconds) passes.
fn wait(pollable: &Pollable, deadline: u64) -> Result<(), HttpError> {
    if monotonic_clock::now() >= deadline {
        return Err(HttpError::Timeout);
    }
    let timer = monotonic_clock::subscribe_instant(deadline);
    let ready = poll::poll(&[pollable, &timer]);
    if ready.contains(&0) { Ok(()) } else { Err(HttpError::Timeout) }
}

fn write_body(body: wasi::OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    {
        let stream = body.write().map_err(|()| HttpError::Transport("request body already taken".into()))?;
        // `blocking-write-and-flush` takes at most 4096 bytes at a time.
        for chunk in bytes.chunks(4096) {
            stream.blocking_write_and_flush(chunk).map_err(stream_error)?;
        }
    }
    wasi::OutgoingBody::finish(body, None).map_err(from_code)
}

fn read_body(incoming: &wasi::IncomingResponse, deadline: u64, limit: usize) -> Result<Vec<u8>, HttpError> {
    let body = incoming.consume().map_err(|()| HttpError::Transport("response body already taken".into()))?;
    let mut bytes = Vec::new();
    {
        let stream = body.stream().map_err(|()| HttpError::Transport("response body already taken".into()))?;
        loop {
            match stream.read(64 * 1024) {
                Ok(chunk) if chunk.is_empty() => wait(&stream.subscribe(), deadline)?,
                Ok(chunk) => {
                    if bytes.len() + chunk.len() > limit {
                        return Err(HttpError::TooLarge(limit));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(e) => return Err(stream_error(e)),
            }
        }
    }
    drop(wasi::IncomingBody::finish(body));
    Ok(bytes)
}

fn stream_error(err: StreamError) -> HttpError {
    match err {
        StreamError::Closed => HttpError::Transport("stream closed".into()),
        StreamError::LastOperationFailed(e) => match wasi::http_error_code(&e) {
            Some(code) => from_code(code),
            None => HttpError::Transport(e.to_debug_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<(String, String), HttpError> {
        Target::parse(url).map(|t| (t.authority, t.path_and_query))
    }

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(target("https://crm.example.com"), Ok(("crm.example.com".into(), "/".into())));
        assert_eq!(target("http://127.0.0.1:8080/login?x=1#top"), Ok(("127.0.0.1:8080".into(), "/login?x=1".into())));
        assert_eq!(target("HTTPS://a.example?q"), Ok(("a.example".into(), "/?q".into())));
        assert!(matches!(Target::parse("https://crm.example.com").map(|t| t.scheme), Ok(wasi::Scheme::Https)));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in ["crm.example.com", "ftp://x.example/", "https:///path", "https://user@host/", ""] {
            assert!(matches!(Target::parse(url), Err(HttpError::InvalidRequest(_))), "{url}");
        }
    }

    #[test]
    fn errors_map_to_plugin_errors() {
        assert!(matches!(PluginError::from(HttpError::Timeout), PluginError::Unavailable(_)));
        assert!(matches!(PluginError::from(HttpError::InvalidRequest("x".into())), PluginError::Internal(_)));
    }
}
