//! The login pages for agents and portal users alike: `GET/POST /login` (a password form for
//! every method that takes one, and a button per OpenID Connect provider), `POST /logout`, and
//! forgotten passwords (`/login/forgot` asks for a link, `/login/reset?token=` is where it
//! leads). They call [`crate::services::accounts`], the same functions as the JSON API.

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::forms::{CsrfForm, checked_form, csrf_of};
use super::{
    Audience, Viewer, add_cookie, csrf_cookie_name, page_for_error, page_headers, render_page, session_cookie_name,
    set_cookie,
};
use crate::auth::random_string;
use crate::domain::Error;
use crate::http::AppState;
use crate::http::extract::ClientAddr;
use crate::services::accounts;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(page).post(submit))
        .route("/login/forgot", get(forgot_page).post(forgot_submit))
        .route("/login/reset", get(reset_page).post(reset_submit))
        .route("/logout", post(logout))
}

/// A page answer with a new CSRF cookie when one is given and `Retry-After` when throttled.
fn finish(state: &AppState, mut response: Response, new_csrf: Option<&str>, retry_after: Option<String>) -> Response {
    if let Some(csrf) = new_csrf {
        add_cookie(&mut response, &set_cookie(state, csrf_cookie_name(state), csrf, "Strict", None));
    }
    if let Some(r) = retry_after.and_then(|r| HeaderValue::from_str(&r).ok()) {
        response.headers_mut().insert("retry-after", r);
    }
    response
}

/// What a refused form shows: its status, the sentence, and `Retry-After` when throttled;
/// `None` for a server fault.
fn refusal(state: &AppState, viewer: &Viewer, e: &Error) -> Option<(StatusCode, String, Option<String>)> {
    let catalogs = &super::theme_for(state, Audience::Portal).catalogs;
    match e {
        Error::RateLimited(ms) => {
            let secs = ((*ms).max(1) + 999) / 1000;
            let text = catalogs.text_with(&viewer.lang, "throttled", &[("seconds", secs.to_string())]);
            Some((StatusCode::TOO_MANY_REQUESTS, text, Some(secs.to_string())))
        }
        Error::Invalid(fields) => {
            let text = fields
                .iter()
                .map(|(k, why)| {
                    catalogs.text_with(
                        &viewer.lang,
                        "form-invalid",
                        &[("field", k.replace('_', " ")), ("why", why.clone())],
                    )
                })
                .collect::<Vec<_>>();
            Some((StatusCode::UNPROCESSABLE_ENTITY, text.join(" "), None))
        }
        _ => None,
    }
}

struct LoginView {
    status: StatusCode,
    error: Option<String>,
    username: String,
    /// Where a successful login goes (a path on this site; the login page itself otherwise).
    return_to: String,
    csrf: String,
    /// A new CSRF cookie to set (first visit).
    new_csrf: bool,
    retry_after: Option<String>,
}

async fn render_login(state: &AppState, headers: &HeaderMap, uri: &Uri, v: LoginView) -> Response {
    let caller = match super::session_caller(state, headers).await {
        Ok(c) => c,
        Err(e) => return page_for_error(state, Audience::Portal, &Viewer::of(state, headers, Some(uri), None), e),
    };
    let user = match &caller {
        Some(c) => match state.store.get_user(c.id).await {
            Ok(u) => Some(u),
            Err(e) => return page_for_error(state, Audience::Portal, &Viewer::of(state, headers, Some(uri), None), e),
        },
        None => None,
    };
    let viewer = Viewer::of(state, headers, Some(uri), caller.as_ref().map(|c| &c.prefs));
    let mut ctx = tera::Context::new();
    if let Some(u) = &user {
        ctx.insert(
            "user",
            &serde_json::json!({"display_name": u.display_name, "username": u.username, "auth_method": u.auth_method, "is_agent": u.is_agent}),
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
    ctx.insert("return_to", &v.return_to);
    let response = render_page(state, Audience::Portal, &viewer, v.status, "login.html", ctx);
    finish(state, response, v.new_csrf.then_some(v.csrf.as_str()), v.retry_after)
}

#[derive(Deserialize)]
pub struct ReturnQuery {
    #[serde(default)]
    return_to: String,
}

/// Only a path on this site (`/agent/users?q=x`), else nothing.
fn safe_target(raw: &str) -> String {
    if crate::oidc::safe_return_to(raw) { raw.to_string() } else { String::new() }
}

/// The login page (or, with a live session, who is logged in and a log-out button).
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ReturnQuery>,
) -> Response {
    let (csrf, new_csrf) = csrf_of(&state, &headers);
    let view = LoginView {
        status: StatusCode::OK,
        error: None,
        username: String::new(),
        return_to: safe_target(&q.return_to),
        csrf,
        new_csrf,
        retry_after: None,
    };
    render_login(&state, &headers, &uri, view).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
}

impl CsrfForm for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The password form: CSRF checked, then exactly the API's login (throttles included).
pub async fn submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let uri = request.uri().clone();
    let (form, headers) = match checked_form::<LoginForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    match accounts::password_login(&state, addr, &form.username, form.password).await {
        Ok(session) => {
            let target = safe_target(&form.return_to);
            let mut response = Redirect::to(if target.is_empty() { "/login" } else { &target }).into_response();
            let absolute = state.config.auth.session_absolute_hours * 3600;
            // a new session id, and a new CSRF token with it
            add_cookie(
                &mut response,
                &set_cookie(&state, session_cookie_name(&state), &session.token, "Lax", Some(absolute)),
            );
            add_cookie(
                &mut response,
                &set_cookie(&state, csrf_cookie_name(&state), &random_string(32), "Strict", None),
            );
            page_headers(&state, &mut response, &session.user.language);
            response
        }
        Err(e) => {
            let viewer = Viewer::of(&state, &headers, Some(&uri), None);
            let catalogs = &super::theme_for(&state, Audience::Portal).catalogs;
            let (status, message, retry_after) = match e {
                Error::Invalid(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, catalogs.text(&viewer.lang, "login-too-long"), None)
                }
                Error::Unauthenticated => (StatusCode::UNAUTHORIZED, catalogs.text(&viewer.lang, "login-wrong"), None),
                other => match refusal(&state, &viewer, &other) {
                    Some(r) => r,
                    None => return page_for_error(&state, Audience::Portal, &viewer, other),
                },
            };
            let view = LoginView {
                status,
                error: Some(message),
                username: form.username,
                return_to: safe_target(&form.return_to),
                csrf: form.csrf,
                new_csrf: false,
                retry_after,
            };
            render_login(&state, &headers, &uri, view).await
        }
    }
}

/// Logs the browser's session out (CSRF checked) and forgets the cookie.
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let uri = request.uri().clone();
    let (_, headers) = match checked_form::<LoginForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    if let Some(token) = super::cookie(&headers, session_cookie_name(&state))
        && let Err(e) = accounts::end_session(&state, &token).await
    {
        return page_for_error(&state, Audience::Portal, &Viewer::of(&state, &headers, Some(&uri), None), e);
    }
    let mut response = Redirect::to("/login").into_response();
    add_cookie(&mut response, &set_cookie(&state, session_cookie_name(&state), "", "Lax", Some(0)));
    let viewer = Viewer::of(&state, &headers, Some(&uri), None);
    page_headers(&state, &mut response, &viewer.lang);
    response
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

fn render_password(state: &AppState, viewer: &Viewer, v: PasswordView) -> Response {
    let mut ctx = tera::Context::new();
    ctx.insert("mode", v.mode);
    ctx.insert("error", &v.error);
    ctx.insert("email", &v.email);
    ctx.insert("token", &v.token);
    ctx.insert("username", &v.username);
    ctx.insert("csrf", &v.csrf);
    ctx.insert("min_length", &state.rules.password_min_length);
    let response = render_page(state, Audience::Portal, viewer, v.status, "password.html", ctx);
    finish(state, response, v.new_csrf.then_some(v.csrf.as_str()), v.retry_after)
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

impl CsrfForm for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Asks for the address to send a reset link to.
pub async fn forgot_page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let (csrf, new_csrf) = csrf_of(&state, &headers);
    let viewer = Viewer::of(&state, &headers, Some(&uri), None);
    render_password(&state, &viewer, PasswordView::new("forgot", csrf, new_csrf))
}

/// Queues the link (CSRF checked) and says the same for every address.
pub async fn forgot_submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let uri = request.uri().clone();
    let (form, headers) = match checked_form::<PasswordForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), None);
    match accounts::request_reset(&state, addr, &form.email).await {
        Ok(()) => render_password(&state, &viewer, PasswordView::new("sent", form.csrf, false)),
        Err(e) => {
            let Some((status, error, retry_after)) = refusal(&state, &viewer, &e) else {
                return page_for_error(&state, Audience::Portal, &viewer, e);
            };
            let view = PasswordView {
                status,
                error: Some(error),
                email: form.email,
                retry_after,
                ..PasswordView::new("forgot", form.csrf, false)
            };
            render_password(&state, &viewer, view)
        }
    }
}

/// Where the e-mailed link leads: a form for the new password, if the link still works.
pub async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<TokenQuery>,
) -> Response {
    let (csrf, new_csrf) = csrf_of(&state, &headers);
    let viewer = Viewer::of(&state, &headers, Some(&uri), None);
    match accounts::link_holder(&state, &q.token).await {
        Ok(Some(username)) => render_password(
            &state,
            &viewer,
            PasswordView { token: q.token, username, ..PasswordView::new("reset", csrf, new_csrf) },
        ),
        Ok(None) => render_password(
            &state,
            &viewer,
            PasswordView { status: StatusCode::NOT_FOUND, ..PasswordView::new("dead", csrf, new_csrf) },
        ),
        Err(e) => page_for_error(&state, Audience::Portal, &viewer, e),
    }
}

/// Sets the new password (CSRF checked); every session of the account ends.
pub async fn reset_submit(State(state): State<AppState>, ClientAddr(addr): ClientAddr, request: Request) -> Response {
    let uri = request.uri().clone();
    let (form, headers) = match checked_form::<PasswordForm>(&state, request).await {
        Ok(x) => x,
        Err(refused) => return refused,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), None);
    match accounts::complete_reset(&state, addr, &form.token, form.password).await {
        Ok(_) => render_password(&state, &viewer, PasswordView::new("done", form.csrf, false)),
        Err(Error::Invalid(fields)) if fields.contains_key("token") => render_password(
            &state,
            &viewer,
            PasswordView { status: StatusCode::NOT_FOUND, ..PasswordView::new("dead", form.csrf, false) },
        ),
        Err(e) => {
            let Some((status, error, retry_after)) = refusal(&state, &viewer, &e) else {
                return page_for_error(&state, Audience::Portal, &viewer, e);
            };
            let username = match accounts::link_holder(&state, &form.token).await {
                Ok(u) => u.unwrap_or_default(),
                Err(e) => return page_for_error(&state, Audience::Portal, &viewer, e),
            };
            let view = PasswordView {
                status,
                error: Some(error),
                token: form.token,
                username,
                retry_after,
                ..PasswordView::new("reset", form.csrf, false)
            };
            render_password(&state, &viewer, view)
        }
    }
}
