//! Searching the activity log: raw events newest first, CSV export and daily counts.

use std::net::IpAddr;

use gatehouse_dns::{Rcode, Transport};
use gatehouse_filter::Action;
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::codes::{
    action_code, action_of, micros, normal_domain, rcode_name, rcode_of, reversed, timestamp_of,
    transport_of,
};
use crate::{ActivityError, ActivityLog, Result};

/// The most rows one search returns.
pub const MAX_SEARCH_LIMIT: usize = 5000;
/// Rows fetched per page while exporting.
const EXPORT_PAGE: usize = 2000;

/// The CSV export's columns.
pub const CSV_HEADER: [&str; 18] = [
    "time",
    "school",
    "client",
    "person",
    "group",
    "identified_by",
    "domain",
    "type",
    "category",
    "action",
    "rule",
    "matched_list",
    "cname",
    "rcode",
    "upstream_latency_us",
    "cached",
    "transport",
    "device",
];

/// What to look for; every field set must match.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivitySearch {
    /// The person (exact).
    pub person: Option<String>,
    /// The group whose policy applied (exact).
    pub group: Option<String>,
    /// The client's address.
    pub client_ip: Option<IpAddr>,
    /// A domain: matches the name itself and every name under it (`example.com` finds
    /// `example.com` and `www.example.com`, not `badexample.com`).
    pub domain: Option<String>,
    /// The category (exact).
    pub category: Option<String>,
    /// The action.
    pub action: Option<Action>,
    /// The registered device (exact name; DNS over HTTPS with a device token).
    pub device: Option<String>,
    /// Events at or after this instant.
    pub from: Option<Timestamp>,
    /// Events before this instant.
    pub to: Option<Timestamp>,
    /// At most this many rows (capped at [`MAX_SEARCH_LIMIT`]).
    pub limit: usize,
    /// Skip this many rows (prefer `before` for deep pages).
    pub offset: usize,
    /// Only rows older than this one (the last row of the previous page).
    pub before: Option<ActivityCursor>,
}

impl Default for ActivitySearch {
    /// Everything, 100 rows.
    fn default() -> ActivitySearch {
        ActivitySearch {
            person: None,
            group: None,
            client_ip: None,
            domain: None,
            category: None,
            action: None,
            device: None,
            from: None,
            to: None,
            limit: 100,
            offset: 0,
            before: None,
        }
    }
}

/// A position in the newest-first order, for the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    /// The row's time, microseconds since the Unix epoch.
    pub time_us: i64,
    /// The row's id.
    pub id: i64,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// The row's id (increasing in insertion order).
    pub id: i64,
    /// When the query was decided (microsecond precision).
    pub time: Timestamp,
    /// The school whose filter decided (empty for events stored before it was recorded).
    pub school: Option<String>,
    /// The client's address.
    pub client: IpAddr,
    /// The person, when identified.
    pub person: Option<String>,
    /// The group whose policy applied.
    pub group: String,
    /// Which step identified the client (`caller`, `source`, `binding:NAME`,
    /// `unidentified`).
    pub identified_by: String,
    /// The queried name.
    pub qname: String,
    /// The record type.
    pub qtype: String,
    /// The category involved, if any.
    pub category: Option<String>,
    /// What the policy decided.
    pub action: Action,
    /// The rule that decided.
    pub rule: String,
    /// The listed name that matched.
    pub matched_list: Option<String>,
    /// The CNAME target decided on, if any.
    pub cname: Option<String>,
    /// The response code sent.
    pub rcode: Rcode,
    /// Time spent waiting for upstream resolvers, in microseconds.
    pub upstream_latency_us: Option<u64>,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// How the query arrived.
    pub transport: Transport,
    /// The registered device that asked, by name (DNS over HTTPS with a device token).
    pub device: Option<String>,
}

impl ActivityRow {
    /// The cursor for the page after this row.
    pub fn cursor(&self) -> ActivityCursor {
        ActivityCursor {
            time_us: micros(self.time),
            id: self.id,
        }
    }
}

/// Which daily counts to read; every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyFilter {
    /// The person (exact; `Some("")` for unidentified clients).
    pub person: Option<String>,
    /// The group (exact).
    pub group: Option<String>,
    /// The category (exact; `Some("")` for decisions without a category).
    pub category: Option<String>,
    /// The action.
    pub action: Option<Action>,
    /// First day (UTC), inclusive.
    pub from: Option<Date>,
    /// Last day (UTC), inclusive.
    pub to: Option<Date>,
}

/// Decisions on one UTC day for one person, group, category and action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyRow {
    /// The day (UTC).
    pub day: Date,
    /// The person (empty when unidentified).
    pub person: String,
    /// The group.
    pub group: String,
    /// The category (empty when none).
    pub category: String,
    /// The action.
    pub action: Action,
    /// How many decisions.
    pub count: u64,
}

const SELECT_ROWS: &str = "SELECT e.id, e.time_us, e.client, p.value AS person, g.value AS grp, \
     ib.value AS identified_by, q.name AS qname, qt.value AS qtype, c.value AS category, \
     e.action, r.value AS rule, ml.value AS matched_list, cn.name AS cname, e.rcode, \
     e.upstream_latency_us, e.cached, e.transport, dv.value AS device, sc.value AS school \
     FROM events e \
     LEFT JOIN strings p ON p.id = e.person \
     JOIN strings g ON g.id = e.grp \
     JOIN strings ib ON ib.id = e.identified_by \
     JOIN domains q ON q.id = e.qname \
     JOIN strings qt ON qt.id = e.qtype \
     LEFT JOIN strings c ON c.id = e.category \
     JOIN strings r ON r.id = e.rule \
     LEFT JOIN strings ml ON ml.id = e.matched_list \
     LEFT JOIN domains cn ON cn.id = e.cname \
     LEFT JOIN strings dv ON dv.id = e.device \
     LEFT JOIN strings sc ON sc.id = e.school \
     WHERE 1 = 1";

impl ActivityLog {
    /// Events matching `filter`, newest first.
    pub async fn search(&self, filter: &ActivitySearch) -> Result<Vec<ActivityRow>> {
        let limit = filter.limit.min(MAX_SEARCH_LIMIT);
        self.page(filter, filter.before, limit, filter.offset).await
    }

    async fn page(
        &self,
        filter: &ActivitySearch,
        before: Option<ActivityCursor>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ActivityRow>> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(SELECT_ROWS);
        if let Some(person) = &filter.person {
            qb.push(" AND e.person = (SELECT id FROM strings WHERE value = ")
                .push_bind(person.clone())
                .push(")");
        }
        if let Some(group) = &filter.group {
            qb.push(" AND e.grp = (SELECT id FROM strings WHERE value = ")
                .push_bind(group.clone())
                .push(")");
        }
        if let Some(ip) = filter.client_ip {
            qb.push(" AND e.client = ")
                .push_bind(ip.to_canonical().to_string());
        }
        if let Some(domain) = &filter.domain {
            let rev = reversed(&normal_domain(domain));
            qb.push(" AND e.qname IN (SELECT id FROM domains WHERE rev = ")
                .push_bind(rev.clone())
                .push(" OR (rev >= ")
                .push_bind(format!("{rev}."))
                .push(" AND rev < ")
                .push_bind(format!("{rev}/"))
                .push("))");
        }
        if let Some(category) = &filter.category {
            qb.push(" AND e.category = (SELECT id FROM strings WHERE value = ")
                .push_bind(category.clone())
                .push(")");
        }
        if let Some(action) = filter.action {
            qb.push(" AND e.action = ").push_bind(action_code(action));
        }
        if let Some(device) = &filter.device {
            qb.push(" AND e.device = (SELECT id FROM strings WHERE value = ")
                .push_bind(device.clone())
                .push(")");
        }
        if let Some(from) = filter.from {
            qb.push(" AND e.time_us >= ").push_bind(micros(from));
        }
        if let Some(to) = filter.to {
            qb.push(" AND e.time_us < ").push_bind(micros(to));
        }
        if let Some(c) = before {
            qb.push(" AND (e.time_us < ")
                .push_bind(c.time_us)
                .push(" OR (e.time_us = ")
                .push_bind(c.time_us)
                .push(" AND e.id < ")
                .push_bind(c.id)
                .push("))");
        }
        qb.push(" ORDER BY e.time_us DESC, e.id DESC LIMIT ")
            .push_bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .push(" OFFSET ")
            .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        let rows = qb.build().fetch_all(&self.read).await?;
        rows.iter().map(row_of).collect()
    }

    /// Write every event matching `filter` (its `limit` and `offset` ignored; `before`
    /// respected) as CSV with a header, newest first, fetching a page at a time. Every
    /// field a spreadsheet would read as a formula gets a `'` prefix. Returns the number
    /// of rows written.
    pub async fn export_csv<W: std::io::Write>(
        &self,
        filter: &ActivitySearch,
        writer: W,
    ) -> Result<u64> {
        let mut out = csv::Writer::from_writer(writer);
        out.write_record(CSV_HEADER)?;
        let mut before = filter.before;
        let mut written = 0u64;
        loop {
            let page = self.page(filter, before, EXPORT_PAGE, 0).await?;
            for row in &page {
                out.write_record(csv_fields(row).iter().map(|f| formula_escape(f)))?;
                written += 1;
            }
            match page.last() {
                Some(last) if page.len() == EXPORT_PAGE => before = Some(last.cursor()),
                _ => break,
            }
        }
        out.flush()
            .map_err(|e| ActivityError::Csv(csv::Error::from(e)))?;
        Ok(written)
    }

    /// Daily counts matching `filter`: the stored aggregates of pruned events plus the
    /// raw events still kept, newest day first.
    pub async fn daily(&self, filter: &DailyFilter) -> Result<Vec<DailyRow>> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT day, person, grp, category, action, SUM(count) AS count FROM (\
             SELECT day, person, grp, category, action, count FROM daily WHERE 1 = 1",
        );
        daily_conditions(
            &mut qb, filter, "day", "person", "grp", "category", "action",
        );
        qb.push(
            " UNION ALL SELECT date(e.time_us / 1000000, 'unixepoch') AS day, \
             COALESCE(p.value, '') AS person, g.value AS grp, COALESCE(c.value, '') AS category, \
             e.action AS action, COUNT(*) AS count FROM events e \
             LEFT JOIN strings p ON p.id = e.person \
             JOIN strings g ON g.id = e.grp \
             LEFT JOIN strings c ON c.id = e.category WHERE 1 = 1",
        );
        live_conditions(&mut qb, filter);
        if let Some(from) = filter.from {
            qb.push(" AND e.time_us >= ").push_bind(day_start_us(from)?);
        }
        if let Some(to) = filter.to {
            let next = to
                .tomorrow()
                .map_err(|e| ActivityError::Invalid(format!("date {to}: {e}")))?;
            qb.push(" AND e.time_us < ").push_bind(day_start_us(next)?);
        }
        qb.push(
            " GROUP BY 1, 2, 3, 4, 5) GROUP BY day, person, grp, category, action \
             ORDER BY day DESC, person, grp, category, action",
        );
        let rows = qb.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let day: String = r.try_get("day")?;
                let day: Date = day
                    .parse()
                    .map_err(|e| ActivityError::Corrupt(format!("day {day}: {e}")))?;
                let count: i64 = r.try_get("count")?;
                Ok(DailyRow {
                    day,
                    person: r.try_get("person")?,
                    group: r.try_get("grp")?,
                    category: r.try_get("category")?,
                    action: action_of(r.try_get("action")?)?,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }
}

fn daily_conditions(
    qb: &mut QueryBuilder<Sqlite>,
    filter: &DailyFilter,
    day: &str,
    person: &str,
    group: &str,
    category: &str,
    action: &str,
) {
    if let Some(v) = &filter.person {
        qb.push(format!(" AND {person} = ")).push_bind(v.clone());
    }
    if let Some(v) = &filter.group {
        qb.push(format!(" AND {group} = ")).push_bind(v.clone());
    }
    if let Some(v) = &filter.category {
        qb.push(format!(" AND {category} = ")).push_bind(v.clone());
    }
    if let Some(v) = filter.action {
        qb.push(format!(" AND {action} = "))
            .push_bind(action_code(v));
    }
    if let Some(v) = filter.from {
        qb.push(format!(" AND {day} >= ")).push_bind(v.to_string());
    }
    if let Some(v) = filter.to {
        qb.push(format!(" AND {day} <= ")).push_bind(v.to_string());
    }
}

/// The conditions of `filter` on raw events, on the indexed id columns.
fn live_conditions(qb: &mut QueryBuilder<Sqlite>, filter: &DailyFilter) {
    let mut interned = |column: &str, value: &Option<String>| match value.as_deref() {
        None => {}
        Some("") => {
            qb.push(format!(" AND e.{column} IS NULL"));
        }
        Some(v) => {
            qb.push(format!(
                " AND e.{column} = (SELECT id FROM strings WHERE value = "
            ))
            .push_bind(v.to_owned())
            .push(")");
        }
    };
    interned("person", &filter.person);
    interned("category", &filter.category);
    if let Some(v) = &filter.group {
        qb.push(" AND e.grp = (SELECT id FROM strings WHERE value = ")
            .push_bind(v.clone())
            .push(")");
    }
    if let Some(v) = filter.action {
        qb.push(" AND e.action = ").push_bind(action_code(v));
    }
}

/// Microseconds since the epoch at the start of `day` (UTC).
fn day_start_us(day: Date) -> Result<i64> {
    let ts = day
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| ActivityError::Invalid(format!("date {day}: {e}")))?
        .timestamp();
    Ok(micros(ts))
}

fn row_of(r: &SqliteRow) -> Result<ActivityRow> {
    let client: String = r.try_get("client")?;
    let latency: Option<i64> = r.try_get("upstream_latency_us")?;
    Ok(ActivityRow {
        id: r.try_get("id")?,
        time: timestamp_of(r.try_get("time_us")?)?,
        school: r.try_get("school")?,
        client: client
            .parse()
            .map_err(|_| ActivityError::Corrupt(format!("client {client}")))?,
        person: r.try_get("person")?,
        group: r.try_get("grp")?,
        identified_by: r.try_get("identified_by")?,
        qname: r.try_get("qname")?,
        qtype: r.try_get("qtype")?,
        category: r.try_get("category")?,
        action: action_of(r.try_get("action")?)?,
        rule: r.try_get("rule")?,
        matched_list: r.try_get("matched_list")?,
        cname: r.try_get("cname")?,
        rcode: rcode_of(r.try_get("rcode")?)?,
        upstream_latency_us: latency.and_then(|v| u64::try_from(v).ok()),
        cached: r.try_get("cached")?,
        transport: transport_of(r.try_get("transport")?)?,
        device: r.try_get("device")?,
    })
}

fn csv_fields(row: &ActivityRow) -> [String; 18] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        row.time.to_string(),
        opt(&row.school),
        row.client.to_string(),
        opt(&row.person),
        row.group.clone(),
        row.identified_by.clone(),
        row.qname.clone(),
        row.qtype.clone(),
        opt(&row.category),
        row.action.as_str().to_owned(),
        row.rule.clone(),
        opt(&row.matched_list),
        opt(&row.cname),
        rcode_name(row.rcode),
        row.upstream_latency_us
            .map(|v| v.to_string())
            .unwrap_or_default(),
        row.cached.to_string(),
        row.transport.to_string(),
        opt(&row.device),
    ]
}

/// A field a spreadsheet would read as a formula (leading `=`, `+`, `-` or `@`) gets an
/// apostrophe in front, as the agreements register export does.
pub(crate) fn formula_escape(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}
