#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of the store, written against the `Store` trait object so that
//! another implementation (PostgreSQL) can run the same suite. Checks that only make
//! sense for SQLite (triggers, the migrations table) reach into the file with sqlx.

mod accounts;
mod alerts;
mod audit;
mod devices;
mod filtering;
mod incidents;
mod maintenance;
mod migrations;
mod people;
mod sessions;
mod writes;

use gatehouse_domain::audit::{AuditEntry, AuditEvent, verify_chain};
use gatehouse_domain::import::{ImportPlan, parse_people_csv, plan_import};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_store::{
    ImportOutcome, NewAccount, PeopleStore, School, SchoolStore, SqliteStore, Store,
};
use jiff::Timestamp;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

/// The database file's name inside each test's directory.
const DB_FILE: &str = "gatehouse.db";

/// A fixed instant to build test times from (2023-11-14T22:13:20Z).
const BASE: i64 = 1_700_000_000;

/// The versions of the migrations in `migrations/sqlite`, in order.
fn migrations() -> Vec<i64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            digits
                .parse::<i64>()
                .ok()
                .filter(|_| name.ends_with(".sql"))
        })
        .collect();
    versions.sort_unstable();
    versions
}

/// The newest migration: the schema version of a fresh database.
fn newest_migration() -> i64 {
    let newest = migrations().last().copied().unwrap();
    assert!(newest >= 1);
    newest
}

/// The path of the test database in `dir`.
fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join(DB_FILE)
}

/// A fresh store in its own directory.
async fn open() -> (TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir)).await.unwrap();
    (dir, Arc::new(store))
}

/// A plain sqlx pool on the test database, for SQLite-specific checks.
async fn raw(dir: &TempDir) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(db_path(dir))
        .busy_timeout(std::time::Duration::from_secs(10));
    SqlitePool::connect_with(options).await.unwrap()
}

/// `BASE + secs` seconds.
fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(BASE + secs).unwrap()
}

/// An audit event.
fn event(actor: &str, action: &str, target: Option<&str>) -> AuditEvent {
    AuditEvent {
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.map(str::to_owned),
        ip: Some("192.0.2.7".to_owned()),
        detail: r#"{"note":"test"}"#.to_owned(),
    }
}

/// The whole audit log, in order.
async fn audit_log(store: &dyn Store) -> Vec<AuditEntry> {
    store.audit_entries(0, 100_000).await.unwrap()
}

/// The whole audit log, checked to be one unbroken chain.
async fn verified_log(store: &dyn Store) -> Vec<AuditEntry> {
    let log = audit_log(store).await;
    assert_eq!(
        verify_chain(&log),
        Ok(log.len() as i64),
        "the audit chain is broken"
    );
    log
}

/// Create a school.
async fn new_school(store: &dyn Store) -> School {
    store
        .create_school(
            "Oakfield Primary",
            at(0),
            event("cli", "school.create", None),
        )
        .await
        .unwrap()
}

/// A new account's fields.
fn new_account(school: i64, username: &str, roles: &[Role]) -> NewAccount {
    NewAccount {
        school_id: school,
        person_id: None,
        username: username.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${username}"),
        roles: roles.to_vec(),
    }
}

/// Create an account.
async fn add_account(store: &dyn Store, school: i64, username: &str, roles: &[Role]) -> i64 {
    store
        .create_account(
            &new_account(school, username, roles),
            at(1),
            event("cli", "account.create", None),
        )
        .await
        .unwrap()
}

/// Plan the import of `csv` as people of `kind` against what is stored.
async fn plan(
    store: &dyn Store,
    school: i64,
    kind: PersonKind,
    csv: &str,
    full: bool,
) -> ImportPlan {
    let parsed = parse_people_csv(csv.as_bytes(), kind, &[], &mut |_| {});
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let existing = store.people_for_import(school, kind).await.unwrap();
    let pupils = store.pupil_mis_ids(school).await.unwrap();
    let plan = plan_import(&parsed, &existing, &pupils, full);
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    plan
}

/// Plan and apply the import of `csv`.
async fn import(
    store: &dyn Store,
    school: i64,
    kind: PersonKind,
    csv: &str,
    full: bool,
) -> ImportOutcome {
    let plan = plan(store, school, kind, csv, full).await;
    store
        .apply_import(
            school,
            &plan,
            at(100),
            event("cli", "people.import", None),
            &|_| {},
        )
        .await
        .unwrap()
}

/// Two staff.
const STAFF_CSV: &str = "Staff code,First name,Last name,Email,Job title
S1,Alice,Hart,alice.hart@oakfield.example,Headteacher
S2,Bob,Nash,bob_nash@oakfield.example,Year 3 teacher
";

/// Five pupils across Nursery, Reception and years 1, 3 and 10.
const PUPILS_CSV: &str = "UPN,Forename,Surname,Year,Class
A100,Zoe,Lee,3,3 Oak
A101,Sam,Lee,R,R Ash
A102,Max,Brown,N,N Elm
A103,Ivy,Green,10,10 Yew
A104,Tom,Lee,1,1 Fir
";

/// Two parents: Ann with two children, Raj with one.
const PARENTS_CSV: &str = "Parent ID,First name,Last name,Email,Child UPN
P1,Ann,Lee,ann.lee@home.example,A100;A101
P2,Raj,Brown,,A102
";

/// A school with the staff, pupils and parents above imported.
async fn populated() -> (TempDir, Arc<dyn Store>, School) {
    let (dir, store) = open().await;
    let school = new_school(store.as_ref()).await;
    import(
        store.as_ref(),
        school.id,
        PersonKind::Staff,
        STAFF_CSV,
        false,
    )
    .await;
    import(
        store.as_ref(),
        school.id,
        PersonKind::Pupil,
        PUPILS_CSV,
        false,
    )
    .await;
    import(
        store.as_ref(),
        school.id,
        PersonKind::Parent,
        PARENTS_CSV,
        false,
    )
    .await;
    (dir, store, school)
}
