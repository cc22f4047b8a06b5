//! School devices (`/devices`): the list, registering a device (its DNS-over-HTTPS address
//! is shown once), revoking it, and assigning it to someone else.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_domain::devices::DeviceKind;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_service::ServiceError;
use gatehouse_service::devices::{Assignee, DeviceRequest};
use gatehouse_store::{Device, DeviceAssignment};
use jiff::tz::TimeZone;
use serde::Deserialize;

/// A device in the list.
#[derive(Debug)]
pub struct DeviceRow {
    id: i64,
    name: String,
    kind: &'static str,
    asset_tag: String,
    assigned: String,
    person_id: Option<i64>,
    registered: String,
    last_seen: String,
    revoked: String,
}

/// A device just registered: its address, shown this once.
#[derive(Debug)]
pub struct Created {
    name: String,
    url: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    chrome: Chrome,
    live: Vec<DeviceRow>,
    revoked: Vec<DeviceRow>,
    can_edit: bool,
    dns_running: bool,
    kinds: Vec<(&'static str, &'static str)>,
    groups: Vec<String>,
    form: RegisterForm,
    created: Option<Created>,
    message: Option<String>,
    error: Option<String>,
}

/// The registration form (also the reassignment form: `person` and `group` only).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    asset_tag: String,
    /// A username or a person id.
    #[serde(default)]
    person: String,
    /// A filtering group.
    #[serde(default)]
    group: String,
}

/// `?revoked=ID` or `?reassigned=ID` after a change.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    revoked: Option<i64>,
    reassigned: Option<i64>,
}

fn when(t: jiff::Timestamp) -> String {
    t.to_zoned(TimeZone::UTC)
        .strftime("%-d %b %Y %H:%M UTC")
        .to_string()
}

fn row(d: &Device) -> DeviceRow {
    let assigned = match &d.assignment {
        DeviceAssignment::Nobody => "nobody (policy for unidentified devices)".to_owned(),
        DeviceAssignment::Person(id) => d
            .person_name
            .clone()
            .unwrap_or_else(|| format!("person {id}")),
        DeviceAssignment::Group(g) => format!("group {g}"),
    };
    DeviceRow {
        id: d.id,
        name: d.name.clone(),
        kind: d.kind.label(),
        asset_tag: d.asset_tag.clone().unwrap_or_default(),
        assigned,
        person_id: match d.assignment {
            DeviceAssignment::Person(id) => Some(id),
            _ => None,
        },
        registered: when(d.created_at),
        last_seen: d.last_seen_at.map(when).unwrap_or_else(|| "never".into()),
        revoked: d.revoked_at.map(when).unwrap_or_default(),
    }
}

/// Whom the form's `person` and `group` fields name.
fn assignee(person: &str, group: &str) -> Result<Assignee, String> {
    let (person, group) = (person.trim(), group.trim());
    match (person.is_empty(), group.is_empty()) {
        (true, true) => Ok(Assignee::Nobody),
        (false, true) => Ok(match person.parse::<i64>() {
            Ok(id) => Assignee::PersonId(id),
            Err(_) => Assignee::Username(person.to_owned()),
        }),
        (true, false) => Ok(Assignee::Group(group.to_owned())),
        (false, false) => Err("assign the device to a person or to a group, not both".into()),
    }
}

/// The DoH address of a device token on this server, as browsers reach it.
fn doh_url(headers: &HeaderMap, token: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("gatehouse.example");
    format!("https://{host}/dns-query/{token}")
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    form: RegisterForm,
    created: Option<Created>,
    message: Option<String>,
    error: Option<String>,
) -> Result<DevicesPage, WebError> {
    let devices = state.app.devices(&viewer.actor, true).await?;
    let (live, revoked): (Vec<&Device>, Vec<&Device>) =
        devices.iter().partition(|d| d.revoked_at.is_none());
    Ok(DevicesPage {
        chrome: Chrome::for_viewer(state, viewer, "/devices").await,
        live: live.into_iter().map(row).collect(),
        revoked: revoked.into_iter().map(row).collect(),
        can_edit: viewer.actor.can(Action::Edit, Resource::Devices),
        dns_running: state.settings.dns.is_some(),
        kinds: DeviceKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        groups: state.settings.filter_groups.clone(),
        form,
        created,
        message,
        error,
    })
}

/// `GET /devices`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Result<Response, WebError> {
    let devices = state.app.devices(&viewer.actor, true).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| devices.iter().find(|d| d.id == id))
            .map(|d| d.name.clone())
    };
    let message = name_of(done.revoked)
        .map(|n| format!("{n} is revoked: its DNS-over-HTTPS address no longer works."))
        .or_else(|| name_of(done.reassigned).map(|n| format!("{n} is assigned anew.")));
    let form = RegisterForm {
        kind: DeviceKind::Laptop.as_str().to_owned(),
        ..RegisterForm::default()
    };
    Ok(render(&page(&state, &viewer, form, None, message, None).await?)?.into_response())
}

/// The group must be one of the installation's policies when they are known.
fn check_group(state: &AppState, group: &str) -> Result<(), String> {
    let groups = &state.settings.filter_groups;
    let g = group.trim().to_ascii_lowercase();
    if g.is_empty() || groups.is_empty() || groups.contains(&g) {
        Ok(())
    } else {
        Err(format!(
            "group: '{}' is not one of the filtering policies ({})",
            group.trim(),
            groups.join(", ")
        ))
    }
}

/// `POST /devices`: register; the page then shows the device's address once.
pub async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> Result<Response, WebError> {
    viewer.actor.require(Action::Edit, Resource::Devices)?;
    let request = (|| {
        check_group(&state, &f.group)?;
        Ok::<_, String>(DeviceRequest {
            name: f.name.clone(),
            kind: f
                .kind
                .parse()
                .map_err(|e: gatehouse_domain::DomainError| e.to_string())?,
            asset_tag: f.asset_tag.clone(),
            assignee: assignee(&f.person, &f.group)?,
        })
    })();
    let result = match request {
        Ok(req) => state.app.register_device(&viewer.actor, &req).await,
        Err(m) => Err(ServiceError::Invalid(m)),
    };
    match result {
        Ok(d) => {
            let created = Created {
                url: doh_url(&headers, &d.token),
                name: d.name,
            };
            let blank = RegisterForm {
                kind: f.kind,
                ..RegisterForm::default()
            };
            Ok(
                render(&page(&state, &viewer, blank, Some(created), None, None).await?)?
                    .into_response(),
            )
        }
        Err(ServiceError::Invalid(m)) => Ok((
            StatusCode::BAD_REQUEST,
            render(&page(&state, &viewer, f, None, None, Some(m)).await?)?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /devices/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match state.app.revoke_device(&viewer.actor, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/devices?revoked={id}")).into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            StatusCode::BAD_REQUEST,
            render(
                &page(
                    &state,
                    &viewer,
                    RegisterForm::default(),
                    None,
                    None,
                    Some(m),
                )
                .await?,
            )?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /devices/{id}/assign`: to a person (username or id), a group, or nobody.
pub async fn reassign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<RegisterForm>,
) -> Result<Response, WebError> {
    let result = match check_group(&state, &f.group).and_then(|()| assignee(&f.person, &f.group)) {
        Ok(a) => state.app.reassign_device(&viewer.actor, id, &a).await,
        Err(m) => Err(ServiceError::Invalid(m)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/devices?reassigned={id}")).into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            StatusCode::BAD_REQUEST,
            render(
                &page(
                    &state,
                    &viewer,
                    RegisterForm::default(),
                    None,
                    None,
                    Some(m),
                )
                .await?,
            )?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_person_is_a_username_or_an_id_and_not_both_person_and_group() {
        assert_eq!(assignee(" ", ""), Ok(Assignee::Nobody));
        assert_eq!(assignee("42", ""), Ok(Assignee::PersonId(42)));
        assert_eq!(
            assignee(" ada.l ", ""),
            Ok(Assignee::Username("ada.l".into()))
        );
        assert_eq!(assignee("", "ks2"), Ok(Assignee::Group("ks2".into())));
        assert!(assignee("42", "ks2").is_err());
    }
}
