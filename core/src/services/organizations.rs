//! Organizations: search, create, edit, delete; membership rules and their preview; the tabs
//! the rules pull records into; agent-only comments; the change log. Reading needs
//! `organizations_view` (the Users tab `users_view` too); changing an organization or its rules
//! `organizations_edit`; deleting `organizations_delete`; commenting `comment`.

use super::Caller;
use super::custom_fields::check_values;
use super::params::{parse_cursor, parse_fragment, parse_id_cursor, parse_limit, parse_order};
use crate::app::App;
use crate::domain::change::Change;
use crate::domain::custom_field::Entity;
use crate::domain::organization::{
    Organization, OrganizationFields, OrganizationId, OrganizationInput, Rule, RuleId, RuleInput, RuleSpec, Tab,
    TabItem,
};
use crate::domain::role::Permission;
use crate::domain::{Error, Result};
use crate::store::{Comment, CommentOn, OrgQuery, OrgSort, Page, TabCounts};

/// An organization list as asked for (text as it came).
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// A fragment of the name, website or phone number, any letter case.
    pub q: Option<String>,
    /// name (default), website or phone.
    pub sort: Option<String>,
    /// asc (default) or desc.
    pub order: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// Searches and lists organizations.
pub async fn list(app: &App, caller: &Caller, p: &ListParams) -> Result<Page<Organization>> {
    caller.require(Permission::OrganizationsView)?;
    let sort = match p.sort.as_deref().unwrap_or("name") {
        "name" | "" => OrgSort::Name,
        "website" => OrgSort::Website,
        "phone" => OrgSort::Phone,
        _ => return Err(Error::invalid("sort", "must be name, website or phone")),
    };
    let descending = parse_order(p.order.as_deref())?;
    let q = parse_fragment(p.q.as_deref())?;
    let after = parse_cursor(p.cursor.as_deref())?;
    if after.as_ref().is_some_and(|c| c.s.is_none()) {
        return Err(Error::invalid("cursor", "is not a cursor this list gave out"));
    }
    let query = OrgQuery { q, sort, descending, limit: parse_limit(p.limit.as_deref())?, after };
    app.store.list_orgs(&query).await
}

/// Up to `limit` organizations A–Z whose name, website or phone holds `fragment` (all when
/// empty), and `also` wherever it falls: what the user directory's navigation lists.
pub async fn names(
    app: &App,
    caller: &Caller,
    fragment: Option<&str>,
    limit: i64,
    also: Option<OrganizationId>,
) -> Result<Vec<(OrganizationId, String)>> {
    caller.require(Permission::OrganizationsView)?;
    let fragment = parse_fragment(fragment)?;
    app.store.org_names(fragment.as_deref(), limit, also).await
}

/// How many users each organization's rules pull in (the navigation's counts).
pub async fn member_counts(app: &App, caller: &Caller, ids: &[OrganizationId]) -> Result<Vec<i64>> {
    caller.require(Permission::OrganizationsView)?;
    caller.require(Permission::UsersView)?;
    app.store.member_counts(ids).await
}

pub async fn get(app: &App, caller: &Caller, id: OrganizationId) -> Result<Organization> {
    caller.require(Permission::OrganizationsView)?;
    app.store.get_org(id).await
}

pub async fn create(app: &App, caller: &Caller, mut input: OrganizationInput) -> Result<Organization> {
    caller.require(Permission::OrganizationsEdit)?;
    let given = input.custom_fields.take().unwrap_or_default();
    input.custom_fields = Some(check_values(app, Entity::Organization, &given, true).await?);
    let fields = input.apply(OrganizationFields::default())?;
    app.store.create_org(&fields, &caller.actor()).await
}

/// Edits an organization: only the fields given change.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: OrganizationId,
    mut input: OrganizationInput,
) -> Result<Organization> {
    caller.require(Permission::OrganizationsEdit)?;
    if let Some(given) = input.custom_fields.take() {
        input.custom_fields = Some(check_values(app, Entity::Organization, &given, false).await?);
    }
    let edit = move |current: &Organization| {
        super::users::check_version(input.version, current.version)?;
        input.apply(current.to_fields())
    };
    app.store.update_org(id, edit, &caller.actor()).await
}

pub async fn delete(app: &App, caller: &Caller, id: OrganizationId) -> Result<()> {
    caller.require(Permission::OrganizationsDelete)?;
    app.store.delete_org(id, &caller.actor()).await
}

// ---- membership rules ----

pub async fn rules(app: &App, caller: &Caller, id: OrganizationId) -> Result<Vec<Rule>> {
    caller.require(Permission::OrganizationsView)?;
    app.store.list_rules(id).await
}

fn check_rule(app: &App, input: &RuleInput, base: Option<&RuleSpec>) -> Result<RuleSpec> {
    input.apply(base, &app.config.phone.default_region, &app.config.membership.public_domains)
}

/// Adds a membership rule. Values are normalized; malformed values, unknown usernames,
/// duplicates, public mail domains (unless confirmed) and `view_org_tickets` on a phone rule
/// are refused.
pub async fn add_rule(app: &App, caller: &Caller, id: OrganizationId, input: RuleInput) -> Result<Rule> {
    caller.require(Permission::OrganizationsEdit)?;
    let spec = check_rule(app, &input, None)?;
    let max = app.config.membership.max_rules_per_organization;
    if app.store.list_rules(id).await?.len() >= max {
        return Err(Error::invalid("value", format!("an organization has at most {max} membership rules")));
    }
    app.store.create_rule(id, &spec, &caller.actor()).await
}

pub async fn update_rule(
    app: &App,
    caller: &Caller,
    id: OrganizationId,
    rule: RuleId,
    input: RuleInput,
) -> Result<Rule> {
    caller.require(Permission::OrganizationsEdit)?;
    let (region, public) = (app.config.phone.default_region.clone(), app.config.membership.public_domains.clone());
    let edit = move |current: &RuleSpec| input.apply(Some(current), &region, &public);
    app.store.update_rule(id, rule, edit, &caller.actor()).await
}

pub async fn delete_rule(app: &App, caller: &Caller, id: OrganizationId, rule: RuleId) -> Result<()> {
    caller.require(Permission::OrganizationsEdit)?;
    app.store.delete_rule(id, rule, &caller.actor()).await
}

/// How many users, tickets, chats, calls and surveys a rule would pull in; nothing is saved.
pub async fn preview_rule(app: &App, caller: &Caller, id: OrganizationId, input: RuleInput) -> Result<TabCounts> {
    caller.require(Permission::OrganizationsEdit)?;
    app.store.get_org(id).await?;
    let spec = check_rule(app, &RuleInput { confirm_public_domain: true, ..input }, None)?;
    app.store.preview_rule(&spec).await
}

// ---- tabs, comments, changes ----

/// One page of what the rules pull into `tab`, newest first, each with `matched_by`.
pub async fn tab(
    app: &App,
    caller: &Caller,
    id: OrganizationId,
    tab: Tab,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<TabItem>> {
    caller.require(Permission::OrganizationsView)?;
    if tab == Tab::Users {
        caller.require(Permission::UsersView)?;
    }
    let after = parse_cursor(cursor)?;
    app.store.org_tab(id, tab, parse_limit(limit)?, after).await
}

pub async fn comments(
    app: &App,
    caller: &Caller,
    id: OrganizationId,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<Comment>> {
    caller.require(Permission::OrganizationsView)?;
    let cursor = parse_id_cursor(cursor)?;
    app.store.list_comments(CommentOn::Organization(id), parse_limit(limit)?, cursor).await
}

/// Adds an agent-only comment (1 to 10,000 characters).
pub async fn add_comment(app: &App, caller: &Caller, id: OrganizationId, body: &str) -> Result<Comment> {
    caller.require(Permission::OrganizationsView)?;
    caller.require(Permission::Comment)?;
    let body = comment_body(body)?;
    app.store.add_comment(CommentOn::Organization(id), &caller.actor(), body, false).await
}

/// A comment's text, trimmed: 1 to 10,000 characters.
pub(crate) fn comment_body(body: &str) -> Result<&str> {
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::invalid("body", "is required"));
    }
    if body.chars().count() > 10_000 {
        return Err(Error::invalid("body", "too long (at most 10000 characters)"));
    }
    Ok(body)
}

/// Every change to the organization, newest first.
pub async fn changes(
    app: &App,
    caller: &Caller,
    id: OrganizationId,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<Change>> {
    caller.require(Permission::OrganizationsView)?;
    app.store.get_org(id).await?;
    let cursor = parse_id_cursor(cursor)?;
    app.store.list_changes("organization", id.0, parse_limit(limit)?, cursor).await
}
