//! A person's agreements (`/people/{id}/agreements`): status of each, signing history with
//! signed copies (`/people/{id}/agreements/{seq}`, printable), and entering a paper
//! signature with its scan (`POST /people/{id}/agreements/paper`).

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_domain::agreements::ledger::{Act, Method, Relation, SignatureRecord};
use gatehouse_domain::agreements::text::PolicyText;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_service::ServiceError;
use gatehouse_service::agreements::{PaperRequest, PersonAgreement, SignedCopy};
use gatehouse_store::PersonRef;

/// A history line.
#[derive(Debug)]
pub struct HistoryLine {
    seq: i64,
    title: String,
    version: u32,
    what: &'static str,
    by: &'static str,
    method: &'static str,
    on: String,
}

#[derive(Template)]
#[template(path = "person_agreements.html")]
struct AgreementsPage {
    chrome: Chrome,
    person_id: i64,
    name: String,
    agreements: Vec<PersonAgreement>,
    history: Vec<HistoryLine>,
    can_record: bool,
    parents: Vec<PersonRef>,
    today: String,
    error: Option<String>,
    message: Option<String>,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    error: Option<String>,
    message: Option<String>,
) -> Result<Html<String>, WebError> {
    let (person, agreements) = state.app.agreements_of(&viewer.actor, id).await?;
    let history = state.app.signature_history(&viewer.actor, id).await?;
    let policies = if viewer.actor.can(Action::View, Resource::Policies) {
        state.app.policies(&viewer.actor).await?
    } else {
        Vec::new()
    };
    let title_of = |r: &SignatureRecord| {
        agreements
            .iter()
            .find(|a| a.policy_id == r.signature.policy_id)
            .map(|a| a.title.clone())
            .or_else(|| {
                policies
                    .iter()
                    .find(|p| p.id == r.signature.policy_id)
                    .map(|p| p.title.clone())
            })
            .unwrap_or_else(|| format!("Policy {}", r.signature.policy_id))
    };
    let can_record = viewer.actor.can(Action::Edit, Resource::Register);
    let parents =
        if can_record && person.details.kind == gatehouse_domain::people::PersonKind::Pupil {
            state.app.person(&viewer.actor, id).await?.parents
        } else {
            Vec::new()
        };
    render(&AgreementsPage {
        chrome: Chrome::for_viewer(state, viewer, "/agreements").await,
        person_id: id,
        name: person.details.full_name(),
        history: history
            .iter()
            .map(|r| HistoryLine {
                seq: r.seq,
                title: title_of(r),
                version: r.signature.version_number,
                what: match r.signature.act {
                    Act::Sign => "Signed",
                    Act::Withdraw => "Withdrawn",
                },
                by: match r.signature.relation {
                    Relation::Own => "themself",
                    Relation::Parent => "a parent or carer",
                },
                method: match r.signature.method {
                    Method::Online => "online",
                    Method::Paper => "on paper",
                },
                on: r.signature.signed_on.strftime("%-d %B %Y").to_string(),
            })
            .collect(),
        agreements,
        can_record,
        parents,
        today: state.app.today().to_string(),
        error,
        message,
    })
}

/// `GET /people/{id}/agreements`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    page(&state, &viewer, id, None, None).await
}

#[derive(Template)]
#[template(path = "signed_copy.html")]
struct CopyPage {
    copy: SignedCopy,
    text: PolicyText,
    signed_by: String,
    method: &'static str,
    school: String,
}

/// `GET /people/{id}/agreements/{seq}`: a signed copy, laid out for printing or saving as PDF.
pub async fn copy(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, seq)): Path<(i64, i64)>,
) -> Result<Html<String>, WebError> {
    let copy = state.app.signed_copy(&viewer.actor, id, seq).await?;
    let (signed_by, method) = describe(&copy);
    render(&CopyPage {
        text: copy.text.clone(),
        method,
        school: state.app.school().await.map(|s| s.name).unwrap_or_default(),
        signed_by,
        copy,
    })
}

/// `GET /people/{id}/agreements/{seq}/pdf`: the signed copy as a PDF download.
pub async fn pdf(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, seq)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let copy = state.app.signed_copy(&viewer.actor, id, seq).await?;
    let (signed_by, method) = describe(&copy);
    let school = state.app.school().await.map(|s| s.name).unwrap_or_default();
    let bytes = crate::pdf::signed_copy(&copy, &school, &signed_by, method);
    let name = format!("attachment; filename=\"agreement-{id}-{seq}.pdf\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

fn describe(copy: &SignedCopy) -> (String, &'static str) {
    let signed_by = match copy.record.signature.relation {
        Relation::Own => copy.signer.details.full_name(),
        Relation::Parent => format!("{} (parent or carer)", copy.signer.details.full_name()),
    };
    let method = match copy.record.signature.method {
        Method::Online => "Signed online",
        Method::Paper => "Signed on paper; entered by staff",
    };
    (signed_by, method)
}

/// `GET /people/{id}/agreements/{seq}/scan`: the scan of a paper signature.
pub async fn scan(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, seq)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let copy = state.app.signed_copy(&viewer.actor, id, seq).await?;
    let sha = copy
        .record
        .signature
        .scan_sha256
        .ok_or(WebError::NotFound)?;
    let files = state.app.files.as_ref().ok_or(WebError::NotFound)?;
    let (kind, bytes) = files.get(&sha)?;
    Ok(([(header::CONTENT_TYPE, kind.mime())], bytes).into_response())
}

/// `POST /people/{id}/agreements/paper` (multipart: version, signed_on, name, parent, scan).
pub async fn paper(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> Result<Response, WebError> {
    viewer.actor.require(Action::Edit, Resource::Register)?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut scan: Option<Vec<u8>> = None;
    while let Some(f) = mp
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("the upload could not be read: {e}")))?
    {
        let name = f.name().unwrap_or("").to_owned();
        if name == "scan" {
            let b = f
                .bytes()
                .await
                .map_err(|e| WebError::BadRequest(format!("the scan could not be read: {e}")))?;
            if !b.is_empty() {
                scan = Some(b.to_vec());
            }
        } else {
            fields.push((name, f.text().await.unwrap_or_default()));
        }
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let result: Result<(), ServiceError> = async {
        let version_id = get("version").parse().map_err(|_| {
            ServiceError::Invalid("version: choose the version on the paper".into())
        })?;
        let signed_on = get("signed_on").parse().map_err(|_| {
            ServiceError::Invalid("date signed: give the date written on the form".into())
        })?;
        let by_parent = match get("parent").as_str() {
            "" => None,
            p => Some(
                p.parse()
                    .map_err(|_| ServiceError::Invalid("signed by: choose a parent".into()))?,
            ),
        };
        state
            .app
            .record_paper_signature(
                &viewer.actor,
                &PaperRequest {
                    person_id: id,
                    by_parent,
                    version_id,
                    signed_on,
                    written_name: get("name"),
                    scan: scan.clone(),
                },
            )
            .await
            .map(|_| ())
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/people/{id}/agreements")).into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            axum::http::StatusCode::BAD_REQUEST,
            page(&state, &viewer, id, Some(m), None).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// The withdrawal form.
#[derive(Debug, serde::Deserialize)]
pub struct WithdrawForm {
    policy: i64,
    #[serde(default)]
    reason: String,
}

/// `POST /people/{id}/agreements/withdraw`.
pub async fn withdraw(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<WithdrawForm>,
) -> Result<Response, WebError> {
    match state
        .app
        .withdraw(&viewer.actor, id, f.policy, &f.reason)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}/agreements")).into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            axum::http::StatusCode::BAD_REQUEST,
            page(&state, &viewer, id, Some(m), None).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
