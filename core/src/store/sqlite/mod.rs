//! The SQLite backend: one file in WAL mode with `synchronous=FULL`, a pool of readers and a
//! single writer connection (so writers queue in Kith instead of spinning on SQLite's lock),
//! every write transaction opened with `BEGIN IMMEDIATE`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};

pub type DB = Sqlite;
pub type Conn = sqlx::SqliteConnection;

/// `SELECT ... FOR UPDATE` has no SQLite form: the write transaction already holds the lock.
pub const FOR_UPDATE: &str = "";

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
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.read_only(false))
        .await?;
    Ok(Pools { read, write })
}

/// Opens a write transaction holding SQLite's write lock from the start.
pub async fn begin_write(pools: &Pools) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pools.write.begin_with("BEGIN IMMEDIATE").await
}

pub fn migrator() -> sqlx::migrate::Migrator {
    super::migrator(&[
        ("foundation", include_str!("../../../../migrations/sqlite/0001_foundation.sql")),
        ("organizations", include_str!("../../../../migrations/sqlite/0002_organizations.sql")),
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
#[path = "../sql/auth.rs"]
pub mod auth;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/changes.rs"]
pub mod changes;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/organizations.rs"]
pub mod organizations;
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
