//! The demo's clock (`/demo/clock`, `gatehouse demo` only): the head moves time forward
//! to see what happens later, such as a sanction ending on its date.

use super::incidents::local;
use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "demo_clock.html")]
struct ClockPage {
    chrome: Chrome,
    now: String,
    ahead_hours: i64,
    max_hours: i64,
    session_hours: i64,
    moved: Option<String>,
}

/// `?moved=HOURS&ended=N` after a move.
#[derive(Debug, Deserialize, Default)]
pub struct Moved {
    moved: Option<i64>,
    ended: Option<usize>,
}

/// The move form.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    hours: String,
}

/// `GET /demo/clock`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Moved>,
) -> Result<Response, WebError> {
    let time = state
        .app
        .demo_time(&viewer.actor)?
        .ok_or(WebError::NotFound)?;
    let moved = done.moved.map(|h| {
        let ended = match done.ended.unwrap_or(0) {
            0 => String::new(),
            1 => " One sanction ended on the way.".to_owned(),
            n => format!(" {n} sanctions ended on the way."),
        };
        format!("The clock moved forward {h} hour(s).{ended}")
    });
    let page = ClockPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/demo/clock").await,
        now: local(time.now),
        ahead_hours: time.ahead.as_hours(),
        max_hours: gatehouse_domain::clock::ShiftedClock::MAX_HOURS,
        session_hours: state.app.security.session_hours,
        moved,
    };
    Ok(render(&page)?.into_response())
}

/// `POST /demo/clock`: move the clock forward.
pub async fn advance(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<MoveForm>,
) -> Result<Response, WebError> {
    let hours: i64 = form.hours.trim().parse().map_err(|_| {
        WebError::BadRequest(format!(
            "hours: '{}' is not a whole number of hours",
            form.hours.trim()
        ))
    })?;
    let done = state.app.advance_demo_clock(&viewer.actor, hours).await?;
    Ok(Redirect::to(&format!(
        "/demo/clock?moved={hours}&ended={}",
        done.sanctions_ended
    ))
    .into_response())
}
