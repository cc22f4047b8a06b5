//! Monitoring alerts (`/alerts`): the DSL's list (new first), one alert with its evidence
//! (`/alerts/{id}`, audited), and triage (`POST /alerts/{id}`: acknowledge, dismiss with a
//! reason, escalate).

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::views::blocked::group_label;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_service::ServiceError;
use gatehouse_service::alerts::EvidenceRow;
use gatehouse_store::AlertRecord;
use jiff::tz::TimeZone;
use serde::Deserialize;

fn local(t: jiff::Timestamp) -> String {
    let tz = TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ).unwrap_or(TimeZone::UTC);
    t.to_zoned(tz).strftime("%d %b %Y %H:%M").to_string()
}

/// An alert as listed.
pub struct Row {
    a: AlertRecord,
    who: String,
    first: String,
    last: String,
}

impl From<AlertRecord> for Row {
    fn from(a: AlertRecord) -> Self {
        Self {
            who: match &a.person {
                Some(p) => format!("{} ({})", p.name, group_label(&a.group)),
                None => format!(
                    "device {} ({})",
                    a.client_ip.as_deref().unwrap_or("?"),
                    group_label(&a.group)
                ),
            },
            first: local(a.first_at),
            last: local(a.last_at),
            a,
        }
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    status: String,
}

/// The list's filter.
#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

/// `GET /alerts`: new and acknowledged alerts, or those of one status.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    let status = match q.status.as_str() {
        "" => None,
        s @ ("new" | "acknowledged" | "dismissed" | "escalated" | "all") => Some(s),
        other => {
            return Err(WebError::BadRequest(format!(
                "status: '{other}' is not new, acknowledged, dismissed, escalated or all"
            )));
        }
    };
    let mut rows = match status {
        Some("all") => state.app.alerts(&viewer.actor, None).await?,
        Some(s) => state.app.alerts(&viewer.actor, Some(s)).await?,
        None => {
            let mut open = state.app.alerts(&viewer.actor, Some("new")).await?;
            open.extend(
                state
                    .app
                    .alerts(&viewer.actor, Some("acknowledged"))
                    .await?,
            );
            open
        }
    };
    if status.is_none() {
        // the most serious first, then the latest
        rows.sort_by_key(|a| {
            let rank = match a.severity.as_str() {
                "critical" => 0,
                "high" => 1,
                "medium" => 2,
                _ => 3,
            };
            (rank, std::cmp::Reverse(a.last_at))
        });
    }
    render(&ListPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/alerts").await,
        rows: rows.into_iter().map(Row::from).collect(),
        status: q.status,
    })
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    chrome: Chrome,
    kinds: Vec<(&'static str, &'static str)>,
    row: Row,
    evidence: Vec<(String, EvidenceRow)>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let (a, evidence) = state.app.alert(&viewer.actor, id).await?;
    render(&AlertPage {
        chrome: Chrome::for_viewer(state, viewer, "/alerts").await,
        kinds: gatehouse_domain::incidents::IncidentKind::ALL
            .iter()
            .filter(|k| **k != gatehouse_domain::incidents::IncidentKind::DataBreach)
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        row: Row::from(a),
        evidence: evidence.into_iter().map(|e| (local(e.time), e)).collect(),
        error,
    })
}

/// `GET /alerts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    page(&state, &viewer, id, None).await
}

/// The triage form.
#[derive(Debug, Deserialize)]
pub struct TriageForm {
    step: String,
    #[serde(default)]
    note: String,
    /// The kind of incident an escalation opens (default: what the rule suggests).
    #[serde(default)]
    kind: String,
}

/// `POST /alerts/{id}`.
pub async fn triage(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<TriageForm>,
) -> Result<Response, WebError> {
    let done = if f.step == "escalate" {
        let kind = match f.kind.trim() {
            "" => None,
            k => match gatehouse_domain::incidents::IncidentKind::parse("kind", k) {
                Ok(k) => Some(k),
                Err(e) => {
                    let page = page(&state, &viewer, id, Some(e.to_string())).await?;
                    return Ok((StatusCode::BAD_REQUEST, page).into_response());
                }
            },
        };
        state
            .app
            .escalate_alert(&viewer.actor, id, kind, &f.note)
            .await
            .map(|incident| format!("/incidents/{incident}"))
    } else {
        state
            .app
            .triage_alert(&viewer.actor, id, &f.step, &f.note)
            .await
            .map(|_| format!("/alerts/{id}"))
    };
    match done {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            StatusCode::BAD_REQUEST,
            page(&state, &viewer, id, Some(m)).await?,
        )
            .into_response()),
        Err(ServiceError::Store(gatehouse_store::StoreError::Conflict(m))) => Ok((
            StatusCode::CONFLICT,
            page(&state, &viewer, id, Some(m)).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
