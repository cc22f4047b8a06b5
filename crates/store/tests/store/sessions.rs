//! Sessions, API tokens and settings.

use super::*;
use gatehouse_store::{ApiToken, Session};

fn session(id_hash: &str, account: i64, created: i64, expires: i64) -> Session {
    Session {
        id_hash: id_hash.to_owned(),
        account_id: account,
        mfa_passed: false,
        created_at: at(created),
        expires_at: at(expires),
        ip: Some("198.51.100.4".into()),
        user_agent: Some("Mozilla/5.0".into()),
    }
}

#[tokio::test]
async fn sessions_live_until_they_expire() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::Staff]).await;

    let live = session("live", alice, 100, 200);
    let expired = session("expired", alice, 0, 50);
    let bare = Session {
        ip: None,
        user_agent: None,
        ..session("bare", alice, 100, 1_000)
    };
    for x in [&live, &expired, &bare] {
        s.create_session(x).await.unwrap();
    }
    assert_eq!(
        s.session("live", at(150)).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        s.session("bare", at(150)).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(s.session("expired", at(150)).await.unwrap(), None);
    assert_eq!(s.session("unknown", at(150)).await.unwrap(), None);
    // A session ends at its expiry instant.
    assert_eq!(s.session("live", at(200)).await.unwrap(), None);
    assert!(s.session("live", at(199)).await.unwrap().is_some());

    s.session_mfa_passed("live").await.unwrap();
    let passed = s.session("live", at(150)).await.unwrap().unwrap();
    assert!(passed.mfa_passed);
    assert_eq!(
        passed,
        Session {
            mfa_passed: true,
            ..live.clone()
        }
    );
    assert!(
        !s.session("bare", at(150))
            .await
            .unwrap()
            .unwrap()
            .mfa_passed
    );

    // Purging removes only the expired.
    assert_eq!(s.purge_sessions(at(150)).await.unwrap(), 1);
    assert_eq!(s.purge_sessions(at(150)).await.unwrap(), 0);
    assert!(s.session("live", at(150)).await.unwrap().is_some());
    assert!(s.session("bare", at(150)).await.unwrap().is_some());
    // At `live`'s expiry it goes too.
    assert_eq!(s.purge_sessions(at(200)).await.unwrap(), 1);
    assert!(s.session("bare", at(150)).await.unwrap().is_some());

    s.delete_session("bare").await.unwrap();
    assert_eq!(s.session("bare", at(150)).await.unwrap(), None);
    // Deleting again is harmless.
    s.delete_session("bare").await.unwrap();
}

#[tokio::test]
async fn tokens_are_found_by_hash_and_record_their_use() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let alice = add_account(s, school.id, "alice", &[Role::ItAdmin]).await;
    let bob = add_account(s, school.id, "bob", &[Role::Staff]).await;
    let ev = || event("alice", "token.create", None);

    let first = s
        .create_token(alice, "MIS sync", "hash-1", at(10), ev())
        .await
        .unwrap();
    let second = s
        .create_token(alice, "Filter logs", "hash-2", at(11), ev())
        .await
        .unwrap();
    let bobs = s
        .create_token(bob, "Bob's", "hash-3", at(12), ev())
        .await
        .unwrap();
    assert_ne!(first, second);

    let listed = s.list_tokens(alice).await.unwrap();
    assert_eq!(
        listed,
        [
            ApiToken {
                id: first,
                account_id: alice,
                label: "MIS sync".into(),
                created_at: at(10),
                last_used_at: None,
                revoked_at: None,
            },
            ApiToken {
                id: second,
                account_id: alice,
                label: "Filter logs".into(),
                created_at: at(11),
                last_used_at: None,
                revoked_at: None,
            },
        ]
    );

    let (token, account) = s.use_token("hash-2", at(20)).await.unwrap().unwrap();
    assert_eq!(token.id, second);
    assert_eq!(token.account_id, alice);
    assert_eq!(account, s.account(alice).await.unwrap().unwrap());
    let listed = s.list_tokens(alice).await.unwrap();
    assert_eq!(listed[0].last_used_at, None);
    assert_eq!(listed[1].last_used_at, Some(at(20)));
    s.use_token("hash-2", at(25)).await.unwrap().unwrap();
    assert_eq!(
        s.list_tokens(alice).await.unwrap()[1].last_used_at,
        Some(at(25))
    );

    let (token, account) = s.use_token("hash-3", at(30)).await.unwrap().unwrap();
    assert_eq!((token.id, account.id), (bobs, bob));
    assert_eq!(s.use_token("unknown", at(30)).await.unwrap(), None);
    assert_eq!(s.use_token("", at(30)).await.unwrap(), None);
    assert!(s.list_tokens(bob + alice + 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_setting_keeps_its_first_value() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    assert_eq!(s.setting("cookie_key").await.unwrap(), None);
    assert_eq!(
        s.setting_or_insert("cookie_key", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        s.setting_or_insert("cookie_key", "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        s.setting("cookie_key").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(s.setting_or_insert("other", "x").await.unwrap(), "x");
    assert_eq!(
        s.setting("cookie_key").await.unwrap().as_deref(),
        Some("first")
    );
}

#[tokio::test]
async fn the_first_school_is_the_one_created_first() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    assert_eq!(s.first_school().await.unwrap(), None);
    let first = new_school(s).await;
    assert_eq!(first.name, "Oakfield Primary");
    s.create_school("Second", at(5), event("cli", "school.create", None))
        .await
        .unwrap();
    assert_eq!(s.first_school().await.unwrap(), Some(first));
}
