//! Which web-filtering group a person belongs to.
//!
//! The shipped filtering policies are named by group: `eyfs_ks1`, `ks2`, `ks3_4`,
//! `sixth_form` for pupils by key stage, `staff`, and `guests` for adults who are not
//! employed by the school. A person with no group (a pupil with no year group, a leaver,
//! an account linked to nobody) gets the policies' fallback, which the filter applies to
//! every identity whose group it does not know.

use crate::DomainError;
use crate::people::{KeyStage, PersonKind, YearGroup};

/// The filtering group (policy name) of a person of `kind` in `year` (pupils), or `None`
/// when the policies' fallback applies.
///
/// Pupils: Nursery, Reception, Years 1–2 → `eyfs_ks1`; Years 3–6 → `ks2`; Years 7–11 →
/// `ks3_4`; Years 12–13 → `sixth_form`. Staff → `staff`. Parents, visitors, governors and
/// volunteers → `guests` (adults who are not employed by the school get the guest network's
/// policy, not the staff one).
pub fn filter_group(kind: PersonKind, year: Option<YearGroup>) -> Option<&'static str> {
    match kind {
        PersonKind::Pupil => year.map(|y| match y.key_stage() {
            KeyStage::Eyfs | KeyStage::Ks1 => "eyfs_ks1",
            KeyStage::Ks2 => "ks2",
            KeyStage::Ks3 | KeyStage::Ks4 => "ks3_4",
            KeyStage::Sixth => "sixth_form",
        }),
        PersonKind::Staff => Some("staff"),
        PersonKind::Parent | PersonKind::Visitor | PersonKind::Governor | PersonKind::Volunteer => {
            Some("guests")
        }
    }
}

/// Whom an approved unblock request lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnblockScope {
    /// The person who asked (or, when nobody was signed in, their group).
    Person,
    /// Everyone in the requester's filter group.
    Group,
    /// The whole school.
    School,
}

impl UnblockScope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Group => "group",
            Self::School => "school",
        }
    }

    /// Parse a stored or submitted name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "person" => Ok(Self::Person),
            "group" => Ok(Self::Group),
            "school" => Ok(Self::School),
            other => Err(DomainError::invalid(
                "scope",
                format!("'{other}' is not one of person, group, school"),
            )),
        }
    }
}

/// Where an unblock request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnblockStatus {
    /// Waiting for the online safety lead.
    Pending,
    /// Approved: an allow was written into the filter.
    Approved,
    /// Declined, with a note.
    Declined,
}

impl UnblockStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "declined" => Ok(Self::Declined),
            other => Err(DomainError::invalid(
                "status",
                format!("'{other}' is not one of pending, approved, declined"),
            )),
        }
    }
}

/// The longest reason or note kept.
pub const MAX_REASON_CHARS: usize = 1_000;

/// A reason someone gives (for asking to unblock a site, for looking up a named person's
/// activity): required, trimmed, at most [`MAX_REASON_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// Parse a submitted reason; `field` names the form field in the error.
    pub fn parse(field: &'static str, s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(DomainError::invalid(field, "a reason is required"));
        }
        if t.chars().count() > MAX_REASON_CHARS {
            return Err(DomainError::invalid(
                field,
                format!("keep it under {MAX_REASON_CHARS} characters"),
            ));
        }
        Ok(Self(t.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_year_has_the_documented_group() {
        use PersonKind::*;
        let table: &[(PersonKind, Option<&str>, Option<&str>)] = &[
            (Pupil, Some("N"), Some("eyfs_ks1")),
            (Pupil, Some("R"), Some("eyfs_ks1")),
            (Pupil, Some("1"), Some("eyfs_ks1")),
            (Pupil, Some("2"), Some("eyfs_ks1")),
            (Pupil, Some("3"), Some("ks2")),
            (Pupil, Some("6"), Some("ks2")),
            (Pupil, Some("7"), Some("ks3_4")),
            (Pupil, Some("9"), Some("ks3_4")),
            (Pupil, Some("10"), Some("ks3_4")),
            (Pupil, Some("11"), Some("ks3_4")),
            (Pupil, Some("12"), Some("sixth_form")),
            (Pupil, Some("13"), Some("sixth_form")),
            (Pupil, None, None),
            (Staff, None, Some("staff")),
            (Staff, Some("5"), Some("staff")),
            (Parent, None, Some("guests")),
            (Visitor, None, Some("guests")),
            (Governor, None, Some("guests")),
            (Volunteer, None, Some("guests")),
        ];
        for &(kind, year, want) in table {
            let year = year.map(|y| YearGroup::parse(y).unwrap());
            assert_eq!(filter_group(kind, year), want, "{kind:?} in {year:?}");
        }
    }

    #[test]
    fn reasons_are_required_and_bounded() {
        assert!(Reason::parse("reason", "  ").is_err());
        assert_eq!(
            Reason::parse("reason", " For a history project ")
                .unwrap()
                .as_str(),
            "For a history project"
        );
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        let e = Reason::parse("reason", &long).unwrap_err().to_string();
        assert!(e.contains("reason"), "{e}");
    }

    #[test]
    fn scopes_and_statuses_round_trip() {
        for s in [
            UnblockScope::Person,
            UnblockScope::Group,
            UnblockScope::School,
        ] {
            assert_eq!(UnblockScope::parse(s.as_str()).unwrap(), s);
        }
        for s in [
            UnblockStatus::Pending,
            UnblockStatus::Approved,
            UnblockStatus::Declined,
        ] {
            assert_eq!(UnblockStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(UnblockScope::parse("trust").is_err());
    }

    #[test]
    fn every_year_group_has_a_pupil_group() {
        let years = [YearGroup::Nursery, YearGroup::Reception]
            .into_iter()
            .chain((1..=13).map(YearGroup::Year));
        for y in years {
            assert!(filter_group(PersonKind::Pupil, Some(y)).is_some(), "{y:?}");
        }
    }
}
