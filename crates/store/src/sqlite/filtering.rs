//! The web filter's records: unblock requests and the overrides their approvals write,
//! and captive-portal sign-ins.

use super::{SqliteStore, audit, corrupt, joined_person, opt_ts};
use crate::time::{parse_ts, ts};
use crate::{
    FilterOverride, FilteringStore, NewAccount, NewUnblockRequest, PortalSession, Result,
    StoreError, UnblockDecision, UnblockRequest,
};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use gatehouse_domain::filtering::{UnblockScope, UnblockStatus};
use gatehouse_domain::people::{PersonDetails, PersonKind};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const REQUEST_COLUMNS: &str = "r.id, r.created_at, r.host, r.category, r.rule, r.client_ip, \
    r.person_id, p.first_name, p.last_name, p.kind, r.group_name, r.reason, r.status, r.scope, \
    r.until, r.decided_by, r.decided_at, r.note \
    FROM unblock_requests r LEFT JOIN people p ON p.id = r.person_id";

fn request(row: &SqliteRow) -> Result<UnblockRequest> {
    let person = joined_person(row)?;
    Ok(UnblockRequest {
        id: row.try_get("id")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        host: row.try_get("host")?,
        category: row.try_get("category")?,
        rule: row.try_get("rule")?,
        client_ip: row.try_get("client_ip")?,
        person,
        group: row.try_get("group_name")?,
        reason: row.try_get("reason")?,
        status: UnblockStatus::parse(&row.try_get::<String, _>("status")?).map_err(corrupt)?,
        scope: row
            .try_get::<Option<String>, _>("scope")?
            .map(|s| UnblockScope::parse(&s).map_err(corrupt))
            .transpose()?,
        until: opt_ts(row, "until")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: opt_ts(row, "decided_at")?,
        note: row.try_get("note")?,
    })
}

async fn one_request(
    conn: &mut sqlx::SqliteConnection,
    school: i64,
    id: i64,
) -> Result<Option<UnblockRequest>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} WHERE r.school_id = $1 AND r.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(school)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(request)
        .transpose()
}

#[async_trait]
impl FilteringStore for SqliteStore {
    async fn create_unblock_request(
        &self,
        school: i64,
        req: &NewUnblockRequest,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<UnblockRequest> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO unblock_requests (school_id, created_at, host, category, rule, client_ip, \
             person_id, group_name, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(school)
        .bind(ts(at))
        .bind(&req.host)
        .bind(&req.category)
        .bind(&req.rule)
        .bind(&req.client_ip)
        .bind(req.person_id)
        .bind(&req.group)
        .bind(&req.reason)
        .fetch_one(&mut *tx)
        .await?;
        let mut event = audit_event;
        event.target = Some(format!("unblock_request:{id}"));
        audit::append(&mut tx, at, event).await?;
        let stored = one_request(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the new request was not stored".into()))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn unblock_requests(
        &self,
        school: i64,
        status: Option<UnblockStatus>,
        person: Option<i64>,
        limit: i64,
    ) -> Result<Vec<UnblockRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} WHERE r.school_id = $1 AND ($2 IS NULL OR r.status = $2) \
             AND ($3 IS NULL OR r.person_id = $3) ORDER BY r.id DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .bind(status.map(UnblockStatus::as_str))
            .bind(person)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(request).collect()
    }

    async fn unblock_requests_from(
        &self,
        school: i64,
        client_ip: &str,
        since: Timestamp,
    ) -> Result<Vec<UnblockRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} WHERE r.school_id = $1 AND r.client_ip = $2 \
             AND r.created_at >= $3 ORDER BY r.id DESC LIMIT 20"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .bind(client_ip)
            .bind(ts(since))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(request).collect()
    }

    async fn unblock_request(&self, school: i64, id: i64) -> Result<Option<UnblockRequest>> {
        let mut conn = self.read.acquire().await?;
        one_request(&mut conn, school, id).await
    }

    async fn decide_unblock_request(
        &self,
        school: i64,
        id: i64,
        decision: &UnblockDecision,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<UnblockRequest> {
        let mut tx = self.begin().await?;
        let req = one_request(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("unblock request {id}")))?;
        if req.status != UnblockStatus::Pending {
            return Err(StoreError::Conflict(format!(
                "unblock request {id} was already {}",
                req.status.as_str()
            )));
        }
        let status = if decision.approve {
            UnblockStatus::Approved
        } else {
            UnblockStatus::Declined
        };
        sqlx::query(
            "UPDATE unblock_requests SET status = $1, scope = $2, until = $3, decided_by = $4, \
             decided_at = $5, note = $6 WHERE id = $7",
        )
        .bind(status.as_str())
        .bind(decision.approve.then_some(decision.scope.as_str()))
        .bind(decision.until.filter(|_| decision.approve).map(ts))
        .bind(&decision.by)
        .bind(ts(at))
        .bind(&decision.note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if decision.approve {
            let subject = match (decision.scope, req.person.as_ref()) {
                (UnblockScope::Person, Some(p)) => (UnblockScope::Person, p.id.to_string()),
                // nobody was signed in: the nearest is the group the block applied to
                (UnblockScope::Person | UnblockScope::Group, _) => {
                    (UnblockScope::Group, req.group.clone())
                }
                (UnblockScope::School, _) => (UnblockScope::School, String::new()),
            };
            sqlx::query(
                "INSERT INTO filter_overrides (school_id, scope, subject, host, action, until, \
                 source, created_by, created_at) VALUES ($1, $2, $3, $4, 'allow', $5, $6, $7, $8)",
            )
            .bind(school)
            .bind(subject.0.as_str())
            .bind(&subject.1)
            .bind(&req.host)
            .bind(decision.until.map(ts))
            .bind(format!("unblock:{id}"))
            .bind(&decision.by)
            .bind(ts(at))
            .execute(&mut *tx)
            .await?;
        }
        audit::append(&mut tx, at, audit_event).await?;
        let stored = one_request(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("unblock request {id}")))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn active_overrides(&self, school: i64, now: Timestamp) -> Result<Vec<FilterOverride>> {
        let rows = sqlx::query(
            "SELECT id, scope, subject, host, action, policy, until, source FROM filter_overrides \
             WHERE school_id = $1 AND ended_at IS NULL AND (until IS NULL OR until > $2) \
             ORDER BY id",
        )
        .bind(school)
        .bind(ts(now))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FilterOverride {
                    id: r.try_get("id")?,
                    scope: UnblockScope::parse(&r.try_get::<String, _>("scope")?)
                        .map_err(corrupt)?,
                    subject: r.try_get("subject")?,
                    host: r.try_get("host")?,
                    action: r.try_get("action")?,
                    policy: r.try_get("policy")?,
                    until: opt_ts(r, "until")?,
                    source: r.try_get("source")?,
                })
            })
            .collect()
    }

    async fn start_portal_session(
        &self,
        school: i64,
        s: &PortalSession,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO portal_sessions (client_ip, school_id, person_id, account_id, \
             signed_in_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (client_ip) DO UPDATE SET school_id = excluded.school_id, \
             person_id = excluded.person_id, account_id = excluded.account_id, \
             signed_in_at = excluded.signed_in_at, expires_at = excluded.expires_at",
        )
        .bind(&s.client_ip)
        .bind(school)
        .bind(s.person_id)
        .bind(s.account_id)
        .bind(ts(s.signed_in_at))
        .bind(ts(s.expires_at))
        .execute(&mut *tx)
        .await?;
        audit::append(&mut tx, s.signed_in_at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_portal_session(
        &self,
        client_ip: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query("DELETE FROM portal_sessions WHERE client_ip = $1")
            .bind(client_ip)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if ended {
            audit::append(&mut tx, at, audit_event).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }

    async fn portal_sessions(&self, now: Timestamp) -> Result<Vec<PortalSession>> {
        let rows = sqlx::query(
            "SELECT client_ip, person_id, account_id, signed_in_at, expires_at \
             FROM portal_sessions WHERE expires_at > $1",
        )
        .bind(ts(now))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PortalSession {
                    client_ip: r.try_get("client_ip")?,
                    person_id: r.try_get("person_id")?,
                    account_id: r.try_get("account_id")?,
                    signed_in_at: parse_ts(&r.try_get::<String, _>("signed_in_at")?)?,
                    expires_at: parse_ts(&r.try_get::<String, _>("expires_at")?)?,
                })
            })
            .collect()
    }

    async fn register_visitor(
        &self,
        school: i64,
        details: &PersonDetails,
        account: &NewAccount,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<(i64, i64)> {
        if details.kind != PersonKind::Visitor {
            return Err(StoreError::Corrupt(
                "only visitors register at the portal".into(),
            ));
        }
        let now = ts(at);
        let mut tx = self.begin().await?;
        let q = sqlx::query(
            "INSERT INTO people (mis_id, first_name, last_name, email, year_group, class_name, job_title,
                 start_date, leave_date, school_id, kind, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12) RETURNING id",
        );
        let person: i64 = super::people::details_binds(q, details)
            .bind(school)
            .bind(details.kind.as_str())
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (school_id, person_id, username, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(school)
        .bind(person)
        .bind(account.username.to_lowercase())
        .bind(&account.password_hash)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| super::conflict(e, &format!("the username '{}'", account.username)))?;
        super::accounts::insert_roles(&mut tx, id, &account.roles).await?;
        let mut event = audit_event;
        event.target = Some(format!("person:{person}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok((person, id))
    }
}
