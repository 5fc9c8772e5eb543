//! The minimal server-rendered login page that serves agents and portal users until the agent
//! UI and the portal exist: a password form and one button per OpenID Connect provider
//! (`GET /login`, `POST /login`, `POST /logout`), and the forgotten-password pages
//! (`/login/forgot` asks for a link, `/login/reset?token=` is where the link leads). Forms carry a CSRF token that must equal the
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
const PASSWORD_TEMPLATE: &str = include_str!("../../../themes/default/password.html");
const CSS: &str = include_str!("../../../themes/default/kith.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(page).post(submit))
        .route("/login/forgot", get(forgot_page).post(forgot_submit))
        .route("/login/reset", get(reset_page).post(reset_submit))
        .route("/logout", axum::routing::post(logout))
        .route("/static/kith.css", get(css))
}

fn tera() -> Result<&'static tera::Tera, Error> {
    static TERA: OnceLock<Result<tera::Tera, String>> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = tera::Tera::default();
        // tera always offers `get_env`; no template of Kith's may read the server's environment
        // (the database URL, SMTP password) — RELIABILITY H7
        t.register_function("get_env", |_: &std::collections::HashMap<String, tera::Value>| {
            Err(tera::Error::msg("get_env is not available in Kith's templates"))
        });
        // the .html name turns autoescaping on
        t.add_raw_templates([("login.html", TEMPLATE), ("password.html", PASSWORD_TEMPLATE)])
            .map(|_| t)
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::Internal(format!("page templates: {e}")))
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

/// A rendered page with the headers every page carries, a new CSRF cookie when one is given,
/// and `Retry-After` when throttled.
fn html_page(
    state: &AppState,
    status: StatusCode,
    html: String,
    new_csrf: Option<&str>,
    retry_after: Option<String>,
) -> Response {
    let mut response = (status, Html(html)).into_response();
    page_headers(state, &mut response);
    if let Some(csrf) = new_csrf {
        let c = set_cookie(state, csrf_cookie_name(state), csrf, "Strict", None);
        if let Ok(value) = HeaderValue::from_str(&c) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    if let Some(r) = retry_after.and_then(|r| HeaderValue::from_str(&r).ok()) {
        response.headers_mut().insert("retry-after", r);
    }
    response
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
    Ok(html_page(state, v.status, html, v.new_csrf.then_some(v.csrf.as_str()), v.retry_after))
}

fn html_error(e: Error) -> Response {
    tracing::error!(error = %e, "login page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Kith</title><p>Something went wrong.</p>"))
        .into_response()
}

/// The CSRF token the browser already holds, or a new one to set.
fn csrf_of(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, csrf_cookie_name(state)).filter(|c| c.len() == 43) {
        Some(c) => (c, false),
        None => (random_string(32), true),
    }
}

/// The login page (or, with a session cookie, who is logged in and a log-out button).
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, new_csrf) = csrf_of(&state, &headers);
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

/// A form whose `csrf` field the page itself filled in.
trait CsrfForm: serde::de::DeserializeOwned {
    fn csrf(&self) -> &str;
}

impl CsrfForm for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl CsrfForm for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Every form post goes through here: read as a urlencoded form, then checked to be this
/// site's own ([`same_site_form`]); a refusal is logged and answered 403. Answers the form
/// and the request's headers.
async fn checked_form<T: CsrfForm>(state: &AppState, request: Request) -> Result<(T, HeaderMap), Response> {
    let headers = request.headers().clone();
    let path = request.uri().path().to_string();
    let Some(form) = read_form::<T>(state, request).await else { return Err(forbidden()) };
    if !same_site_form(state, &headers, form.csrf()) {
        tracing::warn!(
            path,
            origin = ?headers.get("origin"),
            fetch_site = ?headers.get("sec-fetch-site"),
            has_cookie = cookie(&headers, csrf_cookie_name(state)).is_some(),
            "form refused: CSRF check failed"
        );
        return Err(forbidden());
    }
    Ok((form, headers))
}

async fn read_form<T: serde::de::DeserializeOwned>(state: &AppState, request: Request) -> Option<T> {
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return None;
    }
    Form::<T>::from_request(request, state).await.ok().map(|Form(f)| f)
}

/// The password form: CSRF checked, then exactly the API's login (throttles included).
pub async fn submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let (form, headers) = match checked_form::<LoginForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
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
                Error::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "That password is too long.".to_string(), None),
                Error::Unauthenticated => {
                    (StatusCode::UNAUTHORIZED, "The user name or password is wrong.".to_string(), None)
                }
                other => match form_refusal(&other) {
                    Some(refusal) => refusal,
                    None => return html_error(other),
                },
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
    let (_, headers) = match checked_form::<LoginForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
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

// ---- forgotten passwords ----

/// What the password pages show: `forgot` (ask for a link), `sent`, `reset` (choose a new
/// password), `done`, or `dead` (the link is unknown, used or expired).
struct PasswordView {
    status: StatusCode,
    mode: &'static str,
    error: Option<String>,
    email: String,
    token: String,
    username: String,
    csrf: String,
    new_csrf: bool,
    retry_after: Option<String>,
}

impl PasswordView {
    fn new(mode: &'static str, csrf: String, new_csrf: bool) -> Self {
        PasswordView {
            status: StatusCode::OK,
            mode,
            error: None,
            email: String::new(),
            token: String::new(),
            username: String::new(),
            csrf,
            new_csrf,
            retry_after: None,
        }
    }
}

fn render_password(state: &AppState, v: PasswordView) -> Response {
    let mut ctx = tera::Context::new();
    ctx.insert("mode", v.mode);
    ctx.insert("error", &v.error);
    ctx.insert("email", &v.email);
    ctx.insert("token", &v.token);
    ctx.insert("username", &v.username);
    ctx.insert("csrf", &v.csrf);
    ctx.insert("message", super::password::FORGOT_ANSWER);
    ctx.insert("min_length", &state.rules.password_min_length);
    let html = match tera()
        .and_then(|t| t.render("password.html", &ctx).map_err(|e| Error::Internal(format!("password page: {e}"))))
    {
        Ok(html) => html,
        Err(e) => return html_error(e),
    };
    html_page(state, v.status, html, v.new_csrf.then_some(v.csrf.as_str()), v.retry_after)
}

/// The words and status a refused password form shows; `None` for a server fault.
fn form_refusal(e: &Error) -> Option<(StatusCode, String, Option<String>)> {
    match e {
        Error::RateLimited(ms) => {
            let secs = ((*ms).max(1) + 999) / 1000;
            Some((
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many attempts; try again in {secs} s."),
                Some(secs.to_string()),
            ))
        }
        Error::Invalid(fields) => {
            let text = fields.iter().map(|(k, why)| format!("{}: {why}.", k.replace('_', " "))).collect::<Vec<_>>();
            Some((StatusCode::UNPROCESSABLE_ENTITY, text.join(" "), None))
        }
        _ => None,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Asks for the address to send a reset link to.
pub async fn forgot_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, new_csrf) = csrf_of(&state, &headers);
    render_password(&state, PasswordView::new("forgot", csrf, new_csrf))
}

/// Queues the link (CSRF checked) and says the same for every address.
pub async fn forgot_submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let (form, _) = match checked_form::<PasswordForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    match super::password::request_reset(&state, addr, &form.email).await {
        Ok(()) => render_password(&state, PasswordView::new("sent", form.csrf, false)),
        Err(super::error::ApiError(e)) => {
            let Some((status, error, retry_after)) = form_refusal(&e) else { return html_error(e) };
            let view = PasswordView {
                status,
                error: Some(error),
                email: form.email,
                retry_after,
                ..PasswordView::new("forgot", form.csrf, false)
            };
            render_password(&state, view)
        }
    }
}

/// Where the e-mailed link leads: a form for the new password, if the link still works.
pub async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<TokenQuery>,
) -> Response {
    let (csrf, new_csrf) = csrf_of(&state, &headers);
    match super::password::link_holder(&state, &q.token).await {
        Ok(Some(username)) => render_password(
            &state,
            PasswordView { token: q.token, username, ..PasswordView::new("reset", csrf, new_csrf) },
        ),
        Ok(None) => render_password(
            &state,
            PasswordView { status: StatusCode::NOT_FOUND, ..PasswordView::new("dead", csrf, new_csrf) },
        ),
        Err(super::error::ApiError(e)) => html_error(e),
    }
}

/// Sets the new password (CSRF checked); every session of the account ends.
pub async fn reset_submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let (form, _) = match checked_form::<PasswordForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    match super::password::complete_reset(&state, addr, &form.token, form.password).await {
        Ok(_) => render_password(&state, PasswordView::new("done", form.csrf, false)),
        Err(super::error::ApiError(Error::Invalid(fields))) if fields.contains_key("token") => render_password(
            &state,
            PasswordView { status: StatusCode::NOT_FOUND, ..PasswordView::new("dead", form.csrf, false) },
        ),
        Err(super::error::ApiError(e)) => {
            let Some((status, error, retry_after)) = form_refusal(&e) else { return html_error(e) };
            let username = match super::password::link_holder(&state, &form.token).await {
                Ok(Some(u)) => u,
                Ok(None) => String::new(),
                Err(super::error::ApiError(e)) => return html_error(e),
            };
            let view = PasswordView {
                status,
                error: Some(error),
                token: form.token,
                username,
                retry_after,
                ..PasswordView::new("reset", form.csrf, false)
            };
            render_password(&state, view)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RELIABILITY H6: every template rendered with every value it reads set to markup that
    /// would break out of text and out of a double- or single-quoted attribute.
    #[test]
    fn every_template_escapes_every_value() {
        const PAYLOAD: &str = "\"'><script>x()</script><img src=x onerror=x()>";
        let tera = tera().unwrap_or_else(|e| panic!("{e}"));
        let who = serde_json::json!({"display_name": PAYLOAD, "username": PAYLOAD, "auth_method": PAYLOAD});
        let providers = serde_json::json!([{"id": PAYLOAD, "name": PAYLOAD}]);
        let mut pages = Vec::new();
        for logged_in in [false, true] {
            let mut ctx = tera::Context::new();
            if logged_in {
                ctx.insert("user", &who);
            }
            for key in ["error", "username", "csrf"] {
                ctx.insert(key, PAYLOAD);
            }
            ctx.insert("providers", &providers);
            pages.push(tera.render("login.html", &ctx).unwrap_or_else(|e| panic!("login.html: {e}")));
        }
        for mode in ["forgot", "sent", "reset", "done", "dead"] {
            let mut ctx = tera::Context::new();
            ctx.insert("mode", mode);
            for key in ["error", "email", "token", "username", "csrf", "message", "min_length"] {
                ctx.insert(key, PAYLOAD);
            }
            pages.push(tera.render("password.html", &ctx).unwrap_or_else(|e| panic!("password.html {mode}: {e}")));
        }
        for page in &pages {
            assert!(!page.contains("<script") && !page.contains("<img"), "{page}");
            assert!(!page.contains("\"'>"), "an attribute is broken out of: {page}");
            assert!(page.contains("&lt;script&gt;x()&lt;&#x2F;script&gt;"), "the value is shown, escaped: {page}");
        }
        for template in [TEMPLATE, PASSWORD_TEMPLATE] {
            assert!(!template.replace(' ', "").contains("|safe"), "no value is marked safe");
        }
    }

    /// RELIABILITY H7: the environment is out of a template's reach.
    #[test]
    fn templates_cannot_read_the_environment() {
        let mut tera = tera().cloned().unwrap_or_else(|e| panic!("{e}"));
        tera.add_raw_template("env.html", r#"{{ get_env(name="PATH") }}"#).unwrap_or_else(|e| panic!("{e}"));
        let err = tera.render("env.html", &tera::Context::new()).err().map(|e| format!("{e:?}")).unwrap_or_default();
        assert!(err.contains("get_env is not available"), "{err}");
    }
}
