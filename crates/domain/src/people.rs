//! People of the school community and the values that describe them.
//!
//! Every value that comes from outside (a CSV cell, a form field) is parsed into one of
//! these newtypes first, so code past the boundary never sees an unchecked string.

use crate::DomainError;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a person is to the school. Roles (what they may do) are separate: see
/// [`crate::permissions::Role`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    /// Employed by the school: teachers, support and office staff.
    Staff,
    /// A member of the governing body or trust board.
    Governor,
    /// A child on roll.
    Pupil,
    /// A parent or carer.
    Parent,
    /// A visitor or contractor.
    Visitor,
    /// A regular volunteer.
    Volunteer,
}

impl PersonKind {
    /// All kinds, in display order.
    pub const ALL: [PersonKind; 6] = [
        Self::Staff,
        Self::Governor,
        Self::Pupil,
        Self::Parent,
        Self::Visitor,
        Self::Volunteer,
    ];

    /// The stored and command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Governor => "governor",
            Self::Pupil => "pupil",
            Self::Parent => "parent",
            Self::Visitor => "visitor",
            Self::Volunteer => "volunteer",
        }
    }

    /// A singular label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Staff => "Staff member",
            Self::Governor => "Governor",
            Self::Pupil => "Pupil",
            Self::Parent => "Parent or carer",
            Self::Visitor => "Visitor",
            Self::Volunteer => "Volunteer",
        }
    }

    /// A plural label for pages.
    pub fn plural_label(self) -> &'static str {
        match self {
            Self::Staff => "Staff",
            Self::Governor => "Governors",
            Self::Pupil => "Pupils",
            Self::Parent => "Parents and carers",
            Self::Visitor => "Visitors",
            Self::Volunteer => "Volunteers",
        }
    }
}

impl fmt::Display for PersonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PersonKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == lower || (lower == "parents" && *k == Self::Parent))
            .ok_or_else(|| {
                DomainError::invalid(
                    "kind",
                    format!(
                        "'{s}' is not a kind of person; use one of staff, governor, pupil, parent, visitor, volunteer"
                    ),
                )
            })
    }
}

fn clean(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if collapsed.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if collapsed.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "contains control characters"));
    }
    Ok(collapsed)
}

macro_rules! text_newtype {
    ($(#[$m:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parse, collapsing runs of white space; empty, over-long or control
            /// characters are refused.
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                clean($field, raw, $max).map(Self)
            }
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// A first or last name as the school records it.
    PersonName, "name", 100
);
text_newtype!(
    /// A registration group or class, e.g. "3 Oak" or "Robins".
    ClassName, "class", 40
);
text_newtype!(
    /// A job title, e.g. "Year 4 teacher".
    JobTitle, "job title", 100
);

/// The identifier the school's MIS gives a person (UPN for pupils, staff code, contact id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MisId(String);

impl MisId {
    /// Parse: 1–64 printable characters without spaces.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::invalid("MIS id", "is required"));
        }
        if s.chars().count() > 64 {
            return Err(DomainError::invalid(
                "MIS id",
                "is longer than 64 characters",
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid(
                "MIS id",
                format!("'{s}' contains spaces or control characters"),
            ));
        }
        Ok(Self(s.to_owned()))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for MisId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<MisId> for String {
    fn from(v: MisId) -> String {
        v.0
    }
}
impl fmt::Display for MisId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, stored lower-cased. Checked for shape only (one `@`, a dotted domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parse an address.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        let bad =
            || DomainError::invalid("email", format!("'{}' is not an email address", raw.trim()));
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(s))
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Email> for String {
    fn from(v: Email) -> String {
        v.0
    }
}
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A national-curriculum year group: Nursery, Reception, then Year 1 to Year 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum YearGroup {
    /// Nursery (age 3–4).
    Nursery,
    /// Reception (age 4–5).
    Reception,
    /// Year 1 to Year 13.
    Year(u8),
}

impl YearGroup {
    /// Parse the many ways MIS exports write a year: `N1`, `N2`, `Nursery`, `R`, `Rec`,
    /// `Reception`, `YR`, `1`, `Y1`, `Year 1`, `NC Year 1`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_ascii_lowercase();
        let s = s.strip_prefix("nc").unwrap_or(&s).trim_start();
        let s = s.strip_prefix("year").unwrap_or(s).trim_start();
        let bad = || {
            DomainError::invalid(
                "year group",
                format!("'{}' is not a year group (use N, R or 1–13)", raw.trim()),
            )
        };
        match s {
            "n" | "n1" | "n2" | "nur" | "nursery" | "fs1" => Ok(Self::Nursery),
            "r" | "yr" | "rec" | "reception" | "fs2" | "0" => Ok(Self::Reception),
            _ => {
                let digits = s.strip_prefix('y').unwrap_or(s).trim();
                match digits.parse::<u8>() {
                    Ok(n @ 1..=13) => Ok(Self::Year(n)),
                    _ => Err(bad()),
                }
            }
        }
    }

    /// The key stage (for age-appropriate agreements and filtering).
    pub fn key_stage(self) -> KeyStage {
        match self {
            Self::Nursery | Self::Reception => KeyStage::Eyfs,
            Self::Year(1..=2) => KeyStage::Ks1,
            Self::Year(3..=6) => KeyStage::Ks2,
            Self::Year(7..=9) => KeyStage::Ks3,
            Self::Year(10..=11) => KeyStage::Ks4,
            Self::Year(_) => KeyStage::Sixth,
        }
    }

    /// An ordering number: Nursery −1, Reception 0, Year n as n.
    pub fn ordinal(self) -> i8 {
        match self {
            Self::Nursery => -1,
            Self::Reception => 0,
            Self::Year(n) => n as i8,
        }
    }

    /// The short stored form: `N`, `R`, `1`…`13`.
    pub fn code(self) -> String {
        match self {
            Self::Nursery => "N".into(),
            Self::Reception => "R".into(),
            Self::Year(n) => n.to_string(),
        }
    }
}

impl fmt::Display for YearGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nursery => f.write_str("Nursery"),
            Self::Reception => f.write_str("Reception"),
            Self::Year(n) => write!(f, "Year {n}"),
        }
    }
}
impl TryFrom<String> for YearGroup {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<YearGroup> for String {
    fn from(v: YearGroup) -> String {
        v.code()
    }
}

/// Key stages, used to pick age-appropriate agreements and filtering policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStage {
    /// Nursery and Reception.
    Eyfs,
    /// Years 1–2.
    Ks1,
    /// Years 3–6.
    Ks2,
    /// Years 7–9.
    Ks3,
    /// Years 10–11.
    Ks4,
    /// Years 12–13.
    Sixth,
}

/// The details a school records about a person; what an import row or a form produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonDetails {
    /// What the person is to the school.
    pub kind: PersonKind,
    /// The MIS identifier, the key that later imports match on.
    pub mis_id: Option<MisId>,
    /// First (preferred) name.
    pub first_name: PersonName,
    /// Last name.
    pub last_name: PersonName,
    /// Email address.
    pub email: Option<Email>,
    /// Year group (pupils).
    pub year_group: Option<YearGroup>,
    /// Registration group or class (pupils).
    pub class_name: Option<ClassName>,
    /// Job title (staff, governors).
    pub job_title: Option<JobTitle>,
    /// Date they joined.
    pub start_date: Option<Date>,
    /// Date they left or will leave.
    pub leave_date: Option<Date>,
}

impl PersonDetails {
    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Parse a date the way UK MIS exports write it: `2024-09-01`, `01/09/2024`, `1/9/2024`,
/// `01-09-2024` or `01.09.2024` (day first).
pub fn parse_uk_date(raw: &str) -> Result<Date, DomainError> {
    let s = raw.trim();
    let bad = || {
        DomainError::invalid(
            "date",
            format!("'{s}' is not a date (use YYYY-MM-DD or DD/MM/YYYY)"),
        )
    };
    if let Ok(d) = s.parse::<Date>() {
        return Ok(d);
    }
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let day: i8 = parts[0].parse().map_err(|_| bad())?;
    let month: i8 = parts[1].parse().map_err(|_| bad())?;
    let year: i16 = match parts[2].len() {
        4 => parts[2].parse().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    Date::new(year, month, day).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_groups_parse_in_mis_spellings() {
        for (raw, want) in [
            ("N1", YearGroup::Nursery),
            ("Nursery", YearGroup::Nursery),
            ("R", YearGroup::Reception),
            ("Rec", YearGroup::Reception),
            ("YR", YearGroup::Reception),
            ("Year 3", YearGroup::Year(3)),
            ("NC Year 6", YearGroup::Year(6)),
            ("Y10", YearGroup::Year(10)),
            (" 4 ", YearGroup::Year(4)),
        ] {
            assert_eq!(YearGroup::parse(raw), Ok(want), "{raw}");
        }
        assert!(YearGroup::parse("Year 14").is_err());
        assert!(YearGroup::parse("blue").is_err());
    }

    #[test]
    fn names_collapse_space_and_refuse_empty() {
        assert_eq!(
            PersonName::parse("  Ada   Mae ").map(|n| n.0),
            Ok("Ada Mae".into())
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" A.B@School.SCH.uk").map(|e| e.0),
            Ok("a.b@school.sch.uk".into())
        );
        for bad in ["", "a", "a@b", "@b.uk", "a@b..uk", "a b@c.uk", "a@@b.uk"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uk_dates() {
        assert_eq!(
            parse_uk_date("01/09/2024"),
            Ok(jiff::civil::date(2024, 9, 1))
        );
        assert_eq!(parse_uk_date("1/9/2024"), Ok(jiff::civil::date(2024, 9, 1)));
        assert_eq!(
            parse_uk_date("2024-09-01"),
            Ok(jiff::civil::date(2024, 9, 1))
        );
        assert!(parse_uk_date("31/02/2024").is_err());
        assert!(parse_uk_date("09/01/24").is_err());
    }
}
