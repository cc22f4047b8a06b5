//! The home page: what this person can do, with the figures their role may see.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_domain::permissions::{Action, Resource, Role};

/// A count on the home page.
#[derive(Debug)]
pub struct Tile {
    label: &'static str,
    count: i64,
    href: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    roles: Vec<&'static str>,
    tiles: Vec<Tile>,
    can_import: bool,
    can_audit: bool,
    mfa_enabled: bool,
    mfa_expected: bool,
    is_family: bool,
    coverage: Vec<Coverage>,
    reviews_due: Vec<(i64, String, String)>,
    can_policies: bool,
    person_id: Option<i64>,
    children: Vec<(i64, String)>,
    filter: Option<FilterStatus>,
    pending_requests: Option<usize>,
    new_alerts: Option<(usize, usize)>,
    breaches: Vec<BreachTile>,
    can_report: bool,
}

/// A data breach whose ICO deadline runs, for the DPO's and head's home pages.
#[derive(Debug)]
pub struct BreachTile {
    id: i64,
    summary: String,
    deadline: String,
    clock: String,
    overdue: bool,
}

/// The web filter's state, for those who look after it.
#[derive(Debug)]
pub struct FilterStatus {
    ok: bool,
    answered: u64,
    blocked: u64,
    dropped: u64,
    written: u64,
}

fn filter_status(state: &AppState) -> Option<FilterStatus> {
    let (report, ok) = state.settings.health.as_ref()?.report();
    let n = |a: &str, b: &str| report[a][b].as_u64().unwrap_or(0);
    Some(FilterStatus {
        ok,
        answered: n("dns", "answered"),
        blocked: n("dns", "blocked"),
        dropped: n("dns", "events_dropped"),
        written: n("activity_log", "written"),
    })
}

/// Signing coverage of one policy, for the home page.
#[derive(Debug)]
pub struct Coverage {
    id: i64,
    title: String,
    signed_percent: usize,
    signed: usize,
    required: usize,
    overdue: usize,
}

/// `GET /`. Anyone with an agreement to sign is sent to sign it first.
pub async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    if super::sign::must_sign(&state, &viewer).await {
        return Ok(Redirect::to("/sign").into_response());
    }
    let a = &viewer.actor;
    let mut tiles = Vec::new();
    if a.can(Action::View, Resource::People) {
        for (kind, count) in state.app.people_counts(a).await? {
            tiles.push(Tile {
                label: kind.plural_label(),
                count,
                href: format!("/people?kind={kind}"),
            });
        }
    }
    let mut coverage = Vec::new();
    let mut reviews_due = Vec::new();
    if a.can(Action::View, Resource::Policies) {
        let today = state.app.today();
        let counts = if a.can(Action::View, Resource::Register) {
            state.app.coverage(a).await?
        } else {
            Vec::new()
        };
        for p in state.app.policies(a).await? {
            if let Some(review) = p
                .published()
                .and_then(|v| v.review_on)
                .filter(|r| *r <= today)
            {
                reviews_due.push((
                    p.id,
                    p.title.clone(),
                    review.strftime("%-d %B %Y").to_string(),
                ));
            }
            let c = counts.iter().find(|(q, _)| q.id == p.id).map(|(_, c)| c);
            if let (Some(c), Some(_)) = (c, p.published()) {
                coverage.push(Coverage {
                    id: p.id,
                    title: p.title.clone(),
                    signed_percent: c.signed_percent(),
                    signed: c.signed,
                    required: c.required,
                    overdue: c.overdue,
                });
            }
        }
    }
    let pending_requests =
        if a.can(Action::View, Resource::UnblockRequests) && state.app.filter.is_some() {
            Some(state.app.unblock_queue(a).await?.0.len())
        } else {
            None
        };
    let breaches = state
        .app
        .breach_countdowns(a)
        .await?
        .into_iter()
        .map(|c| BreachTile {
            id: c.incident.id,
            summary: c.incident.summary,
            deadline: super::incidents::local(c.deadline),
            clock: c.clock.describe(),
            overdue: matches!(
                c.clock,
                gatehouse_domain::incidents::BreachClock::Overdue { .. }
            ),
        })
        .collect();
    let account = &viewer.session.info.account;
    let page = HomePage {
        filter: if a.can(Action::View, Resource::Activity) {
            filter_status(&state)
        } else {
            None
        },
        pending_requests,
        new_alerts: if a.can(Action::View, Resource::Alerts) {
            Some(state.app.new_alert_counts(a).await?)
        } else {
            None
        },
        breaches,
        can_report: a
            .roles
            .iter()
            .any(|r| gatehouse_domain::permissions::may_report_incident(*r)),
        chrome: Chrome::for_viewer(&state, &viewer, "/").await,
        roles: a.roles.iter().map(|r| r.label()).collect(),
        tiles,
        can_import: a.can(Action::Edit, Resource::People),
        can_audit: a.can(Action::View, Resource::AuditLog),
        mfa_enabled: account.mfa_enabled,
        mfa_expected: a.roles.iter().any(|r| r.requires_mfa()),
        is_family: a
            .roles
            .iter()
            .all(|r| matches!(r, Role::Pupil | Role::Parent)),
        coverage,
        reviews_due,
        can_policies: a.can(Action::View, Resource::Policies),
        person_id: a.person_id,
        children: state
            .app
            .my_children(a)
            .await?
            .into_iter()
            .map(|c| (c.id, c.details.full_name()))
            .collect(),
    };
    Ok(render(&page)?.into_response())
}
