//! Users: search, create, read, edit, clone, delete, merge, and the change log; and the rules
//! of who may do which to whom, decided here once for every front:
//!
//! - reading needs `users_view`; creating, editing and cloning `users_edit`; deleting
//!   `users_delete`; merging `users_merge`;
//! - an agent's record is edited or deleted only by themselves or by someone with
//!   `roles_manage`; giving or taking an agent role needs `roles_manage`;
//! - a merge where either side is an agent needs `roles_manage`, even when the caller is one of
//!   the two: a merge moves the source's sign-in identities onto the survivor, so without this
//!   rule a Manager could take over another agent's account (or delete one they may not edit).

use std::collections::HashMap;

use super::Caller;
use super::custom_fields::check_values;
use super::params::{parse_cursor, parse_fragment, parse_id_cursor, parse_limit, parse_order};
use crate::app::App;
use crate::auth::{MAX_PASSWORD_BYTES, generate_password};
use crate::domain::change::{Actor, Change};
use crate::domain::custom_field::Entity;
use crate::domain::organization::{Membership, Tab, TabItem};
use crate::domain::records::TicketState;
use crate::domain::role::{ADMINISTRATOR, EVERYONE, Permission, REGISTERED_USER, RoleKind, VERIFIED_USER};
use crate::domain::user::{EmailInput, User, UserFields, UserHistory, UserInput, UserStats};
use crate::domain::{Error, Result, RoleId, UserId};
use crate::store::{Comment, CommentOn, Page, RoleFilter, Subject, UserQuery, UserSort};

/// A user list as asked for (text as it came: the API's query string, a page's parameters).
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// A fragment of a name, username, e-mail address, phone number, company or label.
    pub q: Option<String>,
    /// A role name (assigned or derived).
    pub role: Option<String>,
    /// A label, any letter case.
    pub label: Option<String>,
    /// `true`: only disabled users; `false`: only enabled ones.
    pub disabled: Option<String>,
    /// `true`: only users holding an agent role; `false`: only those holding none.
    pub agent: Option<String>,
    /// display_name (default), username, email, verified, last_login, created.
    pub sort: Option<String>,
    /// asc (default) or desc.
    pub order: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The sort keys a user list takes, as their parameter values.
pub const SORTS: [&str; 6] = ["display_name", "username", "email", "verified", "last_login", "created"];

fn parse_sort(raw: Option<&str>) -> Result<UserSort> {
    Ok(match raw.unwrap_or("display_name") {
        "display_name" | "" => UserSort::DisplayName,
        "username" => UserSort::Username,
        "email" => UserSort::Email,
        "verified" => UserSort::Verified,
        "last_login" => UserSort::LastLogin,
        "created" => UserSort::Created,
        _ => {
            return Err(Error::invalid(
                "sort",
                "must be display_name, username, email, verified, last_login or created",
            ));
        }
    })
}

/// The store's query for a list's parameters (each one checked).
async fn query_of(app: &App, p: &ListParams) -> Result<UserQuery> {
    let sort = parse_sort(p.sort.as_deref())?;
    let descending = parse_order(p.order.as_deref())?;
    let q = parse_fragment(p.q.as_deref())?;
    let role = match p.role.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(r) if r.eq_ignore_ascii_case(EVERYONE) || r.eq_ignore_ascii_case(REGISTERED_USER) => Some(RoleFilter::Any),
        Some(r) if r.eq_ignore_ascii_case(VERIFIED_USER) => Some(RoleFilter::VerifiedEmail),
        Some(r) => match app.store.find_role_by_name(r).await? {
            Some(role) => Some(RoleFilter::Assigned(role.id)),
            None => return Err(Error::invalid("role", format!("no role named `{r}`"))),
        },
    };
    let label = p.label.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let after = parse_cursor(p.cursor.as_deref())?;
    let limit = parse_limit(p.limit.as_deref())?;
    let disabled = match p.disabled.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(Error::invalid("disabled", "must be true or false")),
    };
    let agent = match p.agent.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(Error::invalid("agent", "must be true or false")),
    };
    let query = UserQuery { q, role, label, disabled, agent, sort, descending, limit, after, count_cap: None };
    Ok(query)
}

/// Searches and lists users.
pub async fn list(app: &App, caller: &Caller, p: &ListParams) -> Result<Page<User>> {
    caller.require(Permission::UsersView)?;
    let query = query_of(app, p).await?;
    app.store.list_users(&query).await
}

/// How far a page counts a list before it says "10,000+".
pub const PAGE_COUNT_CAP: i64 = 10_000;

/// [`list`] for a page: a total past [`PAGE_COUNT_CAP`] is `PAGE_COUNT_CAP + 1`, not exact.
pub async fn list_for_page(app: &App, caller: &Caller, p: &ListParams) -> Result<Page<User>> {
    caller.require(Permission::UsersView)?;
    let mut query = query_of(app, p).await?;
    query.count_cap = Some(PAGE_COUNT_CAP);
    app.store.list_users(&query).await
}

/// One user.
pub async fn get(app: &App, caller: &Caller, id: UserId) -> Result<User> {
    caller.require(Permission::UsersView)?;
    app.store.get_user(id).await
}

/// Several users by id, in the order asked (ids not found are left out).
pub async fn get_many(app: &App, caller: &Caller, ids: &[UserId]) -> Result<Vec<User>> {
    caller.require(Permission::UsersView)?;
    let mut found = app.store.get_users(ids).await?;
    found.sort_by_key(|u| ids.iter().position(|i| *i == u.id));
    Ok(found)
}

/// Role name (lowercase) → kind, for deciding whether a change touches agent roles.
async fn role_kinds(app: &App) -> Result<HashMap<String, RoleKind>> {
    Ok(app.store.list_roles().await?.into_iter().map(|r| (r.name.to_lowercase(), r.kind)).collect())
}

/// Giving or taking an agent role is an administrator's act (`roles_manage`), so an agent
/// with `users_edit` cannot raise anyone, themselves included, to agent or administrator.
fn check_agent_roles(caller: &Caller, kinds: &HashMap<String, RoleKind>, old: &[String], new: &[String]) -> Result<()> {
    let is_agent_role = |r: &String| kinds.get(&r.to_lowercase()) == Some(&RoleKind::Agent);
    let lower = |v: &[String]| v.iter().map(|r| r.to_lowercase()).collect::<Vec<_>>();
    let (old_l, new_l) = (lower(old), lower(new));
    let touched = new.iter().filter(|r| !old_l.contains(&r.to_lowercase())).any(is_agent_role)
        || old.iter().filter(|r| !new_l.contains(&r.to_lowercase())).any(is_agent_role);
    if touched && !caller.has(Permission::RolesManage) {
        return Err(Error::Forbidden("giving or taking agent roles needs the `roles_manage` permission".into()));
    }
    Ok(())
}

/// An agent's record is edited only by themselves or by someone who manages roles.
pub fn check_may_edit(caller: &Caller, target: &User) -> Result<()> {
    if target.is_agent && target.id != caller.id && !caller.has(Permission::RolesManage) {
        return Err(Error::Forbidden("editing another agent needs the `roles_manage` permission".into()));
    }
    Ok(())
}

/// May `caller` merge `source` into `survivor`? Both must be records the caller may edit, and
/// an agent on either side needs `roles_manage` whoever the caller is: a merge moves the
/// source's sign-in identities and roles onto the survivor and deletes the source.
pub fn check_may_merge(caller: &Caller, survivor: &User, source: &User) -> Result<()> {
    check_may_edit(caller, survivor)?;
    check_may_edit(caller, source)?;
    if (survivor.is_agent || source.is_agent) && !caller.has(Permission::RolesManage) {
        return Err(Error::Forbidden("merging an agent's account needs the `roles_manage` permission".into()));
    }
    Ok(())
}

async fn hash_if_given(app: &App, password: &Option<String>) -> Result<Option<String>> {
    match password {
        Some(pw) if pw.len() > MAX_PASSWORD_BYTES => {
            Err(Error::invalid("password", format!("too long (at most {MAX_PASSWORD_BYTES} bytes)")))
        }
        Some(pw) => Ok(Some(app.passwords.hash(pw.clone()).await?)),
        None => Ok(None),
    }
}

/// Creates a user; with an agent role (`roles: ["Agent"]`) the user is an agent.
pub async fn create(app: &App, caller: &Caller, mut input: UserInput) -> Result<User> {
    caller.require(Permission::UsersEdit)?;
    let given = input.custom_fields.take().unwrap_or_default();
    input.custom_fields = Some(check_values(app, Entity::User, &given, true).await?);
    let fields = input.apply(UserFields::defaults(&app.rules), &app.rules)?;
    check_agent_roles(caller, &role_kinds(app).await?, &[], &fields.roles)?;
    let hash = hash_if_given(app, &input.password).await?;
    app.store.create_user(&fields, hash.as_deref(), &caller.actor()).await
}

/// Edits a user: only the fields given change; `null` clears a clearable field.
pub async fn update(app: &App, caller: &Caller, id: UserId, mut input: UserInput) -> Result<User> {
    caller.require(Permission::UsersEdit)?;
    if let Some(given) = input.custom_fields.take() {
        input.custom_fields = Some(check_values(app, Entity::User, &given, false).await?);
    }
    let kinds = role_kinds(app).await?;
    let hash = hash_if_given(app, &input.password).await?;
    let rules = app.rules.clone();
    let who = caller.clone();
    let edit = move |current: &User| {
        check_may_edit(&who, current)?;
        check_version(input.version, current.version)?;
        let new = input.apply(current.to_fields(), &rules)?;
        check_agent_roles(&who, &kinds, &current.to_fields().roles, &new.roles)?;
        if new.disabled && !current.disabled && current.id == who.id {
            return Err(Error::invalid("disabled", "you cannot disable your own account"));
        }
        Ok(new)
    };
    app.store.update_user(id, edit, hash.as_deref(), &caller.actor()).await
}

/// An edit made over `expected` applies only if the record is still at that version (checked
/// under the record's write lock, so two saves of one version cannot both pass).
pub fn check_version(expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(Error::Stale { current }),
        _ => Ok(()),
    }
}

/// A person's own display preferences (colour scheme, single-key shortcuts): anyone logged
/// in sets their own, whatever their permissions. Other fields in `input` are refused.
pub async fn set_preferences(
    app: &App,
    caller: &Caller,
    ui_theme: Option<String>,
    shortcuts: Option<bool>,
) -> Result<User> {
    let input = UserInput { ui_theme, keyboard_shortcuts: shortcuts, ..Default::default() };
    let rules = app.rules.clone();
    let edit = move |current: &User| input.apply(current.to_fields(), &rules);
    app.store.update_user(caller.id, edit, None, &caller.actor()).await
}

/// Deletes a user. Their tickets, chats, calls and surveys stay, keeping their addresses.
pub async fn delete(app: &App, caller: &Caller, id: UserId) -> Result<()> {
    caller.require(Permission::UsersDelete)?;
    if id == caller.id {
        return Err(Error::invalid("id", "you cannot delete your own account"));
    }
    let target = app.store.get_user(id).await?;
    check_may_edit(caller, &target)?;
    app.store.delete_user(id, &caller.actor()).await
}

/// What a clone may set; everything else is copied from the source.
#[derive(Debug, Default)]
pub struct CloneInput {
    /// Defaults to the source's username with `-copy` (and a number if needed).
    pub username: Option<String>,
    /// Defaults to the source's display name.
    pub display_name: Option<String>,
    /// The copy's addresses (an address belongs to one user, so none are copied).
    pub emails: Option<Vec<EmailInput>>,
}

/// Copies a user's settings, contact details, labels, roles and phones into a new user;
/// username, password and e-mail addresses are not copied.
pub async fn clone(app: &App, caller: &Caller, id: UserId, input: CloneInput) -> Result<User> {
    caller.require(Permission::UsersEdit)?;
    let source = app.store.get_user(id).await?;
    let mut base = source.to_fields();
    base.emails.clear();
    // a clone starts as a working account
    base.disabled = false;
    check_agent_roles(caller, &role_kinds(app).await?, &[], &base.roles)?;
    let username = match input.username {
        Some(u) => u,
        None => free_username(app, &format!("{}-copy", source.username)).await?,
    };
    let input = UserInput {
        username: Some(username),
        display_name: input.display_name,
        emails: input.emails,
        ..Default::default()
    };
    let fields = input.apply(base, &app.rules)?;
    app.store.create_user(&fields, None, &caller.actor()).await
}

/// `base`, or `base2`, `base3`… whichever no one has.
pub async fn free_username(app: &App, base: &str) -> Result<String> {
    for n in 1..100 {
        let candidate = if n == 1 { base.to_string() } else { format!("{base}{n}") };
        if app.store.find_user_id(&candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(Error::invalid("username", "choose a username for the copy"))
}

/// Merges `source` into `survivor`: every address, phone, label, role, ticket, chat, survey,
/// comment and sign-in identity of the source moves over, in one transaction, and the source is
/// deleted; the change log says who merged what. The rule is [`check_may_merge`], decided inside
/// the transaction on the rows it locks.
pub async fn merge(app: &App, caller: &Caller, survivor: UserId, source: i64) -> Result<User> {
    caller.require(Permission::UsersMerge)?;
    if source <= 0 {
        return Err(Error::invalid("source_id", "no such user"));
    }
    let who = caller.clone();
    let check = move |keep: &User, gone: &User| check_may_merge(&who, keep, gone);
    app.store.merge_users(survivor, UserId(source), check, &caller.actor()).await
}

/// The first `limit` labels in use, A to Z (the directory's label views).
pub async fn labels_in_use(app: &App, caller: &Caller, limit: i64) -> Result<Vec<String>> {
    caller.require(Permission::UsersView)?;
    app.store.first_labels(limit).await
}

/// The directory views' sizes, each past [`PAGE_COUNT_CAP`] as `PAGE_COUNT_CAP + 1`:
/// everyone, verified, disabled, then `roles` and `labels` in order.
pub async fn view_counts(app: &App, caller: &Caller, roles: &[RoleId], labels: &[String]) -> Result<Vec<i64>> {
    caller.require(Permission::UsersView)?;
    app.store.view_counts(roles, labels, PAGE_COUNT_CAP).await
}

/// How many users one bulk action may change: more is a job for the API or an import, not a
/// click (and one transaction over a million rows would stall every other writer).
pub const BULK_MAX: usize = 1000;

/// Which users a bulk action is for: those ticked, or every user a list's search matches.
#[derive(Debug, Clone)]
pub enum Selection {
    Ids(Vec<UserId>),
    Matching(ListParams),
}

/// What a bulk action does to each user.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    AddLabel(String),
    RemoveLabel(String),
    AddRole(String),
    RemoveRole(String),
    Disable,
    Enable,
    Delete,
}

impl BulkAction {
    /// `add_label`, `remove_label`, `add_role`, `remove_role` (with `value`), `disable`,
    /// `enable`, `delete`.
    pub fn parse(action: &str, value: &str) -> Result<BulkAction> {
        let value = value.trim().to_string();
        let needs_value = matches!(action, "add_label" | "remove_label" | "add_role" | "remove_role");
        if needs_value && value.is_empty() {
            let what = if action.ends_with("label") { "a label" } else { "a role" };
            return Err(Error::invalid("value", format!("name {what}")));
        }
        Ok(match action {
            "add_label" => BulkAction::AddLabel(value),
            "remove_label" => BulkAction::RemoveLabel(value),
            "add_role" => BulkAction::AddRole(value),
            "remove_role" => BulkAction::RemoveRole(value),
            "disable" => BulkAction::Disable,
            "enable" => BulkAction::Enable,
            "delete" => BulkAction::Delete,
            _ => {
                return Err(Error::invalid(
                    "action",
                    "must be add_label, remove_label, add_role, remove_role, disable, enable or delete",
                ));
            }
        })
    }
}

/// The ids a selection names, at most [`BULK_MAX`] (more is refused, naming the limit).
pub async fn resolve_selection(app: &App, caller: &Caller, selection: &Selection) -> Result<Vec<UserId>> {
    caller.require(Permission::UsersView)?;
    let ids = match selection {
        Selection::Ids(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable_by_key(|i| i.0);
            ids.dedup();
            ids
        }
        Selection::Matching(p) => {
            // the ids alone, and counted no further than the limit
            let mut query = query_of(app, p).await?;
            query.limit = (BULK_MAX + 1) as i64;
            query.after = None;
            query.count_cap = Some(BULK_MAX as i64);
            app.store.list_user_ids(&query).await?.items
        }
    };
    if ids.is_empty() {
        return Err(Error::invalid("selection", "choose at least one user"));
    }
    if ids.len() > BULK_MAX {
        let why = format!("at most {BULK_MAX} users at once: narrow the search or use the API");
        return Err(Error::invalid("selection", why));
    }
    Ok(ids)
}

/// A refusal about one of many users, naming them.
fn about(user: &User, e: Error) -> Error {
    match e {
        Error::Forbidden(m) => Error::Forbidden(format!("{} (#{}): {m}", user.display_name, user.id.0)),
        Error::Invalid(f) => Error::Invalid(
            f.into_iter().map(|(k, v)| (k, format!("{} (#{}): {v}", user.display_name, user.id.0))).collect(),
        ),
        other => other,
    }
}

/// Applies `action` to every user of `ids` in one transaction: all change or none (a refusal
/// about any one names them). The permissions are those of the single edits: `users_edit`
/// (`users_delete` to delete), another agent only with `roles_manage`, agent roles only with
/// `roles_manage`, never disabling or deleting oneself. Answers how many users changed.
pub async fn bulk(app: &App, caller: &Caller, ids: &[UserId], action: BulkAction) -> Result<usize> {
    if ids.len() > BULK_MAX {
        return Err(Error::invalid("selection", format!("at most {BULK_MAX} users at once")));
    }
    let who = caller.clone();
    if action == BulkAction::Delete {
        caller.require(Permission::UsersDelete)?;
        let check = move |u: &User| {
            if u.id == who.id {
                return Err(about(u, Error::invalid("selection", "you cannot delete your own account")));
            }
            check_may_edit(&who, u).map_err(|e| about(u, e))
        };
        return app.store.delete_users(ids, check, &caller.actor()).await;
    }
    caller.require(Permission::UsersEdit)?;
    let kinds = role_kinds(app).await?;
    if let BulkAction::AddRole(r) | BulkAction::RemoveRole(r) = &action
        && !kinds.contains_key(&r.to_lowercase())
    {
        return Err(Error::invalid("value", format!("no role named `{r}`")));
    }
    let rules = app.rules.clone();
    let edit = move |current: &User| {
        let fields = current.to_fields();
        let same = |a: &String, b: &str| a.eq_ignore_ascii_case(b);
        let mut input = UserInput::default();
        match &action {
            BulkAction::AddLabel(l) | BulkAction::RemoveLabel(l) => {
                let mut labels: Vec<String> = fields.labels.iter().filter(|x| !same(x, l)).cloned().collect();
                if matches!(action, BulkAction::AddLabel(_)) {
                    labels.push(l.clone());
                }
                input.labels = Some(labels);
            }
            BulkAction::AddRole(r) | BulkAction::RemoveRole(r) => {
                let mut roles: Vec<String> = fields.roles.iter().filter(|x| !same(x, r)).cloned().collect();
                if matches!(action, BulkAction::AddRole(_)) {
                    roles.push(r.clone());
                }
                input.roles = Some(roles);
            }
            BulkAction::Disable | BulkAction::Enable => input.disabled = Some(action == BulkAction::Disable),
            BulkAction::Delete => {}
        }
        let check = || {
            check_may_edit(&who, current)?;
            let new = input.apply(fields.clone(), &rules)?;
            check_agent_roles(&who, &kinds, &fields.roles, &new.roles)?;
            if new.disabled && !current.disabled && current.id == who.id {
                return Err(Error::invalid("selection", "you cannot disable your own account"));
            }
            Ok(new)
        };
        check().map_err(|e| about(current, e))
    };
    app.store.update_users(ids, edit, &caller.actor()).await
}

/// Every change to the user, newest first.
pub async fn changes(
    app: &App,
    caller: &Caller,
    id: impl Into<Subject<'_>>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<Change>> {
    caller.require(Permission::UsersView)?;
    let id = match id.into() {
        Subject::User(u) => u.id,
        // the user must exist (a deleted user's log is not listed)
        Subject::Id(id) => app.store.get_user(id).await?.id,
    };
    let cursor = parse_id_cursor(cursor)?;
    app.store.list_changes("user", id.0, parse_limit(limit)?, cursor).await
}

// ---- an agent's recent and pinned records ----

/// Notes that the agent opened a record (`user` or `organization`): it leads their recent
/// list. Nothing is written when it already leads.
pub async fn opened(app: &App, caller: &Caller, kind: &str, id: i64, name: &str) -> Result<()> {
    if !caller.is_agent {
        return Ok(());
    }
    match caller.prefs.opened(kind, id, name) {
        Some(list) => app.store.set_agent_records(caller.id, &records_json(&list)).await,
        None => Ok(()),
    }
}

/// Pins a record to the agent's navigation, or unpins it.
pub async fn pin(app: &App, caller: &Caller, kind: &str, id: i64, name: &str, pinned: bool) -> Result<()> {
    if !caller.is_agent {
        return Err(Error::Forbidden("only agents pin records".into()));
    }
    if !["user", "organization"].contains(&kind) {
        return Err(Error::invalid("kind", "must be user or organization"));
    }
    let list = caller.prefs.pinned(kind, id, name, pinned).map_err(|why| Error::invalid("pinned", why))?;
    app.store.set_agent_records(caller.id, &records_json(&list)).await
}

fn records_json(list: &[crate::domain::user::RecentRecord]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

// ---- comments ----

/// The user's agent-only comments, newest first.
pub async fn comments(
    app: &App,
    caller: &Caller,
    id: UserId,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<Comment>> {
    caller.require(Permission::UsersView)?;
    let cursor = parse_id_cursor(cursor)?;
    app.store.list_comments(CommentOn::User(id), parse_limit(limit)?, cursor).await
}

/// How many pinned comments a user's header shows.
pub const PINNED_SHOWN: i64 = 5;

/// The user's pinned (sticky) comments, newest first (the record's header).
pub async fn pinned_comments(app: &App, caller: &Caller, id: UserId) -> Result<Vec<Comment>> {
    caller.require(Permission::UsersView)?;
    app.store.sticky_comments(CommentOn::User(id), PINNED_SHOWN).await
}

/// Adds an agent-only comment (1 to 10,000 characters); a sticky one shows in the header.
pub async fn add_comment(app: &App, caller: &Caller, id: UserId, body: &str, sticky: bool) -> Result<Comment> {
    caller.require(Permission::UsersView)?;
    caller.require(Permission::Comment)?;
    let body = super::organizations::comment_body(body)?;
    app.store.add_comment(CommentOn::User(id), &caller.actor(), body, sticky).await
}

/// Pins a comment to the user's header or takes it off.
pub async fn set_comment_sticky(app: &App, caller: &Caller, id: UserId, comment: i64, sticky: bool) -> Result<Comment> {
    caller.require(Permission::UsersView)?;
    caller.require(Permission::Comment)?;
    app.store.set_comment_sticky(CommentOn::User(id), comment, sticky).await
}

/// Deletes a comment: its author may, and so may an agent who may delete users.
pub async fn delete_comment(app: &App, caller: &Caller, id: UserId, comment: i64) -> Result<()> {
    caller.require(Permission::UsersView)?;
    caller.require(Permission::Comment)?;
    let on = CommentOn::User(id);
    if !caller.has(Permission::UsersDelete) {
        // only one's own: look first (the comment's author is not known before)
        let mine = app.store.comment_author(on, comment).await?;
        if mine != caller.actor().id {
            return Err(Error::Forbidden(
                "only its author or an agent who may delete users may delete a comment".into(),
            ));
        }
    }
    app.store.delete_comment(on, comment).await.map(|_| ())
}

/// Creates an administrator as the system (`kith admin create`, the first start). Without a
/// password one is generated and returned.
pub async fn create_admin(
    app: &App,
    username: &str,
    email: &str,
    password: Option<String>,
) -> Result<(User, Option<String>)> {
    let generated = password.is_none().then(generate_password);
    let password = password.or_else(|| generated.clone()).unwrap_or_default();
    let input = UserInput {
        username: Some(username.to_string()),
        emails: Some(vec![EmailInput { email: email.to_string(), primary: true, verified: true }]),
        roles: Some(vec![ADMINISTRATOR.to_string()]),
        password: Some(password.clone()),
        ..Default::default()
    };
    let fields = input.apply(UserFields::defaults(&app.rules), &app.rules)?;
    let hash = app.passwords.hash(password).await?;
    let user = app.store.create_user(&fields, Some(&hash), &Actor::system("kith admin create")).await?;
    Ok((user, generated))
}

/// Creates a user a directory, an identity provider or a plugin vouched for, as the system
/// (`actor` names the provider). Custom fields are not checked: provisioning sets none.
pub async fn provision(app: &App, fields: &UserFields, actor: &Actor) -> Result<User> {
    app.store.create_user(fields, None, actor).await
}

/// Re-applies what a directory or identity provider says about a user, as the system.
pub async fn refresh<F>(app: &App, id: UserId, edit: F, actor: &Actor) -> Result<User>
where
    F: FnOnce(&User) -> Result<UserFields> + Send,
{
    app.store.update_user(id, edit, None, actor).await
}

/// One page of the user's tickets (with `state` open or resolved), chats, calls or surveys:
/// linked to the account or sent from one of their addresses or numbers, newest first.
pub async fn tab(
    app: &App,
    caller: &Caller,
    id: impl Into<Subject<'_>>,
    tab: Tab,
    state: Option<TicketState>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<TabItem>> {
    caller.require(Permission::UsersView)?;
    app.store.user_tab(id.into(), tab, state, parse_limit(limit)?, parse_cursor(cursor)?).await
}

/// The organizations the user belongs to, each with its ticket count and the matching rules.
pub async fn organizations_of(app: &App, caller: &Caller, id: impl Into<Subject<'_>>) -> Result<Vec<Membership>> {
    caller.require(Permission::UsersView)?;
    caller.require(Permission::OrganizationsView)?;
    app.store.user_organizations(id.into()).await
}

/// The first `limit` organizations (A–Z) the user belongs to, ids and names (a header's
/// chips); none for an agent who may not see organizations.
pub async fn organization_names(
    app: &App,
    caller: &Caller,
    id: impl Into<Subject<'_>>,
    limit: i64,
) -> Result<Vec<(crate::domain::organization::OrganizationId, String)>> {
    caller.require(Permission::UsersView)?;
    if !caller.has(Permission::OrganizationsView) {
        return Ok(Vec::new());
    }
    app.store.user_organization_names(id.into(), limit).await
}

/// Counts of the user's tickets (open, resolved), chats, calls (and their time) and surveys.
pub async fn stats(app: &App, caller: &Caller, id: impl Into<Subject<'_>>) -> Result<UserStats> {
    caller.require(Permission::UsersView)?;
    app.store.user_counts(id.into()).await
}

/// Last login and the time of the user's last ticket, chat, call and survey.
pub async fn history(app: &App, caller: &Caller, id: impl Into<Subject<'_>>) -> Result<UserHistory> {
    caller.require(Permission::UsersView)?;
    app.store.user_history(id.into()).await
}

/// The caller's own record (anyone may read their own).
pub async fn me(app: &App, caller: &Caller) -> Result<User> {
    app.store.get_user(caller.id).await
}
