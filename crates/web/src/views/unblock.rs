//! The unblock requests queue (`/unblock-requests`): requests sent from the block page,
//! approved (for the person, their group or the school, optionally until a date; the
//! filter lets the site through at once) or declined with a note.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::views::blocked::group_label;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_domain::filtering::UnblockScope;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_service::filtering::DecideUnblock;
use gatehouse_store::UnblockRequest;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// A request as listed.
pub struct Row {
    r: UnblockRequest,
    who: String,
    when: String,
    until: String,
}

impl From<UnblockRequest> for Row {
    fn from(r: UnblockRequest) -> Self {
        let who = match &r.person {
            Some(p) => format!("{} ({})", p.name, group_label(&r.group)),
            None => format!(
                "{} at {}",
                group_label(&r.group),
                r.client_ip.as_deref().unwrap_or("an unknown address")
            ),
        };
        Self {
            when: r.created_at.strftime("%d %b %Y %H:%M").to_string(),
            until: r
                .until
                .map(|u| u.strftime("%d %b %Y").to_string())
                .unwrap_or_default(),
            who,
            r,
        }
    }
}

#[derive(Template)]
#[template(path = "unblock_requests.html")]
struct QueuePage {
    chrome: Chrome,
    pending: Vec<Row>,
    decided: Vec<Row>,
    can_decide: bool,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let (pending, decided) = state.app.unblock_queue(&viewer.actor).await?;
    render(&QueuePage {
        chrome: Chrome::for_viewer(state, viewer, "/unblock-requests").await,
        pending: pending.into_iter().map(Row::from).collect(),
        decided: decided.into_iter().map(Row::from).collect(),
        can_decide: viewer.actor.can(Action::Edit, Resource::UnblockRequests),
        error,
    })
}

/// `GET /unblock-requests`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, WebError> {
    page(&state, &viewer, None).await
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    decision: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    note: String,
}

fn parse(f: &DecideForm) -> Result<DecideUnblock, String> {
    let approve = match f.decision.as_str() {
        "approve" => true,
        "decline" => false,
        other => return Err(format!("decision: '{other}' is not approve or decline")),
    };
    let scope = if f.scope.trim().is_empty() {
        UnblockScope::Person
    } else {
        UnblockScope::parse(&f.scope).map_err(|e| e.to_string())?
    };
    let until = match f.until.trim() {
        "" => None,
        s => {
            let d: Date = s
                .parse()
                .map_err(|_| format!("until: '{s}' is not a date (YYYY-MM-DD)"))?;
            // the end of that day in the school's time zone
            let tz =
                TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ).unwrap_or(TimeZone::UTC);
            let next = d
                .tomorrow()
                .map_err(|_| format!("until: '{s}' is out of range"))?;
            Some(
                next.to_zoned(tz)
                    .map_err(|_| format!("until: '{s}' is out of range"))?
                    .timestamp(),
            )
        }
    };
    Ok(DecideUnblock {
        approve,
        scope,
        until,
        note: f.note.clone(),
    })
}

/// `POST /unblock-requests/{id}`: approve or decline.
pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, WebError> {
    let d = match parse(&f) {
        Ok(d) => d,
        Err(m) => {
            return Ok((
                axum::http::StatusCode::BAD_REQUEST,
                page(&state, &viewer, Some(m)).await?,
            )
                .into_response());
        }
    };
    match state.app.decide_unblock(&viewer.actor, id, &d).await {
        Ok(_) => Ok(Redirect::to("/unblock-requests").into_response()),
        Err(gatehouse_service::ServiceError::Invalid(m)) => Ok((
            axum::http::StatusCode::BAD_REQUEST,
            page(&state, &viewer, Some(m)).await?,
        )
            .into_response()),
        Err(gatehouse_service::ServiceError::Store(gatehouse_store::StoreError::Conflict(m))) => {
            Ok((
                axum::http::StatusCode::CONFLICT,
                page(&state, &viewer, Some(m)).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
