//! People: the directory, person records (an audited read) and imports from MIS exports.

use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_domain::import::{Field, ImportPlan, ParsedFile, parse_people_csv, plan_import};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_store::{Facets, ImportOutcome, PeopleFilter, PeoplePage, PersonRecord};

/// How to read an import file.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The kind of people the file lists.
    pub kind: PersonKind,
    /// Column overrides (`--map col=field`).
    pub overrides: Vec<(String, Field)>,
    /// The file is the complete list for that kind: people missing from it become leavers.
    pub full: bool,
    /// The file's name, for the audit log.
    pub file_name: String,
}

/// A file read and compared with what is stored.
#[derive(Debug, Clone)]
pub struct ImportPreview {
    /// The file's rows and problems.
    pub parsed: ParsedFile,
    /// What applying would change.
    pub plan: ImportPlan,
}

impl ImportPreview {
    /// Problems found in the file or against stored records, in line order.
    pub fn problems(&self) -> &[gatehouse_domain::import::Problem] {
        &self.plan.problems
    }
}

impl Gatehouse {
    /// A page of the people directory.
    pub async fn people(&self, actor: &Actor, filter: &PeopleFilter) -> Result<PeoplePage> {
        actor.require(Action::View, Resource::People)?;
        let school = self.school().await?;
        Ok(self.store.list_people(school.id, filter).await?)
    }

    /// How many active people there are of each kind.
    pub async fn people_counts(&self, actor: &Actor) -> Result<Vec<(PersonKind, i64)>> {
        actor.require(Action::View, Resource::People)?;
        let school = self.school().await?;
        Ok(self.store.count_by_kind(school.id).await?)
    }

    /// The directory's filter values.
    pub async fn people_facets(&self, actor: &Actor) -> Result<Facets> {
        actor.require(Action::View, Resource::People)?;
        let school = self.school().await?;
        Ok(self.store.facets(school.id).await?)
    }

    /// One person's record. Viewing it is written to the audit log.
    pub async fn person(&self, actor: &Actor, id: i64) -> Result<PersonRecord> {
        actor.require(Action::View, Resource::People)?;
        let school = self.school().await?;
        let record = self
            .store
            .person(school.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("person {id}")))?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event(
                    "person.view",
                    Some(format!("person:{id}")),
                    serde_json::json!({}),
                ),
            )
            .await?;
        Ok(record)
    }

    /// Read an import file and compare it with what is stored; changes nothing.
    /// `on_row` is told how many rows have been read.
    pub async fn preview_import(
        &self,
        actor: &Actor,
        bytes: &[u8],
        req: &ImportRequest,
        on_row: &mut (dyn FnMut(usize) + Send),
    ) -> Result<ImportPreview> {
        actor.require(Action::Edit, Resource::People)?;
        let school = self.school().await?;
        let parsed = parse_people_csv(bytes, req.kind, &req.overrides, on_row);
        let existing = self.store.people_for_import(school.id, req.kind).await?;
        let pupils = self.store.pupil_mis_ids(school.id).await?;
        let plan = plan_import(&parsed, &existing, &pupils, req.full);
        Ok(ImportPreview { parsed, plan })
    }

    /// Apply a previewed import in one transaction. Refused if the file had problems,
    /// unless `skip_invalid` (then only the valid rows are applied).
    pub async fn apply_import(
        &self,
        actor: &Actor,
        preview: &ImportPreview,
        req: &ImportRequest,
        skip_invalid: bool,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<ImportOutcome> {
        actor.require(Action::Edit, Resource::People)?;
        let problems = preview.problems();
        if !problems.is_empty() && !skip_invalid {
            return Err(ServiceError::Invalid(format!(
                "the file has {} problem(s); nothing was imported. First: {}",
                problems.len(),
                problems[0]
            )));
        }
        if req.full && !problems.is_empty() {
            return Err(ServiceError::Invalid(
                "a full import (marking leavers) needs a file without problems: an invalid row could make someone a leaver by mistake"
                    .into(),
            ));
        }
        let school = self.school().await?;
        let event = actor.event(
            "people.import",
            None,
            serde_json::json!({
                "kind": req.kind.as_str(),
                "file": req.file_name,
                "full": req.full,
                "skipped_problems": problems.len(),
            }),
        );
        Ok(self
            .store
            .apply_import(school.id, &preview.plan, self.clock.now(), event, progress)
            .await?)
    }
}
