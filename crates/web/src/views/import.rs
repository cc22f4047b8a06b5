//! Importing people from an MIS export: upload (`GET/POST /people/import`), a preview of
//! every change and problem, then apply (`POST /people/import/apply`). Nothing is stored
//! until the person confirms the preview; the upload waits in memory for 30 minutes.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::Html;
use gatehouse_domain::import::{Field, ImportRow, Problem};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_service::people::{ImportPreview, ImportRequest};
use gatehouse_store::ImportOutcome;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long an uploaded file waits for confirmation.
const PENDING_FOR: SignedDuration = SignedDuration::from_mins(30);

/// An upload waiting for its preview to be confirmed.
#[derive(Debug, Clone)]
struct Pending {
    account_id: Option<i64>,
    bytes: Vec<u8>,
    req: ImportRequest,
    created: Timestamp,
}

/// Uploads waiting for confirmation, by random id.
#[derive(Debug, Default)]
pub struct PendingImports(Mutex<HashMap<String, Pending>>);

impl PendingImports {
    fn put(&self, p: Pending, now: Timestamp) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        if let Ok(mut m) = self.0.lock() {
            m.retain(|_, v| {
                v.created
                    .saturating_add(PENDING_FOR)
                    .is_ok_and(|end| end > now)
            });
            m.insert(id.clone(), p);
        }
        id
    }

    fn get(&self, id: &str, account_id: Option<i64>, now: Timestamp) -> Option<Pending> {
        let m = self.0.lock().ok()?;
        m.get(id)
            .filter(|p| p.account_id == account_id)
            .filter(|p| {
                p.created
                    .saturating_add(PENDING_FOR)
                    .is_ok_and(|end| end > now)
            })
            .cloned()
    }

    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(id);
        }
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct UploadPage {
    chrome: Chrome,
    kinds: Vec<(&'static str, &'static str)>,
    error: Option<String>,
}

/// A row shown in the preview.
#[derive(Debug)]
pub struct PreviewRow {
    line: u64,
    name: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "import_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    id: String,
    file_name: String,
    kind_label: &'static str,
    full: bool,
    rows_read: usize,
    columns: Vec<(String, String)>,
    creates: Vec<PreviewRow>,
    create_count: usize,
    updates: Vec<PreviewRow>,
    update_count: usize,
    unchanged: usize,
    leavers: Vec<String>,
    problems: Vec<Problem>,
}

#[derive(Template)]
#[template(path = "import_done.html")]
struct DonePage {
    chrome: Chrome,
    kind: &'static str,
    kind_label: &'static str,
    outcome: ImportOutcome,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    PersonKind::ALL
        .map(|k| (k.as_str(), k.plural_label()))
        .to_vec()
}

/// `GET /people/import`.
pub async fn form(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, WebError> {
    viewer.actor.require(Action::Edit, Resource::People)?;
    render(&UploadPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/people/import").await,
        kinds: kinds(),
        error: None,
    })
}

fn row_summary(r: &ImportRow) -> String {
    let d = &r.details;
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = &d.mis_id {
        parts.push(m.to_string());
    }
    if let Some(y) = d.year_group {
        parts.push(y.to_string());
    }
    if let Some(c) = &d.class_name {
        parts.push(c.to_string());
    }
    if let Some(j) = &d.job_title {
        parts.push(j.to_string());
    }
    if !r.children.is_empty() {
        parts.push(format!(
            "children: {}",
            r.children
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    parts.join(" · ")
}

async fn upload_error(
    state: &AppState,
    viewer: &Viewer,
    msg: String,
) -> Result<Html<String>, WebError> {
    render(&UploadPage {
        chrome: Chrome::for_viewer(state, viewer, "/people/import").await,
        kinds: kinds(),
        error: Some(msg),
    })
}

/// `POST /people/import`: read the upload and show what would change.
pub async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    mut mp: Multipart,
) -> Result<Html<String>, WebError> {
    viewer.actor.require(Action::Edit, Resource::People)?;
    let mut kind = None;
    let mut full = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut overrides = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("the upload could not be read: {e}")))?
    {
        match field.name().unwrap_or("") {
            "kind" => kind = Some(field.text().await.unwrap_or_default()),
            "full" => full = field.text().await.is_ok_and(|v| v == "on"),
            "map" => {
                let text = field.text().await.unwrap_or_default();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    match gatehouse_domain::import::parse_map_arg(line) {
                        Ok(m) => overrides.push(m),
                        Err(e) => {
                            return upload_error(&state, &viewer, format!("Column mapping: {e}"))
                                .await;
                        }
                    }
                }
            }
            "file" => {
                let name = field.file_name().unwrap_or("upload.csv").to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    WebError::BadRequest(format!("the file could not be read: {e}"))
                })?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let kind = match kind.as_deref().map(str::parse::<PersonKind>) {
        Some(Ok(k)) => k,
        _ => return upload_error(&state, &viewer, "Choose who the file lists.".into()).await,
    };
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return upload_error(&state, &viewer, "Choose a CSV file to upload.".into()).await;
    };
    let req = ImportRequest {
        kind,
        overrides,
        full,
        file_name,
    };
    let preview = state
        .app
        .preview_import(&viewer.actor, &bytes, &req, &mut |_| {})
        .await?;
    let now = state.app.clock.now();
    let id = state.pending_imports.put(
        Pending {
            account_id: viewer.actor.account_id,
            bytes,
            req: req.clone(),
            created: now,
        },
        now,
    );
    render(&preview_page(&state, &viewer, id, &req, &preview).await)
}

async fn preview_page(
    state: &AppState,
    viewer: &Viewer,
    id: String,
    req: &ImportRequest,
    p: &ImportPreview,
) -> PreviewPage {
    let plan = &p.plan;
    PreviewPage {
        chrome: Chrome::for_viewer(state, viewer, "/people/import").await,
        id,
        file_name: req.file_name.clone(),
        kind_label: req.kind.plural_label(),
        full: req.full,
        rows_read: p.parsed.rows.len(),
        columns: p
            .parsed
            .columns
            .iter()
            .map(|c| {
                (
                    c.header.clone(),
                    c.field
                        .map_or_else(|| "not used".to_owned(), |f: Field| f.label().to_owned()),
                )
            })
            .collect(),
        creates: plan
            .creates
            .iter()
            .take(100)
            .map(|r| PreviewRow {
                line: r.line,
                name: r.details.full_name(),
                summary: row_summary(r),
            })
            .collect(),
        create_count: plan.creates.len(),
        updates: plan
            .updates
            .iter()
            .take(100)
            .map(|u| PreviewRow {
                line: u.row.line,
                name: u.row.details.full_name(),
                summary: {
                    let mut s: Vec<String> = u
                        .changes
                        .iter()
                        .map(|c| format!("{}: “{}” → “{}”", c.field.label(), c.before, c.after))
                        .collect();
                    if u.reactivate {
                        s.push("returns (was a leaver)".into());
                    }
                    if !u.children_added.is_empty() {
                        s.push(format!(
                            "linked to {} more child(ren)",
                            u.children_added.len()
                        ));
                    }
                    s.join("; ")
                },
            })
            .collect(),
        update_count: plan.updates.len(),
        unchanged: plan.unchanged,
        leavers: plan.leavers.iter().map(|l| l.name.clone()).collect(),
        problems: plan.problems.clone(),
    }
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct ApplyForm {
    id: String,
    #[serde(default)]
    skip_invalid: Option<String>,
}

/// `POST /people/import/apply`: apply the confirmed preview.
pub async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<ApplyForm>,
) -> Result<Html<String>, WebError> {
    viewer.actor.require(Action::Edit, Resource::People)?;
    let now = state.app.clock.now();
    let pending = state
        .pending_imports
        .get(&f.id, viewer.actor.account_id, now)
        .ok_or_else(|| {
            WebError::BadRequest(
                "This preview has expired (they last 30 minutes). Upload the file again.".into(),
            )
        })?;
    // Compare again: the stored records may have changed since the preview was shown.
    let preview = state
        .app
        .preview_import(&viewer.actor, &pending.bytes, &pending.req, &mut |_| {})
        .await?;
    let outcome = state
        .app
        .apply_import(
            &viewer.actor,
            &preview,
            &pending.req,
            f.skip_invalid.as_deref() == Some("on"),
            &|_| {},
        )
        .await?;
    state.pending_imports.remove(&f.id);
    render(&DonePage {
        chrome: Chrome::for_viewer(&state, &viewer, "/people/import").await,
        kind: pending.req.kind.as_str(),
        kind_label: pending.req.kind.plural_label(),
        outcome,
    })
}
