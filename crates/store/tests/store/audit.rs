//! The audit chain: appending, reading back, refusing edits, searching.

use super::*;
use gatehouse_domain::audit::GENESIS;
use gatehouse_store::AuditFilter;
use jiff::Unit;

#[tokio::test]
async fn appends_chain_in_order_and_read_back_unchanged() {
    let (_dir, store) = open().await;
    let events = [
        event("head", "person.view", Some("person:1")),
        AuditEvent {
            actor: "system".into(),
            action: "auth.sign_in_failed".into(),
            target: None,
            ip: None,
            detail: r#"{"reason":"wrong password","name":"Siobhán Ó Briain"}"#.into(),
        },
        event("dsl", "person.edit", Some("person:2")),
        event("head", "account.create", Some("account:9")),
    ];
    let mut appended: Vec<AuditEntry> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let i = i as i64;
        // Sub-microsecond parts that the store must round away; the last one rounds up
        // into the next second.
        let nanos = if i == 3 {
            999_999_700
        } else {
            123_456_789 + i as i32 * 111
        };
        let t = Timestamp::new(BASE + i, nanos).unwrap();
        let e = store.append_audit(t, ev.clone()).await.unwrap();
        assert_eq!(e.seq, i + 1);
        assert_eq!(&e.event, ev);
        assert_eq!(e.at, t.round(Unit::Microsecond).unwrap());
        assert_eq!(e.at.subsec_nanosecond() % 1_000, 0, "not rounded: {}", e.at);
        let prev = appended.last().map_or(GENESIS, |p| p.hash.as_str());
        assert_eq!(e.prev_hash, prev);
        assert_ne!(e.hash, e.prev_hash);
        appended.push(e);
    }
    assert_eq!(appended[3].at, Timestamp::from_second(BASE + 4).unwrap());

    let log = verified_log(store.as_ref()).await;
    assert_eq!(log, appended);
    // Paging through the log in order.
    let tail = store.audit_entries(2, 1).await.unwrap();
    assert_eq!(tail, appended[2..3]);
    assert!(store.audit_entries(4, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_database_refuses_to_update_or_delete_audit_entries() {
    let (dir, store) = open().await;
    for i in 0..3 {
        store
            .append_audit(at(i), event("head", "person.view", Some("person:1")))
            .await
            .unwrap();
    }
    let before = verified_log(store.as_ref()).await;
    let pool = raw(&dir).await;
    for sql in [
        "UPDATE audit_log SET actor = 'intruder' WHERE seq = 2",
        "UPDATE audit_log SET hash = prev_hash",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(verified_log(store.as_ref()).await, before);
}

fn seqs(entries: &[AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn search_filters_and_returns_newest_first() {
    let (_dir, store) = open().await;
    let rows = [
        ("head", "person.view", Some("person:1"), 0),
        ("dsl", "person.view", Some("person:2"), 60),
        ("head", "account.create", Some("account:5"), 120),
        ("head", "person.edit", Some("person:1"), 180),
        ("cli", "people.import", None, 240),
        ("dsl", "auth.sign_in", None, 300),
        ("dsl", "auth.signout", None, 360),
    ];
    for (actor, action, target, secs) in rows {
        store
            .append_audit(at(secs), event(actor, action, target))
            .await
            .unwrap();
    }
    let search = |f: AuditFilter| {
        let store = store.clone();
        async move { seqs(&store.search_audit(&f).await.unwrap()) }
    };
    let all = AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    };

    assert_eq!(search(all.clone()).await, vec![7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(
        search(AuditFilter {
            actor: Some("head".into()),
            ..all.clone()
        })
        .await,
        vec![4, 3, 1]
    );
    assert_eq!(
        search(AuditFilter {
            action: Some("person.".into()),
            ..all.clone()
        })
        .await,
        vec![4, 2, 1]
    );
    assert_eq!(
        search(AuditFilter {
            action: Some("people".into()),
            ..all.clone()
        })
        .await,
        vec![5]
    );
    // The prefix is taken literally: `_` is not a wildcard.
    assert_eq!(
        search(AuditFilter {
            action: Some("auth.sign_".into()),
            ..all.clone()
        })
        .await,
        vec![6]
    );
    assert_eq!(
        search(AuditFilter {
            target: Some("person:1".into()),
            ..all.clone()
        })
        .await,
        vec![4, 1]
    );
    // From is inclusive, to is exclusive.
    assert_eq!(
        search(AuditFilter {
            from: Some(at(60)),
            to: Some(at(180)),
            ..all.clone()
        })
        .await,
        vec![3, 2]
    );
    assert_eq!(
        search(AuditFilter {
            from: Some(at(61)),
            ..all.clone()
        })
        .await,
        vec![7, 6, 5, 4, 3]
    );
    // Paging: a page of 2 older than entry 4.
    assert_eq!(
        search(AuditFilter {
            before_seq: Some(4),
            limit: 2,
            ..all.clone()
        })
        .await,
        vec![3, 2]
    );
    assert_eq!(
        search(AuditFilter {
            actor: Some("head".into()),
            action: Some("person.".into()),
            target: Some("person:1".into()),
            before_seq: Some(4),
            ..all.clone()
        })
        .await,
        vec![1]
    );
    assert!(
        search(AuditFilter {
            actor: Some("nobody".into()),
            ..all.clone()
        })
        .await
        .is_empty()
    );

    // The entries found are the stored ones.
    let found = store
        .search_audit(&AuditFilter {
            target: Some("account:5".into()),
            ..all
        })
        .await
        .unwrap();
    assert_eq!(found, audit_log(store.as_ref()).await[2..3]);
}
