//! People storage: the directory, person records and applying imports.

use super::{SqliteStore, audit, corrupt};
use crate::time::{date, parse_date, parse_ts, ts};
use crate::{
    Facets, ImportOutcome, PeopleFilter, PeoplePage, PeopleStore, Person, PersonRecord, PersonRef,
    Result,
};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use gatehouse_domain::import::{ExistingPerson, ImportPlan};
use gatehouse_domain::people::{
    ClassName, Email, JobTitle, MisId, PersonDetails, PersonKind, PersonName, YearGroup,
};
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::{HashMap, HashSet};

fn opt<T>(
    raw: Option<String>,
    parse: impl Fn(&str) -> Result<T, gatehouse_domain::DomainError>,
) -> Result<Option<T>> {
    raw.filter(|s| !s.is_empty())
        .map(|s| parse(&s).map_err(corrupt))
        .transpose()
}

pub(super) fn person(row: &SqliteRow) -> Result<Person> {
    let kind: String = row.try_get("kind")?;
    let details = PersonDetails {
        kind: kind.parse().map_err(corrupt)?,
        mis_id: opt(row.try_get("mis_id")?, MisId::parse)?,
        first_name: PersonName::parse(row.try_get("first_name")?).map_err(corrupt)?,
        last_name: PersonName::parse(row.try_get("last_name")?).map_err(corrupt)?,
        email: opt(row.try_get("email")?, Email::parse)?,
        year_group: opt(row.try_get("year_group")?, YearGroup::parse)?,
        class_name: opt(row.try_get("class_name")?, ClassName::parse)?,
        job_title: opt(row.try_get("job_title")?, JobTitle::parse)?,
        start_date: row
            .try_get::<Option<String>, _>("start_date")?
            .map(|s| parse_date(&s))
            .transpose()?,
        leave_date: row
            .try_get::<Option<String>, _>("leave_date")?
            .map(|s| parse_date(&s))
            .transpose()?,
    };
    let created = parse_ts(row.try_get("created_at")?)?;
    Ok(Person {
        id: row.try_get("id")?,
        details,
        active: row.try_get("active")?,
        recorded_on: created.to_zoned(jiff::tz::TimeZone::UTC).date(),
    })
}

fn push_filter(q: &mut QueryBuilder<Sqlite>, school: i64, f: &PeopleFilter) {
    q.push(" WHERE school_id = ").push_bind(school);
    if !f.include_inactive {
        q.push(" AND active = 1");
    }
    if let Some(k) = f.kind {
        q.push(" AND kind = ").push_bind(k.as_str());
    }
    if let Some(y) = &f.year_group {
        q.push(" AND year_group = ").push_bind(y.clone());
    }
    if let Some(c) = &f.class_name {
        q.push(" AND class_name = ").push_bind(c.clone());
    }
    if let Some(words) = &f.query {
        for word in words.split_whitespace().take(5) {
            let like = format!("%{}%", super::like_escape(word));
            q.push(" AND (first_name LIKE ")
                .push_bind(like.clone())
                .push(" ESCAPE '\\' OR last_name LIKE ")
                .push_bind(like.clone())
                .push(" ESCAPE '\\' OR email LIKE ")
                .push_bind(like.clone())
                .push(" ESCAPE '\\' OR mis_id LIKE ")
                .push_bind(like)
                .push(" ESCAPE '\\')");
        }
    }
}

async fn refs(pool: &sqlx::SqlitePool, sql: &'static str, id: i64) -> Result<Vec<PersonRef>> {
    let rows = sqlx::query(sql).bind(id).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(PersonRef {
                id: r.try_get("id")?,
                name: format!(
                    "{} {}",
                    r.try_get::<String, _>("first_name")?,
                    r.try_get::<String, _>("last_name")?
                ),
                kind: kind.parse().map_err(corrupt)?,
            })
        })
        .collect()
}

pub(super) fn details_binds<'q>(
    q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    d: &'q PersonDetails,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    q.bind(d.mis_id.as_ref().map(MisId::as_str))
        .bind(d.first_name.as_str())
        .bind(d.last_name.as_str())
        .bind(d.email.as_ref().map(Email::as_str))
        .bind(d.year_group.map(|y| y.code()))
        .bind(d.class_name.as_ref().map(ClassName::as_str))
        .bind(d.job_title.as_ref().map(JobTitle::as_str))
        .bind(d.start_date.map(date))
        .bind(d.leave_date.map(date))
}

/// Make sure the derived groups for a person's kind, year and class exist.
async fn ensure_groups(
    conn: &mut SqliteConnection,
    school: i64,
    d: &PersonDetails,
    seen: &mut HashSet<String>,
) -> Result<()> {
    let mut wanted = vec![(
        d.kind.plural_label().to_owned(),
        "kind",
        d.kind.as_str().to_owned(),
    )];
    if let Some(y) = d.year_group {
        wanted.push((y.to_string(), "year", y.code()));
    }
    if let Some(c) = &d.class_name {
        wanted.push((format!("Class {c}"), "class", c.as_str().to_owned()));
    }
    for (name, source, key) in wanted {
        if seen.insert(name.clone()) {
            sqlx::query(
                "INSERT INTO groups (school_id, name, source, rule_key) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (school_id, name) DO NOTHING",
            )
            .bind(school)
            .bind(name)
            .bind(source)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

async fn link_children(
    conn: &mut SqliteConnection,
    school: i64,
    parent: i64,
    children: &[MisId],
    at: &str,
) -> Result<usize> {
    let mut added = 0;
    for child in children {
        let r = sqlx::query(
            "INSERT INTO parent_links (parent_id, child_id, created_at)
             SELECT $1, id, $2 FROM people WHERE school_id = $3 AND kind = 'pupil' AND mis_id = $4
             ON CONFLICT (parent_id, child_id) DO NOTHING",
        )
        .bind(parent)
        .bind(at)
        .bind(school)
        .bind(child.as_str())
        .execute(&mut *conn)
        .await?;
        added += r.rows_affected() as usize;
    }
    Ok(added)
}

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn list_people(&self, school: i64, f: &PeopleFilter) -> Result<PeoplePage> {
        let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*) FROM people");
        push_filter(&mut count, school, f);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM people");
        push_filter(&mut q, school, f);
        q.push(" ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id LIMIT ")
            .push_bind(f.limit.clamp(1, 500))
            .push(" OFFSET ")
            .push_bind(f.offset.max(0));
        let rows = q.build().fetch_all(&self.read).await?;
        Ok(PeoplePage {
            people: rows.iter().map(person).collect::<Result<_>>()?,
            total,
        })
    }

    async fn person(&self, school: i64, id: i64) -> Result<Option<PersonRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM people WHERE school_id = $1 AND id = $2")
            .bind(school)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let p = person(&row)?;
        let parents = refs(
            &self.read,
            "SELECT p.id, p.first_name, p.last_name, p.kind FROM parent_links l
             JOIN people p ON p.id = l.parent_id WHERE l.child_id = $1 ORDER BY p.last_name, p.first_name",
            id,
        )
        .await?;
        let children = refs(
            &self.read,
            "SELECT p.id, p.first_name, p.last_name, p.kind FROM parent_links l
             JOIN people p ON p.id = l.child_id WHERE l.parent_id = $1 ORDER BY p.last_name, p.first_name",
            id,
        )
        .await?;
        let account_id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE person_id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        let account = match account_id {
            Some(a) => crate::AccountStore::account(self, a).await?,
            None => None,
        };
        Ok(Some(PersonRecord {
            person: p,
            parents,
            children,
            account,
            created_at: parse_ts(row.try_get("created_at")?)?,
            updated_at: parse_ts(row.try_get("updated_at")?)?,
        }))
    }

    async fn facets(&self, school: i64) -> Result<Facets> {
        let mut years: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT year_group FROM people WHERE school_id = $1 AND active = 1 AND year_group IS NOT NULL",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await?;
        years.sort_by_key(|y| {
            YearGroup::parse(y)
                .map(YearGroup::ordinal)
                .unwrap_or(i8::MAX)
        });
        let classes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT class_name FROM people WHERE school_id = $1 AND active = 1 AND class_name IS NOT NULL ORDER BY class_name",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await?;
        Ok(Facets {
            year_groups: years,
            classes,
        })
    }

    async fn count_by_kind(&self, school: i64) -> Result<Vec<(PersonKind, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT kind, COUNT(*) FROM people WHERE school_id = $1 AND active = 1 GROUP BY kind",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await?;
        let mut out = rows
            .into_iter()
            .map(|(k, n)| Ok((k.parse::<PersonKind>().map_err(corrupt)?, n)))
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    async fn people_for_import(
        &self,
        school: i64,
        kind: PersonKind,
    ) -> Result<Vec<ExistingPerson>> {
        let rows = sqlx::query("SELECT * FROM people WHERE school_id = $1 AND kind = $2")
            .bind(school)
            .bind(kind.as_str())
            .fetch_all(&self.read)
            .await?;
        let mut children: HashMap<i64, Vec<MisId>> = HashMap::new();
        if kind == PersonKind::Parent {
            let links: Vec<(i64, String)> = sqlx::query_as(
                "SELECT l.parent_id, c.mis_id FROM parent_links l
                 JOIN people c ON c.id = l.child_id
                 WHERE c.school_id = $1 AND c.mis_id IS NOT NULL",
            )
            .bind(school)
            .fetch_all(&self.read)
            .await?;
            for (parent, mis) in links {
                children
                    .entry(parent)
                    .or_default()
                    .push(MisId::parse(&mis).map_err(corrupt)?);
            }
        }
        rows.iter()
            .map(|row| {
                let p = person(row)?;
                Ok(ExistingPerson {
                    id: p.id,
                    children: children.remove(&p.id).unwrap_or_default(),
                    details: p.details,
                    active: p.active,
                })
            })
            .collect()
    }

    async fn pupil_mis_ids(&self, school: i64) -> Result<HashSet<MisId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT mis_id FROM people WHERE school_id = $1 AND kind = 'pupil' AND mis_id IS NOT NULL",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await?;
        ids.iter()
            .map(|s| MisId::parse(s).map_err(corrupt))
            .collect()
    }

    async fn apply_import(
        &self,
        school: i64,
        plan: &ImportPlan,
        at: Timestamp,
        audit_event: AuditEvent,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<ImportOutcome> {
        let now = ts(at);
        let mut out = ImportOutcome::default();
        let mut groups_seen = HashSet::new();
        let mut tx = self.begin().await?;
        let mut done = 0usize;
        for row in &plan.creates {
            let d = &row.details;
            let q = sqlx::query(
                "INSERT INTO people (mis_id, first_name, last_name, email, year_group, class_name, job_title,
                     start_date, leave_date, school_id, kind, active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12) RETURNING id",
            );
            let id: i64 = details_binds(q, d)
                .bind(school)
                .bind(d.kind.as_str())
                .bind(&now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| super::conflict(e, &format!("MIS id on line {}", row.line)))?
                .try_get(0)?;
            ensure_groups(&mut tx, school, d, &mut groups_seen).await?;
            out.links_added += link_children(&mut tx, school, id, &row.children, &now).await?;
            out.created += 1;
            done += 1;
            if done.is_multiple_of(200) {
                progress(done);
            }
        }
        for u in &plan.updates {
            let d = &u.row.details;
            let q = sqlx::query(
                "UPDATE people SET mis_id = $1, first_name = $2, last_name = $3, email = $4, year_group = $5,
                     class_name = $6, job_title = $7, start_date = $8, leave_date = $9,
                     active = 1, updated_at = $10
                 WHERE id = $11 AND school_id = $12",
            );
            details_binds(q, d)
                .bind(&now)
                .bind(u.id)
                .bind(school)
                .execute(&mut *tx)
                .await?;
            ensure_groups(&mut tx, school, d, &mut groups_seen).await?;
            out.links_added +=
                link_children(&mut tx, school, u.id, &u.children_added, &now).await?;
            out.updated += 1;
            done += 1;
            if done.is_multiple_of(200) {
                progress(done);
            }
        }
        for l in &plan.leavers {
            sqlx::query(
                "UPDATE people SET active = 0, updated_at = $1 WHERE id = $2 AND school_id = $3",
            )
            .bind(&now)
            .bind(l.id)
            .bind(school)
            .execute(&mut *tx)
            .await?;
            out.leavers += 1;
            done += 1;
        }
        let mut event = audit_event;
        let summary = serde_json::to_value(&out).map_err(corrupt)?;
        let mut detail: serde_json::Value =
            serde_json::from_str(&event.detail).unwrap_or_else(|_| serde_json::json!({}));
        if let Some(obj) = detail.as_object_mut() {
            obj.insert("outcome".into(), summary);
        }
        event.detail = detail.to_string();
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        progress(done);
        Ok(out)
    }
}
