//! Incidents and concerns: the record, its people, its append-only chronology (the
//! database refuses to change or remove an entry), evidence files, breach details, and the
//! sanctions written into `filter_overrides`.

use super::{SqliteStore, audit, corrupt, opt_ts};
use crate::time::{parse_ts, ts};
use crate::{
    Incident, IncidentAttachment, IncidentChange, IncidentEntry, IncidentPerson, IncidentSanction,
    IncidentStore, NewEntry, NewIncident, Result, StoreError,
};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use gatehouse_domain::incidents::{
    Agency, BreachDetails, EntryKind, FilterSanction, IncidentKind, Involvement, ReportDecision,
    Risk, Severity, Status,
};
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

fn req_ts(row: &SqliteRow, col: &str) -> Result<Timestamp> {
    parse_ts(&row.try_get::<String, _>(col)?)
}

const INCIDENT_COLUMNS: &str = "i.id, i.kind, i.summary, i.description, i.severity, i.status, \
    i.outcome, i.occurred_at, i.reported_at, i.reporter, i.reporter_account_id, i.assignee, \
    b.discovered_at, b.near_miss, b.data, b.people_count, b.records_count, b.consequences, \
    b.risk, b.decision, b.decision_reason, b.ico_reference, b.people_told, b.measures \
    FROM incidents i LEFT JOIN incident_breaches b ON b.incident_id = i.id";

fn breach(row: &SqliteRow) -> Result<Option<BreachDetails>> {
    let Some(discovered_at) = opt_ts(row, "discovered_at")? else {
        return Ok(None);
    };
    let decision = match row.try_get::<Option<String>, _>("decision")?.as_deref() {
        None => ReportDecision::Undecided,
        Some("report") => ReportDecision::Report,
        Some("not_report") => ReportDecision::DoNotReport(
            row.try_get::<Option<String>, _>("decision_reason")?
                .unwrap_or_default(),
        ),
        Some(other) => return Err(StoreError::Corrupt(format!("breach decision '{other}'"))),
    };
    Ok(Some(BreachDetails {
        discovered_at,
        near_miss: row.try_get::<i64, _>("near_miss")? != 0,
        data: row.try_get("data")?,
        people_count: row.try_get("people_count")?,
        records_count: row.try_get("records_count")?,
        consequences: row.try_get("consequences")?,
        risk: row
            .try_get::<Option<String>, _>("risk")?
            .map(|r| Risk::parse("risk", &r).map_err(corrupt))
            .transpose()?,
        decision,
        ico_reference: row.try_get("ico_reference")?,
        people_told: row
            .try_get::<Option<i64>, _>("people_told")?
            .map(|v| v != 0),
        measures: row.try_get("measures")?,
    }))
}

fn incident(row: &SqliteRow, people: Vec<IncidentPerson>) -> Result<Incident> {
    Ok(Incident {
        id: row.try_get("id")?,
        kind: IncidentKind::parse("kind", &row.try_get::<String, _>("kind")?).map_err(corrupt)?,
        summary: row.try_get("summary")?,
        description: row.try_get("description")?,
        severity: Severity::parse("severity", &row.try_get::<String, _>("severity")?)
            .map_err(corrupt)?,
        status: Status::parse("status", &row.try_get::<String, _>("status")?).map_err(corrupt)?,
        outcome: row.try_get("outcome")?,
        occurred_at: req_ts(row, "occurred_at")?,
        reported_at: req_ts(row, "reported_at")?,
        reporter: row.try_get("reporter")?,
        reporter_account_id: row.try_get("reporter_account_id")?,
        assignee: row.try_get("assignee")?,
        people,
        breach: breach(row)?,
    })
}

async fn people_of(conn: &mut SqliteConnection, incident: i64) -> Result<Vec<IncidentPerson>> {
    let rows = sqlx::query(
        "SELECT person_id, name, kind, involvement FROM incident_people \
         WHERE incident_id = $1 ORDER BY id",
    )
    .bind(incident)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(IncidentPerson {
                person_id: r.try_get("person_id")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                involvement: Involvement::parse(
                    "involvement",
                    &r.try_get::<String, _>("involvement")?,
                )
                .map_err(corrupt)?,
            })
        })
        .collect()
}

async fn one(conn: &mut SqliteConnection, school: i64, id: i64) -> Result<Option<Incident>> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} WHERE i.school_id = $1 AND i.id = $2");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(school)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let people = people_of(conn, id).await?;
    incident(&row, people).map(Some)
}

async fn write_breach(conn: &mut SqliteConnection, incident: i64, b: &BreachDetails) -> Result<()> {
    let (decision, reason) = match &b.decision {
        ReportDecision::Undecided => (None, None),
        ReportDecision::Report => (Some("report"), None),
        ReportDecision::DoNotReport(r) => (Some("not_report"), Some(r.as_str())),
    };
    sqlx::query(
        "INSERT INTO incident_breaches (incident_id, discovered_at, near_miss, data, people_count, \
         records_count, consequences, risk, decision, decision_reason, ico_reference, people_told, \
         measures) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (incident_id) DO UPDATE SET discovered_at = excluded.discovered_at, \
         near_miss = excluded.near_miss, data = excluded.data, people_count = excluded.people_count, \
         records_count = excluded.records_count, consequences = excluded.consequences, \
         risk = excluded.risk, decision = excluded.decision, \
         decision_reason = excluded.decision_reason, ico_reference = excluded.ico_reference, \
         people_told = excluded.people_told, measures = excluded.measures",
    )
    .bind(incident)
    .bind(ts(b.discovered_at))
    .bind(i64::from(b.near_miss))
    .bind(&b.data)
    .bind(b.people_count)
    .bind(b.records_count)
    .bind(&b.consequences)
    .bind(b.risk.map(Risk::as_str))
    .bind(decision)
    .bind(reason)
    .bind(&b.ico_reference)
    .bind(b.people_told.map(i64::from))
    .bind(&b.measures)
    .execute(conn)
    .await?;
    Ok(())
}

const ENTRY_COLUMNS: &str = "id, incident_id, kind, text, occurred_at, recorded_at, recorded_by, \
    done_by, method, agency, reference, corrects, override_id FROM incident_entries";

fn entry(r: &SqliteRow) -> Result<IncidentEntry> {
    Ok(IncidentEntry {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        kind: EntryKind::parse("kind", &r.try_get::<String, _>("kind")?).map_err(corrupt)?,
        text: r.try_get("text")?,
        occurred_at: req_ts(r, "occurred_at")?,
        recorded_at: req_ts(r, "recorded_at")?,
        recorded_by: r.try_get("recorded_by")?,
        done_by: r.try_get("done_by")?,
        method: r.try_get("method")?,
        agency: r
            .try_get::<Option<String>, _>("agency")?
            .map(|a| Agency::parse("agency", &a).map_err(corrupt))
            .transpose()?,
        reference: r.try_get("reference")?,
        corrects: r.try_get("corrects")?,
        override_id: r.try_get("override_id")?,
    })
}

/// Add an entry inside the caller's transaction.
async fn insert_entry(
    conn: &mut SqliteConnection,
    incident: i64,
    e: &NewEntry,
    override_id: Option<i64>,
    by: &str,
    at: Timestamp,
) -> Result<IncidentEntry> {
    if let Some(c) = e.corrects {
        let same: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM incident_entries WHERE id = $1 AND incident_id = $2",
        )
        .bind(c)
        .bind(incident)
        .fetch_optional(&mut *conn)
        .await?;
        if same.is_none() {
            return Err(StoreError::NotFound(format!(
                "entry {c} of incident {incident}"
            )));
        }
    }
    let kind = match (e.kind, e.corrects) {
        (_, Some(_)) => EntryKind::Correction,
        (Some(k), None) => k,
        (None, None) => EntryKind::Note,
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incident_entries (incident_id, kind, text, occurred_at, recorded_at, \
         recorded_by, done_by, method, agency, reference, corrects, override_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(incident)
    .bind(kind.as_str())
    .bind(&e.text)
    .bind(ts(e.occurred_at.unwrap_or(at)))
    .bind(ts(at))
    .bind(by)
    .bind(&e.done_by)
    .bind(&e.method)
    .bind(e.agency.map(Agency::as_str))
    .bind(&e.reference)
    .bind(e.corrects)
    .bind(override_id)
    .fetch_one(&mut *conn)
    .await?;
    let sql = format!("SELECT {ENTRY_COLUMNS} WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(conn)
        .await?;
    entry(&row)
}

const SANCTION_QUERY: &str = "SELECT o.id, o.subject, o.action, o.policy, o.until, o.ended_at, \
    o.source FROM filter_overrides o";

fn sanction(r: &SqliteRow) -> Result<IncidentSanction> {
    let source: String = r.try_get("source")?;
    let incident_id = source
        .strip_prefix("incident:")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("override source '{source}'")))?;
    let subject: String = r.try_get("subject")?;
    let sanction = match r.try_get::<Option<String>, _>("policy")? {
        Some(p) => FilterSanction::RestrictedTo(p),
        None => FilterSanction::InternetRemoved,
    };
    Ok(IncidentSanction {
        override_id: r.try_get("id")?,
        incident_id,
        person_id: subject
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("override subject '{subject}'")))?,
        sanction,
        until: opt_ts(r, "until")?
            .ok_or_else(|| StoreError::Corrupt("a sanction without an end".into()))?,
        ended_at: opt_ts(r, "ended_at")?,
    })
}

fn with_target(mut event: AuditEvent, incident: i64) -> AuditEvent {
    if event.target.is_none() {
        event.target = Some(format!("incident:{incident}"));
    }
    event
}

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn create_incident(
        &self,
        school: i64,
        new: &NewIncident,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (school_id, kind, summary, description, severity, occurred_at, \
             reported_at, reporter, reporter_account_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(school)
        .bind(new.kind.as_str())
        .bind(&new.summary)
        .bind(&new.description)
        .bind(new.severity.as_str())
        .bind(ts(new.occurred_at))
        .bind(ts(at))
        .bind(&new.reporter)
        .bind(new.reporter_account_id)
        .fetch_one(&mut *tx)
        .await?;
        for p in &new.people {
            sqlx::query(
                "INSERT INTO incident_people (incident_id, person_id, name, kind, involvement) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(p.person_id)
            .bind(&p.name)
            .bind(&p.kind)
            .bind(p.involvement.as_str())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(b) = &new.breach {
            write_breach(&mut tx, id, b).await?;
        }
        let mut event = audit_event;
        event.target = Some(format!("incident:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn incidents(&self, school: i64, limit: i64) -> Result<Vec<Incident>> {
        let mut conn = self.read.acquire().await?;
        let sql =
            format!("SELECT {INCIDENT_COLUMNS} WHERE i.school_id = $1 ORDER BY i.id DESC LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let people = people_of(&mut conn, row.try_get("id")?).await?;
            out.push(incident(row, people)?);
        }
        Ok(out)
    }

    async fn incident(&self, school: i64, id: i64) -> Result<Option<Incident>> {
        let mut conn = self.read.acquire().await?;
        one(&mut conn, school, id).await
    }

    async fn incident_entries(&self, incident: i64) -> Result<Vec<IncidentEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(entry).collect()
    }

    async fn append_incident_entry(
        &self,
        incident: i64,
        e: &NewEntry,
        by: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<IncidentEntry> {
        let mut tx = self.begin().await?;
        let stored = insert_entry(&mut tx, incident, e, None, by, at).await?;
        audit::append(&mut tx, at, with_target(audit_event, incident)).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn change_incident(
        &self,
        school: i64,
        id: i64,
        change: &IncidentChange,
        e: &NewEntry,
        by: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<Incident> {
        let mut tx = self.begin().await?;
        if one(&mut tx, school, id).await?.is_none() {
            return Err(StoreError::NotFound(format!("incident {id}")));
        }
        match change {
            IncidentChange::Status { to, outcome } => {
                sqlx::query("UPDATE incidents SET status = $1, outcome = $2 WHERE id = $3")
                    .bind(to.as_str())
                    .bind(outcome)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            IncidentChange::Assign(who) => {
                sqlx::query("UPDATE incidents SET assignee = $1 WHERE id = $2")
                    .bind(who)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            IncidentChange::Breach(b) => write_breach(&mut tx, id, b).await?,
        }
        insert_entry(&mut tx, id, e, None, by, at).await?;
        audit::append(&mut tx, at, with_target(audit_event, id)).await?;
        let stored = one(&mut tx, school, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn apply_incident_sanction(
        &self,
        school: i64,
        incident: i64,
        person: i64,
        s: &FilterSanction,
        until: Timestamp,
        e: &NewEntry,
        by: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        if one(&mut tx, school, incident).await?.is_none() {
            return Err(StoreError::NotFound(format!("incident {incident}")));
        }
        let (action, policy) = match s {
            FilterSanction::InternetRemoved => (Some("block"), None),
            FilterSanction::RestrictedTo(g) => (None, Some(g.as_str())),
        };
        let override_id: i64 = sqlx::query_scalar(
            "INSERT INTO filter_overrides (school_id, scope, subject, host, action, policy, until, \
             source, created_by, created_at) \
             VALUES ($1, 'person', $2, NULL, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(school)
        .bind(person.to_string())
        .bind(action)
        .bind(policy)
        .bind(ts(until))
        .bind(format!("incident:{incident}"))
        .bind(by)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await?;
        let mut e = e.clone();
        e.kind = Some(EntryKind::FilterSanction);
        insert_entry(&mut tx, incident, &e, Some(override_id), by, at).await?;
        audit::append(&mut tx, at, with_target(audit_event, incident)).await?;
        tx.commit().await?;
        Ok(override_id)
    }

    async fn lift_incident_sanction(
        &self,
        school: i64,
        incident: i64,
        override_id: i64,
        e: &NewEntry,
        by: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let lifted = sqlx::query(
            "UPDATE filter_overrides SET ended_at = $1 WHERE id = $2 AND school_id = $3 \
             AND source = $4 AND ended_at IS NULL AND until > $1",
        )
        .bind(ts(at))
        .bind(override_id)
        .bind(school)
        .bind(format!("incident:{incident}"))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if lifted == 0 {
            return Err(StoreError::Conflict(format!(
                "sanction {override_id} has already ended"
            )));
        }
        let mut e = e.clone();
        e.kind = Some(EntryKind::SanctionLifted);
        insert_entry(&mut tx, incident, &e, Some(override_id), by, at).await?;
        audit::append(&mut tx, at, with_target(audit_event, incident)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn incident_sanctions(&self, incident: i64) -> Result<Vec<IncidentSanction>> {
        let sql = format!("{SANCTION_QUERY} WHERE o.source = $1 ORDER BY o.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(format!("incident:{incident}"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(sanction).collect()
    }

    async fn sanctions_ended_unrecorded(
        &self,
        school: i64,
        now: Timestamp,
    ) -> Result<Vec<IncidentSanction>> {
        let sql = format!(
            "{SANCTION_QUERY} WHERE o.school_id = $1 AND o.source LIKE 'incident:%' \
             AND o.ended_at IS NULL AND o.until <= $2 AND NOT EXISTS (SELECT 1 FROM \
             incident_entries e WHERE e.override_id = o.id AND e.kind = 'sanction_ended') \
             ORDER BY o.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .bind(ts(now))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(sanction).collect()
    }

    async fn record_sanction_end(
        &self,
        s: &IncidentSanction,
        e: &NewEntry,
        by: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM incident_entries WHERE override_id = $1 AND kind = 'sanction_ended'",
        )
        .bind(s.override_id)
        .fetch_optional(&mut *tx)
        .await?;
        if done.is_some() {
            return Ok(false);
        }
        let mut e = e.clone();
        e.kind = Some(EntryKind::SanctionEnded);
        insert_entry(&mut tx, s.incident_id, &e, Some(s.override_id), by, at).await?;
        audit::append(&mut tx, at, with_target(audit_event, s.incident_id)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_incident_attachment(
        &self,
        incident: i64,
        f: &IncidentAttachment,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incident_attachments (incident_id, sha256, file_name, mime, size, \
             added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(incident)
        .bind(&f.sha256)
        .bind(&f.file_name)
        .bind(&f.mime)
        .bind(f.size)
        .bind(&f.added_by)
        .bind(ts(f.added_at))
        .fetch_one(&mut *tx)
        .await?;
        let e = NewEntry {
            kind: Some(EntryKind::Attachment),
            text: format!("{} ({} bytes, SHA-256 {})", f.file_name, f.size, f.sha256),
            ..NewEntry::default()
        };
        insert_entry(&mut tx, incident, &e, None, &f.added_by, f.added_at).await?;
        audit::append(&mut tx, f.added_at, with_target(audit_event, incident)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn add_incident_person(
        &self,
        school: i64,
        incident: i64,
        p: &IncidentPerson,
        by: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if one(&mut tx, school, incident).await?.is_none() {
            return Err(StoreError::NotFound(format!("incident {incident}")));
        }
        sqlx::query(
            "INSERT INTO incident_people (incident_id, person_id, name, kind, involvement) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(incident)
        .bind(p.person_id)
        .bind(&p.name)
        .bind(&p.kind)
        .bind(p.involvement.as_str())
        .execute(&mut *tx)
        .await?;
        let e = NewEntry {
            kind: Some(EntryKind::Note),
            text: format!(
                "Added to the people involved: {} ({}, {})",
                p.name,
                p.kind,
                p.involvement.label().to_lowercase()
            ),
            ..NewEntry::default()
        };
        insert_entry(&mut tx, incident, &e, None, by, at).await?;
        audit::append(&mut tx, at, with_target(audit_event, incident)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn incident_attachments(&self, incident: i64) -> Result<Vec<IncidentAttachment>> {
        let rows = sqlx::query(
            "SELECT id, sha256, file_name, mime, size, added_by, added_at \
             FROM incident_attachments WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IncidentAttachment {
                    id: r.try_get("id")?,
                    sha256: r.try_get("sha256")?,
                    file_name: r.try_get("file_name")?,
                    mime: r.try_get("mime")?,
                    size: r.try_get("size")?,
                    added_by: r.try_get("added_by")?,
                    added_at: req_ts(r, "added_at")?,
                })
            })
            .collect()
    }
}
