//! Whether a person must sign an acceptable use agreement, and by when.
//!
//! A [`Requirement`] says that everyone in one [`Audience`] must sign the agreement for
//! that audience within [`Requirement::days_to_sign`] days of joining, sign again when a
//! version marked as a *material change* comes into force (a minor correction does not
//! ask anyone to sign again), and, if [`Requirement::annual_from`] is set, sign again every
//! academic year from that date (1 September by default).
//!
//! [`status`] is a pure function of the facts and the day it is asked about: the day comes
//! from the injected clock, never from the system time, so the answer can be tested and
//! reproduced.
//!
//! # Rules
//!
//! 1. **Not required** when the person's audience is not the requirement's, when they are
//!    not active, when their leave date is *before* today (someone whose leave date is today
//!    still works today, so still needs to have signed), or when no version is in force yet
//!    (no version's effective date is on or before today).
//! 2. The *version in force* is the highest-numbered version whose effective date is on or
//!    before today. The *baseline* is the highest-numbered version in force that is marked
//!    material; the lowest-numbered version in force always counts as material (it is the
//!    first version anyone could sign), so there is always a baseline once anything is in
//!    force. A signature *counts* when all of these hold:
//!    - it is dated on or before today (later dates are clock skew and are ignored);
//!    - it has not been withdrawn on or before today (a withdrawal dated after today is
//!      ignored in the same way);
//!    - it is for the baseline or a later version;
//!    - when the requirement is annual, it is dated on or after the start of the academic
//!      year containing today (see [`academic_year_start`]).
//! 3. If any signature counts, the status is [`Status::Signed`] with the newest one (latest
//!    date; the higher version on the same day).
//! 4. Otherwise the obligation started on the latest of the person's joining date, the
//!    baseline's effective date and (annual requirements) the start of the academic year,
//!    and is due [`Requirement::days_to_sign`] days later. A person with an older signature
//!    still standing (dated on or before today, not withdrawn, but not counting) is
//!    [`Status::SignedOlder`] with the newest such signature; anyone else is
//!    [`Status::Due`] or, once today is after the due date, [`Status::Overdue`]. The due
//!    date itself is the last day of grace: on it the person is not yet overdue.
//!
//! A person whose joining date is in the future (a new starter entered ahead of time) is
//! due from that date, so they show as [`Status::Due`] with a due date after their start.

use super::Audience;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;

/// The grace period used when a school has not chosen one: two weeks.
pub const DEFAULT_DAYS_TO_SIGN: u16 = 14;

/// The start of the academic year used when a school has not chosen one: 1 September.
pub const DEFAULT_ANNUAL_FROM: (i8, i8) = (9, 1);

/// What one audience must sign, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// The audience that must sign (only people in it are asked).
    pub audience: Audience,
    /// The grace period in days: how long after the obligation starts a person has to sign
    /// before they are overdue.
    pub days_to_sign: u16,
    /// `Some((month, day))`: everyone signs again every academic year from this date
    /// (e.g. `Some((9, 1))`). `None`: people sign again only when a material change comes
    /// into force. A month outside 1–12 is clamped into it and a day past the end of its
    /// month means that month's last day (so 29 February means 28 February in other years).
    pub annual_from: Option<(i8, i8)>,
}

impl Requirement {
    /// A requirement for `audience` with the defaults: [`DEFAULT_DAYS_TO_SIGN`] days to sign
    /// and re-signing every academic year from [`DEFAULT_ANNUAL_FROM`].
    pub fn new(audience: Audience) -> Self {
        Self {
            audience,
            days_to_sign: DEFAULT_DAYS_TO_SIGN,
            annual_from: Some(DEFAULT_ANNUAL_FROM),
        }
    }
}

/// What [`status`] needs to know about one published version of the agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionFacts {
    /// The version number (1, 2, …); later versions have higher numbers.
    pub number: u32,
    /// The day the version was published and came into force.
    pub effective: Date,
    /// Whether the version is a material change that everyone must sign again. The first
    /// version in force always counts as material, whatever this says.
    pub material: bool,
}

/// What [`status`] needs to know about one of the person's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureFacts {
    /// The version number signed.
    pub version: u32,
    /// The day it was signed.
    pub on: Date,
    /// The day a later withdrawal record cancelled it, if there is one.
    pub withdrawn_on: Option<Date>,
}

/// What [`status`] needs to know about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonFacts {
    /// The audience the person belongs to (see [`Audience::of`]).
    pub audience: Audience,
    /// Their start date, or else the day they were first recorded.
    pub joined: Date,
    /// Their leave date, if known. They are still required to have signed on that day and
    /// no longer from the next.
    pub left: Option<Date>,
    /// Whether their record is active; inactive people are never required to sign.
    pub active: bool,
}

/// A person's standing for one requirement on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// The person need not sign: another audience, inactive, left, or nothing in force yet.
    NotRequired,
    /// The person has never signed (or their signatures were withdrawn) and is still within
    /// the grace period.
    Due {
        /// The last day to sign before becoming overdue.
        due: Date,
    },
    /// The person has never signed (or their signatures were withdrawn) and the grace
    /// period has passed.
    Overdue {
        /// The last day they had to sign.
        due: Date,
    },
    /// The person has signed a version that satisfies the requirement.
    Signed {
        /// The version signed (the newest counting signature).
        version: u32,
        /// The day it was signed.
        on: Date,
    },
    /// Signed an older version (or before this academic year); must sign again.
    SignedOlder {
        /// The version of their newest standing signature.
        version: u32,
        /// The day it was signed.
        on: Date,
        /// The last day to sign again before becoming overdue.
        due: Date,
        /// Whether today is after `due`.
        overdue: bool,
    },
}

impl Status {
    /// A short label for pages: "Not required", "Due", "Overdue", "Signed",
    /// "Re-sign due" or "Re-sign overdue".
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotRequired => "Not required",
            Self::Due { .. } => "Due",
            Self::Overdue { .. } => "Overdue",
            Self::Signed { .. } => "Signed",
            Self::SignedOlder { overdue: false, .. } => "Re-sign due",
            Self::SignedOlder { overdue: true, .. } => "Re-sign overdue",
        }
    }

    /// Whether the person must sign (due, overdue or re-sign).
    pub fn needs_action(&self) -> bool {
        matches!(
            self,
            Self::Due { .. } | Self::Overdue { .. } | Self::SignedOlder { .. }
        )
    }

    /// Whether the person is past their due date (overdue, or re-sign overdue).
    pub fn is_overdue(&self) -> bool {
        matches!(
            self,
            Self::Overdue { .. } | Self::SignedOlder { overdue: true, .. }
        )
    }

    /// A stable key for filters: "not_required", "due", "overdue", "signed" or "resign".
    pub fn key(&self) -> &'static str {
        match self {
            Self::NotRequired => "not_required",
            Self::Due { .. } => "due",
            Self::Overdue { .. } => "overdue",
            Self::Signed { .. } => "signed",
            Self::SignedOlder { .. } => "resign",
        }
    }

    /// The due date, for the statuses that have one.
    pub fn due(&self) -> Option<Date> {
        match self {
            Self::Due { due } | Self::Overdue { due } | Self::SignedOlder { due, .. } => Some(*due),
            Self::NotRequired | Self::Signed { .. } => None,
        }
    }
}

/// Decide `person`'s status for `req` on `today`, given every published version of the
/// audience's agreement and every signature of the person for it (in any order). See the
/// [module documentation](self) for the rules.
pub fn status(
    req: &Requirement,
    versions: &[VersionFacts],
    person: &PersonFacts,
    signatures: &[SignatureFacts],
    today: Date,
) -> Status {
    if person.audience != req.audience
        || !person.active
        || person.left.is_some_and(|left| left < today)
    {
        return Status::NotRequired;
    }
    let Some(baseline) = baseline(versions, today) else {
        return Status::NotRequired;
    };
    let year_start = req
        .annual_from
        .map(|(month, day)| academic_year_start(today, month, day));

    // Signatures still standing today: not from the future, not withdrawn.
    let standing = signatures
        .iter()
        .filter(|s| s.on <= today && s.withdrawn_on.is_none_or(|w| w > today));
    let counts = |s: &&SignatureFacts| {
        s.version >= baseline.number && year_start.is_none_or(|start| s.on >= start)
    };
    // Newer compares greater: the later date, then the higher version on the same day.
    let newest =
        |a: &&SignatureFacts, b: &&SignatureFacts| (a.on, a.version).cmp(&(b.on, b.version));

    if let Some(s) = standing.clone().filter(counts).max_by(newest) {
        return Status::Signed {
            version: s.version,
            on: s.on,
        };
    }

    let start = year_start.map_or(person.joined, |year| year.max(person.joined));
    let start = start.max(baseline.effective);
    let due = start.saturating_add(i64::from(req.days_to_sign).days());
    let overdue = today > due;
    match standing.max_by(newest) {
        Some(s) => Status::SignedOlder {
            version: s.version,
            on: s.on,
            due,
            overdue,
        },
        None if overdue => Status::Overdue { due },
        None => Status::Due { due },
    }
}

/// The start of the academic year containing `today` for an annual date (month, day): the
/// latest such date on or before `today`.
///
/// A month outside 1–12 is clamped into that range and a day outside the month is clamped
/// to its first or last day, so `(2, 29)` means 29 February in leap years and 28 February
/// in others. Before the earliest date jiff can represent, [`Date::MIN`] is returned.
pub fn academic_year_start(today: Date, month: i8, day: i8) -> Date {
    match annual_date(today.year(), month, day) {
        Some(this_year) if this_year <= today => this_year,
        _ => today
            .year()
            .checked_sub(1)
            .and_then(|year| annual_date(year, month, day))
            .unwrap_or(Date::MIN),
    }
}

/// The annual date (month, day) in `year`, clamped into a real date; `None` only when the
/// year is out of jiff's range.
fn annual_date(year: i16, month: i8, day: i8) -> Option<Date> {
    let month = month.clamp(1, 12);
    let last = Date::new(year, month, 1).ok()?.days_in_month();
    Date::new(year, month, day.clamp(1, last)).ok()
}

/// The version everyone must have signed at least, on `today`: the highest-numbered material
/// version in force, where the lowest-numbered version in force always counts as material.
/// `None` when no version is in force.
fn baseline(versions: &[VersionFacts], today: Date) -> Option<&VersionFacts> {
    let in_force = versions.iter().filter(|v| v.effective <= today);
    let first = in_force.clone().min_by_key(|v| (v.number, v.effective))?;
    Some(
        in_force
            .filter(|v| v.material)
            .max_by_key(|v| (v.number, v.effective))
            .unwrap_or(first),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    // ------------------------------------------------------------ helpers

    fn req(days: u16, annual: Option<(i8, i8)>) -> Requirement {
        Requirement {
            audience: Audience::Staff,
            days_to_sign: days,
            annual_from: annual,
        }
    }

    fn v(number: u32, effective: Date, material: bool) -> VersionFacts {
        VersionFacts {
            number,
            effective,
            material,
        }
    }

    fn sig(version: u32, on: Date) -> SignatureFacts {
        SignatureFacts {
            version,
            on,
            withdrawn_on: None,
        }
    }

    fn staff(joined: Date) -> PersonFacts {
        PersonFacts {
            audience: Audience::Staff,
            joined,
            left: None,
            active: true,
        }
    }

    fn due(d: Date) -> Status {
        Status::Due { due: d }
    }

    fn overdue(d: Date) -> Status {
        Status::Overdue { due: d }
    }

    fn signed(version: u32, on: Date) -> Status {
        Status::Signed { version, on }
    }

    fn older(version: u32, on: Date, due: Date, overdue: bool) -> Status {
        Status::SignedOlder {
            version,
            on,
            due,
            overdue,
        }
    }

    // ------------------------------------------------------------ rule tables

    /// A table row: what it shows, the versions, the signatures, today and the status.
    type Case<'a> = (
        &'a str,
        &'a [VersionFacts],
        &'a [SignatureFacts],
        Date,
        Status,
    );

    #[test]
    fn joiners_are_due_within_grace_and_overdue_after() {
        let versions = [v(1, date(2024, 1, 10), true)];
        let person = staff(date(2024, 3, 1));
        let r = req(14, None);
        let cases = [
            (date(2024, 3, 1), due(date(2024, 3, 15))),
            (date(2024, 3, 14), due(date(2024, 3, 15))),
            (date(2024, 3, 15), due(date(2024, 3, 15))),
            (date(2024, 3, 16), overdue(date(2024, 3, 15))),
            (date(2025, 1, 1), overdue(date(2024, 3, 15))),
            // A new starter entered before their start date is due from their start.
            (date(2024, 2, 20), due(date(2024, 3, 15))),
        ];
        for (today, want) in cases {
            assert_eq!(status(&r, &versions, &person, &[], today), want, "{today}");
        }
    }

    #[test]
    fn grace_runs_from_the_first_version_for_people_who_joined_before_it() {
        let versions = [v(1, date(2024, 1, 10), false)];
        let person = staff(date(2020, 9, 1));
        assert_eq!(
            status(&req(14, None), &versions, &person, &[], date(2024, 1, 10)),
            due(date(2024, 1, 24))
        );
        assert_eq!(
            status(&req(0, None), &versions, &person, &[], date(2024, 1, 11)),
            overdue(date(2024, 1, 10))
        );
    }

    #[test]
    fn not_required_cases() {
        let versions = [v(1, date(2024, 1, 10), true)];
        let today = date(2024, 6, 1);
        let r = req(14, None);
        let base = staff(date(2023, 9, 1));
        let cases = [
            (
                "other audience",
                PersonFacts {
                    audience: Audience::Parents,
                    ..base
                },
            ),
            (
                "inactive",
                PersonFacts {
                    active: false,
                    ..base
                },
            ),
            (
                "left yesterday",
                PersonFacts {
                    left: Some(date(2024, 5, 31)),
                    ..base
                },
            ),
            (
                "left last year",
                PersonFacts {
                    left: Some(date(2023, 7, 20)),
                    ..base
                },
            ),
        ];
        for (what, person) in cases {
            assert_eq!(
                status(&r, &versions, &person, &[], today),
                Status::NotRequired,
                "{what}"
            );
        }
        // Leaving today or later: still required.
        for left in [today, date(2024, 7, 19)] {
            let person = PersonFacts {
                left: Some(left),
                ..base
            };
            assert_eq!(
                status(&r, &versions, &person, &[], today),
                overdue(date(2024, 1, 24)),
                "left {left}"
            );
        }
    }

    #[test]
    fn nothing_in_force_is_not_required() {
        let r = req(14, Some((9, 1)));
        let person = staff(date(2023, 9, 1));
        let future = [v(1, date(2024, 9, 1), true), v(2, date(2024, 10, 1), true)];
        for versions in [&[][..], &future[..]] {
            assert_eq!(
                status(
                    &r,
                    versions,
                    &person,
                    &[sig(1, date(2024, 8, 1))],
                    date(2024, 8, 31)
                ),
                Status::NotRequired
            );
        }
        assert_eq!(
            status(&r, &future, &person, &[], date(2024, 9, 1)),
            due(date(2024, 9, 15))
        );
    }

    #[test]
    fn minor_and_material_versions() {
        let r = req(14, None);
        let person = staff(date(2023, 9, 1));
        let signature = [sig(1, date(2024, 1, 12))];
        let minor = [v(1, date(2024, 1, 10), true), v(2, date(2024, 3, 1), false)];
        let material = [v(1, date(2024, 1, 10), true), v(2, date(2024, 3, 1), true)];
        // Material v2 followed by minor v3: v2 is the baseline.
        let then_minor = [
            v(1, date(2024, 1, 10), true),
            v(2, date(2024, 3, 1), true),
            v(3, date(2024, 4, 1), false),
        ];
        let cases: [Case; 9] = [
            (
                "minor keeps signed",
                &minor,
                &signature,
                date(2024, 6, 1),
                signed(1, date(2024, 1, 12)),
            ),
            (
                "material before in force",
                &material,
                &signature,
                date(2024, 2, 29),
                signed(1, date(2024, 1, 12)),
            ),
            (
                "material, in grace",
                &material,
                &signature,
                date(2024, 3, 15),
                older(1, date(2024, 1, 12), date(2024, 3, 15), false),
            ),
            (
                "material, past grace",
                &material,
                &signature,
                date(2024, 3, 16),
                older(1, date(2024, 1, 12), date(2024, 3, 15), true),
            ),
            (
                "material, never signed",
                &material,
                &[],
                date(2024, 3, 2),
                due(date(2024, 3, 15)),
            ),
            (
                "material v2 then minor v3, signed v1",
                &then_minor,
                &signature,
                date(2024, 5, 1),
                older(1, date(2024, 1, 12), date(2024, 3, 15), true),
            ),
            (
                "material v2 then minor v3, signed v2",
                &then_minor,
                &[sig(2, date(2024, 3, 3))],
                date(2024, 5, 1),
                signed(2, date(2024, 3, 3)),
            ),
            (
                "signed the minor v3",
                &then_minor,
                &[sig(1, date(2024, 1, 12)), sig(3, date(2024, 4, 2))],
                date(2024, 5, 1),
                signed(3, date(2024, 4, 2)),
            ),
            (
                "minor first version still counts as material",
                &[v(1, date(2024, 1, 10), false)],
                &[],
                date(2024, 1, 11),
                due(date(2024, 1, 24)),
            ),
        ];
        for (what, versions, sigs, today, want) in cases {
            assert_eq!(status(&r, versions, &person, sigs, today), want, "{what}");
        }
    }

    #[test]
    fn material_change_grace_runs_from_joining_when_later() {
        let versions = [v(1, date(2024, 1, 10), true), v(2, date(2024, 3, 1), true)];
        let person = staff(date(2024, 4, 2));
        let sigs = [sig(1, date(2024, 4, 3))];
        // Odd but possible: signed the old text after joining; the new one is due 14 days
        // after they joined, not after it came into force.
        assert_eq!(
            status(&req(14, None), &versions, &person, &sigs, date(2024, 4, 10)),
            older(1, date(2024, 4, 3), date(2024, 4, 16), false)
        );
        assert_eq!(
            status(&req(14, None), &versions, &person, &[], date(2024, 4, 17)),
            overdue(date(2024, 4, 16))
        );
    }

    #[test]
    fn withdrawal_cancels_a_signature() {
        let versions = [v(1, date(2024, 1, 10), true)];
        let person = staff(date(2024, 1, 1));
        let r = req(14, None);
        let withdrawn = |on: Option<Date>| SignatureFacts {
            version: 1,
            on: date(2024, 1, 12),
            withdrawn_on: on,
        };
        let cases = [
            (
                Some(date(2024, 1, 20)),
                date(2024, 1, 20),
                due(date(2024, 1, 24)),
            ),
            (
                Some(date(2024, 1, 20)),
                date(2024, 1, 25),
                overdue(date(2024, 1, 24)),
            ),
            (
                Some(date(2024, 1, 20)),
                date(2024, 1, 19),
                signed(1, date(2024, 1, 12)),
            ),
            (None, date(2024, 1, 25), signed(1, date(2024, 1, 12))),
        ];
        for (withdrawn_on, today, want) in cases {
            let sigs = [withdrawn(withdrawn_on)];
            assert_eq!(
                status(&r, &versions, &person, &sigs, today),
                want,
                "{today}"
            );
        }
        // A fresh signature after the withdrawal counts again.
        let sigs = [
            withdrawn(Some(date(2024, 1, 20))),
            sig(1, date(2024, 1, 22)),
        ];
        assert_eq!(
            status(&r, &versions, &person, &sigs, date(2024, 2, 1)),
            signed(1, date(2024, 1, 22))
        );
    }

    #[test]
    fn signatures_from_the_future_are_ignored() {
        let versions = [v(1, date(2024, 1, 10), true)];
        let person = staff(date(2024, 1, 1));
        let sigs = [sig(1, date(2024, 2, 1))];
        assert_eq!(
            status(&req(14, None), &versions, &person, &sigs, date(2024, 1, 31)),
            overdue(date(2024, 1, 24))
        );
        assert_eq!(
            status(&req(14, None), &versions, &person, &sigs, date(2024, 2, 1)),
            signed(1, date(2024, 2, 1))
        );
    }

    #[test]
    fn annual_rollover_on_1_september() {
        let r = req(14, Some((9, 1)));
        let versions = [v(1, date(2023, 1, 10), true)];
        let person = staff(date(2022, 9, 1));
        let july = [sig(1, date(2024, 7, 10))];
        let cases: [(&[SignatureFacts], Date, Status); 7] = [
            (&july, date(2024, 8, 31), signed(1, date(2024, 7, 10))),
            (
                &july,
                date(2024, 9, 1),
                older(1, date(2024, 7, 10), date(2024, 9, 15), false),
            ),
            (
                &july,
                date(2024, 9, 15),
                older(1, date(2024, 7, 10), date(2024, 9, 15), false),
            ),
            (
                &july,
                date(2024, 9, 16),
                older(1, date(2024, 7, 10), date(2024, 9, 15), true),
            ),
            (
                &[sig(1, date(2024, 9, 2))],
                date(2024, 9, 2),
                signed(1, date(2024, 9, 2)),
            ),
            (
                &[sig(1, date(2024, 9, 2))],
                date(2025, 8, 31),
                signed(1, date(2024, 9, 2)),
            ),
            (
                &[sig(1, date(2024, 9, 2))],
                date(2025, 9, 1),
                older(1, date(2024, 9, 2), date(2025, 9, 15), false),
            ),
        ];
        for (sigs, today, want) in cases {
            assert_eq!(status(&r, &versions, &person, sigs, today), want, "{today}");
        }
        // Without an annual date the July signature keeps counting.
        assert_eq!(
            status(&req(14, None), &versions, &person, &july, date(2025, 6, 1)),
            signed(1, date(2024, 7, 10))
        );
        // A mid-year joiner's grace runs from joining, not from 1 September.
        assert_eq!(
            status(
                &r,
                &versions,
                &staff(date(2024, 11, 4)),
                &[],
                date(2024, 11, 5)
            ),
            due(date(2024, 11, 18))
        );
    }

    #[test]
    fn due_dates_cross_month_year_and_leap_day() {
        let person = staff(date(2020, 1, 1));
        let cases = [
            (date(2024, 2, 20), 14, date(2024, 3, 5)),
            (date(2023, 2, 20), 14, date(2023, 3, 6)),
            (date(2024, 12, 25), 14, date(2025, 1, 8)),
            (date(2024, 2, 29), 365, date(2025, 2, 28)),
            (date(2024, 1, 1), 0, date(2024, 1, 1)),
        ];
        for (effective, days, want) in cases {
            let versions = [v(1, effective, true)];
            assert_eq!(
                status(&req(days, None), &versions, &person, &[], effective),
                due(want),
                "{effective} + {days}"
            );
        }
        // Saturates rather than overflowing at the end of time.
        let versions = [v(1, date(9999, 12, 20), true)];
        assert_eq!(
            status(&req(30, None), &versions, &person, &[], date(9999, 12, 31)),
            due(Date::MAX)
        );
    }

    #[test]
    fn academic_year_start_edges() {
        let cases = [
            (date(2024, 8, 31), (9, 1), date(2023, 9, 1)),
            (date(2024, 9, 1), (9, 1), date(2024, 9, 1)),
            (date(2024, 9, 2), (9, 1), date(2024, 9, 1)),
            (date(2025, 1, 1), (9, 1), date(2024, 9, 1)),
            (date(2024, 12, 31), (9, 1), date(2024, 9, 1)),
            (date(2024, 1, 1), (1, 1), date(2024, 1, 1)),
            (date(2023, 12, 31), (1, 1), date(2023, 1, 1)),
            // 29 February: itself in leap years, 28 February otherwise.
            (date(2024, 2, 29), (2, 29), date(2024, 2, 29)),
            (date(2024, 2, 28), (2, 29), date(2023, 2, 28)),
            (date(2025, 2, 28), (2, 29), date(2025, 2, 28)),
            (date(2025, 2, 27), (2, 29), date(2024, 2, 29)),
            (date(2025, 3, 1), (2, 29), date(2025, 2, 28)),
            (date(2024, 3, 1), (2, 29), date(2024, 2, 29)),
            // Out-of-range values are clamped.
            (date(2024, 10, 1), (9, 31), date(2024, 9, 30)),
            (date(2024, 6, 1), (13, 40), date(2023, 12, 31)),
            (date(2024, 6, 1), (0, 0), date(2024, 1, 1)),
            // The beginning of time.
            (date(-9999, 3, 1), (9, 1), Date::MIN),
        ];
        for (today, (m, d), want) in cases {
            assert_eq!(academic_year_start(today, m, d), want, "{today} ({m}, {d})");
        }
    }

    #[test]
    fn newest_signature_is_reported() {
        let versions = [v(1, date(2024, 1, 10), true), v(2, date(2024, 3, 1), true)];
        let person = staff(date(2024, 1, 1));
        let sigs = [
            sig(2, date(2024, 3, 2)),
            sig(2, date(2024, 4, 2)),
            sig(3, date(2024, 3, 20)),
            sig(1, date(2024, 5, 1)),
        ];
        assert_eq!(
            status(&req(14, None), &versions, &person, &sigs, date(2024, 6, 1)),
            signed(2, date(2024, 4, 2))
        );
        let older_only = [sig(1, date(2024, 1, 11)), sig(1, date(2024, 2, 11))];
        assert_eq!(
            status(
                &req(14, None),
                &versions,
                &person,
                &older_only,
                date(2024, 6, 1)
            ),
            older(1, date(2024, 2, 11), date(2024, 3, 15), true)
        );
    }

    #[test]
    fn labels_keys_and_flags() {
        let d = date(2024, 9, 15);
        let cases = [
            (
                Status::NotRequired,
                "Not required",
                "not_required",
                false,
                false,
            ),
            (due(d), "Due", "due", true, false),
            (overdue(d), "Overdue", "overdue", true, true),
            (signed(1, d), "Signed", "signed", false, false),
            (older(1, d, d, false), "Re-sign due", "resign", true, false),
            (
                older(1, d, d, true),
                "Re-sign overdue",
                "resign",
                true,
                true,
            ),
        ];
        for (s, label, key, action, late) in cases {
            assert_eq!(s.label(), label);
            assert_eq!(s.key(), key);
            assert_eq!(s.needs_action(), action, "{label}");
            assert_eq!(s.is_overdue(), late, "{label}");
        }
        assert_eq!(due(d).due(), Some(d));
        assert_eq!(signed(1, d).due(), None);
    }

    // ------------------------------------------------------------ properties

    const AUDIENCES: [Audience; 2] = [Audience::Staff, Audience::Parents];

    fn day() -> impl Strategy<Value = Date> {
        // 2020-01-01 plus up to about seven years: several leap days and rollovers.
        (0i64..2600).prop_map(|n| date(2020, 1, 1).checked_add(n.days()).unwrap())
    }

    fn requirement() -> impl Strategy<Value = Requirement> {
        (
            0u16..60,
            prop_oneof![
                Just(None),
                Just(Some((9, 1))),
                Just(Some((2, 29))),
                (1i8..=12, 1i8..=31).prop_map(Some),
            ],
        )
            .prop_map(|(days_to_sign, annual_from)| Requirement {
                audience: Audience::Staff,
                days_to_sign,
                annual_from,
            })
    }

    fn versions() -> impl Strategy<Value = Vec<VersionFacts>> {
        proptest::collection::vec((day(), any::<bool>()), 0..5).prop_map(|mut vs| {
            vs.sort_by_key(|(d, _)| *d);
            vs.into_iter()
                .zip(1u32..)
                .map(|((effective, material), number)| v(number, effective, material))
                .collect()
        })
    }

    fn signatures() -> impl Strategy<Value = Vec<SignatureFacts>> {
        proptest::collection::vec(signature(), 0..5)
    }

    fn signature() -> impl Strategy<Value = SignatureFacts> {
        (1u32..6, day(), proptest::option::of(day())).prop_map(|(version, on, withdrawn_on)| {
            SignatureFacts {
                version,
                on,
                withdrawn_on,
            }
        })
    }

    fn person() -> impl Strategy<Value = PersonFacts> {
        (
            prop_oneof![Just(AUDIENCES[0]), Just(AUDIENCES[1])],
            day(),
            proptest::option::of(day()),
            proptest::bool::weighted(0.9),
        )
            .prop_map(|(audience, joined, left, active)| PersonFacts {
                audience,
                joined,
                left,
                active,
            })
    }

    /// An independent statement of rule 2: the baseline number on `today`.
    fn oracle_baseline(versions: &[VersionFacts], today: Date) -> Option<u32> {
        let in_force: Vec<&VersionFacts> =
            versions.iter().filter(|v| v.effective <= today).collect();
        let first = in_force.iter().map(|v| v.number).min()?;
        let mut best = first;
        for v in &in_force {
            if v.material && v.number > best {
                best = v.number;
            }
        }
        Some(best)
    }

    /// An independent statement of rule 2: whether `s` counts on `today`.
    fn oracle_counts(
        r: &Requirement,
        versions: &[VersionFacts],
        s: &SignatureFacts,
        today: Date,
    ) -> bool {
        let Some(base) = oracle_baseline(versions, today) else {
            return false;
        };
        let in_year = match r.annual_from {
            None => true,
            Some((m, d)) => s.on >= academic_year_start(today, m, d),
        };
        s.on <= today
            && !matches!(s.withdrawn_on, Some(w) if w <= today)
            && s.version >= base
            && in_year
    }

    fn year_key(r: &Requirement, today: Date) -> Option<Date> {
        r.annual_from.map(|(m, d)| academic_year_start(today, m, d))
    }

    proptest! {
        #[test]
        fn signed_only_with_a_counting_signature(
            r in requirement(), vs in versions(), p in person(), sigs in signatures(), today in day(),
        ) {
            let got = status(&r, &vs, &p, &sigs, today);
            let any_counts = sigs.iter().any(|s| oracle_counts(&r, &vs, s, today));
            if let Status::Signed { version, on } = got {
                prop_assert!(any_counts);
                prop_assert!(sigs.iter().any(|s| s.version == version && s.on == on
                    && oracle_counts(&r, &vs, s, today)));
            } else if got != Status::NotRequired {
                prop_assert!(!any_counts, "{got:?} although a signature counts");
            }
        }

        #[test]
        fn signing_the_version_in_force_today_is_signed(
            r in requirement(), vs in versions(), p in person(), sigs in signatures(), today in day(),
        ) {
            let Some(in_force) = vs.iter().filter(|v| v.effective <= today).map(|v| v.number).max()
            else {
                prop_assert_eq!(status(&r, &vs, &p, &sigs, today), Status::NotRequired);
                return Ok(());
            };
            let mut sigs = sigs;
            sigs.push(sig(in_force, today));
            let got = status(&r, &vs, &p, &sigs, today);
            let required = p.active && p.audience == r.audience && p.left.is_none_or(|l| l >= today);
            if required {
                prop_assert!(matches!(got, Status::Signed { .. }), "{got:?}");
            } else {
                prop_assert_eq!(got, Status::NotRequired);
            }
        }

        #[test]
        fn due_dates_agree_with_today(
            r in requirement(), vs in versions(), p in person(), sigs in signatures(), today in day(),
        ) {
            match status(&r, &vs, &p, &sigs, today) {
                Status::Due { due } => prop_assert!(today <= due),
                Status::Overdue { due } => prop_assert!(today > due),
                Status::SignedOlder { due, overdue, on, .. } => {
                    prop_assert_eq!(overdue, today > due);
                    prop_assert!(on <= today);
                }
                Status::Signed { on, .. } => prop_assert!(on <= today),
                Status::NotRequired => {}
            }
        }

        #[test]
        fn overdue_never_becomes_due_without_a_new_version_or_year(
            r in requirement(), vs in versions(), p in person(), sigs in signatures(),
            today in day(), later in 0i64..800,
        ) {
            let after = today.checked_add(later.days()).unwrap();
            let before = status(&r, &vs, &p, &sigs, today);
            let same_obligation = oracle_baseline(&vs, today) == oracle_baseline(&vs, after)
                && year_key(&r, today) == year_key(&r, after);
            if before.is_overdue() && same_obligation {
                let now = status(&r, &vs, &p, &sigs, after);
                prop_assert!(!matches!(now, Status::Due { .. }), "{before:?} then {now:?}");
                if now.needs_action() {
                    prop_assert!(now.is_overdue(), "{before:?} then {now:?}");
                    prop_assert_eq!(now.due(), before.due());
                }
            }
        }

        #[test]
        fn adding_a_signature_keeps_signed(
            r in requirement(), vs in versions(), p in person(), sigs in signatures(),
            extra in signature(), today in day(),
        ) {
            if let Status::Signed { .. } = status(&r, &vs, &p, &sigs, today) {
                let mut more = sigs;
                more.push(extra);
                let got = status(&r, &vs, &p, &more, today);
                prop_assert!(matches!(got, Status::Signed { .. }), "{got:?}");
            }
        }

        #[test]
        fn inactive_people_are_never_required(
            r in requirement(), vs in versions(), p in person(), sigs in signatures(), today in day(),
        ) {
            let p = PersonFacts { active: false, ..p };
            prop_assert_eq!(status(&r, &vs, &p, &sigs, today), Status::NotRequired);
        }

        #[test]
        fn academic_year_start_is_the_latest_on_or_before_today(
            today in day(), month in 1i8..=12, d in 1i8..=31,
        ) {
            let start = academic_year_start(today, month, d);
            prop_assert!(start <= today);
            prop_assert_eq!(start.month(), month);
            prop_assert_eq!(start.day(), d.min(start.days_in_month()));
            let next = annual_date(start.year() + 1, month, d).unwrap();
            prop_assert!(next > today);
        }
    }
}
