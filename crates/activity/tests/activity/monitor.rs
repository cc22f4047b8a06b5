//! Monitoring rules over events, with the time taken from the events: watched categories,
//! circumvention, bursts of blocks in a window, hours, keywords, and folding.

use crate::support::{at, blocked, event};
use gatehouse_activity::monitor::{Alerted, Monitor, MonitorRules, Severity};
use jiff::tz::TimeZone;

const RULES: &str = r#"
fold_minutes = 30
[[watch]]
category = "self_harm"
severity = "high"
[[watch]]
category = "child_abuse"
severity = "critical"
[circumvention]
categories = ["circumvention"]
severity = "medium"
[burst]
blocks = 3
minutes = 5
severity = "low"
[[outside_hours]]
groups = ["ks2"]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:00"
to = "16:00"
severity = "low"
[[keywords]]
library = "weapons"
severity = "medium"
terms = ["knife"]
false_positives = ["butter knife"]
"#;

fn monitor() -> Monitor {
    Monitor::new(MonitorRules::from_toml(RULES, TimeZone::UTC).unwrap())
}

/// 2025-11-13 is a Thursday; BASE is 02:13:20 UTC. Ten o'clock that morning:
const TEN: i64 = 7 * 3600 + 46 * 60 + 40;

fn rules_of(out: &[Alerted]) -> Vec<(String, bool)> {
    out.iter()
        .map(|a| match a {
            Alerted::New(n) => (n.key.rule.clone(), true),
            Alerted::Folded { key, .. } => (key.rule.clone(), false),
        })
        .collect()
}

#[test]
fn watched_categories_raise_alerts_with_their_severity_and_evidence() {
    let mut m = monitor();
    let e = blocked(at(TEN), "hurt-myself.example", Some("p7"), "self_harm");
    let out = m.observe(&e);
    let [Alerted::New(a)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(a.key.rule, "category:self_harm");
    assert_eq!(a.key.subject, "person:p7");
    assert_eq!(a.severity, Severity::High);
    assert!(
        a.summary.contains("hurt-myself.example (blocked)"),
        "{}",
        a.summary
    );
    assert_eq!(a.evidence, vec![e]);
    let out = m.observe(&blocked(at(TEN + 1), "abuse.example", None, "child_abuse"));
    let [Alerted::New(a)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(
        (a.severity, a.key.subject.as_str()),
        (Severity::Critical, "client:10.0.0.7")
    );
    // an ordinary allowed query in hours: nothing
    assert!(
        m.observe(&event(at(TEN + 2), "bbc.co.uk", Some("p7"), 1))
            .is_empty()
    );
}

#[test]
fn repeats_within_the_fold_window_are_folded_and_later_ones_are_new() {
    let mut m = monitor();
    let e = |s| blocked(at(TEN + s), "vpn.example", Some("p7"), "circumvention");
    assert_eq!(
        rules_of(&m.observe(&e(0))),
        [("circumvention".into(), true)]
    );
    assert_eq!(
        rules_of(&m.observe(&e(60))),
        [("circumvention".into(), false)]
    );
    // the window runs from the last event: 29 minutes after the fold is still folded
    assert_eq!(
        rules_of(&m.observe(&e(60 + 29 * 60))),
        [("circumvention".into(), false)]
    );
    assert_eq!(
        rules_of(&m.observe(&e(60 + 29 * 60 + 30 * 60))),
        [("circumvention".into(), true)],
        "thirty minutes of quiet: a new alert"
    );
    // another person is another alert
    let other = blocked(at(TEN + 61), "vpn.example", Some("p8"), "circumvention");
    assert_eq!(
        rules_of(&m.observe(&other)),
        [("circumvention".into(), true)]
    );
}

#[test]
fn a_burst_needs_the_threshold_within_the_window() {
    let mut m = monitor();
    let b = |s, p| blocked(at(TEN + s), "games.example", Some(p), "games");
    assert!(m.observe(&b(0, "p1")).is_empty());
    assert!(m.observe(&b(100, "p1")).is_empty());
    assert!(
        m.observe(&b(100, "p2")).is_empty(),
        "another person's blocks do not count"
    );
    // the first block is 5 minutes old at 300 s: out of the window
    assert!(m.observe(&b(300, "p1")).is_empty());
    let out = m.observe(&b(301, "p1"));
    let [Alerted::New(a)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(a.key.rule, "burst");
    assert_eq!(a.evidence.len(), 3);
    assert!(
        a.summary.starts_with("3 blocked attempts in 5 minutes"),
        "{}",
        a.summary
    );
}

#[test]
fn use_outside_permitted_hours_is_noticed_for_the_groups_named() {
    let mut m = monitor();
    // 02:13 on a Thursday: outside 08:00-16:00
    let night = event(at(0), "bbc.co.uk", Some("p1"), 1);
    assert_eq!(
        rules_of(&m.observe(&night)),
        [("outside_hours".into(), true)]
    );
    let mut staff = event(at(1), "bbc.co.uk", Some("s1"), 2);
    staff.group = "staff".into();
    assert!(m.observe(&staff).is_empty());
    // Saturday morning at ten
    let saturday = event(at(TEN + 2 * 24 * 3600), "bbc.co.uk", Some("p9"), 1);
    assert_eq!(
        rules_of(&m.observe(&saturday)),
        [("outside_hours".into(), true)]
    );
}

#[test]
fn keywords_in_names_raise_alerts_but_not_their_false_positives() {
    let mut m = monitor();
    let out = m.observe(&event(at(TEN), "zombie-knives.example", Some("p1"), 1));
    let [Alerted::New(a)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(
        (a.key.rule.as_str(), a.severity),
        ("keywords:weapons", Severity::Medium)
    );
    assert!(a.summary.contains("\"knife\""), "{}", a.summary);
    assert!(
        m.observe(&event(at(TEN), "butter-knife.example", Some("p2"), 1))
            .is_empty()
    );
    assert!(
        m.observe(&event(at(TEN), "penknifes.example", Some("p3"), 1))
            .is_empty()
    );
}

#[test]
fn the_shipped_rules_load_and_bad_files_name_the_fault() {
    MonitorRules::uk_default().unwrap();
    let e = MonitorRules::from_toml("fold_minutes = 0", TimeZone::UTC).unwrap_err();
    assert!(e.contains("fold_minutes"), "{e}");
    let bad_day = RULES.replace("\"fri\"]", "\"fry\"]");
    let e = MonitorRules::from_toml(&bad_day, TimeZone::UTC).unwrap_err();
    assert!(e.contains("outside_hours #1") && e.contains("fry"), "{e}");
    let e = MonitorRules::from_toml(
        "fold_minutes = 5\n[[watch]]\ncategory = \"x\"\nseverity = \"dire\"",
        TimeZone::UTC,
    )
    .unwrap_err();
    assert!(e.contains("dire"), "{e}");
}

#[test]
fn a_batch_of_repeats_is_folded_once_with_its_count() {
    use gatehouse_activity::monitor::coalesce;
    let mut m = monitor();
    let mut raised = Vec::new();
    for s in 0..100 {
        raised.extend(m.observe(&blocked(
            at(TEN + s),
            "vpn.example",
            Some("p7"),
            "circumvention",
        )));
        raised.extend(m.observe(&blocked(
            at(TEN + s),
            "vpn.example",
            Some("p8"),
            "circumvention",
        )));
    }
    let out = coalesce(raised);
    let summary: Vec<(String, bool, u32)> = out
        .iter()
        .filter_map(|a| match a {
            Alerted::New(n) if n.key.rule == "circumvention" => {
                Some((n.key.subject.clone(), true, 1))
            }
            Alerted::Folded { key, count, .. } if key.rule == "circumvention" => {
                Some((key.subject.clone(), false, *count))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("person:p7".to_owned(), true, 1),
            ("person:p8".to_owned(), true, 1),
            ("person:p7".to_owned(), false, 99),
            ("person:p8".to_owned(), false, 99),
        ]
    );
}
