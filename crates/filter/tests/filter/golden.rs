//! Golden test of the policy engine over the fixture lists in `tests/fixtures/ut1mini`:
//! deterministic host × group × person × time cases, one line each
//! (`host\tgroup\ttime\taction\trule`), compared with `tests/fixtures/golden.tsv`.
//!
//! After an intended change of behaviour, regenerate the file and review its diff:
//!
//! ```text
//! GATEHOUSE_BLESS=1 cargo test -p gatehouse-filter --test filter golden
//! git diff crates/filter/tests/fixtures/golden.tsv
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use gatehouse_filter::{Action, Engine, EngineConfig, Identity, Override, OverrideTarget};

use super::policy::{fixture_db, ts};

const HOSTS: &[&str] = &[
    "porn.example",
    "www.adult-one.test",
    "abuse-bad.test",
    "terror-bad.test",
    "casino.example",
    "paris-sportifs.test",
    "play-games.test",
    "multi.example",
    "shop-here.test",
    "friends.test",
    "socialbook.test",
    "hide-me.test",
    "proxy-site.test",
    "translate.test",
    "bad-download.test",
    "bank-login.test",
    "chatroom.test",
    "undies.test",
    "learn-play.test",
    "weed.test",
    "mail.test",
    "google.com",
    "www.google.co.uk",
    "youtube.com",
    "www.bing.com",
    "dogpile.com",
    "www.ecosia.org",
    "school.sch.uk",
    "denied.test",
    "allowed.example",
    "bbc.co.uk",
    "https://www.porn.example/path?q=1",
    "https://filehost.test/nsfw/a.jpg",
    "filehost.test",
    "bad host!",
];

const GROUPS: &[&str] = &[
    "eyfs_ks1",
    "ks2",
    "ks3_4",
    "sixth_form",
    "staff",
    "guests",
    "unidentified",
    "unknown_group",
];

/// Wednesday lunchtime (BST), Monday 16:00 (GMT), Saturday 12:30 (GMT), and a weekday
/// after pupil8's override has expired.
const TIMES: &[&str] = &[
    "2026-10-21T11:30:00Z",
    "2026-11-16T16:00:00Z",
    "2026-11-21T12:30:00Z",
    "2026-12-01T10:00:00Z",
];

#[test]
fn golden_decisions() {
    let mut cfg = EngineConfig::uk_default().unwrap();
    cfg.lists.deny = vec!["denied.test".into()];
    cfg.lists.allow = vec!["allowed.example".into(), "friends.test".into()];
    let until = "2026-11-25T00:00:00Z";
    cfg.overrides = vec![
        Override {
            person: "pupil7".into(),
            target: OverrideTarget::All,
            action: Action::Block,
            until: ts(until),
        },
        Override {
            person: "pupil7".into(),
            target: OverrideTarget::HostSuffix("school.sch.uk".into()),
            action: Action::Allow,
            until: ts(until),
        },
        Override {
            person: "pupil8".into(),
            target: OverrideTarget::Category("games".into()),
            action: Action::Allow,
            until: ts(until),
        },
    ];
    let e = Engine::new(fixture_db(), &cfg).unwrap();
    let mut out = String::from("# host\tgroup\ttime\taction\trule\n");
    for host in HOSTS {
        for group in GROUPS {
            for time in TIMES {
                let who = Identity::group(group);
                let d = e.decide(&who, host, ts(time));
                writeln!(
                    out,
                    "{host}\t{group}\t{time}\t{}\t{}",
                    d.action.as_str(),
                    d.rule
                )
                .unwrap();
            }
        }
        for person in ["pupil7", "pupil8"] {
            for time in TIMES {
                let who = Identity::person(person, "ks3_4");
                let d = e.decide(&who, host, ts(time));
                writeln!(
                    out,
                    "{host}\tks3_4/{person}\t{time}\t{}\t{}",
                    d.action.as_str(),
                    d.rule
                )
                .unwrap();
            }
        }
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden.tsv");
    if std::env::var_os("GATEHOUSE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &out).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with GATEHOUSE_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != out {
        let first = expected
            .lines()
            .zip(out.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("expected: {a}\n     got: {b}"))
            .unwrap_or_else(|| "line count differs".to_owned());
        panic!(
            "golden decisions changed ({} expected lines, {} now); first difference:\n{first}\nIf intended, rerun with GATEHOUSE_BLESS=1 and review the diff.",
            expected.lines().count(),
            out.lines().count()
        );
    }
}
