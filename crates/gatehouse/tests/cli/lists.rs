//! `gatehouse lists compile` and `gatehouse check` (single checks, `--json`, `--at`, and
//! squid batch mode) over small fixture lists written by the tests, plus one compile of
//! the real UT1 tree in the shared data folder. Usernames resolve to groups through a
//! users file (`--users`) or the accounts of a demo installation.

use crate::support::{Run, Site, installation};
use std::path::{Path, PathBuf};

/// A small UT1-style tree (gambling with one invalid line on line 3, games, adult with a
/// URL entry), a hosts file and an adblock file, in the site's file folder.
struct Fixture {
    site: Site,
    tree: PathBuf,
    hosts: PathBuf,
    adblock: PathBuf,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("mkdir");
    std::fs::write(path, text).expect("writing a fixture");
}

fn fixture() -> Fixture {
    fixture_in(Site::empty())
}

/// The fixture lists in the file folder of `site` (e.g. a demo installation).
fn fixture_in(site: Site) -> Fixture {
    let tree = site.file("ut1");
    write(
        &tree.join("gambling/domains"),
        "casino-example.com\nbet-example.co.uk\nbad..name\n",
    );
    write(&tree.join("games/domains"), "games-example.com\n");
    write(&tree.join("adult/domains"), "porn-example.com\n");
    write(&tree.join("adult/urls"), "porn-example.com/videos\n");
    let hosts = site.write(
        "hosts.txt",
        "# a hosts file\n127.0.0.1 localhost\n0.0.0.0 malware-example.net\n0.0.0.0 evil-example.org\n",
    );
    let adblock = site.write(
        "ads.txt",
        "[Adblock Plus 2.0]\n! a comment\n||tracker-example.com^\n",
    );
    Fixture {
        site,
        tree,
        hosts,
        adblock,
    }
}

impl Fixture {
    /// `check --batch --as-default ks2 EXTRA… --lists DB` answering `input`.
    fn batch_ks2(&self, db: &Path, extra: &[&str], input: &str) -> Run {
        let mut cmd = self
            .site
            .command(&["check", "--batch", "--as-default", "ks2"]);
        cmd.args(extra).arg("--lists").arg(db);
        Run::of(cmd, Some(input))
    }

    /// Compile the tree and the hosts file (category malware) into `main.gdb`.
    fn compile(&self) -> (PathBuf, Run) {
        let out = self.site.file("out/main.gdb");
        let run = self.run(&[
            "lists".as_ref(),
            "compile".as_ref(),
            self.tree.as_os_str(),
            self.hosts.as_os_str(),
            "--category".as_ref(),
            "malware".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        (out, run.ok())
    }

    fn run(&self, args: &[&std::ffi::OsStr]) -> Run {
        let mut cmd = self.site.command(&[]);
        cmd.args(args);
        Run::of(cmd, None)
    }

    fn check(&self, db: &Path, args: &[&str]) -> Run {
        let mut cmd = self.site.command(&["check"]);
        cmd.args(args).arg("--lists").arg(db);
        Run::of(cmd, None)
    }

    fn check_json(&self, db: &Path, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.check(db, &all).ok().json()
    }
}

#[test]
fn compile_reports_counts_per_category_invalid_lines_size_and_time() {
    let f = fixture();
    let (out, run) = f.compile();
    assert!(out.is_file(), "no database written: {run}");
    for (cat, domains) in [("gambling", 2), ("games", 1), ("adult", 1), ("malware", 2)] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(cat)
                    && l.contains(&format!("{domains} domains"))),
            "no count of {domains} domains for {cat}: {run}"
        );
    }
    let bad = format!("{}:3:", f.tree.join("gambling").join("domains").display());
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(&bad) && l.contains("bad..name")),
        "the invalid line 3 of gambling/domains is not reported as {bad:?}: {run}"
    );
    assert!(run.stdout.contains("bytes per domain"), "{run}");
    assert!(run.stdout.contains("took"), "{run}");
}

#[test]
fn check_blocks_listed_hosts_and_subdomains_with_the_rule_and_not_lookalikes() {
    let f = fixture();
    let (db, _) = f.compile();

    f.check(&db, &["casino-example.com", "--as", "ks2"])
        .ok()
        .says("action:     block")
        .says("blocked: gambling (listed: casino-example.com) by policy ks2")
        .says("policy:ks2/gambling");

    let sub = f.check_json(&db, &["https://www.casino-example.com/page", "--as", "ks2"]);
    assert_eq!(sub["action"], "block", "{sub}");
    assert_eq!(sub["category"], "gambling", "{sub}");
    assert_eq!(sub["matched_list"], "casino-example.com", "{sub}");
    assert_eq!(sub["host"], "www.casino-example.com", "{sub}");

    let other = f.check_json(&db, &["badexample.com", "--as", "ks2"]);
    assert_eq!(other["action"], "allow", "{other}");
    assert_eq!(other["matched_list"], serde_json::Value::Null, "{other}");
    assert_eq!(other["rule"], "default:ks2", "{other}");

    let hosts = f.check_json(&db, &["evil-example.org", "--as", "staff"]);
    assert_eq!(hosts["action"], "block", "{hosts}");
    assert_eq!(hosts["category"], "malware", "{hosts}");

    // A URL entry of the adult folder: the category comes from the URL match.
    let url = f.check_json(&db, &["http://porn-example.com/videos/1", "--as", "staff"]);
    assert_eq!(url["action"], "block", "{url}");
    assert_eq!(url["category"], "pornography", "{url}");
}

#[test]
fn check_json_has_every_field() {
    let f = fixture();
    let (db, _) = f.compile();
    let v = f.check_json(
        &db,
        &[
            "bet-example.co.uk",
            "--as",
            "ks3_4",
            "--at",
            "2026-01-05T10:00:00Z",
        ],
    );
    assert_eq!(v["host"], "bet-example.co.uk", "{v}");
    assert_eq!(v["group"], "ks3_4", "{v}");
    assert_eq!(v["at"], "2026-01-05T10:00:00Z", "{v}");
    assert_eq!(v["action"], "block", "{v}");
    assert_eq!(v["category"], "gambling", "{v}");
    assert_eq!(v["rule"], "policy:ks3_4/gambling", "{v}");
    assert_eq!(v["matched_list"], "bet-example.co.uk", "{v}");
    assert!(v.get("safe_search").is_some(), "{v}");
    assert_eq!(v["safe_search"], serde_json::Value::Null, "{v}");

    let google = f.check_json(&db, &["www.google.com", "--as", "ks2"]);
    assert!(google["safe_search"]["target"].is_string(), "{google}");
}

#[test]
fn check_at_lunchtime_allows_games_for_ks3_4_and_blocks_them_in_lessons() {
    let f = fixture();
    let (db, _) = f.compile();
    // Monday 5 January 2026 (GMT): lunch 12:00-13:15 allows games for ks3_4.
    let lunch = f.check_json(
        &db,
        &[
            "games-example.com",
            "--as",
            "ks3_4",
            "--at",
            "2026-01-05 12:30",
        ],
    );
    let lesson = f.check_json(
        &db,
        &[
            "games-example.com",
            "--as",
            "ks3_4",
            "--at",
            "2026-01-05 10:00",
        ],
    );
    assert_eq!(lunch["action"], "allow", "{lunch}");
    assert_eq!(
        lunch["rule"], "policy:ks3_4/games@mon-fri 12:00-13:15",
        "{lunch}"
    );
    assert_eq!(lesson["action"], "block", "{lesson}");
    assert_eq!(lesson["rule"], "policy:ks3_4/games", "{lesson}");
    // The same instants in RFC 3339 (British Summer Time: local 12:30 is 11:30Z).
    let summer = f.check_json(
        &db,
        &[
            "games-example.com",
            "--as",
            "ks3_4",
            "--at",
            "2026-06-01T11:30:00Z",
        ],
    );
    assert_eq!(summer["action"], "allow", "{summer}");
}

#[test]
fn check_names_the_groups_when_the_group_is_unknown_or_the_time_is_bad() {
    let f = fixture();
    let (db, _) = f.compile();
    f.check(&db, &["casino-example.com", "--as", "year7"])
        .fails()
        .complains("unknown group \"year7\"")
        .complains("ks3_4")
        .complains("staff");
    f.check(
        &db,
        &["casino-example.com", "--as", "ks2", "--at", "lunchtime"],
    )
    .fails()
    .complains("--at");
}

#[test]
fn check_without_lists_uses_the_installation_lists_or_says_how_to_make_them() {
    let f = fixture();
    f.site
        .run(&["check", "casino-example.com", "--as", "ks2"])
        .fails()
        .complains("lists/current.gdb");
    let current = f.site.data().join("lists").join("current.gdb");
    let mut cmd = f.site.command(&["lists", "compile"]);
    cmd.arg(&f.tree).arg("-o").arg(&current);
    Run::of(cmd, None).ok();
    f.site
        .run(&["check", "casino-example.com", "--as", "ks2"])
        .ok()
        .says("action:     block");
}

#[test]
fn an_adblock_file_and_a_ut1_category_folder_compile_on_their_own() {
    let f = fixture();
    let out = f.site.file("ads.gdb");
    let mut cmd = f.site.command(&["lists", "compile"]);
    cmd.arg(&f.adblock)
        .arg(f.tree.join("games"))
        .args(["--category", "advertising", "-o"])
        .arg(&out);
    let run = Run::of(cmd, None).ok().says("advertising");
    let tracker = f.check_json(&out, &["sub.tracker-example.com", "--as", "ks2"]);
    assert_eq!(tracker["action"], "block", "{tracker} {run}");
    assert_eq!(tracker["category"], "advertising", "{tracker}");
    assert_eq!(tracker["matched_list"], "tracker-example.com", "{tracker}");

    // A list file needs a category.
    let mut cmd = f.site.command(&["lists", "compile"]);
    cmd.arg(&f.hosts).arg("-o").arg(f.site.file("x.gdb"));
    Run::of(cmd, None).fails().complains("--category");
}

#[test]
fn batch_answers_every_line_in_order_and_survives_a_malformed_one() {
    let f = fixture();
    let (db, _) = f.compile();
    let input = "http://www.casino-example.com/x 10.0.0.1/- - GET\n\
                 https://games-example.com/ 10.0.0.2/- staff GET myip=10.0.0.9 myport=3128\n\
                 this-is-not-a-request\n\
                 http://badexample.com/ 10.0.0.3/- ks2 GET\n\
                 evil-example.org:443 10.0.0.4/pc4.school.invalid - CONNECT\n";
    let run = f.batch_ks2(&db, &[], input).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "expected 5 verdicts: {run}");
    assert_eq!(
        lines[0],
        "OK status=302 url=\"http://block.gatehouse.invalid/?category=gambling&host=www.casino-example.com\"",
        "{run}"
    );
    assert_eq!(
        lines[1], "OK",
        "games are logged, not blocked, for staff: {run}"
    );
    assert!(lines[2].starts_with("BH message=\""), "{run}");
    assert_eq!(lines[3], "OK", "{run}");
    assert_eq!(
        lines[4],
        "OK status=302 url=\"http://block.gatehouse.invalid/?category=malware&host=evil-example.org\"",
        "{run}"
    );
}

#[test]
fn batch_answers_a_line_that_is_not_utf8_with_an_error_and_the_lines_around_it_as_usual() {
    let f = fixture();
    let (db, _) = f.compile();
    let mut input = b"http://www.casino-example.com/x 10.0.0.1/- - GET\n".to_vec();
    input.extend_from_slice(b"http://caf\xe9-example.com/ 10.0.0.2/- - GET\n");
    input.extend_from_slice(b"http://badexample.com/ 10.0.0.3/- ks2 GET\n");
    let mut cmd = f
        .site
        .command(&["check", "--batch", "--as-default", "ks2", "--lists"]);
    cmd.arg(&db);
    let run = Run::of_bytes(cmd, Some(&input)).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "OK status=302 url=\"http://block.gatehouse.invalid/?category=gambling&host=www.casino-example.com\"",
            "BH message=\"line is not UTF-8\"",
            "OK",
        ],
        "{run}"
    );
}

#[test]
fn batch_answers_crlf_lines_lines_longer_than_its_buffer_and_a_last_line_without_newline() {
    let f = fixture();
    let (db, _) = f.compile();
    // a URL longer than the 64 KiB input buffer, so that its line arrives in parts
    let long = format!("http://www.casino-example.com/{}", "a".repeat(70_000));
    let input = format!(
        "http://www.casino-example.com/x 10.0.0.1/- - GET\r\n\
         {long} 10.0.0.2/- - GET\n\
         http://badexample.com/ 10.0.0.3/- ks2 GET\r\n\
         evil-example.org:443 10.0.0.4/- - CONNECT"
    );
    let run = f.batch_ks2(&db, &[], &input).ok();
    let gambling = "OK status=302 url=\"http://block.gatehouse.invalid/?category=gambling&host=www.casino-example.com\"";
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            gambling,
            gambling,
            "OK",
            "OK status=302 url=\"http://block.gatehouse.invalid/?category=malware&host=evil-example.org\"",
        ],
        "{run}"
    );
}

#[test]
fn batch_with_threads_answers_as_one_thread_does_in_input_order() {
    let f = fixture();
    let (db, _) = f.compile();
    // enough lines (over 8 KiB per read) to be shared out, in a varied order
    let kinds = [
        "http://www.casino-example.com/x 10.0.0.1/- - GET",
        "http://badexample.com/ 10.0.0.2/- ks2 GET",
        "not-a-request",
        "http://porn-example.com/videos/1 10.0.0.3/- staff GET",
        "https://games-example.com/ 10.0.0.4/- sixth_form GET",
        "evil-example.org:443 10.0.0.5/- - CONNECT",
    ];
    let input: String = (0..3000)
        .map(|i| format!("{i} {}\n", kinds[(i * 7 + i / 5) % kinds.len()]))
        .collect();
    let run = |threads: &str| f.batch_ks2(&db, &["--threads", threads], &input).ok();
    let one = run("1");
    let three = run("3");
    assert_eq!(one.stdout.lines().count(), 3000, "{one}");
    for (i, line) in three.stdout.lines().enumerate() {
        assert!(
            line.starts_with(&format!("{i} ")),
            "answer {i} out of order: {line}"
        );
    }
    assert_eq!(three.stdout, one.stdout);
    let mut cmd = f
        .site
        .command(&["check", "--batch", "--threads", "0", "--lists"]);
    cmd.arg(&db);
    Run::of(cmd, None).fails().complains("--threads");
}

#[test]
fn the_real_ut1_tree_compiles_and_blocks_a_gambling_domain_for_ks2() {
    let ut1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ut1");
    assert!(
        ut1.join("gambling").join("domains").is_file(),
        "the UT1 tree is missing: expected {} with gambling/domains (the shared data folder next to the workspace)",
        ut1.display()
    );
    let domains =
        std::fs::read_to_string(ut1.join("gambling/domains")).expect("reading gambling/domains");
    let domain = domains
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && l.contains('.'))
        .expect("a domain in gambling/domains")
        .to_owned();

    let site = Site::empty();
    let out = site.file("ut1.gdb");
    let mut cmd = site.command(&["lists", "compile"]);
    cmd.arg(&ut1).arg("-o").arg(&out);
    let run = Run::of(cmd, None)
        .ok()
        .says("gambling")
        .says("bytes per domain");

    let mut cmd = site.command(&["check", "--json", &domain, "--as", "ks2", "--lists"]);
    cmd.arg(&out);
    let v = Run::of(cmd, None).ok().json();
    assert_eq!(v["action"], "block", "{domain}: {v}\n{run}");
    assert!(
        v["categories"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "gambling")),
        "{domain} is not in gambling: {v}"
    );
}

#[test]
fn batch_answers_each_line_before_the_next_one_is_sent() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let f = fixture();
    let (db, _) = f.compile();
    let mut cmd = f.site.command(&["check", "--batch", "--lists"]);
    cmd.arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("starting gatehouse check --batch");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("reading a verdict")).is_err() {
                break;
            }
        }
    });
    // Like squid with concurrency=0: send one line, wait for its answer, then the next.
    let limit = Duration::from_secs(60);
    for (line, want) in [
        (
            "http://casino-example.com/ 10.0.0.1/- - GET\n",
            "OK status=302 url=",
        ),
        ("http://badexample.com/ 10.0.0.1/- - GET\n", "OK"),
        ("\n", "BH message="),
        (
            "http://games-example.com/ 10.0.0.1/- sixth_form GET\n",
            "OK status=302 url=\"http://block.gatehouse.invalid/?category=games&host=games-example.com&action=warn\"",
        ),
    ] {
        stdin.write_all(line.as_bytes()).expect("writing a request");
        stdin.flush().expect("flushing the request");
        let got = rx
            .recv_timeout(limit)
            .unwrap_or_else(|e| panic!("no answer to {line:?} (not flushed?): {e}"));
        let fits = if want.ends_with('=') {
            got.starts_with(want)
        } else {
            got == want
        };
        assert!(fits, "{line:?} -> {got:?}, expected {want:?}");
    }
    drop(stdin);
    let status = child.wait().expect("waiting for gatehouse");
    assert!(status.success(), "batch mode exited with {status}");
}

#[test]
fn check_as_a_username_of_the_installation_uses_the_group_of_their_person() {
    let f = fixture_in(installation());
    let (db, _) = f.compile();
    // the demo's `pupil` is in Year 6, `teacher` is staff, `parent` and `visitor` guests
    for (user, group, action) in [
        ("pupil", "ks2", "block"),
        ("teacher", "staff", "log"),
        ("parent", "guests", "block"),
        ("visitor", "guests", "block"),
    ] {
        let v = f.check_json(&db, &["games-example.com", "--as", user]);
        assert_eq!(v["group"], group, "{user}: {v}");
        assert_eq!(v["user"], user, "{user}: {v}");
        assert_eq!(v["action"], action, "{user}: {v}");
        assert!(
            v["as"].as_str().is_some_and(|a| a.contains(user)),
            "{user}: {v}"
        );
    }
    let v = f.check_json(&db, &["games-example.com", "--as", "PUPIL"]);
    assert_eq!(v["group"], "ks2", "usernames ignore case: {v}");
    // a group name wins and says so
    let v = f.check_json(&db, &["games-example.com", "--as", "staff"]);
    assert_eq!(v["group"], "staff", "{v}");
    assert_eq!(v["user"], serde_json::Value::Null, "{v}");
    assert_eq!(v["as"], "group", "{v}");
    f.check(&db, &["games-example.com", "--as", "pupil"])
        .ok()
        .says("as:         user pupil, pupil in year 6 -> group ks2")
        .says("action:     block");
    f.check(&db, &["games-example.com", "--as", "nobody.here"])
        .fails()
        .complains("\"nobody.here\" is neither a group nor a username");
}

#[test]
fn batch_resolves_squid_users_through_the_installation_accounts() {
    let f = fixture_in(installation());
    let (db, _) = f.compile();
    let input = "http://games-example.com/ 10.0.0.1/- pupil GET\n\
                 http://games-example.com/ 10.0.0.2/- teacher GET\n\
                 http://games-example.com/ 10.0.0.3/- Teacher GET\n\
                 http://games-example.com/ 10.0.0.4/- staff GET\n\
                 http://games-example.com/ 10.0.0.5/- nobody GET\n";
    let mut cmd = f.site.command(&["check", "--batch", "--lists"]);
    cmd.arg(&db);
    let run = Run::of(cmd, Some(input)).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let blocked = "OK status=302 url=\"http://block.gatehouse.invalid/?category=games&host=games-example.com\"";
    assert_eq!(
        lines,
        [blocked, "OK", "OK", "OK", blocked],
        "pupil (ks2) blocked, teacher and staff logged, an unknown user gets the fallback: {run}"
    );
}

#[test]
fn batch_resolves_users_from_a_users_file_and_echoes_channel_ids() {
    let f = fixture();
    let (db, _) = f.compile();
    let users = f.site.write(
        "users.txt",
        "# username group\nalice ks2\nBob staff   # a comment\n\ncarol sixth_form\n",
    );
    let input = "0 http://games-example.com/ 10.0.0.1/- alice GET\n\
                 1 http://games-example.com/ 10.0.0.2/- bob GET\n\
                 2 http://games-example.com/ 10.0.0.3/- ALICE GET\n\
                 3 http://games-example.com/ 10.0.0.4/- carol GET\n\
                 4 http://games-example.com/ 10.0.0.5/- - GET\n\
                 5 http://games-example.com/ 10.0.0.6/- dave GET\n\
                 6 http://games-example.com/ 10.0.0.7/- DOMAIN%5Cbob GET\n\
                 7 not-a-request\n\
                 8 http://games-example.com/ 10.0.0.8/- b%6Fb GET\n\
                 9\thttp://games-example.com/  10.0.0.9/-\t alice GET\n";
    let mut cmd = f
        .site
        .command(&["check", "--batch", "--as-default", "staff", "--users"]);
    cmd.arg(&users).arg("--lists").arg(&db);
    let run = Run::of(cmd, Some(input)).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let url = "url=\"http://block.gatehouse.invalid/?category=games&host=games-example.com";
    assert_eq!(lines.len(), 10, "one answer per line: {run}");
    assert_eq!(
        lines[0],
        format!("0 OK status=302 {url}\""),
        "alice is ks2: {run}"
    );
    assert_eq!(lines[1], "1 OK", "bob is staff: {run}");
    assert_eq!(lines[2], format!("2 OK status=302 {url}\""), "case: {run}");
    assert_eq!(
        lines[3],
        format!("3 OK status=302 {url}&action=warn\""),
        "carol is sixth_form (warned): {run}"
    );
    assert_eq!(lines[4], "4 OK", "no user: the default, staff: {run}");
    assert_eq!(lines[5], "5 OK", "unknown user: the default: {run}");
    assert_eq!(lines[6], "6 OK", "not bob: the default: {run}");
    assert!(lines[7].starts_with("7 BH message=\""), "{run}");
    assert_eq!(lines[8], "8 OK", "percent-encoded bob: {run}");
    assert_eq!(
        lines[9],
        format!("9 OK status=302 {url}\""),
        "fields apart by tabs and runs of spaces: {run}"
    );
}

#[test]
fn a_bad_users_file_is_refused_with_its_line_number() {
    let f = fixture();
    let (db, _) = f.compile();
    for (text, complaint) in [
        ("alice ks2\nbob\n", "line 2: expected `username group`"),
        (
            "# users\nalice ks2\n\nbob staff extra\n",
            "line 4: expected `username group`",
        ),
        (
            "alice ks2\nbob year7\n",
            "line 2: unknown group \"year7\" for bob",
        ),
        ("alice ks2\nALICE staff\n", "line 2: ALICE is listed twice"),
    ] {
        let users = f.site.write("users.txt", text);
        let mut cmd = f.site.command(&["check", "--batch", "--users"]);
        cmd.arg(&users).arg("--lists").arg(&db);
        Run::of(cmd, Some("")).fails().complains(complaint);
        let mut cmd = f
            .site
            .command(&["check", "games-example.com", "--as", "alice", "--users"]);
        cmd.arg(&users).arg("--lists").arg(&db);
        Run::of(cmd, None).fails().complains(complaint);
    }
    let users = f.site.write("users.txt", "alice ks2\n");
    let mut cmd = f.site.command(&[
        "check",
        "games-example.com",
        "--as",
        "alice",
        "--json",
        "--users",
    ]);
    cmd.arg(&users).arg("--lists").arg(&db);
    let v = Run::of(cmd, None).ok().json();
    assert_eq!(v["group"], "ks2", "{v}");
    assert_eq!(v["action"], "block", "{v}");
}

#[test]
fn a_policies_file_replaces_the_default_policies() {
    let f = fixture();
    let (db, _) = f.compile();
    let policies = f.site.write(
        "policies.toml",
        "fallback = \"everyone\"\n[policy.everyone]\ndefault = \"allow\"\n\
         [policy.everyone.categories]\ngames = \"block\"\n",
    );
    let mut cmd = f.site.command(&[
        "check",
        "games-example.com",
        "--as",
        "everyone",
        "--json",
        "--policies",
    ]);
    cmd.arg(&policies).arg("--lists").arg(&db);
    let v = Run::of(cmd, None).ok().json();
    assert_eq!(v["rule"], "policy:everyone/games", "{v}");
    let mut cmd = f
        .site
        .command(&["check", "games-example.com", "--as", "ks2", "--policies"]);
    cmd.arg(&policies).arg("--lists").arg(&db);
    Run::of(cmd, None)
        .fails()
        .complains("unknown group \"ks2\"; the groups are: everyone");
    let broken = f
        .site
        .write("broken.toml", "[policy.x]\ndefault = \"maybe\"\n");
    let mut cmd = f
        .site
        .command(&["check", "games-example.com", "--as", "x", "--policies"]);
    cmd.arg(&broken).arg("--lists").arg(&db);
    Run::of(cmd, None).fails().complains("broken.toml");
}

#[test]
fn the_installation_config_supplies_policies_and_school_lists() {
    let f = fixture();
    let (db, _) = f.compile();
    let allow = f
        .site
        .write("allow.txt", "# always allowed\ncasino-example.com\n");
    let deny = f.site.write("deny.txt", "badexample.com  # not for us\n");
    let policies = f.site.write(
        "policies.toml",
        "fallback = \"school\"\n[policy.school]\ndefault = \"allow\"\n\
         [policy.school.categories]\ngames = \"block\"\n",
    );
    let config = f.site.write(
        "gatehouse.toml",
        format!(
            "[filter]\ndatabase = {:?}\npolicies = {:?}\nallow = {:?}\ndeny = {:?}\n",
            db.display().to_string(),
            policies.display().to_string(),
            allow.display().to_string(),
            deny.display().to_string()
        ),
    );
    let check = |target: &str| {
        let mut cmd = f.site.command(&["--config"]);
        cmd.arg(&config)
            .args(["check", "--json", target, "--as", "school"]);
        Run::of(cmd, None).ok().json()
    };
    assert_eq!(check("games-example.com")["rule"], "policy:school/games");
    assert_eq!(
        check("www.casino-example.com")["rule"],
        "school_allow:casino-example.com"
    );
    assert_eq!(
        check("badexample.com")["rule"],
        "school_deny:badexample.com"
    );
    // --policies on the command line wins over the configured file
    let mut cmd = f.site.command(&["--config"]);
    cmd.arg(&config)
        .args([
            "check",
            "games-example.com",
            "--as",
            "ks2",
            "--json",
            "--policies",
        ])
        .arg(f.site.write(
            "mine.toml",
            "fallback = \"ks2\"\n[policy.ks2]\ndefault = \"allow\"\n",
        ));
    let v = Run::of(cmd, None).ok().json();
    assert_eq!(
        (&v["group"], &v["action"]),
        (&"ks2".into(), &"allow".into()),
        "{v}"
    );
    // a bad line in a school list is named by its line number
    std::fs::write(&deny, "fine-example.com\nnot a host\n").expect("writing the deny list");
    let mut cmd = f.site.command(&["--config"]);
    cmd.arg(&config)
        .args(["check", "games-example.com", "--as", "school"]);
    Run::of(cmd, None)
        .fails()
        .complains("deny.txt line 2: \"not a host\" is not a host name");
}
