//! One login path for every way a password is checked: Kith's own argon2id hash, or an LDAP /
//! Active Directory provider (plugin providers plug in here too). The caller (the login
//! handler) throttles before and opens the session after; this module only answers *who*, if
//! anyone, the credentials belong to, creating or refreshing directory users on the way.

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::App;
use crate::config::OAuthProvider;
use crate::domain::change::Actor;
use crate::domain::organization::{OrganizationId, RuleKind, RuleSpec};
use crate::domain::user::{AuthMethod, User, UserFields, UserInput, UserRules};
use crate::domain::{Error, Result, UserId};
use crate::ldap::LdapProvider;
use crate::ldap::{self, DirectoryUser, LdapFailure, mapped_names};
use crate::oidc::Identity;

/// Credentials that checked out.
#[derive(Debug)]
pub struct Accepted {
    pub user: UserId,
    /// `password` or `ldap:<id>`.
    pub method: String,
    /// A fresh hash for a local password stored with outdated parameters.
    pub rehash: Option<String>,
}

/// Answers whose credentials these are, or `None` (the client gets one and the same 401 for
/// every reason; the reason is logged here).
pub async fn check_password(state: &App, username: &str, password: String) -> Result<Option<Accepted>> {
    let record = state.store.find_login(username).await?;
    let method = record.as_ref().map(|r| AuthMethod::parse(&r.auth_method));
    match (record, method) {
        (Some(r), Some(Ok(AuthMethod::Password))) => {
            let verified = state.passwords.verify(password, r.password_hash).await?;
            Ok(verified.ok.then_some(Accepted { user: r.id, method: r.auth_method, rehash: verified.rehash }))
        }
        (Some(r), Some(Ok(AuthMethod::Ldap(id)))) => {
            let Some(provider) = state.config.auth.ldap.iter().find(|p| p.id == id) else {
                tracing::warn!(method = %r.auth_method, "login refused: no such LDAP provider is configured");
                return Ok(None);
            };
            match ldap::authenticate(provider, username, &password).await {
                Ok(entry) => match refused_if_unusable(provider, refresh_user(state, provider, r.id, &entry).await)? {
                    Some(()) => {
                        sync_organizations(state, provider, r.id, &entry).await?;
                        Ok(Some(Accepted { user: r.id, method: r.auth_method, rehash: None }))
                    }
                    None => Ok(None),
                },
                Err(e) => {
                    log_failure(provider, &e);
                    Ok(None)
                }
            }
        }
        (Some(r), Some(Ok(AuthMethod::Plugin(plugin)))) => {
            let ok = plugin_login(state, &plugin, r.id, username, password).await?;
            Ok(ok.then_some(Accepted { user: r.id, method: r.auth_method, rehash: None }))
        }
        (Some(_), _) => {
            // another method (OIDC): no password of theirs is checked here
            let _ = state.passwords.verify(password, None).await?;
            Ok(None)
        }
        (None, _) => {
            for provider in state.config.auth.ldap.iter().filter(|p| p.create_users) {
                match ldap::authenticate(provider, username, &password).await {
                    Ok(entry) => {
                        let method = format!("ldap:{}", provider.id);
                        let created = refused_if_unusable(provider, create_user(state, provider, &entry).await)?;
                        if let Some(user) = created {
                            sync_organizations(state, provider, user, &entry).await?;
                        }
                        return Ok(created.map(|user| Accepted { user, method, rehash: None }));
                    }
                    Err(LdapFailure::NotFound) => continue,
                    Err(e) => {
                        log_failure(provider, &e);
                        return Ok(None);
                    }
                }
            }
            // the same work as a wrong password for a local user
            let _ = state.passwords.verify(password, None).await?;
            Ok(None)
        }
    }
}

/// Asks an auth-provider plugin. Fails closed: a fault, a disabled plugin or a plugin error is
/// a refusal. The account is keyed by (plugin, external id): the first accepted login links
/// the user to the external id the plugin named, and a later answer naming another user's
/// external id is refused. Nothing the plugin says about groups or roles is used.
async fn plugin_login(state: &App, plugin: &str, user: UserId, username: &str, password: String) -> Result<bool> {
    use crate::plugins::{Answer, AuthOutcome, Credentials, Hook};
    let creds = Credentials { username: username.to_string(), password, remote_addr: None };
    let outcome = match state.plugins.call(plugin, Hook::Authenticate(creds)).await {
        Ok(Answer::Authenticate(Ok(o))) => o,
        Ok(Answer::Authenticate(Err(e))) => {
            tracing::warn!(plugin, error = ?e, "plugin login refused: the plugin reported an error");
            return Ok(false);
        }
        Ok(_) => return Ok(false),
        Err(e) => {
            tracing::warn!(plugin, error = %e, "plugin login refused: the plugin could not answer");
            return Ok(false);
        }
    };
    let who = match outcome {
        AuthOutcome::Accepted(who) => who,
        AuthOutcome::Rejected(why) => {
            tracing::info!(plugin, reason = %crate::plugins::host::truncate(&why, 200), "plugin login rejected");
            return Ok(false);
        }
        AuthOutcome::NotHandled => return Ok(false),
    };
    if who.external_id.is_empty() || who.external_id.chars().any(char::is_control) {
        tracing::warn!(plugin, "plugin login refused: the plugin named no usable external id");
        return Ok(false);
    }
    let issuer = format!("plugin:{plugin}");
    match state.store.find_identity(&issuer, &who.external_id).await? {
        Some(linked) if linked == user => Ok(true),
        Some(_) => {
            tracing::warn!(plugin, user = %user, "plugin login refused: the plugin named another user's external id");
            Ok(false)
        }
        None => {
            if state.store.identity_of(user, &issuer).await?.is_some() {
                tracing::warn!(plugin, user = %user, "plugin login refused: the user is linked to another external id");
                return Ok(false);
            }
            state.store.link_identity(&issuer, &who.external_id, user, plugin, None).await?;
            Ok(true)
        }
    }
}

/// A directory entry Kith cannot store (no or conflicting e-mail address, a bad value) refuses
/// the login like any other failure, logged; database trouble stays an error.
fn refused_if_unusable<T>(provider: &LdapProvider, r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e @ (Error::Invalid(_) | Error::Conflict { .. } | Error::Unauthenticated)) => {
            tracing::warn!(provider = %provider.id, error = %e, "LDAP login refused: the directory entry does not fit Kith");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn log_failure(provider: &LdapProvider, e: &LdapFailure) {
    match e {
        LdapFailure::Unavailable(_) | LdapFailure::TimedOut(_) => {
            tracing::warn!(provider = %provider.id, error = %e, "LDAP login failed: directory problem")
        }
        LdapFailure::Ambiguous(_) => tracing::warn!(provider = %provider.id, error = %e, "LDAP login refused"),
        _ => tracing::info!(provider = %provider.id, reason = %e, "LDAP login refused"),
    }
}

/// The roles a mapping manages (every role it names) and the ones `mapped` gives, both as
/// Kith spells them; names of roles Kith does not have are logged and left out.
async fn role_mapping(
    state: &App,
    source: &str,
    mapping: &std::collections::BTreeMap<String, Vec<String>>,
    mapped: BTreeSet<String>,
) -> Result<(BTreeSet<String>, Vec<String>)> {
    let existing: Vec<String> = state.store.list_roles().await?.into_iter().map(|r| r.name).collect();
    let canonical = |name: &str| existing.iter().find(|e| e.eq_ignore_ascii_case(name)).cloned();
    let managed: BTreeSet<String> =
        mapping.values().flatten().filter_map(|n| canonical(n)).map(|n| n.to_lowercase()).collect();
    let mut given = Vec::new();
    for name in mapped {
        match canonical(&name) {
            Some(n) => given.push(n),
            None => tracing::warn!(source = %source, role = %name, "a mapping names a role Kith does not have"),
        }
    }
    Ok((managed, given))
}

/// The roles a user holds after a mapping: those it does not manage stay, its own are set.
fn merge_roles(current: &[String], managed: &BTreeSet<String>, given: &[String]) -> Vec<String> {
    let mut roles: Vec<String> = current.iter().filter(|r| !managed.contains(&r.to_lowercase())).cloned().collect();
    for r in given {
        if !roles.iter().any(|x| x.eq_ignore_ascii_case(r)) {
            roles.push(r.clone());
        }
    }
    roles
}

/// The directory's view of a user as a user edit: names, addresses (verified: the directory
/// vouches for them), phones that parse, and the mapped roles next to the others they hold.
fn directory_input(
    entry: &DirectoryUser,
    current_roles: &[String],
    managed: &BTreeSet<String>,
    given: &[String],
) -> UserInput {
    let roles = merge_roles(current_roles, managed, given);
    let emails: Vec<_> = entry
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"email": e, "verified": true, "primary": i == 0}))
        .collect();
    let phones: Vec<_> = entry.phones.iter().map(|p| json!({"number": p, "kind": "work"})).collect();
    let value = json!({"display_name": entry.display_name, "emails": emails, "phones": phones, "roles": roles});
    serde_json::from_value(value).unwrap_or_default()
}

/// Applies the directory's input; phones the directory holds in a form Kith cannot read are
/// left out rather than failing the login.
fn apply_directory(input: UserInput, base: UserFields, rules: &UserRules) -> Result<UserFields> {
    match input.apply(base.clone(), rules) {
        Err(Error::Invalid(fields)) if fields.keys().all(|k| k.starts_with("phones")) => {
            tracing::warn!(fields = ?fields, "directory phone numbers Kith cannot read were left out");
            UserInput { phones: None, ..input }.apply(base, rules)
        }
        other => other,
    }
}

/// Keeps the user's username rules in the organizations a provider maps groups to in step
/// with their groups: a rule where they joined, none where they left. Organizations the
/// mapping does not name are not touched.
async fn sync_organizations(state: &App, provider: &LdapProvider, user: UserId, entry: &DirectoryUser) -> Result<()> {
    let actor = Actor::system(&format!("ldap:{}", provider.id));
    sync_org_rules(state, &actor, user, &provider.group_organizations, &entry.mapped_organizations(provider)).await
}

/// The organization half of a group or claim mapping: `mapping` (group → organization names)
/// says which organizations are managed, `wanted` which of them the user belongs to now.
async fn sync_org_rules(
    state: &App,
    actor: &Actor,
    user: UserId,
    mapping: &std::collections::BTreeMap<String, Vec<String>>,
    wanted: &BTreeSet<String>,
) -> Result<()> {
    if mapping.is_empty() {
        return Ok(());
    }
    let mut managed = std::collections::HashMap::new();
    for name in mapping.values().flatten() {
        match state.store.org_by_name(name).await? {
            Some(id) => {
                managed.insert(name.to_lowercase(), id);
            }
            None => {
                tracing::warn!(source = %actor.name, organization = %name, "a mapping names an organization Kith does not have")
            }
        }
    }
    let wanted: BTreeSet<i64> = wanted.iter().filter_map(|n| managed.get(&n.to_lowercase())).map(|id| id.0).collect();
    let managed_ids: BTreeSet<i64> = managed.values().map(|id| id.0).collect();
    let existing = state.store.username_rules_of(user).await?;
    for (rule, org) in &existing {
        if managed_ids.contains(&org.0) && !wanted.contains(&org.0) {
            state.store.delete_rule(*org, *rule, actor).await?;
        }
    }
    let username = state.store.get_user(user).await?.username;
    for org in wanted.iter().filter(|o| !existing.iter().any(|(_, e)| e.0 == **o)) {
        let spec = RuleSpec {
            kind: RuleKind::Username,
            value: username.clone(),
            include_subdomains: false,
            view_org_tickets: true,
        };
        state.store.create_rule(OrganizationId(*org), &spec, actor).await?;
    }
    Ok(())
}

/// Keeps an OIDC user's roles and organization rules in step with the provider's
/// `roles_claim` (a string or a list of strings in the ID token or userinfo).
pub async fn sync_claims(state: &App, p: &OAuthProvider, user: UserId, who: &Identity) -> Result<()> {
    if p.roles_claim.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = match who.claims.get(&p.roles_claim) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let actor = Actor::system(&format!("oauth:{}", p.id));
    if !p.claim_roles.is_empty() {
        let (managed, given) =
            role_mapping(state, &actor.name, &p.claim_roles, mapped_names(&values, &p.claim_roles)).await?;
        let rules = state.rules.clone();
        let edit = move |current: &User| {
            let fields = current.to_fields();
            let roles = merge_roles(&fields.roles, &managed, &given);
            UserInput { roles: Some(roles), ..UserInput::default() }.apply(fields, &rules)
        };
        crate::services::users::refresh(state, user, edit, &actor).await?;
    }
    sync_org_rules(state, &actor, user, &p.claim_organizations, &mapped_names(&values, &p.claim_organizations)).await
}

async fn create_user(state: &App, provider: &LdapProvider, entry: &DirectoryUser) -> Result<UserId> {
    if entry.emails.is_empty() {
        tracing::warn!(provider = %provider.id, dn = %entry.dn, "LDAP login refused: the entry has no e-mail address");
        return Err(Error::Unauthenticated);
    }
    let (managed, given) =
        role_mapping(state, &format!("ldap:{}", provider.id), &provider.group_roles, entry.mapped_roles(provider))
            .await?;
    let mut input = directory_input(entry, &[], &managed, &given);
    input.username = Some(entry.username.clone());
    input.auth_method = Some(format!("ldap:{}", provider.id));
    let fields = apply_directory(input, UserFields::defaults(&state.rules), &state.rules)?;
    let actor = Actor::system(&format!("ldap:{}", provider.id));
    let user: User = crate::services::users::provision(state, &fields, &actor).await?;
    tracing::info!(provider = %provider.id, user_id = user.id.0, "user created at first directory login");
    Ok(user.id)
}

async fn refresh_user(state: &App, provider: &LdapProvider, id: UserId, entry: &DirectoryUser) -> Result<()> {
    let (managed, given) =
        role_mapping(state, &format!("ldap:{}", provider.id), &provider.group_roles, entry.mapped_roles(provider))
            .await?;
    let actor = Actor::system(&format!("ldap:{}", provider.id));
    let rules = state.rules.clone();
    let entry = entry.clone();
    let edit = move |current: &User| {
        let fields = current.to_fields();
        let mut input = directory_input(&entry, &fields.roles, &managed, &given);
        if entry.emails.is_empty() {
            input.emails = None; // keep what Kith has rather than refuse
        }
        apply_directory(input, fields, &rules)
    };
    crate::services::users::refresh(state, id, edit, &actor).await.map(|_| ())
}

/// The Kith user an identity provider vouched for: the one linked to (issuer, subject); else,
/// where the provider allows it, the holder of the identity's *verified* e-mail address
/// (linked from now on); else a new user (`auth_method = oauth:<id>`). An address that
/// belongs to someone is never taken over silently: without linking, such a login is refused.
pub async fn external_user(state: &App, p: &OAuthProvider, who: &Identity) -> Result<Option<UserId>> {
    if let Some(id) = state.store.find_identity(&who.issuer, &who.subject).await? {
        return Ok(Some(id));
    }
    let method = format!("oauth:{}", p.id);
    if let Some(email) = &who.email
        && let Some(holder) = state.store.user_by_email(email).await?
    {
        if p.link_verified_email && who.email_verified {
            // the account's owner is told by e-mail (queued with the link itself): if it was not
            // them, they know at once
            let provider = if p.display_name.is_empty() { p.id.clone() } else { p.display_name.clone() };
            let (kind, payload) =
                crate::jobs::encode(&crate::jobs::Task::IdentityLinked { user_id: holder.0, provider })?;
            state.store.link_identity(&who.issuer, &who.subject, holder, &p.id, Some((kind, &payload))).await?;
            state.jobs_wake.notify_one();
            tracing::warn!(provider = %p.id, user_id = holder.0, "identity linked to an existing user by verified e-mail");
            return Ok(Some(holder));
        }
        tracing::warn!(provider = %p.id, "OIDC login refused: its e-mail address belongs to an existing user");
        return Ok(None);
    }
    if !p.create_users {
        tracing::info!(provider = %p.id, "OIDC login refused: unknown identity and create_users is off");
        return Ok(None);
    }
    let Some(email) = &who.email else {
        tracing::warn!(provider = %p.id, "OIDC login refused: the provider sent no e-mail address");
        return Ok(None);
    };
    let base = who
        .preferred_username
        .clone()
        .or_else(|| email.split('@').next().map(str::to_string))
        .unwrap_or_else(|| who.subject.clone());
    let base: String =
        base.chars().filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_')).take(40).collect::<String>();
    let base = if base.is_empty() { "user".to_string() } else { base };
    let mut username = base.clone();
    let mut n = 1;
    while state.store.find_user_id(&username).await?.is_some() {
        n += 1;
        username = format!("{base}{n}");
    }
    let value = json!({
        "username": username,
        "display_name": who.name.clone().unwrap_or_else(|| username.clone()),
        "emails": [{"email": email, "verified": who.email_verified, "primary": true}],
        "auth_method": method,
    });
    let input: UserInput = serde_json::from_value(value).map_err(|e| Error::Internal(e.to_string()))?;
    let fields = match input.apply(UserFields::defaults(&state.rules), &state.rules) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(provider = %p.id, error = %e, "OIDC login refused: the identity does not fit Kith");
            return Ok(None);
        }
    };
    let user = crate::services::users::provision(state, &fields, &Actor::system(&method)).await?;
    state.store.link_identity(&who.issuer, &who.subject, user.id, &p.id, None).await?;
    tracing::info!(provider = %p.id, user_id = user.id.0, "user created at first OIDC login");
    Ok(Some(user.id))
}
