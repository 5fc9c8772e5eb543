//! The minimal server-rendered login page that serves agents and portal users until the agent
//! UI and the portal exist: a password form and one button per OpenID Connect provider
//! (`GET /login`, `POST /login`, `POST /logout`). Forms carry a CSRF token that must equal the
//! `kith_csrf` cookie (SameSite=Strict) and come from this site (Origin / Sec-Fetch-Site);
//! pages are sent with a strict Content-Security-Policy and never cached.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Form, FromRequest, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::auth::password_login;
use super::extract::ClientAddr;
use super::oauth::{over_https, session_cookie_name};
use crate::auth::{random_string, token_hash};
use crate::domain::Error;
use crate::store::TokenKind;

const TEMPLATE: &str = include_str!("../../../themes/default/login.html");
const CSS: &str = include_str!("../../../themes/default/kith.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(page).post(submit))
        .route("/logout", axum::routing::post(logout))
        .route("/static/kith.css", get(css))
}

fn tera() -> Result<&'static tera::Tera, Error> {
    static TERA: OnceLock<Result<tera::Tera, String>> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = tera::Tera::default();
        // the .html name turns autoescaping on
        t.add_raw_template("login.html", TEMPLATE).map(|_| t).map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::Internal(format!("login template: {e}")))
}

fn csrf_cookie_name(state: &AppState) -> &'static str {
    if over_https(state) { "__Host-kith_csrf" } else { "kith_csrf" }
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    })
}

/// A `Set-Cookie` value: host-only, HttpOnly, `Secure` over https.
pub(crate) fn set_cookie(state: &AppState, name: &str, value: &str, same_site: &str, max_age: Option<i64>) -> String {
    let secure = if over_https(state) { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{age}{secure}")
}

/// Headers every HTML answer carries.
fn page_headers(state: &AppState, response: &mut Response) {
    let h = response.headers_mut();
    let csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
               frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    h.insert("content-security-policy", HeaderValue::from_static(csp));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the page's
    // own form posts, which the CSRF check must refuse (found by the Chromium test)
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if over_https(state) {
        h.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
}

struct View {
    status: StatusCode,
    error: Option<String>,
    username: String,
    csrf: String,
    /// A new CSRF cookie to set (first visit, or rotated at login).
    new_csrf: bool,
    retry_after: Option<String>,
}

async fn render(state: &AppState, headers: &HeaderMap, v: View) -> Result<Response, Error> {
    let mut ctx = tera::Context::new();
    let user = match cookie(headers, session_cookie_name(state)) {
        Some(token) if token.len() <= 200 => {
            let idle = state.config.auth.session_idle_minutes * 60_000;
            match state.store.caller(&token_hash(&token), TokenKind::Session, idle).await? {
                Some((id, ..)) => Some(state.store.get_user(id).await?),
                None => None,
            }
        }
        _ => None,
    };
    if let Some(u) = &user {
        ctx.insert(
            "user",
            &serde_json::json!({"display_name": u.display_name, "username": u.username, "auth_method": u.auth_method}),
        );
    }
    let providers: Vec<_> = state
        .config
        .auth
        .oauth
        .iter()
        .map(|p| {
            let name = if p.display_name.is_empty() { p.id.clone() } else { p.display_name.clone() };
            serde_json::json!({"id": p.id, "name": name})
        })
        .collect();
    ctx.insert("providers", &providers);
    ctx.insert("error", &v.error);
    ctx.insert("username", &v.username);
    ctx.insert("csrf", &v.csrf);
    let html = tera()?.render("login.html", &ctx).map_err(|e| Error::Internal(format!("login page: {e}")))?;
    let mut response = (v.status, Html(html)).into_response();
    page_headers(state, &mut response);
    if v.new_csrf {
        let c = set_cookie(state, csrf_cookie_name(state), &v.csrf, "Strict", None);
        if let Ok(value) = HeaderValue::from_str(&c) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    if let Some(r) = v.retry_after.and_then(|r| HeaderValue::from_str(&r).ok()) {
        response.headers_mut().insert("retry-after", r);
    }
    Ok(response)
}

fn html_error(e: Error) -> Response {
    tracing::error!(error = %e, "login page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Kith</title><p>Something went wrong.</p>"))
        .into_response()
}

/// The login page (or, with a session cookie, who is logged in and a log-out button).
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let existing = cookie(&headers, csrf_cookie_name(&state)).filter(|c| c.len() == 43);
    let (csrf, new_csrf) = match existing {
        Some(c) => (c, false),
        None => (random_string(32), true),
    };
    let view = View { status: StatusCode::OK, error: None, username: String::new(), csrf, new_csrf, retry_after: None };
    render(&state, &headers, view).await.unwrap_or_else(html_error)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// A form post is this site's own: the CSRF field equals the cookie, and the browser does not
/// say it came from elsewhere.
fn same_site_form(state: &AppState, headers: &HeaderMap, field: &str) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
        return false;
    }
    if header("origin").is_some_and(|o| o != state.config.server.public_url) {
        return false;
    }
    let Some(expected) = cookie(headers, csrf_cookie_name(state)) else { return false };
    // compare without an early exit on the first differing byte
    expected.len() == field.len()
        && !field.is_empty()
        && expected.bytes().zip(field.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<!doctype html><title>Kith</title><p>This form has expired; <a href=\"/login\">reload it</a>.</p>"),
    )
        .into_response()
}

async fn read_form(state: &AppState, request: Request) -> Option<LoginForm> {
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return None;
    }
    Form::<LoginForm>::from_request(request, state).await.ok().map(|Form(f)| f)
}

/// The password form: CSRF checked, then exactly the API's login (throttles included).
pub async fn submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let headers = request.headers().clone();
    let Some(form) = read_form(&state, request).await else { return forbidden() };
    if !same_site_form(&state, &headers, &form.csrf) {
        tracing::warn!(
            address = %addr,
            origin = ?headers.get("origin"),
            fetch_site = ?headers.get("sec-fetch-site"),
            has_cookie = cookie(&headers, csrf_cookie_name(&state)).is_some(),
            "login form refused: CSRF check failed"
        );
        return forbidden();
    }
    match password_login(&state, addr, &form.username, form.password).await {
        Ok(session) => {
            let mut response = Redirect::to("/login").into_response();
            let absolute = state.config.auth.session_absolute_hours * 3600;
            // a new session id, and a new CSRF token with it
            for c in [
                set_cookie(&state, session_cookie_name(&state), &session.token, "Lax", Some(absolute)),
                set_cookie(&state, csrf_cookie_name(&state), &random_string(32), "Strict", None),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    response.headers_mut().append(SET_COOKIE, v);
                }
            }
            page_headers(&state, &mut response);
            response
        }
        Err(super::error::ApiError(e)) => {
            let (status, message, retry_after) = match e {
                Error::RateLimited(ms) => {
                    let secs = (ms.max(1) + 999) / 1000;
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        format!("Too many attempts; try again in {secs} s."),
                        Some(secs.to_string()),
                    )
                }
                Error::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "That password is too long.".to_string(), None),
                Error::Unauthenticated => {
                    (StatusCode::UNAUTHORIZED, "The user name or password is wrong.".to_string(), None)
                }
                other => return html_error(other),
            };
            let csrf = form.csrf;
            let view =
                View { status, error: Some(message), username: form.username, csrf, new_csrf: false, retry_after };
            render(&state, &headers, view).await.unwrap_or_else(html_error)
        }
    }
}

/// Logs the browser's session out (CSRF checked) and forgets the cookie.
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let Some(form) = read_form(&state, request).await else { return forbidden() };
    if !same_site_form(&state, &headers, &form.csrf) {
        return forbidden();
    }
    if let Some(token) = cookie(&headers, session_cookie_name(&state))
        && let Err(e) = state.store.delete_session(&token_hash(&token)).await
    {
        return html_error(e);
    }
    let mut response = Redirect::to("/login").into_response();
    let gone = set_cookie(&state, session_cookie_name(&state), "", "Lax", Some(0));
    if let Ok(v) = HeaderValue::from_str(&gone) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    page_headers(&state, &mut response);
    response
}

pub async fn css() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "public, max-age=3600")], CSS).into_response()
}
