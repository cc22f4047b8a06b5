//! Registered devices: registration, lookup by token hash, names, revocation,
//! reassignment, and their audit entries.

use super::*;
use gatehouse_domain::devices::DeviceKind;
use gatehouse_store::{DeviceAssignment, NewDevice, PeopleFilter, StoreError};

fn new_device(school: i64, name: &str, hash: &str, assignment: DeviceAssignment) -> NewDevice {
    NewDevice {
        school_id: school,
        name: name.to_owned(),
        kind: DeviceKind::Laptop,
        asset_tag: Some("SN-1".to_owned()),
        assignment,
        token_hash: hash.to_owned(),
    }
}

/// The id of the pupil called `first`.
async fn pupil(store: &dyn Store, school: i64, first: &str) -> i64 {
    let page = store
        .list_people(
            school,
            &PeopleFilter {
                query: Some(first.to_owned()),
                limit: 10,
                ..PeopleFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.people.len(), 1, "{first}");
    page.people[0].id
}

#[tokio::test]
async fn a_device_is_found_by_its_token_hash_with_its_assignment() {
    let (_dir, store, school) = populated().await;
    let s = store.as_ref();
    let zoe = pupil(s, school.id, "Zoe").await;
    let before = audit_log(s).await.len();
    let laptop = s
        .register_device(
            &new_device(
                school.id,
                "Laptop 14",
                "hash-14",
                DeviceAssignment::Person(zoe),
            ),
            at(200),
            event("itadmin", "device.register", None),
        )
        .await
        .unwrap();
    let ipad = s
        .register_device(
            &NewDevice {
                kind: DeviceKind::Tablet,
                asset_tag: None,
                ..new_device(
                    school.id,
                    "Y6 iPad 3",
                    "hash-ipad",
                    DeviceAssignment::Group("ks2".into()),
                )
            },
            at(201),
            event("itadmin", "device.register", None),
        )
        .await
        .unwrap();

    let d = s.device_by_token_hash("hash-14").await.unwrap().unwrap();
    assert_eq!(d.id, laptop);
    assert_eq!(d.school_id, school.id);
    assert_eq!(d.name, "Laptop 14");
    assert_eq!(d.kind, DeviceKind::Laptop);
    assert_eq!(d.asset_tag.as_deref(), Some("SN-1"));
    assert_eq!(d.assignment, DeviceAssignment::Person(zoe));
    assert_eq!(d.person_name.as_deref(), Some("Zoe Lee"));
    assert_eq!(d.created_at, at(200));
    assert_eq!((d.revoked_at, d.last_seen_at), (None, None));

    let i = s.device(school.id, ipad).await.unwrap().unwrap();
    assert_eq!(i.kind, DeviceKind::Tablet);
    assert_eq!(i.assignment, DeviceAssignment::Group("ks2".into()));
    assert_eq!((i.asset_tag, i.person_name), (None, None));
    assert_eq!(s.device_by_token_hash("hash-other").await.unwrap(), None);
    assert_eq!(s.device(school.id + 1, ipad).await.unwrap(), None);

    let listed = s.devices(school.id, false).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Laptop 14", "Y6 iPad 3"]);

    // Each registration appended its own audit entry, naming the device.
    let log = verified_log(s).await;
    let targets: Vec<Option<String>> = log[before..]
        .iter()
        .map(|e| e.event.target.clone())
        .collect();
    assert_eq!(
        targets,
        [
            Some(format!("device:{laptop}")),
            Some(format!("device:{ipad}"))
        ]
    );

    s.device_seen(laptop, at(300)).await.unwrap();
    let d = s.device(school.id, laptop).await.unwrap().unwrap();
    assert_eq!(d.last_seen_at, Some(at(300)));
    assert_eq!(audit_log(s).await.len(), before + 2, "usage is not audited");
}

#[tokio::test]
async fn names_are_unique_among_live_devices_and_tokens_are_unique() {
    let (_dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let register = |name: &'static str, hash: &'static str| async move {
        s.register_device(
            &new_device(school.id, name, hash, DeviceAssignment::Nobody),
            at(10),
            event("cli", "device.register", None),
        )
        .await
    };
    let first = register("Laptop 1", "h1").await.unwrap();
    let log = verified_log(s).await;
    match register("laptop 1", "h2").await {
        Err(StoreError::Conflict(what)) => assert!(what.contains("laptop 1"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(register("Laptop 2", "h1").await.is_err(), "same token hash");
    assert_eq!(verified_log(s).await, log, "nothing logged for failures");

    // Once revoked, the name is free again; the revoked device is still listed on request.
    s.revoke_device(
        school.id,
        first,
        at(20),
        event("cli", "device.revoke", None),
    )
    .await
    .unwrap();
    let again = register("Laptop 1", "h3").await.unwrap();
    let live = s.devices(school.id, false).await.unwrap();
    assert_eq!(live.iter().map(|d| d.id).collect::<Vec<_>>(), [again]);
    let all = s.devices(school.id, true).await.unwrap();
    assert_eq!(
        all.iter().map(|d| d.id).collect::<Vec<_>>(),
        [again, first],
        "revoked devices last"
    );
    assert_eq!(all[1].revoked_at, Some(at(20)));
}

#[tokio::test]
async fn revoking_and_reassigning() {
    let (_dir, store, school) = populated().await;
    let s = store.as_ref();
    let zoe = pupil(s, school.id, "Zoe").await;
    let id = s
        .register_device(
            &new_device(school.id, "Laptop 14", "hash-14", DeviceAssignment::Nobody),
            at(200),
            event("cli", "device.register", None),
        )
        .await
        .unwrap();

    s.reassign_device(
        school.id,
        id,
        &DeviceAssignment::Person(zoe),
        at(201),
        event("cli", "device.reassign", None),
    )
    .await
    .unwrap();
    let d = s.device(school.id, id).await.unwrap().unwrap();
    assert_eq!(d.assignment, DeviceAssignment::Person(zoe));
    s.reassign_device(
        school.id,
        id,
        &DeviceAssignment::Group("staff".into()),
        at(202),
        event("cli", "device.reassign", None),
    )
    .await
    .unwrap();
    let d = s.device(school.id, id).await.unwrap().unwrap();
    assert_eq!(
        (d.assignment, d.person_name),
        (DeviceAssignment::Group("staff".into()), None)
    );

    // A person of no school, or of another: not found, nothing changed.
    let log = verified_log(s).await;
    let r = s
        .reassign_device(
            school.id,
            id,
            &DeviceAssignment::Person(zoe + 10_000),
            at(203),
            event("cli", "device.reassign", None),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    let r = s
        .revoke_device(
            school.id,
            id + 1,
            at(203),
            event("cli", "device.revoke", None),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert_eq!(verified_log(s).await, log);

    s.revoke_device(school.id, id, at(204), event("cli", "device.revoke", None))
        .await
        .unwrap();
    let d = s.device_by_token_hash("hash-14").await.unwrap().unwrap();
    assert_eq!(d.revoked_at, Some(at(204)), "still found, marked revoked");
    let log = verified_log(s).await;
    assert_eq!(log.last().unwrap().event.action, "device.revoke");
    let r = s
        .revoke_device(school.id, id, at(205), event("cli", "device.revoke", None))
        .await;
    assert!(matches!(r, Err(StoreError::Refused(_))), "{r:?}");
    let r = s
        .reassign_device(
            school.id,
            id,
            &DeviceAssignment::Nobody,
            at(205),
            event("cli", "device.reassign", None),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Refused(_))), "{r:?}");
    assert_eq!(verified_log(s).await, log);
}

#[tokio::test]
async fn a_device_whose_audit_entry_fails_is_not_registered() {
    let (dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;
    let id = s
        .register_device(
            &new_device(school.id, "Laptop 1", "h1", DeviceAssignment::Nobody),
            at(10),
            event("cli", "device.register", None),
        )
        .await
        .unwrap();
    for action in ["device.register", "device.revoke"] {
        writes::refuse_audit_of(&dir, action).await;
    }
    let r = s
        .register_device(
            &new_device(school.id, "Laptop 2", "h2", DeviceAssignment::Nobody),
            at(11),
            event("cli", "device.register", None),
        )
        .await;
    assert!(r.is_err());
    assert_eq!(s.device_by_token_hash("h2").await.unwrap(), None);
    let r = s
        .revoke_device(school.id, id, at(12), event("cli", "device.revoke", None))
        .await;
    assert!(r.is_err());
    let d = s.device(school.id, id).await.unwrap().unwrap();
    assert_eq!(d.revoked_at, None, "the token still works");
}
