//! Unblock requests, the overrides their approvals write, and portal sign-ins.

use super::*;
use gatehouse_domain::filtering::{UnblockScope, UnblockStatus};
use gatehouse_store::{NewUnblockRequest, PortalSession, StoreError, UnblockDecision};

fn request(host: &str, person: Option<i64>) -> NewUnblockRequest {
    NewUnblockRequest {
        host: host.to_owned(),
        category: Some("games".into()),
        rule: "policy:ks2/games".into(),
        client_ip: Some("10.0.0.7".into()),
        person_id: person,
        group: "ks2".into(),
        reason: "Homework on the Romans".into(),
    }
}

fn approve(scope: UnblockScope, until: Option<Timestamp>) -> UnblockDecision {
    UnblockDecision {
        approve: true,
        scope,
        until,
        note: None,
        by: "osl".into(),
    }
}

#[tokio::test]
async fn approving_writes_one_override_and_a_request_is_decided_once() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    import(s, school.id, PersonKind::Pupil, PUPILS_CSV, false).await;
    let zoe = s
        .people_for_import(school.id, PersonKind::Pupil)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.details.first_name.as_str() == "Zoe")
        .unwrap()
        .id;

    let r = s
        .create_unblock_request(
            school.id,
            &request("romans.example", Some(zoe)),
            at(10),
            event("zoe", "unblock.request", None),
        )
        .await
        .unwrap();
    assert_eq!(r.status, UnblockStatus::Pending);
    assert_eq!(r.person.as_ref().unwrap().name, "Zoe Lee");
    assert_eq!(r.reason, "Homework on the Romans");
    let pending = s
        .unblock_requests(school.id, Some(UnblockStatus::Pending), None, 10)
        .await
        .unwrap();
    assert_eq!(pending, vec![r.clone()]);
    assert!(
        s.active_overrides(school.id, at(11))
            .await
            .unwrap()
            .is_empty()
    );

    let decided = s
        .decide_unblock_request(
            school.id,
            r.id,
            &approve(UnblockScope::Person, Some(at(1_000))),
            at(20),
            event(
                "osl",
                "unblock.approve",
                Some(&format!("unblock_request:{}", r.id)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(decided.status, UnblockStatus::Approved);
    assert_eq!(decided.scope, Some(UnblockScope::Person));
    assert_eq!(decided.until, Some(at(1_000)));
    assert_eq!(decided.decided_by.as_deref(), Some("osl"));

    let o = s.active_overrides(school.id, at(21)).await.unwrap();
    assert_eq!(o.len(), 1);
    assert_eq!(
        (
            o[0].scope,
            o[0].subject.as_str(),
            o[0].host.as_deref(),
            o[0].action.as_deref()
        ),
        (
            UnblockScope::Person,
            zoe.to_string().as_str(),
            Some("romans.example"),
            Some("allow")
        )
    );
    assert_eq!(o[0].source, format!("unblock:{}", r.id));
    // it ends by itself
    assert!(
        s.active_overrides(school.id, at(1_000))
            .await
            .unwrap()
            .is_empty()
    );

    // a second decision is refused and changes nothing
    let again = s
        .decide_unblock_request(
            school.id,
            r.id,
            &UnblockDecision {
                approve: false,
                note: Some("no".into()),
                ..approve(UnblockScope::Person, None)
            },
            at(30),
            event("osl", "unblock.decline", None),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        s.unblock_request(school.id, r.id).await.unwrap().unwrap(),
        decided
    );
    let log = verified_log(s).await;
    let actions: Vec<&str> = log.iter().map(|e| e.event.action.as_str()).collect();
    assert!(
        actions.ends_with(&["unblock.request", "unblock.approve"]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn an_anonymous_request_approved_for_the_person_goes_to_their_group() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let r = s
        .create_unblock_request(
            school.id,
            &request("maps.example", None),
            at(10),
            event("10.0.0.7", "unblock.request", None),
        )
        .await
        .unwrap();
    let mine = s
        .unblock_requests_from(school.id, "10.0.0.7", at(0))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert!(
        s.unblock_requests_from(school.id, "10.0.0.8", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    s.decide_unblock_request(
        school.id,
        r.id,
        &approve(UnblockScope::Person, None),
        at(20),
        event("osl", "unblock.approve", None),
    )
    .await
    .unwrap();
    let o = s.active_overrides(school.id, at(10_000_000)).await.unwrap();
    assert_eq!(
        (o[0].scope, o[0].subject.as_str(), o[0].until),
        (UnblockScope::Group, "ks2", None)
    );
}

#[tokio::test]
async fn portal_sessions_bind_one_person_per_address_until_they_end() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    import(s, school.id, PersonKind::Staff, STAFF_CSV, false).await;
    let staff = s
        .people_for_import(school.id, PersonKind::Staff)
        .await
        .unwrap();
    let acct = add_account(s, school.id, "alice", &[Role::Staff]).await;
    let bind = |person: i64, start: i64| PortalSession {
        client_ip: "10.0.0.9".into(),
        person_id: person,
        account_id: acct,
        signed_in_at: at(start),
        expires_at: at(start + 100),
    };
    s.start_portal_session(
        school.id,
        &bind(staff[0].id, 0),
        event("alice", "portal.sign_in", None),
    )
    .await
    .unwrap();
    s.start_portal_session(
        school.id,
        &bind(staff[1].id, 50),
        event("bob", "portal.sign_in", None),
    )
    .await
    .unwrap();
    let live = s.portal_sessions(at(60)).await.unwrap();
    assert_eq!(
        live,
        vec![bind(staff[1].id, 50)],
        "the later sign-in replaces the earlier"
    );
    assert!(
        s.portal_sessions(at(150)).await.unwrap().is_empty(),
        "expired"
    );
    assert!(
        s.end_portal_session("10.0.0.9", at(70), event("bob", "portal.sign_out", None))
            .await
            .unwrap()
    );
    assert!(
        !s.end_portal_session("10.0.0.9", at(71), event("bob", "portal.sign_out", None))
            .await
            .unwrap()
    );
    assert!(s.portal_sessions(at(72)).await.unwrap().is_empty());
}
