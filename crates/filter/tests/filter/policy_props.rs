//! Properties of the policy engine: `decide` never panics on arbitrary input and
//! configuration, and a host with no listing and no rules gets the policy's default.

use std::sync::{Arc, OnceLock};

use gatehouse_filter::{
    Action, Database, Engine, EngineConfig, Identity, Override, OverrideTarget, Policy, Rule,
    SafeSearchLevel,
};
use jiff::Timestamp;
use proptest::prelude::*;

fn db() -> Arc<Database> {
    static DB: OnceLock<Arc<Database>> = OnceLock::new();
    DB.get_or_init(super::policy::fixture_db).clone()
}

const CATS: &[&str] = &[
    "pornography",
    "games",
    "shopping",
    "social_networks",
    "circumvention",
    "malware",
    "gambling",
    "chat",
    "child_abuse",
];
const HOSTS: &[&str] = &[
    "porn.example",
    "multi.example",
    "play-games.test",
    "abuse-bad.test",
    "google.com",
    "dogpile.com",
    "news.test",
    "friends.test",
    "learn-play.test",
];

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Allow),
        Just(Action::Log),
        Just(Action::Warn),
        Just(Action::Block)
    ]
}

fn level() -> impl Strategy<Value = SafeSearchLevel> {
    prop_oneof![
        Just(SafeSearchLevel::Strict),
        Just(SafeSearchLevel::Moderate),
        Just(SafeSearchLevel::Off)
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        action(),
        proptest::collection::vec((0..CATS.len(), action()), 0..8),
        level(),
        any::<bool>(),
        proptest::option::of((
            0..CATS.len(),
            action(),
            0u32..=86_400,
            0u32..=86_400,
            0u8..128,
        )),
    )
        .prop_map(|(default, cats, ss, bus, rule)| {
            let mut p = Policy::new("random", default);
            for (c, a) in cats {
                p.categories.insert(CATS[c].to_owned(), a);
            }
            p.safe_search = ss;
            p.block_unsafe_search = bus;
            if let Some((c, a, from, until, days)) = rule {
                p.schedule.push(gatehouse_filter::ScheduleRule {
                    category: CATS[c].to_owned(),
                    action: a,
                    days: gatehouse_filter::Days(days),
                    from,
                    until,
                    term_only: false,
                });
            }
            p
        })
}

fn time() -> impl Strategy<Value = Timestamp> {
    (1_700_000_000i64..1_900_000_000).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn config(
    p: Policy,
    allow: Vec<usize>,
    deny: Vec<usize>,
    overrides: Vec<(usize, Action, i64)>,
) -> EngineConfig {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.policies.policies.push(p);
    cfg.lists.allow = allow.into_iter().map(|i| HOSTS[i].to_owned()).collect();
    cfg.lists.deny = deny.into_iter().map(|i| HOSTS[i].to_owned()).collect();
    cfg.overrides = overrides
        .into_iter()
        .map(|(i, a, until)| Override {
            person: "p".into(),
            target: if i < HOSTS.len() {
                OverrideTarget::HostSuffix(HOSTS[i].to_owned())
            } else if i < HOSTS.len() + CATS.len() {
                OverrideTarget::Category(CATS[i - HOSTS.len()].to_owned())
            } else {
                OverrideTarget::All
            },
            action: a,
            until: Timestamp::from_second(until).unwrap(),
        })
        .collect();
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decide_never_panics(
        p in policy(),
        allow in proptest::collection::vec(0..HOSTS.len(), 0..3),
        deny in proptest::collection::vec(0..HOSTS.len(), 0..3),
        ovs in proptest::collection::vec((0..HOSTS.len() + CATS.len() + 1, action(), 1_700_000_000i64..1_900_000_000), 0..4),
        input in prop_oneof![
            (0..HOSTS.len()).prop_map(|i| HOSTS[i].to_owned()),
            "\\PC{0,80}",
            "[a-z0-9.:/@\\[\\]-]{0,60}",
        ],
        person in proptest::option::of(prop_oneof![Just("p".to_owned()), Just("q".to_owned())]),
        group in prop_oneof![Just("random".to_owned()), Just("ks2".to_owned()), Just("nope".to_owned())],
        at in time(),
    ) {
        let e = Engine::new(db(), &config(p, allow, deny, ovs)).unwrap();
        let d = e.decide(&Identity { person, group }, &input, at);
        let _ = d.explain();
        let _ = d.rule.to_string();
    }

    #[test]
    fn unlisted_host_without_rules_gets_the_default(
        p in policy(),
        allow in proptest::collection::vec(0..HOSTS.len(), 0..3),
        deny in proptest::collection::vec(0..HOSTS.len(), 0..3),
        label in "[a-z][a-z0-9]{0,20}",
        at in time(),
    ) {
        let default = p.default;
        let e = Engine::new(db(), &config(p, allow, deny, vec![])).unwrap();
        let host = format!("{label}.unlisted-zone.test");
        let d = e.decide(&Identity::person("p", "random"), &host, at);
        prop_assert_eq!(d.action, default);
        prop_assert_eq!(d.rule, Rule::Default { policy: Arc::from("random") });
    }
}
