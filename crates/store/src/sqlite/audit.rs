//! Audit log storage: append inside the caller's transaction, read in order, search.

use super::SqliteStore;
use crate::time::{parse_ts, stored_ts, ts};
use crate::{AuditFilter, AuditStore, Result};
use async_trait::async_trait;
use gatehouse_domain::audit::{AuditEntry, AuditEvent, seal};
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// Append `event` to the chain. Runs inside a write transaction, so the tail read here
/// cannot change before the insert.
pub(super) async fn append(
    conn: &mut SqliteConnection,
    at: Timestamp,
    event: AuditEvent,
) -> Result<AuditEntry> {
    let tail: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let entry = seal(
        tail.as_ref().map(|(s, h)| (*s, h.as_str())),
        stored_ts(at),
        event,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, target, ip, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entry.seq)
    .bind(ts(entry.at))
    .bind(&entry.event.actor)
    .bind(&entry.event.action)
    .bind(&entry.event.target)
    .bind(&entry.event.ip)
    .bind(&entry.event.detail)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut *conn)
    .await?;
    Ok(entry)
}

fn entry(row: &SqliteRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: parse_ts(row.try_get("at")?)?,
        event: AuditEvent {
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            ip: row.try_get("ip")?,
            detail: row.try_get("detail")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, at: Timestamp, event: AuditEvent) -> Result<AuditEntry> {
        let mut tx = self.begin().await?;
        let e = append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(e)
    }

    async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(entry).collect()
    }

    async fn search_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM audit_log WHERE 1 = 1");
        if let Some(a) = &f.actor {
            q.push(" AND actor = ").push_bind(a.clone());
        }
        if let Some(a) = &f.action {
            q.push(" AND action LIKE ")
                .push_bind(format!("{}%", super::like_escape(a)))
                .push(" ESCAPE '\\'");
        }
        if let Some(t) = &f.target {
            q.push(" AND target = ").push_bind(t.clone());
        }
        if let Some(t) = f.from {
            q.push(" AND at >= ").push_bind(ts(t));
        }
        if let Some(t) = f.to {
            q.push(" AND at < ").push_bind(ts(t));
        }
        if let Some(s) = f.before_seq {
            q.push(" AND seq < ").push_bind(s);
        }
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(f.limit.clamp(1, 1000));
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(entry).collect()
    }
}
