//! The audit log page (`/audit`): search by who, what, which record and when; check the
//! chain (`POST /audit/verify`). Only the head (and trust administrators) may see it.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use gatehouse_domain::audit::AuditEntry;
use gatehouse_service::audit::ChainReport;
use gatehouse_store::AuditFilter;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

const PAGE: i64 = 100;

/// The search form's query.
#[derive(Debug, Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

/// A row as shown.
#[derive(Debug)]
pub struct EntryRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
    detail: String,
}

impl From<&AuditEntry> for EntryRow {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e
                .at
                .to_zoned(TimeZone::UTC)
                .strftime("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            actor: e.event.actor.clone(),
            action: e.event.action.clone(),
            target: e.event.target.clone().unwrap_or_default(),
            ip: e.event.ip.clone().unwrap_or_default(),
            detail: if e.event.detail == "{}" {
                String::new()
            } else {
                e.event.detail.clone()
            },
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    rows: Vec<EntryRow>,
    older_href: Option<String>,
    report: Option<ChainReport>,
}

fn day(field: &'static str, s: &str) -> Result<Option<jiff::Timestamp>, WebError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let d: Date = s
        .trim()
        .parse()
        .map_err(|_| WebError::BadRequest(format!("{field}: '{s}' is not a date (YYYY-MM-DD)")))?;
    d.to_zoned(TimeZone::UTC)
        .map(|z| Some(z.timestamp()))
        .map_err(|_| WebError::BadRequest(format!("{field}: '{s}' is out of range")))
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    q: AuditQuery,
    report: Option<ChainReport>,
) -> Result<Html<String>, WebError> {
    let to =
        day("to", &q.to)?.and_then(|t| t.checked_add(jiff::SignedDuration::from_hours(24)).ok());
    let filter = AuditFilter {
        actor: Some(q.actor.trim().to_lowercase()).filter(|s| !s.is_empty()),
        action: Some(q.action.trim().to_owned()).filter(|s| !s.is_empty()),
        target: Some(q.target.trim().to_owned()).filter(|s| !s.is_empty()),
        from: day("from", &q.from)?,
        to,
        limit: PAGE,
        before_seq: q.before,
    };
    let found = state.app.search_audit(&viewer.actor, &filter).await?;
    let older_href = (found.len() as i64 == PAGE).then(|| {
        let last = found.last().map_or(0, |e| e.seq);
        let pairs = [
            ("actor", q.actor.as_str()),
            ("action", q.action.as_str()),
            ("target", q.target.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
        ];
        let mut qs: Vec<(&str, String)> = pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        qs.push(("before", last.to_string()));
        format!(
            "/audit?{}",
            serde_urlencoded::to_string(qs).unwrap_or_default()
        )
    });
    render(&AuditPage {
        chrome: Chrome::for_viewer(state, viewer, "/audit").await,
        rows: found.iter().map(EntryRow::from).collect(),
        q,
        older_href,
        report,
    })
}

/// `GET /audit`.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, WebError> {
    page(&state, &viewer, q, None).await
}

/// `POST /audit/verify`: check the whole chain and show the result above the search.
pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    let report = state.app.verify_audit(&viewer.actor).await?;
    page(&state, &viewer, AuditQuery::default(), Some(report)).await
}
