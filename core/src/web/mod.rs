//! The browser pages, beside the JSON API: themes and their templates ([`theme`]), messages
//! ([`i18n`]), cookies and CSRF-checked forms, HTML error pages, and the page routers (today the
//! login, logout and password pages in [`login`]). Pages call the same services as the JSON API
//! ([`crate::services`]); nothing here calls a JSON handler.
//!
//! Every page answer carries a strict Content-Security-Policy (scripts and styles only from
//! this site, no inline code), `no-store`, `Vary: HX-Request` (the same URL answers a full page
//! or, to htmx, a fragment) and the page's language.

pub mod agent;
mod bulk;
pub mod forms;
pub mod i18n;
pub mod login;
pub(crate) mod organizations;
mod record;
pub mod theme;
mod user_actions;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_TYPE, COOKIE, SET_COOKIE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::domain::Error;
use crate::domain::user::Prefs;
use crate::http::AppState;
use crate::services::Caller;
use crate::services::accounts;
use i18n::{Catalogs, Translate};
use theme::{Theme, Themes};

/// What the pages need beyond [`App`]: the compiled themes.
#[derive(Debug)]
pub struct Web {
    pub themes: Themes,
    /// The configured languages; the first is the default.
    pub languages: Vec<String>,
}

impl Web {
    /// Loads the themes; fails only when the built-in default theme does not compile.
    pub fn load(config: &Config) -> Result<Web, String> {
        let themes = Themes::load(&config.theme, &config.i18n.languages)?;
        Ok(Web { themes, languages: config.i18n.languages.clone() })
    }
}

/// Which audience a page is for: the agent UI (and admin pages) or the portal (and logins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Agent,
    Portal,
}

/// `/static/<theme>/<file>.<hash>.<ext>` and the `t(...)` message function for templates.
pub(crate) fn register_functions(
    t: &mut tera::Tera,
    static_urls: Arc<HashMap<String, String>>,
    catalogs: Arc<Catalogs>,
) {
    t.register_function("static_url", StaticUrl(static_urls));
    t.register_function("t", Translate(catalogs));
}

/// The tera function `static_url(path=...)`: a theme file's content-hashed URL. Its output is
/// marked safe (so `/` is not written as `&#x2F;`): the theme's loader only gives URLs of
/// letters, digits, `.`, `_`, `-` and `/`.
struct StaticUrl(Arc<HashMap<String, String>>);

impl tera::Function for StaticUrl {
    fn call(&self, args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
        let path =
            args.get("path").and_then(tera::Value::as_str).ok_or_else(|| tera::Error::msg("static_url needs path"))?;
        self.0
            .get(path)
            .map(|u| tera::Value::String(u.clone()))
            .ok_or_else(|| tera::Error::msg(format!("no static file `{path}` in this theme")))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// Whether people reach Kith over https (`server.public_url`): cookies are then `Secure` and
/// carry the `__Host-` prefix.
pub fn over_https(app: &App) -> bool {
    app.config.server.public_url.starts_with("https://")
}

/// The session cookie's name: `__Host-` (Secure, host-only) when Kith is served over https.
pub fn session_cookie_name(app: &App) -> &'static str {
    if over_https(app) { "__Host-kith_session" } else { "kith_session" }
}

pub(crate) fn csrf_cookie_name(app: &App) -> &'static str {
    if over_https(app) { "__Host-kith_csrf" } else { "kith_csrf" }
}

/// The cookie that binds a pending OpenID Connect login to the browser that started it.
pub fn oidc_binding_cookie_name(app: &App) -> &'static str {
    if over_https(app) { "__Host-kith_oidc" } else { "kith_oidc" }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    })
}

/// A `Set-Cookie` value: host-only, HttpOnly, `Secure` over https.
pub fn set_cookie(app: &App, name: &str, value: &str, same_site: &str, max_age: Option<i64>) -> String {
    let secure = if over_https(app) { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{age}{secure}")
}

/// Appends a `Set-Cookie` header (a value that is not a valid header is dropped).
pub fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

/// The caller behind the browser's session cookie, if it is live.
pub async fn session_caller(app: &App, headers: &HeaderMap) -> Result<Option<Caller>, Error> {
    match cookie(headers, session_cookie_name(app)) {
        Some(token) => accounts::authenticate(app, &token).await,
        None => Ok(None),
    }
}

/// Headers every HTML answer carries.
pub fn page_headers(app: &App, response: &mut Response, lang: &str) {
    let h = response.headers_mut();
    let csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
               form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    h.insert("content-security-policy", HeaderValue::from_static(csp));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the page's
    // own form posts, which the CSRF check must refuse (found by the Chromium test)
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(VARY, HeaderValue::from_static("HX-Request, Cookie, Accept-Language"));
    if let Ok(v) = HeaderValue::from_str(lang) {
        h.insert(CONTENT_LANGUAGE, v);
    }
    if over_https(app) {
        h.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
}

/// Who is looking at a page and how it should speak to them.
#[derive(Debug, Clone, Serialize)]
pub struct Viewer {
    /// The language tag the page is in (one of `i18n.languages`).
    pub lang: String,
    /// `ltr` or `rtl`.
    pub dir: &'static str,
    /// `light`, `dark` or `system` (resolved in the browser before the first paint).
    pub theme_pref: String,
    /// The viewer's IANA time zone; times on the page are shown in it.
    pub time_zone: String,
    /// The request's id (`x-request-id`), shown on the 500 page.
    pub request_id: String,
    /// Single-key shortcuts on (the person's own setting; on when logged out).
    pub shortcuts: bool,
}

impl Viewer {
    /// The page's language: the user's own (when logged in), else `?lang=`, else the `kith_lang`
    /// cookie, else `Accept-Language`, else the default.
    pub fn of(state: &AppState, headers: &HeaderMap, uri: Option<&Uri>, user: Option<&Prefs>) -> Viewer {
        let (app, web) = (&**state, &*state.web);
        let user_lang = user.map(|u| u.language.as_str()).filter(|l| !l.is_empty());
        let user_zone = user.map(|u| u.time_zone.as_str()).filter(|z| !z.is_empty());
        let query_lang = uri
            .and_then(Uri::query)
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")).map(|v| v.to_string()));
        let cookie_lang = cookie(headers, "kith_lang");
        let accept = headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let mut wanted: Vec<&str> = Vec::new();
        wanted.extend(user_lang);
        wanted.extend(query_lang.as_deref());
        wanted.extend(cookie_lang.as_deref());
        wanted.extend(i18n::accept_language(accept));
        let lang = i18n::pick(wanted, &web.languages)
            .unwrap_or_else(|| web.languages.first().cloned().unwrap_or_else(|| "en".into()));
        // the person's own choice (stored on the server), else the browser's cookie
        let theme_pref = match user.map(|u| u.ui_theme.as_str()).or(cookie(headers, "kith_scheme").as_deref()) {
            Some(p @ ("light" | "dark")) => p.to_string(),
            _ => "system".to_string(),
        };
        let time_zone = user_zone.map(str::to_string).unwrap_or_else(|| app.config.i18n.default_time_zone.clone());
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
        let shortcuts = user.is_none_or(|u| u.keyboard_shortcuts);
        Viewer { dir: i18n::direction(&lang), lang, theme_pref, time_zone, request_id, shortcuts }
    }
}

/// The person behind an agent page, as their session names them: the bar's name and how pages
/// look to them, with no query of their own.
#[derive(Debug, Clone)]
pub struct Me {
    pub display_name: String,
    pub prefs: Prefs,
}

impl Me {
    pub fn of(caller: &Caller) -> Me {
        Me { display_name: caller.display_name.clone(), prefs: caller.prefs.clone() }
    }
}

/// Whether the agent pinned this record.
pub fn is_pinned(caller: &Caller, kind: &str, id: i64) -> bool {
    caller.prefs.records.iter().any(|r| r.pinned && r.kind == kind && r.id == id)
}

/// The navigation's pinned and recently viewed records, as the agent's session holds them
/// (no query of their own).
pub fn records_nav(caller: &Caller) -> serde_json::Value {
    let item = |r: &crate::domain::user::RecentRecord| {
        let path = if r.kind == "organization" { "organizations" } else { "users" };
        serde_json::json!({"name": r.name, "kind": r.kind, "href": format!("/agent/{path}/{}", r.id)})
    };
    let pinned: Vec<_> = caller.prefs.records.iter().filter(|r| r.pinned).map(item).collect();
    let recent: Vec<_> = caller.prefs.records.iter().filter(|r| !r.pinned).map(item).collect();
    serde_json::json!({"pinned": pinned, "recent": recent})
}

/// The theme a page of `audience` renders with.
pub fn theme_for(state: &AppState, audience: Audience) -> Arc<Theme> {
    let (app, web) = (&**state, &*state.web);
    let name = match audience {
        Audience::Agent => &app.config.theme.agent,
        Audience::Portal => &app.config.theme.portal,
    };
    web.themes.get(name)
}

/// Renders `template` into a page with the common context (`lang`, `dir`, `theme_pref`,
/// `time_zone`) and headers; a render failure becomes the 500 page.
pub fn render_page(
    state: &AppState,
    audience: Audience,
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    mut ctx: tera::Context,
) -> Response {
    let theme = theme_for(state, audience);
    ctx.insert("lang", &viewer.lang);
    ctx.insert("dir", viewer.dir);
    ctx.insert("theme_pref", &viewer.theme_pref);
    ctx.insert("time_zone", &viewer.time_zone);
    ctx.insert("shortcuts", &viewer.shortcuts);
    match theme.render(template, &ctx) {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            page_headers(state, &mut response, &viewer.lang);
            response
        }
        Err(e) => {
            tracing::error!(template, error = %e, "a page failed to render");
            error_page(state, audience, viewer, StatusCode::INTERNAL_SERVER_ERROR, None)
        }
    }
}

/// The theme's error page for `status` (403, 404, 422, 500), with `message` or the status's own
/// words. Never fails: when even the error template cannot render, a plain page says so.
pub fn error_page(
    state: &AppState,
    audience: Audience,
    viewer: &Viewer,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let code = match status.as_u16() {
        c @ (403 | 404 | 422) => c,
        _ => 500,
    };
    let mut ctx = tera::Context::new();
    ctx.insert("status", &code);
    ctx.insert("message", &message);
    ctx.insert("request_id", &viewer.request_id);
    ctx.insert("lang", &viewer.lang);
    ctx.insert("dir", viewer.dir);
    ctx.insert("theme_pref", &viewer.theme_pref);
    ctx.insert("time_zone", &viewer.time_zone);
    ctx.insert("shortcuts", &viewer.shortcuts);
    let theme = theme_for(state, audience);
    let html = theme.render("error.html", &ctx).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the error page failed to render");
        "<!doctype html><html lang=\"en\"><title>Kith</title><main><h1>Error</h1><p>Something went wrong.</p></main></html>".into()
    });
    let mut response = (status, Html(html)).into_response();
    page_headers(state, &mut response, &viewer.lang);
    response
}

/// A domain error as the page for it (a server fault is logged and shown as the 500 page).
pub fn page_for_error(state: &AppState, audience: Audience, viewer: &Viewer, e: Error) -> Response {
    let (status, message) = match e {
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, Some(m)),
        Error::NotFound => (StatusCode::NOT_FOUND, None),
        Error::Invalid(f) => {
            let why: Vec<String> = f.iter().map(|(k, v)| format!("{}: {v}", k.replace('_', " "))).collect();
            (StatusCode::UNPROCESSABLE_ENTITY, Some(why.join(" ")).filter(|m| !m.is_empty()))
        }
        other => {
            tracing::error!(error = %other, "a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        }
    };
    error_page(state, audience, viewer, status, message)
}

/// The pages' routes: static files, the login pages, and the 404 page for every other path a
/// browser asks for. `max_upload` is `avatars.max_upload_bytes` (the avatar form's body limit).
pub fn router(max_upload: usize) -> Router<AppState> {
    Router::new().route("/static/{*path}", get(static_file)).merge(login::router()).merge(agent::router(max_upload))
}

/// A theme's static file by its content-hashed URL, cached for a year (its URL changes with it).
async fn static_file(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    match state.web.themes.asset(&path) {
        Some(a) => {
            ([(CONTENT_TYPE, a.content_type), (CACHE_CONTROL, "public, max-age=31536000, immutable")], a.bytes.to_vec())
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The 404 page for a path no route serves.
pub async fn not_found(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let viewer = Viewer::of(&state, &headers, Some(&uri), None);
    error_page(&state, Audience::Portal, &viewer, StatusCode::NOT_FOUND, None)
}

#[cfg(test)]
mod tests;
