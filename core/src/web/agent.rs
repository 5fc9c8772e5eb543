//! The agent UI (SPEC 11), first slice: the user directory `/agent/users` (navigation by role,
//! a search form, sortable columns, keyset paging, a preview of `?selected=`) and a user's page
//! `/agent/users/{id}`. Every page works with JavaScript off; every rule is the services' (a
//! portal user gets the 403 page, anyone logged out is sent to log in and brought back).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Audience, Me, Viewer, page_for_error, render_page};
use crate::domain::UserId;
use crate::domain::organization::{OrganizationId, Tab, TabRecord};
use crate::domain::role::{EVERYONE, Permission, Role, VERIFIED_USER};
use crate::http::AppState;
use crate::services::Caller;
use crate::services::{organizations, roles, users};
use crate::store::Page;

pub fn router(max_upload: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/agent/users", get(directory).post(super::users::create))
        .route("/agent/users/bulk", axum::routing::post(super::bulk::bulk))
        .route("/agent/users/views", get(views_fragment))
        .route("/agent/users/orgs-nav", get(org_nav_fragment))
        .route("/agent/pins", axum::routing::post(pin))
        .merge(super::users::router(max_upload))
        .merge(super::user_actions::router())
        .merge(super::organizations::router())
}

/// The caller of an agent page: logged out → the login page (coming back here afterwards); not an
/// agent → the 403 page.
pub(super) async fn agent_caller(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<(Caller, Me), Response> {
    let caller = agent_session(state, headers, uri).await?;
    let me = Me::of(&caller);
    Ok((caller, me))
}

/// The agent behind a request (logged out → the login page, not an agent → the 403 page).
pub(super) async fn agent_session(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Caller, Response> {
    let viewer = || Viewer::of(state, headers, Some(uri), None);
    let caller = match super::session_caller(state, headers).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let back = uri.path_and_query().map_or("/", |p| p.as_str());
            let target = if crate::oidc::safe_return_to(back) { back } else { "/" };
            let to = format!(
                "/login?return_to={}",
                url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
            );
            return Err(Redirect::to(&to).into_response());
        }
        Err(e) => return Err(page_for_error(state, Audience::Agent, &viewer(), e)),
    };
    if !caller.is_agent {
        let why = crate::domain::Error::Forbidden("the agent pages are for agents".into());
        return Err(page_for_error(state, Audience::Agent, &viewer(), why));
    }
    Ok(caller)
}

/// `/`: agents to the directory, everyone else to the login page (the portal arrives later).
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match super::session_caller(&state, &headers).await {
        Ok(Some(c)) if c.is_agent => Redirect::to("/agent/users").into_response(),
        _ => Redirect::to("/login").into_response(),
    }
}

/// The directory's query string: every state of the list is a URL.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    pub q: String,
    /// `role:<name>` or empty (everyone).
    #[serde(default)]
    pub view: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub selected: String,
    /// After a bulk action: how many users it changed (said once, never carried on).
    #[serde(default)]
    pub done: String,
    /// What the navigation's organization filter holds.
    #[serde(default)]
    pub of: String,
}

impl DirectoryQuery {
    /// This list's URL with some parameters changed (empty ones left out).
    fn url(&self, change: &[(&str, &str)]) -> String {
        self.url_at("/agent/users", change)
    }

    /// The same for the list at `path` (the organizations take all but `view`).
    pub(super) fn url_at(&self, path: &str, change: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("q", self.q.clone()),
            ("view", self.view.clone()),
            ("sort", self.sort.clone()),
            ("order", self.order.clone()),
            ("cursor", self.cursor.clone()),
            ("selected", self.selected.clone()),
            ("of", self.of.clone()),
        ];
        for (k, v) in change {
            if let Some(p) = pairs.iter_mut().find(|(name, _)| name == k) {
                p.1 = v.to_string();
            }
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
            .finish();
        if query.is_empty() { path.into() } else { format!("{path}?{query}") }
    }
}

#[derive(Serialize)]
struct Column {
    key: &'static str,
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or `none` (aria-sort).
    sorted: &'static str,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    display_name: String,
    username: String,
    email: String,
    verified: bool,
    roles: String,
    last_login: Option<String>,
    created: String,
    href: String,
    preview_href: String,
    selected: bool,
}

#[derive(Serialize)]
struct NavItem {
    /// A catalog key for the built-in views; the role's or label's own name otherwise.
    key: Option<&'static str>,
    label: String,
    href: String,
    current: bool,
    /// The view's size once counted ("10,000+" past the cap).
    count: Option<String>,
}

/// How many labels the navigation lists.
const NAV_LABELS: i64 = 20;

/// The directory's views, roles and labels (`labels`), with their sizes when `counts` is given
/// (as [`users::view_counts`] answers them: everyone, verified, disabled, agents, roles, labels).
fn views(q: &DirectoryQuery, all_roles: &[Role], labels: &[String], counts: Option<&[i64]>) -> Vec<NavItem> {
    let shown = |n: Option<&i64>| {
        // past the cap the template says "10,000+" in the viewer's language
        n.map(|n| if *n > users::PAGE_COUNT_CAP { "capped".to_string() } else { n.to_string() })
    };
    let count = |i: usize| counts.and_then(|c| shown(c.get(i)));
    let item = |key: Option<&'static str>, label: &str, view: &str, count: Option<String>| NavItem {
        key,
        label: label.to_string(),
        href: q.url(&[("view", view), ("cursor", ""), ("selected", "")]),
        current: q.view == view,
        count,
    };
    let mut nav = vec![item(Some("view-everyone"), "", "", count(0))];
    let assigned: Vec<&Role> = all_roles.iter().filter(|r| !r.derived).collect();
    for r in all_roles.iter().filter(|r| r.derived && r.name != EVERYONE) {
        let c = if r.name == VERIFIED_USER { count(1) } else { count(0) };
        nav.push(item(None, &r.name, &format!("role:{}", r.name), c));
    }
    nav.push(item(Some("view-agents"), "", "agents", count(3)));
    for (i, r) in assigned.iter().enumerate() {
        nav.push(item(None, &r.name, &format!("role:{}", r.name), count(4 + i)));
    }
    nav.push(item(Some("view-disabled"), "", "disabled", count(2)));
    for (i, l) in labels.iter().enumerate() {
        let mut it = item(None, l, &format!("label:{l}"), count(4 + assigned.len() + i));
        it.key = Some("label");
        nav.push(it);
    }
    nav
}

/// `GET /agent/users/views`: the navigation's views with their sizes and the labels in use,
/// which the directory loads after it is shown (counting is the slow part).
async fn views_fragment(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<DirectoryQuery>,
) -> Response {
    let caller = match agent_session(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&caller.prefs));
    let loaded = async {
        let all_roles = roles::list(&state, &caller).await?;
        let labels = users::labels_in_use(&state, &caller, NAV_LABELS).await?;
        let ids: Vec<_> = all_roles.iter().filter(|r| !r.derived).map(|r| r.id).collect();
        let counts = users::view_counts(&state, &caller, &ids, &labels).await?;
        Ok::<_, crate::domain::Error>(views(&q, &all_roles, &labels, Some(&counts)))
    };
    match loaded.await {
        Ok(nav) => {
            let mut ctx = tera::Context::new();
            ctx.insert("nav", &nav);
            ctx.insert("counted", &true);
            ctx.insert("views_href", "");
            render_page(&state, Audience::Agent, &viewer, StatusCode::OK, "agent/views.html", ctx)
        }
        Err(e) => page_for_error(&state, Audience::Agent, &viewer, e),
    }
}

/// `POST /agent/pins` (`kind`, `id`, `pinned` true or false, `return_to`): pins a user or an
/// organization to the agent's navigation, or unpins it; back to where the form was.
async fn pin(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let p = match super::record::Posted::read(&state, None, request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &p.form;
    let kind = f.get("kind").unwrap_or_default();
    let pinned = f.get("pinned") == Some("true");
    let done = async {
        let id = crate::services::params::parse_id(f.get("id").unwrap_or_default())?;
        // the record must exist and be the agent's to see; its name is what the list shows
        let name = match kind {
            "user" => users::get(&state, &p.caller, UserId(id)).await?.display_name,
            "organization" => organizations::get(&state, &p.caller, OrganizationId(id)).await?.name,
            _ => return Err(crate::domain::Error::invalid("kind", "must be user or organization")),
        };
        users::pin(&state, &p.caller, kind, id, &name, pinned).await?;
        Ok::<_, crate::domain::Error>(id)
    };
    match done.await {
        Ok(id) => {
            let path = if kind == "organization" { "organizations" } else { "users" };
            let fallback = format!("/agent/{path}/{id}");
            let back = f.get("return_to").filter(|r| crate::oidc::safe_return_to(r)).unwrap_or(&fallback);
            Redirect::to(back).into_response()
        }
        Err(e) => p.fail(&state, e),
    }
}

/// How many organizations the navigation lists.
const NAV_ORGS: i64 = 10;

/// The navigation's organizations: the first ten A–Z (or matching the filter `q.of`) and the
/// one being viewed, each a view of this list; `None` for an agent who may not see them.
async fn org_nav(
    state: &AppState,
    caller: &Caller,
    q: &DirectoryQuery,
    current: Option<OrganizationId>,
    counted: bool,
) -> Option<Value> {
    let names = organizations::names(state, caller, Some(&q.of), NAV_ORGS, current).await.ok()?;
    let ids: Vec<OrganizationId> = names.iter().map(|(id, _)| *id).collect();
    // the sizes come with the list fetched after the page (as the views' do)
    let counts = if counted { organizations::member_counts(state, caller, &ids).await.ok() } else { None };
    let items: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            let view = format!("org:{}", id.0);
            json!({"name": name, "href": q.url(&[("view", &view), ("cursor", ""), ("selected", ""), ("sort", ""), ("order", "")]),
                   "current": q.view == view, "count": counts.as_ref().and_then(|c| c.get(i))})
        })
        .collect();
    let refresh = q.url_at("/agent/users/orgs-nav", &[("cursor", ""), ("selected", "")]);
    Some(json!({"items": items, "counted": counted, "refresh": refresh}))
}

/// `GET /agent/users/orgs-nav?of=`: the navigation's organizations alone, as the filter types.
async fn org_nav_fragment(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<DirectoryQuery>,
) -> Response {
    let caller = match agent_session(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&caller.prefs));
    let current = q.view.strip_prefix("org:").and_then(|id| id.parse::<i64>().ok()).map(OrganizationId);
    let mut ctx = tera::Context::new();
    ctx.insert("org_nav", &org_nav(&state, &caller, &q, current, true).await);
    ctx.insert("of", &q.of);
    ctx.insert("q", &q.q);
    ctx.insert("view", &q.view);
    ctx.insert("sort", &q.sort);
    ctx.insert("order", &q.order);
    render_page(&state, Audience::Agent, &viewer, StatusCode::OK, "agent/nav_orgs.html", ctx)
}

/// Formats a time in the viewer's zone (`2026-12-07 14:05`) and as RFC 3339 for `<time>`.
pub(super) fn local(ms: i64, zone: &str) -> (String, String) {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let utc = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (utc.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(), crate::clock::to_rfc3339(ms))
}

async fn directory(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<DirectoryQuery>,
) -> Response {
    let (caller, me) = match agent_caller(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&me.prefs));
    let params = users::ListParams {
        q: Some(q.q.clone()),
        role: q.view.strip_prefix("role:").map(str::to_string),
        label: q.view.strip_prefix("label:").map(str::to_string),
        disabled: (q.view == "disabled").then(|| "true".to_string()),
        agent: (q.view == "agents").then(|| "true".to_string()),
        sort: Some(q.sort.clone()).filter(|s| !s.is_empty()),
        order: Some(q.order.clone()).filter(|s| !s.is_empty()),
        limit: Some("50".into()),
        cursor: Some(q.cursor.clone()).filter(|s| !s.is_empty()),
    };
    let target = headers.get("hx-request").and_then(|_| headers.get("hx-target")).and_then(|v| v.to_str().ok());
    // a row chosen with htmx: the preview alone, without listing again
    if target == Some("preview-pane") {
        let preview = match q.selected.parse::<i64>() {
            Ok(id) if id > 0 => users::get(&state, &caller, UserId(id)).await.ok(),
            _ => None,
        };
        let mut ctx = tera::Context::new();
        ctx.insert("preview", &preview.as_ref().map(|u| super::users::card(u, &viewer.time_zone)));
        return render_page(&state, Audience::Agent, &viewer, StatusCode::OK, "agent/user_preview.html", ctx);
    }
    // `#123` is that user's record (a plain search: with htmx, typing `#12` on the way to
    // `#123` must not jump)
    let plain = headers.get("hx-request").is_none();
    if plain && let Some(id) = q.q.trim().strip_prefix('#').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n > 0) {
        return Redirect::to(&format!("/agent/users/{id}")).into_response();
    }
    // an organization's view: its members as its rules find them, newest first
    let org_view = q.view.strip_prefix("org:").map(|id| id.parse::<i64>().map(OrganizationId));
    let page = match org_view {
        Some(Ok(org)) => {
            let cursor = Some(q.cursor.as_str()).filter(|c| !c.is_empty());
            organizations::tab(&state, &caller, org, Tab::Users, Some("50"), cursor).await.map(|p| Page {
                items: p
                    .items
                    .into_iter()
                    .filter_map(|i| match i.record {
                        TabRecord::User(u) => Some(*u),
                        TabRecord::Record(_) => None,
                    })
                    .collect(),
                total: p.total,
                next_cursor: p.next_cursor,
            })
        }
        Some(Err(_)) => Err(crate::domain::Error::invalid("view", "is not a view of this list")),
        None => users::list_for_page(&state, &caller, &params).await,
    };
    let page = match page {
        Ok(p) => p,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    // an exact address or phone number of one user is that user's record
    let exact = q.q.trim().to_lowercase();
    if plain && q.cursor.is_empty() && page.items.len() == 1 && !exact.is_empty() {
        let u = &page.items[0];
        let digits: String = exact.chars().filter(char::is_ascii_digit).collect();
        let is_address = u.emails.iter().any(|e| e.email == exact);
        let is_phone =
            digits.len() >= 6 && u.phones.iter().any(|p| p.number.trim_start_matches('+').ends_with(&digits));
        if is_address || is_phone {
            return Redirect::to(&format!("/agent/users/{}", u.id.0)).into_response();
        }
    }
    // htmx's search as you type replaces only the results: no navigation to build for it
    let fragment = target == Some("list-results");
    let all_roles = if fragment { Vec::new() } else { roles::list(&state, &caller).await.unwrap_or_default() };
    let nav = views(&q, &all_roles, &[], None);
    let current_org = match org_view {
        Some(Ok(org)) => Some(org),
        _ => None,
    };
    let org_nav = if fragment { None } else { org_nav(&state, &caller, &q, current_org, false).await };
    let sort = if q.sort.is_empty() { "display_name" } else { q.sort.as_str() };
    let descending = q.order == "desc";
    let columns: Vec<Column> = [
        ("display_name", "Name"),
        ("username", "Username"),
        ("email", "Email"),
        ("verified", "Verified"),
        ("last_login", "Last login"),
        ("created", "Created"),
    ]
    .into_iter()
    .map(|(key, label)| {
        let is = sort == key && org_view.is_none();
        let next = if is && !descending { "desc" } else { "asc" };
        Column {
            key,
            label,
            // an organization's members come newest first: no sorting there
            href: if org_view.is_some() {
                String::new()
            } else {
                q.url(&[("sort", key), ("order", next), ("cursor", "")])
            },
            sorted: if !is {
                "none"
            } else if descending {
                "descending"
            } else {
                "ascending"
            },
        }
    })
    .collect();
    let rows: Vec<Row> = page
        .items
        .iter()
        .map(|u| {
            let primary = u.primary_email();
            Row {
                id: u.id.0,
                display_name: u.display_name.clone(),
                username: u.username.clone(),
                email: primary.map(|e| e.email.clone()).unwrap_or_default(),
                verified: primary.is_some_and(|e| e.verified),
                roles: u.roles.join(", "),
                // dates only in the list; the preview has the times
                last_login: u.last_login_at.map(|t| local(t.0, &viewer.time_zone).0[..10].to_string()),
                created: local(u.created_at.0, &viewer.time_zone).0[..10].to_string(),
                href: format!("/agent/users/{}", u.id.0),
                preview_href: q.url(&[("selected", &u.id.0.to_string())]),
                selected: q.selected == u.id.0.to_string(),
            }
        })
        .collect();
    let preview = match q.selected.parse::<i64>() {
        Ok(id) if id > 0 => users::get(&state, &caller, UserId(id)).await.ok(),
        _ => None,
    };
    let mut ctx = tera::Context::new();
    ctx.insert("me", &me.display_name);
    ctx.insert("may_create", &caller.has(Permission::UsersEdit));
    // the bulk actions this agent may take
    let mut bulk_actions: Vec<&str> = Vec::new();
    if caller.has(Permission::UsersEdit) {
        bulk_actions.extend(["add_label", "remove_label", "add_role", "remove_role", "disable", "enable"]);
    }
    if caller.has(Permission::UsersDelete) {
        bulk_actions.push("delete");
    }
    ctx.insert("may_bulk", &!bulk_actions.is_empty());
    ctx.insert("bulk_actions", &bulk_actions);
    ctx.insert("done", &q.done.parse::<u32>().ok());
    ctx.insert("q", &q.q);
    ctx.insert("view", &q.view);
    ctx.insert("sort", &q.sort);
    ctx.insert("order", &q.order);
    ctx.insert("nav", &nav);
    ctx.insert("org_nav", &org_nav);
    ctx.insert("records_nav", &super::records_nav(&caller));
    ctx.insert("of", &q.of);
    ctx.insert("org_view", &org_view.is_some());
    ctx.insert("counted", &false);
    ctx.insert("views_href", &q.url_at("/agent/users/views", &[("cursor", ""), ("selected", "")]));
    ctx.insert("columns", &columns);
    ctx.insert("rows", &rows);
    ctx.insert("total", &page.total);
    ctx.insert("more_href", &page.next_cursor.as_ref().map(|c| q.url(&[("cursor", c)])));
    ctx.insert("first_href", &(!q.cursor.is_empty()).then(|| q.url(&[("cursor", "")])));
    ctx.insert("preview", &preview.as_ref().map(|u| super::users::card(u, &viewer.time_zone)));
    // the results alone for htmx's search as you type (the same template the page includes)
    ctx.insert("fragment", &fragment);
    let template = if fragment { "agent/users_results.html" } else { "agent/users.html" };
    let csrf = super::forms::csrf_of(&state, &headers);
    ctx.insert("csrf", &csrf.0);
    ctx.insert("return_to", &q.url(&[]));
    super::users::agent_page(&state, &viewer, StatusCode::OK, template, ctx, csrf)
}
