//! Comparing parsed rows with the people already stored.

use super::parse::show;
use super::{Field, ImportRow, ParsedFile, Problem};
use crate::people::{Email, MisId, PersonDetails, PersonKind};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A person already stored, as the planner needs to see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExistingPerson {
    /// Their stored id.
    pub id: i64,
    /// Their details.
    pub details: PersonDetails,
    /// False once they have left (or been marked as a leaver).
    pub active: bool,
    /// For parents: the MIS ids of the pupils they are linked to.
    pub children: Vec<MisId>,
}

/// One field that an import changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Which field.
    pub field: Field,
    /// The stored value as shown to people ("" for none).
    pub before: String,
    /// The value from the file ("" for none).
    pub after: String,
}

/// A stored person whom the file changes. Apply it by storing `row.details` (whose MIS
/// id is the stored one when the row had none), setting the person active if
/// `reactivate`, and linking `children_added`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    /// The stored person's id.
    pub id: i64,
    /// The row, with `details.mis_id` kept from the stored person if the row had none.
    pub row: ImportRow,
    /// What changes, field by field.
    pub changes: Vec<FieldChange>,
    /// The person was inactive and is in the file again.
    pub reactivate: bool,
    /// For parents: children to link who are not linked yet (links are never removed).
    pub children_added: Vec<MisId>,
}

/// An active person missing from a full import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leaver {
    /// The stored person's id.
    pub id: i64,
    /// "First Last".
    pub name: String,
}

/// What importing a file would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    /// The kind of people imported.
    pub kind: PersonKind,
    /// Rows for people not stored yet.
    pub creates: Vec<ImportRow>,
    /// Stored people whom the file changes.
    pub updates: Vec<Update>,
    /// Rows that match a stored person exactly.
    pub unchanged: usize,
    /// Active people not in the file (full imports only).
    pub leavers: Vec<Leaver>,
    /// The file's problems, then the plan's own (e.g. a child who is not on roll).
    pub problems: Vec<Problem>,
}

impl ImportPlan {
    /// Nothing to create, update or mark as a leaver.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.leavers.is_empty()
    }
}

/// Plan the import of `parsed` against the `existing` people (of any kind; only those of
/// the file's kind are considered).
///
/// Rows are matched by MIS id; a row without one is matched by email; a row whose MIS
/// id is not stored is matched by email to a stored person who has no MIS id (and the
/// update gives them the id). Unmatched rows are created; matched ones are updated when
/// any field differs, the person is inactive or, for parents, a child is not linked yet.
/// Every parent's children must be in `known_pupils`, else the row is left out with a
/// problem. With `full`, every active person of the kind whom no row (valid or not)
/// names becomes a leaver, unless a required column was missing.
pub fn plan_import(
    parsed: &ParsedFile,
    existing: &[ExistingPerson],
    known_pupils: &HashSet<MisId>,
    full: bool,
) -> ImportPlan {
    let kind = parsed.kind;
    let mut plan = ImportPlan {
        kind,
        creates: Vec::new(),
        updates: Vec::new(),
        unchanged: 0,
        leavers: Vec::new(),
        problems: parsed.problems.clone(),
    };
    let index = Index::new(existing, kind);
    // The line of the valid row matched to each stored person.
    let mut matched: Vec<Option<u64>> = vec![None; index.people.len()];
    // Stored people named by some row, valid or not: never leavers.
    let mut named = vec![false; index.people.len()];

    for rejected in &parsed.rejected {
        if let Some(i) = index.find(rejected.mis_id.as_ref(), rejected.email.as_ref())
            && let Some(flag) = named.get_mut(i)
        {
            *flag = true;
        }
    }

    for row in &parsed.rows {
        let found = index.find(row.details.mis_id.as_ref(), row.details.email.as_ref());
        if let Some(i) = found {
            if let Some(flag) = named.get_mut(i) {
                *flag = true;
            }
            if let Some(Some(first_line)) = matched.get(i) {
                let (field, value) = match &row.details.mis_id {
                    Some(id) => (Field::MisId, id.to_string()),
                    None => (Field::Email, show(&row.details.email)),
                };
                plan.problems.push(cell_problem(
                    parsed,
                    row.line,
                    field,
                    format!("'{value}' matches the same stored person as line {first_line}"),
                ));
                continue;
            }
            if let Some(slot) = matched.get_mut(i) {
                *slot = Some(row.line);
            }
        }

        let unknown: Vec<&MisId> = row
            .children
            .iter()
            .filter(|c| !known_pupils.contains(*c))
            .collect();
        if !unknown.is_empty() {
            for child in unknown {
                plan.problems.push(cell_problem(
                    parsed,
                    row.line,
                    Field::ChildMisId,
                    format!("no pupil with MIS id '{child}'"),
                ));
            }
            continue;
        }

        let Some(person) = found.and_then(|i| index.people.get(i)) else {
            plan.creates.push(row.clone());
            continue;
        };
        let mut row = row.clone();
        if row.details.mis_id.is_none() {
            row.details.mis_id.clone_from(&person.details.mis_id);
        }
        let changes = changes(&person.details, &row.details);
        let reactivate = !person.active;
        let children_added: Vec<MisId> = row
            .children
            .iter()
            .filter(|c| !person.children.contains(c))
            .cloned()
            .collect();
        if changes.is_empty() && !reactivate && children_added.is_empty() {
            plan.unchanged += 1;
        } else {
            plan.updates.push(Update {
                id: person.id,
                row,
                changes,
                reactivate,
                children_added,
            });
        }
    }

    if full && !parsed.required_columns_missing {
        plan.leavers = index
            .people
            .iter()
            .zip(&named)
            .filter(|(person, named)| person.active && !**named)
            .map(|(person, _)| Leaver {
                id: person.id,
                name: person.details.full_name(),
            })
            .collect();
    }
    plan
}

/// The stored people of one kind, looked up by MIS id and email.
struct Index<'a> {
    people: Vec<&'a ExistingPerson>,
    by_id: HashMap<&'a MisId, usize>,
    by_email: HashMap<&'a Email, usize>,
    by_email_without_id: HashMap<&'a Email, usize>,
}

impl<'a> Index<'a> {
    fn new(existing: &'a [ExistingPerson], kind: PersonKind) -> Self {
        let people: Vec<&ExistingPerson> =
            existing.iter().filter(|p| p.details.kind == kind).collect();
        let mut by_id = HashMap::new();
        let mut by_email = HashMap::new();
        let mut by_email_without_id = HashMap::new();
        for (i, person) in people.iter().enumerate() {
            if let Some(id) = &person.details.mis_id {
                by_id.entry(id).or_insert(i);
            }
            if let Some(email) = &person.details.email {
                by_email.entry(email).or_insert(i);
                if person.details.mis_id.is_none() {
                    by_email_without_id.entry(email).or_insert(i);
                }
            }
        }
        Self {
            people,
            by_id,
            by_email,
            by_email_without_id,
        }
    }

    fn find(&self, mis_id: Option<&MisId>, email: Option<&Email>) -> Option<usize> {
        match mis_id {
            Some(id) => self
                .by_id
                .get(id)
                .or_else(|| email.and_then(|e| self.by_email_without_id.get(e)))
                .copied(),
            None => email.and_then(|e| self.by_email.get(e)).copied(),
        }
    }
}

fn cell_problem(parsed: &ParsedFile, line: u64, field: Field, message: String) -> Problem {
    Problem {
        line,
        column: parsed.column_for(field).map(str::to_owned),
        message,
    }
}

/// The fields an import sets, as shown to people.
fn shown(d: &PersonDetails) -> [(Field, String); 9] {
    [
        (Field::MisId, show(&d.mis_id)),
        (Field::FirstName, d.first_name.to_string()),
        (Field::LastName, d.last_name.to_string()),
        (Field::Email, show(&d.email)),
        (Field::YearGroup, show(&d.year_group)),
        (Field::ClassName, show(&d.class_name)),
        (Field::JobTitle, show(&d.job_title)),
        (Field::StartDate, show(&d.start_date)),
        (Field::LeaveDate, show(&d.leave_date)),
    ]
}

fn changes(before: &PersonDetails, after: &PersonDetails) -> Vec<FieldChange> {
    shown(before)
        .into_iter()
        .zip(shown(after))
        .filter(|((_, b), (_, a))| b != a)
        .map(|((field, before), (_, after))| FieldChange {
            field,
            before,
            after,
        })
        .collect()
}
