//! The home page: what this person can do, with the figures their role may see.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
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
}

/// `GET /`.
pub async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, WebError> {
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
    let account = &viewer.session.info.account;
    let page = HomePage {
        chrome: Chrome::for_viewer(&state, &viewer, "/").await,
        roles: a.roles.iter().map(|r| r.label()).collect(),
        tiles,
        can_import: a.can(Action::Edit, Resource::People),
        can_audit: a.can(Action::View, Resource::AuditLog),
        mfa_enabled: account.mfa_enabled,
        mfa_expected: a.roles.iter().any(|r| r.requires_mfa()),
        is_family: a.roles.iter().all(|r| matches!(r, Role::Pupil | Role::Parent)),
    };
    render(&page)
}
