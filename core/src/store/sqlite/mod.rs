//! The SQLite backend: one file in WAL mode with `synchronous=FULL`, a pool of readers and a
//! single writer connection (so writers queue in Kith instead of spinning on SQLite's lock),
//! every write transaction opened with `BEGIN IMMEDIATE`.

use std::ffi::{c_int, c_uint, c_void};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};

pub type DB = Sqlite;
pub type Conn = sqlx::SqliteConnection;

/// `SELECT ... FOR UPDATE` has no SQLite form: the write transaction already holds the lock.
pub const FOR_UPDATE: &str = "";

/// The condition "user `u` is disabled": SQLite uses the partial index `users_disabled` only for the very term it was made with.
pub const IS_DISABLED: &str = "u.disabled = 1";
#[derive(Debug, Clone)]
pub struct Pools {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
}

impl Pools {
    pub fn read(&self) -> &Pool<Sqlite> {
        &self.read
    }
    pub fn write(&self) -> &Pool<Sqlite> {
        &self.write
    }
}

pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> sqlx::Result<Pools> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    // A local file does not go stale: skip the ping sqlx sends on every acquire (it roughly
    // doubles the cost of a short query).
    let write = SqlitePoolOptions::new()
        .after_connect(|conn, _| Box::pin(count_statements(conn)))
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .after_connect(|conn, _| Box::pin(count_statements(conn)))
        .max_connections(max_connections)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.read_only(false))
        .await?;
    Ok(Pools { read, write })
}

/// Every SQL statement Kith has run on its SQLite connections in this process, counted by
/// SQLite's own trace hook (`SQLITE_TRACE_STMT`); what SQLite runs on its own behalf — a
/// trigger's statements, the full-text index's reads of its shadow tables — is not counted.
/// The tests read it around one request to hold pages to their statement budgets (UI.md
/// section 3, point 39).
pub static STATEMENTS: AtomicU64 = AtomicU64::new(0);

// an `unsafe extern` fn because that is the type SQLite's binding takes; its body is safe
#[allow(unsafe_code)]
unsafe extern "C" fn on_trace(kind: c_uint, _ctx: *mut c_void, _stmt: *mut c_void, sql: *mut c_void) -> c_int {
    if kind == libsqlite3_sys::SQLITE_TRACE_STMT && !sql.is_null() {
        // SAFETY: for SQLITE_TRACE_STMT, SQLite passes the statement's text as a
        // NUL-terminated string that lives through this call
        let text = unsafe { std::ffi::CStr::from_ptr(sql as *const std::ffi::c_char) }.to_bytes();
        // a trigger's statements come as "-- <trigger>"; FTS5 names its shadow tables 'main'.'…'
        let own = !text.starts_with(b"--") && !text.windows(7).any(|w| w == b"'main'.");
        if own {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(target: "kith::sql", "{}", String::from_utf8_lossy(text));
        }
    }
    0
}

/// Installs the statement counter on a new connection.
async fn count_statements(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    // SAFETY: `db` is this open connection's handle, held locked while the hook is set; the
    // callback is a plain function that reads nothing through its arguments and keeps no
    // context, so it stays valid for the connection's whole life.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libsqlite3_sys::sqlite3_trace_v2(
            db.as_ptr(),
            libsqlite3_sys::SQLITE_TRACE_STMT,
            Some(on_trace),
            std::ptr::null_mut(),
        )
    };
    if rc != 0 {
        tracing::warn!(rc, "SQLite's statement trace could not be set; statement counts stay at zero");
    }
    Ok(())
}

/// Opens a write transaction holding SQLite's write lock from the start.
pub async fn begin_write(pools: &Pools) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pools.write.begin_with("BEGIN IMMEDIATE").await
}

pub fn migrator() -> sqlx::migrate::Migrator {
    super::migrator(&[
        ("foundation", include_str!("../../../../migrations/sqlite/0001_foundation.sql")),
        ("organizations", include_str!("../../../../migrations/sqlite/0002_organizations.sql")),
        ("search", include_str!("../../../../migrations/sqlite/0003_search.sql")),
        ("domain_counts", include_str!("../../../../migrations/sqlite/0004_domain_counts.sql")),
        ("logins", include_str!("../../../../migrations/sqlite/0005_logins.sql")),
        ("name_rank", include_str!("../../../../migrations/sqlite/0006_name_rank.sql")),
        ("oauth", include_str!("../../../../migrations/sqlite/0007_oauth.sql")),
        ("plugins", include_str!("../../../../migrations/sqlite/0008_plugins.sql")),
        ("accounts", include_str!("../../../../migrations/sqlite/0009_accounts.sql")),
        ("tokens", include_str!("../../../../migrations/sqlite/0010_tokens.sql")),
        ("username_skeleton", include_str!("../../../../migrations/sqlite/0011_username_skeleton.sql")),
        ("oauth_binding", include_str!("../../../../migrations/sqlite/0012_oauth_binding.sql")),
        ("versions_preferences", include_str!("../../../../migrations/sqlite/0013_versions_preferences.sql")),
        ("directory_views", include_str!("../../../../migrations/sqlite/0014_directory_views.sql")),
        ("user_comments", include_str!("../../../../migrations/sqlite/0015_user_comments.sql")),
        ("agent_records", include_str!("../../../../migrations/sqlite/0016_agent_records.sql")),
    ])
}

pub async fn migrate(pools: &Pools) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(&pools.write).await
}

pub async fn close(pools: &Pools) {
    pools.read.close().await;
    pools.write.close().await;
}

#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/accounts.rs"]
pub mod accounts;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/auth.rs"]
pub mod auth;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/avatars.rs"]
pub mod avatars;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/changes.rs"]
pub mod changes;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/comments.rs"]
pub mod comments;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/custom_fields.rs"]
pub mod custom_fields;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/jobs.rs"]
pub mod jobs;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/logins.rs"]
pub mod logins;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/organizations.rs"]
pub mod organizations;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/plugins.rs"]
pub mod plugins;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/records.rs"]
pub mod records;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/roles.rs"]
pub mod roles;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/tabs.rs"]
pub mod tabs;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/users.rs"]
pub mod users;

/// Where a user search by fragment reads from. A fragment of three or more characters is a
/// phrase of trigrams in the FTS index (exact substring semantics, answered from the index
/// alone); shorter ones scan `users`. Answers (FROM clause, condition with `{p}` standing for
/// the placeholder, the value to bind there).
pub fn user_search(fragment: &str) -> (String, String, String) {
    if fragment.chars().count() >= 3 && !fragment.contains(['\n', '\r']) {
        // CROSS JOIN makes SQLite read the index first and look users up by rank.
        let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
        ("users_search s CROSS JOIN users u ON u.name_rank = s.rowid".into(), "users_search MATCH {p}".into(), phrase)
    } else {
        let pattern = format!("%{}%", super::like_escape(fragment));
        ("users u".into(), "u.search_text LIKE {p} ESCAPE '\\'".into(), pattern)
    }
}

/// Rank bounds (both exclusive) and the spacing of ranks given in bulk or at either end.
const RANK_MIN: i64 = 0;
const RANK_MAX: i64 = 1 << 62;
const RANK_STEP: i64 = 1 << 32;

/// Gives user `id` (whose `display_name_key` is `key`) the `name_rank` that puts it between
/// its neighbours in (display_name_key, id) order; see migration 0006. When the gap is used
/// up, a window of neighbours is spread out evenly first (each move re-indexes that user).
pub async fn place_by_name(conn: &mut Conn, id: i64, key: &str) -> sqlx::Result<()> {
    let neighbour = |op: &str, dir: &str| {
        format!(
            "SELECT name_rank FROM users WHERE (display_name_key, id) {op} ($1, $2) AND name_rank IS NOT NULL
             ORDER BY display_name_key {dir}, id {dir} LIMIT 1"
        )
    };
    let before: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(neighbour("<", "DESC")))
        .bind(key)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let after: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(neighbour(">", "ASC")))
        .bind(key)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let (lo, hi) = (before.unwrap_or(RANK_MIN), after.unwrap_or(RANK_MAX));
    let rank = if after.is_none() && hi - lo > 2 * RANK_STEP {
        lo + RANK_STEP
    } else if before.is_none() && hi - lo > 2 * RANK_STEP {
        hi - RANK_STEP
    } else if hi - lo >= 2 {
        lo + (hi - lo) / 2
    } else {
        return spread_around(conn, id, key).await;
    };
    sqlx::query("UPDATE users SET name_rank = $1 WHERE id = $2").bind(rank).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Re-spaces the ranks of `id`'s neighbours (a window that doubles until its rank range has
/// room) and places `id` in the middle of them.
async fn spread_around(conn: &mut Conn, id: i64, key: &str) -> sqlx::Result<()> {
    let mut width: i64 = 16;
    loop {
        let side = |op: &str, dir: &str| {
            format!(
                "SELECT id, name_rank FROM users WHERE (display_name_key, id) {op} ($1, $2) AND name_rank IS NOT NULL
                 ORDER BY display_name_key {dir}, id {dir} LIMIT $3"
            )
        };
        let mut below: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(side("<", "DESC")))
            .bind(key)
            .bind(id)
            .bind(width + 1)
            .fetch_all(&mut *conn)
            .await?;
        let above: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(side(">", "ASC")))
            .bind(key)
            .bind(id)
            .bind(width + 1)
            .fetch_all(&mut *conn)
            .await?;
        // the (width+1)-th neighbour on each side stays put and bounds the window
        let lo = if below.len() as i64 > width { below.pop().map_or(RANK_MIN, |b| b.1) } else { RANK_MIN };
        let hi = if above.len() as i64 > width { above.last().map_or(RANK_MAX, |a| a.1) } else { RANK_MAX };
        let moving: Vec<i64> = below
            .iter()
            .rev()
            .map(|b| b.0)
            .chain(std::iter::once(id))
            .chain(above.iter().take(width as usize).map(|a| a.0))
            .collect();
        let slots = moving.len() as i64 + 1;
        if (hi - lo) / slots >= 2 || (lo == RANK_MIN && hi == RANK_MAX) {
            let step = ((hi - lo) / slots).max(1);
            // first out of the way (negative, unique), then to the new places
            for m in &moving {
                sqlx::query("UPDATE users SET name_rank = -id WHERE id = $1").bind(m).execute(&mut *conn).await?;
            }
            for (i, m) in moving.iter().enumerate() {
                let rank = lo + step * (i as i64 + 1);
                sqlx::query("UPDATE users SET name_rank = $1 WHERE id = $2")
                    .bind(rank)
                    .bind(m)
                    .execute(&mut *conn)
                    .await?;
            }
            return Ok(());
        }
        width *= 2;
    }
}

/// A fragment search sorted by display name, answered by walking the trigram index in rank
/// (= name) order: the page costs as much as the page, whatever the number of matches.
/// Answers `None` where it does not apply (fragments under three characters), else the
/// match count and up to `limit` (id, display_name_key) after the cursor.
pub async fn ranked_name_search(
    conn: &mut Conn,
    fragment: &str,
    descending: bool,
    after: Option<(&str, i64)>,
    limit: i64,
) -> sqlx::Result<Option<(i64, Vec<(i64, String)>)>> {
    if fragment.chars().count() < 3 || fragment.contains(['\n', '\r']) {
        return Ok(None);
    }
    let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users_search WHERE users_search MATCH $1")
        .bind(&phrase)
        .fetch_one(&mut *conn)
        .await?;
    let (op, dir) = if descending { ("<", "DESC") } else { (">", "ASC") };
    let bound: Option<i64> = match after {
        None => None,
        Some((k, id)) => {
            // the rank of the last row at or before the cursor in this direction
            let (cmp, cdir) = if descending { (">=", "ASC") } else { ("<=", "DESC") };
            let rank: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT name_rank FROM users WHERE (display_name_key, id) {cmp} ($1, $2) AND name_rank IS NOT NULL
                 ORDER BY display_name_key {cdir}, id {cdir} LIMIT 1"
            )))
            .bind(k)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            Some(rank.unwrap_or(if descending { RANK_MAX } else { RANK_MIN }))
        }
    };
    let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.display_name_key FROM users_search s CROSS JOIN users u ON u.name_rank = s.rowid
         WHERE users_search MATCH $1 AND s.rowid {op} $2 ORDER BY s.rowid {dir} LIMIT $3"
    )))
    .bind(&phrase)
    .bind(bound.unwrap_or(if descending { RANK_MAX } else { RANK_MIN }))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some((total, rows)))
}

/// Placeholders for a bulk INSERT row. Anonymous `?`: SQLite looks named ones (`$1`) up in a
/// list as it parses, which is quadratic in a statement with thousands of them.
pub fn bulk_placeholders(_from: usize, n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Bulk-load settings for one transaction: a large page cache. Durability is unchanged
/// (a crash mid-load loses only the batch in flight).
pub async fn bulk_session(conn: &mut Conn) -> sqlx::Result<()> {
    sqlx::query("PRAGMA cache_size = -524288").execute(&mut *conn).await.map(|_| ())
}

/// After a bulk load: let the planner see the new sizes.
pub async fn bulk_finish(conn: &mut Conn) -> sqlx::Result<()> {
    sqlx::query("ANALYZE").execute(&mut *conn).await.map(|_| ())
}

#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/bulk.rs"]
pub mod bulk;

/// The secondary indexes and triggers of the bulk-loaded tables: dropped before a large load,
/// recreated after it (building an index once is far faster than growing it row by row).
/// Answers the statements that restore them, in order.
pub async fn bulk_unindex_statements(conn: &mut Conn, tables: &[&str]) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let rows: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN ({list})"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut drop = Vec::new();
    let mut restore = Vec::new();
    for (kind, name, sql) in rows {
        drop.push(format!("DROP {} IF EXISTS {name}", kind.to_uppercase()));
        restore.push(sql);
    }
    if tables.contains(&"users") {
        // ranks for everyone, in one pass, before the unique index and the triggers return
        restore.insert(
            0,
            format!(
                "UPDATE users SET name_rank = r.n * {RANK_STEP}
                 FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY display_name_key, id) AS n FROM users) AS r
                 WHERE r.id = users.id"
            ),
        );
        restore.push("INSERT INTO users_search (users_search) VALUES ('rebuild')".into());
    }
    if tables.contains(&"record_domains") {
        // the count triggers were set aside with the indexes: count afresh
        restore.push("DELETE FROM domain_counts".into());
        restore.push(
            "INSERT INTO domain_counts (kind, domain, total, exact)
             SELECT kind, domain, COUNT(*), SUM(exact) FROM record_domains GROUP BY kind, domain"
                .into(),
        );
    }
    Ok((drop, restore))
}
