//! Monitoring alerts: raised with evidence, folded, moved through their states once, and
//! evidence that cannot be changed.

use super::*;
use gatehouse_store::{NewAlertRecord, StoreError};

fn new_alert(rule: &str, at_s: i64) -> NewAlertRecord {
    NewAlertRecord {
        rule: rule.to_owned(),
        subject: "client:10.0.0.7".into(),
        person_id: None,
        client_ip: Some("10.0.0.7".into()),
        group: "ks2".into(),
        severity: "high".into(),
        summary: "hurt.example (blocked) is in the watched category self harm".into(),
        at: at(at_s),
        evidence: vec![(at(at_s), r#"{"qname":"hurt.example"}"#.into())],
    }
}

#[tokio::test]
async fn alerts_fold_change_state_once_and_keep_their_evidence() {
    let (dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let a = s
        .create_alert(
            school.id,
            &new_alert("category:self_harm", 10),
            event("monitor", "alert.raise", None),
        )
        .await
        .unwrap();
    assert_eq!((a.count, a.status.as_str()), (1, "new"));
    assert_eq!(
        s.open_alert(school.id, "category:self_harm", "client:10.0.0.7", at(0))
            .await
            .unwrap(),
        Some(a.id)
    );
    assert_eq!(
        s.open_alert(school.id, "category:self_harm", "client:10.0.0.8", at(0))
            .await
            .unwrap(),
        None
    );
    s.fold_alert(a.id, at(20), r#"{"qname":"hurt2.example"}"#, 4)
        .await
        .unwrap();
    let (stored, evidence) = s.alert(school.id, a.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.count, stored.last_at),
        (5, at(20)),
        "four repeats folded at once"
    );
    assert_eq!(evidence.len(), 2);
    assert!(evidence[1].1.contains("hurt2.example"));

    let acked = s
        .set_alert_status(
            school.id,
            a.id,
            &["new"],
            "acknowledged",
            None,
            at(30),
            event("dsl", "alert.acknowledge", None),
        )
        .await
        .unwrap();
    assert_eq!(
        (acked.status.as_str(), acked.handled_by.as_deref()),
        ("acknowledged", Some("dsl"))
    );
    let again = s
        .set_alert_status(
            school.id,
            a.id,
            &["new"],
            "acknowledged",
            None,
            at(31),
            event("dsl", "alert.acknowledge", None),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let dismissed = s
        .set_alert_status(
            school.id,
            a.id,
            &["new", "acknowledged"],
            "dismissed",
            Some("false positive: curriculum research"),
            at(40),
            event("dsl", "alert.dismiss", None),
        )
        .await
        .unwrap();
    assert_eq!(
        dismissed.note.as_deref(),
        Some("false positive: curriculum research")
    );
    assert_eq!(
        s.open_alert(school.id, "category:self_harm", "client:10.0.0.7", at(0))
            .await
            .unwrap(),
        None,
        "a dismissed alert takes no more repeats"
    );

    // evidence cannot be changed or removed, even with direct access to the file
    let pool = raw(&dir).await;
    for sql in [
        "UPDATE alert_evidence SET event = '{}'",
        "DELETE FROM alert_evidence",
    ] {
        let e = sqlx::query(sql)
            .execute(&pool)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("alert evidence cannot be"), "{sql}: {e}");
    }
    verified_log(s).await;
}
