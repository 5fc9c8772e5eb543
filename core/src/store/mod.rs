//! Storage: one set of store functions serving SQLite and PostgreSQL.
//!
//! The SQL lives once, in `store/sql/*.rs`. Each backend module (`sqlite`, `postgres`) includes
//! those files with `#[path]` after defining `DB`, `Conn`, `Pools` and `begin_write` for itself,
//! so the same source is compiled twice against concrete sqlx types — no runtime-generic driver,
//! no trait-bound maze. [`Store`] picks the backend from the database URL at start-up and
//! dispatches each call to it. SQL is written in the common dialect (`$1` parameters work on
//! both); the rare differences are constants in the backend modules (e.g. `FOR_UPDATE`).

/// Binds [`Val`]s to a query in order (the SQL of both backends uses it: user rows, bulk rows).
macro_rules! bind_vals {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                Val::I(n) => q.bind(*n),
                Val::T(s) => q.bind(s.as_str()),
                Val::B(b) => q.bind(*b),
                Val::NullI => q.bind(None::<i64>),
                Val::NullT => q.bind(None::<String>),
            };
        }
        q
    }};
}

mod constraints;
pub mod postgres;
pub mod sqlite;
pub mod timing;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::clock::{Clock, Millis, Timestamp};
use crate::domain::change::{Actor, Change};
use crate::domain::custom_field::{CustomField, CustomFieldSpec, Entity};
use crate::domain::organization::{
    Membership, Organization, OrganizationFields, OrganizationId, Rule, RuleId, RuleSpec, Tab, TabItem,
};
use crate::domain::records::{AnyRecord, RecordFields, RecordKind, TicketState};
use crate::domain::role::Role;
use crate::domain::user::{User, UserFields, UserHistory, UserStats};
use crate::domain::{Error, Result, RoleId, UserId};

/// A stored avatar image.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct StoredAvatar {
    /// `upload` or `plugin:<id>`.
    pub source: String,
    pub content_type: String,
    pub image: Vec<u8>,
    pub etag: String,
    pub compressed: bool,
    pub updated_at: i64,
    pub last_viewed_at: i64,
}

/// What an admin decided about one plugin (`plugin_settings`).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct PluginSettingsRow {
    pub plugin_id: String,
    pub enabled: bool,
    /// JSON object of settings (strings).
    pub config: String,
    /// JSON array of granted origins.
    pub granted_hosts: String,
    pub disabled_reason: Option<String>,
}

/// An API token as its owner and admins see it (never its secret, which is shown once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// The live holder of a token or session: who they are and the roles they hold.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    /// How pages look to them (read with the session: pages need no query of their own).
    pub prefs: crate::domain::user::Prefs,
    pub roles: Vec<Role>,
}

/// Whose tab or counts a query is for: a user by id (read first), or a user the caller has
/// already read (no second read: a page that shows the user and a tab of theirs reads them once).
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Id(UserId),
    User(&'a User),
}

impl From<UserId> for Subject<'_> {
    fn from(id: UserId) -> Self {
        Subject::Id(id)
    }
}

impl<'a> From<&'a User> for Subject<'a> {
    fn from(u: &'a User) -> Self {
        Subject::User(u)
    }
}

/// The database behind Kith.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    clock: Arc<dyn Clock>,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlite::Pools),
    Postgres(postgres::Pools),
}

/// Runs the same store function on whichever backend is configured.
/// Every call is timed for the request's `Server-Timing` ([`timing`]).
macro_rules! dispatch {
    ($self:expr, $module:ident :: $func:ident ( $($arg:expr),* $(,)? )) => {{
        let started = std::time::Instant::now();
        let answer = match &$self.backend {
            Backend::Sqlite(p) => sqlite::$module::$func(p, $($arg),*).await,
            Backend::Postgres(p) => postgres::$module::$func(p, $($arg),*).await,
        };
        timing::record(started);
        answer
    }};
}

impl Store {
    /// Connects to the database the URL names (`sqlite:` or `postgres://`).
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::connect(url, max_connections, acquire_timeout).await.map_err(db_err)?)
        } else {
            Backend::Sqlite(sqlite::connect(url, max_connections, acquire_timeout).await.map_err(db_err)?)
        };
        Ok(Store { backend, clock })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Applies pending migrations; each runs in its own transaction, so a crash leaves it
    /// either applied or not.
    pub async fn migrate(&self) -> Result<()> {
        let r = match &self.backend {
            Backend::Sqlite(p) => sqlite::migrate(p).await,
            Backend::Postgres(p) => postgres::migrate(p).await,
        };
        r.map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
        // indexes an interrupted `kith demo-data` set aside come back before anything serves
        let restored = self
            .bulk_restore_indexes(
                &|s: &str| tracing::warn!(statement = %s, "restoring an index an interrupted bulk load set aside"),
            )
            .await?;
        if restored > 0 {
            tracing::warn!(restored, "indexes restored after an interrupted bulk load");
        }
        let filled = dispatch!(self, users::backfill_username_skeletons())?;
        if filled > 0 {
            tracing::info!(users = filled, "filled the look-alike key of usernames written before it existed");
        }
        Ok(())
    }

    /// Answers whether the database takes queries (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(p) => sqlx::query("SELECT 1").execute(p.read()).await.map(|_| ()),
            Backend::Postgres(p) => sqlx::query("SELECT 1").execute(p.read()).await.map(|_| ()),
        }
        .map_err(db_err)
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::close(p).await,
            Backend::Postgres(p) => postgres::close(p).await,
        }
    }

    /// The SQLite durability settings as a pooled connection sees them (journal_mode,
    /// synchronous, busy_timeout, foreign_keys); `None` on PostgreSQL.
    pub async fn sqlite_pragmas(&self) -> Result<Option<(String, i64, i64, i64)>> {
        let Backend::Sqlite(p) = &self.backend else {
            return Ok(None);
        };
        let mut conn = p.read().acquire().await.map_err(db_err)?;
        let jm: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await.map_err(db_err)?;
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await.map_err(db_err)?;
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut *conn).await.map_err(db_err)?;
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *conn).await.map_err(db_err)?;
        Ok(Some((jm, sync, busy, fk)))
    }

    // ---- users ----

    pub async fn create_user(&self, fields: &UserFields, password_hash: Option<&str>, actor: &Actor) -> Result<User> {
        let now = self.now();
        dispatch!(self, users::create_user(fields, password_hash, actor, now))
    }

    pub async fn get_user(&self, id: UserId) -> Result<User> {
        dispatch!(self, users::get_user(id))
    }

    /// Several users in the order of `ids` (missing ones left out), in the statements one takes.
    pub async fn get_users(&self, ids: &[UserId]) -> Result<Vec<User>> {
        dispatch!(self, users::get_users(ids))
    }

    /// Edits a user inside one transaction: `edit` sees the locked current record and returns
    /// the new fields (or refuses); the difference is written with one change-log entry per field.
    pub async fn update_user<F>(&self, id: UserId, edit: F, password_hash: Option<&str>, actor: &Actor) -> Result<User>
    where
        F: FnOnce(&User) -> Result<UserFields> + Send,
    {
        let now = self.now();
        dispatch!(self, users::update_user(id, edit, password_hash, actor, now))
    }

    /// Edits several users in one transaction (all or none); see `update_users`.
    pub async fn update_users<F>(&self, ids: &[UserId], edit: F, actor: &Actor) -> Result<usize>
    where
        F: Fn(&User) -> Result<UserFields> + Send,
    {
        let now = self.now();
        dispatch!(self, users::update_users(ids, edit, actor, now))
    }

    /// Deletes several users in one transaction (all or none); `check` may refuse any of them.
    pub async fn delete_users<F>(&self, ids: &[UserId], check: F, actor: &Actor) -> Result<usize>
    where
        F: Fn(&User) -> Result<()> + Send,
    {
        let now = self.now();
        dispatch!(self, users::delete_users(ids, check, actor, now))
    }

    pub async fn delete_user(&self, id: UserId, actor: &Actor) -> Result<()> {
        let now = self.now();
        dispatch!(self, users::delete_user(id, actor, now))
    }

    /// Merges `source` into `survivor` (see `sql/users.rs`).
    pub async fn merge_users<F>(&self, survivor: UserId, source: UserId, check: F, actor: &Actor) -> Result<User>
    where
        F: FnOnce(&User, &User) -> Result<()> + Send,
    {
        let now = self.now();
        dispatch!(self, users::merge_users(survivor, source, check, actor, now))
    }

    pub async fn list_users(&self, q: &UserQuery) -> Result<Page<User>> {
        dispatch!(self, users::list_users(q))
    }

    /// [`Store::list_users`] as ids alone.
    pub async fn list_user_ids(&self, q: &UserQuery) -> Result<Page<UserId>> {
        dispatch!(self, users::list_user_ids(q))
    }

    /// What a password login needs: the user, their method and stored hash.
    pub async fn find_login(&self, username: &str) -> Result<Option<LoginRecord>> {
        dispatch!(self, users::find_login(username))
    }

    pub async fn find_user_id(&self, username: &str) -> Result<Option<UserId>> {
        dispatch!(self, users::find_user_id(username))
    }

    /// The first `limit` labels in use, A to Z.
    pub async fn first_labels(&self, limit: i64) -> Result<Vec<String>> {
        dispatch!(self, users::first_labels(limit))
    }

    /// The directory views' sizes, each counted to at most `cap + 1`: everyone, verified,
    /// disabled, then `roles` and `labels` in order.
    pub async fn view_counts(&self, roles: &[RoleId], labels: &[String], cap: i64) -> Result<Vec<i64>> {
        dispatch!(self, users::view_counts(roles, labels, cap))
    }

    pub async fn count_users(&self) -> Result<i64> {
        dispatch!(self, users::count_users())
    }

    // ---- roles ----

    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        dispatch!(self, roles::list_roles())
    }

    pub async fn get_role(&self, id: RoleId) -> Result<Role> {
        dispatch!(self, roles::get_role(id))
    }

    pub async fn create_role(&self, role: &RoleWrite, actor: &Actor) -> Result<Role> {
        let now = self.now();
        dispatch!(self, roles::create_role(role, actor, now))
    }

    pub async fn update_role(&self, id: RoleId, role: &RoleWrite, actor: &Actor) -> Result<Role> {
        let now = self.now();
        dispatch!(self, roles::update_role(id, role, actor, now))
    }

    pub async fn delete_role(&self, id: RoleId, actor: &Actor) -> Result<()> {
        let now = self.now();
        dispatch!(self, roles::delete_role(id, actor, now))
    }

    /// A role by name, any letter case.
    pub async fn find_role_by_name(&self, name: &str) -> Result<Option<Role>> {
        dispatch!(self, roles::find_role_by_name(name))
    }

    /// The roles a user holds (assigned only).
    pub async fn user_roles(&self, id: UserId) -> Result<Vec<Role>> {
        dispatch!(self, roles::user_roles(id))
    }

    // ---- tokens and sessions ----

    pub async fn list_api_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>> {
        dispatch!(self, auth::list_api_tokens(user))
    }

    pub async fn get_api_token(&self, id: i64) -> Result<Option<ApiToken>> {
        dispatch!(self, auth::get_api_token(id))
    }

    /// Answers whether the token exists; revoking a revoked token changes nothing.
    pub async fn revoke_api_token(&self, id: i64) -> Result<bool> {
        let now = self.now();
        dispatch!(self, auth::revoke_api_token(id, now))
    }

    pub async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        expires_at: Option<Millis>,
    ) -> Result<ApiToken> {
        let now = self.now();
        dispatch!(self, auth::create_api_token(user, name, token_hash, expires_at, now))
    }

    /// Reserves one credential check for an account name: `None` lets it go ahead, `Some(ms)`
    /// says how long to wait first. See [`LoginPolicy`].
    pub async fn reserve_login_attempt(&self, account_key: &str, policy: &LoginPolicy) -> Result<Option<Millis>> {
        let now = self.now();
        dispatch!(self, logins::reserve_attempt(account_key, policy, now))
    }

    /// Turns a checked credential into a session (one transaction); answers its expiry.
    pub async fn complete_login(&self, session: &NewSession<'_>) -> Result<Millis> {
        let now = self.now();
        dispatch!(self, logins::complete_login(session, now))
    }

    /// Stores an OpenID Connect login in flight under the hash of its `state`.
    /// Stores a pending login unless `max_pending` live ones exist already (then 503).
    pub async fn save_pending_login(&self, p: &PendingLogin, state_hash: &str, max_pending: i64) -> Result<()> {
        let now = self.now();
        dispatch!(self, logins::save_pending(p, state_hash, max_pending, now))
    }

    /// Takes the pending login of a `state` hash; a second take finds nothing.
    pub async fn take_pending_login(&self, state_hash: &str) -> Result<Option<PendingLogin>> {
        dispatch!(self, logins::take_pending(state_hash))
    }

    pub async fn find_identity(&self, issuer: &str, subject: &str) -> Result<Option<UserId>> {
        dispatch!(self, logins::find_identity(issuer, subject))
    }

    pub async fn identity_of(&self, user: UserId, issuer: &str) -> Result<Option<String>> {
        dispatch!(self, logins::identity_of(user, issuer))
    }

    /// Links an external identity to a user; `notice` (a job's kind and payload) is queued in
    /// the same transaction, so the owner is told exactly when the link exists.
    pub async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: UserId,
        provider: &str,
        notice: Option<(&str, &str)>,
    ) -> Result<()> {
        let now = self.now();
        dispatch!(self, logins::link_identity(issuer, subject, user, provider, notice, now))
    }

    pub async fn org_by_name(&self, name: &str) -> Result<Option<OrganizationId>> {
        dispatch!(self, organizations::org_by_name(name))
    }

    /// The username rules naming a user: (rule, organization).
    pub async fn username_rules_of(&self, user: UserId) -> Result<Vec<(RuleId, OrganizationId)>> {
        dispatch!(self, organizations::username_rules_of(user))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserId>> {
        dispatch!(self, logins::user_by_email(email))
    }

    /// The live holder of a token or session hash, with their name and assigned roles; a
    /// session's idle expiry moves on.
    pub async fn caller(&self, token_hash: &str, kind: TokenKind, idle_ms: Millis) -> Result<Option<TokenHolder>> {
        let now = self.now();
        dispatch!(self, auth::caller(token_hash, kind, now, idle_ms))
    }

    /// Stores an agent's recent and pinned records (their JSON).
    pub async fn set_agent_records(&self, user: UserId, records: &str) -> Result<()> {
        dispatch!(self, auth::set_agent_records(user, records))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        dispatch!(self, auth::delete_session(token_hash))
    }

    pub async fn delete_user_sessions(&self, user: UserId) -> Result<u64> {
        dispatch!(self, auth::delete_user_sessions(user))
    }

    // ---- password resets ----

    /// Stores a reset link (its token's hash) for the owner of `address`, if they may get one
    /// now (see `sql/accounts.rs`), and answers who it goes to.
    pub async fn issue_password_reset(
        &self,
        address: &str,
        token_hash: &str,
        ttl_ms: Millis,
        per_hour: i64,
    ) -> Result<Option<ResetTarget>> {
        let now = self.now();
        dispatch!(self, accounts::issue(address, token_hash, ttl_ms, per_hour, now))
    }

    /// Whose live reset link this is.
    pub async fn password_reset_holder(&self, token_hash: &str) -> Result<Option<ResetTarget>> {
        let now = self.now();
        dispatch!(self, accounts::holder(token_hash, now))
    }

    /// Uses a reset link: new password, links used up, sessions ended (one transaction).
    pub async fn reset_password(&self, token_hash: &str, password_hash: &str) -> Result<Option<UserId>> {
        let now = self.now();
        dispatch!(self, accounts::reset(token_hash, password_hash, now))
    }

    /// A user's own password change (see `sql/accounts.rs`); answers how many sessions ended.
    pub async fn change_own_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep_session: Option<&str>,
        end_others: bool,
    ) -> Result<u64> {
        let now = self.now();
        dispatch!(self, accounts::change_password(user, password_hash, keep_session, end_others, now))
    }

    // ---- jobs ----

    pub async fn enqueue_job(&self, kind: &str, payload: &str) -> Result<()> {
        let now = self.now();
        dispatch!(self, jobs::enqueue(kind, payload, now))
    }

    /// The oldest due job, claimed for `lease_ms`.
    pub async fn claim_job(&self, lease_ms: Millis) -> Result<Option<Job>> {
        let now = self.now();
        dispatch!(self, jobs::claim(now, lease_ms))
    }

    pub async fn finish_job(&self, id: i64) -> Result<()> {
        dispatch!(self, jobs::finish(id))
    }

    pub async fn retry_job(&self, id: i64, error: &str, retry_at: Millis) -> Result<()> {
        dispatch!(self, jobs::retry(id, error, retry_at))
    }

    /// Jobs queued or in flight.
    pub async fn count_jobs(&self) -> Result<i64> {
        dispatch!(self, jobs::count())
    }

    // ---- organizations ----

    pub async fn create_org(&self, fields: &OrganizationFields, actor: &Actor) -> Result<Organization> {
        let now = self.now();
        dispatch!(self, organizations::create_org(fields, actor, now))
    }

    pub async fn get_org(&self, id: OrganizationId) -> Result<Organization> {
        dispatch!(self, organizations::get_org(id))
    }

    pub async fn update_org<F>(&self, id: OrganizationId, edit: F, actor: &Actor) -> Result<Organization>
    where
        F: FnOnce(&Organization) -> Result<OrganizationFields> + Send,
    {
        let now = self.now();
        dispatch!(self, organizations::update_org(id, edit, actor, now))
    }

    pub async fn delete_org(&self, id: OrganizationId, actor: &Actor) -> Result<()> {
        let now = self.now();
        dispatch!(self, organizations::delete_org(id, actor, now))
    }

    /// Up to `limit` organizations' ids and names A–Z (matching `fragment`), with `also`.
    pub async fn org_names(
        &self,
        fragment: Option<&str>,
        limit: i64,
        also: Option<OrganizationId>,
    ) -> Result<Vec<(OrganizationId, String)>> {
        dispatch!(self, organizations::org_names(fragment, limit, also))
    }

    pub async fn list_orgs(&self, q: &OrgQuery) -> Result<Page<Organization>> {
        dispatch!(self, organizations::list_orgs(q))
    }

    /// Adds an agent-only comment (`sticky` only on a user's).
    pub async fn add_comment(&self, on: CommentOn, author: &Actor, body: &str, sticky: bool) -> Result<Comment> {
        let now = self.now();
        dispatch!(self, comments::add_comment(on, author, body, sticky, now))
    }

    pub async fn list_comments(&self, on: CommentOn, limit: i64, cursor: Option<i64>) -> Result<Page<Comment>> {
        dispatch!(self, comments::list_comments(on, limit, cursor))
    }

    /// The newest sticky comments, at most `limit`.
    pub async fn sticky_comments(&self, on: CommentOn, limit: i64) -> Result<Vec<Comment>> {
        dispatch!(self, comments::sticky_comments(on, limit))
    }

    pub async fn set_comment_sticky(&self, on: CommentOn, comment: i64, sticky: bool) -> Result<Comment> {
        dispatch!(self, comments::set_sticky(on, comment, sticky))
    }

    pub async fn comment_author(&self, on: CommentOn, comment: i64) -> Result<Option<i64>> {
        dispatch!(self, comments::comment_author(on, comment))
    }

    pub async fn delete_comment(&self, on: CommentOn, comment: i64) -> Result<Comment> {
        dispatch!(self, comments::delete_comment(on, comment))
    }

    pub async fn list_rules(&self, id: OrganizationId) -> Result<Vec<Rule>> {
        dispatch!(self, organizations::list_rules(id))
    }

    pub async fn create_rule(&self, id: OrganizationId, spec: &RuleSpec, actor: &Actor) -> Result<Rule> {
        let now = self.now();
        dispatch!(self, organizations::create_rule(id, spec, actor, now))
    }

    pub async fn update_rule<F>(&self, id: OrganizationId, rule: RuleId, edit: F, actor: &Actor) -> Result<Rule>
    where
        F: FnOnce(&RuleSpec) -> Result<RuleSpec> + Send,
    {
        let now = self.now();
        dispatch!(self, organizations::update_rule(id, rule, edit, actor, now))
    }

    pub async fn delete_rule(&self, id: OrganizationId, rule: RuleId, actor: &Actor) -> Result<()> {
        let now = self.now();
        dispatch!(self, organizations::delete_rule(id, rule, actor, now))
    }

    /// What a rule would pull in, without saving it.
    pub async fn preview_rule(&self, spec: &RuleSpec) -> Result<TabCounts> {
        dispatch!(self, tabs::preview(spec))
    }

    /// The first `limit` organizations (A–Z) a user belongs to: ids and names.
    pub async fn user_organization_names(
        &self,
        user: Subject<'_>,
        limit: i64,
    ) -> Result<Vec<(OrganizationId, String)>> {
        dispatch!(self, tabs::user_organization_names(user, limit))
    }

    /// How many users each organization's rules pull in, in the order given.
    pub async fn member_counts(&self, orgs: &[OrganizationId]) -> Result<Vec<i64>> {
        dispatch!(self, tabs::member_counts(orgs))
    }

    /// An organization's users, tickets, chats, calls or surveys, each with `matched_by`.
    pub async fn org_tab(
        &self,
        id: OrganizationId,
        tab: Tab,
        limit: i64,
        after: Option<Cursor>,
    ) -> Result<Page<TabItem>> {
        dispatch!(self, tabs::org_tab(id, tab, limit, after))
    }

    pub async fn user_organizations(&self, id: Subject<'_>) -> Result<Vec<Membership>> {
        dispatch!(self, tabs::user_organizations(id))
    }

    pub async fn user_tab(
        &self,
        id: Subject<'_>,
        tab: Tab,
        state: Option<TicketState>,
        limit: i64,
        after: Option<Cursor>,
    ) -> Result<Page<TabItem>> {
        dispatch!(self, tabs::user_tab(id, tab, state, limit, after))
    }

    /// A user's Statistics tab (counts).
    pub async fn user_counts(&self, id: Subject<'_>) -> Result<UserStats> {
        dispatch!(self, tabs::user_counts(id))
    }

    /// A user's History tab (last login, newest ticket, chat, call, survey).
    pub async fn user_history(&self, id: Subject<'_>) -> Result<UserHistory> {
        dispatch!(self, tabs::user_history(id))
    }

    pub async fn portal_org_rules(&self, id: UserId) -> Result<Vec<Rule>> {
        dispatch!(self, tabs::portal_org_rules(id))
    }

    pub async fn portal_tickets(
        &self,
        id: UserId,
        org_rules: Option<&[Rule]>,
        limit: i64,
        after: Option<Cursor>,
    ) -> Result<Page<TabItem>> {
        dispatch!(self, tabs::portal_tickets(id, org_rules, limit, after))
    }

    // ---- plugins ----

    pub async fn plugin_settings(&self) -> Result<Vec<PluginSettingsRow>> {
        dispatch!(self, plugins::plugin_settings())
    }

    pub async fn put_plugin_settings(&self, row: &PluginSettingsRow) -> Result<()> {
        let now = self.now();
        dispatch!(self, plugins::put_plugin_settings(row, now))
    }

    pub async fn trip_plugin(&self, plugin: &str, reason: &str) -> Result<bool> {
        let now = self.now();
        dispatch!(self, plugins::trip_plugin(plugin, reason, now))
    }

    pub async fn plugin_kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>> {
        dispatch!(self, plugins::kv_get(plugin, key))
    }

    pub async fn plugin_kv_set(&self, plugin: &str, key: &str, value: &[u8], quota: i64) -> Result<()> {
        dispatch!(self, plugins::kv_set(plugin, key, value, quota))
    }

    pub async fn plugin_kv_delete(&self, plugin: &str, key: &str) -> Result<()> {
        dispatch!(self, plugins::kv_delete(plugin, key))
    }

    pub async fn plugin_kv_list(
        &self,
        plugin: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        dispatch!(self, plugins::kv_list(plugin, prefix, start_after, limit))
    }

    pub async fn plugin_kv_scan(
        &self,
        plugin: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        dispatch!(self, plugins::kv_scan(plugin, prefix, start_after, limit, max_bytes))
    }

    pub async fn phones_of_users(&self, users: &[i64]) -> Result<std::collections::HashMap<i64, Vec<String>>> {
        dispatch!(self, tabs::phones_of_users(users))
    }

    // ---- custom fields ----

    pub async fn custom_fields(&self, entity: Option<Entity>) -> Result<Vec<CustomField>> {
        dispatch!(self, custom_fields::list(entity))
    }

    pub async fn custom_field(&self, id: i64) -> Result<CustomField> {
        dispatch!(self, custom_fields::get(id))
    }

    pub async fn create_custom_field(&self, spec: &CustomFieldSpec) -> Result<CustomField> {
        let now = self.now();
        dispatch!(self, custom_fields::create(spec, now))
    }

    pub async fn update_custom_field(&self, id: i64, spec: &CustomFieldSpec) -> Result<CustomField> {
        let now = self.now();
        dispatch!(self, custom_fields::update(id, spec, now))
    }

    pub async fn delete_custom_field(&self, id: i64) -> Result<()> {
        dispatch!(self, custom_fields::delete(id))
    }

    // ---- avatars ----

    pub async fn avatar(&self, user: UserId) -> Result<Option<StoredAvatar>> {
        dispatch!(self, avatars::get(user))
    }

    pub async fn put_avatar(&self, user: UserId, a: &StoredAvatar) -> Result<()> {
        dispatch!(self, avatars::put(user, a))
    }

    pub async fn delete_avatar(&self, user: UserId) -> Result<bool> {
        dispatch!(self, avatars::delete(user))
    }

    pub async fn touch_avatar(&self, user: UserId) -> Result<()> {
        let now = self.now();
        dispatch!(self, avatars::touch(user, now))
    }

    pub async fn stale_avatars(&self, before: Millis, limit: i64) -> Result<Vec<i64>> {
        dispatch!(self, avatars::stale(before, limit))
    }

    pub async fn replace_compressed_avatar(
        &self,
        user: UserId,
        old_etag: &str,
        content_type: &str,
        image: &[u8],
        etag: &str,
    ) -> Result<bool> {
        dispatch!(self, avatars::replace_compressed(user, old_etag, content_type, image, etag))
    }

    // ---- interaction records ----

    pub async fn create_record(&self, kind: RecordKind, fields: &RecordFields) -> Result<AnyRecord> {
        let now = self.now();
        dispatch!(self, records::create_record(kind, fields, now))
    }

    pub async fn get_record(&self, kind: RecordKind, id: i64) -> Result<AnyRecord> {
        dispatch!(self, records::get_record(kind, id))
    }

    pub async fn update_record<F>(&self, kind: RecordKind, id: i64, edit: F) -> Result<AnyRecord>
    where
        F: FnOnce(RecordFields) -> Result<RecordFields> + Send,
    {
        let now = self.now();
        dispatch!(self, records::update_record(kind, id, edit, now))
    }

    // ---- bulk loading (demo data) ----

    /// Inserts rows with caller-chosen ids in one transaction.
    pub async fn bulk_insert(&self, table: &str, cols: &[&str], rows: &[Vec<Val>]) -> Result<()> {
        dispatch!(self, bulk::insert_rows(table, cols, rows))
    }

    pub async fn max_id(&self, table: &str) -> Result<i64> {
        dispatch!(self, bulk::max_id(table))
    }

    /// Sets the bulk tables' secondary indexes aside for a large load (see `sql/bulk.rs`).
    pub async fn bulk_drop_indexes(&self) -> Result<usize> {
        dispatch!(self, bulk::drop_indexes())
    }

    /// Rebuilds indexes a bulk load set aside (also repairs an interrupted load).
    pub async fn bulk_restore_indexes(&self, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<usize> {
        dispatch!(self, bulk::restore_indexes(progress))
    }

    pub async fn bulk_finish(&self) -> Result<()> {
        dispatch!(self, bulk::finish())
    }

    // ---- change log ----

    pub async fn list_changes(&self, entity: &str, id: i64, limit: i64, cursor: Option<i64>) -> Result<Page<Change>> {
        dispatch!(self, changes::list_changes(entity, id, limit, cursor))
    }
}

/// How an organization list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgSort {
    Name,
    Website,
    Phone,
}

impl OrgSort {
    pub(crate) fn column(self) -> (&'static str, bool) {
        match self {
            OrgSort::Name => ("o.name_key", true),
            OrgSort::Website => ("o.website_key", true),
            OrgSort::Phone => ("o.phone_key", true),
        }
    }
}

/// How failed logins slow an account name down (Kanidm-style soft lock): after the n-th failure
/// in a row the name waits `delays_ms[n-1]` (the last entry repeats) before its next check, and
/// after `max_failures_per_hour` failures within an hour it waits for the hour to end. A
/// successful login clears the count.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub delays_ms: Vec<Millis>,
    pub max_failures_per_hour: i64,
}

impl LoginPolicy {
    pub(crate) fn delay_after(&self, failures: i64) -> Millis {
        let i = usize::try_from(failures.max(1) - 1).unwrap_or(0);
        self.delays_ms.get(i).or(self.delays_ms.last()).copied().unwrap_or(0)
    }
}

/// A login about to become a session.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub user: UserId,
    /// SHA-256 of the session token.
    pub token_hash: &'a str,
    /// `password`, `ldap:<id>`, `oauth:<id>`, `plugin:<id>`.
    pub method: &'a str,
    /// Client address, for the login history.
    pub address: &'a str,
    /// Throttle counter to clear (the name the user typed, lowercased).
    pub account_key: Option<&'a str>,
    /// An upgraded password hash to store.
    pub new_password_hash: Option<&'a str>,
    pub idle_ms: Millis,
    pub absolute_ms: Millis,
    /// Live sessions a user may hold; the oldest beyond this end.
    pub max_sessions: i64,
}

/// An OpenID Connect login between the redirect to the provider and its callback.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// `browser` or `api`.
    pub mode: String,
    pub return_to: String,
    pub created_at: Millis,
    /// SHA-256 of the secret in the starting browser's binding cookie.
    pub browser_hash: String,
}

pub use crate::domain::user::LoginEvent;

/// An organization search.
#[derive(Debug, Clone)]
pub struct OrgQuery {
    pub q: Option<String>,
    pub sort: OrgSort,
    pub descending: bool,
    pub limit: i64,
    pub after: Option<Cursor>,
}

/// An agent-only comment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: i64,
    pub author: Actor,
    pub body: String,
    /// Shown in the record's header (a user's comments; an organization's are never sticky).
    pub sticky: bool,
    pub created_at: Timestamp,
}

/// The record a comment is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOn {
    Organization(OrganizationId),
    User(UserId),
}

impl CommentOn {
    pub(crate) fn id(self) -> i64 {
        match self {
            CommentOn::Organization(id) => id.0,
            CommentOn::User(id) => id.0,
        }
    }
}

/// How many records a rule pulls into each tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TabCounts {
    pub users: i64,
    pub tickets: i64,
    pub chats: i64,
    pub calls: i64,
    pub surveys: i64,
}

/// A value in a bulk-inserted row.
#[derive(Debug, Clone)]
pub enum Val {
    I(i64),
    T(String),
    B(bool),
    NullI,
    NullT,
}

/// The `users` columns a user's fields are stored in — written once, used by creating,
/// editing and `kith demo-data` alike — in the order [`user_values`] gives their values.
pub const USER_COLUMNS: [&str; 32] = [
    "username",
    "username_key",
    "username_skeleton",
    "display_name",
    "display_name_key",
    "auth_method",
    "auth_domain",
    "time_zone",
    "language",
    "address",
    "website",
    "company",
    "im",
    "twitter",
    "linkedin",
    "facebook",
    "avatar_provider",
    "subscribe_community",
    "email_summaries",
    "email_conversations",
    "banned",
    "signature_html",
    "summary",
    "auto_responder",
    "custom_fields",
    "primary_email",
    "primary_verified",
    "has_verified_email",
    "search_text",
    "disabled",
    "ui_theme",
    "keyboard_shortcuts",
];

/// The values of [`USER_COLUMNS`] for `f`: its fields and what is derived from them (the
/// lookup keys, the primary address, the search text), by the domain's own functions.
pub fn user_values(f: &UserFields) -> Vec<Val> {
    let d = f.derived();
    let t = |s: &str| Val::T(s.to_string());
    let opt = |s: &Option<String>| s.as_ref().map_or(Val::NullT, |s| Val::T(s.clone()));
    vec![
        t(&f.username),
        Val::T(d.username_key),
        Val::T(d.username_skeleton),
        t(&f.display_name),
        Val::T(d.display_name_key),
        t(&f.auth_method),
        opt(&f.auth_domain),
        t(&f.time_zone),
        t(&f.language),
        t(&f.address),
        t(&f.website),
        t(&f.company),
        t(&f.im),
        t(&f.twitter),
        t(&f.linkedin),
        t(&f.facebook),
        opt(&f.avatar_provider),
        Val::B(f.subscribe_community),
        Val::B(f.email_summaries),
        Val::B(f.email_conversations),
        Val::B(f.banned),
        t(&f.signature_html),
        t(&f.summary),
        Val::B(f.auto_responder),
        Val::T(d.custom_fields),
        Val::T(d.primary_email),
        Val::B(d.primary_verified),
        Val::B(d.has_verified_email),
        Val::T(d.search_text),
        Val::B(f.disabled),
        t(&f.ui_theme),
        Val::B(f.keyboard_shortcuts),
    ]
}

/// Who a password reset link goes to.
#[derive(Debug, Clone)]
pub struct ResetTarget {
    pub user: UserId,
    pub username: String,
    pub display_name: String,
    /// The primary address.
    pub to: String,
    /// The user's language (empty: none chosen).
    pub language: String,
}

/// A claimed job of the queue (`jobs.rs`).
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// JSON.
    pub payload: String,
    /// Including this one.
    pub attempts: i32,
}

/// A login candidate.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub id: UserId,
    pub auth_method: String,
    pub password_hash: Option<String>,
}

/// Which table a bearer token is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Session,
}

pub use crate::domain::role::RoleWrite;

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// How a user list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserSort {
    DisplayName,
    Username,
    Email,
    Verified,
    LastLogin,
    Created,
}

impl UserSort {
    /// The column sorted on and whether it holds text.
    pub(crate) fn column(self) -> (&'static str, bool) {
        match self {
            UserSort::DisplayName => ("u.display_name_key", true),
            UserSort::Username => ("u.username_key", true),
            UserSort::Email => ("u.primary_email", true),
            UserSort::Verified => ("CAST(CASE WHEN u.primary_verified THEN 1 ELSE 0 END AS BIGINT)", false),
            UserSort::LastLogin => ("COALESCE(u.last_login_at, -1)", false),
            UserSort::Created => ("u.created_at", false),
        }
    }
}

/// A user search.
#[derive(Debug, Clone)]
pub struct UserQuery {
    /// Lowercased fragment matched against names, addresses, phones, company and labels.
    pub q: Option<String>,
    pub role: Option<RoleFilter>,
    pub label: Option<String>,
    /// Only disabled users (`true`) or only enabled ones (`false`).
    pub disabled: Option<bool>,
    /// Only users holding an agent role (`true`) or only those holding none (`false`).
    pub agent: Option<bool>,
    pub sort: UserSort,
    pub descending: bool,
    pub limit: i64,
    pub after: Option<Cursor>,
    /// Count at most this many past the cap (`total` is then `cap + 1`: "10,000+"); `None`
    /// counts exactly (the API). Counting a million rows costs more than a page's budget.
    pub count_cap: Option<i64>,
}

/// Role filters: an assigned role, or one of the derived ones.
#[derive(Debug, Clone)]
pub enum RoleFilter {
    Any,
    VerifiedEmail,
    Assigned(RoleId),
}

/// Where the previous page ended: the sort value and id of its last row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub s: Option<String>,
    pub n: Option<i64>,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }
    pub fn decode(s: &str) -> Result<Cursor> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor this list gave out"))
    }
}

/// Turns a database error into the domain's: unique violations become 409 naming the field,
/// an exhausted pool 503, everything else 500 (details logged by the HTTP layer).
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Error::Unavailable("database busy".into()),
        sqlx::Error::Io(_) => Error::Unavailable(format!("database unreachable: {e}")),
        sqlx::Error::Database(d) if d.is_unique_violation() => constraints::conflict(d.constraint(), d.message()),
        sqlx::Error::Database(d) if d.code().as_deref() == Some("25006") => {
            Error::Unavailable("the database is read-only (a standby?)".into())
        }
        _ => Error::Internal(e.to_string()),
    }
}

/// Builds a migrator from SQL embedded in the binary, numbered from 1 in the order given.
fn migrator(files: &[(&'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .zip(1..)
        .map(|(&(name, sql), version)| {
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Placeholders `$from, $from+1, ...` for an `IN (...)` list of `n` values.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// For lists ordered by id, newest first, fetched with `limit + 1` rows: keeps `limit` and
/// answers the cursor of the next page (the last id kept) when there is one.
pub(crate) fn split_id_page<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = if more { rows.last().map(|r| id(r).to_string()) } else { None };
    (rows, next)
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
