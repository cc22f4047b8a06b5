//! Which web-filtering group a person belongs to.
//!
//! The shipped filtering policies are named by group: `eyfs_ks1`, `ks2`, `ks3_4`,
//! `sixth_form` for pupils by key stage, `staff`, and `guests` for adults who are not
//! employed by the school. A person with no group (a pupil with no year group, a leaver,
//! an account linked to nobody) gets the policies' fallback, which the filter applies to
//! every identity whose group it does not know.

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
    fn every_year_group_has_a_pupil_group() {
        let years = [YearGroup::Nursery, YearGroup::Reception]
            .into_iter()
            .chain((1..=13).map(YearGroup::Year));
        for y in years {
            assert!(filter_group(PersonKind::Pupil, Some(y)).is_some(), "{y:?}");
        }
    }
}
