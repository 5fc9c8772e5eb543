//! The PostgreSQL backend: one pool shared by reads and writes; several Kith instances may
//! share one database (migrations take an advisory lock).

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres, Transaction};

pub type DB = Postgres;
pub type Conn = sqlx::PgConnection;

/// Locks the rows read before an update, so two concurrent edits cannot lose one another.
pub const FOR_UPDATE: &str = " FOR UPDATE";

#[derive(Debug, Clone)]
pub struct Pools {
    pool: Pool<Postgres>,
}

impl Pools {
    pub fn read(&self) -> &Pool<Postgres> {
        &self.pool
    }
    pub fn write(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> sqlx::Result<Pools> {
    let pool =
        PgPoolOptions::new().max_connections(max_connections).acquire_timeout(acquire_timeout).connect(url).await?;
    Ok(Pools { pool })
}

pub async fn begin_write(pools: &Pools) -> sqlx::Result<Transaction<'static, Postgres>> {
    pools.pool.begin().await
}

pub fn migrator() -> sqlx::migrate::Migrator {
    super::migrator(&[
        ("foundation", include_str!("../../../../migrations/postgres/0001_foundation.sql")),
        ("organizations", include_str!("../../../../migrations/postgres/0002_organizations.sql")),
    ])
}

pub async fn migrate(pools: &Pools) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(&pools.pool).await
}

pub async fn close(pools: &Pools) {
    pools.pool.close().await;
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
