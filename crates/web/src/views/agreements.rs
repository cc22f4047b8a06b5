//! Agreement policies (`/agreements`): the list with signing coverage, creating a policy
//! from an existing document or a starter, a policy's versions (approve, publish, new
//! version), and its register (`/agreements/{id}/register`, filterable, CSV, printable).

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_domain::agreements::text::{Candidate, PolicyText, parse_policy};
use gatehouse_domain::agreements::{Audience, starter};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_service::agreements::{PolicyRequest, Register, RegisterCounts, RegisterFilter};
use gatehouse_store::{NewPolicy, Policy, PolicyVersion, VersionStatus};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;

/// A policy in the list.
#[derive(Debug)]
pub struct PolicyRow {
    id: i64,
    title: String,
    audience: &'static str,
    version: String,
    effective: String,
    review: String,
    review_overdue: bool,
    counts: Option<RegisterCounts>,
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<PolicyRow>,
    can_edit: bool,
}

fn fmt_date(d: Option<Date>) -> String {
    d.map(|d| d.strftime("%-d %b %Y").to_string())
        .unwrap_or_default()
}

/// `GET /agreements`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, WebError> {
    let policies = state.app.policies(&viewer.actor).await?;
    let today = state.app.today();
    let coverage = if viewer.actor.can(Action::View, Resource::Register) {
        state.app.coverage(&viewer.actor).await?
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for p in policies {
        let published = p.published().cloned();
        let counts = coverage
            .iter()
            .find(|(q, _)| q.id == p.id)
            .map(|(_, c)| c.clone());
        rows.push(PolicyRow {
            id: p.id,
            title: p.title.clone(),
            audience: p.audience.label(),
            version: published.as_ref().map_or_else(
                || {
                    p.versions.last().map_or("none".into(), |v| {
                        format!("v{} ({})", v.number, v.status.label().to_lowercase())
                    })
                },
                |v| format!("v{}", v.number),
            ),
            effective: fmt_date(published.as_ref().and_then(|v| v.effective_on)),
            review: fmt_date(published.as_ref().and_then(|v| v.review_on)),
            review_overdue: published
                .as_ref()
                .and_then(|v| v.review_on)
                .is_some_and(|r| r < today),
            counts,
        });
    }
    render(&ListPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/agreements").await,
        rows,
        can_edit: viewer.actor.can(Action::Edit, Resource::Policies),
    })
}

#[derive(Template)]
#[template(path = "agreement_new.html")]
struct NewPage {
    chrome: Chrome,
    form: NewForm,
    audiences: Vec<(&'static str, &'static str)>,
    preview: Option<Preview>,
    error: Option<String>,
}

/// What the import found, shown before the policy is created.
#[derive(Debug)]
pub struct Preview {
    candidates: Vec<Candidate>,
    chosen: usize,
    text: PolicyText,
    signature_lines_removed: usize,
}

/// The new-policy form.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct NewForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    days_to_sign: String,
    #[serde(default)]
    annual: Option<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    candidate: Option<usize>,
    #[serde(default)]
    step: String,
}

/// Query of `GET /agreements/new`.
#[derive(Debug, Deserialize)]
pub struct StarterQuery {
    starter: Option<String>,
}

fn audiences() -> Vec<(&'static str, &'static str)> {
    Audience::ALL.map(|a| (a.as_str(), a.label())).to_vec()
}

/// `GET /agreements/new`: an empty form, or one filled with a starter agreement.
pub async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<StarterQuery>,
) -> Result<Html<String>, WebError> {
    viewer.actor.require(Action::Edit, Resource::Policies)?;
    let mut form = NewForm {
        owner: "Headteacher".into(),
        days_to_sign: "14".into(),
        annual: Some("on".into()),
        ..NewForm::default()
    };
    if let Some(a) = q
        .starter
        .as_deref()
        .and_then(|s| s.parse::<Audience>().ok())
    {
        let s = starter::starter(a);
        form.title = s.title.to_owned();
        form.audience = a.as_str().to_owned();
        form.source = s.markdown.to_owned();
    }
    render(&NewPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/agreements").await,
        form,
        audiences: audiences(),
        preview: None,
        error: None,
    })
}

fn preview_of(form: &NewForm) -> Preview {
    let report = parse_policy(&form.source);
    let chosen = form
        .candidate
        .filter(|c| *c < report.candidates.len())
        .unwrap_or(0);
    let text = report
        .candidates
        .get(chosen)
        .map(|c| report.text.select(c))
        .unwrap_or_else(|| report.text.clone());
    Preview {
        candidates: report.candidates,
        chosen,
        text,
        signature_lines_removed: report.signature_lines_removed,
    }
}

/// `POST /agreements/new`: `step=preview` shows what was found; `step=create` creates it.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewForm>,
) -> Result<Response, WebError> {
    viewer.actor.require(Action::Edit, Resource::Policies)?;
    let page = |preview: Option<Preview>, error: Option<String>, form: NewForm| async {
        render(&NewPage {
            chrome: Chrome::for_viewer(&state, &viewer, "/agreements").await,
            form,
            audiences: audiences(),
            preview,
            error,
        })
    };
    if form.source.trim().is_empty() {
        return Ok((
            StatusCode::BAD_REQUEST,
            page(
                None,
                Some("Paste or upload the agreement's text.".into()),
                form,
            )
            .await?,
        )
            .into_response());
    }
    if form.step != "create" {
        let preview = preview_of(&form);
        return Ok(page(Some(preview), None, form).await?.into_response());
    }
    let parsed = (|| -> Result<NewPolicy, String> {
        Ok(NewPolicy {
            title: form.title.clone(),
            audience: form
                .audience
                .parse()
                .map_err(|e: gatehouse_domain::DomainError| e.to_string())?,
            owner: Some(form.owner.trim().to_owned())
                .filter(|o| !o.is_empty())
                .unwrap_or_else(|| "Headteacher".into()),
            days_to_sign: form
                .days_to_sign
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|d| *d <= 365)
                .ok_or("days to sign: a whole number of days from 0 to 365")?,
            annual_from: form.annual.as_deref().map(|_| (9, 1)),
        })
    })();
    let policy = match parsed {
        Ok(p) => p,
        Err(e) => {
            let preview = preview_of(&form);
            return Ok((
                StatusCode::BAD_REQUEST,
                page(Some(preview), Some(e), form).await?,
            )
                .into_response());
        }
    };
    let req = PolicyRequest {
        policy,
        source: form.source.clone(),
        candidate: form.candidate,
    };
    match state.app.create_policy(&viewer.actor, &req).await {
        Ok((id, _)) => Ok(Redirect::to(&format!("/agreements/{id}")).into_response()),
        Err(gatehouse_service::ServiceError::Invalid(m)) => {
            let preview = preview_of(&form);
            Ok((
                StatusCode::BAD_REQUEST,
                page(Some(preview), Some(m), form).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A version as shown.
#[derive(Debug)]
pub struct VersionRow {
    v: PolicyVersion,
    status: &'static str,
    short_hash: String,
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct PolicyPage {
    chrome: Chrome,
    policy: Policy,
    versions: Vec<VersionRow>,
    shown: Option<(u32, PolicyText)>,
    pending: Option<PolicyVersion>,
    latest_body: String,
    can_edit: bool,
    can_register: bool,
    today: String,
    next_year: String,
    error: Option<String>,
}

async fn policy_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let policy = state.app.policy(&viewer.actor, id).await?;
    let today = state.app.today();
    let shown = policy
        .published()
        .or(policy.versions.last())
        .map(|v| (v.number, parse_policy(&v.body).text));
    let pending = policy
        .versions
        .iter()
        .find(|v| matches!(v.status, VersionStatus::Draft | VersionStatus::Approved))
        .cloned();
    render(&PolicyPage {
        chrome: Chrome::for_viewer(state, viewer, "/agreements").await,
        versions: policy
            .versions
            .iter()
            .rev()
            .map(|v| VersionRow {
                status: v.status.label(),
                short_hash: v.hash.chars().take(12).collect(),
                v: v.clone(),
            })
            .collect(),
        shown,
        pending,
        latest_body: policy
            .versions
            .last()
            .map(|v| v.body.clone())
            .unwrap_or_default(),
        can_edit: viewer.actor.can(Action::Edit, Resource::Policies),
        can_register: viewer.actor.can(Action::View, Resource::Register),
        today: today.to_string(),
        next_year: today.checked_add(1.year()).unwrap_or(today).to_string(),
        policy,
        error,
    })
}

/// `GET /agreements/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    policy_page(&state, &viewer, id, None).await
}

/// The approve / publish / new-version forms.
#[derive(Debug, Deserialize)]
pub struct VersionForm {
    action: String,
    version: Option<i64>,
    #[serde(default)]
    by: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    effective: String,
    #[serde(default)]
    review: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    material: Option<String>,
    #[serde(default)]
    note: String,
}

fn date_field(name: &str, s: &str) -> Result<Date, gatehouse_service::ServiceError> {
    s.trim().parse().map_err(|_| {
        gatehouse_service::ServiceError::Invalid(format!("{name}: '{s}' is not a date"))
    })
}

/// `POST /agreements/{id}`: approve, publish or add a version.
pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> Result<Response, WebError> {
    let app = &state.app;
    let a = &viewer.actor;
    let version = f.version.unwrap_or_default();
    // The version acted on must belong to the policy in the address.
    if matches!(f.action.as_str(), "approve" | "publish")
        && !app
            .policy(a, id)
            .await?
            .versions
            .iter()
            .any(|v| v.id == version)
    {
        return Err(WebError::NotFound);
    }
    let result = match f.action.as_str() {
        "approve" => match date_field("approved on", &f.on) {
            Ok(on) => app.approve_version(a, version, &f.by, on).await,
            Err(e) => Err(e),
        },
        "publish" => match (
            date_field("effective from", &f.effective),
            date_field("review by", &f.review),
        ) {
            (Ok(e), Ok(r)) => app.publish_version(a, version, e, r).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        "new_version" => app
            .new_version(a, id, &f.source, f.material.is_some(), &f.note)
            .await
            .map(|_| ()),
        _ => Err(gatehouse_service::ServiceError::Invalid(
            "unknown action".into(),
        )),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/agreements/{id}")).into_response()),
        Err(
            gatehouse_service::ServiceError::Invalid(m)
            | gatehouse_service::ServiceError::Store(gatehouse_store::StoreError::Refused(m)),
        ) => Ok((
            StatusCode::BAD_REQUEST,
            policy_page(&state, &viewer, id, Some(m)).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// The register's query.
#[derive(Debug, Deserialize, Default)]
pub struct RegisterQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    format: String,
}

/// A register row as shown.
#[derive(Debug)]
pub struct RegisterLine {
    id: i64,
    name: String,
    kind: &'static str,
    group: String,
    status: &'static str,
    status_key: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    chrome: Chrome,
    policy_id: i64,
    title: String,
    audience: &'static str,
    counts: RegisterCounts,
    lines: Vec<RegisterLine>,
    q: RegisterQuery,
    years: Vec<String>,
    classes: Vec<String>,
    csv_href: String,
    statuses: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "register_print.html")]
struct PrintPage {
    title: String,
    version: String,
    classes: Vec<(String, Vec<RegisterLine>)>,
    printed: String,
}

fn filter_of(q: &RegisterQuery) -> Result<RegisterFilter, WebError> {
    Ok(RegisterFilter {
        kind: match q.kind.as_str() {
            "" => None,
            k => Some(
                k.parse::<PersonKind>()
                    .map_err(|e| WebError::BadRequest(e.to_string()))?,
            ),
        },
        year_group: Some(q.year.clone()).filter(|s| !s.is_empty()),
        class_name: Some(q.class.clone()).filter(|s| !s.is_empty()),
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
    })
}

fn lines(r: &Register) -> Vec<RegisterLine> {
    r.rows
        .iter()
        .map(|row| {
            let d = &row.person.details;
            let detail = match &row.status {
                gatehouse_domain::agreements::requirement::Status::Signed { version, on } => {
                    format!("v{version} on {}", fmt_date(Some(*on)))
                }
                gatehouse_domain::agreements::requirement::Status::SignedOlder {
                    version,
                    due,
                    ..
                } => {
                    format!("signed v{version}; sign again by {}", fmt_date(Some(*due)))
                }
                st => st
                    .due()
                    .map(|d| format!("by {}", fmt_date(Some(d))))
                    .unwrap_or_default(),
            };
            RegisterLine {
                id: row.person.id,
                name: format!("{}, {}", d.last_name, d.first_name),
                kind: d.kind.as_str(),
                group: d
                    .class_name
                    .as_ref()
                    .map(ToString::to_string)
                    .or_else(|| d.job_title.as_ref().map(ToString::to_string))
                    .unwrap_or_default(),
                status: row.status.label(),
                status_key: row.status.key(),
                detail,
            }
        })
        .collect()
}

fn csv_escape(s: &str) -> String {
    // Cells that a spreadsheet would read as a formula are prefixed with an apostrophe.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /agreements/{id}/register` (HTML, or CSV with `format=csv`).
pub async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, WebError> {
    let filter = filter_of(&q)?;
    let reg = state.app.register(&viewer.actor, id, &filter).await?;
    let rows = lines(&reg);
    if q.format == "csv" {
        let mut out = String::from("Name,Kind,Class or role,Status,Detail\n");
        for l in &rows {
            out.push_str(
                &[
                    csv_escape(&l.name),
                    l.kind.to_owned(),
                    csv_escape(&l.group),
                    l.status.to_owned(),
                    csv_escape(&l.detail),
                ]
                .join(","),
            );
            out.push('\n');
        }
        let name = format!("attachment; filename=\"register-{id}.csv\"");
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            out,
        )
            .into_response());
    }
    if q.format == "print" {
        let mut classes: Vec<(String, Vec<RegisterLine>)> = Vec::new();
        for l in rows {
            let key = if l.group.is_empty() {
                "Others".to_owned()
            } else {
                l.group.clone()
            };
            match classes.iter_mut().find(|(c, _)| *c == key) {
                Some((_, v)) => v.push(l),
                None => classes.push((key, vec![l])),
            }
        }
        classes.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(render(&PrintPage {
            title: reg.policy.title.clone(),
            version: reg
                .policy
                .published()
                .map(|v| format!("version {}", v.number))
                .unwrap_or_default(),
            classes,
            printed: fmt_date(Some(state.app.today())),
        })?
        .into_response());
    }
    let facets = state
        .app
        .people_facets(&viewer.actor)
        .await
        .unwrap_or_default();
    let base = serde_urlencoded::to_string([
        ("kind", &q.kind),
        ("year", &q.year),
        ("class", &q.class),
        ("status", &q.status),
    ])
    .unwrap_or_default();
    Ok(render(&RegisterPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/agreements").await,
        policy_id: id,
        title: reg.policy.title.clone(),
        audience: reg.policy.audience.label(),
        counts: reg.counts.clone(),
        lines: rows,
        csv_href: format!("/agreements/{id}/register?{base}&format=csv"),
        q,
        years: facets.year_groups,
        classes: facets.classes,
        statuses: vec![
            ("signed", "Signed"),
            ("due", "Due"),
            ("overdue", "Overdue"),
            ("resign", "Must re-sign"),
        ],
    })?
    .into_response())
}
