//! Agreement storage: policies, versions (published ones are immutable, enforced by
//! triggers too), the hash-chained signature ledger and reminders sent.

use super::people::person;
use super::{SqliteStore, audit, corrupt};
use crate::time::{date, parse_date, parse_ts, ts};
use crate::{
    AgreementStore, NewPolicy, NewVersion, Person, Policy, PolicyVersion, Result, StoreError,
    VersionStatus,
};
use async_trait::async_trait;
use gatehouse_domain::agreements::Audience;
use gatehouse_domain::agreements::ledger::{
    Act, Method, Relation, Signature, SignatureRecord, seal,
};
use gatehouse_domain::audit::AuditEvent;
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

fn opt_date(row: &SqliteRow, col: &str) -> Result<Option<Date>> {
    row.try_get::<Option<String>, _>(col)?
        .map(|s| parse_date(&s))
        .transpose()
}

fn status(s: &str) -> Result<VersionStatus> {
    Ok(match s {
        "draft" => VersionStatus::Draft,
        "approved" => VersionStatus::Approved,
        "published" => VersionStatus::Published,
        "superseded" => VersionStatus::Superseded,
        other => return Err(corrupt(format!("version status '{other}'"))),
    })
}

fn version(row: &SqliteRow) -> Result<PolicyVersion> {
    Ok(PolicyVersion {
        id: row.try_get("id")?,
        policy_id: row.try_get("policy_id")?,
        number: u32::try_from(row.try_get::<i64, _>("number")?).map_err(corrupt)?,
        status: status(row.try_get("status")?)?,
        body: row.try_get("body")?,
        hash: row.try_get("hash")?,
        material: row.try_get("material")?,
        change_note: row.try_get("change_note")?,
        approved_by: row.try_get("approved_by")?,
        approved_on: opt_date(row, "approved_on")?,
        effective_on: opt_date(row, "effective_on")?,
        review_on: opt_date(row, "review_on")?,
        published_at: row
            .try_get::<Option<String>, _>("published_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
        created_by: row.try_get("created_by")?,
        created_at: parse_ts(row.try_get("created_at")?)?,
    })
}

fn annual(s: Option<String>) -> Result<Option<(i8, i8)>> {
    let Some(s) = s else { return Ok(None) };
    let (m, d) = s
        .split_once('-')
        .ok_or_else(|| corrupt(format!("annual date '{s}'")))?;
    Ok(Some((
        m.parse().map_err(corrupt)?,
        d.parse().map_err(corrupt)?,
    )))
}

fn policy_row(row: &SqliteRow) -> Result<Policy> {
    let audience: String = row.try_get("audience")?;
    Ok(Policy {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        audience: audience.parse::<Audience>().map_err(corrupt)?,
        owner: row.try_get("owner")?,
        days_to_sign: u16::try_from(row.try_get::<i64, _>("days_to_sign")?).map_err(corrupt)?,
        annual_from: annual(row.try_get("annual_from")?)?,
        versions: Vec::new(),
    })
}

fn signature_record(row: &SqliteRow) -> Result<SignatureRecord> {
    Ok(SignatureRecord {
        seq: row.try_get("seq")?,
        signature: Signature {
            person_id: row.try_get("person_id")?,
            signer_id: row.try_get("signer_id")?,
            relation: Relation::parse(row.try_get("relation")?).map_err(corrupt)?,
            policy_id: row.try_get("policy_id")?,
            version_id: row.try_get("version_id")?,
            version_number: u32::try_from(row.try_get::<i64, _>("version_number")?)
                .map_err(corrupt)?,
            version_hash: row.try_get("version_hash")?,
            act: Act::parse(row.try_get("action")?).map_err(corrupt)?,
            method: Method::parse(row.try_get("method")?).map_err(corrupt)?,
            typed_name: row.try_get("typed_name")?,
            signed_on: parse_date(row.try_get("signed_on")?)?,
            recorded_at: parse_ts(row.try_get("recorded_at")?)?,
            recorded_by: row.try_get("recorded_by")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            scan_sha256: row.try_get("scan_sha256")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

async fn version_status(conn: &mut SqliteConnection, id: i64) -> Result<(i64, VersionStatus)> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT policy_id, status FROM policy_versions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let (policy, s) = row.ok_or_else(|| StoreError::NotFound(format!("version {id}")))?;
    Ok((policy, status(&s)?))
}

async fn insert_signature(
    conn: &mut SqliteConnection,
    school: i64,
    rec: &SignatureRecord,
) -> Result<()> {
    let g = &rec.signature;
    sqlx::query(
        "INSERT INTO signatures (seq, school_id, person_id, signer_id, relation, policy_id, version_id, version_number,
             version_hash, action, method, typed_name, signed_on, recorded_at, recorded_by, ip, user_agent,
             scan_sha256, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(rec.seq)
    .bind(school)
    .bind(g.person_id)
    .bind(g.signer_id)
    .bind(g.relation.as_str())
    .bind(g.policy_id)
    .bind(g.version_id)
    .bind(i64::from(g.version_number))
    .bind(&g.version_hash)
    .bind(g.act.as_str())
    .bind(g.method.as_str())
    .bind(&g.typed_name)
    .bind(date(g.signed_on))
    .bind(ts(g.recorded_at))
    .bind(&g.recorded_by)
    .bind(&g.ip)
    .bind(&g.user_agent)
    .bind(&g.scan_sha256)
    .bind(&rec.prev_hash)
    .bind(&rec.hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqliteStore {
    async fn load_versions(&self, policies: &mut [Policy]) -> Result<()> {
        for p in policies.iter_mut() {
            let rows =
                sqlx::query("SELECT * FROM policy_versions WHERE policy_id = $1 ORDER BY number")
                    .bind(p.id)
                    .fetch_all(&self.read)
                    .await?;
            p.versions = rows.iter().map(version).collect::<Result<_>>()?;
        }
        Ok(())
    }
}

#[async_trait]
impl AgreementStore for SqliteStore {
    async fn create_policy(
        &self,
        school: i64,
        new: &NewPolicy,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policies (school_id, title, audience, owner, days_to_sign, annual_from, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(school)
        .bind(&new.title)
        .bind(new.audience.as_str())
        .bind(&new.owner)
        .bind(i64::from(new.days_to_sign))
        .bind(new.annual_from.map(|(m, d)| format!("{m:02}-{d:02}")))
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await?;
        let mut event = audit_event;
        event.target.get_or_insert_with(|| format!("policy:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn policies(&self, school: i64) -> Result<Vec<Policy>> {
        let rows = sqlx::query("SELECT * FROM policies WHERE school_id = $1 ORDER BY id")
            .bind(school)
            .fetch_all(&self.read)
            .await?;
        let mut out = rows.iter().map(policy_row).collect::<Result<Vec<_>>>()?;
        self.load_versions(&mut out).await?;
        Ok(out)
    }

    async fn policy(&self, school: i64, id: i64) -> Result<Option<Policy>> {
        let row = sqlx::query("SELECT * FROM policies WHERE school_id = $1 AND id = $2")
            .bind(school)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut p = [policy_row(&row)?];
        self.load_versions(&mut p).await?;
        let [p] = p;
        Ok(Some(p))
    }

    async fn add_version(
        &self,
        d: &NewVersion,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let drafts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM policy_versions WHERE policy_id = $1 AND status IN ('draft', 'approved')",
        )
        .bind(d.policy_id)
        .fetch_one(&mut *tx)
        .await?;
        if drafts > 0 {
            return Err(StoreError::Refused(
                "this policy already has a version waiting to be published; publish or finish that one first".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policy_versions (policy_id, number, status, body, hash, material, change_note, created_by, created_at)
             VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM policy_versions WHERE policy_id = $1),
                     'draft', $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(d.policy_id)
        .bind(&d.body)
        .bind(&d.hash)
        .bind(d.material)
        .bind(&d.change_note)
        .bind(&d.created_by)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await?;
        let mut event = audit_event;
        event
            .target
            .get_or_insert_with(|| format!("policy_version:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn approve_version(
        &self,
        id: i64,
        by: &str,
        on: Date,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let (_, st) = version_status(&mut tx, id).await?;
        if st != VersionStatus::Draft {
            return Err(StoreError::Refused(format!(
                "only a draft can be approved; this version is {}",
                st.as_str()
            )));
        }
        sqlx::query("UPDATE policy_versions SET status = 'approved', approved_by = $1, approved_on = $2 WHERE id = $3")
            .bind(by)
            .bind(date(on))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn publish_version(
        &self,
        id: i64,
        effective: Date,
        review: Date,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let (policy, st) = version_status(&mut tx, id).await?;
        if st != VersionStatus::Approved {
            return Err(StoreError::Refused(format!(
                "only an approved version can be published; this version is {}",
                st.as_str()
            )));
        }
        sqlx::query("UPDATE policy_versions SET status = 'superseded' WHERE policy_id = $1 AND status = 'published'")
            .bind(policy)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE policy_versions SET status = 'published', effective_on = $1, review_on = $2, published_at = $3 WHERE id = $4",
        )
        .bind(date(effective))
        .bind(date(review))
        .bind(ts(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE policies SET updated_at = $1 WHERE id = $2")
            .bind(ts(at))
            .bind(policy)
            .execute(&mut *tx)
            .await?;
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_signatures(
        &self,
        school: i64,
        list: Vec<Signature>,
        audit_event: AuditEvent,
    ) -> Result<Vec<SignatureRecord>> {
        let mut tx = self.begin().await?;
        let mut tail: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM signatures ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let mut out = Vec::with_capacity(list.len());
        let mut at = None;
        for mut s in list {
            s.recorded_at = crate::time::stored_ts(s.recorded_at);
            at.get_or_insert(s.recorded_at);
            let rec = seal(tail.as_ref().map(|(q, h)| (*q, h.as_str())), s);
            insert_signature(&mut tx, school, &rec).await?;
            tail = Some((rec.seq, rec.hash.clone()));
            out.push(rec);
        }
        if let Some(at) = at {
            let mut event = audit_event;
            let seqs: Vec<String> = out.iter().map(|r| r.seq.to_string()).collect();
            event
                .target
                .get_or_insert_with(|| format!("signature:{}", seqs.join(",")));
            audit::append(&mut tx, at, event).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn signatures(
        &self,
        school: i64,
        people: Option<&[i64]>,
    ) -> Result<Vec<SignatureRecord>> {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT * FROM signatures WHERE school_id = ");
        q.push_bind(school);
        if let Some(ids) = people {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" AND person_id IN (");
            let mut sep = q.separated(", ");
            for id in ids {
                sep.push_bind(*id);
            }
            q.push(")");
        }
        q.push(" ORDER BY seq");
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(signature_record).collect()
    }

    async fn policy_signatures(&self, policy: i64) -> Result<Vec<SignatureRecord>> {
        let rows = sqlx::query("SELECT * FROM signatures WHERE policy_id = $1 ORDER BY seq")
            .bind(policy)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(signature_record).collect()
    }

    async fn ledger_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<SignatureRecord>> {
        let rows = sqlx::query("SELECT * FROM signatures WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(signature_record).collect()
    }

    async fn active_people(&self, school: i64) -> Result<Vec<Person>> {
        let rows = sqlx::query(
            "SELECT * FROM people WHERE school_id = $1 AND active = 1 ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(person).collect()
    }

    async fn parent_links(&self, school: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT l.parent_id, l.child_id FROM parent_links l JOIN people p ON p.id = l.child_id WHERE p.school_id = $1",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await?)
    }

    async fn children_of(&self, parent: i64) -> Result<Vec<Person>> {
        let rows = sqlx::query(
            "SELECT p.* FROM parent_links l JOIN people p ON p.id = l.child_id
             WHERE l.parent_id = $1 AND p.active = 1 ORDER BY p.first_name, p.id",
        )
        .bind(parent)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(person).collect()
    }

    async fn mark_reminder(&self, person_id: i64, key: &str, at: Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO reminders_sent (person_id, reminder, sent_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(person_id)
        .bind(key)
        .bind(ts(at))
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
