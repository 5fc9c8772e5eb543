//! A user record's quick actions beyond editing: merge (a dialog with JavaScript, a page
//! without), clone, and a new ticket or call log prefilled from the user.
//!
//! Merge: `GET /agent/users/{id}/merge` finds the other user (`q`), shows both side by side
//! with what moves (`other`, `keep=this|other` swaps which one survives) and posts to
//! `/agent/users/{survivor}/merge` with `source_id`. With htmx the same view is a fragment for
//! the `<dialog>` (`HX-Target: dialog-body`, or `merge-candidates` while typing), and a done
//! merge answers `HX-Redirect` to the survivor. The rules are [`users::merge`]'s.

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Me;
use super::forms::csrf_of;
use super::record::{Field, Group, Pairs, Posted};
use super::users::{agent_page, card};
use super::{Audience, Viewer, page_for_error};
use crate::domain::records::{RecordInput, RecordKind};
use crate::domain::role::Permission;
use crate::domain::user::{EmailInput, User};
use crate::domain::{Error, FieldErrors, UserId};
use crate::http::AppState;
use crate::services::users::ListParams;
use crate::services::{Caller, records, users};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent/users/{id}/merge", get(merge_view).post(merge))
        .route("/agent/users/{id}/clone", get(clone_form).post(clone))
        .route("/agent/users/{id}/new/{kind}", get(new_record_form).post(new_record))
}

/// Where a view is shown: the whole page, or (htmx) the dialog's body.
fn in_dialog(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
        && matches!(headers.get("hx-target").and_then(|v| v.to_str().ok()), Some("dialog-body" | "merge-candidates"))
}

/// An answer that takes the browser to `to`: htmx's `HX-Redirect` (a dialog's form), else 303.
fn go(headers: &HeaderMap, to: &str) -> Response {
    if headers.get("hx-request").is_some() {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert("hx-redirect", v);
        }
        return r;
    }
    Redirect::to(to).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct MergeQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    other: String,
    #[serde(default)]
    keep: String,
}

/// One side of the merge: the user, and what would move with them.
async fn side(state: &AppState, caller: &Caller, u: &User, zone: &str) -> crate::domain::Result<Value> {
    let stats = users::stats(state, caller, u).await?;
    let organizations = users::organizations_of(state, caller, u).await?.len();
    let mut c = card(u, zone);
    c["counts"] = json!({
        "tickets": stats.tickets,
        "chats": stats.chats,
        "calls": stats.calls,
        "surveys": stats.surveys,
        "organizations": organizations,
        "emails": u.emails.len(),
        "phones": u.phones.len(),
    });
    Ok(c)
}

/// The merge view of `this` (the record it was opened from), `error` above the form.
#[allow(clippy::too_many_arguments)]
async fn render_merge(
    state: &AppState,
    caller: &Caller,
    me: &Me,
    headers: &HeaderMap,
    viewer: &Viewer,
    this: User,
    q: &MergeQuery,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let zone = &viewer.time_zone;
    let base = format!("/agent/users/{}/merge", this.id.0);
    let other = match q.other.trim().parse::<i64>() {
        Ok(id) if id > 0 && id != this.id.0 => match users::get(state, caller, UserId(id)).await {
            Ok(u) => Some(u),
            Err(Error::NotFound) => None,
            Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
        },
        _ => None,
    };
    let mut ctx = tera::Context::new();
    // the candidates: a search by name, address or phone, without the record itself
    let needle = q.q.trim();
    let mut candidates = Vec::new();
    if !needle.is_empty() {
        let params = ListParams { q: Some(needle.to_string()), limit: Some("9".into()), ..Default::default() };
        match users::list(state, caller, &params).await {
            Ok(page) => {
                for u in page.items.iter().filter(|u| u.id != this.id).take(8) {
                    let primary = u.primary_email().map(|e| e.email.clone());
                    let href = format!("{base}?other={}&q={}", u.id.0, urlencode(needle));
                    candidates.push(json!({"id": u.id.0, "name": u.display_name, "email": primary, "href": href}));
                }
            }
            Err(Error::Invalid(_)) => {}
            Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
        }
    }
    ctx.insert("candidates", &candidates);
    ctx.insert("searched", &!needle.is_empty());
    let this_side = match side(state, caller, &this, zone).await {
        Ok(s) => s,
        Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
    };
    if let Some(o) = &other {
        let other_side = match side(state, caller, o, zone).await {
            Ok(s) => s,
            Err(e) => return page_for_error(state, Audience::Agent, viewer, e),
        };
        let keep_other = q.keep == "other";
        let (survivor, source) =
            if keep_other { (other_side, this_side.clone()) } else { (this_side.clone(), other_side) };
        let swap = if keep_other { "this" } else { "other" };
        ctx.insert("survivor", &survivor);
        ctx.insert("source", &source);
        ctx.insert("swap_href", &format!("{base}?other={}&keep={swap}&q={}", o.id.0, urlencode(needle)));
        ctx.insert("action", &format!("/agent/users/{}/merge", survivor["id"]));
    }
    let (csrf, new_csrf) = csrf_of(state, headers);
    ctx.insert("me", &me.display_name);
    ctx.insert("csrf", &csrf);
    ctx.insert("return_to", &format!("/agent/users/{}", this.id.0));
    ctx.insert("this", &this_side);
    ctx.insert("q", needle);
    ctx.insert("base", &base);
    ctx.insert("error", &error);
    let dialog = in_dialog(headers);
    ctx.insert("in_dialog", &dialog);
    let template = if dialog { "agent/merge_body.html" } else { "agent/merge.html" };
    agent_page(state, viewer, status, template, ctx, (csrf, new_csrf))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /agent/users/{id}/merge`.
async fn merge_view(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<MergeQuery>,
) -> Response {
    let (caller, me) = match super::agent::agent_caller(&state, &headers, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let viewer = Viewer::of(&state, &headers, Some(&uri), Some(&me.prefs));
    let this = match crate::services::params::parse_id(&id) {
        Ok(id) => users::get(&state, &caller, UserId(id)).await,
        Err(e) => Err(e),
    };
    let this = match this {
        Ok(u) => u,
        Err(e) => return page_for_error(&state, Audience::Agent, &viewer, e),
    };
    if let Err(e) = caller.require(Permission::UsersMerge) {
        return page_for_error(&state, Audience::Agent, &viewer, e);
    }
    render_merge(&state, &caller, &me, &headers, &viewer, this, &q, StatusCode::OK, None).await
}

/// `POST /agent/users/{survivor}/merge` with `source_id`: the source's records move to the
/// survivor and the source is deleted; then the survivor's record says so.
async fn merge(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let source = p.form.get("source_id").and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(0);
    match users::merge(&state, &p.caller, UserId(p.id), source).await {
        Ok(u) => go(&p.headers, &format!("/agent/users/{}?merged={source}", u.id.0)),
        Err(Error::Forbidden(_)) if !p.caller.has(Permission::UsersMerge) => {
            p.fail(&state, Error::Forbidden("merging users needs the `users_merge` permission".into()))
        }
        Err(e @ (Error::Invalid(_) | Error::Forbidden(_) | Error::Conflict { .. })) => {
            let (status, message) = match e {
                Error::Invalid(f) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, f.values().cloned().collect::<Vec<_>>().join(" "))
                }
                Error::Forbidden(m) => (StatusCode::FORBIDDEN, m),
                Error::Conflict { message, .. } => (StatusCode::UNPROCESSABLE_ENTITY, message),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, String::new()),
            };
            // the view again, from the survivor's side, with the reason
            let this = match users::get(&state, &p.caller, UserId(p.id)).await {
                Ok(u) => u,
                Err(e) => return p.fail(&state, e),
            };
            let q = MergeQuery { other: source.to_string(), ..Default::default() };
            render_merge(&state, &p.caller, &p.me, &p.headers, &p.viewer, this, &q, status, Some(message)).await
        }
        Err(e) => p.fail(&state, e),
    }
}

/// The clone form's fields: what was posted, else the source's name and a free username.
fn clone_fields(form: &Pairs, name: &str, username: &str) -> Vec<Field> {
    let posted = !form.0.is_empty();
    let v = |n: &str, default: &str| if posted { form.get(n).unwrap_or_default().to_string() } else { default.into() };
    vec![
        Field::text("display_name", &v("display_name", name)).auto("off"),
        Field::text("username", &v("username", username)).auto("off"),
        Field::text("email", &v("email", "")).kind("email").auto("off").hint("hint-clone-email"),
    ]
}

/// A form page about one user (`subject`): a new-record group named `name` (its title
/// `title_key`) posting to `/agent/users/{id}/<path>`, with the service's messages by the fields
/// (`emails[0]` is the form's `email_field`).
struct FormPage<'a> {
    subject: &'a User,
    name: &'static str,
    title_key: &'static str,
    path: String,
    email_field: &'static str,
}

impl FormPage<'_> {
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        viewer: &Viewer,
        me: &Me,
        fields: Vec<Field>,
        status: StatusCode,
        errors: &FieldErrors,
        form: &Pairs,
    ) -> Response {
        let back = format!("/agent/users/{}", self.subject.id.0);
        let action = format!("{back}/{}", self.path);
        let version = self.subject.version;
        let mut g = Group::new(self.name, "details", fields, true, version, &action, action.clone());
        g.editing = true;
        g.view_href = back.clone();
        if !errors.is_empty() {
            let message = super::theme_for(state, Audience::Agent).catalogs.text(&viewer.lang, "form-errors");
            let errors: FieldErrors = errors
                .iter()
                .map(|(k, v)| {
                    (if k.starts_with("emails") { self.email_field.to_string() } else { k.clone() }, v.clone())
                })
                .collect();
            g.fail(form, &errors, false, version, &message);
        }
        let csrf = csrf_of(state, headers);
        let mut ctx = tera::Context::new();
        ctx.insert("me", &me.display_name);
        ctx.insert("csrf", &csrf.0);
        ctx.insert("return_to", &back);
        ctx.insert("g", &g);
        ctx.insert("title_key", self.title_key);
        ctx.insert("for_name", &self.subject.display_name);
        agent_page(state, viewer, status, "agent/new.html", ctx, csrf)
    }
}

/// The user a form page is about, for an agent who may edit users: the caller, their own
/// record, how they see pages, and the user; or the answer that refuses.
async fn form_subject(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    id: &str,
) -> Result<(Caller, Me, Viewer, User), Response> {
    let (caller, me) = super::agent::agent_caller(state, headers, uri).await?;
    let viewer = Viewer::of(state, headers, Some(uri), Some(&me.prefs));
    let subject = match crate::services::params::parse_id(id) {
        Ok(id) => users::get(state, &caller, UserId(id)).await,
        Err(e) => Err(e),
    };
    match subject.and_then(|u| caller.require(Permission::UsersEdit).map(|()| u)) {
        Ok(u) => Ok((caller, me, viewer, u)),
        Err(e) => Err(page_for_error(state, Audience::Agent, &viewer, e)),
    }
}

fn clone_form_page(source: &User) -> FormPage<'_> {
    FormPage { subject: source, name: "new-clone", title_key: "user-clone", path: "clone".into(), email_field: "email" }
}

/// `GET /agent/users/{id}/clone`: the copy's name, username and address (an address belongs
/// to one user, so the source's are not copied).
async fn clone_form(State(state): State<AppState>, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let (_, me, viewer, source) = match form_subject(&state, &headers, &uri, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let username = users::free_username(&state, &format!("{}-copy", source.username)).await.unwrap_or_default();
    let empty = Pairs(Vec::new());
    let fields = clone_fields(&empty, &source.display_name, &username);
    let page = clone_form_page(&source);
    page.render(&state, &headers, &viewer, &me, fields, StatusCode::OK, &FieldErrors::new(), &empty)
}

/// `POST /agent/users/{id}/clone`: a copy of the user (settings, contact details, labels, roles
/// and phones; not the password or addresses) under the name, username and address given.
async fn clone(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let source = match users::get(&state, &p.caller, UserId(p.id)).await {
        Ok(u) => u,
        Err(e) => return p.fail(&state, e),
    };
    let get = |n: &str| p.form.get(n).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let input = users::CloneInput {
        username: get("username"),
        display_name: get("display_name"),
        emails: Some(
            get("email").map(|email| vec![EmailInput { email, primary: true, verified: false }]).unwrap_or_default(),
        ),
    };
    match users::clone(&state, &p.caller, source.id, input).await {
        Ok(u) => Redirect::to(&format!("/agent/users/{}", u.id.0)).into_response(),
        Err(e @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let errors = match e {
                Error::Invalid(errors) => errors,
                Error::Conflict { field, message } => FieldErrors::from([(field, message)]),
                _ => FieldErrors::new(),
            };
            let fields = clone_fields(&p.form, "", "");
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            clone_form_page(&source).render(&state, &p.headers, &p.viewer, &p.me, fields, status, &errors, &p.form)
        }
        Err(e) => p.fail(&state, e),
    }
}

// ---- a new ticket or call log for the user ----

/// The kinds of record an agent starts from a user's record.
fn kind_of(raw: &str) -> Option<(RecordKind, &'static str)> {
    match raw {
        "ticket" => Some((RecordKind::Ticket, "ticket")),
        "call" => Some((RecordKind::Call, "call")),
        _ => None,
    }
}

/// The form's fields: what was posted, else the user's primary address and first phone.
fn record_fields(kind: RecordKind, user: &User, form: &Pairs, tr: &dyn Fn(&str) -> String) -> Vec<Field> {
    let primary = user.primary_email().map(|e| e.email.clone()).unwrap_or_default();
    let phone = user.phones.first().map(|p| p.raw.clone()).unwrap_or_default();
    let posted = !form.0.is_empty();
    let v = |name: &str, default: &str| {
        if posted { form.get(name).unwrap_or_default().to_string() } else { default.to_string() }
    };
    let select = |name: &str, options: &[&str], default: &str| {
        let chosen = v(name, default);
        let mut f = Field::text(name, &chosen).kind("select");
        f.options = options.iter().map(|o| (o.to_string(), tr(&format!("{name}-{o}")), *o == chosen)).collect();
        f
    };
    match kind {
        RecordKind::Ticket => vec![
            Field::text("subject", &v("subject", "")),
            select("status", &["open", "pending", "resolved", "closed"], "open"),
            Field::text("emails", &v("emails", &primary)).hint("hint-emails"),
        ],
        _ => vec![
            select("direction", &["inbound", "outbound"], "inbound"),
            Field::text("phone", &v("phone", &phone)).kind("tel").auto("off"),
            Field::text("email", &v("email", &primary)).kind("email").auto("off"),
            Field::text("duration", &v("duration", "")).hint("hint-duration"),
        ],
    }
}

/// `m:ss` or whole minutes, as seconds.
fn duration_secs(raw: &str) -> Result<i64, Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(0);
    }
    let bad = || Error::invalid("duration", "write minutes:seconds, e.g. 4:30");
    let (m, s) = match raw.split_once(':') {
        Some((m, s)) => (m.trim().parse::<i64>().map_err(|_| bad())?, s.trim().parse::<i64>().map_err(|_| bad())?),
        None => (raw.parse::<i64>().map_err(|_| bad())?, 0),
    };
    if !(0..60).contains(&s) || !(0..=100_000).contains(&m) {
        return Err(bad());
    }
    Ok(m * 60 + s)
}

/// The posted form as the record service takes it.
fn record_input(kind: RecordKind, user: UserId, form: &Pairs) -> Result<RecordInput, Error> {
    let get = |n: &str| form.get(n).unwrap_or_default().trim().to_string();
    let opt = |n: &str| Some(Some(get(n)).filter(|s| !s.is_empty()));
    Ok(match kind {
        RecordKind::Ticket => RecordInput {
            subject: Some(get("subject")),
            status: Some(get("status")),
            user_id: Some(Some(user.0)),
            emails: Some(
                get("emails").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
            ),
            ..Default::default()
        },
        _ => RecordInput {
            direction: Some(get("direction")),
            phone: opt("phone"),
            email: opt("email"),
            duration_secs: Some(duration_secs(&get("duration"))?),
            ..Default::default()
        },
    })
}

fn record_form_page<'a>(user: &'a User, kind: &'static str) -> FormPage<'a> {
    let (name, email_field) = if kind == "ticket" { ("new-ticket", "emails") } else { ("new-call", "email") };
    FormPage { subject: user, name, title_key: name, path: format!("new/{kind}"), email_field }
}

/// `GET /agent/users/{id}/new/{ticket|call}`.
async fn new_record_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, kind)): Path<(String, String)>,
) -> Response {
    let (_, me, viewer, user) = match form_subject(&state, &headers, &uri, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some((kind, name)) = kind_of(&kind) else {
        return page_for_error(&state, Audience::Agent, &viewer, Error::NotFound);
    };
    let empty = Pairs(Vec::new());
    let catalogs = &super::theme_for(&state, Audience::Agent).catalogs;
    let fields = record_fields(kind, &user, &empty, &|k| catalogs.text(&viewer.lang, k));
    let page = record_form_page(&user, name);
    page.render(&state, &headers, &viewer, &me, fields, StatusCode::OK, &FieldErrors::new(), &empty)
}

/// `POST /agent/users/{id}/new/{ticket|call}`: the record, then the user's tab that lists it.
async fn new_record(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    request: Request,
) -> Response {
    let p = match Posted::read(&state, Some(&id), request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some((kind, name)) = kind_of(&kind) else {
        return p.fail(&state, Error::NotFound);
    };
    let user = match users::get(&state, &p.caller, UserId(p.id)).await {
        Ok(u) => u,
        Err(e) => return p.fail(&state, e),
    };
    let created = match record_input(kind, user.id, &p.form) {
        Ok(input) => records::create(&state, &p.caller, kind, input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => {
            let tab = if kind == RecordKind::Ticket { "tickets" } else { "calls" };
            Redirect::to(&format!("/agent/users/{}/{tab}?saved={name}", user.id.0)).into_response()
        }
        Err(Error::Invalid(errors)) => {
            let catalogs = &super::theme_for(&state, Audience::Agent).catalogs;
            let fields = record_fields(kind, &user, &p.form, &|k| catalogs.text(&p.viewer.lang, k));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            record_form_page(&user, name).render(&state, &p.headers, &p.viewer, &p.me, fields, status, &errors, &p.form)
        }
        Err(e) => p.fail(&state, e),
    }
}

#[cfg(test)]
mod tests {
    use super::duration_secs;

    #[test]
    fn durations_read_as_agents_write_them() {
        assert_eq!(duration_secs("4:30").ok(), Some(270));
        assert_eq!(duration_secs(" 12 ").ok(), Some(720));
        assert_eq!(duration_secs("").ok(), Some(0));
        assert!(duration_secs("4:75").is_err());
        assert!(duration_secs("four").is_err());
        assert!(duration_secs("-3").is_err());
    }
}
