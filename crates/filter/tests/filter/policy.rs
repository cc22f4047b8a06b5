//! Policy engine: precedence table, schedules across DST, term dates, safe search,
//! search engines without safe search, override expiry, locked categories.

use std::path::PathBuf;
use std::sync::Arc;

use gatehouse_filter::{
    Action, CompileOptions, Database, Engine, EngineConfig, EngineHandle, GateMode, Identity,
    Override, OverrideTarget, PolicySet, RecordType, Rule, SafeSearchLevel, Source, Taxonomy,
    compile,
};
use jiff::Timestamp;

pub fn fixture_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ut1mini")
}

/// The fixture UT1 tree compiled into a database (kept in memory).
pub fn fixture_db() -> Arc<Database> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mini.ghf");
    compile(
        &[Source::Ut1Tree {
            path: fixture_root(),
            prefix: String::new(),
        }],
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    Arc::new(Database::from_bytes(std::fs::read(&out).unwrap()).unwrap())
}

pub fn engine(config: &EngineConfig) -> Engine {
    Engine::new(fixture_db(), config).unwrap()
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A Wednesday in term, 10:00 GMT.
const WED: &str = "2026-11-18T10:00:00Z";

fn rule_kind(r: &Rule) -> &'static str {
    match r {
        Rule::Invalid => "invalid",
        Rule::LockedList { .. } => "locked",
        Rule::PersonOverride { .. } => "override",
        Rule::SchoolDeny { .. } => "deny",
        Rule::SchoolAllow { .. } => "allow",
        Rule::GroupAllow { .. } => "group_allow",
        Rule::Gate => "gate",
        Rule::SafeSearch { .. } => "safe_search",
        Rule::UnsafeSearchEngine { .. } => "unsafe_search",
        Rule::CategoryPolicy { .. } => "category",
        Rule::Default { .. } => "default",
    }
}

fn ov(person: &str, target: OverrideTarget, action: Action, until: &str) -> Override {
    Override {
        person: person.to_owned(),
        target,
        action,
        until: ts(until),
    }
}

#[test]
fn defaults_parse_and_resolve_fixture_categories() {
    let cfg = EngineConfig::uk_default().unwrap();
    let names: Vec<&str> = cfg
        .policies
        .policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    for n in [
        "eyfs_ks1",
        "ks2",
        "ks3_4",
        "sixth_form",
        "staff",
        "guests",
        "unidentified",
    ] {
        assert!(names.contains(&n), "missing default policy {n}");
    }
    let e = engine(&cfg);
    let t = e.taxonomy();
    let has = |host: &str, cat: &str| e.categories_of(host).contains(t.id(cat).unwrap());
    assert!(has("porn.example", "pornography"));
    assert!(has("abuse-bad.test", "child_abuse"));
    assert!(has("terror-bad.test", "terrorism"));
    assert!(
        has("paris-sportifs.test", "gambling"),
        "arjel feeds gambling"
    );
    assert!(
        has("proxy-site.test", "circumvention"),
        "redirector feeds circumvention"
    );
    assert!(has("translate.test", "redirectors_broad"));
    assert!(!has("translate.test", "circumvention"));
    assert!(has("bank-login.test", "malware"), "phishing feeds malware");
    assert!(has("multi.example", "games") && has("multi.example", "shopping"));
    assert!(e.categories_of("learn-play.test").is_empty(), "unmapped");
    assert_eq!(e.set_table().len() as u32, e.database().set_count());
    assert!(t.get(t.id("child_abuse").unwrap()).unwrap().locked);
    assert!(t.get(t.id("terrorism").unwrap()).unwrap().locked);
}

#[test]
fn school_mapping_cannot_unlock_and_can_add_categories() {
    let mut t = Taxonomy::uk_default().unwrap();
    t.merge_toml(
        "[[category]]\nname = \"child_abuse\"\nlocked = false\n\n[[category]]\nname = \"fortnite\"\nsources = [\"games\"]\n",
    )
    .unwrap();
    assert!(t.get(t.id("child_abuse").unwrap()).unwrap().locked);
    assert!(t.id("fortnite").is_some());
    assert!(Taxonomy::from_toml("[[category]]\nname = \"bad name\"\n").is_err());
}

#[test]
fn unknown_category_in_policy_is_an_error_naming_it() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.policies.policies[0]
        .categories
        .insert("pornografy".to_owned(), Action::Block);
    let err = Engine::new(fixture_db(), &cfg).unwrap_err().to_string();
    assert!(err.contains("pornografy"), "{err}");
}

/// Each pair of precedence levels: the higher one wins.
/// locked > person override > school deny > school allow > category policy.
#[test]
fn precedence_table() {
    struct Case {
        name: &'static str,
        host: &'static str,
        deny: &'static [&'static str],
        allow: &'static [&'static str],
        overrides: Vec<Override>,
        want_rule: &'static str,
        want_action: Action,
    }
    let far = "2030-01-01T00:00:00Z";
    let cases = vec![
        Case {
            name: "locked > override",
            host: "abuse-bad.test",
            deny: &[],
            allow: &[],
            overrides: vec![ov(
                "p1",
                OverrideTarget::HostSuffix("abuse-bad.test".into()),
                Action::Allow,
                far,
            )],
            want_rule: "locked",
            want_action: Action::Block,
        },
        Case {
            name: "locked > override (category)",
            host: "abuse-bad.test",
            deny: &[],
            allow: &[],
            overrides: vec![ov(
                "p1",
                OverrideTarget::Category("child_abuse".into()),
                Action::Allow,
                far,
            )],
            want_rule: "locked",
            want_action: Action::Block,
        },
        Case {
            name: "locked > deny",
            host: "terror-bad.test",
            deny: &["terror-bad.test"],
            allow: &[],
            overrides: vec![],
            want_rule: "locked",
            want_action: Action::Block,
        },
        Case {
            name: "locked > allow",
            host: "abuse-bad.test",
            deny: &[],
            allow: &["abuse-bad.test"],
            overrides: vec![],
            want_rule: "locked",
            want_action: Action::Block,
        },
        Case {
            name: "locked > category policy",
            host: "terror-bad.test",
            deny: &[],
            allow: &[],
            overrides: vec![],
            want_rule: "locked",
            want_action: Action::Block,
        },
        Case {
            name: "override > deny",
            host: "news.test",
            deny: &["news.test"],
            allow: &[],
            overrides: vec![ov(
                "p1",
                OverrideTarget::HostSuffix("news.test".into()),
                Action::Allow,
                far,
            )],
            want_rule: "override",
            want_action: Action::Allow,
        },
        Case {
            name: "override > allow",
            host: "news.test",
            deny: &[],
            allow: &["news.test"],
            overrides: vec![ov("p1", OverrideTarget::All, Action::Block, far)],
            want_rule: "override",
            want_action: Action::Block,
        },
        Case {
            name: "override > category policy",
            host: "play-games.test",
            deny: &[],
            allow: &[],
            overrides: vec![ov(
                "p1",
                OverrideTarget::Category("games".into()),
                Action::Allow,
                far,
            )],
            want_rule: "override",
            want_action: Action::Allow,
        },
        Case {
            name: "deny > allow",
            host: "a.news.test",
            deny: &["news.test"],
            allow: &["a.news.test"],
            overrides: vec![],
            want_rule: "deny",
            want_action: Action::Block,
        },
        Case {
            name: "deny > category policy",
            host: "learn-play.test",
            deny: &["learn-play.test"],
            allow: &[],
            overrides: vec![],
            want_rule: "deny",
            want_action: Action::Block,
        },
        Case {
            name: "allow > category policy",
            host: "www.play-games.test",
            deny: &[],
            allow: &["play-games.test"],
            overrides: vec![],
            want_rule: "allow",
            want_action: Action::Allow,
        },
        Case {
            name: "category policy > default",
            host: "play-games.test",
            deny: &[],
            allow: &[],
            overrides: vec![],
            want_rule: "category",
            want_action: Action::Block,
        },
    ];
    let db = fixture_db();
    for c in cases {
        let mut cfg = EngineConfig::uk_default().unwrap();
        cfg.lists.deny = c.deny.iter().map(|s| s.to_string()).collect();
        cfg.lists.allow = c.allow.iter().map(|s| s.to_string()).collect();
        cfg.overrides = c.overrides;
        let e = Engine::new(db.clone(), &cfg).unwrap();
        let d = e.decide(&Identity::person("p1", "ks2"), c.host, ts(WED));
        assert_eq!(rule_kind(&d.rule), c.want_rule, "{}: {d:?}", c.name);
        assert_eq!(d.action, c.want_action, "{}: {d:?}", c.name);
        // another person is not affected by p1's overrides
        let other = e.decide(&Identity::person("p2", "ks2"), c.host, ts(WED));
        assert_ne!(rule_kind(&other.rule), "override", "{}", c.name);
    }
}

#[test]
fn explain_reads_well() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    let d = e.decide(
        &Identity::group("ks2"),
        "https://www.porn.example/x?y",
        ts(WED),
    );
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.matched_list.as_deref(), Some("porn.example"));
    assert_eq!(
        d.explain(),
        "blocked: pornography (listed: porn.example) by policy ks2"
    );
    let d = e.decide(&Identity::group("ks2"), "abuse-bad.test", ts(WED));
    assert_eq!(
        d.explain(),
        "blocked: child_abuse (listed: abuse-bad.test) by locked illegal-content list"
    );
    let d = e.decide(&Identity::group("ks2"), "not a host!", ts(WED));
    assert_eq!(d.rule, Rule::Invalid);
    assert_eq!(d.action, Action::Block);
}

#[test]
fn url_forms_and_unknown_groups() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    for input in [
        "porn.example",
        "PORN.EXAMPLE.",
        "http://user:pw@porn.example:8080/a",
        "porn.example:443",
    ] {
        let d = e.decide(&Identity::group("ks2"), input, ts(WED));
        assert_eq!(d.action, Action::Block, "{input}");
    }
    let d = e.decide(
        &Identity::group("no-such-group"),
        "play-games.test",
        ts(WED),
    );
    assert!(
        d.rule.to_string().starts_with("policy:unidentified/"),
        "{d:?}"
    );
    let d = e.decide(&Identity::group("ks2"), "192.0.2.1", ts(WED));
    assert_eq!(
        d.action,
        Action::Allow,
        "IP literal gets the default: {d:?}"
    );
}

#[test]
fn multi_category_most_restrictive_wins() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    // ks3_4: games block (allowed at lunch), shopping warn; at lunchtime shopping's warn wins.
    let lunch = ts("2026-11-18T12:30:00Z");
    let d = e.decide(&Identity::group("ks3_4"), "multi.example", lunch);
    assert_eq!(d.action, Action::Warn, "{d:?}");
    assert_eq!(d.category.as_deref(), Some("shopping"));
    let d = e.decide(&Identity::group("ks3_4"), "multi.example", ts(WED));
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.category.as_deref(), Some("games"));
}

#[test]
fn games_lunchtime_window_weekday_vs_weekend() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    let who = Identity::group("ks3_4");
    let cases = [
        // November: GMT, local = UTC
        ("2026-11-18T12:30:00Z", Action::Allow), // Wednesday lunchtime
        ("2026-11-18T12:00:00Z", Action::Allow), // window start inclusive
        ("2026-11-18T11:59:59Z", Action::Block),
        ("2026-11-18T13:15:00Z", Action::Block), // window end exclusive
        ("2026-11-18T13:14:59Z", Action::Allow),
        ("2026-11-21T12:30:00Z", Action::Block), // Saturday
        ("2026-11-22T12:30:00Z", Action::Block), // Sunday
        // June: BST, 12:30 local = 11:30 UTC
        ("2026-06-17T11:30:00Z", Action::Allow),
        ("2026-06-17T12:14:59Z", Action::Allow), // 13:14:59 BST
        ("2026-06-17T12:30:00Z", Action::Block), // 13:30 BST (12:30 if zone were ignored)
        ("2026-06-17T10:59:00Z", Action::Block), // 11:59 BST
        ("2026-06-17T12:15:00Z", Action::Block), // 13:15 BST
    ];
    for (t, want) in cases {
        let d = e.decide(&who, "play-games.test", ts(t));
        assert_eq!(d.action, want, "{t}: {}", d.explain());
    }
    let d = e.decide(&who, "play-games.test", ts("2026-11-18T12:30:00Z"));
    assert_eq!(d.rule.to_string(), "policy:ks3_4/games@mon-fri 12:00-13:15");
    // other groups have no lunchtime window
    let d = e.decide(
        &Identity::group("ks2"),
        "play-games.test",
        ts("2026-11-18T12:30:00Z"),
    );
    assert_eq!(d.action, Action::Block);
}

#[test]
fn staff_social_after_1530_across_dst_changes() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    let staff = Identity::person("t1", "staff");
    let cases = [
        // Friday 23 Oct 2026, BST: 14:45 UTC = 15:45 local -> allowed
        ("2026-10-23T14:45:00Z", Action::Allow),
        ("2026-10-23T14:29:59Z", Action::Block), // 15:29:59 BST
        ("2026-10-23T14:30:00Z", Action::Allow), // 15:30 BST
        // Monday 26 Oct 2026, GMT (changed Sunday 25 Oct): 14:45 UTC = 14:45 local -> blocked
        ("2026-10-26T14:45:00Z", Action::Block),
        ("2026-10-26T15:45:00Z", Action::Allow),
        // Friday 26 Mar 2027, GMT: 14:45 UTC = 14:45 local -> blocked; 15:45 allowed
        ("2027-03-26T14:45:00Z", Action::Block),
        ("2027-03-26T15:45:00Z", Action::Allow),
        // Monday 29 Mar 2027, BST (changed Sunday 28 Mar): 14:45 UTC = 15:45 local -> allowed
        ("2027-03-29T14:45:00Z", Action::Allow),
        ("2027-03-29T14:15:00Z", Action::Block),
        // Weekend rule: Sunday of each change, all day
        ("2026-10-25T09:00:00Z", Action::Allow),
        ("2027-03-28T09:00:00Z", Action::Allow),
        // until midnight local: 23:59 GMT Monday allowed
        ("2026-10-26T23:59:00Z", Action::Allow),
    ];
    for (t, want) in cases {
        let d = e.decide(&staff, "socialbook.test", ts(t));
        assert_eq!(d.action, want, "{t}: {}", d.explain());
    }
}

const TERM_POLICIES: &str = r#"
timezone = "Europe/London"
fallback = "pupils"
terms = [
  { start = "2026-09-03", end = "2026-10-23" },
  { start = "2026-11-02", end = "2026-12-18" },
]

[policy.pupils]
default = "allow"
outside_term = "holiday"
[policy.pupils.categories]
games = "block"
chat = "block"
[[policy.pupils.schedule]]
category = "chat"
action = "allow"
days = ["mon", "tue", "wed", "thu", "fri"]
from = "15:00"
until = "17:00"
term_only = true

[policy.holiday]
default = "allow"
[policy.holiday.categories]
games = "allow"
chat = "block"

[policy.club]
default = "allow"
[policy.club.categories]
chat = "block"
[[policy.club.schedule]]
category = "chat"
action = "allow"
days = ["all"]
from = "00:00"
until = "24:00"
term_only = true
"#;

#[test]
fn term_dates_switch_policy_and_gate_term_only_rules() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.policies = PolicySet::from_toml(TERM_POLICIES).unwrap();
    let e = engine(&cfg);
    let pupil = Identity::group("pupils");
    // in term: games blocked by pupils
    let d = e.decide(&pupil, "play-games.test", ts("2026-10-23T10:00:00Z"));
    assert_eq!(
        (d.action, d.rule.to_string().as_str()),
        (Action::Block, "policy:pupils/games")
    );
    // half term (26-30 Oct): holiday policy, games allowed
    let d = e.decide(&pupil, "play-games.test", ts("2026-10-28T10:00:00Z"));
    assert_eq!(
        (d.action, d.rule.to_string().as_str()),
        (Action::Allow, "policy:holiday/games")
    );
    // term boundaries are inclusive, in local dates: 2 Nov 00:30 GMT is term
    let d = e.decide(&pupil, "play-games.test", ts("2026-11-02T00:30:00Z"));
    assert_eq!(d.action, Action::Block);
    // 23 Oct 23:30 UTC = 24 Oct 00:30 BST: outside term
    let d = e.decide(&pupil, "play-games.test", ts("2026-10-23T23:30:00Z"));
    assert_eq!(d.action, Action::Allow, "{}", d.explain());
    // term_only rule: club chat allowed in term, blocked in the holiday
    let club = Identity::group("club");
    assert_eq!(
        e.decide(&club, "chatroom.test", ts("2026-11-18T10:00:00Z"))
            .action,
        Action::Allow
    );
    assert_eq!(
        e.decide(&club, "chatroom.test", ts("2026-12-25T10:00:00Z"))
            .action,
        Action::Block
    );
    // unknown group -> fallback "pupils"
    let d = e.decide(
        &Identity::group("x"),
        "play-games.test",
        ts("2026-11-18T10:00:00Z"),
    );
    assert_eq!(d.rule.to_string(), "policy:pupils/games");
}

#[test]
fn bad_policy_files_are_rejected_with_a_message() {
    for (text, needle) in [
        ("timezone = \"Mars/Olympus\"\n", "Mars/Olympus"),
        (
            "[policy.a]\ndefault = \"allow\"\n[[policy.a.schedule]]\ncategory = \"games\"\naction = \"allow\"\ndays = [\"mon\"]\nfrom = \"25:00\"\nuntil = \"26:00\"\n",
            "25:00",
        ),
        (
            "[policy.a]\ndefault = \"allow\"\n[[policy.a.schedule]]\ncategory = \"games\"\naction = \"allow\"\ndays = [\"funday\"]\nfrom = \"10:00\"\nuntil = \"11:00\"\n",
            "funday",
        ),
        ("[policy.a]\ndefault = \"maybe\"\n", "maybe"),
        ("[policy.a]\ndefault = \"allow\"\nbogus = 1\n", "bogus"),
    ] {
        let err = PolicySet::from_toml(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.policies.fallback = "nobody".into();
    assert!(Engine::new(fixture_db(), &cfg).is_err());
}

#[test]
fn safe_search_rewrites_per_strictness() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    for p in &mut cfg.policies.policies {
        if p.name == "guests" {
            p.safe_search = SafeSearchLevel::Off;
            p.block_unsafe_search = false;
        }
    }
    let e = engine(&cfg);
    let cases = [
        ("ks2", "google.com", Some("forcesafesearch.google.com")),
        (
            "ks2",
            "www.google.co.uk",
            Some("forcesafesearch.google.com"),
        ),
        ("ks2", "youtube.com", Some("restrict.youtube.com")),
        ("ks2", "www.youtube.com", Some("restrict.youtube.com")),
        (
            "sixth_form",
            "youtube.com",
            Some("restrictmoderate.youtube.com"),
        ),
        (
            "sixth_form",
            "www.google.co.uk",
            Some("forcesafesearch.google.com"),
        ),
        (
            "staff",
            "m.youtube.com",
            Some("restrictmoderate.youtube.com"),
        ),
        ("ks2", "www.bing.com", Some("strict.bing.com")),
        ("ks2", "duckduckgo.com", Some("safe.duckduckgo.com")),
        ("guests", "google.com", None),
        ("guests", "youtube.com", None),
        ("ks2", "mail.google.com", None),
    ];
    for (group, host, want) in cases {
        let d = e.decide(&Identity::group(group), host, ts(WED));
        assert_eq!(
            d.safe_search.as_ref().map(|t| &*t.target),
            want,
            "{group} {host}: {d:?}"
        );
        assert_eq!(d.action, Action::Allow);
        if want.is_some() {
            assert_eq!(rule_kind(&d.rule), "safe_search");
            assert_eq!(d.safe_search.as_ref().unwrap().rrtype, RecordType::Cname);
        }
    }
    let d = e.decide(&Identity::group("ks2"), "ya.ru", ts(WED));
    let t = d.safe_search.unwrap();
    assert_eq!((t.rrtype, &*t.target), (RecordType::A, "213.180.193.56"));
}

#[test]
fn search_engines_without_safe_search_blocked_for_pupils() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    for group in [
        "eyfs_ks1",
        "ks2",
        "ks3_4",
        "sixth_form",
        "guests",
        "unidentified",
    ] {
        let d = e.decide(&Identity::group(group), "www.dogpile.com", ts(WED));
        assert_eq!(d.action, Action::Block, "{group}");
        assert!(
            d.rule.to_string().starts_with("unsafe_search:")
                && d.rule.to_string().ends_with("dogpile.com"),
            "{group}: {d:?}"
        );
    }
    // staff: not blocked
    let d = e.decide(&Identity::group("staff"), "www.dogpile.com", ts(WED));
    assert_eq!(d.action, Action::Allow);
    // ecosia: exact www host is rewritten, the bare listed name is blocked
    let d = e.decide(&Identity::group("ks2"), "www.ecosia.org", ts(WED));
    assert_eq!(rule_kind(&d.rule), "safe_search");
    let d = e.decide(&Identity::group("ks2"), "ecosia.org", ts(WED));
    assert_eq!(rule_kind(&d.rule), "unsafe_search");
    // a school allow-list entry wins over the unsafe-search block
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.lists.allow = vec!["dogpile.com".into()];
    let e = engine(&cfg);
    let d = e.decide(&Identity::group("ks2"), "dogpile.com", ts(WED));
    assert_eq!(d.action, Action::Allow);
}

#[test]
fn overrides_expire_exactly_at_until() {
    let until = "2026-11-20T15:00:00Z";
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.overrides = vec![
        // sanction: no internet except the school site
        ov("pupil7", OverrideTarget::All, Action::Block, until),
        ov(
            "pupil7",
            OverrideTarget::HostSuffix("school.sch.uk".into()),
            Action::Allow,
            until,
        ),
        // approved unblock request
        ov(
            "pupil8",
            OverrideTarget::HostSuffix("play-games.test".into()),
            Action::Allow,
            until,
        ),
    ];
    let e = engine(&cfg);
    let before = ts(until) - jiff::SignedDuration::from_nanos(1);
    let at = ts(until);
    let p7 = Identity::person("pupil7", "ks2");
    let p8 = Identity::person("pupil8", "ks2");
    let d = e.decide(&p7, "bbc.co.uk", before);
    assert_eq!((d.action, rule_kind(&d.rule)), (Action::Block, "override"));
    assert!(
        d.explain().contains("by override for pupil7 (everything)"),
        "{}",
        d.explain()
    );
    let d = e.decide(&p7, "www.school.sch.uk", before);
    assert_eq!((d.action, rule_kind(&d.rule)), (Action::Allow, "override"));
    assert_eq!(e.decide(&p7, "bbc.co.uk", at).action, Action::Allow);
    assert_eq!(rule_kind(&e.decide(&p7, "bbc.co.uk", at).rule), "default");
    assert_eq!(
        e.decide(&p8, "play-games.test", before).action,
        Action::Allow
    );
    assert_eq!(e.decide(&p8, "play-games.test", at).action, Action::Block);
}

#[test]
fn locked_categories_cannot_be_allowed() {
    let far = "2030-01-01T00:00:00Z";
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.lists.allow = vec!["abuse-bad.test".into(), "terror-bad.test".into()];
    cfg.overrides = vec![
        ov(
            "p",
            OverrideTarget::HostSuffix("abuse-bad.test".into()),
            Action::Allow,
            far,
        ),
        ov(
            "p",
            OverrideTarget::Category("terrorism".into()),
            Action::Allow,
            far,
        ),
        ov("p", OverrideTarget::All, Action::Allow, far),
    ];
    for pol in &mut cfg.policies.policies {
        pol.default = Action::Allow;
        pol.categories.insert("child_abuse".into(), Action::Allow);
        pol.categories.insert("terrorism".into(), Action::Allow);
    }
    let e = engine(&cfg);
    for host in ["abuse-bad.test", "x.abuse-bad.test", "terror-bad.test"] {
        for group in ["staff", "ks2"] {
            let d = e.decide(&Identity::person("p", group), host, ts(WED));
            assert_eq!(d.action, Action::Block, "{host} {group}");
            assert_eq!(rule_kind(&d.rule), "locked");
        }
    }
}

#[test]
fn engine_handle_swaps_at_once() {
    let db = fixture_db();
    let cfg = EngineConfig::uk_default().unwrap();
    let handle = EngineHandle::new(Engine::new(db.clone(), &cfg).unwrap());
    let who = Identity::group("ks2");
    assert_eq!(
        handle.load().decide(&who, "news.test", ts(WED)).action,
        Action::Allow
    );
    let held = handle.load();
    let mut cfg2 = cfg.clone();
    cfg2.lists.deny = vec!["news.test".into()];
    handle.store(Engine::new(db, &cfg2).unwrap());
    assert_eq!(
        handle.load().decide(&who, "news.test", ts(WED)).action,
        Action::Block
    );
    // a decision in flight on the old engine is unaffected
    assert_eq!(
        held.decide(&who, "news.test", ts(WED)).action,
        Action::Allow
    );
}

/// Every UT1 name in the shipped mapping exists in the UT1 snapshot (as a folder or an
/// alias), so a typo cannot silently leave a category empty. Names of non-UT1 lists
/// (`iwf`, `ctiru`) are exempt.
#[test]
fn shipped_mapping_names_exist_in_ut1() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ut1");
    let cats = gatehouse_filter::list::read_ut1_tree(&root).unwrap();
    let known: Vec<&str> = cats
        .iter()
        .flat_map(|c| std::iter::once(c.name.as_str()).chain(c.aliases.iter().map(String::as_str)))
        .collect();
    let t = Taxonomy::uk_default().unwrap();
    let mut mapped = Vec::new();
    for def in t.categories() {
        for s in &def.sources {
            if s == "iwf" || s == "ctiru" {
                continue;
            }
            assert!(
                known.contains(&s.as_str()),
                "{}: UT1 has no {s:?}",
                def.name
            );
            mapped.push(s.as_str());
        }
    }
    // the security-relevant UT1 lists are all mapped
    for must in [
        "adult",
        "gambling",
        "arjel",
        "malware",
        "phishing",
        "hacking",
        "cryptojacking",
        "ddos",
        "stalkerware",
        "vpn",
        "redirector",
        "residential-proxies",
        "doh",
        "drugs",
        "violence",
        "warez",
        "dating",
    ] {
        assert!(mapped.contains(&must), "UT1 {must} is not mapped");
    }
}

/// A school's own lists: one compiled under a Gatehouse name feeds it directly, one under
/// its own name feeds a school-defined category.
#[test]
fn school_lists_and_categories() {
    use gatehouse_filter::{CategoryDef, ListFormat};
    let dir = tempfile::tempdir().unwrap();
    let harm = dir.path().join("harm.txt");
    let exams = dir.path().join("exams.txt");
    std::fs::write(&harm, "harm-forum.test\n").unwrap();
    std::fs::write(&exams, "answers.test\n").unwrap();
    let out = dir.path().join("db.ghf");
    compile(
        &[
            Source::Ut1Tree {
                path: fixture_root(),
                prefix: String::new(),
            },
            Source::List {
                category: "self_harm".into(),
                format: ListFormat::Domains,
                path: harm,
            },
            Source::List {
                category: "school_exam_answers".into(),
                format: ListFormat::Domains,
                path: exams,
            },
        ],
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    let db = Arc::new(Database::open(&out).unwrap());
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.taxonomy
        .add_category(CategoryDef {
            name: Arc::from("exam_answers"),
            description: "Exam answer sites".into(),
            locked: false,
            sources: vec!["school_exam_answers".into()],
        })
        .unwrap();
    for p in &mut cfg.policies.policies {
        p.categories.insert("exam_answers".into(), Action::Block);
    }
    let e = Engine::new(db, &cfg).unwrap();
    let d = e.decide(&Identity::group("staff"), "www.harm-forum.test", ts(WED));
    assert_eq!(d.rule.to_string(), "policy:staff/self_harm");
    assert_eq!(d.action, Action::Warn);
    let d = e.decide(&Identity::group("sixth_form"), "answers.test", ts(WED));
    assert_eq!(d.rule.to_string(), "policy:sixth_form/exam_answers");
    assert_eq!(d.action, Action::Block);
}

#[test]
fn url_entries_match_when_a_path_is_given() {
    let e = engine(&EngineConfig::uk_default().unwrap());
    let who = Identity::group("ks2");
    let d = e.decide(&who, "https://filehost.test/nsfw/pic.jpg?x=1#top", ts(WED));
    assert_eq!(d.action, Action::Block, "{d:?}");
    assert_eq!(d.matched_list.as_deref(), Some("filehost.test/nsfw/"));
    assert_eq!(d.rule.to_string(), "policy:ks2/pornography");
    for other in [
        "filehost.test",
        "https://filehost.test/",
        "https://filehost.test/sfw/nsfw/",
    ] {
        let d = e.decide(&who, other, ts(WED));
        assert_eq!(d.rule.to_string(), "default:ks2", "{other}");
    }
}

/// A tree of `category/file` → lines compiled into a database.
fn db_of(files: &[(&str, &str)]) -> Arc<Database> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join("tree").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = dir.path().join("t.ghf");
    compile(
        &[Source::Ut1Tree {
            path: dir.path().join("tree"),
            prefix: String::new(),
        }],
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    Arc::new(Database::from_bytes(std::fs::read(&out).unwrap()).unwrap())
}

#[test]
fn a_listed_subdomain_keeps_its_listed_parents_categories_and_host_url_entries_match() {
    let db = db_of(&[
        ("adult/domains", "parent.test\n"),
        ("vpn/domains", "sub.parent.test\n"),
        (
            "malware/urls",
            "whole.test/\nsite.test/bad/\n198.51.100.1/evil\n",
        ),
        ("malware/domains", "192.0.2.7\n"),
    ]);
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.policies = PolicySet::from_toml(
        "fallback = \"p\"\n[policy.p]\ndefault = \"allow\"\nsafe_search = \"off\"\n\
         [policy.p.categories]\npornography = \"block\"\nmalware = \"block\"\n",
    )
    .unwrap();
    let e = Engine::new(db, &cfg).unwrap();
    let who = Identity::group("p");
    for host in [
        "parent.test",
        "sub.parent.test",
        "a.sub.parent.test",
        "x.parent.test",
    ] {
        let d = e.decide(&who, host, ts(WED));
        assert_eq!(d.action, Action::Block, "{host}: {d:?}");
        assert_eq!(d.category.as_deref(), Some("pornography"), "{host}");
        // the entry named is the one that put the host in the deciding category
        assert_eq!(d.matched_list.as_deref(), Some("parent.test"), "{host}");
    }
    let mut vpn = cfg.clone();
    vpn.policies = PolicySet::from_toml(
        "fallback = \"p\"\n[policy.p]\ndefault = \"allow\"\nsafe_search = \"off\"\n\
         [policy.p.categories]\ncircumvention = \"block\"\n",
    )
    .unwrap();
    let e2 = Engine::new(e.database().clone(), &vpn).unwrap();
    let d = e2.decide(&who, "a.sub.parent.test", ts(WED));
    assert_eq!(d.rule.to_string(), "policy:p/circumvention", "{d:?}");
    assert_eq!(d.matched_list.as_deref(), Some("sub.parent.test"));
    // a URL entry of a whole host (`host/`) matches every URL of that host, not the name
    for url in [
        "http://whole.test/",
        "http://whole.test/a?b",
        "https://whole.test",
    ] {
        assert_eq!(e.decide(&who, url, ts(WED)).action, Action::Block, "{url}");
    }
    assert_eq!(e.decide(&who, "whole.test", ts(WED)).action, Action::Allow);
    assert_eq!(
        e.decide(&who, "http://site.test/", ts(WED)).action,
        Action::Allow
    );
    // paths compare without regard to case, escapes of unreserved characters or `//`
    for url in [
        "http://site.test/bad/x",
        "http://site.test/BAD/x",
        "http://site.test/%62ad/",
        "http://site.test//bad//x",
    ] {
        assert_eq!(e.decide(&who, url, ts(WED)).action, Action::Block, "{url}");
    }
    assert_eq!(
        e.decide(&who, "http://site.test/b%2Fad/", ts(WED)).action,
        Action::Allow
    );
    // IP addresses in lists block requests to them
    for (url, action) in [
        ("http://192.0.2.7/x", Action::Block),
        ("192.0.2.7", Action::Block),
        ("http://192.0.2.8/x", Action::Allow),
        ("http://198.51.100.1:8080/evil/x", Action::Block),
        ("http://198.51.100.1/good", Action::Allow),
    ] {
        assert_eq!(e.decide(&who, url, ts(WED)).action, action, "{url}");
    }
}

#[test]
fn group_allow_sits_below_school_deny_and_above_the_category_policy() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.lists.group_allow.insert(
        "ks2".into(),
        vec!["play-games.test".into(), "abuse-bad.test".into()],
    );
    cfg.lists.deny = vec!["multi.example".into()];
    cfg.lists
        .group_allow
        .get_mut("ks2")
        .unwrap()
        .push("multi.example".into());
    let e = engine(&cfg);
    let ks2 = Identity::group("ks2");
    let d = e.decide(&ks2, "www.play-games.test", ts(WED));
    assert_eq!(
        (d.action, rule_kind(&d.rule)),
        (Action::Allow, "group_allow")
    );
    assert_eq!(d.rule.to_string(), "group_allow:ks2:play-games.test");
    assert!(
        d.explain().contains("allow list of group ks2"),
        "{}",
        d.explain()
    );
    // only that group
    let d = e.decide(&Identity::group("eyfs_ks1"), "play-games.test", ts(WED));
    assert_eq!((d.action, rule_kind(&d.rule)), (Action::Block, "category"));
    // the school's deny list and the locked lists still win
    let d = e.decide(&ks2, "multi.example", ts(WED));
    assert_eq!(rule_kind(&d.rule), "deny");
    let d = e.decide(&ks2, "abuse-bad.test", ts(WED));
    assert_eq!(rule_kind(&d.rule), "locked");
}

#[test]
fn signing_gate_holds_listed_people_outside_the_walled_garden() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.gate.mode = GateMode::Enforce;
    cfg.gate.people.insert("7".into());
    cfg.gate.groups.insert("unidentified".into());
    cfg.gate.walled_garden = vec!["login.school.test".into()];
    let e = engine(&cfg);
    let held = Identity::person("7", "ks2");
    let d = e.decide(&held, "news.test", ts(WED));
    assert_eq!(
        (d.action, &d.rule, d.gated),
        (Action::Block, &Rule::Gate, true)
    );
    assert!(d.explain().contains("signed first"));
    let d = e.decide(&held, "sso.login.school.test", ts(WED));
    assert_eq!((d.action, d.gated), (Action::Allow, false), "walled garden");
    // locked lists still name their category
    let d = e.decide(&held, "abuse-bad.test", ts(WED));
    assert_eq!((rule_kind(&d.rule), d.gated), ("locked", true));
    // someone who has signed, and a known group, pass
    let d = e.decide(&Identity::person("8", "ks2"), "news.test", ts(WED));
    assert_eq!((d.action, d.gated), (Action::Allow, false));
    let d = e.decide(&Identity::group("staff"), "news.test", ts(WED));
    assert_eq!((d.action, d.gated), (Action::Allow, false));
    let d = e.decide(&Identity::group("unidentified"), "news.test", ts(WED));
    assert_eq!(d.rule, Rule::Gate);

    // audit mode lets them through, marked
    cfg.gate.mode = GateMode::Audit;
    let e = engine(&cfg);
    let d = e.decide(&held, "news.test", ts(WED));
    assert_eq!(
        (d.action, rule_kind(&d.rule), d.gated),
        (Action::Allow, "default", true)
    );
    assert!(d.explain().contains("audit mode"), "{}", d.explain());
    let d = e.decide(&held, "play-games.test", ts(WED));
    assert_eq!((d.action, d.gated), (Action::Block, true));
}

#[test]
fn a_person_can_be_put_under_another_groups_policy() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.person_policies.insert("s1".into(), "eyfs_ks1".into());
    let e = engine(&cfg);
    // games: logged for staff, blocked for early years
    let own = e.decide(&Identity::person("s2", "staff"), "play-games.test", ts(WED));
    let restricted = e.decide(&Identity::person("s1", "staff"), "play-games.test", ts(WED));
    assert_eq!(own.action, Action::Log, "{}", own.explain());
    assert_eq!(restricted.action, Action::Block, "{}", restricted.explain());
    assert!(
        restricted.rule.to_string().starts_with("policy:eyfs_ks1/"),
        "{}",
        restricted.rule
    );
    cfg.person_policies
        .insert("s1".into(), "no_such_policy".into());
    let err = Engine::new(fixture_db(), &cfg).unwrap_err().to_string();
    assert!(err.contains("no_such_policy"), "{err}");
}
