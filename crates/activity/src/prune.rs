//! Retention: raw events older than the raw retention are folded into daily counts and
//! deleted; daily counts older than the aggregate retention are deleted.
//!
//! Folding runs about 50,000 events at a time (oldest first), each chunk in its own
//! transaction (fold and delete together), so the event writer never waits long and an
//! interrupted prune leaves nothing counted twice. Running it again with the same `now` changes nothing.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::codes::micros;
use crate::{ActivityError, ActivityLog, Result};

/// Days raw events are kept by default.
pub const DEFAULT_RAW_DAYS: u32 = 90;
/// Days daily counts are kept by default (two years).
pub const DEFAULT_AGGREGATE_DAYS: u32 = 730;

/// Events folded per transaction (more when several share the last instant).
const CHUNK_EVENTS: i64 = 50_000;

/// What a prune did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Raw events folded into daily counts and deleted.
    pub events_folded: u64,
    /// Daily count rows deleted.
    pub aggregates_deleted: u64,
}

impl ActivityLog {
    /// Fold raw events older than `raw_days` before `now` into daily counts (per UTC day,
    /// person, group, category and action) and delete them; delete daily counts for days
    /// more than `aggregate_days` before `now`'s day (UTC).
    pub async fn prune(
        &self,
        now: Timestamp,
        raw_days: u32,
        aggregate_days: u32,
    ) -> Result<PruneReport> {
        let raw_cutoff = now
            .checked_sub(SignedDuration::from_hours(i64::from(raw_days) * 24))
            .map_err(|e| ActivityError::Invalid(format!("raw retention: {e}")))?;
        let cutoff_us = micros(raw_cutoff);
        let mut report = PruneReport::default();
        loop {
            let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(time_us) FROM events")
                .fetch_one(&self.write)
                .await?;
            let Some(oldest) = oldest.filter(|t| *t < cutoff_us) else {
                break;
            };
            // Up to and including the instant of the chunk's last event.
            let last: Option<i64> = sqlx::query_scalar(
                "SELECT time_us FROM events WHERE time_us >= $1 AND time_us < $2 \
                 ORDER BY time_us LIMIT 1 OFFSET $3",
            )
            .bind(oldest)
            .bind(cutoff_us)
            .bind(CHUNK_EVENTS - 1)
            .fetch_optional(&self.write)
            .await?;
            let end = last.map_or(cutoff_us, |t| t.saturating_add(1).min(cutoff_us));
            report.events_folded += self.fold_before(end).await?;
        }
        let first_kept = now
            .to_zoned(TimeZone::UTC)
            .date()
            .checked_sub(i64::from(aggregate_days).days())
            .map_err(|e| ActivityError::Invalid(format!("aggregate retention: {e}")))?;
        let deleted = sqlx::query("DELETE FROM daily WHERE day < $1")
            .bind(first_kept.to_string())
            .execute(&self.write)
            .await?;
        report.aggregates_deleted = deleted.rows_affected();
        Ok(report)
    }

    /// Fold and delete the events before `end_us` in one transaction.
    async fn fold_before(&self, end_us: i64) -> Result<u64> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO daily (day, person, grp, category, action, count) \
             SELECT date(e.time_us / 1000000, 'unixepoch'), COALESCE(p.value, ''), g.value, \
             COALESCE(c.value, ''), e.action, COUNT(*) \
             FROM events e \
             LEFT JOIN strings p ON p.id = e.person \
             JOIN strings g ON g.id = e.grp \
             LEFT JOIN strings c ON c.id = e.category \
             WHERE e.time_us < $1 \
             GROUP BY 1, 2, 3, 4, 5 \
             ON CONFLICT (day, person, grp, category, action) \
             DO UPDATE SET count = daily.count + excluded.count",
        )
        .bind(end_us)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM events WHERE time_us < $1")
            .bind(end_us)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected())
    }
}
