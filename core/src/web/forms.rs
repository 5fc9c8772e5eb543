//! Forms posted by pages: read as `application/x-www-form-urlencoded` and accepted only when
//! they are this site's own — the `csrf` field equals the CSRF cookie (SameSite=Strict) and the
//! browser does not say the post came from elsewhere (`Origin`, `Sec-Fetch-Site`).

use axum::extract::{Form, FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;

use super::{Audience, Viewer, cookie, csrf_cookie_name, error_page};
use crate::app::App;
use crate::auth::random_string;
use crate::domain::Error;
use crate::http::AppState;

/// A form whose `csrf` field the page itself filled in.
pub trait CsrfForm: serde::de::DeserializeOwned {
    fn csrf(&self) -> &str;
}

/// The CSRF token the browser already holds, or a new one to set (`true`).
pub fn csrf_of(app: &App, headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, csrf_cookie_name(app)).filter(|c| c.len() == 43) {
        Some(c) => (c, false),
        None => (random_string(32), true),
    }
}

/// A form post is this site's own: the CSRF field equals the cookie, and the browser does not
/// say it came from elsewhere.
pub fn same_site_form(app: &App, headers: &HeaderMap, field: &str) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
        return false;
    }
    if header("origin").is_some_and(|o| o != app.config.server.public_url) {
        return false;
    }
    let Some(expected) = cookie(headers, csrf_cookie_name(app)) else { return false };
    // compare without an early exit on the first differing byte
    expected.len() == field.len()
        && !field.is_empty()
        && expected.bytes().zip(field.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The 403 page saying the form expired (a post that is not this site's own).
fn refused(state: &AppState, headers: &HeaderMap, uri: &axum::http::Uri) -> Response {
    let viewer = Viewer::of(state, headers, Some(uri), None);
    let message = super::theme_for(state, Audience::Portal).catalogs.text(&viewer.lang, "error-csrf");
    error_page(state, Audience::Portal, &viewer, axum::http::StatusCode::FORBIDDEN, Some(message))
}

/// Every form post goes through here: read as a urlencoded form, then checked to be this
/// site's own ([`same_site_form`]); a refusal is logged and answered with the 403 page saying
/// the form expired. Answers the form and the request's headers.
pub async fn checked_form<T: CsrfForm>(state: &AppState, request: Request) -> Result<(T, HeaderMap), Response> {
    let headers = request.headers().clone();
    let uri = request.uri().clone();
    let refused = |state: &AppState, headers: &HeaderMap| refused(state, headers, &uri);
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused(state, &headers));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.config.server.max_body_bytes).await else {
        return Err(refused(state, &headers));
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
    let Ok(Form(form)) = Form::<T>::from_request(request, state).await else { return Err(refused(state, &headers)) };
    if !same_site_form(state, &headers, form.csrf()) {
        tracing::warn!(
            path = uri.path(),
            origin = ?headers.get("origin"),
            fetch_site = ?headers.get("sec-fetch-site"),
            has_cookie = cookie(&headers, csrf_cookie_name(state)).is_some(),
            "form refused: CSRF check failed"
        );
        return Err(refused(state, &headers));
    }
    // then every field is checked for control characters (422 naming it), as the API does
    for (field, value) in crate::http::extract::form_pairs(&String::from_utf8_lossy(&bytes)) {
        if let Err(why) = crate::domain::text::check_controls(&value) {
            let viewer = Viewer::of(state, &headers, Some(&uri), None);
            let message = format!("{}: {why}", field.replace('_', " "));
            let status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Err(error_page(state, Audience::Portal, &viewer, status, Some(message)));
        }
    }
    Ok((form, headers))
}

/// A multipart form (one with a file): its text fields and its files, read whole (the route's
/// body limit bounds them).
#[derive(Debug, Default)]
pub struct Uploaded {
    pub fields: Vec<(String, String)>,
    /// (field name, file name, bytes)
    pub files: Vec<(String, String, Vec<u8>)>,
}

impl Uploaded {
    /// The first non-empty file sent as `name`.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(k, _, b)| k == name && !b.is_empty()).map(|(_, _, b)| b.as_slice())
    }
}

/// [`checked_form`] for `multipart/form-data` (uploads, on agent pages): the same CSRF check on
/// its `csrf` field; a body over the route's limit is the 413 page.
pub async fn checked_multipart(state: &AppState, request: Request) -> Result<(Uploaded, HeaderMap), Response> {
    let headers = request.headers().clone();
    let uri = request.uri().clone();
    let too_big = |state: &AppState, headers: &HeaderMap| {
        let viewer = Viewer::of(state, headers, Some(&uri), None);
        let why = Error::TooLarge("the file is larger than this form takes".into());
        super::page_for_error(state, Audience::Agent, &viewer, why)
    };
    let Ok(mut multipart) = axum::extract::Multipart::from_request(request, state).await else {
        return Err(refused(state, &headers, &uri));
    };
    let mut out = Uploaded::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big(state, &headers)),
            Err(_) => return Err(refused(state, &headers, &uri)),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big(state, &headers)),
            Err(_) => return Err(refused(state, &headers, &uri)),
        };
        match file_name {
            Some(f) => out.files.push((name, f, bytes.to_vec())),
            None => out.fields.push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
    let csrf = out.fields.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str());
    if !same_site_form(state, &headers, csrf) {
        tracing::warn!(path = uri.path(), "upload refused: CSRF check failed");
        return Err(refused(state, &headers, &uri));
    }
    Ok((out, headers))
}
