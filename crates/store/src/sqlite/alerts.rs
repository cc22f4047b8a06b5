//! Monitoring alerts and their evidence (immutable: triggers refuse changes).

use super::{SqliteStore, audit, joined_person, opt_ts};
use crate::time::{parse_ts, ts};
use crate::{AlertRecord, AlertStore, MAX_ALERT_EVIDENCE, NewAlertRecord, Result, StoreError};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const COLUMNS: &str = "a.id, a.rule, a.subject, a.person_id, p.first_name, p.last_name, p.kind, \
    a.client_ip, a.group_name, a.severity, a.summary, a.first_at, a.last_at, a.count, a.status, \
    a.handled_by, a.handled_at, a.note, a.notified_at, a.incident_id \
    FROM alerts a LEFT JOIN people p ON p.id = a.person_id";

fn alert(row: &SqliteRow) -> Result<AlertRecord> {
    let person = joined_person(row)?;
    Ok(AlertRecord {
        id: row.try_get("id")?,
        rule: row.try_get("rule")?,
        subject: row.try_get("subject")?,
        person,
        client_ip: row.try_get("client_ip")?,
        group: row.try_get("group_name")?,
        severity: row.try_get("severity")?,
        summary: row.try_get("summary")?,
        first_at: parse_ts(&row.try_get::<String, _>("first_at")?)?,
        last_at: parse_ts(&row.try_get::<String, _>("last_at")?)?,
        count: row.try_get("count")?,
        status: row.try_get("status")?,
        handled_by: row.try_get("handled_by")?,
        handled_at: opt_ts(row, "handled_at")?,
        note: row.try_get("note")?,
        notified_at: opt_ts(row, "notified_at")?,
        incident_id: row.try_get("incident_id")?,
    })
}

async fn one(
    conn: &mut sqlx::SqliteConnection,
    school: i64,
    id: i64,
) -> Result<Option<AlertRecord>> {
    let sql = format!("SELECT {COLUMNS} WHERE a.school_id = $1 AND a.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(school)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(alert)
        .transpose()
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn create_alert(
        &self,
        school: i64,
        a: &NewAlertRecord,
        audit_event: AuditEvent,
    ) -> Result<AlertRecord> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (school_id, rule, subject, person_id, client_ip, group_name, severity, \
             summary, first_at, last_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(school)
        .bind(&a.rule)
        .bind(&a.subject)
        .bind(a.person_id)
        .bind(&a.client_ip)
        .bind(&a.group)
        .bind(&a.severity)
        .bind(&a.summary)
        .bind(ts(a.at))
        .fetch_one(&mut *tx)
        .await?;
        for (at, event) in a
            .evidence
            .iter()
            .take(usize::try_from(MAX_ALERT_EVIDENCE).unwrap_or(50))
        {
            sqlx::query("INSERT INTO alert_evidence (alert_id, at, event) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(ts(*at))
                .bind(event)
                .execute(&mut *tx)
                .await?;
        }
        let mut event = audit_event;
        event.target = Some(format!("alert:{id}"));
        audit::append(&mut tx, a.at, event).await?;
        let stored = one(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the new alert was not stored".into()))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn fold_alert(&self, id: i64, at: Timestamp, evidence: &str, count: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE alerts SET count = count + $1, last_at = MAX(last_at, $2) WHERE id = $3",
        )
        .bind(count.max(1))
        .bind(ts(at))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert {id}")));
        }
        let kept: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM alert_evidence WHERE alert_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if kept < MAX_ALERT_EVIDENCE {
            sqlx::query("INSERT INTO alert_evidence (alert_id, at, event) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(ts(at))
                .bind(evidence)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_alert(
        &self,
        school: i64,
        rule: &str,
        subject: &str,
        since: Timestamp,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM alerts WHERE school_id = $1 AND rule = $2 AND subject = $3 \
             AND status IN ('new', 'acknowledged') AND last_at >= $4 ORDER BY id DESC LIMIT 1",
        )
        .bind(school)
        .bind(rule)
        .bind(subject)
        .bind(ts(since))
        .fetch_optional(&self.read)
        .await?)
    }

    async fn alerts(
        &self,
        school: i64,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AlertRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} WHERE a.school_id = $1 AND ($2 IS NULL OR a.status = $2 \
             OR ($2 = 'open' AND a.status IN ('new', 'acknowledged'))) \
             ORDER BY a.last_at DESC, a.id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .bind(status)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(alert).collect()
    }

    async fn alert(
        &self,
        school: i64,
        id: i64,
    ) -> Result<Option<(AlertRecord, Vec<(Timestamp, String)>)>> {
        let mut conn = self.read.acquire().await?;
        let Some(a) = one(&mut conn, school, id).await? else {
            return Ok(None);
        };
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT at, event FROM alert_evidence WHERE alert_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        let evidence = rows
            .into_iter()
            .map(|(at, e)| Ok((parse_ts(&at)?, e)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some((a, evidence)))
    }

    async fn set_alert_status(
        &self,
        school: i64,
        id: i64,
        from: &[&str],
        status: &str,
        note: Option<&str>,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<AlertRecord> {
        let mut tx = self.begin().await?;
        let current = one(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("alert {id}")))?;
        if !from.contains(&current.status.as_str()) {
            return Err(StoreError::Conflict(format!(
                "alert {id} is already {}",
                current.status
            )));
        }
        sqlx::query(
            "UPDATE alerts SET status = $1, handled_by = $2, handled_at = $3, note = COALESCE($4, note) \
             WHERE id = $5",
        )
        .bind(status)
        .bind(&audit_event.actor)
        .bind(ts(at))
        .bind(note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::append(&mut tx, at, audit_event).await?;
        let stored = one(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("alert {id}")))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn link_alert_incident(&self, id: i64, incident: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE alerts SET incident_id = $1 WHERE id = $2")
            .bind(incident)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_alert_notified(&self, id: i64, at: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE alerts SET notified_at = $1 WHERE id = $2")
            .bind(ts(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
