//! Registered school devices (DNS over HTTPS): registration, revocation, reassignment.

use super::{SqliteStore, audit, conflict};
use crate::time::{parse_ts, ts};
use crate::{Device, DeviceAssignment, DeviceStore, NewDevice, Result, StoreError};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

const DEVICE_SELECT: &str = "SELECT d.*, p.first_name, p.last_name
     FROM devices d LEFT JOIN people p ON p.id = d.person_id";

fn device(row: &SqliteRow) -> Result<Device> {
    let kind: String = row.try_get("kind")?;
    let kind = kind
        .parse()
        .map_err(|e: gatehouse_domain::DomainError| StoreError::Corrupt(e.to_string()))?;
    let person_id: Option<i64> = row.try_get("person_id")?;
    let group: Option<String> = row.try_get("filter_group")?;
    let assignment = match (person_id, group) {
        (Some(p), None) => DeviceAssignment::Person(p),
        (None, Some(g)) => DeviceAssignment::Group(g),
        (None, None) => DeviceAssignment::Nobody,
        (Some(_), Some(_)) => {
            return Err(StoreError::Corrupt(
                "a device is assigned to a person and a group".into(),
            ));
        }
    };
    let first: Option<String> = row.try_get("first_name")?;
    let last: Option<String> = row.try_get("last_name")?;
    let opt_ts = |col: &str| -> Result<Option<Timestamp>> {
        let v: Option<String> = row.try_get(col)?;
        v.as_deref().map(parse_ts).transpose()
    };
    Ok(Device {
        id: row.try_get("id")?,
        school_id: row.try_get("school_id")?,
        name: row.try_get("name")?,
        kind,
        asset_tag: row.try_get("asset_tag")?,
        assignment,
        person_name: first.zip(last).map(|(f, l)| format!("{f} {l}")),
        created_at: parse_ts(row.try_get("created_at")?)?,
        revoked_at: opt_ts("revoked_at")?,
        last_seen_at: opt_ts("last_seen_at")?,
    })
}

/// The (person, group) columns of an assignment, after checking that the person is of
/// the school.
async fn assignment_columns(
    conn: &mut SqliteConnection,
    school: i64,
    a: &DeviceAssignment,
) -> Result<(Option<i64>, Option<String>)> {
    match a {
        DeviceAssignment::Nobody => Ok((None, None)),
        DeviceAssignment::Group(g) => Ok((None, Some(g.clone()))),
        DeviceAssignment::Person(p) => {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE id = $1 AND school_id = $2")
                    .bind(p)
                    .bind(school)
                    .fetch_optional(&mut *conn)
                    .await?;
            found
                .map(|id| (Some(id), None))
                .ok_or_else(|| StoreError::NotFound(format!("person {p}")))
        }
    }
}

/// Whether the school's device `id` exists and is revoked; `NotFound` when it does not exist.
async fn revoked(conn: &mut SqliteConnection, school: i64, id: i64) -> Result<bool> {
    let row: Option<Option<String>> =
        sqlx::query_scalar("SELECT revoked_at FROM devices WHERE id = $1 AND school_id = $2")
            .bind(id)
            .bind(school)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| r.is_some())
        .ok_or_else(|| StoreError::NotFound(format!("device {id}")))
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn register_device(
        &self,
        new: &NewDevice,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let (person, group) = assignment_columns(&mut tx, new.school_id, &new.assignment).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO devices (school_id, name, kind, asset_tag, person_id, filter_group, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.school_id)
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(&new.asset_tag)
        .bind(person)
        .bind(group)
        .bind(&new.token_hash)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("the device name '{}'", new.name)))?;
        let mut event = audit_event;
        event.target.get_or_insert_with(|| format!("device:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn devices(&self, school: i64, include_revoked: bool) -> Result<Vec<Device>> {
        let sql = format!(
            "{DEVICE_SELECT} WHERE d.school_id = $1 AND ($2 OR d.revoked_at IS NULL)
             ORDER BY d.revoked_at IS NOT NULL, d.name COLLATE NOCASE, d.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .bind(include_revoked)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(device).collect()
    }

    async fn device(&self, school: i64, id: i64) -> Result<Option<Device>> {
        let sql = format!("{DEVICE_SELECT} WHERE d.id = $1 AND d.school_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(school)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(device).transpose()
    }

    async fn device_by_token_hash(&self, hash: &str) -> Result<Option<Device>> {
        let sql = format!("{DEVICE_SELECT} WHERE d.token_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(device).transpose()
    }

    async fn revoke_device(
        &self,
        school: i64,
        id: i64,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if revoked(&mut tx, school, id).await? {
            return Err(StoreError::Refused(format!(
                "device {id} is already revoked"
            )));
        }
        sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2")
            .bind(ts(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut event = audit_event;
        event.target.get_or_insert_with(|| format!("device:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reassign_device(
        &self,
        school: i64,
        id: i64,
        assignment: &DeviceAssignment,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if revoked(&mut tx, school, id).await? {
            return Err(StoreError::Refused(format!(
                "device {id} is revoked; register it again instead"
            )));
        }
        let (person, group) = assignment_columns(&mut tx, school, assignment).await?;
        sqlx::query("UPDATE devices SET person_id = $1, filter_group = $2 WHERE id = $3")
            .bind(person)
            .bind(group)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut event = audit_event;
        event.target.get_or_insert_with(|| format!("device:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn device_seen(&self, id: i64, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE devices SET last_seen_at = $1 WHERE id = $2")
            .bind(ts(at))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
