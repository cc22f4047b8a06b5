//! Devices: registration by role, the token shown once and stored only as a hash, who a
//! token stands for (the person's group by key stage, a group, nobody), revocation.

use crate::{import, world};
use gatehouse_domain::devices::DeviceKind;
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::devices::{Assignee, DeviceIdentity, DeviceRequest};
use gatehouse_service::people::ImportRequest;
use gatehouse_service::{Actor, Gatehouse, ServiceError};
use gatehouse_store::{AuditFilter, DeviceAssignment};
use jiff::SignedDuration;

const PUPILS: &str =
    "UPN,Forename,Surname,Year,Class\nA1,Ada,Lovelace,3,3 Oak\nA2,Ben,Hart,8,8 Ash\n";

fn actor(name: &str, role: Role) -> Actor {
    Actor {
        account_id: None,
        person_id: None,
        name: name.to_owned(),
        roles: vec![role],
        ip: Some("192.0.2.1".into()),
    }
}

fn laptop(name: &str, assignee: Assignee) -> DeviceRequest {
    DeviceRequest {
        name: name.to_owned(),
        kind: DeviceKind::Laptop,
        asset_tag: String::new(),
        assignee,
    }
}

async fn person_named(app: &Gatehouse, first: &str) -> i64 {
    let page = app
        .people(
            &Actor::cli(),
            &gatehouse_store::PeopleFilter {
                query: Some(first.into()),
                include_inactive: true,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    page.people[0].id
}

#[tokio::test]
async fn only_roles_that_manage_devices_register_them_and_the_token_is_only_hashed() {
    let w = world("2025-03-10T09:00:00Z").await;
    let it = actor("itadmin", Role::ItAdmin);
    for role in [Role::Staff, Role::Dsl, Role::OnlineSafetyLead, Role::Pupil] {
        let r = w
            .app
            .register_device(&actor("x", role), &laptop("Laptop 1", Assignee::Nobody))
            .await;
        assert!(matches!(r, Err(ServiceError::Forbidden)), "{role}: {r:?}");
        assert!(matches!(
            w.app.devices(&actor("x", role), false).await,
            Err(ServiceError::Forbidden)
        ));
    }
    let d = w
        .app
        .register_device(&it, &laptop(" Laptop 1 ", Assignee::Nobody))
        .await
        .unwrap();
    assert_eq!(d.name, "Laptop 1");
    assert_eq!(d.token.len(), 64);
    assert!(d.token.bytes().all(|b| b.is_ascii_hexdigit()));
    let listed = w.app.devices(&it, false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, d.id);

    // The audit entry names the device and who registered it, never the token.
    let entries = w
        .app
        .store
        .search_audit(&AuditFilter {
            action: Some("device.register".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0].event;
    assert_eq!(e.actor, "itadmin");
    assert_eq!(e.target.as_deref(), Some(&*format!("device:{}", d.id)));
    assert!(e.detail.contains("Laptop 1"), "{}", e.detail);
    assert!(!e.detail.contains(&d.token));
    // Nor is it in the database (its file or its write-ahead log), though its hash is.
    let stored = |needle: &str| {
        ["t.db", "t.db-wal"].iter().any(|f| {
            let bytes = std::fs::read(w.dir.path().join(f)).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|win| win == needle.as_bytes())
        })
    };
    assert!(!stored(&d.token), "the token itself is stored");
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(d.token.as_bytes()));
    assert!(stored(&hash), "its hash is stored");
}

#[tokio::test]
async fn bad_registrations_are_refused_with_the_field_named() {
    let w = world("2025-03-10T09:00:00Z").await;
    let it = actor("itadmin", Role::ItAdmin);
    import(&w.app, PersonKind::Pupil, PUPILS).await;
    w.app
        .register_device(&it, &laptop("Laptop 1", Assignee::Nobody))
        .await
        .unwrap();
    let cases = [
        (laptop("  ", Assignee::Nobody), "name:"),
        (laptop("LAPTOP 1", Assignee::Nobody), "already used"),
        (
            laptop("L2", Assignee::Username("nobody".into())),
            "person: there is no account 'nobody'",
        ),
        (
            laptop("L2", Assignee::PersonId(999_999)),
            "person: there is no person 999999",
        ),
        (laptop("L2", Assignee::Group("ks 2".into())), "group:"),
    ];
    for (req, want) in cases {
        match w.app.register_device(&it, &req).await {
            Err(ServiceError::Invalid(m)) => assert!(m.contains(want), "{m} (wanted {want})"),
            other => panic!("{req:?}: expected Invalid, got {other:?}"),
        }
    }
    assert_eq!(w.app.devices(&it, true).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_stands_for_its_assigned_person_or_group_until_revoked() {
    let w = world("2025-03-10T09:00:00Z").await;
    let app = &w.app;
    let it = actor("itadmin", Role::ItAdmin);
    import(app, PersonKind::Pupil, PUPILS).await;
    let ada = person_named(app, "Ada").await;
    let ben = person_named(app, "Ben").await;
    app.create_account(
        &Actor::cli(),
        &AccountRequest {
            username: "ben.hart".into(),
            password: "copper kettle margin lantern".into(),
            roles: vec![Role::Pupil],
            person_id: Some(ben),
        },
    )
    .await
    .unwrap();

    let by_id = app
        .register_device(&it, &laptop("Laptop 1", Assignee::PersonId(ada)))
        .await
        .unwrap();
    let by_name = app
        .register_device(
            &it,
            &laptop("Laptop 2", Assignee::Username("Ben.Hart".into())),
        )
        .await
        .unwrap();
    let group = app
        .register_device(&it, &laptop("Trolley iPad", Assignee::Group("KS2".into())))
        .await
        .unwrap();
    let spare = app
        .register_device(&it, &laptop("Spare", Assignee::Nobody))
        .await
        .unwrap();

    let who = |token: String| async move { app.device_identity(&token).await.unwrap() };
    assert_eq!(
        who(by_id.token.clone()).await,
        Some(DeviceIdentity {
            device_id: by_id.id,
            device_name: "Laptop 1".into(),
            person_id: Some(ada),
            group: Some("ks2".into()),
        }),
        "a year 3 pupil filters as ks2"
    );
    let b = who(by_name.token.to_ascii_uppercase()).await.unwrap();
    assert_eq!(
        (b.person_id, b.group.as_deref()),
        (Some(ben), Some("ks3_4"))
    );
    let g = who(group.token.clone()).await.unwrap();
    assert_eq!((g.person_id, g.group.as_deref()), (None, Some("ks2")));
    let s = who(spare.token.clone()).await.unwrap();
    assert_eq!((s.person_id, s.group), (None, None));
    assert_eq!(who("ab".repeat(32)).await, None, "unknown token");
    assert_eq!(who("not a token".into()).await, None);

    // Seen: noted at the first use, then at most every five minutes.
    let seen = |id: i64| async move {
        let school = app.school().await.unwrap();
        app.store
            .device(school.id, id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at
    };
    let first = seen(by_id.id).await;
    assert_eq!(first, Some(app.clock.now()));
    w.clock.advance(SignedDuration::from_secs(60));
    who(by_id.token.clone()).await.unwrap();
    assert_eq!(seen(by_id.id).await, first);
    w.clock.advance(SignedDuration::from_secs(300));
    who(by_id.token.clone()).await.unwrap();
    assert_eq!(seen(by_id.id).await, Some(app.clock.now()));

    // Reassigned: the next query filters as the new group.
    app.reassign_device(&it, by_id.id, &Assignee::Group("staff".into()))
        .await
        .unwrap();
    let r = who(by_id.token.clone()).await.unwrap();
    assert_eq!((r.person_id, r.group.as_deref()), (None, Some("staff")));
    let listed = app.devices(&it, false).await.unwrap();
    let d = listed.iter().find(|d| d.id == by_id.id).unwrap();
    assert_eq!(d.assignment, DeviceAssignment::Group("staff".into()));

    // A leaver's device keeps naming them, with the policy for unidentified devices.
    let full = ImportRequest {
        kind: PersonKind::Pupil,
        overrides: Vec::new(),
        full: true,
        file_name: "t.csv".into(),
    };
    let only_ada = "UPN,Forename,Surname,Year,Class\nA1,Ada,Lovelace,3,3 Oak\n";
    let preview = app
        .preview_import(&Actor::cli(), only_ada.as_bytes(), &full, &mut |_| {})
        .await
        .unwrap();
    app.apply_import(&Actor::cli(), &preview, &full, false, &|_| {})
        .await
        .unwrap();
    let b = who(by_name.token.clone()).await.unwrap();
    assert_eq!((b.person_id, b.group), (Some(ben), None));
    // Nor can a device be assigned to a leaver.
    let r = app
        .register_device(&it, &laptop("Laptop 3", Assignee::PersonId(ben)))
        .await;
    assert!(matches!(r, Err(ServiceError::Invalid(m)) if m.contains("has left")));

    // Revoked: the token stops working at once; revoking again is refused.
    let revoked = app.revoke_device(&it, group.id).await.unwrap();
    assert_eq!(revoked.name, "Trolley iPad");
    assert_eq!(who(group.token.clone()).await, None);
    assert!(matches!(
        app.revoke_device(&it, group.id).await,
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        app.revoke_device(&actor("t", Role::Staff), spare.id).await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        app.revoke_device(&it, 999_999).await,
        Err(ServiceError::NotFound(_))
    ));
}
