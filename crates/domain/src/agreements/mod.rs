//! Acceptable use agreements: who must sign which agreement, the agreement texts and
//! their versions.
//!
//! - [`text`] turns a policy document (Markdown or plain text) into sections and numbered
//!   clauses, gives the canonical text whose SHA-256 identifies a version, and compares two
//!   versions clause by clause.
//! - [`requirement`] decides a person's status for a requirement on a given day.
//! - [`starter`] holds Gatehouse's own starter agreements, one per audience.

pub mod ledger;
pub mod requirement;
pub mod starter;
pub mod text;

use crate::DomainError;
use crate::people::{KeyStage, PersonKind, YearGroup};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who an agreement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Everyone employed by the school.
    Staff,
    /// Governors and trustees.
    Governors,
    /// Visitors, volunteers and contractors.
    Visitors,
    /// Pupils in the early years and key stage 1 (Nursery to Year 2): a parent signs.
    PupilsEarly,
    /// Pupils in key stage 2 (Years 3–6).
    PupilsPrimary,
    /// Pupils in key stages 3–5 (Year 7 onwards).
    PupilsSecondary,
    /// Parents and carers.
    Parents,
}

impl Audience {
    /// All audiences, in display order.
    pub const ALL: [Audience; 7] = [
        Self::Staff,
        Self::Governors,
        Self::Visitors,
        Self::PupilsEarly,
        Self::PupilsPrimary,
        Self::PupilsSecondary,
        Self::Parents,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Governors => "governors",
            Self::Visitors => "visitors",
            Self::PupilsEarly => "pupils_early",
            Self::PupilsPrimary => "pupils_primary",
            Self::PupilsSecondary => "pupils_secondary",
            Self::Parents => "parents",
        }
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Staff => "Staff",
            Self::Governors => "Governors",
            Self::Visitors => "Visitors and volunteers",
            Self::PupilsEarly => "Pupils: Nursery to Year 2",
            Self::PupilsPrimary => "Pupils: Years 3 to 6",
            Self::PupilsSecondary => "Pupils: Year 7 and above",
            Self::Parents => "Parents and carers",
        }
    }

    /// The audience a person belongs to, from their kind and (pupils) year group.
    /// A pupil without a year group is treated as primary.
    pub fn of(kind: PersonKind, year: Option<YearGroup>) -> Self {
        match kind {
            PersonKind::Staff => Self::Staff,
            PersonKind::Governor => Self::Governors,
            PersonKind::Visitor | PersonKind::Volunteer => Self::Visitors,
            PersonKind::Parent => Self::Parents,
            PersonKind::Pupil => match year.map(YearGroup::key_stage) {
                Some(KeyStage::Eyfs | KeyStage::Ks1) => Self::PupilsEarly,
                Some(KeyStage::Ks3 | KeyStage::Ks4 | KeyStage::Sixth) => Self::PupilsSecondary,
                Some(KeyStage::Ks2) | None => Self::PupilsPrimary,
            },
        }
    }

    /// Whether only a parent may sign for this audience (the youngest pupils).
    pub fn parent_signs_only(self) -> bool {
        self == Self::PupilsEarly
    }

    /// Whether a parent may sign on a pupil's behalf.
    pub fn is_pupils(self) -> bool {
        matches!(
            self,
            Self::PupilsEarly | Self::PupilsPrimary | Self::PupilsSecondary
        )
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Audience {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "audience",
                    format!(
                        "'{s}' is not an audience; use one of {}",
                        Self::ALL.map(Audience::as_str).join(", ")
                    ),
                )
            })
    }
}
