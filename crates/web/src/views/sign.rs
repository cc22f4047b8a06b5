//! Signing (`/sign`): everything the signed-in person must sign, clause by clause, with
//! what changed since the version they last signed; a parent signs for several children
//! at once. Also a person's own agreements with their signed copies.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_domain::agreements::text::{ClauseChange, PolicyText};
use gatehouse_service::ServiceError;
use gatehouse_service::agreements::{Pending, SignRequest};

/// A clause as shown for signing.
#[derive(Debug)]
pub struct ShownClause {
    number: String,
    text: String,
    /// "new", "changed" or "".
    change: &'static str,
    before: Option<String>,
}

/// A section as shown.
#[derive(Debug)]
pub struct ShownSection {
    heading: Option<String>,
    intro: Vec<String>,
    clauses: Vec<ShownClause>,
}

/// Someone the form signs for.
#[derive(Debug)]
pub struct SignFor {
    id: i64,
    name: String,
    status: &'static str,
    due: String,
}

#[derive(Template)]
#[template(path = "sign.html")]
struct SignPage {
    chrome: Chrome,
    title: String,
    version_id: i64,
    version_number: u32,
    hash: String,
    previous: Option<u32>,
    changed_count: usize,
    removed: Vec<String>,
    sections: Vec<ShownSection>,
    people: Vec<SignFor>,
    for_children: bool,
    remaining: usize,
    error: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_done.html")]
struct DonePage {
    chrome: Chrome,
    message: String,
    error: Option<String>,
}

fn shown(text: &PolicyText, pending: &Pending) -> (Vec<ShownSection>, usize, Vec<String>) {
    let diff = pending.changes.as_ref().map(|(_, d)| d);
    let mut changed = 0;
    let mut index = 0usize;
    let sections = text
        .sections
        .iter()
        .map(|s| ShownSection {
            heading: s.heading.clone(),
            intro: s.intro.clone(),
            clauses: s
                .clauses
                .iter()
                .map(|c| {
                    let d = diff.and_then(|d| d.clauses.get(index));
                    index += 1;
                    let (change, before) = match d.map(|d| &d.change) {
                        Some(ClauseChange::Added) => ("new", None),
                        Some(ClauseChange::Changed { before }) => ("changed", Some(before.clone())),
                        _ => ("", None),
                    };
                    if !change.is_empty() {
                        changed += 1;
                    }
                    ShownClause {
                        number: c.number.clone(),
                        text: c.text.clone(),
                        change,
                        before,
                    }
                })
                .collect(),
        })
        .collect();
    let removed = diff
        .map(|d| d.removed.iter().map(|(_, c)| c.text.clone()).collect())
        .unwrap_or_default();
    (sections, changed, removed)
}

async fn sign_page(
    state: &AppState,
    viewer: &Viewer,
    error: Option<String>,
    done: Option<String>,
) -> Result<Response, WebError> {
    let pending = state.app.pending(&viewer.actor).await?;
    let Some(first) = pending.first() else {
        return Ok(render(&DonePage {
            chrome: Chrome::for_viewer(state, viewer, "/sign").await,
            message: done.unwrap_or_else(|| "You have nothing to sign at the moment.".into()),
            error,
        })?
        .into_response());
    };
    // Everyone the same version is pending for (a parent's children) signs on one form.
    let group: Vec<&Pending> = pending
        .iter()
        .filter(|p| p.version.id == first.version.id)
        .collect();
    let (sections, changed_count, removed) = shown(&first.text, first);
    let page = SignPage {
        chrome: Chrome::for_viewer(state, viewer, "/sign").await,
        title: first.policy.title.clone(),
        version_id: first.version.id,
        version_number: first.version.number,
        hash: first.version.hash.clone(),
        previous: first.changes.as_ref().map(|(n, _)| *n),
        changed_count,
        removed,
        sections,
        for_children: group.iter().any(|p| p.for_child),
        people: group
            .iter()
            .map(|p| SignFor {
                id: p.person.id,
                name: p.person.details.full_name(),
                status: p.status.label(),
                due: p
                    .status
                    .due()
                    .map(|d| d.strftime("%-d %B %Y").to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        remaining: pending.len() - group.len(),
        error,
        done,
    };
    Ok(render(&page)?.into_response())
}

/// `GET /sign`.
pub async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    sign_page(&state, &viewer, None, None).await
}

/// `POST /sign`: the form's fields, read by hand because `people` repeats.
pub async fn sign(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| WebError::BadRequest("the form could not be read".into()))?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let version_id = get("version_id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| WebError::BadRequest("the form is missing its version".into()))?;
    let people: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "people")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let req = SignRequest {
        version_id,
        people,
        typed_name: get("typed_name").unwrap_or("").to_owned(),
        agreed: get("agree") == Some("on"),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    match state.app.sign(&viewer.actor, &req).await {
        Ok(recs) => {
            let n = recs.len();
            let msg = if n == 1 {
                "Thank you: your signature is recorded.".to_owned()
            } else {
                format!("Thank you: {n} signatures are recorded.")
            };
            let more = !state.app.pending(&viewer.actor).await?.is_empty();
            if more {
                sign_page(&state, &viewer, None, Some(msg)).await
            } else {
                Ok(Redirect::to("/?signed=1").into_response())
            }
        }
        Err(ServiceError::Invalid(m)) => {
            let mut r = sign_page(&state, &viewer, Some(m), None).await?;
            *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the viewer must be sent to `/sign` before anything else.
pub async fn must_sign(state: &AppState, viewer: &Viewer) -> bool {
    state
        .app
        .pending(&viewer.actor)
        .await
        .is_ok_and(|p| !p.is_empty())
}
