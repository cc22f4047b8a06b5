//! Matching a file's column headers to [`Field`]s.

use super::{ColumnUse, Field, Problem};
use crate::people::PersonKind;
use std::collections::HashMap;

const MIS_ID: &[&str] = &[
    "MIS ID",
    "UPN",
    "Unique Pupil Number",
    "Admission number",
    "Adno",
    "Pupil ID",
    "Student ID",
    "Staff code",
    "Staff ID",
    "Person ID",
    "Contact ID",
    "Parent ID",
    "Guardian ID",
    "Carer ID",
    "External ID",
    "Arbor ID",
    "MIS reference",
    "ID",
];

/// Identifiers of a pupil: in a parents file these are the child's, never the parent's.
const PUPIL_IDS: &[&str] = &[
    "UPN",
    "Unique Pupil Number",
    "Admission number",
    "Adno",
    "Pupil ID",
    "Student ID",
];

const FIRST_NAME: &[&str] = &[
    "Preferred forename",
    "Preferred first name",
    "Forename",
    "First name",
    "Firstname",
    "Forenames",
    "First names",
    "Legal forename",
    "Legal first name",
    "Given name",
];

const LAST_NAME: &[&str] = &[
    "Preferred surname",
    "Preferred last name",
    "Surname",
    "Last name",
    "Lastname",
    "Legal surname",
    "Legal last name",
    "Family name",
];

const EMAIL: &[&str] = &[
    "Email",
    "E-mail",
    "Email address",
    "E-mail address",
    "Primary email",
    "Primary email address",
    "Work email",
    "Work email address",
    "School email",
    "School email address",
    "Contact email",
    "Parent email",
];

/// Only in a parents file: in a pupils file the contact's email is not the pupil's.
const PARENT_EMAIL: &[&str] = &["Contact 1 email", "Contact email 1"];

const YEAR_GROUP: &[&str] = &[
    "Year",
    "NC Year",
    "Year group",
    "Curriculum year",
    "NC year actual",
    "NC year group",
    "National curriculum year",
];

const CLASS: &[&str] = &[
    "Reg",
    "Reg group",
    "Registration group",
    "Registration",
    "Form",
    "Form group",
    "Tutor group",
    "Class",
    "Class name",
];

const JOB_TITLE: &[&str] = &["Job title", "Role", "Post", "Position", "Job", "Job role"];

const START_DATE: &[&str] = &[
    "Start date",
    "Date of admission",
    "Admission date",
    "Employment start",
    "Employment start date",
    "Date joined",
    "Entry date",
];

const LEAVE_DATE: &[&str] = &[
    "Leave date",
    "Leaving date",
    "End date",
    "Date of leaving",
    "Date left",
    "Employment end",
    "Employment end date",
];

const CHILD_MIS_ID: &[&str] = &[
    "Child UPN",
    "Pupil UPN",
    "Child MIS ID",
    "Child ID",
    "Pupil ID",
    "Student UPN",
    "Children",
    "Child UPNs",
    "Pupil UPNs",
    "Children UPNs",
    "Pupil MIS ID",
    "Student ID",
    "Child admission number",
    "Pupil admission number",
    "UPN",
    "Unique Pupil Number",
];

/// The fields read automatically, in the order they claim headers.
const AUTO_FIELDS: [Field; 10] = [
    Field::MisId,
    Field::ChildMisId,
    Field::FirstName,
    Field::LastName,
    Field::Email,
    Field::YearGroup,
    Field::ClassName,
    Field::JobTitle,
    Field::StartDate,
    Field::LeaveDate,
];

/// The header names recognised for `field` in a file of `kind`, in priority order
/// (the first one present in the file is used). Empty when the field is not read
/// automatically for that kind: year group is read for pupils only, child MIS ids for
/// parents only, and `ignore` never.
pub fn header_variants(field: Field, kind: PersonKind) -> Vec<&'static str> {
    let parent = kind == PersonKind::Parent;
    match field {
        Field::MisId if parent => MIS_ID
            .iter()
            .copied()
            .filter(|v| !PUPIL_IDS.contains(v))
            .collect(),
        Field::MisId => MIS_ID.to_vec(),
        Field::FirstName => FIRST_NAME.to_vec(),
        Field::LastName => LAST_NAME.to_vec(),
        Field::Email if parent => EMAIL.iter().chain(PARENT_EMAIL).copied().collect(),
        Field::Email => EMAIL.to_vec(),
        Field::YearGroup if kind == PersonKind::Pupil => YEAR_GROUP.to_vec(),
        Field::ClassName => CLASS.to_vec(),
        Field::JobTitle => JOB_TITLE.to_vec(),
        Field::StartDate => START_DATE.to_vec(),
        Field::LeaveDate => LEAVE_DATE.to_vec(),
        Field::ChildMisId if parent => CHILD_MIS_ID.to_vec(),
        Field::YearGroup | Field::ChildMisId | Field::Ignore => Vec::new(),
    }
}

/// A header reduced for matching: lower-case letters and digits only
/// ("NC Year" -> "ncyear", "E-mail" -> "email").
pub(super) fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which column each field is read from.
#[derive(Debug)]
pub(super) struct ColumnMap {
    /// One entry per header, in file order.
    pub columns: Vec<ColumnUse>,
    /// Field -> index of its column.
    pub index: HashMap<Field, usize>,
    /// Bad overrides and missing required columns, all on the header line.
    pub problems: Vec<Problem>,
    /// A required column is missing: rows must not be read.
    pub required_missing: bool,
}

impl ColumnMap {
    /// The header of the column read for `field`.
    pub fn header(&self, field: Field) -> Option<&str> {
        self.index
            .get(&field)
            .and_then(|&i| self.columns.get(i))
            .map(|c| c.header.as_str())
    }
}

/// Match `headers` (already trimmed) to fields for a file of `kind`.
pub(super) fn map_columns(
    headers: &[String],
    kind: PersonKind,
    overrides: &[(String, Field)],
    header_line: u64,
) -> ColumnMap {
    let normalised: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    let mut assigned: Vec<Option<Field>> = vec![None; headers.len()];
    let mut locked = vec![false; headers.len()];
    let mut problems = Vec::new();

    for (name, field) in overrides {
        let wanted = normalise(name);
        let Some(col) = normalised.iter().position(|n| *n == wanted) else {
            problems.push(Problem::at_line(
                header_line,
                format!(
                    "a mapping names column '{}' ({}), but the file has no such column (its columns are {})",
                    name.trim(),
                    field.as_str(),
                    list_headers(headers)
                ),
            ));
            continue;
        };
        if *field == Field::ChildMisId && kind != PersonKind::Parent {
            problems.push(Problem::at_line(
                header_line,
                format!(
                    "column '{}' is mapped to child_mis_id, which only applies to a parents file",
                    headers.get(col).map_or("", String::as_str)
                ),
            ));
            continue;
        }
        if *field != Field::Ignore
            && let Some(other) = assigned
                .iter()
                .enumerate()
                .position(|(i, f)| i != col && *f == Some(*field))
        {
            problems.push(Problem::at_line(
                header_line,
                format!(
                    "columns '{}' and '{}' are both mapped to {}",
                    headers.get(other).map_or("", String::as_str),
                    headers.get(col).map_or("", String::as_str),
                    field.as_str()
                ),
            ));
            continue;
        }
        if let (Some(slot), Some(lock)) = (assigned.get_mut(col), locked.get_mut(col)) {
            *slot = (*field != Field::Ignore).then_some(*field);
            *lock = true;
        }
    }

    for field in AUTO_FIELDS {
        if assigned.contains(&Some(field)) {
            continue;
        }
        'variants: for variant in header_variants(field, kind) {
            let wanted = normalise(variant);
            for (col, n) in normalised.iter().enumerate() {
                let free = !locked.get(col).copied().unwrap_or(true)
                    && assigned.get(col).is_some_and(Option::is_none);
                if free && *n == wanted {
                    if let Some(slot) = assigned.get_mut(col) {
                        *slot = Some(field);
                    }
                    break 'variants;
                }
            }
        }
    }

    let index: HashMap<Field, usize> = assigned
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.map(|f| (f, i)))
        .collect();

    let mut required_missing = false;
    for needed in required(kind) {
        if needed.iter().any(|f| index.contains_key(f)) {
            continue;
        }
        required_missing = true;
        let labels: Vec<&str> = needed.iter().map(|f| f.label()).collect();
        let looked_for: Vec<&str> = needed
            .iter()
            .flat_map(|f| header_variants(*f, kind))
            .collect();
        problems.push(Problem::at_line(
            header_line,
            format!(
                "no column for {} (looked for {})",
                labels.join(" or "),
                looked_for.join(", ")
            ),
        ));
    }

    let columns = headers
        .iter()
        .zip(assigned)
        .map(|(header, field)| ColumnUse {
            header: header.clone(),
            field,
        })
        .collect();
    ColumnMap {
        columns,
        index,
        problems,
        required_missing,
    }
}

/// The columns a file of `kind` must have; each entry is satisfied by any one of its fields.
fn required(kind: PersonKind) -> Vec<&'static [Field]> {
    let mut needed: Vec<&'static [Field]> = Vec::new();
    match kind {
        PersonKind::Staff | PersonKind::Pupil | PersonKind::Parent => {
            needed.push(&[Field::MisId]);
        }
        PersonKind::Governor | PersonKind::Visitor | PersonKind::Volunteer => {
            needed.push(&[Field::MisId, Field::Email]);
        }
    }
    needed.push(&[Field::FirstName]);
    needed.push(&[Field::LastName]);
    match kind {
        PersonKind::Pupil => needed.push(&[Field::YearGroup]),
        PersonKind::Parent => needed.push(&[Field::ChildMisId]),
        _ => {}
    }
    needed
}

fn list_headers(headers: &[String]) -> String {
    if headers.is_empty() {
        return "none".into();
    }
    headers
        .iter()
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
