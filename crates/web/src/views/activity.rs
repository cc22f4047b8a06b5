//! The activity log (`/activity`): every filtering decision, searched by person, group,
//! address, registered device, domain, category, action and time, and exported as CSV
//! (`/activity/export`). Naming a person needs a reason, which the audit log records with
//! the search (monitoring guidance: looking at a named person's use must be justified).

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gatehouse_activity::{ActivityCursor, ActivityRow};
use gatehouse_service::filtering::ActivityQuery;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::net::IpAddr;

const PAGE: usize = 100;

/// The search form.
#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
pub struct ActivityForm {
    #[serde(default)]
    person: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    before: String,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn day_start(field: &str, s: &str) -> Result<Option<jiff::Timestamp>, WebError> {
    let Some(s) = some(s) else { return Ok(None) };
    let d: Date = s
        .parse()
        .map_err(|_| WebError::BadRequest(format!("{field}: '{s}' is not a date (YYYY-MM-DD)")))?;
    let tz = TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ).unwrap_or(TimeZone::UTC);
    d.to_zoned(tz)
        .map(|z| Some(z.timestamp()))
        .map_err(|_| WebError::BadRequest(format!("{field}: '{s}' is out of range")))
}

impl ActivityForm {
    fn query(&self, limit: usize) -> Result<ActivityQuery, WebError> {
        let client_ip = match some(&self.ip) {
            Some(s) => Some(s.parse::<IpAddr>().map_err(|_| {
                WebError::BadRequest(format!("address: '{s}' is not an IP address"))
            })?),
            None => None,
        };
        let action = match some(&self.action) {
            Some(a) => Some(gatehouse_filter::Action::parse(&a).ok_or_else(|| {
                WebError::BadRequest(format!("action: '{a}' is not allow, log, warn or block"))
            })?),
            None => None,
        };
        let to = match day_start("to", &self.to)? {
            Some(t) => Some(
                t.checked_add(jiff::SignedDuration::from_hours(24))
                    .map_err(|_| WebError::BadRequest("to: out of range".into()))?,
            ),
            None => None,
        };
        let before = match some(&self.before) {
            Some(b) => {
                let (t, id) = b
                    .split_once('-')
                    .ok_or_else(|| WebError::BadRequest("before: not a page position".into()))?;
                Some(ActivityCursor {
                    time_us: t
                        .parse()
                        .map_err(|_| WebError::BadRequest("before: not a page position".into()))?,
                    id: id
                        .parse()
                        .map_err(|_| WebError::BadRequest("before: not a page position".into()))?,
                })
            }
            None => None,
        };
        Ok(ActivityQuery {
            person: some(&self.person),
            group: some(&self.group),
            client_ip,
            domain: some(&self.domain).map(|d| d.to_ascii_lowercase()),
            category: some(&self.category),
            action,
            device: some(&self.device),
            from: day_start("from", &self.from)?,
            to,
            reason: some(&self.reason),
            limit,
            before,
        })
    }

    fn href(&self, path: &str, before: Option<ActivityCursor>) -> String {
        let mut f = self.clone();
        f.before = before
            .map(|c| format!("{}-{}", c.time_us, c.id))
            .unwrap_or_default();
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&f).unwrap_or_default()
        )
    }
}

/// A row as shown.
pub struct Row {
    when: String,
    who: String,
    group: String,
    client: String,
    name: String,
    qtype: String,
    category: String,
    action: &'static str,
    rule: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    chrome: Chrome,
    q: ActivityForm,
    rows: Vec<Row>,
    person: Option<String>,
    searched: bool,
    older_href: Option<String>,
    export_href: String,
    error: Option<String>,
}

fn row(r: &ActivityRow, names: &std::collections::HashMap<String, String>) -> Row {
    let tz = TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ).unwrap_or(TimeZone::UTC);
    Row {
        when: r
            .time
            .to_zoned(tz)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        who: r
            .person
            .as_ref()
            .map(|p| {
                names
                    .get(p)
                    .cloned()
                    .unwrap_or_else(|| format!("person {p}"))
            })
            .unwrap_or_default(),
        group: r.group.clone(),
        client: match &r.device {
            Some(d) => format!("{d} ({})", r.client),
            None => r.client.to_string(),
        },
        name: r.qname.clone(),
        qtype: r.qtype.clone(),
        category: r.category.clone().unwrap_or_default(),
        action: r.action.as_str(),
        rule: r.rule.clone(),
    }
}

/// `GET /activity`: the form; with any field filled in (or `search=1`), the results.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ActivityForm>,
    raw: axum::extract::RawQuery,
) -> Result<Response, WebError> {
    let searched = raw.0.is_some_and(|s| !s.is_empty());
    let mut page = ActivityPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/activity").await,
        rows: Vec::new(),
        person: None,
        searched,
        older_href: None,
        export_href: q.href("/activity/export", None),
        error: None,
        q,
    };
    if !searched {
        // only the permission check: the form alone shows nothing of anyone
        viewer.actor.require(
            gatehouse_domain::permissions::Action::View,
            gatehouse_domain::permissions::Resource::Activity,
        )?;
        return Ok(render(&page)?.into_response());
    }
    let query = page.q.query(PAGE)?;
    match state.app.search_activity(&viewer.actor, &query).await {
        Ok(found) => {
            page.rows = found.rows.iter().map(|r| row(r, &found.names)).collect();
            page.person = found.person.map(|(id, name)| format!("{name} (#{id})"));
            if found.rows.len() == PAGE {
                page.older_href = found
                    .rows
                    .last()
                    .map(|r| page.q.href("/activity", Some(r.cursor())));
            }
            Ok(render(&page)?.into_response())
        }
        Err(gatehouse_service::ServiceError::Invalid(m)) => {
            page.error = Some(m);
            Ok((axum::http::StatusCode::BAD_REQUEST, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /activity/export`: the matching events as CSV.
pub async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ActivityForm>,
) -> Result<Response, WebError> {
    let query = q.query(PAGE)?;
    let csv = state.app.export_activity(&viewer.actor, &query).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gatehouse-activity.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
