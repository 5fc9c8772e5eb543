//! Organizations in the agent UI: the directory `/agent/organizations` (search, sort, keyset
//! paging, a preview of `?selected=`), `/agent/organizations/new`, and a record
//! `/agent/organizations/{id}/{tab}` with the SPEC's tabs — details (edited in place), members
//! (the membership rules, with a preview of what a rule would pull in before it is saved, and
//! the public-domain confirmation as a second step), comments, the users, tickets, chats, calls
//! and surveys the rules pull in (each row naming the rules that matched it), the change log,
//! and the tabs plugins supply (a failing plugin shows its error in its own tab only).

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Me;
use super::agent::{DirectoryQuery, agent_caller, local};
use super::forms::csrf_of;
use super::record::{Field, Group, Outcome, Pairs, Posted};
use super::users::agent_page;
use super::{Audience, Viewer, page_for_error};
use crate::domain::custom_field::Entity;
use crate::domain::organization::{Organization, OrganizationId, OrganizationInput, RuleId, RuleInput, Tab, TabRecord};
use crate::domain::role::Permission;
use crate::domain::{Error, FieldErrors};
use crate::http::AppState;
use crate::services::{Caller, custom_fields, organizations, plugins};

/// The built-in tabs of an organization, in order (SPEC 11); plugin tabs follow as
/// `tabs/<id>`. Notes and billing arrive with the API that holds them.
pub const TABS: [&str; 9] =
    ["details", "members", "comments", "users", "tickets", "chats", "calls", "surveys", "changes"];

/// Embedded lists show at most this many (the rest is one click away).
const EMBEDDED: &str = "10";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent/organizations", get(directory).post(create))
        .route("/agent/organizations/new", get(new_form))
        .route("/agent/organizations/{id}", get(record_default))
        .route("/agent/organizations/{id}/{tab}", get(record_tab))
        .route("/agent/organizations/{id}/tabs/{plugin_tab}", get(record_plugin_tab))
        .route("/agent/organizations/{id}/edit/{group}", post(save_group))
        .route("/agent/organizations/{id}/members", get(members_tab).post(members))
        .route("/agent/organizations/{id}/comments", get(comments_tab).post(comment))
        .route("/agent/organizations/{id}/delete", post(delete))
}

// ---- the directory ----

/// The organizations' list URL with some parameters changed.
fn list_url(q: &DirectoryQuery, change: &[(&str, &str)]) -> String {
    q.url_at("/agent/organizations", change)
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
    let params = organizations::ListParams {
        q: Some(q.q.clone()),
        sort: Some(q.sort.clone()).filter(|s| !s.is_empty()),
        order: Some(q.order.clone()).filter(|s| !s.is_empty()),
        limit: Some("50".into()),
        cursor: Some(q.cursor.clone()).filter(|s| !s.is_empty()),
    };
    let target = headers.get("hx-request").and_then(|_| headers.get("hx-target")).and_then(|v| v.to_str().ok());
    // a row chosen with htmx: the preview alone, without listing again
    if target == Some("preview-pane") {
        let preview = match q.selected.parse::<i64>() {
            Ok(id) if id > 0 => organizations::get(&state, &caller, OrganizationId(id)).await.ok(),
            _ => None,
        };
        let mut ctx = tera::Context::new();
        ctx.insert("org", &preview.as_ref().map(|o| card(o, &viewer.time_zone)));
        return super::render_page(&state, Audience::Agent, &viewer, StatusCode::OK, "agent/org_preview.html", ctx);
    }
    let page = match organizations::list(&state, &caller, &params).await {
        Ok(p) => p,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let sort = if q.sort.is_empty() { "name" } else { q.sort.as_str() };
    let descending = q.order == "desc";
    let columns: Vec<Value> = ["name", "website", "phone"]
        .into_iter()
        .map(|key| {
            let is = sort == key;
            let next = if is && !descending { "desc" } else { "asc" };
            let sorted = match (is, descending) {
                (false, _) => "none",
                (true, true) => "descending",
                (true, false) => "ascending",
            };
            json!({"key": key, "href": list_url(&q, &[("sort", key), ("order", next), ("cursor", "")]), "sorted": sorted})
        })
        .collect();
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|o| {
            json!({"id": o.id.0, "name": o.name, "website": o.website, "phone": o.phone, "labels": o.labels,
                "href": format!("/agent/organizations/{}", o.id.0),
                "preview_href": list_url(&q, &[("selected", &o.id.0.to_string())]),
                "selected": q.selected == o.id.0.to_string()})
        })
        .collect();
    let preview = match q.selected.parse::<i64>() {
        Ok(id) if id > 0 => organizations::get(&state, &caller, OrganizationId(id)).await.ok(),
        _ => None,
    };
    let mut ctx = tera::Context::new();
    ctx.insert("me", &me.display_name);
    ctx.insert("q", &q.q);
    ctx.insert("sort", &q.sort);
    ctx.insert("order", &q.order);
    ctx.insert("columns", &columns);
    ctx.insert("rows", &rows);
    ctx.insert("total", &page.total);
    ctx.insert("more_href", &page.next_cursor.as_ref().map(|c| list_url(&q, &[("cursor", c)])));
    ctx.insert("first_href", &(!q.cursor.is_empty()).then(|| list_url(&q, &[("cursor", "")])));
    ctx.insert("org", &preview.as_ref().map(|o| card(o, &viewer.time_zone)));
    ctx.insert("may_create", &caller.has(Permission::OrganizationsEdit));
    ctx.insert("records_nav", &super::records_nav(&caller));
    let fragment = headers.get("hx-request").is_some()
        && headers.get("hx-target").and_then(|v| v.to_str().ok()) == Some("list-results");
    ctx.insert("fragment", &fragment);
    let template = if fragment { "agent/orgs_results.html" } else { "agent/orgs.html" };
    let csrf = csrf_of(&state, &headers);
    ctx.insert("csrf", &csrf.0);
    ctx.insert("return_to", &list_url(&q, &[]));
    agent_page(&state, &viewer, StatusCode::OK, template, ctx, csrf)
}

/// What the header and the preview show of an organization.
fn card(o: &Organization, zone: &str) -> Value {
    let (created, created_iso) = local(o.created_at.0, zone);
    let place: Vec<&str> = [o.city.as_str(), o.country.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
    json!({
        "id": o.id.0,
        "name": o.name,
        "initials": o.name.chars().find(|c| c.is_alphanumeric()).map(|c| c.to_uppercase().to_string()).unwrap_or_else(|| "?".into()),
        "website": o.website,
        "phone": o.phone,
        "employees": o.employees,
        "place": place.join(", "),
        "labels": o.labels,
        "summary": o.summary,
        "comment_count": o.comment_count,
        "created": created,
        "created_iso": created_iso,
        "href": format!("/agent/organizations/{}", o.id.0),
        "version": o.version,
    })
}

// ---- creating ----

async fn new_form(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let (caller, me) = match agent_caller(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&me.prefs));
    if !caller.has(Permission::OrganizationsEdit) {
        return page_for_error(&state, Audience::Agent, &viewer, Error::Forbidden("organizations_edit".into()));
    }
    new_page(&state, &headers, &me, &viewer, StatusCode::OK, &Pairs(Vec::new()), &FieldErrors::new())
}

fn new_page(
    state: &AppState,
    headers: &HeaderMap,
    me: &Me,
    viewer: &Viewer,
    status: StatusCode,
    form: &Pairs,
    errors: &FieldErrors,
) -> Response {
    let mut g = Group::new(
        "new",
        "details",
        create_fields(form),
        true,
        0,
        "/agent/organizations/new",
        "/agent/organizations".into(),
    );
    g.editing = true;
    g.view_href = "/agent/organizations".into();
    if !errors.is_empty() {
        let message = super::theme_for(state, Audience::Agent).catalogs.text(&viewer.lang, "form-errors");
        g.fail(form, errors, false, 0, &message);
    }
    let csrf = csrf_of(state, headers);
    let mut ctx = tera::Context::new();
    ctx.insert("me", &me.display_name);
    ctx.insert("csrf", &csrf.0);
    ctx.insert("return_to", "/agent/organizations");
    ctx.insert("g", &g);
    ctx.insert("title_key", "org-new");
    agent_page(state, viewer, status, "agent/new.html", ctx, csrf)
}

fn create_fields(form: &Pairs) -> Vec<Field> {
    let v = |n: &str| form.get(n).unwrap_or_default().to_string();
    vec![
        Field::text("name", &v("name")).auto("organization"),
        Field::text("website", &v("website")).kind("url").auto("url"),
        Field::text("phone", &v("phone")).auto("tel"),
    ]
}

/// `POST /agent/organizations`: creates one, then its record.
async fn create(State(state): State<AppState>, request: Request) -> Response {
    let p = match Posted::read(&state, None, request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let input = OrganizationInput {
        name: p.form.get("name").map(str::to_string),
        website: p.form.text("website"),
        phone: p.form.text("phone"),
        ..Default::default()
    };
    match organizations::create(&state, &p.caller, input).await {
        Ok(o) => Redirect::to(&format!("/agent/organizations/{}/members", o.id.0)).into_response(),
        Err(Error::Invalid(f)) => {
            new_page(&state, &p.headers, &p.me, &p.viewer, StatusCode::UNPROCESSABLE_ENTITY, &p.form, &f)
        }
        Err(Error::Conflict { field, message }) => {
            let f = FieldErrors::from([(field, message)]);
            new_page(&state, &p.headers, &p.me, &p.viewer, StatusCode::UNPROCESSABLE_ENTITY, &p.form, &f)
        }
        Err(e) => p.fail(&state, e),
    }
}

// ---- the record ----

#[derive(Debug, Default, Deserialize)]
pub struct RecordQuery {
    #[serde(default)]
    pub edit: String,
    #[serde(default)]
    pub saved: String,
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub page: String,
}

struct Record {
    org: Organization,
    /// A built-in tab, or `tabs/<plugin tab>`.
    tab: String,
    may_edit: bool,
    may_delete: bool,
}

impl Record {
    async fn load(state: &AppState, caller: &Caller, id: OrganizationId, tab: String) -> crate::domain::Result<Record> {
        Ok(Record::of(caller, organizations::get(state, caller, id).await?, tab))
    }

    fn of(caller: &Caller, org: Organization, tab: String) -> Record {
        Record {
            org,
            tab,
            may_edit: caller.has(Permission::OrganizationsEdit),
            may_delete: caller.has(Permission::OrganizationsDelete),
        }
    }
    fn base(&self) -> String {
        format!("/agent/organizations/{}", self.org.id.0)
    }
}

async fn record_default(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
) -> Response {
    show(state, headers, uri, id, "details".into(), q).await
}

async fn record_tab(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, tab)): Path<(String, String)>,
    Query(q): Query<RecordQuery>,
) -> Response {
    show(state, headers, uri, id, tab, q).await
}

async fn members_tab(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
) -> Response {
    show(state, headers, uri, id, "members".into(), q).await
}

async fn comments_tab(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
) -> Response {
    show(state, headers, uri, id, "comments".into(), q).await
}

async fn record_plugin_tab(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, tab)): Path<(String, String)>,
    Query(q): Query<RecordQuery>,
) -> Response {
    show(state, headers, uri, id, format!("tabs/{tab}"), q).await
}

async fn show(state: AppState, headers: HeaderMap, uri: Uri, id: String, tab: String, q: RecordQuery) -> Response {
    let (caller, me) = match agent_caller(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&me.prefs));
    if !TABS.contains(&tab.as_str()) && !tab.starts_with("tabs/") {
        return page_for_error(&state, Audience::Agent, &viewer, Error::NotFound);
    }
    let id = match crate::services::params::parse_id(&id) {
        Ok(id) => OrganizationId(id),
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let rec = match Record::load(&state, &caller, id, tab).await {
        Ok(r) => r,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    if headers.get("hx-request").is_none() {
        // the whole page: the organization leads the agent's recently viewed
        if let Err(e) = crate::services::users::opened(&state, &caller, "organization", id.0, &rec.org.name).await {
            tracing::warn!(error = %e, "could not note a recently viewed organization");
        }
    }
    let mut groups = groups_for(&state, &caller, &rec).await;
    for g in &mut groups {
        g.editing = rec.may_edit && q.edit == g.name;
        g.saved = q.saved == g.name;
    }
    let page = Page { caller: &caller, me: &me, headers: &headers, viewer: &viewer };
    respond(&state, page, rec, groups, &q, StatusCode::OK, None).await
}

/// Who asked for a page and how it speaks to them.
struct Page<'a> {
    caller: &'a Caller,
    me: &'a Me,
    headers: &'a HeaderMap,
    viewer: &'a Viewer,
}

/// Renders the record: the whole page, or for htmx the tabs, one group, the members list or
/// a rule's preview.
async fn respond(
    state: &AppState,
    p: Page<'_>,
    rec: Record,
    groups: Vec<Group>,
    q: &RecordQuery,
    status: StatusCode,
    extra: Option<(&str, Value)>,
) -> Response {
    let target = p
        .headers
        .get("hx-request")
        .and_then(|_| p.headers.get("hx-target"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let base = rec.base();
    let csrf = csrf_of(state, p.headers);
    let mut ctx = tera::Context::new();
    ctx.insert("me", &p.me.display_name);
    ctx.insert("csrf", &csrf.0);
    ctx.insert("return_to", &base);
    ctx.insert("org", &card(&rec.org, &p.viewer.time_zone));
    ctx.insert("tab", &rec.tab.replace('/', "-"));
    ctx.insert("base", &base);
    ctx.insert("may_edit", &rec.may_edit);
    ctx.insert("may_delete", &rec.may_delete);
    ctx.insert("may_comment", &p.caller.has(Permission::Comment));
    ctx.insert("pinned_record", &super::is_pinned(p.caller, "organization", rec.org.id.0));
    ctx.insert("version", &rec.org.version);
    ctx.insert("full_page", &true);
    ctx.insert("record_kind", "organization");
    ctx.insert("saved", &q.saved);
    let plugin_tabs = plugins::org_tabs(state, p.caller).await.unwrap_or_default();
    let mut tab_list: Vec<Value> = TABS
        .iter()
        .map(|t| {
            let href = if *t == "details" { base.clone() } else { format!("{base}/{t}") };
            let count = (*t == "comments" && rec.org.comment_count > 0).then_some(rec.org.comment_count);
            json!({"id": t, "href": href, "key": format!("tab-{t}"), "count": count})
        })
        .collect();
    for (id, title) in &plugin_tabs {
        tab_list.push(json!({"id": format!("tabs-{id}"), "href": format!("{base}/tabs/{id}"), "label": title}));
    }
    if rec.tab.starts_with("tabs/") && !plugin_tabs.iter().any(|(id, _)| rec.tab == format!("tabs/{id}")) {
        return page_for_error(state, Audience::Agent, p.viewer, Error::NotFound);
    }
    ctx.insert("tab_list", &tab_list);
    ctx.insert("groups", &groups.iter().filter(|g| g.tab == rec.tab).collect::<Vec<_>>());
    if let Some((k, v)) = &extra {
        ctx.insert(*k, v);
    }
    if let Err(e) = tab_data(state, p.caller, &rec, q, p.viewer, &mut ctx).await {
        return page_for_error(state, Audience::Agent, p.viewer, e);
    }
    let template = if target == "record-tabs" {
        "agent/record_tabs.html"
    } else if let Some(name) = target.strip_prefix("group-") {
        match groups.iter().find(|g| g.name == name) {
            Some(g) => {
                ctx.insert("g", g);
                "agent/group_fragment.html"
            }
            None => "agent/org.html",
        }
    } else if target == "members" || target == "rule-preview" || target == "comments" {
        ctx.insert("announce", &true);
        "agent/org_panel.html"
    } else {
        "agent/org.html"
    };
    agent_page(state, p.viewer, status, template, ctx, csrf)
}

async fn groups_for(state: &AppState, caller: &Caller, rec: &Record) -> Vec<Group> {
    let o = &rec.org;
    let base = rec.base();
    let group = |name: &'static str, fields: Vec<Field>| {
        Group::new(name, "details", fields, rec.may_edit, o.version, &base, format!("{base}/edit/{name}"))
    };
    let mut out = vec![
        group(
            "org",
            vec![
                Field::text("name", &o.name).auto("organization"),
                Field::text("website", &o.website).kind("url").auto("url"),
                Field::text("phone", &o.phone).auto("tel"),
                Field::text("employees", &o.employees).hint("hint-employees"),
                Field::text("summary", &o.summary).kind("textarea"),
            ],
        ),
        group(
            "address",
            vec![
                Field::text("address1", &o.address1).auto("address-line1"),
                Field::text("address2", &o.address2).auto("address-line2"),
                Field::text("city", &o.city).auto("address-level2"),
                Field::text("state", &o.state).auto("address-level1"),
                Field::text("zip", &o.zip).auto("postal-code"),
                Field::text("country", &o.country).auto("country-name"),
            ],
        ),
        group("labels", vec![Field::text("labels", &o.labels.join(", ")).hint("hint-labels")]),
    ];
    let mut custom = Vec::new();
    if rec.tab == "details" {
        let shown = custom_fields::display(state, Entity::Organization, &o.custom_fields).await.unwrap_or_default();
        let defs = custom_fields::list(state, caller, Some("organization")).await.unwrap_or_default();
        for d in defs {
            let as_text = |v: &Value| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let raw = o.custom_fields.get(&d.key).cloned().unwrap_or(Value::Null);
            let mut f = Field::text(&format!("custom.{}", d.key), &as_text(&raw));
            f.label = d.label.clone();
            f.label_is_key = false;
            f.empty = as_text(&raw).is_empty();
            if let Some(v) = shown.get(&d.key) {
                f.value = as_text(v);
            }
            custom.push(f);
        }
    }
    let mut g = group("custom", custom);
    g.empty_count = g.fields.iter().filter(|f| f.empty).count();
    out.push(g);
    out
}

/// Loads what the chosen tab shows (only that one).
async fn tab_data(
    state: &AppState,
    caller: &Caller,
    rec: &Record,
    q: &RecordQuery,
    viewer: &Viewer,
    ctx: &mut tera::Context,
) -> crate::domain::Result<()> {
    let id = rec.org.id;
    let base = rec.base();
    let zone = &viewer.time_zone;
    let when = |ms: i64| {
        let (text, iso) = local(ms, zone);
        json!({"text": text, "iso": iso})
    };
    let cursor = Some(q.cursor.as_str()).filter(|c| !c.is_empty());
    let list_tab = match rec.tab.as_str() {
        "users" => Some(Tab::Users),
        "tickets" => Some(Tab::Tickets),
        "chats" => Some(Tab::Chats),
        "calls" => Some(Tab::Calls),
        "surveys" => Some(Tab::Surveys),
        _ => None,
    };
    // the details tab shows the first members; the list tabs a page of 25
    let (list_tab, limit) = match (rec.tab.as_str(), list_tab) {
        ("details", _) if caller.has(Permission::UsersView) => (Some(Tab::Users), EMBEDDED),
        (_, t) => (t, "25"),
    };
    if let Some(t) = list_tab {
        let page = organizations::tab(state, caller, id, t, Some(limit), cursor).await?;
        let rows: Vec<Value> = page
            .items
            .iter()
            .map(|item| {
                let mut row = match &item.record {
                    TabRecord::User(u) => json!({"id": u.id.0, "name": u.display_name,
                        "email": u.primary_email().map(|e| e.email.clone()),
                        "href": format!("/agent/users/{}", u.id.0)}),
                    TabRecord::Record(r) => super::users::record_row(r, &when),
                };
                row["matched_by"] = json!(item.matched_by);
                row
            })
            .collect();
        ctx.insert("rows", &rows);
        ctx.insert("total", &page.total);
        ctx.insert("list_kind", &if rec.tab == "details" { "users" } else { rec.tab.as_str() });
        let more = if rec.tab == "details" {
            (page.total > rows.len() as i64).then(|| format!("{base}/users"))
        } else {
            page.next_cursor.as_ref().map(|c| format!("{base}/{}?cursor={c}", rec.tab))
        };
        ctx.insert("more_href", &more);
    }
    match rec.tab.as_str() {
        "members" => {
            let rules = organizations::rules(state, caller, id).await?;
            ctx.insert("rules", &rules);
        }
        "comments" => {
            let page = organizations::comments(state, caller, id, Some("50"), cursor).await?;
            let rows: Vec<Value> = page
                .items
                .iter()
                .map(|c| json!({"id": c.id, "author": c.author.name, "body": c.body, "at": when(c.created_at.0)}))
                .collect();
            ctx.insert("comments", &rows);
            ctx.insert("more_href", &page.next_cursor.as_ref().map(|c| format!("{base}/comments?cursor={c}")));
        }
        "changes" => {
            let page = organizations::changes(state, caller, id, Some("50"), cursor).await?;
            ctx.insert("changes", &super::users::change_rows(&page.items, &when));
            ctx.insert("more_href", &page.next_cursor.as_ref().map(|c| format!("{base}/changes?cursor={c}")));
        }
        t if t.starts_with("tabs/") => {
            let plugin_tab = &t["tabs/".len()..];
            let page = Some(q.page.as_str()).filter(|p| !p.is_empty());
            let content = plugins::org_tab(state, caller, id, plugin_tab, page, None).await?;
            ctx.insert("plugin", &content);
        }
        _ => {}
    }
    Ok(())
}

/// Who asked for a page answering a post.
fn page_of(p: &Posted) -> Page<'_> {
    Page { caller: &p.caller, me: &p.me, headers: &p.headers, viewer: &p.viewer }
}

/// `POST /agent/organizations/{id}/edit/{group}`.
async fn save_group(
    State(state): State<AppState>,
    Path((id, group)): Path<(String, String)>,
    request: Request,
) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(group) = ["org", "address", "labels", "custom"].into_iter().find(|g| *g == group) else {
        return p.fail(&state, Error::NotFound);
    };
    let f = &p.form;
    let mut input = OrganizationInput { version: f.version(), ..Default::default() };
    match group {
        "org" => {
            input.name = f.get("name").map(str::to_string);
            input.website = f.text("website");
            input.phone = f.text("phone");
            input.employees = f.text("employees");
            input.summary = f.text("summary");
        }
        "address" => {
            input.address1 = f.text("address1");
            input.address2 = f.text("address2");
            input.city = f.text("city");
            input.state = f.text("state");
            input.zip = f.text("zip");
            input.country = f.text("country");
        }
        "labels" => {
            let raw = f.get("labels").unwrap_or_default();
            input.labels = Some(raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect());
        }
        _ => match super::users::custom_values(&state, &p.caller, "organization", f).await {
            Ok(map) => input.custom_fields = Some(map),
            Err(e) => return p.fail(&state, e),
        },
    }
    let result = organizations::update(&state, &p.caller, OrganizationId(p.id), input).await;
    if result.is_ok() && !p.htmx() {
        let to = format!("/agent/organizations/{}?saved={group}#group-{group}", p.id);
        return Redirect::to(&to).into_response();
    }
    let Outcome { status, errors, stale, saved } = match Outcome::of(result) {
        Ok(o) => o,
        Err(e) => return p.fail(&state, e),
    };
    // a save answers the organization as saved; a refusal reads it again (the current version)
    let rec = match saved {
        Some(org) => Record::of(&p.caller, org, "details".into()),
        None => match Record::load(&state, &p.caller, OrganizationId(p.id), "details".into()).await {
            Ok(r) => r,
            Err(e) => return p.fail(&state, e),
        },
    };
    let mut groups = groups_for(&state, &p.caller, &rec).await;
    let catalogs = &super::theme_for(&state, Audience::Agent).catalogs;
    let version = rec.org.version;
    if let Some(g) = groups.iter_mut().find(|g| g.name == group) {
        if status == StatusCode::OK {
            g.saved = true;
        } else {
            let key = if stale { "conflict-text-org" } else { "form-errors" };
            g.fail(&p.form, &errors, stale, version, &catalogs.text(&p.viewer.lang, key));
        }
    }
    respond(&state, page_of(&p), rec, groups, &RecordQuery::default(), status, None).await
}

/// `POST /agent/organizations/{id}/members`: `action` = `preview` (counts, nothing saved),
/// `add` (with `kind`, `value`, `include_subdomains`, `view_org_tickets`,
/// `confirm_public_domain`), `update` (a rule's `include_subdomains` and `view_org_tickets`,
/// with `rule_id`) or `remove` (with `rule_id`).
async fn members(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &p.form;
    let rule = RuleInput {
        kind: f.get("kind").map(str::to_string),
        value: f.get("value").map(str::to_string),
        include_subdomains: Some(f.get("include_subdomains").is_some()),
        view_org_tickets: Some(f.get("view_org_tickets").is_some()),
        confirm_public_domain: f.get("confirm_public_domain").is_some(),
    };
    let typed = json!({"kind": f.get("kind").unwrap_or("domain"), "value": f.get("value").unwrap_or_default(),
        "include_subdomains": f.get("include_subdomains").is_some(), "view_org_tickets": f.get("view_org_tickets").is_some()});
    let action = f.get("action").unwrap_or_default();
    let (status, extra) = match action {
        "preview" => match organizations::preview_rule(&state, &p.caller, OrganizationId(p.id), rule).await {
            Ok(counts) => (StatusCode::OK, json!({"typed": typed, "preview": counts})),
            Err(Error::Invalid(e)) => (StatusCode::UNPROCESSABLE_ENTITY, json!({"typed": typed, "errors": e})),
            Err(e) => return p.fail(&state, e),
        },
        "add" => match organizations::add_rule(&state, &p.caller, OrganizationId(p.id), rule).await {
            Ok(_) if !p.htmx() => {
                return Redirect::to(&format!("/agent/organizations/{}/members?saved=members", p.id)).into_response();
            }
            Ok(_) => (StatusCode::OK, json!({"saved": true})),
            Err(Error::Invalid(e)) => {
                // a public mail domain is a second step: the same form asks to confirm
                let confirm = e.get("value").is_some_and(|why| why.contains("confirm_public_domain"));
                (StatusCode::UNPROCESSABLE_ENTITY, json!({"typed": typed, "errors": e, "confirm": confirm}))
            }
            Err(Error::Conflict { field, message }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!({"typed": typed, "errors": {field: message}}))
            }
            Err(e) => return p.fail(&state, e),
        },
        "remove" => {
            let Some(rule_id) = f.get("rule_id").and_then(|r| r.parse::<i64>().ok()) else {
                return p.fail(&state, Error::invalid("rule_id", "is required"));
            };
            match organizations::delete_rule(&state, &p.caller, OrganizationId(p.id), RuleId(rule_id)).await {
                Ok(()) if !p.htmx() => {
                    let to = format!("/agent/organizations/{}/members?saved=members", p.id);
                    return Redirect::to(&to).into_response();
                }
                Ok(()) => (StatusCode::OK, json!({"saved": true})),
                Err(e) => return p.fail(&state, e),
            }
        }
        "update" => {
            let Some(rule_id) = f.get("rule_id").and_then(|r| r.parse::<i64>().ok()) else {
                return p.fail(&state, Error::invalid("rule_id", "is required"));
            };
            // the options only: a rule's kind and value are what it is (remove it and add another)
            let options = RuleInput { kind: None, value: None, ..rule };
            match organizations::update_rule(&state, &p.caller, OrganizationId(p.id), RuleId(rule_id), options).await {
                Ok(_) if !p.htmx() => {
                    let to = format!("/agent/organizations/{}/members?saved=members", p.id);
                    return Redirect::to(&to).into_response();
                }
                Ok(_) => (StatusCode::OK, json!({"saved": true})),
                Err(e) => return p.fail(&state, e),
            }
        }
        _ => return p.fail(&state, Error::invalid("action", "must be preview, add, update or remove")),
    };
    let rec = match Record::load(&state, &p.caller, OrganizationId(p.id), "members".into()).await {
        Ok(r) => r,
        Err(e) => return p.fail(&state, e),
    };
    let saved = extra.get("saved").is_some();
    let q = RecordQuery { saved: if saved { "members".into() } else { String::new() }, ..Default::default() };
    respond(&state, page_of(&p), rec, Vec::new(), &q, status, Some(("rule_form", extra))).await
}

/// `POST /agent/organizations/{id}/comments`: an agent-only comment.
async fn comment(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body = p.form.get("body").unwrap_or_default().to_string();
    let (status, extra) = match organizations::add_comment(&state, &p.caller, OrganizationId(p.id), &body).await {
        Ok(_) if !p.htmx() => {
            return Redirect::to(&format!("/agent/organizations/{}/comments?saved=comments", p.id)).into_response();
        }
        Ok(_) => (StatusCode::OK, json!({"saved": true})),
        Err(Error::Invalid(e)) => (StatusCode::UNPROCESSABLE_ENTITY, json!({"body": body, "errors": e})),
        Err(e) => return p.fail(&state, e),
    };
    let rec = match Record::load(&state, &p.caller, OrganizationId(p.id), "comments".into()).await {
        Ok(r) => r,
        Err(e) => return p.fail(&state, e),
    };
    let saved = status == StatusCode::OK;
    let q = RecordQuery { saved: if saved { "comments".into() } else { String::new() }, ..Default::default() };
    respond(&state, page_of(&p), rec, Vec::new(), &q, status, Some(("comment_form", extra))).await
}

/// `POST /agent/organizations/{id}/delete`.
async fn delete(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match organizations::delete(&state, &p.caller, OrganizationId(p.id)).await {
        Ok(()) => Redirect::to("/agent/organizations").into_response(),
        Err(e) => p.fail(&state, e),
    }
}
