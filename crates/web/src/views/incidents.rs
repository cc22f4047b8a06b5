//! Incidents and concerns (`/incidents`): the list a person may see, "Report a concern"
//! (every member of staff; pupils get the simpler "Tell someone" on the same form), the
//! record with its chronology and the forms that add to it (entries, status, people,
//! sanctions that act on the filter, breach details), the breach log and its CSV export,
//! and `GET /api/v1/incidents`.

use super::api::{ApiCaller, ApiError};
use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_domain::incidents::{
    Agency, BreachDetails, EntryKind, FilterSanction, IncidentKind, Involvement, ReportDecision,
    Risk, SANCTION_GROUPS, Severity, Status,
};
use gatehouse_domain::permissions::{IncidentAccess, Role};
use gatehouse_service::ServiceError;
use gatehouse_service::incidents::{IncidentView, ReportRequest};
use gatehouse_store::{Incident, IncidentPerson, NewEntry};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::json;

fn tz() -> TimeZone {
    TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ).unwrap_or(TimeZone::UTC)
}

/// An instant as the school reads it.
pub fn local(t: Timestamp) -> String {
    t.to_zoned(tz()).strftime("%-d %b %Y %H:%M").to_string()
}

/// A `datetime-local` (or date) field in the school's time zone; empty is `None`.
fn parse_local(field: &str, s: &str) -> Result<Option<Timestamp>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let dt: DateTime = s
        .parse()
        .or_else(|_| {
            s.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| format!("{field}: '{s}' is not a date and time (YYYY-MM-DD HH:MM)"))?;
    dt.to_zoned(tz())
        .map(|z| Some(z.timestamp()))
        .map_err(|_| format!("{field}: '{s}' is out of range"))
}

fn bad(m: String) -> WebError {
    WebError::BadRequest(m)
}

/// A record as listed.
pub struct Row {
    i: Incident,
    when: String,
    own: bool,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    breach_log: bool,
}

fn breach_log_allowed(roles: &[Role]) -> bool {
    roles
        .iter()
        .any(|r| gatehouse_domain::permissions::may_see_breach_log(*r))
}

/// `GET /incidents`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, WebError> {
    let rows = state
        .app
        .incidents(&viewer.actor)
        .await?
        .into_iter()
        .map(|(i, a)| Row {
            when: local(i.reported_at),
            own: a == IncidentAccess::OwnReport,
            i,
        })
        .collect();
    render(&ListPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/incidents").await,
        rows,
        breach_log: breach_log_allowed(&viewer.actor.roles),
    })
}

#[derive(Template)]
#[template(path = "incident_report.html")]
struct ReportPage {
    chrome: Chrome,
    pupil: bool,
    kinds: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    form: ReportForm,
}

/// The report form ("Report a concern"; "Tell someone" for pupils).
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    discovered_at: String,
}

fn is_pupil(viewer: &Viewer) -> bool {
    viewer.actor.roles.iter().all(|r| *r == Role::Pupil)
}

async fn report_page(
    state: &AppState,
    viewer: &Viewer,
    form: ReportForm,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    render(&ReportPage {
        chrome: Chrome::for_viewer(state, viewer, "/incidents").await,
        pupil: is_pupil(viewer),
        kinds: IncidentKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        error,
        form,
    })
}

/// `GET /incidents/new`.
pub async fn report_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    report_page(&state, &viewer, ReportForm::default(), None).await
}

/// One line of "who was involved": `name[, pupil|staff|other][, affected|alleged|witness|other]`.
fn parse_people(s: &str) -> Result<Vec<IncidentPerson>, String> {
    let mut out = Vec::new();
    for (n, line) in s.lines().enumerate() {
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some(name) = parts.first().filter(|n| !n.is_empty()) else {
            continue;
        };
        let kind = parts
            .get(1)
            .copied()
            .filter(|k| !k.is_empty())
            .unwrap_or("other");
        if !["pupil", "staff", "other"].contains(&kind) {
            return Err(format!(
                "who was involved, line {}: '{kind}' is not pupil, staff or other",
                n + 1
            ));
        }
        let involvement = match parts.get(2).filter(|k| !k.is_empty()) {
            Some(i) => Involvement::parse("who was involved", i).map_err(|e| e.to_string())?,
            None => Involvement::Other,
        };
        out.push(IncidentPerson {
            person_id: None,
            name: (*name).to_owned(),
            kind: kind.to_owned(),
            involvement,
        });
    }
    Ok(out)
}

fn parse_report(f: &ReportForm, pupil: bool) -> Result<ReportRequest, String> {
    let kind = if pupil || f.kind.trim().is_empty() {
        gatehouse_domain::incidents::DEFAULT_CONCERN
    } else {
        IncidentKind::parse("kind", &f.kind).map_err(|e| e.to_string())?
    };
    let severity = if pupil || f.severity.trim().is_empty() {
        Severity::Medium
    } else {
        Severity::parse("severity", &f.severity).map_err(|e| e.to_string())?
    };
    let summary = if pupil && f.summary.trim().is_empty() {
        "A pupil told someone".to_owned()
    } else {
        f.summary.clone()
    };
    let breach = if kind == IncidentKind::DataBreach {
        let discovered = parse_local("discovered", &f.discovered_at)?
            .ok_or("discovered: say when the breach was discovered")?;
        Some(BreachDetails {
            discovered_at: discovered,
            near_miss: false,
            data: String::new(),
            people_count: None,
            records_count: None,
            consequences: String::new(),
            risk: None,
            decision: ReportDecision::Undecided,
            ico_reference: None,
            people_told: None,
            measures: String::new(),
        })
    } else {
        None
    };
    Ok(ReportRequest {
        kind,
        summary,
        description: f.description.clone(),
        severity,
        occurred_at: parse_local("when it happened", &f.occurred_at)?,
        people: parse_people(&f.people)?,
        breach,
    })
}

#[derive(Template)]
#[template(path = "incident_thanks.html")]
struct ThanksPage {
    chrome: Chrome,
    pupil: bool,
    id: i64,
}

/// `POST /incidents/new`.
pub async fn report(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<ReportForm>,
) -> Result<Response, WebError> {
    let pupil = is_pupil(&viewer);
    let req = match parse_report(&f, pupil) {
        Ok(r) => r,
        Err(m) => {
            return Ok((
                StatusCode::BAD_REQUEST,
                report_page(&state, &viewer, f, Some(m)).await?,
            )
                .into_response());
        }
    };
    match state.app.report_incident(&viewer.actor, &req).await {
        Ok(id) => Ok(render(&ThanksPage {
            chrome: Chrome::for_viewer(&state, &viewer, "/incidents").await,
            pupil,
            id,
        })?
        .into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            StatusCode::BAD_REQUEST,
            report_page(&state, &viewer, f, Some(m)).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// A chronology entry as shown.
pub struct EntryRow {
    e: gatehouse_store::IncidentEntry,
    when: String,
    recorded: String,
}

/// A sanction as shown.
pub struct SanctionRow {
    s: gatehouse_store::IncidentSanction,
    who: String,
    until: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct RecordPage {
    chrome: Chrome,
    v: IncidentView,
    occurred: String,
    reported: String,
    entries: Vec<EntryRow>,
    sanctions: Vec<SanctionRow>,
    manage: bool,
    entry_kinds: Vec<(&'static str, &'static str)>,
    agencies: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    groups: Vec<&'static str>,
    risks: Vec<(&'static str, &'static str)>,
    discovered_input: String,
    can_sanction: bool,
    breach_deadline: String,
    clock: String,
    overdue: bool,
    error: Option<String>,
}

async fn record_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let v = state.app.incident(&viewer.actor, id).await?;
    let now = state.app.clock.now();
    let entries = v
        .entries
        .iter()
        .map(|e| EntryRow {
            when: local(e.occurred_at),
            recorded: local(e.recorded_at),
            e: e.clone(),
        })
        .collect();
    let sanctions = v
        .sanctions
        .iter()
        .map(|s| SanctionRow {
            who: v
                .incident
                .people
                .iter()
                .find(|p| p.person_id == Some(s.person_id))
                .map_or_else(|| format!("person {}", s.person_id), |p| p.name.clone()),
            until: local(s.until),
            active: s.ended_at.is_none() && s.until > now,
            s: s.clone(),
        })
        .collect();
    let manage = v.access == IncidentAccess::Manage;
    let (breach_deadline, clock, overdue) = match (&v.incident.breach, v.clock) {
        (Some(b), Some(c)) => (
            local(gatehouse_domain::incidents::ico_deadline(b.discovered_at)),
            c.describe(),
            matches!(c, gatehouse_domain::incidents::BreachClock::Overdue { .. }),
        ),
        _ => (String::new(), String::new(), false),
    };
    render(&RecordPage {
        chrome: Chrome::for_viewer(state, viewer, "/incidents").await,
        occurred: local(v.incident.occurred_at),
        reported: local(v.incident.reported_at),
        entries,
        sanctions,
        manage,
        entry_kinds: [
            EntryKind::Note,
            EntryKind::Decision,
            EntryKind::Action,
            EntryKind::ParentsInformed,
            EntryKind::SanctionApplied,
            EntryKind::Referral,
            EntryKind::SupportOffered,
        ]
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect(),
        agencies: Agency::ALL
            .iter()
            .map(|a| (a.as_str(), a.label()))
            .collect(),
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        groups: SANCTION_GROUPS.to_vec(),
        risks: Risk::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        discovered_input: v
            .incident
            .breach
            .as_ref()
            .map(|b| {
                b.discovered_at
                    .to_zoned(tz())
                    .strftime("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default(),
        can_sanction: v.incident.people.iter().any(|p| p.person_id.is_some()),
        breach_deadline,
        clock,
        overdue,
        error,
        v,
    })
}

/// `GET /incidents/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    record_page(&state, &viewer, id, None).await
}

/// After a form on the record: back to it, or the record with the error named.
async fn after(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    r: Result<(), WebError>,
) -> Result<Response, WebError> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
        Err(WebError::BadRequest(m)) => Ok((
            StatusCode::BAD_REQUEST,
            record_page(state, viewer, id, Some(m)).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// The chronology entry form.
#[derive(Debug, Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    done_by: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    corrects: String,
}

fn parse_entry(f: &EntryForm) -> Result<NewEntry, String> {
    let corrects = match f.corrects.trim() {
        "" => None,
        c => Some(
            c.parse::<i64>()
                .map_err(|_| format!("corrects: '{c}' is not an entry number"))?,
        ),
    };
    let kind = if corrects.is_some() {
        EntryKind::Correction
    } else if f.kind.trim().is_empty() {
        EntryKind::Note
    } else {
        EntryKind::parse("kind", &f.kind).map_err(|e| e.to_string())?
    };
    let agency = match f.agency.trim() {
        "" => None,
        a => Some(Agency::parse("agency", a).map_err(|e| e.to_string())?),
    };
    let s = |v: &str| Some(v.to_owned());
    Ok(NewEntry {
        kind: Some(kind),
        text: f.text.clone(),
        occurred_at: parse_local("when", &f.occurred_at)?,
        done_by: s(&f.done_by),
        method: s(&f.method),
        agency,
        reference: s(&f.reference),
        corrects,
    })
}

/// `POST /incidents/{id}/entries`.
pub async fn add_entry(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<EntryForm>,
) -> Result<Response, WebError> {
    let r = async {
        let e = parse_entry(&f).map_err(bad)?;
        state.app.add_incident_entry(&viewer.actor, id, e).await?;
        Ok(())
    }
    .await;
    after(&state, &viewer, id, r).await
}

/// The status form.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    assignee: Option<String>,
}

/// `POST /incidents/{id}/status`: a new status, or (with `assignee`) who deals with it.
pub async fn status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Result<Response, WebError> {
    let r = async {
        if f.status == "assign" {
            state
                .app
                .assign_incident(&viewer.actor, id, f.assignee.clone())
                .await?;
        } else {
            let to = Status::parse("status", &f.status).map_err(|e| bad(e.to_string()))?;
            state
                .app
                .set_incident_status(&viewer.actor, id, to, Some(f.outcome.clone()))
                .await?;
        }
        Ok(())
    }
    .await;
    after(&state, &viewer, id, r).await
}

/// The form adding someone from the directory.
#[derive(Debug, Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    person: String,
    #[serde(default)]
    involvement: String,
}

/// `POST /incidents/{id}/people`.
pub async fn add_person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<PersonForm>,
) -> Result<Response, WebError> {
    let r = async {
        let inv =
            Involvement::parse("involvement", &f.involvement).map_err(|e| bad(e.to_string()))?;
        state
            .app
            .add_incident_person(&viewer.actor, id, &f.person, inv)
            .await?;
        Ok(())
    }
    .await;
    after(&state, &viewer, id, r).await
}

/// The sanction form.
#[derive(Debug, Deserialize)]
pub struct SanctionForm {
    #[serde(default)]
    person: String,
    #[serde(default)]
    sanction: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    note: String,
}

/// `POST /incidents/{id}/sanctions`.
pub async fn sanction(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<SanctionForm>,
) -> Result<Response, WebError> {
    let r = async {
        let person: i64 = f
            .person
            .trim()
            .parse()
            .map_err(|_| bad("person: choose who the sanction is for".into()))?;
        let s = FilterSanction::parse(&f.sanction).map_err(|e| bad(e.to_string()))?;
        let until = parse_local("until", &f.until)
            .map_err(bad)?
            .ok_or_else(|| bad("until: say when the sanction ends".into()))?;
        state
            .app
            .apply_sanction(&viewer.actor, id, person, &s, until, &f.note)
            .await?;
        Ok(())
    }
    .await;
    after(&state, &viewer, id, r).await
}

/// The form lifting a sanction early.
#[derive(Debug, Deserialize)]
pub struct LiftForm {
    #[serde(default)]
    reason: String,
}

/// `POST /incidents/{id}/sanctions/{override_id}/lift`.
pub async fn lift(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, override_id)): Path<(i64, i64)>,
    Form(f): Form<LiftForm>,
) -> Result<Response, WebError> {
    let r = async {
        state
            .app
            .lift_sanction(&viewer.actor, id, override_id, &f.reason)
            .await?;
        Ok(())
    }
    .await;
    after(&state, &viewer, id, r).await
}

/// The breach details form.
#[derive(Debug, Deserialize)]
pub struct BreachForm {
    #[serde(default)]
    discovered_at: String,
    #[serde(default)]
    near_miss: Option<String>,
    #[serde(default)]
    data: String,
    #[serde(default)]
    people_count: String,
    #[serde(default)]
    records_count: String,
    #[serde(default)]
    consequences: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ico_reference: String,
    #[serde(default)]
    people_told: String,
    #[serde(default)]
    measures: String,
}

fn count(field: &str, s: &str) -> Result<Option<i64>, String> {
    match s.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| format!("{field}: '{n}' is not a whole number")),
    }
}

fn parse_breach(f: &BreachForm) -> Result<BreachDetails, String> {
    Ok(BreachDetails {
        discovered_at: parse_local("discovered", &f.discovered_at)?
            .ok_or("discovered: say when the breach was discovered")?,
        near_miss: f.near_miss.is_some(),
        data: f.data.trim().to_owned(),
        people_count: count("people affected", &f.people_count)?,
        records_count: count("records", &f.records_count)?,
        consequences: f.consequences.trim().to_owned(),
        risk: match f.risk.trim() {
            "" => None,
            r => Some(Risk::parse("risk", r).map_err(|e| e.to_string())?),
        },
        decision: match f.decision.trim() {
            "" => ReportDecision::Undecided,
            "report" => ReportDecision::Report,
            "not_report" => ReportDecision::DoNotReport(f.reason.trim().to_owned()),
            d => return Err(format!("decision: '{d}' is not report or not_report")),
        },
        ico_reference: Some(f.ico_reference.trim().to_owned()).filter(|s| !s.is_empty()),
        people_told: match f.people_told.trim() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            t => return Err(format!("people told: '{t}' is not yes or no")),
        },
        measures: f.measures.trim().to_owned(),
    })
}

/// `POST /incidents/{id}/breach`.
pub async fn breach(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<BreachForm>,
) -> Result<Response, WebError> {
    let r = async {
        let b = parse_breach(&f).map_err(bad)?;
        state.app.record_breach(&viewer.actor, id, b).await?;
        Ok(())
    }
    .await;
    after(&state, &viewer, id, r).await
}

/// A breach as the log lists it.
pub struct BreachRow {
    i: Incident,
    discovered: String,
    deadline: String,
    decision: String,
}

#[derive(Template)]
#[template(path = "breaches.html")]
struct BreachLogPage {
    chrome: Chrome,
    rows: Vec<BreachRow>,
}

/// `GET /breaches`: the breach log.
pub async fn breach_log(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    let rows = state
        .app
        .breach_log(&viewer.actor)
        .await?
        .into_iter()
        .filter_map(|i| {
            let b = i.breach.clone()?;
            Some(BreachRow {
                discovered: local(b.discovered_at),
                deadline: local(gatehouse_domain::incidents::ico_deadline(b.discovered_at)),
                decision: match &b.decision {
                    ReportDecision::Undecided => "not decided".into(),
                    ReportDecision::Report => "report".into(),
                    ReportDecision::DoNotReport(r) => format!("not reported: {r}"),
                },
                i,
            })
        })
        .collect();
    render(&BreachLogPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/incidents").await,
        rows,
    })
}

/// `GET /breaches/export`: the breach log as CSV.
pub async fn breach_export(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, WebError> {
    let csv = state.app.export_breach_log(&viewer.actor).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gatehouse-breach-log.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// `GET /api/v1/incidents`: the records the token's account may see, under the same
/// permissions and auditing.
pub async fn api_list(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = state.app.incidents(&actor).await?;
    let items: Vec<serde_json::Value> = list
        .into_iter()
        .map(|(i, a)| {
            if a == IncidentAccess::Manage {
                json!({
                    "id": i.id, "kind": i.kind, "summary": i.summary, "severity": i.severity,
                    "status": i.status, "outcome": i.outcome, "occurred_at": i.occurred_at,
                    "reported_at": i.reported_at, "reporter": i.reporter,
                    "assignee": i.assignee, "people": i.people, "breach": i.breach,
                })
            } else {
                json!({
                    "id": i.id, "kind": i.kind, "summary": i.summary, "status": i.status,
                    "reported_at": i.reported_at,
                })
            }
        })
        .collect();
    Ok(Json(json!({ "incidents": items })))
}

/// `POST /incidents/{id}/evidence` (multipart: `file`): keep an evidence file.
pub async fn add_evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    mut mp: axum::extract::Multipart,
) -> Result<Response, WebError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(f) = mp
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("the upload could not be read: {e}")))?
    {
        if f.name() == Some("file") {
            let name = f.file_name().unwrap_or("evidence").to_owned();
            let bytes = f
                .bytes()
                .await
                .map_err(|e| WebError::BadRequest(format!("the file could not be read: {e}")))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let r = match file.filter(|(_, b)| !b.is_empty()) {
        None => Err(WebError::BadRequest("file: choose a file to add".into())),
        Some((name, bytes)) => state
            .app
            .attach_evidence(&viewer.actor, id, &name, &bytes)
            .await
            .map(|_| ())
            .map_err(WebError::from),
    };
    after(&state, &viewer, id, r).await
}

/// `GET /incidents/{id}/evidence/{attachment}`: the file, as a download (audited).
pub async fn evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, attachment)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let (att, bytes) = state.app.evidence(&viewer.actor, id, attachment).await?;
    let safe: String = att
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, att.mime.clone()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
