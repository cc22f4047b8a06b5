//! `gatehouse agreements status|import|verify`, run against real installations of the demo
//! school (which publishes a starter agreement for every audience and seeds signatures).

use crate::support::{Site, execute, installation, number, texts};
use serde_json::Value;
use std::path::PathBuf;

/// The five real school policies the text parser is tested on.
fn seed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../domain/tests/fixtures/seeds")
        .join(name)
}

const SEED_000: &str = "000_bb972f08a79ba912.txt";
const SEED_001: &str = "001_6affc90852e55a23.txt";
const SEED_002: &str = "002_67046679924f8986.txt";
const SEED_003: &str = "003_053a550d42234f39.txt";
const SEED_004: &str = "004_6e079517f2559f70.txt";

/// `agreements status --json ARGS…`, parsed.
fn status_json(site: &Site, args: &[&str]) -> Value {
    let mut all = vec!["agreements", "status", "--json"];
    all.extend_from_slice(args);
    site.run(&all).ok().json()
}

fn policies(report: &Value) -> &Vec<Value> {
    report["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("no policies array: {report}"))
}

fn count(p: &Value, key: &str) -> i64 {
    p["counts"][key]
        .as_i64()
        .unwrap_or_else(|| panic!("no count {key}: {p}"))
}

/// The policy with this id in a status report.
fn policy_in(report: &Value, id: i64) -> Option<&Value> {
    policies(report)
        .iter()
        .find(|p| p["id"].as_i64() == Some(id))
}

fn policy_count(site: &Site) -> i64 {
    number(&site.db(), "SELECT COUNT(*) FROM policies", &[])
}

/// `agreements import --json FILE ARGS…`, expected to succeed, parsed.
fn import_json(site: &Site, file: &std::path::Path, args: &[&str]) -> Value {
    let mut cmd = site.command(&["agreements", "import", "--json"]);
    cmd.arg(file).args(args);
    crate::support::Run::of(cmd, None).ok().json()
}

/// `agreements import FILE ARGS…` (text output).
fn import(site: &Site, file: &std::path::Path, args: &[&str]) -> crate::support::Run {
    let mut cmd = site.command(&["agreements", "import"]);
    cmd.arg(file).args(args);
    crate::support::Run::of(cmd, None)
}

// ---------------------------------------------------------------- status

#[test]
fn status_on_the_demo_counts_every_policy_and_lists_who_is_overdue() {
    let site = installation();
    let db = site.db();
    let report = status_json(&site, &[]);
    let list = policies(&report);
    assert_eq!(
        list.len(),
        7,
        "one starter agreement per audience: {report}"
    );
    let mut required_total = 0;
    for p in list {
        let (required, signed, due, overdue, resign) = (
            count(p, "required"),
            count(p, "signed"),
            count(p, "due"),
            count(p, "overdue"),
            count(p, "resign"),
        );
        assert_eq!(
            signed + due + overdue + resign,
            required,
            "the counts do not add up: {p}"
        );
        // Elmbrook is a primary school: nobody is in Year 7 or above.
        if p["audience"] == "pupils_secondary" {
            assert_eq!(required, 0, "{p}");
            assert_eq!(p["signed_percent"], 0, "{p}");
        } else {
            assert!(required > 0, "nobody must sign {}: {p}", p["title"]);
            assert!(signed > 0, "the demo has signatures for every policy: {p}");
            assert_eq!(
                p["signed_percent"].as_i64(),
                Some(signed * 100 / required),
                "{p}"
            );
        }
        assert_eq!(p["version"]["status"], "published", "{p}");
        assert!(
            p.get("overdue_people").is_none(),
            "people are listed only with --overdue: {p}"
        );
        required_total += required;
    }
    // Every active person belongs to exactly one audience, and the demo's agreements have
    // been in force since last year.
    assert_eq!(
        required_total,
        number(&db, "SELECT COUNT(*) FROM people WHERE active = 1", &[]),
        "everyone on roll must sign one agreement"
    );
    let by_audience = |a: &str| {
        list.iter()
            .find(|p| p["audience"] == a)
            .unwrap_or_else(|| panic!("no {a} policy: {report}"))
    };
    // Governors have signed only version 1, all of them this school year.
    let governors = by_audience("governors");
    assert_eq!(
        count(governors, "required"),
        number(
            &db,
            "SELECT COUNT(*) FROM people WHERE kind = 'governor' AND active = 1",
            &[]
        )
    );
    assert_eq!(
        count(governors, "signed"),
        number(
            &db,
            "SELECT COUNT(DISTINCT person_id) FROM signatures WHERE policy_id = ?",
            &[&governors["id"].to_string()]
        ),
        "every governor with a signature has signed: {governors}"
    );
    // Staff have a version 2 with a material change: some have re-signed, some must.
    let staff = by_audience("staff");
    assert_eq!(staff["version"]["number"], 2, "{staff}");
    assert!(count(staff, "resign") > 0, "{staff}");
    assert!(count(staff, "signed") > 0, "{staff}");
    let overdue_total: i64 = list.iter().map(|p| count(p, "overdue")).sum();
    assert!(overdue_total > 0, "the demo has overdue people: {report}");

    // --overdue lists them: as many never-signed people as the count says, each with a
    // name, a kind and a due date that has passed.
    let today = report["today"].as_str().expect("today").to_owned();
    let with_people = status_json(&site, &["--overdue"]);
    let mut names = Vec::new();
    for p in policies(&with_people) {
        let people = p["overdue_people"]
            .as_array()
            .unwrap_or_else(|| panic!("no overdue_people with --overdue: {p}"));
        let never_signed = people.iter().filter(|o| o["status"] == "overdue").count();
        assert_eq!(never_signed as i64, count(p, "overdue"), "{p}");
        for o in people {
            let name = o["name"].as_str().unwrap_or_default();
            assert!(!name.is_empty(), "{o}");
            assert!(o["kind"].is_string(), "{o}");
            let due = o["due"]
                .as_str()
                .unwrap_or_else(|| panic!("no due date: {o}"));
            assert!(due < today.as_str(), "{name} is not past due ({due}): {o}");
            names.push(name.to_owned());
        }
    }
    assert!(!names.is_empty());

    // The same as text.
    let run = site.run(&["agreements", "status"]).ok();
    for p in list {
        let title = p["title"].as_str().expect("title");
        assert!(run.stdout.contains(title), "{title} is missing: {run}");
    }
    let staff_line = format!(
        "required {}, signed {} ({}%), due {}, overdue {}, re-sign {}",
        count(staff, "required"),
        count(staff, "signed"),
        staff["signed_percent"],
        count(staff, "due"),
        count(staff, "overdue"),
        count(staff, "resign"),
    );
    assert!(run.stdout.contains(&staff_line), "{staff_line}: {run}");
    assert!(!run.stdout.contains(&names[0]), "names only with --overdue");
    let run = site.run(&["agreements", "status", "--overdue"]).ok();
    assert!(run.stdout.contains("Overdue ("), "{run}");
    for name in &names {
        assert!(
            run.stdout.contains(name.as_str()),
            "{name} is missing: {run}"
        );
    }

    // --policy by id and by words of the title; an unknown one is refused.
    let id = staff["id"].to_string();
    let one = status_json(&site, &["--policy", &id]);
    assert_eq!(policies(&one).len(), 1);
    assert_eq!(policies(&one)[0]["id"], staff["id"]);
    let title = staff["title"].as_str().expect("title").to_uppercase();
    let words: Vec<&str> = title.split_whitespace().collect();
    let by_words = status_json(&site, &["--policy", &words.join("  ")]);
    assert_eq!(policies(&by_words).len(), 1, "{by_words}");
    assert_eq!(policies(&by_words)[0]["id"], staff["id"]);
    site.run(&["agreements", "status", "--policy", "no such policy at all"])
        .fails()
        .complains("policy:");
}

// ---------------------------------------------------------------- import

#[test]
fn import_makes_drafts_of_the_real_school_policies() {
    let site = installation();
    let before = status_json(&site, &[]);
    let policies_before = policy_count(&site);

    // One agreement per file: title, sections and clauses are shown, a draft is made.
    let run = import(&site, &seed(SEED_000), &["--audience", "staff"])
        .ok()
        .says("title \"ICT CODE OF CONDUCT Staff, Governor & Visitor ICT Code of Conduct\"")
        .says("15 clauses")
        .says("Created draft policy");
    assert!(!run.stdout.contains("part 2"), "one part only: {run}");
    for (file, audience, clauses) in [
        (SEED_001, "visitors", 17),
        (SEED_002, "staff", 47),
        (SEED_003, "governors", 35),
    ] {
        let made = import_json(&site, &seed(file), &["--audience", audience]);
        assert_eq!(made["created"], true, "{made}");
        assert_eq!(made["status"], "draft", "{made}");
        assert_eq!(made["audience"], audience, "{made}");
        assert_eq!(made["part"], 1, "{made}");
        assert_eq!(made["clauses"], clauses, "{file}: {made}");
        let id = made["policy_id"].as_i64().expect("policy id");
        let status = status_json(&site, &[]);
        let p = policy_in(&status, id).unwrap_or_else(|| panic!("{id} not listed: {status}"));
        assert_eq!(p["title"], made["title"]);
        assert_eq!(p["version"]["status"], "draft", "{p}");
        assert_eq!(count(p, "required"), 0, "a draft asks nobody to sign: {p}");
        // The stored version is the canonical text whose hash was shown.
        let stored = texts(
            &site.db(),
            "SELECT hash || '|' || status FROM policy_versions WHERE policy_id = ?",
            &[&id.to_string()],
        );
        assert_eq!(
            stored,
            vec![format!("{}|draft", made["hash"].as_str().unwrap())]
        );
    }
    assert_eq!(policy_count(&site), policies_before + 4);
    // Drafts change nobody's counts.
    let after = status_json(&site, &[]);
    for p in policies(&before) {
        let now = policy_in(&after, p["id"].as_i64().unwrap()).expect("still listed");
        assert_eq!(now["counts"], p["counts"]);
    }

    // Four agreements in one file: without --part, list them and create nothing.
    let n = policy_count(&site);
    let run = import(&site, &seed(SEED_004), &["--audience", "staff"])
        .fails()
        .says("The file holds 4 agreements:")
        .says("part 1: 1. Introduction and Overview (218 clauses)")
        .says("part 2: Acceptable Use Agreement: Pupils - Primary (14 clauses)")
        .says("part 3: Trelawnyd VA – Dear Parent/ Carer (0 clauses)")
        .says("part 4: Staff, Governor and Visitor – Acceptable Use Agreement / Code of Conduct (17 clauses)")
        .complains("--part");
    assert!(!run.stdout.contains("Created"), "{run}");
    assert_eq!(policy_count(&site), n, "nothing is created without --part");
    for bad in ["0", "5"] {
        import(
            &site,
            &seed(SEED_004),
            &["--audience", "staff", "--part", bad],
        )
        .fails()
        .complains("part: the file holds 4 agreements");
    }
    // The letter to parents has nothing to sign.
    import(
        &site,
        &seed(SEED_004),
        &["--audience", "parents", "--part", "3"],
    )
    .fails()
    .complains("part: part 3");
    assert_eq!(policy_count(&site), n);

    // --part 4: the staff agreement, titled as the file titles it.
    let staff = import_json(
        &site,
        &seed(SEED_004),
        &[
            "--audience",
            "staff",
            "--part",
            "4",
            "--owner",
            "Business manager",
        ],
    );
    assert_eq!(staff["part"], 4);
    assert_eq!(staff["clauses"], 17);
    assert_eq!(
        staff["title"],
        "Staff, Governor and Visitor – Acceptable Use Agreement / Code of Conduct"
    );
    assert_eq!(staff["parts"].as_array().map(Vec::len), Some(4));
    let id = staff["policy_id"].as_i64().unwrap().to_string();
    let body = texts(
        &site.db(),
        "SELECT body FROM policy_versions WHERE policy_id = ?",
        &[&id],
    );
    assert_eq!(body.len(), 1);
    assert!(
        body[0].contains("terms and conditions set out in my contract of employment"),
        "{}",
        body[0]
    );
    assert!(
        !body[0].contains("I will only use ICT in school for school purposes"),
        "the pupils' part was not taken: {}",
        body[0]
    );
    assert_eq!(
        texts(
            &site.db(),
            "SELECT owner || '|' || audience || '|' || days_to_sign || '|' || COALESCE(annual_from, '-') FROM policies WHERE id = ?",
            &[&id],
        ),
        vec!["Business manager|staff|14|09-01".to_string()]
    );
    let status = status_json(&site, &["--policy", &id]);
    assert_eq!(policies(&status)[0]["version"]["status"], "draft");
}

#[test]
fn import_with_publish_asks_the_audience_to_sign_and_bad_settings_are_named() {
    let site = installation();
    let db = site.db();
    let governors = number(
        &db,
        "SELECT COUNT(*) FROM people WHERE kind = 'governor' AND active = 1",
        &[],
    );
    assert!(governors > 0);

    // Settings are checked before anything is created, and each error names its field.
    let n = policy_count(&site);
    let file = seed(SEED_001);
    for (args, field) in [
        (vec!["--audience", "martians"], "audience:"),
        (vec!["--audience", "governors", "--days", "400"], "days:"),
        (vec!["--audience", "governors", "--title", "  "], "title:"),
        (
            vec!["--audience", "governors", "--title", &"x".repeat(201)],
            "title:",
        ),
        (
            vec![
                "--audience",
                "governors",
                "--publish",
                "--approved-by",
                "FGB",
                "--effective",
                "2030-01-01",
                "--review",
                "2029-12-31",
            ],
            "review date:",
        ),
        (
            vec![
                "--audience",
                "governors",
                "--publish",
                "--approved-by",
                "FGB",
                "--effective",
                "31/02/2030",
            ],
            "effective date:",
        ),
        (
            vec!["--audience", "governors", "--publish", "--approved-by", " "],
            "approved by:",
        ),
    ] {
        import(&site, &file, &args).fails().complains(field);
    }
    // --publish needs --approved-by, and the dates need --publish.
    import(&site, &file, &["--audience", "governors", "--publish"])
        .fails()
        .complains("--approved-by");
    import(
        &site,
        &file,
        &["--audience", "governors", "--effective", "2030-01-01"],
    )
    .fails()
    .complains("--publish");
    import(&site, &site.file("missing.txt"), &["--audience", "staff"])
        .fails()
        .complains("missing.txt");
    assert_eq!(policy_count(&site), n, "a refused import creates nothing");

    // Published at once: in force today, reviewed a year later, every governor must sign.
    let run = import(
        &site,
        &file,
        &[
            "--audience",
            "governors",
            "--title",
            "Foresters code of conduct",
            "--days",
            "21",
            "--no-annual",
            "--publish",
            "--approved-by",
            "Full governing body",
        ],
    )
    .ok()
    .says("Created draft policy")
    .says("Approved by Full governing body and published")
    .says(&format!("{governors} people have to sign it"));
    let report = status_json(&site, &["--policy", "foresters"]);
    let p = &policies(&report)[0];
    assert_eq!(p["title"], "Foresters code of conduct", "{run}");
    assert_eq!(p["version"]["status"], "published");
    let today = report["today"].as_str().unwrap();
    assert_eq!(p["version"]["effective_on"], today);
    let next_year = format!("{}{}", today[..4].parse::<i32>().unwrap() + 1, &today[4..]);
    assert_eq!(p["version"]["review_on"], next_year.as_str());
    assert_eq!(count(p, "required"), governors, "{p}");
    assert_eq!(count(p, "due"), governors, "nobody has signed it yet: {p}");
    assert_eq!(
        count(p, "signed") + count(p, "overdue") + count(p, "resign"),
        0
    );
    let id = p["id"].to_string();
    assert_eq!(
        texts(
            &db,
            "SELECT v.approved_by || '|' || v.approved_on || '|' || p.days_to_sign || '|' || COALESCE(p.annual_from, '-')
             FROM policy_versions v JOIN policies p ON p.id = v.policy_id WHERE p.id = ?",
            &[&id],
        ),
        vec![format!("Full governing body|{today}|21|-")]
    );

    // With dates given (UK style accepted): in force from then, counted from then.
    let made = import_json(
        &site,
        &seed(SEED_004),
        &[
            "--audience",
            "staff",
            "--part",
            "4",
            "--publish",
            "--approved-by",
            "Trust board",
            "--effective",
            "01/01/2020",
            "--review",
            "2020-12-31",
        ],
    );
    assert_eq!(made["status"], "published", "{made}");
    assert_eq!(made["published"]["effective_on"], "2020-01-01");
    assert_eq!(made["published"]["review_on"], "2020-12-31");
    let staff = number(
        &db,
        "SELECT COUNT(*) FROM people WHERE kind = 'staff' AND active = 1",
        &[],
    );
    assert_eq!(made["published"]["counts"]["required"], staff, "{made}");
    let run = site
        .run(&[
            "agreements",
            "status",
            "--policy",
            &made["policy_id"].to_string(),
        ])
        .ok()
        .says("review was due 2020-12-31");
    assert!(run.stdout.contains("version 1 published"), "{run}");
}

#[test]
fn import_reads_windows_1252_and_a_bom() {
    let site = installation();
    let original = std::fs::read_to_string(seed(SEED_002)).expect("seed 002");
    assert!(original.contains('–'));
    let utf8 = import_json(&site, &seed(SEED_002), &["--audience", "staff"]);
    let title = utf8["title"].as_str().expect("title").to_owned();
    assert!(title.contains('–'), "{title}");

    // The same file saved by Windows: the dash is the single byte 0x96.
    let cp1252: Vec<u8> = original
        .chars()
        .flat_map(|c| match c {
            '–' => vec![0x96],
            c => c.to_string().into_bytes(),
        })
        .collect();
    assert!(std::str::from_utf8(&cp1252).is_err());
    let file = site.write("cp1252.txt", cp1252);
    let windows = import_json(&site, &file, &["--audience", "staff"]);
    assert_eq!(windows["title"], title.as_str());
    assert_eq!(
        windows["hash"], utf8["hash"],
        "the same text, the same version"
    );

    // UTF-8 with a byte order mark and Windows line ends.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(original.replace('\n', "\r\n").as_bytes());
    let file = site.write("bom.txt", bom);
    let with_bom = import_json(&site, &file, &["--audience", "staff"]);
    assert_eq!(with_bom["title"], title.as_str());
    assert_eq!(with_bom["hash"], utf8["hash"]);

    // Markdown works as well.
    let file = site.write(
        "ours.md",
        "# Our agreement\n\n## Online\n\n1. I will be kind online.\n2. I will tell an adult.\n",
    );
    import(&site, &file, &["--audience", "pupils_primary"])
        .ok()
        .says("title \"Our agreement\"; 1 section, 2 clauses")
        .says("Created draft policy");
}

// ---------------------------------------------------------------- verify

/// `agreements verify` after tampering: fails naming record `seq`, in text and JSON.
fn assert_broken_at(site: &Site, seq: i64, why: &str) {
    let run = site.run(&["agreements", "verify"]).fails();
    assert!(
        run.stdout.contains(&format!("record {seq}:")) && run.stdout.contains(why),
        "expected record {seq} ({why}) to be named: {run}"
    );
    let report = site.run(&["agreements", "verify", "--json"]).fails().json();
    assert_eq!(report["broken"]["seq"], seq, "{report}");
    assert_eq!(report["records"], seq - 1, "{report}");
}

fn assert_intact(site: &Site, records: i64) {
    site.run(&["agreements", "verify"]).ok().says(&format!(
        "The signature ledger is intact: {records} records"
    ));
}

#[test]
fn verify_finds_edited_swapped_reordered_and_deleted_signatures() {
    let site = installation();
    let db = site.db();
    let records = number(&db, "SELECT COUNT(*) FROM signatures", &[]);
    assert!(records > 100, "the demo has signatures ({records})");
    assert_intact(&site, records);
    let report = site.run(&["agreements", "verify", "--json"]).ok().json();
    assert_eq!(report["records"], records);
    assert!(report["broken"].is_null(), "{report}");

    // The database itself refuses edits and deletions.
    assert!(
        execute(
            &db,
            &["UPDATE signatures SET typed_name = 'X' WHERE seq = 3"]
        )
        .is_err(),
        "the ledger accepted an UPDATE"
    );
    assert!(
        execute(&db, &["DELETE FROM signatures WHERE seq = 2"]).is_err(),
        "the ledger accepted a DELETE"
    );
    assert_intact(&site, records);

    // An edited name, with the triggers dropped: record 3 is named; put back, intact.
    execute(
        &db,
        &[
            "DROP TRIGGER signatures_no_update",
            "CREATE TABLE saved AS SELECT * FROM signatures",
            "UPDATE signatures SET typed_name = 'Someone Else' WHERE seq = 3",
        ],
    )
    .unwrap();
    assert_broken_at(&site, 3, "changed");
    execute(
        &db,
        &["UPDATE signatures SET typed_name = (SELECT typed_name FROM saved WHERE saved.seq = 3) WHERE seq = 3"],
    )
    .unwrap();
    assert_intact(&site, records);

    // Two records' people swapped: the first of them is named.
    assert_ne!(
        number(&db, "SELECT person_id FROM signatures WHERE seq = 4", &[]),
        number(&db, "SELECT person_id FROM signatures WHERE seq = 5", &[]),
    );
    execute(
        &db,
        &["UPDATE signatures SET person_id = (SELECT person_id FROM saved WHERE saved.seq = 9 - signatures.seq) WHERE seq IN (4, 5)"],
    )
    .unwrap();
    assert_broken_at(&site, 4, "changed");
    execute(
        &db,
        &["UPDATE signatures SET person_id = (SELECT person_id FROM saved WHERE saved.seq = signatures.seq) WHERE seq IN (4, 5)"],
    )
    .unwrap();
    assert_intact(&site, records);

    // Two whole records swapped, hashes and all (a reorder): record 4 no longer follows 3.
    execute(
        &db,
        &["UPDATE signatures SET (school_id, person_id, signer_id, relation, policy_id, version_id, version_number,
                 version_hash, action, method, typed_name, signed_on, recorded_at, recorded_by, ip, user_agent,
                 scan_sha256, prev_hash, hash) =
             (SELECT school_id, person_id, signer_id, relation, policy_id, version_id, version_number,
                 version_hash, action, method, typed_name, signed_on, recorded_at, recorded_by, ip, user_agent,
                 scan_sha256, prev_hash, hash FROM saved WHERE saved.seq = 9 - signatures.seq)
           WHERE seq IN (4, 5)"],
    )
    .unwrap();
    assert_broken_at(&site, 4, "removed or reordered");
    execute(
        &db,
        &["UPDATE signatures SET (school_id, person_id, signer_id, relation, policy_id, version_id, version_number,
                 version_hash, action, method, typed_name, signed_on, recorded_at, recorded_by, ip, user_agent,
                 scan_sha256, prev_hash, hash) =
             (SELECT school_id, person_id, signer_id, relation, policy_id, version_id, version_number,
                 version_hash, action, method, typed_name, signed_on, recorded_at, recorded_by, ip, user_agent,
                 scan_sha256, prev_hash, hash FROM saved WHERE saved.seq = signatures.seq)
           WHERE seq IN (4, 5)"],
    )
    .unwrap();
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM signatures s JOIN saved USING (seq)
             WHERE s.hash = saved.hash AND s.person_id = saved.person_id AND s.policy_id = saved.policy_id",
            &[]
        ),
        records,
        "the swap was undone"
    );
    assert_intact(&site, records);

    // A deleted record: the gap is named.
    execute(
        &db,
        &[
            "DROP TRIGGER signatures_no_delete",
            "DELETE FROM signatures WHERE seq = 2",
        ],
    )
    .unwrap();
    assert_broken_at(&site, 2, "missing");
}
