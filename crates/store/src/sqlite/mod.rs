//! The SQLite implementation of [`crate::Store`]: the embedded default.
//!
//! WAL mode; one writer connection (so writes never contend inside a process and every
//! write transaction starts with `BEGIN IMMEDIATE`, which makes writers from other
//! processes — a CLI command while the server runs — wait their turn instead of failing);
//! several reader connections. Migrations in `migrations/sqlite` run at open, each in a
//! transaction; a database with a newer schema than this build knows is refused.

mod accounts;
mod agreements;
mod alerts;
mod audit;
mod devices;
mod filtering;
mod incidents;
mod people;
mod schools;

use crate::{Maintenance, Result, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A Gatehouse database in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
}

impl SqliteStore {
    /// Open (creating if missing) and migrate the database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        refuse_newer_schema(&write).await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { write, read })
    }

    /// Start a write transaction that holds the write lock from its first statement.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Close both pools, finishing the WAL checkpoint.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

async fn refuse_newer_schema(pool: &SqlitePool) -> Result<()> {
    match newer_schema(pool, &MIGRATOR).await? {
        Some((found, known)) => Err(StoreError::SchemaTooNew { found, known }),
        None => Ok(()),
    }
}

/// `Some((found, known))` when the database behind `pool` was migrated by a newer build
/// (its newest applied migration `found` is above `migrator`'s newest, `known`): such a
/// database must not be opened by this build. Shared by every SQLite file Gatehouse keeps.
pub async fn newer_schema(
    pool: &SqlitePool,
    migrator: &sqlx::migrate::Migrator,
) -> std::result::Result<Option<(i64, i64)>, sqlx::Error> {
    let has_table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if has_table.is_none() {
        return Ok(None);
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    let found = found.unwrap_or(0);
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    Ok((found > known).then_some((found, known)))
}

/// Map a unique-constraint failure to [`StoreError::Conflict`] naming `what`.
fn conflict(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_owned())
        }
        _ => StoreError::Database(e),
    }
}

/// A stored value this build cannot read back.
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// An optional instant column.
fn opt_ts(row: &sqlx::sqlite::SqliteRow, col: &str) -> Result<Option<jiff::Timestamp>> {
    use sqlx::Row;
    row.try_get::<Option<String>, _>(col)?
        .map(|s| crate::time::parse_ts(&s))
        .transpose()
}

/// The person a row joins in (columns `person_id`, `first_name`, `last_name`, `kind`),
/// if any.
fn joined_person(row: &sqlx::sqlite::SqliteRow) -> Result<Option<crate::PersonRef>> {
    use sqlx::Row;
    let Some(id) = row.try_get::<Option<i64>, _>("person_id")? else {
        return Ok(None);
    };
    Ok(Some(crate::PersonRef {
        id,
        name: format!(
            "{} {}",
            row.try_get::<String, _>("first_name")?,
            row.try_get::<String, _>("last_name")?
        ),
        kind: row.try_get::<String, _>("kind")?.parse().map_err(corrupt)?,
    }))
}

/// `s` with the `LIKE` wildcards escaped, for a pattern used with `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[async_trait]
impl Maintenance for SqliteStore {
    async fn backup_to(&self, path: &Path) -> Result<()> {
        if path.exists() {
            return Err(StoreError::Io(format!(
                "{} already exists; choose a new file name",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Io("the backup path must be valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.read)
                .await?;
        Ok(v.unwrap_or(0))
    }
}
