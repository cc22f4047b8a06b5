//! The management commands, run against real installations of the demo school.

use crate::support::{
    DEMO_PASSWORD, Run, Site, active_pupils, execute, gatehouse, installation, number,
    people_count, people_snapshot, sign_in, texts,
};

const PUPILS_HEADER: &str = "UPN,Legal forename,Legal surname,NC Year,Registration group\n";

/// "First Last" of the person of `kind` with this MIS id, if stored.
fn name_of(site: &Site, kind: &str, mis_id: &str) -> Option<String> {
    texts(
        &site.db(),
        "SELECT first_name || ' ' || last_name FROM people WHERE kind = ? AND mis_id = ?",
        &[kind, mis_id],
    )
    .into_iter()
    .next()
}

/// The stored row of the pupil with this UPN: `id|first|last|year|class|active`.
fn pupil_row(site: &Site, upn: &str) -> Option<String> {
    texts(
        &site.db(),
        "SELECT id || '|' || first_name || '|' || last_name || '|' || COALESCE(year_group, '') || '|'
                || COALESCE(class_name, '') || '|' || active
         FROM people WHERE kind = 'pupil' AND mis_id = ?",
        &[upn],
    )
    .into_iter()
    .next()
}

// ---------------------------------------------------------------- import people

#[test]
fn import_with_bad_rows_names_them_and_changes_nothing_unless_told_to_skip_them() {
    let site = installation();
    let db = site.db();
    let file = site.write(
        "pupils.csv",
        format!(
            "{PUPILS_HEADER}\
             T00000000001,Ada,Lovelace,Year 3,3 Ash\n\
             T00000000002,Ben,,Year 2,2 Oak\n\
             T00000000003,Cara,Quill,Year 14,1 Elm\n\
             T00000000004,Dev,Okafor,Year 5,5 Elm\n"
        ),
    );
    let before = people_snapshot(&db);
    let count = people_count(&db);

    let run = site.import_pupils(&file, &[]).fails();
    let problem_on = |line: &str, column: &str| {
        let at = format!("line {line}, column '{column}'");
        run.stdout.lines().any(|l| l.contains(&at))
    };
    assert!(
        problem_on("3", "Legal surname"),
        "the empty surname on line 3 is not named: {run}"
    );
    assert!(
        problem_on("4", "NC Year") && run.stdout.contains("Year 14"),
        "year 14 on line 4 is not named: {run}"
    );
    assert!(run.stdout.contains("Nothing was imported"), "{run}");
    assert_eq!(
        people_snapshot(&db),
        before,
        "a refused import changed the people table"
    );

    // A dry run of the same file changes nothing either, and says so.
    site.import_pupils(&file, &["--dry-run"])
        .fails()
        .says("Dry run: nothing was changed.");
    assert_eq!(
        people_snapshot(&db),
        before,
        "a dry run changed the people table"
    );

    let run = site
        .import_pupils(&file, &["--skip-invalid"])
        .ok()
        .says("2 added, 0 updated");
    assert!(run.stdout.contains("2 problem row(s) skipped"), "{run}");
    assert_eq!(
        people_count(&db),
        count + 2,
        "only the two valid rows are added"
    );
    assert_eq!(
        name_of(&site, "pupil", "T00000000001").as_deref(),
        Some("Ada Lovelace")
    );
    assert_eq!(
        name_of(&site, "pupil", "T00000000004").as_deref(),
        Some("Dev Okafor")
    );
    assert_eq!(name_of(&site, "pupil", "T00000000002"), None);
    assert_eq!(name_of(&site, "pupil", "T00000000003"), None);
}

#[test]
fn import_updates_by_upn_and_marks_leavers_only_for_a_full_list() {
    let site = installation();
    let db = site.db();
    let on_roll = active_pupils(&db);
    assert!(on_roll > 200, "the demo school has its pupils ({on_roll})");

    let first = format!(
        "{PUPILS_HEADER}\
         T00000000001,Ada,Lovelace,Year 3,3 Ash\n\
         T00000000002,Ben,Baker,Year 2,2 Oak\n\
         T00000000003,Cara,Quill,Year 1,1 Elm\n"
    );
    let file = site.write("pupils.csv", &first);
    site.import_pupils(&file, &[])
        .ok()
        .says("3 added, 0 updated, 0 marked as leavers");
    let count = people_count(&db);
    assert_eq!(active_pupils(&db), on_roll + 3);

    // The same file again: nothing to do, and nothing touched.
    let before = people_snapshot(&db);
    site.import_pupils(&file, &[])
        .ok()
        .says("0 added, 0 updated");
    assert_eq!(
        people_snapshot(&db),
        before,
        "re-importing an unchanged file changed the people table"
    );

    // Ben's surname and class change: the row with his UPN is updated in place.
    let ben = pupil_row(&site, "T00000000002").expect("Ben was imported");
    let ben_id = ben.split('|').next().unwrap().to_owned();
    let changed = first.replace("Ben,Baker,Year 2,2 Oak", "Ben,Baker-Hughes,Year 3,3 Ash");
    let file = site.write("pupils-changed.csv", changed);
    site.import_pupils(&file, &[])
        .ok()
        .says("0 added, 1 updated, 0 marked as leavers");
    assert_eq!(
        pupil_row(&site, "T00000000002").as_deref(),
        Some(format!("{ben_id}|Ben|Baker-Hughes|3|3 Ash|1").as_str())
    );
    assert_eq!(people_count(&db), count, "an update adds nobody");
    // The file lists 3 pupils of ~290, but without --full nobody becomes a leaver.
    assert_eq!(active_pupils(&db), on_roll + 3);

    // The complete list: every pupil on roll (read back from the database) except Cara,
    // with a new pupil and a change for Ada.
    let mut full = String::from("UPN,Forename,Surname,Year,Class,Start date,Leave date,Email\n");
    for line in texts(
        &db,
        "SELECT mis_id || ',' || first_name || ',' || last_name || ',' || COALESCE(year_group, '') || ','
                || COALESCE(class_name, '') || ',' || COALESCE(start_date, '') || ',' || COALESCE(leave_date, '')
                || ',' || COALESCE(email, '')
         FROM people WHERE kind = 'pupil' AND active = 1 AND mis_id NOT LIKE 'T0%' ORDER BY id",
        &[],
    ) {
        full.push_str(&line);
        full.push('\n');
    }
    full.push_str("T00000000001,Ada,Lovelace,Year 3,3 Birch,,,\n");
    full.push_str("T00000000002,Ben,Baker-Hughes,Year 3,3 Ash,,,\n");
    full.push_str("T00000000004,Dev,Okafor,Year 5,5 Elm,,,\n");
    let file = site.write("pupils-full.csv", full);

    let before = people_snapshot(&db);
    site.import_pupils(&file, &["--full", "--dry-run"])
        .ok()
        .says(&format!(
            "row(s) read: 1 new, 1 changed, {} unchanged, 1 to mark as leavers, 0 problem(s)",
            on_roll + 1
        ))
        .says("leaver: Cara Quill")
        .says("Dry run: nothing was changed.");
    assert_eq!(
        people_snapshot(&db),
        before,
        "a dry run changed the people table"
    );

    // Without --full: Dev is added and Ada updated, but Cara stays on roll.
    site.import_pupils(&file, &[])
        .ok()
        .says("1 added, 1 updated, 0 marked as leavers");
    assert_eq!(people_count(&db), count + 1);
    assert_eq!(active_pupils(&db), on_roll + 4);
    assert!(
        pupil_row(&site, "T00000000003").unwrap().ends_with("|1"),
        "Cara is still on roll"
    );

    // With --full: Cara, missing from the complete list, is marked as a leaver and kept.
    site.import_pupils(&file, &["--full"])
        .ok()
        .says("0 added, 0 updated, 1 marked as leavers");
    assert_eq!(people_count(&db), count + 1, "nobody is deleted");
    assert_eq!(active_pupils(&db), on_roll + 3);
    let cara = pupil_row(&site, "T00000000003").expect("Cara's record is kept");
    assert!(
        cara.ends_with("|Cara|Quill|1|1 Elm|0"),
        "Cara is a leaver: {cara}"
    );
}

#[test]
fn import_reads_windows_1252_and_utf8_with_bom_and_maps_odd_headers() {
    let site = installation();

    // Windows-1252, no BOM: "Zoë Lefèvre" as single bytes (not valid UTF-8).
    let mut cp1252 = b"UPN,Forename,Surname,Year,Class\r\n".to_vec();
    cp1252.extend_from_slice(b"W00000000001,Zo\xEB,Lef\xE8vre,Year 4,4 Birch\r\n");
    assert!(std::str::from_utf8(&cp1252).is_err());
    let file = site.write("cp1252.csv", cp1252);
    site.import_pupils(&file, &[]).ok().says("1 added");
    assert_eq!(
        name_of(&site, "pupil", "W00000000001").as_deref(),
        Some("Zoë Lefèvre")
    );

    // UTF-8 with a BOM (as Excel saves it): the BOM must not hide the UPN header, and
    // the text must be read as UTF-8.
    let file = site.write(
        "utf8-bom.csv",
        "\u{FEFF}UPN,Forename,Surname,Year,Class\nW00000000002,Siân,O’Connell,Year 2,2 Oak\n",
    );
    site.import_pupils(&file, &[]).ok().says("1 added");
    assert_eq!(
        name_of(&site, "pupil", "W00000000002").as_deref(),
        Some("Siân O’Connell")
    );

    // An unrecognised header is refused until it is mapped.
    let file = site.write(
        "odd.csv",
        "UPN,First name,Family,Year\nW00000000003,Ann,Oddheader,Year 6\n",
    );
    site.import_pupils(&file, &[])
        .fails()
        .says("no column for last name");
    assert_eq!(name_of(&site, "pupil", "W00000000003"), None);
    site.import_pupils(&file, &["--map", "Family=last_name"])
        .ok()
        .says("1 added");
    assert_eq!(
        name_of(&site, "pupil", "W00000000003").as_deref(),
        Some("Ann Oddheader")
    );
}

// ---------------------------------------------------------------- audit verify

#[test]
fn audit_verify_detects_an_edited_entry() {
    let site = installation();
    let db = site.db();
    site.run(&["audit", "verify"]).ok().says("intact");
    assert!(number(&db, "SELECT COUNT(*) FROM audit_log", &[]) > 5);

    // The log is append-only: an UPDATE is refused while the trigger is there.
    let refused = execute(
        &db,
        &["UPDATE audit_log SET actor = 'someone' WHERE seq = 5"],
    );
    assert!(refused.is_err(), "the audit log accepted an UPDATE");

    // Someone with the file drops the trigger and rewrites entry 5.
    execute(
        &db,
        &[
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET actor = 'someone' WHERE seq = 5",
        ],
    )
    .unwrap();
    site.run(&["audit", "verify"])
        .fails()
        .says("altered")
        .says("entry 5:");
    let report = site.run(&["--json", "audit", "verify"]).fails().json();
    assert_eq!(report["broken"]["seq"], 5, "{report}");
}

#[test]
fn audit_verify_detects_a_deleted_entry() {
    let site = installation();
    let db = site.db();
    site.run(&["audit", "verify"]).ok().says("intact");
    assert!(
        execute(&db, &["DELETE FROM audit_log WHERE seq = 7"]).is_err(),
        "the audit log accepted a DELETE"
    );
    execute(
        &db,
        &[
            "DROP TRIGGER audit_log_no_delete",
            "DELETE FROM audit_log WHERE seq = 7",
        ],
    )
    .unwrap();
    site.run(&["audit", "verify"]).fails().says("entry 7:");
}

// ---------------------------------------------------------------- user and token

#[test]
fn users_are_added_disabled_enabled_and_given_passwords_and_tokens() {
    let site = Site::empty();
    let server = site.start_demo();
    let base = server.base.clone();
    assert!(
        sign_in(&base, "head", DEMO_PASSWORD),
        "the demo head can sign in"
    );

    // A password from standard input.
    let alice_password = "violet-harbour-tractor-58";
    site.run_with_input(
        &[
            "user",
            "add",
            "alice.test",
            "--role",
            "staff",
            "--password-stdin",
        ],
        &format!("{alice_password}\n"),
    )
    .ok()
    .says("Created account 'alice.test'.");
    assert!(!site.run(&["user", "list"]).stdout.contains(alice_password));
    assert!(
        sign_in(&base, "alice.test", alice_password),
        "alice signs in with her password"
    );

    // A generated password, shown once.
    let run = site
        .run(&["user", "add", "bob.test", "--role", "staff"])
        .ok();
    let bob_password = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Password (shown once): "))
        .unwrap_or_else(|| panic!("no generated password: {run}"))
        .trim()
        .to_owned();
    assert!(bob_password.len() >= 12, "{bob_password}");
    let list = site.run(&["user", "list"]).ok();
    assert!(
        !list.stdout.contains(&bob_password),
        "the password is shown again: {list}"
    );
    let line = |list: &Run, name: &str| {
        list.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
            .to_owned()
    };
    assert!(line(&list, "alice.test").contains("active"), "{list}");
    assert!(line(&list, "bob.test").contains("active"), "{list}");
    assert!(line(&list, "head").contains("head"), "{list}");
    assert!(
        sign_in(&base, "bob.test", &bob_password),
        "bob signs in with the generated password"
    );

    // Disabled: listed as such, cannot sign in. Enabled again: can.
    site.run(&["user", "disable", "bob.test"])
        .ok()
        .says("Disabled 'bob.test'");
    let list = site.run(&["user", "list"]).ok();
    assert!(line(&list, "bob.test").contains("disabled"), "{list}");
    let accounts = site.run(&["--json", "user", "list"]).ok().json();
    let bob = accounts
        .as_array()
        .and_then(|a| a.iter().find(|a| a["username"] == "bob.test"))
        .unwrap_or_else(|| panic!("bob.test is not in the JSON list: {accounts}"));
    assert_eq!(bob["disabled"], true, "{bob}");
    assert!(
        !sign_in(&base, "bob.test", &bob_password),
        "a disabled account signed in"
    );
    site.run(&["user", "enable", "bob.test"])
        .ok()
        .says("Enabled 'bob.test'");
    assert!(line(&site.run(&["user", "list"]).ok(), "bob.test").contains("active"));
    assert!(
        sign_in(&base, "bob.test", &bob_password),
        "an enabled account cannot sign in"
    );

    // A new password from standard input replaces the old one.
    let new_password = "copper-lantern-meadow-91";
    site.run_with_input(
        &["user", "passwd", "bob.test", "--password-stdin"],
        new_password,
    )
    .ok()
    .says("Password changed for 'bob.test'");
    assert!(
        !sign_in(&base, "bob.test", &bob_password),
        "the old password still works"
    );
    assert!(
        sign_in(&base, "bob.test", new_password),
        "the new password does not work"
    );
    // And a generated one.
    let run = site.run(&["user", "passwd", "bob.test"]).ok();
    let generated = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("New password (shown once): "))
        .unwrap_or_else(|| panic!("no generated password: {run}"))
        .trim()
        .to_owned();
    assert!(
        sign_in(&base, "bob.test", &generated),
        "the generated password does not work"
    );

    // An API token, shown once, that acts as the account.
    let token = site
        .run(&[
            "--json",
            "token",
            "create",
            "--user",
            "alice.test",
            "--label",
            "integration test",
        ])
        .ok()
        .json();
    let secret = token["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {token}"))
        .to_owned();
    assert!(secret.starts_with("gh_") && secret.len() > 20, "{secret}");
    let me = crate::support::block_on(async {
        let res = reqwest::Client::new()
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .expect("GET /api/v1/me");
        assert_eq!(res.status(), 200);
        res.json::<serde_json::Value>().await.expect("JSON")
    });
    assert_eq!(me["username"], "alice.test", "{me}");

    // Weak passwords are refused, naming the rule, and no account is created.
    site.run_with_input(
        &[
            "user",
            "add",
            "carol.test",
            "--role",
            "staff",
            "--password-stdin",
        ],
        "short1\n",
    )
    .fails()
    .complains("password")
    .complains("at least 12 characters");
    site.run_with_input(
        &[
            "user",
            "add",
            "carol.test",
            "--role",
            "staff",
            "--password-stdin",
        ],
        "password1234\n",
    )
    .fails()
    .complains("password")
    .complains("easy to guess");
    let list = site.run(&["user", "list"]).ok();
    assert!(!list.stdout.contains("carol.test"), "{list}");
    drop(server);
}

// ---------------------------------------------------------------- config

#[test]
fn config_check_refuses_unknown_keys_and_bad_values_and_show_prints_the_effective_config() {
    let site = Site::empty();
    let good = site.write(
        "gatehouse.toml",
        "[school]\nname = \"Oak Test Academy\"\n\n[web]\nlisten = \"127.0.0.1:9123\"\n",
    );
    let good_path = good.to_str().unwrap();
    site.run(&["--config", good_path, "config", "check"])
        .ok()
        .says("valid");

    let typo = site.write(
        "typo.toml",
        "[web]\nlisten = \"127.0.0.1:9123\"\nlisen_port = 9124\n",
    );
    site.run(&["--config", typo.to_str().unwrap(), "config", "check"])
        .fails()
        .complains("lisen_port");

    let mut cmd = site.command(&["config", "check"]);
    cmd.env("GATEHOUSE_WEB__LISTEN", "bad");
    Run::of(cmd, None).fails().complains("listen");

    let mut cmd = site.command(&["--config", good_path, "config", "show"]);
    cmd.env("GATEHOUSE_WEB__BANNER", "from the environment");
    let run = Run::of(cmd, None).ok();
    let shown: toml::Value =
        toml::from_str(&run.stdout).unwrap_or_else(|e| panic!("not TOML ({e}): {run}"));
    assert_eq!(
        shown["school"]["name"].as_str(),
        Some("Oak Test Academy"),
        "{run}"
    );
    assert_eq!(
        shown["web"]["listen"].as_str(),
        Some("127.0.0.1:9123"),
        "{run}"
    );
    assert_eq!(
        shown["web"]["banner"].as_str(),
        Some("from the environment"),
        "{run}"
    );
    assert_eq!(
        shown["storage"]["data_dir"].as_str(),
        site.data().to_str(),
        "--data wins: {run}"
    );
    assert_eq!(
        shown["security"]["require_mfa"].as_bool(),
        Some(true),
        "defaults are shown: {run}"
    );
}

// ---------------------------------------------------------------- backup and restore

#[test]
fn backup_and_restore_round_trip_and_a_bad_backup_is_refused() {
    let site = Site::empty();
    let server = site.start_demo();
    let backup = site.file("backup.db");
    // While the server runs.
    site.run(&["backup", backup.to_str().unwrap()])
        .ok()
        .says("Backup written");
    assert!(
        std::fs::metadata(&backup).map(|m| m.len()).unwrap_or(0) > 0,
        "no backup file"
    );

    // Restore refuses to replace the database of a running server.
    let mut cmd = site.command(&["restore", backup.to_str().unwrap(), "--force"]);
    cmd.env("GATEHOUSE_WEB__LISTEN", server.addr());
    Run::of(cmd, None)
        .fails()
        .complains("stop it before restoring");
    drop(server);

    // Restore into a fresh data folder. The configured address is a free port, so no
    // other server on this machine can make restore refuse.
    let fresh = Site::empty();
    let listen = format!("127.0.0.1:{}", crate::support::free_port());
    let restore = |site: &Site, file: &std::path::Path, force: bool| {
        let mut cmd = site.command(&["restore"]);
        cmd.arg(file).env("GATEHOUSE_WEB__LISTEN", &listen);
        if force {
            cmd.arg("--force");
        }
        Run::of(cmd, None)
    };
    restore(&fresh, &backup, true).ok().says("Restored");
    let list = fresh.run(&["user", "list"]).ok();
    for name in ["head", "dsl", "dpo", "itadmin", "parent", "pupil"] {
        assert!(
            list.stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} is missing after the restore: {list}"
        );
    }
    assert_eq!(people_count(&fresh.db()), people_count(&site.db()));
    fresh.run(&["audit", "verify"]).ok().says("intact");

    // Without --force an existing database is kept.
    restore(&fresh, &backup, false).fails().complains("--force");

    // A file that is not a database is refused, and the installation still works.
    let junk = fresh.write(
        "not-a-backup.db",
        "this is not a SQLite database\n".repeat(200),
    );
    restore(&fresh, &junk, true)
        .fails()
        .complains("not a usable Gatehouse backup");
    let after = fresh.run(&["user", "list"]).ok();
    assert_eq!(
        after.stdout, list.stdout,
        "the failed restore changed the accounts"
    );
    fresh.run(&["audit", "verify"]).ok().says("intact");
}

// ---------------------------------------------------------------- healthcheck

#[test]
fn healthcheck_passes_while_the_server_runs_and_fails_after_it_stops() {
    let site = Site::empty();
    let server = site.start_demo();
    let base = server.base.clone();
    site.run(&["healthcheck", "--url", &base])
        .ok()
        .says("healthy");
    server.stop();
    site.run(&["healthcheck", "--url", &base])
        .fails()
        .says("unhealthy");
}

// ---------------------------------------------------------------- without an installation

#[test]
fn management_commands_need_an_installation() {
    let site = Site::empty();
    site.run(&["user", "list"])
        .fails()
        .complains("no Gatehouse installation");
    // `gatehouse` without --data uses the configuration's folder; with no arguments at
    // all it explains itself.
    let run = Run::of(gatehouse(), None);
    assert!(
        !run.status.success() && run.stderr.contains("Usage"),
        "{run}"
    );
}
