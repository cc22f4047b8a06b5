//! The devices page: who may see and change it, registering (the DoH address shown once),
//! the CSRF check on every form, bad input, revoking and reassigning.

use crate::support::{PUPILS_CSV, TestApp, assert_redirect, between};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_store::DeviceAssignment;
use reqwest::StatusCode;

/// The token in a page that shows a new device's address.
fn token_on(body: &str) -> String {
    let token = between(body, "/dns-query/", "<").expect("a DoH address on the page");
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    token
}

#[tokio::test]
async fn only_roles_that_manage_devices_see_the_devices_page() {
    let t = TestApp::start(false).await;
    for (name, role) in [
        ("it.admin", Role::ItAdmin),
        ("the.head", Role::Head),
        ("sam.staff", Role::Staff),
        ("dee.dsl", Role::Dsl),
        ("ola.esafety", Role::OnlineSafetyLead),
    ] {
        t.add_account(name, &[role]).await;
    }
    for name in ["it.admin", "the.head"] {
        let b = t.signed_in(name).await;
        let home = b.get("/").await;
        assert!(
            home.body.contains("href=\"/devices\""),
            "{name}: no nav link"
        );
        let page = b.get("/devices").await;
        assert_eq!(page.status, StatusCode::OK, "{name}: {}", page.body);
        assert!(page.body.contains("Register a device"), "{name}");
        assert!(page.body.contains("No devices are registered"));
    }
    for name in ["sam.staff", "dee.dsl", "ola.esafety"] {
        let b = t.signed_in(name).await;
        let home = b.get("/").await;
        assert!(
            !home.body.contains("href=\"/devices\""),
            "{name} has the link"
        );
        let page = b.get("/devices").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}");
        assert!(page.body.contains("Not available to you"));
        // Nor can they register one with a valid form token.
        let csrf = home.csrf();
        let page = b
            .post_form(
                "/devices",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("name", "Sneaky laptop"),
                    ("kind", "laptop"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}");
        assert!(!page.body.contains("/dns-query/"));
    }
    let school = t.app.school().await.unwrap();
    assert!(
        t.app
            .store
            .devices(school.id, true)
            .await
            .unwrap()
            .is_empty()
    );
    // Signed out: to the sign-in page.
    let page = t.browser().get("/devices").await;
    assert_redirect(&page, "/login?next=%2Fdevices");
}

#[tokio::test]
async fn a_registered_device_shows_its_address_once_and_every_form_needs_its_token() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account("it.admin", &[Role::ItAdmin]).await;
    let b = t.signed_in("it.admin").await;
    let school = t.app.school().await.unwrap();
    let count = || async { t.app.store.devices(school.id, true).await.unwrap().len() };

    let form = b.get("/devices").await;
    let csrf = form.csrf();
    let fields = |name: &'static str| {
        vec![
            ("name", name),
            ("kind", "laptop"),
            ("asset_tag", "SN-0042"),
            ("group", ""),
        ]
    };

    // Without the form's token, with a wrong one, or from another site: refused, nothing stored.
    let page = b.post_form("/devices", &fields("Laptop 14")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Please try again"), "{}", page.body);
    let mut wrong = fields("Laptop 14");
    wrong.push(("csrf_token", "0123456789abcdef"));
    let page = b.post_form("/devices", &wrong).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let mut good = fields("Laptop 14");
    good.push(("csrf_token", csrf.as_str()));
    let page = b
        .send(
            b.client
                .post(b.url("/devices"))
                .header("origin", "https://evil.example")
                .form(&good),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(count().await, 0);

    // Registered, assigned to a pupil by person id: the address is shown once.
    let ada_id = ada.to_string();
    let mut with_person = good.clone();
    with_person.push(("person", ada_id.as_str()));
    let page = b.post_form("/devices", &with_person).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Laptop 14 is registered"),
        "{}",
        page.body
    );
    assert!(page.body.contains("will not be shown again"));
    let token = token_on(&page.body);
    assert!(page.body.contains(&format!(
        "https://{}/dns-query/{token}",
        b.url("").trim_start_matches("http://")
    )));
    assert_eq!(
        page.header("cache-control"),
        Some("no-store"),
        "the page with the secret is not cached"
    );
    let list = b.get("/devices").await;
    assert!(list.body.contains("Laptop 14"));
    assert!(list.body.contains("SN-0042"));
    assert!(list.body.contains("Ada Lovelace"));
    assert!(
        !list.body.contains(&token),
        "the address is shown only once"
    );
    let identity = t.app.device_identity(&token).await.unwrap().unwrap();
    assert_eq!(identity.person_id, Some(ada));
    assert_eq!(identity.group.as_deref(), Some("ks2"));
    let audit = t.audit_actions("device.register").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event.actor, "it.admin");
    assert!(!audit[0].event.detail.contains(&token));

    // Bad input: the page again with the reason, the form kept, nothing stored.
    for (extra, name, want) in [
        (vec![], "laptop 14", "already used by another device"),
        (
            vec![("person", "it.admin")],
            "Laptop 15",
            "not linked to a person",
        ),
        (
            vec![("person", "no.such.user")],
            "Laptop 15",
            "there is no account",
        ),
        (
            vec![("person", ada_id.as_str()), ("group", "staff")],
            "Laptop 15",
            "not both",
        ),
        (
            vec![("kind", "toaster")],
            "Laptop 15",
            "not a kind of device",
        ),
        (vec![], "", "give the device a name"),
    ] {
        let mut f: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str()), ("name", name)];
        if !extra.iter().any(|(k, _)| *k == "kind") {
            f.push(("kind", "laptop"));
        }
        f.extend(extra);
        let page = b.post_form("/devices", &f).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{want}: {}",
            page.body
        );
        assert!(page.body.contains(want), "{want}: {}", page.body);
        assert!(!page.body.contains("/dns-query/"));
    }
    assert_eq!(count().await, 1);

    // Assigned anew to a group, then revoked: the token stops working.
    let id = identity.device_id;
    let path = format!("/devices/{id}/assign");
    let page = b.post_form(&path, &[("group", "staff")]).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "the assign form needs its token"
    );
    let page = b
        .post_form(&path, &[("csrf_token", csrf.as_str()), ("group", "staff")])
        .await;
    assert_redirect(&page, &format!("/devices?reassigned={id}"));
    let d = t.app.store.device(school.id, id).await.unwrap().unwrap();
    assert_eq!(d.assignment, DeviceAssignment::Group("staff".into()));

    let path = format!("/devices/{id}/revoke");
    let page = b.post_form(&path, &[]).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "the revoke form needs its token"
    );
    assert!(t.app.device_identity(&token).await.unwrap().is_some());
    let page = b.post_form(&path, &[("csrf_token", csrf.as_str())]).await;
    assert_redirect(&page, &format!("/devices?revoked={id}"));
    assert_eq!(t.app.device_identity(&token).await.unwrap(), None);
    let page = b.get(&format!("/devices?revoked={id}")).await;
    assert!(page.body.contains("Laptop 14 is revoked"), "{}", page.body);
    assert!(page.body.contains("Revoked devices"));
    let page = b.post_form(&path, &[("csrf_token", csrf.as_str())]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "already revoked");
    assert_eq!(t.audit_actions("device.revoke").await.len(), 1);
    assert_eq!(t.audit_actions("device.reassign").await.len(), 1);

    // The name is free again.
    let page = b.post_form("/devices", &good).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_ne!(token_on(&page.body), token);
}
