//! A user's record in the agent UI: `/agent/users/{id}` and `/agent/users/{id}/{tab}`, the
//! same record in the directory's preview, and its editing.
//!
//! The record is a header and the SPEC's tabs (WAI-ARIA tabs, manual activation). Only the
//! chosen tab is loaded; with htmx a tab switch fetches the tab list and panel alone
//! (`HX-Target: record-tabs`) and replaces the URL. Editing is per field group (click to edit):
//! `?edit=<group>` is the edit state as a URL, the form posts to `/agent/users/{id}/edit/<group>`
//! with the record's `version`, and the answer is the group again (htmx) or a redirect back
//! (plain form). A save over a newer version answers 409 with "Keep mine / Take theirs"; a
//! refused value answers 422 with the message by its field. Addresses and phones are edited one
//! change per request. Every rule is the services'.

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Me;
use super::agent::{agent_session, local};
use super::forms::csrf_of;
use super::record::{Field, Group, Outcome, Pairs, Posted};
use super::{Audience, Viewer, add_cookie, csrf_cookie_name, page_for_error, render_page, set_cookie};
use crate::domain::custom_field::Entity;
use crate::domain::organization::{Tab, TabRecord};
use crate::domain::records::{AnyRecord, TicketState};
use crate::domain::role::{DERIVED_ROLES, Permission};
use crate::domain::user::{EmailInput, PhoneInput, PhoneKind, User, UserInput};
use crate::domain::{Error, FieldErrors, UserId};
use crate::http::AppState;
use crate::services::{Caller, custom_fields, roles, users};

/// The tabs of a user's record, in order (SPEC 11). Notes, billing and the activity stream
/// arrive with the API that holds them.
pub const TABS: [&str; 14] = [
    "details",
    "contact",
    "portal",
    "roles",
    "custom-fields",
    "comments",
    "tickets",
    "chats",
    "calls",
    "surveys",
    "organizations",
    "stats",
    "history",
    "changes",
];

/// How many organization chips a user's header shows.
const HEADER_ORGS: i64 = 6;

/// The field groups edited as one, and the tab each is on.
const GROUPS: [(&str, &str); 6] = [
    ("identity", "details"),
    ("labels", "details"),
    ("contact", "contact"),
    ("portal", "portal"),
    ("roles", "roles"),
    ("custom", "custom-fields"),
];

pub fn router(max_upload: usize) -> Router<AppState> {
    // the avatar form: the image plus a few fields of multipart framing
    let upload_limit = axum::extract::DefaultBodyLimit::max(max_upload + 16 * 1024);
    Router::new()
        .route("/agent/users/new", get(new_form))
        .route("/agent/users/{id}/avatar", post(avatar.layer(upload_limit)))
        .route("/agent/users/{id}/avatar/remove", post(avatar_remove))
        .route("/agent/users/{id}", get(record_default))
        .route("/agent/users/{id}/{tab}", get(record_tab))
        .route("/agent/users/{id}/edit/{group}", post(save_group))
        .route("/agent/users/{id}/emails", post(edit_emails))
        .route("/agent/users/{id}/phones", post(edit_phones))
        .route("/agent/users/{id}/state", post(set_state))
        .route("/agent/users/{id}/delete", post(delete))
        .route("/agent/users/{id}/password", post(password))
        .route("/agent/users/{id}/comments", get(comments_tab).post(comment))
        .route("/agent/users/{id}/comments/{comment}", post(comment_action))
        .route("/agent/settings", post(save_settings))
}

/// The record's query string.
#[derive(Debug, Default, Deserialize)]
pub struct RecordQuery {
    /// The group shown as a form.
    #[serde(default)]
    pub edit: String,
    /// The group just saved ("Saved" is announced by it).
    #[serde(default)]
    pub saved: String,
    /// Tickets: `open` (default) or `resolved`.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub cursor: String,
    /// The id of the user just merged into this one.
    #[serde(default)]
    pub merged: String,
}

/// Everything the record template needs besides the groups.
struct Record {
    user: User,
    tab: &'static str,
    may_edit: bool,
    may_delete: bool,
}

impl Record {
    /// The user as `caller` may see them, with what the caller may do to them.
    async fn load(state: &AppState, caller: &Caller, id: UserId, tab: &'static str) -> crate::domain::Result<Record> {
        Ok(Record::of(caller, users::get(state, caller, id).await?, tab))
    }

    fn of(caller: &Caller, user: User, tab: &'static str) -> Record {
        Record {
            may_edit: caller.has(Permission::UsersEdit) && users::check_may_edit(caller, &user).is_ok(),
            may_delete: caller.has(Permission::UsersDelete) && user.id != caller.id,
            tab,
            user,
        }
    }
}

fn tab_of(raw: &str) -> Option<&'static str> {
    TABS.iter().copied().find(|t| *t == raw)
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

/// `GET /agent/users/{id}/comments` (the tab; its path also takes the comment form's posts).
async fn comments_tab(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
) -> Response {
    show(state, headers, uri, id, "comments".into(), q).await
}

/// The record page (or, for htmx, the part it asked for) on `tab`.
async fn show(state: AppState, headers: HeaderMap, uri: Uri, id: String, tab: String, q: RecordQuery) -> Response {
    let caller = match agent_session(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // the agent as their session names them: no query of their own
    let me = Me::of(&caller);
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&me.prefs));
    let Some(tab) = tab_of(&tab) else {
        return page_for_error(&state, Audience::Agent, &viewer, Error::NotFound);
    };
    let id = match crate::services::params::parse_id(&id) {
        Ok(id) => UserId(id),
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let user = match users::get(&state, &caller, id).await {
        Ok(u) => u,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    if headers.get("hx-request").is_none() {
        // the whole page: the user leads the agent's recently viewed (a failure only logged)
        if let Err(e) = users::opened(&state, &caller, "user", user.id.0, &user.display_name).await {
            tracing::warn!(error = %e, "could not note a recently viewed user");
        }
    }
    let rec = Record::of(&caller, user, tab);
    let mut groups = match groups_for(&state, &caller, &rec).await {
        Ok(g) => g,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    for g in &mut groups {
        g.editing = rec.may_edit && q.edit == g.name;
        g.saved = q.saved == g.name;
    }
    respond(&state, &caller, &me, &headers, &viewer, rec, Some(groups), &q, StatusCode::OK, None).await
}

/// Renders the record: the whole page, or for htmx the tabs (`HX-Target: record-tabs`) or one
/// group (`HX-Target: group-<name>`).
#[allow(clippy::too_many_arguments)]
async fn respond(
    state: &AppState,
    caller: &Caller,
    me: &Me,
    headers: &HeaderMap,
    viewer: &Viewer,
    rec: Record,
    groups: Option<Vec<Group>>,
    q: &RecordQuery,
    status: StatusCode,
    notice: Option<Value>,
) -> Response {
    // the groups as the record holds them, unless the caller shaped them (an edit state)
    let groups = match groups {
        Some(g) => g,
        None => match groups_for(state, caller, &rec).await {
            Ok(g) => g,
            Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
        },
    };
    let target = headers
        .get("hx-request")
        .and_then(|_| headers.get("hx-target"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (csrf, new_csrf) = csrf_of(state, headers);
    let mut ctx = tera::Context::new();
    ctx.insert("me", &me.display_name);
    ctx.insert("csrf", &csrf);
    ctx.insert("return_to", &format!("/agent/users/{}", rec.user.id.0));
    ctx.insert("user", &card(&rec.user, &viewer.time_zone));
    ctx.insert("tab", rec.tab);
    let base = format!("/agent/users/{}", rec.user.id.0);
    let tab_list: Vec<Value> = TABS
        .iter()
        .map(|t| {
            let href = if *t == "details" { base.clone() } else { format!("{base}/{t}") };
            let count = (*t == "comments" && rec.user.comment_count > 0).then_some(rec.user.comment_count);
            json!({"id": t, "href": href, "key": format!("tab-{t}"), "count": count})
        })
        .collect();
    ctx.insert("tab_list", &tab_list);
    ctx.insert("record_kind", "user");
    ctx.insert("may_comment", &caller.has(Permission::Comment));
    ctx.insert("pinned_record", &super::is_pinned(caller, "user", rec.user.id.0));
    ctx.insert("base", &format!("/agent/users/{}", rec.user.id.0));
    ctx.insert("may_edit", &rec.may_edit);
    ctx.insert("may_delete", &rec.may_delete);
    ctx.insert("may_merge", &caller.has(Permission::UsersMerge));
    ctx.insert("may_create", &caller.has(Permission::UsersEdit));
    // what the last action did, said once on the page it led to
    let catalogs = &super::theme_for(state, Audience::Agent).catalogs;
    let flash = match (q.merged.parse::<i64>(), q.saved.as_str()) {
        (Ok(id), _) if id > 0 => Some(catalogs.text_with(&viewer.lang, "merged-into", &[("id", id.to_string())])),
        (_, "ticket") => Some(catalogs.text(&viewer.lang, "created-ticket")),
        (_, "call") => Some(catalogs.text(&viewer.lang, "created-call")),
        _ => None,
    };
    ctx.insert("flash", &flash);
    ctx.insert("version", &rec.user.version);
    if let Some(form) = notice.as_ref().and_then(|n| n.get("comment_form")) {
        ctx.insert("comment_form", form);
    }
    ctx.insert("notice", &notice);
    ctx.insert("saved", &q.saved);
    ctx.insert("full_page", &true);
    ctx.insert("groups", &groups.iter().filter(|g| g.tab == rec.tab).collect::<Vec<_>>());
    if let Err(e) = tab_data(state, caller, &rec, q, viewer, &mut ctx).await {
        return page_for_error(state, Audience::Agent, viewer, e);
    }
    let template = if target == "record-tabs" {
        "agent/record_tabs.html"
    } else if let Some(name) = target.strip_prefix("group-") {
        match groups.iter().find(|g| g.name == name) {
            Some(g) => {
                ctx.insert("g", g);
                "agent/group_fragment.html"
            }
            None => "agent/user.html",
        }
    } else if target == "emails" || target == "phones" {
        ctx.insert("announce", &true);
        "agent/contact_points.html"
    } else if target == "comments" {
        // the header's pinned comments follow the list (tab_data took them from its first page)
        ctx.insert("oob_pinned", &true);
        "agent/comments.html"
    } else {
        "agent/user.html"
    };
    if template == "agent/user.html" {
        // the header's pinned comments (the whole page only; a tab leaves the header alone)
        let pinned = if rec.user.comment_count > 0 {
            match users::pinned_comments(state, caller, rec.user.id).await {
                Ok(sticky) => sticky,
                Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
            }
        } else {
            Vec::new()
        };
        // the organizations' chips: the first six, the Organizations tab for the rest
        let orgs = match users::organization_names(state, caller, &rec.user, HEADER_ORGS + 1).await {
            Ok(o) => o,
            Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
        };
        let chips: Vec<Value> = orgs
            .iter()
            .take(HEADER_ORGS as usize)
            .map(|(id, name)| json!({"name": name, "href": format!("/agent/organizations/{}", id.0)}))
            .collect();
        ctx.insert("org_chips", &chips);
        ctx.insert("more_orgs", &(orgs.len() as i64 > HEADER_ORGS));
        ctx.insert("pinned", &pinned_rows(&pinned, &viewer.time_zone));
    }
    agent_page(state, viewer, status, template, ctx, (csrf, new_csrf))
}

/// Renders an agent page whose forms carry `csrf` (setting the cookie when it is new).
pub(super) fn agent_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    ctx: tera::Context,
    (csrf, new_csrf): (String, bool),
) -> Response {
    let mut response = render_page(state, Audience::Agent, viewer, status, template, ctx);
    if new_csrf {
        add_cookie(&mut response, &set_cookie(state, csrf_cookie_name(state), &csrf, "Strict", None));
    }
    response
}

/// What the header and the preview show of a user.
pub fn card(u: &User, zone: &str) -> Value {
    let (created, created_iso) = local(u.created_at.0, zone);
    let last_login = u.last_login_at.map(|t| local(t.0, zone));
    let local_now = {
        let tz: chrono_tz::Tz = u.time_zone.parse().unwrap_or(chrono_tz::UTC);
        chrono::Utc::now().with_timezone(&tz).format("%H:%M").to_string()
    };
    let initials: String = u
        .display_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    json!({
        "id": u.id.0,
        "display_name": u.display_name,
        "initials": if initials.is_empty() { "?".to_string() } else { initials },
        "username": u.username,
        "primary_email": u.primary_email().map(|e| e.email.clone()),
        "emails": u.emails,
        "phones": u.phones.iter().map(|p| json!({"kind": p.kind.as_str(), "number": p.number, "raw": p.raw})).collect::<Vec<_>>(),
        "roles": u.roles,
        "labels": u.labels,
        "label_links": u.labels.iter().map(|l| {
            let view: String = url::form_urlencoded::byte_serialize(format!("label:{l}").as_bytes()).collect();
            json!({"name": l, "href": format!("/agent/users?view={view}")})
        }).collect::<Vec<_>>(),
        "company": u.company,
        "time_zone": u.time_zone,
        "local_time": local_now,
        "disabled": u.disabled,
        "is_agent": u.is_agent,
        "created": created,
        "created_iso": created_iso,
        "last_login": last_login.as_ref().map(|l| &l.0),
        "last_login_iso": last_login.as_ref().map(|l| &l.1),
        "href": format!("/agent/users/{}", u.id.0),
        "version": u.version,
        "auth_method": u.auth_method,
        "avatar_src": u.avatar_etag.as_ref().map(|e| format!("/api/v1/users/{}/avatar?v={}", u.id.0, &e[..e.len().min(16)])),
        "avatar_uploaded": u.avatar_uploaded,
        "comment_count": u.comment_count,
    })
}

/// The groups of the record with their current values.
async fn groups_for(state: &AppState, caller: &Caller, rec: &Record) -> crate::domain::Result<Vec<Group>> {
    let u = &rec.user;
    let base = format!("/agent/users/{}", u.id.0);
    let group = |name: &'static str, tab: &'static str, fields: Vec<Field>| {
        let tab_href = if tab == "details" { base.clone() } else { format!("{base}/{tab}") };
        Group::new(name, tab, fields, rec.may_edit, u.version, &tab_href, format!("{base}/edit/{name}"))
    };
    let mut languages: Vec<(String, String, bool)> =
        state.rules.languages.iter().map(|l| (l.clone(), l.clone(), *l == u.language)).collect();
    if !languages.iter().any(|l| l.2) {
        languages.push((u.language.clone(), u.language.clone(), true));
    }
    let mut language = Field::text("language", &u.language).kind("select");
    language.options = languages;
    let mut out = vec![
        group(
            "identity",
            "details",
            vec![
                Field::text("display_name", &u.display_name).auto("name"),
                Field::text("username", &u.username).auto("username"),
                Field::text("time_zone", &u.time_zone).hint("hint-time_zone"),
                language,
                Field::text("summary", &u.summary).kind("textarea"),
                Field::check("auto_responder", u.auto_responder),
            ],
        ),
        group("labels", "details", vec![Field::text("labels", &u.labels.join(", ")).hint("hint-labels")]),
        group(
            "contact",
            "contact",
            vec![
                Field::text("company", &u.company).auto("organization"),
                Field::text("website", &u.website).kind("url").auto("url"),
                Field::text("address", &u.address).kind("textarea").auto("street-address"),
                Field::text("im", &u.im),
                Field::text("twitter", &u.twitter),
                Field::text("linkedin", &u.linkedin),
                Field::text("facebook", &u.facebook),
            ],
        ),
        group(
            "portal",
            "portal",
            vec![
                Field::text("avatar_provider", u.avatar_provider.as_deref().unwrap_or_default()),
                Field::check("subscribe_community", u.subscribe_community),
                Field::check("email_summaries", u.email_summaries),
                Field::check("email_conversations", u.email_conversations),
                Field::check("banned", u.banned),
                Field::text("signature_html", &u.signature_html).kind("textarea"),
            ],
        ),
    ];
    if rec.tab == "roles" {
        let all = roles::list(state, caller).await.unwrap_or_default();
        let mut f = Field::text("roles", "").kind("checkboxes");
        f.options = all
            .iter()
            .filter(|r| !DERIVED_ROLES.contains(&r.name.as_str()))
            .map(|r| (r.name.clone(), r.name.clone(), u.roles.iter().any(|x| x.eq_ignore_ascii_case(&r.name))))
            .collect();
        f.value =
            u.roles.iter().filter(|r| !DERIVED_ROLES.contains(&r.as_str())).cloned().collect::<Vec<_>>().join(", ");
        f.empty = f.value.is_empty();
        out.push(group("roles", "roles", vec![f]));
    } else {
        out.push(group("roles", "roles", Vec::new()));
    }
    let mut custom = Vec::new();
    if rec.tab == "custom-fields" {
        let shown = custom_fields::display(state, Entity::User, &u.custom_fields).await.unwrap_or_default();
        let defs = custom_fields::list(state, caller, Some("user")).await.unwrap_or_default();
        for d in defs {
            let raw = u.custom_fields.get(&d.key).cloned().unwrap_or(Value::Null);
            let as_text = |v: &Value| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut f = Field::text(&format!("custom.{}", d.key), &as_text(&raw));
            f.label = d.label.clone();
            f.label_is_key = false;
            f.empty = raw.is_null() || as_text(&raw).is_empty();
            if let Some(v) = shown.get(&d.key) {
                f.value = as_text(v);
            }
            custom.push(f);
        }
    }
    let mut g = group("custom", "custom-fields", custom);
    g.empty_count = g.fields.iter().filter(|f| f.empty).count();
    out.push(g);
    Ok(out)
}

/// Loads what the chosen tab lists (only the chosen one: SPEC's "non-visible tabs are never
/// loaded").
async fn tab_data(
    state: &AppState,
    caller: &Caller,
    rec: &Record,
    q: &RecordQuery,
    viewer: &Viewer,
    ctx: &mut tera::Context,
) -> crate::domain::Result<()> {
    let id = rec.user.id;
    let zone = &viewer.time_zone;
    let when = |ms: i64| {
        let (text, iso) = local(ms, zone);
        json!({"text": text, "iso": iso})
    };
    let list_tab = match rec.tab {
        "tickets" => Some(Tab::Tickets),
        "chats" => Some(Tab::Chats),
        "calls" => Some(Tab::Calls),
        "surveys" => Some(Tab::Surveys),
        _ => None,
    };
    if let Some(t) = list_tab {
        let ticket_state =
            (t == Tab::Tickets).then(|| if q.state == "resolved" { TicketState::Resolved } else { TicketState::Open });
        let cursor = Some(q.cursor.as_str()).filter(|c| !c.is_empty());
        let page = users::tab(state, caller, &rec.user, t, ticket_state, Some("25"), cursor).await?;
        let rows: Vec<Value> = page
            .items
            .iter()
            .filter_map(|item| match &item.record {
                TabRecord::Record(r) => Some(record_row(r, &when)),
                TabRecord::User(_) => None,
            })
            .collect();
        let base = format!("/agent/users/{}/{}", id.0, rec.tab);
        let state_q = if q.state == "resolved" { "state=resolved&" } else { "" };
        ctx.insert("rows", &rows);
        ctx.insert("total", &page.total);
        ctx.insert("ticket_state", &if q.state == "resolved" { "resolved" } else { "open" });
        ctx.insert("more_href", &page.next_cursor.as_ref().map(|c| format!("{base}?{state_q}cursor={c}")));
    }
    match rec.tab {
        "organizations" => {
            let list = users::organizations_of(state, caller, &rec.user).await?;
            let rows: Vec<Value> = list
                .iter()
                .map(|m| {
                    json!({
                        "id": m.organization.id.0,
                        "name": m.organization.name,
                        "ticket_count": m.ticket_count,
                        "matched_by": m.matched_by,
                    })
                })
                .collect();
            ctx.insert("orgs", &rows);
        }
        "stats" | "details" => {
            let stats = users::stats(state, caller, &rec.user).await?;
            ctx.insert("call_minutes", &(stats.call_seconds / 60));
            ctx.insert("stats", &stats);
        }
        "history" => {
            let h = users::history(state, caller, &rec.user).await?;
            let opt = |t: Option<crate::clock::Timestamp>| t.map(|t| when(t.0));
            ctx.insert(
                "history",
                &json!({
                    "last_login": opt(h.last_login_at),
                    "last_ticket": opt(h.last_ticket_at),
                    "last_chat": opt(h.last_chat_at),
                    "last_call": opt(h.last_call_at),
                    "last_survey": opt(h.last_survey_at),
                    "logins": h.logins.iter().map(|l| json!({"at": when(l.at.0), "method": l.method})).collect::<Vec<_>>(),
                }),
            );
        }
        "comments" => {
            let cursor = Some(q.cursor.as_str()).filter(|c| !c.is_empty());
            let page = users::comments(state, caller, id, Some("50"), cursor).await?;
            let me = caller.actor().id;
            let may_delete_any = caller.has(Permission::UsersDelete);
            let rows: Vec<Value> = page
                .items
                .iter()
                .map(|c| {
                    json!({"id": c.id, "author": c.author.name, "body": c.body, "at": when(c.created_at.0),
                           "sticky": c.sticky, "may_delete": may_delete_any || (me.is_some() && c.author.id == me)})
                })
                .collect();
            ctx.insert("comments", &rows);
            ctx.insert("pinned", &pinned_rows(&page.items, zone));
            ctx.insert(
                "more_href",
                &page.next_cursor.as_ref().map(|c| format!("/agent/users/{}/comments?cursor={c}", id.0)),
            );
        }
        "changes" => {
            let cursor = Some(q.cursor.as_str()).filter(|c| !c.is_empty());
            let page = users::changes(state, caller, &rec.user, Some("50"), cursor).await?;
            let rows = change_rows(&page.items, &when);
            ctx.insert("changes", &rows);
            ctx.insert(
                "more_href",
                &page.next_cursor.as_ref().map(|c| format!("/agent/users/{}/changes?cursor={c}", id.0)),
            );
        }
        _ => {}
    }
    Ok(())
}

/// The header's pinned comments as the page shows them: the newest sticky ones of `comments`.
fn pinned_rows(comments: &[crate::store::Comment], zone: &str) -> Vec<Value> {
    comments
        .iter()
        .filter(|c| c.sticky)
        .take(users::PINNED_SHOWN as usize)
        .map(|c| json!({"author": c.author.name, "body": c.body, "at": local(c.created_at.0, zone).0}))
        .collect()
}

/// A change log's rows as the pages show them.
pub(super) fn change_rows(items: &[crate::domain::change::Change], when: &dyn Fn(i64) -> Value) -> Vec<Value> {
    let show = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    items
        .iter()
        .map(|c| {
            json!({"at": when(c.at.0), "actor": c.actor.name, "source": c.actor.kind, "field": c.field,
                   "old": show(&c.old), "new": show(&c.new)})
        })
        .collect()
}

/// A custom-field group's posted values (`custom.<key>`), typed as the definitions take them.
pub(super) async fn custom_values(
    state: &AppState,
    caller: &Caller,
    entity: &str,
    form: &Pairs,
) -> crate::domain::Result<serde_json::Map<String, Value>> {
    let defs = custom_fields::list(state, caller, Some(entity)).await?;
    let mut map = serde_json::Map::new();
    for d in defs {
        if let Some(v) = form.get(&format!("custom.{}", d.key)) {
            let v = v.trim();
            let value = if v.is_empty() {
                Value::Null
            } else {
                // numbers and booleans as the definitions' types take them
                serde_json::from_str::<Value>(v)
                    .ok()
                    .filter(|x| x.is_number() || x.is_boolean())
                    .unwrap_or_else(|| Value::String(v.to_string()))
            };
            map.insert(d.key.clone(), value);
        }
    }
    Ok(map)
}

pub(super) fn record_row(r: &AnyRecord, when: &dyn Fn(i64) -> Value) -> Value {
    match r {
        AnyRecord::Ticket(t) => {
            json!({"id": t.id, "subject": t.subject, "status": t.status, "emails": t.emails.join(", "), "at": when(t.created_at.0)})
        }
        AnyRecord::Chat(c) => json!({"id": c.id, "email": c.email, "at": when(c.started_at.0)}),
        AnyRecord::Call(c) => {
            json!({"id": c.id, "email": c.email, "phone": c.phone, "direction": c.direction, "duration": format!("{}:{:02}", c.duration_secs / 60, c.duration_secs % 60), "at": when(c.at.0)})
        }
        AnyRecord::Survey(s) => {
            json!({"id": s.id, "name": s.name, "email": s.email, "score": s.score, "at": when(s.at.0)})
        }
    }
}

/// The edit a group's form asks for.
async fn input_for(state: &AppState, caller: &Caller, group: &str, form: &Pairs) -> crate::domain::Result<UserInput> {
    let mut input = UserInput { version: form.version(), ..Default::default() };
    match group {
        "identity" => {
            input.display_name = form.get("display_name").map(str::to_string);
            input.username = form.get("username").map(str::to_string);
            input.time_zone = form.get("time_zone").map(str::to_string);
            input.language = form.get("language").map(str::to_string);
            input.summary = form.text("summary");
            input.auto_responder = form.on("auto_responder");
        }
        "labels" => {
            let raw = form.get("labels").unwrap_or_default();
            input.labels = Some(raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect());
        }
        "contact" => {
            input.company = form.text("company");
            input.website = form.text("website");
            input.address = form.text("address");
            input.im = form.text("im");
            input.twitter = form.text("twitter");
            input.linkedin = form.text("linkedin");
            input.facebook = form.text("facebook");
        }
        "portal" => {
            input.avatar_provider = form.text("avatar_provider");
            input.subscribe_community = form.on("subscribe_community");
            input.email_summaries = form.on("email_summaries");
            input.email_conversations = form.on("email_conversations");
            input.banned = form.on("banned");
            input.signature_html = form.text("signature_html");
        }
        "roles" => {
            input.roles = Some(form.all("roles"));
        }
        "custom" => {
            input.custom_fields = Some(custom_values(state, caller, "user", form).await?);
        }
        _ => return Err(Error::NotFound),
    }
    Ok(input)
}

/// `POST /agent/users/{id}/edit/{group}`: saves one group.
async fn save_group(
    State(state): State<AppState>,
    Path((id, group)): Path<(String, String)>,
    request: Request,
) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(&(group, tab)) = GROUPS.iter().find(|(g, _)| *g == group) else {
        return p.fail(&state, Error::NotFound);
    };
    let input = match input_for(&state, &p.caller, group, &p.form).await {
        Ok(i) => i,
        Err(e) => return p.fail(&state, e),
    };
    let result = users::update(&state, &p.caller, UserId(p.id), input).await;
    after_save(state, p, tab, group, result).await
}

/// The answer to a save: the group saved (htmx) or a redirect to it; the form again with the
/// messages by the fields (422); the conflict (409).
async fn after_save(
    state: AppState,
    p: Posted,
    tab: &'static str,
    group: &'static str,
    result: crate::domain::Result<User>,
) -> Response {
    let Posted { form, headers, caller, me, viewer, id } = p;
    let id = UserId(id);
    let form = &form;
    let htmx = headers.get("hx-request").is_some();
    let tab_href =
        if tab == "details" { format!("/agent/users/{}", id.0) } else { format!("/agent/users/{}/{tab}", id.0) };
    if result.is_ok() && !htmx {
        return Redirect::to(&format!("{tab_href}?saved={group}#group-{group}")).into_response();
    }
    let Outcome { status, errors, stale, saved } = match Outcome::of(result) {
        Ok(o) => o,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    // a save answers the user as saved; a refusal reads them again (the current version)
    let rec = match saved {
        Some(u) => Record::of(&caller, u, tab),
        None => match Record::load(&state, &caller, id, tab).await {
            Ok(r) => r,
            Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
        },
    };
    let mut groups = match groups_for(&state, &caller, &rec).await {
        Ok(g) => g,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let catalogs = &super::theme_for(&state, Audience::Agent).catalogs;
    if let Some(g) = groups.iter_mut().find(|g| g.name == group) {
        if status == StatusCode::OK {
            g.saved = true;
        } else {
            g.fail(
                form,
                &errors,
                stale,
                rec.user.version,
                &catalogs.text(&viewer.lang, if stale { "conflict-text" } else { "form-errors" }),
            );
        }
    }
    let q = RecordQuery::default();
    respond(&state, &caller, &me, &headers, &viewer, rec, Some(groups), &q, status, None).await
}

// ---- creating ----

fn new_fields(form: &Pairs) -> Vec<Field> {
    let v = |n: &str| form.get(n).unwrap_or_default().to_string();
    vec![
        Field::text("display_name", &v("display_name")).auto("name"),
        Field::text("username", &v("username")).auto("off"),
        Field::text("email", &v("email")).kind("email").auto("email"),
        Field::text("phone", &v("phone")).kind("tel").auto("tel"),
        Field::text("company", &v("company")).auto("organization"),
    ]
}

fn new_page(state: &AppState, p: &Posted, status: StatusCode, errors: &FieldErrors) -> Response {
    let mut g =
        Group::new("new-user", "details", new_fields(&p.form), true, 0, "/agent/users/new", "/agent/users".into());
    g.editing = true;
    g.view_href = "/agent/users".into();
    if !errors.is_empty() {
        let message = super::theme_for(state, Audience::Agent).catalogs.text(&p.viewer.lang, "form-errors");
        // the service names `emails[0].email` and `phones[0].number`; the form `email` and `phone`
        let errors: FieldErrors = errors
            .iter()
            .map(|(k, v)| {
                let k = if k.starts_with("emails") {
                    "email"
                } else if k.starts_with("phones") {
                    "phone"
                } else {
                    k
                };
                (k.to_string(), v.clone())
            })
            .collect();
        g.fail(&p.form, &errors, false, 0, &message);
    }
    let csrf = csrf_of(state, &p.headers);
    let mut ctx = tera::Context::new();
    ctx.insert("me", &p.me.display_name);
    ctx.insert("csrf", &csrf.0);
    ctx.insert("return_to", "/agent/users");
    ctx.insert("g", &g);
    ctx.insert("title_key", "user-new");
    agent_page(state, &p.viewer, status, "agent/new.html", ctx, csrf)
}

/// `GET /agent/users/new`: the form for a new user.
async fn new_form(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let (caller, me) = match super::agent::agent_caller(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&me.prefs));
    if !caller.has(Permission::UsersEdit) {
        let why = Error::Forbidden("creating users needs the `users_edit` permission".into());
        return page_for_error(&state, Audience::Agent, &viewer, why);
    }
    let p = Posted { form: Pairs(Vec::new()), headers, caller, me, viewer, id: 0 };
    new_page(&state, &p, StatusCode::OK, &FieldErrors::new())
}

/// `POST /agent/users`: creates the user (the address primary), then their record.
pub(super) async fn create(State(state): State<AppState>, request: Request) -> Response {
    let p = match Posted::read(&state, None, request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &p.form;
    let email = f.get("email").unwrap_or_default().trim().to_string();
    let phone = f.get("phone").unwrap_or_default().trim().to_string();
    let input = UserInput {
        display_name: f.get("display_name").map(str::to_string),
        username: Some(f.get("username").unwrap_or_default().trim().to_string()).filter(|u| !u.is_empty()).or_else(
            // no username given: the address's local part, as an agent would type it
            || email.split('@').next().filter(|l| !l.is_empty()).map(str::to_string),
        ),
        emails: Some(if email.is_empty() {
            Vec::new()
        } else {
            vec![EmailInput { email, primary: true, verified: false }]
        }),
        phones: (!phone.is_empty()).then(|| vec![PhoneInput { kind: PhoneKind::Other, number: phone }]),
        company: f.text("company"),
        ..Default::default()
    };
    match users::create(&state, &p.caller, input).await {
        Ok(u) => Redirect::to(&format!("/agent/users/{}", u.id.0)).into_response(),
        Err(Error::Invalid(e)) => new_page(&state, &p, StatusCode::UNPROCESSABLE_ENTITY, &e),
        Err(Error::Conflict { field, message }) => {
            new_page(&state, &p, StatusCode::UNPROCESSABLE_ENTITY, &FieldErrors::from([(field, message)]))
        }
        Err(e) => p.fail(&state, e),
    }
}

/// `POST /agent/users/{id}/emails`: one change to the addresses (`action` = `add` with
/// `email`; `remove`, `primary`, `verify`, `unverify` with `email`).
async fn edit_emails(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    contact_point(state, id, request, "emails").await
}

/// `POST /agent/users/{id}/phones`: `action` = `add` with `kind` and `number`, or `remove` with
/// `number`.
async fn edit_phones(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    contact_point(state, id, request, "phones").await
}

async fn contact_point(state: AppState, id: String, request: Request, what: &'static str) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let current = match users::get(&state, &p.caller, UserId(p.id)).await {
        Ok(u) => u,
        Err(e) => return p.fail(&state, e),
    };
    let input = match point_edit(&current, &p.form, what) {
        Ok(i) => i,
        Err(e) => return p.fail(&state, e),
    };
    let result = users::update(&state, &p.caller, UserId(p.id), input).await;
    let Posted { headers, caller, me, viewer, id, .. } = p;
    let id = UserId(id);
    let htmx = headers.get("hx-request").is_some();
    // the user as saved, as they were (a refused value changed nothing), or read again (stale)
    let (status, message, user) = match result {
        Ok(_) if !htmx => {
            return Redirect::to(&format!("/agent/users/{}/contact?saved={what}#{what}", id.0)).into_response();
        }
        Ok(u) => (StatusCode::OK, None, Some(u)),
        Err(Error::Invalid(f)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Some(f.values().cloned().collect::<Vec<_>>().join(" ")), Some(current))
        }
        Err(Error::Conflict { message, .. }) => (StatusCode::UNPROCESSABLE_ENTITY, Some(message), Some(current)),
        Err(Error::Stale { .. }) => {
            let catalogs = &super::theme_for(&state, Audience::Agent).catalogs;
            (StatusCode::CONFLICT, Some(catalogs.text(&viewer.lang, "conflict-reloaded")), None)
        }
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let rec = match user {
        Some(u) => Record::of(&caller, u, "contact"),
        None => match Record::load(&state, &caller, id, "contact").await {
            Ok(r) => r,
            Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
        },
    };
    let q =
        RecordQuery { saved: if status == StatusCode::OK { what.into() } else { String::new() }, ..Default::default() };
    let notice = message.map(|text| json!({"for": what, "text": text}));
    respond(&state, &caller, &me, &headers, &viewer, rec, None, &q, status, notice).await
}

/// The whole new list of addresses or phones that one posted change makes of `current`'s.
fn point_edit(current: &User, form: &Pairs, what: &str) -> crate::domain::Result<UserInput> {
    let action = form.get("action").unwrap_or_default();
    let mut input = UserInput { version: form.version(), ..Default::default() };
    let unknown = || Error::invalid("action", "unknown action");
    if what == "emails" {
        let target = form.get("email").unwrap_or_default().trim().to_lowercase();
        let mut list: Vec<EmailInput> = current
            .emails
            .iter()
            .map(|e| EmailInput { email: e.email.clone(), primary: e.primary, verified: e.verified })
            .collect();
        match action {
            "add" => list.push(EmailInput { email: target, primary: list.is_empty(), verified: false }),
            "remove" => list.retain(|e| e.email != target),
            "primary" => list.iter_mut().for_each(|e| e.primary = e.email == target),
            "verify" | "unverify" => {
                list.iter_mut().filter(|e| e.email == target).for_each(|e| e.verified = action == "verify")
            }
            _ => return Err(unknown()),
        }
        if action == "remove"
            && !list.iter().any(|e| e.primary)
            && let Some(first) = list.first_mut()
        {
            first.primary = true;
        }
        input.emails = Some(list);
    } else {
        let mut list: Vec<PhoneInput> =
            current.phones.iter().map(|p| PhoneInput { kind: p.kind, number: p.raw.clone() }).collect();
        match action {
            "add" => {
                let kind = match form.get("kind").unwrap_or("other") {
                    "home" => PhoneKind::Home,
                    "cell" => PhoneKind::Cell,
                    "work" => PhoneKind::Work,
                    _ => PhoneKind::Other,
                };
                list.push(PhoneInput { kind, number: form.get("number").unwrap_or_default().to_string() });
            }
            "remove" => {
                let number = form.get("number").unwrap_or_default();
                let keep: Vec<bool> = current.phones.iter().map(|p| p.number != number).collect();
                list = list.into_iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| p).collect();
            }
            _ => return Err(unknown()),
        }
        input.phones = Some(list);
    }
    Ok(input)
}

/// `POST /agent/users/{id}/state`: `disabled=true|false` (disable or enable the account).
async fn set_state(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let disabled = p.form.get("disabled") == Some("true");
    let input = UserInput { disabled: Some(disabled), version: p.form.version(), ..Default::default() };
    match users::update(&state, &p.caller, UserId(p.id), input).await {
        // a stale click shows the record as it is now
        Ok(_) | Err(Error::Stale { .. }) => Redirect::to(&format!("/agent/users/{}", p.id)).into_response(),
        Err(e) => p.fail(&state, e),
    }
}

/// `POST /agent/users/{id}/password`: `action` = `set` (a new `password`; the user's sessions
/// end) or `send_reset` (a reset link to their primary address). Then the Portal tab says so.
async fn password(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = UserId(p.id);
    let result = match p.form.get("action") {
        Some("set") => {
            let input = UserInput {
                password: Some(p.form.get("password").unwrap_or_default().to_string()),
                ..Default::default()
            };
            users::update(&state, &p.caller, id, input).await.map(|_| "password")
        }
        Some("send_reset") => crate::services::accounts::send_reset_for(&state, &p.caller, id).await.map(|_| "reset"),
        _ => Err(Error::invalid("action", "must be set or send_reset")),
    };
    let why = match result {
        Ok(done) => {
            return Redirect::to(&format!("/agent/users/{}/portal?saved={done}#sign-in", id.0)).into_response();
        }
        Err(Error::Invalid(f)) => f.into_values().collect::<Vec<_>>().join(" "),
        Err(e) => return p.fail(&state, e),
    };
    let Posted { headers, caller, me, viewer, .. } = p;
    let rec = match Record::load(&state, &caller, id, "portal").await {
        Ok(r) => r,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let notice = Some(json!({"for": "password", "text": why}));
    let q = RecordQuery::default();
    respond(&state, &caller, &me, &headers, &viewer, rec, None, &q, StatusCode::UNPROCESSABLE_ENTITY, notice).await
}

/// `POST /agent/users/{id}/avatar` (multipart: `csrf`, `avatar` the image file): uploads the
/// user's avatar; a refusal (no file, not an image, too big) comes back by the field.
async fn avatar(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let (p, upload) = match Posted::read_upload(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = UserId(p.id);
    let catalogs = &super::theme_for(&state, Audience::Agent).catalogs;
    let why = match upload.file("avatar") {
        None => catalogs.text(&p.viewer.lang, "avatar-none"),
        Some(bytes) => match crate::services::avatars::upload(&state, &p.caller, id, bytes.to_vec()).await {
            Ok(_) => return Redirect::to(&format!("/agent/users/{}?saved=avatar#avatar", id.0)).into_response(),
            Err(Error::Invalid(f)) => f.into_values().collect::<Vec<_>>().join(" "),
            Err(e) => return p.fail(&state, e),
        },
    };
    let Posted { headers, caller, me, viewer, .. } = p;
    let rec = match Record::load(&state, &caller, id, "details").await {
        Ok(r) => r,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    let notice = Some(json!({"for": "avatar", "text": why}));
    let q = RecordQuery::default();
    respond(&state, &caller, &me, &headers, &viewer, rec, None, &q, StatusCode::UNPROCESSABLE_ENTITY, notice).await
}

/// `POST /agent/users/{id}/avatar/remove`: removes the uploaded avatar.
async fn avatar_remove(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match crate::services::avatars::remove(&state, &p.caller, UserId(p.id)).await {
        // none there (removed meanwhile) is what was asked for
        Ok(()) | Err(Error::NotFound) => {
            Redirect::to(&format!("/agent/users/{}?saved=avatar#avatar", p.id)).into_response()
        }
        Err(e) => p.fail(&state, e),
    }
}

/// `POST /agent/users/{id}/comments`: an agent-only comment, pinned to the header when `sticky`.
async fn comment(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = UserId(p.id);
    let body = p.form.get("body").unwrap_or_default().to_string();
    let sticky = p.form.get("sticky") == Some("true");
    let (status, form) = match users::add_comment(&state, &p.caller, id, &body, sticky).await {
        Ok(_) if !p.htmx() => {
            return Redirect::to(&format!("/agent/users/{}/comments?saved=comments", id.0)).into_response();
        }
        Ok(_) => (StatusCode::OK, json!({"saved": true})),
        Err(Error::Invalid(e)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, json!({"body": body, "sticky": sticky, "errors": e}))
        }
        Err(e) => return p.fail(&state, e),
    };
    comments_answer(&state, p, status, form).await
}

/// `POST /agent/users/{id}/comments/{comment}` with `action` `pin`, `unpin` or `delete`.
async fn comment_action(
    State(state): State<AppState>,
    Path((id, comment)): Path<(String, String)>,
    request: Request,
) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = UserId(p.id);
    let comment = match crate::services::params::parse_id(&comment) {
        Ok(c) => c,
        Err(e) => return p.fail(&state, e),
    };
    let done = match p.form.get("action") {
        Some("pin") => users::set_comment_sticky(&state, &p.caller, id, comment, true).await.map(|_| ()),
        Some("unpin") => users::set_comment_sticky(&state, &p.caller, id, comment, false).await.map(|_| ()),
        Some("delete") => users::delete_comment(&state, &p.caller, id, comment).await,
        _ => Err(Error::invalid("action", "must be pin, unpin or delete")),
    };
    match done {
        Ok(()) if !p.htmx() => Redirect::to(&format!("/agent/users/{}/comments?saved=comments", id.0)).into_response(),
        Ok(()) => comments_answer(&state, p, StatusCode::OK, json!({})).await,
        Err(e) => p.fail(&state, e),
    }
}

/// The Comments tab after a change: the list alone for htmx, the page otherwise.
async fn comments_answer(state: &AppState, p: Posted, status: StatusCode, form: Value) -> Response {
    let Posted { headers, caller, me, viewer, id, .. } = p;
    let rec = match Record::load(state, &caller, UserId(id), "comments").await {
        Ok(r) => r,
        Err(e) => return page_for_error(state, Audience::Agent, &viewer, e),
    };
    let q = RecordQuery {
        saved: if status == StatusCode::OK { "comments".into() } else { String::new() },
        ..Default::default()
    };
    let notice = Some(json!({"comment_form": form}));
    respond(state, &caller, &me, &headers, &viewer, rec, None, &q, status, notice).await
}

/// `POST /agent/users/{id}/delete`: deletes the user (the form names them and asks first).
async fn delete(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match users::delete(&state, &p.caller, UserId(p.id)).await {
        Ok(()) => Redirect::to("/agent/users").into_response(),
        Err(e) => p.fail(&state, e),
    }
}

/// `POST /agent/settings`: the agent's own colour scheme and shortcuts, then back where they
/// were (`return_to`, a path on this site).
async fn save_settings(State(state): State<AppState>, request: Request) -> Response {
    let p = match Posted::read(&state, None, request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // the settings form always sends the scheme; an unticked box sends nothing
    let theme = p.form.get("ui_theme").map(str::to_string);
    let shortcuts = Some(p.form.get("keyboard_shortcuts").is_some());
    if let Err(e) = users::set_preferences(&state, &p.caller, theme, shortcuts).await {
        return p.fail(&state, e);
    }
    if p.headers.get("hx-request").is_some() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let back = p.form.get("return_to").filter(|r| crate::oidc::safe_return_to(r)).unwrap_or("/agent/users");
    Redirect::to(back).into_response()
}
