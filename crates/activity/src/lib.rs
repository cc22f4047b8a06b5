//! The activity log: where every filtering decision of the DNS filter is stored.
//!
//! A separate SQLite database file (e.g. `activity.db` next to the main database), so the
//! heavy insert load never contends with the main database's writer. WAL mode; one writer
//! connection shared by the event writer ([`ActivityLog::spawn_writer`]) and retention
//! ([`ActivityLog::prune`]); several read-only connections for searches and exports.
//! Migrations in `migrations/` run at open; a database with a newer schema than this
//! build knows is refused. The writer's connection runs at a lower CPU priority than the
//! DNS filter's answers (`priority`).
//!
//! Raw events keep repeated strings (person, group, category, rule, query type ...) in a
//! `strings` table and domain names in a `domains` table, so an event row is a handful of
//! integers plus the client address. Retention folds raw events into daily counts per
//! person, group, category and action before deleting them.

mod codes;
pub mod keywords;
pub mod monitor;
mod priority;
mod prune;
mod query;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use prune::{DEFAULT_AGGREGATE_DAYS, DEFAULT_RAW_DAYS, PruneReport};
pub use query::{
    ActivityCursor, ActivityRow, ActivitySearch, CSV_HEADER, DailyFilter, DailyRow,
    MAX_SEARCH_LIMIT,
};
pub use writer::{EventSource, WriterHandle, WriterSettings, WriterStats};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An activity log error.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    /// The database failed.
    #[error("activity database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("activity database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was written by a newer build.
    #[error(
        "the activity database has schema version {found}, newer than this build knows ({known})"
    )]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A stored value could not be read back.
    #[error("activity database holds an invalid value: {0}")]
    Corrupt(String),
    /// Writing CSV failed.
    #[error("CSV export: {0}")]
    Csv(#[from] csv::Error),
    /// A search or time range was out of bounds.
    #[error("{0}")]
    Invalid(String),
}

/// Result with [`ActivityError`].
pub type Result<T, E = ActivityError> = std::result::Result<T, E>;

/// The activity log database.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    write: SqlitePool,
    read: SqlitePool,
    stats: Arc<writer::Counters>,
    /// The school the writer puts on every event (see [`ActivityLog::for_school`]).
    school: Option<Arc<str>>,
}

impl ActivityLog {
    /// Open (creating if missing) and migrate the activity database at `path`.
    pub async fn open(path: &Path) -> Result<ActivityLog> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // 16 MiB of page cache: the pages the writer keeps touching (the ends of the
            // time-ordered indexes, the name index's pages of the current batch); 32 MiB
            // wrote about 20% faster but made the DNS filter's process 10-15 MB larger
            // (docs/activity.md, "Throughput").
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "memory");
        // The writer alone creates the ids its events refer to, so foreign keys are not
        // enforced on its connection: enforced, every insert checks each reference, and
        // SQLite keeps a statement journal (a copy of every page touched) for each
        // multi-row insert, which made up most of an insert's cost.
        // Its thread runs at a lower CPU priority than answering (see `priority`).
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect(|_, _| {
                Box::pin(async {
                    priority::lower_writer_priority();
                    Ok(())
                })
            })
            .connect_with(
                options
                    .clone()
                    .foreign_keys(false)
                    .thread_name(|id| format!("{}{id}", priority::WRITER_THREAD)),
            )
            .await?;
        refuse_newer_schema(&write).await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).pragma("cache_size", "-16384"))
            .await?;
        Ok(ActivityLog {
            write,
            read,
            stats: Arc::new(writer::Counters::default()),
            school: None,
        })
    }

    /// The same log, whose writer records `school` on every event it stores: the school
    /// this installation serves (until this is called, events are stored without one).
    pub fn for_school(mut self, school: &str) -> ActivityLog {
        self.school = Some(Arc::from(school));
        self
    }

    /// The writer's counters so far (events written, batches, failures, last error).
    pub fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    /// The number of raw events stored.
    pub async fn count_events(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.read)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Close both pools, finishing the WAL checkpoint.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

async fn refuse_newer_schema(pool: &SqlitePool) -> Result<()> {
    match gatehouse_store::sqlite::newer_schema(pool, &MIGRATOR).await? {
        Some((found, known)) => Err(ActivityError::SchemaTooNew { found, known }),
        None => Ok(()),
    }
}
