//! Importing people from a school MIS export (SIMS, Arbor, Bromcom) given as CSV.
//!
//! [`parse_people_csv`] turns the bytes of a file into validated [`ImportRow`]s: it
//! guesses the text encoding ([`decode`]), matches the file's column headers to
//! [`Field`]s (header names vary between systems; `--map`-style overrides win), checks
//! every cell with the newtypes of [`crate::people`] and reports each bad cell as a
//! [`Problem`] with its line and column. [`plan_import`] then compares the rows with the
//! people already stored and returns an [`ImportPlan`]: who to create, what to update,
//! who is unchanged and (for a full import) who has left. Everything here is pure: no IO.

mod columns;
mod parse;
mod plan;
#[cfg(test)]
mod tests;

pub use columns::header_variants;
pub use parse::{decode, parse_map_arg, parse_people_csv};
pub use plan::{ExistingPerson, FieldChange, ImportPlan, Leaver, Update, plan_import};

use crate::DomainError;
use crate::people::{Email, MisId, PersonDetails, PersonKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a column of an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The person's MIS identifier (UPN, staff code, contact id).
    MisId,
    /// First (preferred) name.
    FirstName,
    /// Last name.
    LastName,
    /// Email address.
    Email,
    /// National-curriculum year group (pupils).
    YearGroup,
    /// Registration group or class.
    #[serde(rename = "class")]
    ClassName,
    /// Job title.
    JobTitle,
    /// Date the person joined.
    StartDate,
    /// Date the person left or will leave.
    LeaveDate,
    /// The MIS id(s) of a parent's children (parents files only).
    ChildMisId,
    /// A column to leave out.
    Ignore,
}

impl Field {
    /// Every field, in the order they are listed to users.
    pub const ALL: [Field; 11] = [
        Self::MisId,
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::YearGroup,
        Self::ClassName,
        Self::JobTitle,
        Self::StartDate,
        Self::LeaveDate,
        Self::ChildMisId,
        Self::Ignore,
    ];

    /// The snake-case name used on the command line and in JSON, e.g. `last_name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MisId => "mis_id",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::YearGroup => "year_group",
            Self::ClassName => "class",
            Self::JobTitle => "job_title",
            Self::StartDate => "start_date",
            Self::LeaveDate => "leave_date",
            Self::ChildMisId => "child_mis_id",
            Self::Ignore => "ignore",
        }
    }

    /// A label for people, e.g. "last name".
    pub fn label(self) -> &'static str {
        match self {
            Self::MisId => "MIS id",
            Self::FirstName => "first name",
            Self::LastName => "last name",
            Self::Email => "email",
            Self::YearGroup => "year group",
            Self::ClassName => "class",
            Self::JobTitle => "job title",
            Self::StartDate => "start date",
            Self::LeaveDate => "leave date",
            Self::ChildMisId => "child MIS id",
            Self::Ignore => "ignored",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Field {
    type Err = DomainError;

    /// Accepts the snake-case names (`mis_id`, `first_name`, …, `class`, `ignore`),
    /// ignoring case and treating `-` and spaces as `_`; `class_name` is also accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        if wanted == "class_name" {
            return Ok(Self::ClassName);
        }
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
                DomainError::invalid(
                    "field",
                    format!(
                        "'{}' is not a field; use one of {}",
                        s.trim(),
                        names.join(", ")
                    ),
                )
            })
    }
}

/// Something wrong with an import file, at a place a person can find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line in the file where the record starts (the header is line 1).
    pub line: u64,
    /// The column's header as written in the file, when the problem is in one cell.
    pub column: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Problem {
    /// A problem with the whole line (or file, at line 1).
    pub fn at_line(line: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            column: None,
            message: message.into(),
        }
    }

    /// A problem with one cell.
    pub fn at_cell(line: u64, column: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            column: Some(column.into()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column '{column}': {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// One valid person from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    /// Line where the person's (first) record starts.
    pub line: u64,
    /// The person's details, checked.
    pub details: PersonDetails,
    /// For parents: the MIS ids of their children (at least one). Empty for other kinds.
    pub children: Vec<MisId>,
}

/// How one column of the file was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnUse {
    /// The header as written in the file (trimmed).
    pub header: String,
    /// The field read from it; `None` when the column is ignored.
    pub field: Option<Field>,
}

/// The key of a row that was refused, so that a full import does not take the person
/// it names for a leaver just because their row had a mistake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// Line where the record starts.
    pub line: u64,
    /// The row's MIS id, if that cell was valid.
    pub mis_id: Option<MisId>,
    /// The row's email, if that cell was valid.
    pub email: Option<Email>,
}

/// The result of reading an import file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedFile {
    /// The kind of people the file holds (chosen by the user, not guessed).
    pub kind: PersonKind,
    /// The valid rows, in file order (parent rows with the same MIS id merged).
    pub rows: Vec<ImportRow>,
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
    /// Every column of the header, in file order, with the field read from it.
    pub columns: Vec<ColumnUse>,
    /// Blank lines and rows whose cells are all empty.
    pub blank_rows_skipped: usize,
    /// Rows refused because of problems, by whatever key they had.
    pub rejected: Vec<RejectedRow>,
    /// A required column is missing (or the file is empty), so no row was read.
    pub required_columns_missing: bool,
}

impl ParsedFile {
    /// The header of the column read for `field`, if any.
    pub fn column_for(&self, field: Field) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.field == Some(field))
            .map(|c| c.header.as_str())
    }
}
