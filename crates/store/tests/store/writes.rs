//! Every write appends exactly one audit entry with its change, or nothing at all.

use super::*;
use gatehouse_domain::import::ImportRow;
use gatehouse_store::{PeopleFilter, Session, StoreError};

/// Exactly one entry was appended after the first `before`, at `t`; the chain holds.
async fn one_new_entry(store: &dyn Store, before: usize, t: Timestamp) -> AuditEntry {
    let log = verified_log(store).await;
    assert_eq!(
        log.len(),
        before + 1,
        "expected exactly one new audit entry"
    );
    let e = log.last().unwrap().clone();
    assert_eq!(e.at, t);
    e
}

async fn log_len(store: &dyn Store) -> usize {
    verified_log(store).await.len()
}

#[tokio::test]
async fn each_write_appends_exactly_its_own_audit_entry() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let mut n = 0;

    let ev = event("cli", "school.create", Some("school:1"));
    let school = s
        .create_school("Oakfield", at(10), ev.clone())
        .await
        .unwrap();
    assert_eq!(one_new_entry(s, n, at(10)).await.event, ev);
    n += 1;

    // Without a target, the store names the new account.
    let id = s
        .create_account(
            &new_account(school.id, "alice", &[Role::Staff]),
            at(11),
            event("cli", "account.create", None),
        )
        .await
        .unwrap();
    let e = one_new_entry(s, n, at(11)).await;
    n += 1;
    assert_eq!(e.event.action, "account.create");
    assert_eq!(e.event.target, Some(format!("account:{id}")));
    // A target given is kept.
    let ev = event("cli", "account.create", Some("person:4"));
    s.create_account(&new_account(school.id, "bob", &[]), at(12), ev.clone())
        .await
        .unwrap();
    assert_eq!(one_new_entry(s, n, at(12)).await.event, ev);
    n += 1;

    let ev = event("alice", "account.password_changed", Some("account:1"));
    s.set_password(id, "new-hash", at(13), ev.clone())
        .await
        .unwrap();
    assert_eq!(one_new_entry(s, n, at(13)).await.event, ev);
    n += 1;

    let ev = event("head", "account.disable", Some("account:1"));
    s.set_disabled(id, true, at(14), ev.clone()).await.unwrap();
    assert_eq!(one_new_entry(s, n, at(14)).await.event, ev);
    n += 1;
    let ev = event("head", "account.enable", Some("account:1"));
    s.set_disabled(id, false, at(15), ev.clone()).await.unwrap();
    assert_eq!(one_new_entry(s, n, at(15)).await.event, ev);
    n += 1;

    let ev = event("head", "account.roles", Some("account:1"));
    s.set_roles(id, &[Role::Dsl], at(16), ev.clone())
        .await
        .unwrap();
    assert_eq!(one_new_entry(s, n, at(16)).await.event, ev);
    n += 1;

    let ev = event("alice", "auth.mfa_enabled", Some("account:1"));
    s.enable_mfa(
        id,
        "SECRET",
        &["h1".into(), "h2".into()],
        at(17),
        ev.clone(),
    )
    .await
    .unwrap();
    assert_eq!(one_new_entry(s, n, at(17)).await.event, ev);
    n += 1;

    let ev = event("alice", "auth.recovery_code_used", Some("account:1"));
    assert!(
        s.use_recovery_code(id, "h1", at(18), ev.clone())
            .await
            .unwrap()
    );
    assert_eq!(one_new_entry(s, n, at(18)).await.event, ev);
    n += 1;
    // A used or unknown code changes nothing and is not recorded as used.
    assert!(
        !s.use_recovery_code(id, "h1", at(19), ev.clone())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(id, "nope", at(19), ev.clone())
            .await
            .unwrap()
    );
    assert_eq!(log_len(s).await, n);

    // Without a target, the store names the new token.
    let token = s
        .create_token(
            id,
            "MIS sync",
            "tokenhash",
            at(20),
            event("head", "token.create", None),
        )
        .await
        .unwrap();
    let e = one_new_entry(s, n, at(20)).await;
    n += 1;
    assert_eq!(e.event.target, Some(format!("token:{token}")));

    let p = plan(s, school.id, PersonKind::Staff, STAFF_CSV, false).await;
    let mut ev = event("cli", "people.import", None);
    ev.detail = r#"{"file":"staff.csv"}"#.into();
    s.apply_import(school.id, &p, at(21), ev.clone(), &|_| {})
        .await
        .unwrap();
    let e = one_new_entry(s, n, at(21)).await;
    n += 1;
    assert_eq!(
        (e.event.actor.as_str(), e.event.action.as_str()),
        ("cli", "people.import")
    );
    let detail: serde_json::Value = serde_json::from_str(&e.event.detail).unwrap();
    assert_eq!(
        detail,
        serde_json::json!({
            "file": "staff.csv",
            "outcome": { "created": 2, "updated": 0, "leavers": 0, "links_added": 0 }
        })
    );

    // Sessions, token use and settings are not audited by the store.
    let session = Session {
        id_hash: "sess".into(),
        account_id: id,
        mfa_passed: false,
        created_at: at(22),
        expires_at: at(3_600),
        ip: None,
        user_agent: None,
    };
    s.create_session(&session).await.unwrap();
    s.session_mfa_passed("sess").await.unwrap();
    s.delete_session("sess").await.unwrap();
    s.purge_sessions(at(22)).await.unwrap();
    assert!(s.use_token("tokenhash", at(23)).await.unwrap().is_some());
    s.setting_or_insert("cookie_key", "k").await.unwrap();
    assert_eq!(log_len(s).await, n);
}

#[tokio::test]
async fn a_failing_write_appends_nothing_and_changes_nothing() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::Head]).await;
    import(s, school.id, PersonKind::Pupil, PUPILS_CSV, false).await;
    let accounts = s.list_accounts(school.id).await.unwrap();
    let log = verified_log(s).await;

    // The username is taken, whatever its case.
    let err = s
        .create_account(
            &new_account(school.id, "Alice", &[Role::Visitor]),
            at(50),
            event("cli", "account.create", None),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("Alice"), "{err}");

    // Writes to an account that does not exist.
    let missing = alice + 1_000;
    let ev = || event("head", "account.change", Some("account:missing"));
    let results = [
        s.set_password(missing, "h", at(51), ev()).await,
        s.set_disabled(missing, true, at(51), ev()).await,
        s.set_roles(missing, &[Role::Head], at(51), ev()).await,
        s.enable_mfa(missing, "S", &["c".into()], at(51), ev())
            .await,
        s.create_token(missing, "t", "h", at(51), ev())
            .await
            .map(|_| ()),
    ];
    for r in results {
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    }
    assert!(
        !s.use_recovery_code(missing, "c", at(51), ev())
            .await
            .unwrap()
    );

    // An import whose second row collides with a stored pupil: the first row is not kept.
    let new_rows = parse_people_csv(
        b"UPN,Forename,Surname,Year\nA200,New,Pupil,2\nA100,Zoe,Again,3\n",
        PersonKind::Pupil,
        &[],
        &mut |_| {},
    );
    let rows: Vec<ImportRow> = new_rows.rows;
    assert_eq!(rows.len(), 2);
    let bad_plan = ImportPlan {
        kind: PersonKind::Pupil,
        creates: rows,
        updates: Vec::new(),
        unchanged: 0,
        leavers: Vec::new(),
        problems: Vec::new(),
    };
    let err = s
        .apply_import(
            school.id,
            &bad_plan,
            at(52),
            event("cli", "people.import", None),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let found = s
        .list_people(
            school.id,
            &PeopleFilter {
                query: Some("A200".into()),
                include_inactive: true,
                limit: 10,
                ..PeopleFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.total, 0, "a row of the failed import was kept");

    assert_eq!(verified_log(s).await, log);
    assert_eq!(s.list_accounts(school.id).await.unwrap(), accounts);
    assert_eq!(
        s.count_by_kind(school.id).await.unwrap(),
        vec![(PersonKind::Pupil, 5)]
    );
}

/// SQLite only: make the database refuse audit entries of `action`, so that the write
/// carrying one fails at its last step.
pub(crate) async fn refuse_audit_of(dir: &TempDir, action: &str) {
    let pool = raw(dir).await;
    let sql = format!(
        "CREATE TRIGGER test_refuse_{name} BEFORE INSERT ON audit_log WHEN NEW.action = '{action}'
         BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
        name = action.replace('.', "_")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_change_whose_audit_entry_fails_is_not_stored() {
    let (dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::Head]).await;
    let session = Session {
        id_hash: "alice-session".into(),
        account_id: alice,
        mfa_passed: true,
        created_at: at(1),
        expires_at: at(3_600),
        ip: None,
        user_agent: None,
    };
    s.create_session(&session).await.unwrap();
    for action in [
        "account.create",
        "account.password_changed",
        "people.import",
        "token.create",
    ] {
        refuse_audit_of(&dir, action).await;
    }
    let log = verified_log(s).await;
    let before = s.account(alice).await.unwrap().unwrap();

    let r = s
        .create_account(
            &new_account(school.id, "bob", &[]),
            at(2),
            event("cli", "account.create", None),
        )
        .await;
    assert!(r.is_err());
    assert_eq!(s.account_by_username("bob").await.unwrap(), None);

    let r = s
        .set_password(
            alice,
            "other",
            at(3),
            event("alice", "account.password_changed", None),
        )
        .await;
    assert!(r.is_err());
    assert_eq!(s.account(alice).await.unwrap().unwrap(), before);
    assert_eq!(
        s.session("alice-session", at(4)).await.unwrap(),
        Some(session)
    );

    let r = s
        .create_token(
            alice,
            "t",
            "hash",
            at(5),
            event("cli", "token.create", None),
        )
        .await;
    assert!(r.is_err());
    assert!(s.list_tokens(alice).await.unwrap().is_empty());

    let p = plan(s, school.id, PersonKind::Pupil, PUPILS_CSV, false).await;
    let r = s
        .apply_import(
            school.id,
            &p,
            at(6),
            event("cli", "people.import", None),
            &|_| {},
        )
        .await;
    assert!(r.is_err());
    assert!(s.count_by_kind(school.id).await.unwrap().is_empty());

    assert_eq!(verified_log(s).await, log);
}
