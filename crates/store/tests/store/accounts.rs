//! Accounts: roles, passwords, disabling, second factors.

use super::*;
use gatehouse_store::Session;

fn session(id_hash: &str, account: i64) -> Session {
    Session {
        id_hash: id_hash.to_owned(),
        account_id: account,
        mfa_passed: true,
        created_at: at(10),
        expires_at: at(86_400),
        ip: Some("192.0.2.9".into()),
        user_agent: Some("Firefox".into()),
    }
}

#[tokio::test]
async fn accounts_are_found_by_username_in_any_case_with_roles_sorted() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let id = add_account(
        s,
        school.id,
        "Alice.Hart",
        &[Role::Staff, Role::Dsl, Role::Head, Role::Dsl],
    )
    .await;
    let bob = add_account(s, school.id, "bob", &[]).await;

    let a = s.account_by_username("alice.hart").await.unwrap().unwrap();
    assert_eq!(a.id, id);
    assert_eq!(a.school_id, school.id);
    assert_eq!(a.username, "alice.hart");
    assert_eq!(a.roles, [Role::Head, Role::Dsl, Role::Staff]);
    assert_eq!(a.person_id, None);
    assert_eq!(a.display_name, None);
    assert!(!a.mfa_enabled && !a.disabled);
    assert_eq!(a.mfa_secret, None);
    assert_eq!(
        a.password_hash,
        new_account(school.id, "Alice.Hart", &[]).password_hash
    );
    assert_eq!(
        s.account_by_username("ALICE.HART").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        s.account_by_username(" Alice.Hart ").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.account(id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.account_by_username("alice").await.unwrap(), None);
    assert_eq!(s.account(id + bob + 100).await.unwrap(), None);

    let listed = s.list_accounts(school.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], a);
    assert_eq!(listed[1].id, bob);
    assert!(listed[1].roles.is_empty());
    assert!(s.list_accounts(school.id + 1).await.unwrap().is_empty());
}

#[tokio::test]
async fn set_password_replaces_the_hash_and_ends_only_that_accounts_sessions() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::Staff]).await;
    let bob = add_account(s, school.id, "bob", &[Role::Staff]).await;
    for (h, a) in [("a1", alice), ("a2", alice), ("b1", bob)] {
        s.create_session(&session(h, a)).await.unwrap();
    }
    s.set_password(
        alice,
        "new-hash",
        at(20),
        event("alice", "account.password_changed", None),
    )
    .await
    .unwrap();
    assert_eq!(
        s.account(alice).await.unwrap().unwrap().password_hash,
        "new-hash"
    );
    assert_eq!(s.session("a1", at(30)).await.unwrap(), None);
    assert_eq!(s.session("a2", at(30)).await.unwrap(), None);
    assert_eq!(
        s.session("b1", at(30)).await.unwrap(),
        Some(session("b1", bob))
    );
    assert_ne!(
        s.account(bob).await.unwrap().unwrap().password_hash,
        "new-hash"
    );
}

#[tokio::test]
async fn disabling_ends_sessions_and_revokes_tokens() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::ItAdmin]).await;
    let bob = add_account(s, school.id, "bob", &[Role::Staff]).await;
    s.create_session(&session("a1", alice)).await.unwrap();
    s.create_session(&session("b1", bob)).await.unwrap();
    let ev = || event("head", "account.disable", None);
    s.create_token(alice, "sync", "alice-token", at(11), ev())
        .await
        .unwrap();
    s.create_token(bob, "sync", "bob-token", at(11), ev())
        .await
        .unwrap();
    assert!(s.use_token("alice-token", at(12)).await.unwrap().is_some());

    s.set_disabled(alice, true, at(20), ev()).await.unwrap();
    let a = s.account(alice).await.unwrap().unwrap();
    assert!(a.disabled);
    assert_eq!(s.session("a1", at(30)).await.unwrap(), None);
    assert_eq!(s.use_token("alice-token", at(30)).await.unwrap(), None);
    let tokens = s.list_tokens(alice).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].revoked_at, Some(at(20)));
    // Bob is untouched.
    assert!(s.session("b1", at(30)).await.unwrap().is_some());
    assert!(s.use_token("bob-token", at(30)).await.unwrap().is_some());
    assert_eq!(s.list_tokens(bob).await.unwrap()[0].revoked_at, None);

    // Enabling again lets the account sign in, but revoked tokens stay revoked.
    s.set_disabled(alice, false, at(40), ev()).await.unwrap();
    assert!(!s.account(alice).await.unwrap().unwrap().disabled);
    assert_eq!(s.use_token("alice-token", at(41)).await.unwrap(), None);
    assert_eq!(
        s.list_tokens(alice).await.unwrap()[0].revoked_at,
        Some(at(20))
    );
}

#[tokio::test]
async fn set_roles_replaces_the_roles() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::Staff, Role::Dsl]).await;
    let bob = add_account(s, school.id, "bob", &[Role::Staff]).await;
    let ev = || event("head", "account.roles", None);

    s.set_roles(alice, &[Role::Dpo, Role::Head], at(20), ev())
        .await
        .unwrap();
    assert_eq!(
        s.account(alice).await.unwrap().unwrap().roles,
        [Role::Head, Role::Dpo]
    );
    s.set_roles(alice, &[], at(21), ev()).await.unwrap();
    assert!(s.account(alice).await.unwrap().unwrap().roles.is_empty());
    assert_eq!(s.account(bob).await.unwrap().unwrap().roles, [Role::Staff]);
}

#[tokio::test]
async fn mfa_stores_the_secret_and_recovery_codes_work_once() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::Head]).await;
    let bob = add_account(s, school.id, "bob", &[Role::Staff]).await;
    let ev = || event("alice", "auth.mfa_enabled", None);
    assert_eq!(s.recovery_codes_left(alice).await.unwrap(), 0);

    let codes: Vec<String> = (1..=4).map(|i| format!("code-hash-{i}")).collect();
    s.enable_mfa(alice, "JBSWY3DPEHPK3PXP", &codes, at(20), ev())
        .await
        .unwrap();
    let a = s.account(alice).await.unwrap().unwrap();
    assert!(a.mfa_enabled);
    assert_eq!(a.mfa_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(s.recovery_codes_left(alice).await.unwrap(), 4);

    assert!(
        s.use_recovery_code(alice, "code-hash-2", at(21), ev())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(alice, "code-hash-2", at(22), ev())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(alice, "not-a-code", at(22), ev())
            .await
            .unwrap()
    );
    // Another account cannot use Alice's codes.
    assert!(
        !s.use_recovery_code(bob, "code-hash-3", at(22), ev())
            .await
            .unwrap()
    );
    assert_eq!(s.recovery_codes_left(alice).await.unwrap(), 3);
    assert_eq!(s.recovery_codes_left(bob).await.unwrap(), 0);

    // Enrolling again replaces secret and codes: old codes stop working.
    let fresh = vec!["fresh-1".to_owned(), "fresh-2".to_owned()];
    s.enable_mfa(alice, "NEWSECRET", &fresh, at(30), ev())
        .await
        .unwrap();
    assert_eq!(
        s.account(alice)
            .await
            .unwrap()
            .unwrap()
            .mfa_secret
            .as_deref(),
        Some("NEWSECRET")
    );
    assert_eq!(s.recovery_codes_left(alice).await.unwrap(), 2);
    assert!(
        !s.use_recovery_code(alice, "code-hash-1", at(31), ev())
            .await
            .unwrap()
    );
    assert!(
        s.use_recovery_code(alice, "fresh-1", at(31), ev())
            .await
            .unwrap()
    );
    assert_eq!(s.recovery_codes_left(alice).await.unwrap(), 1);
    assert!(!s.account(bob).await.unwrap().unwrap().mfa_enabled);
}
