//! The JSON API with bearer tokens.

use crate::support::{PUPILS_CSV, TestApp};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::Actor;
use reqwest::StatusCode;

#[tokio::test]
async fn a_head_token_reads_people_and_itself() {
    let t = TestApp::start(true).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    t.add_account("hana.head", &[Role::Head]).await;
    let (_, token) = t
        .app
        .create_token(&Actor::cli(), "hana.head", "test")
        .await
        .unwrap();
    let b = t.browser();

    let res = b
        .send(b.client.get(b.url("/api/v1/people")).bearer_auth(&token))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let json = res.json();
    assert_eq!(json["total"], 1, "{json}");
    let people = json["people"].as_array().expect("a list of people");
    assert_eq!(people.len(), 1);
    assert_eq!(people[0]["first_name"], "Ada", "{json}");
    assert_eq!(people[0]["last_name"], "Lovelace", "{json}");

    let res = b
        .send(
            b.client
                .get(b.url("/api/v1/people?q=nobody"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["total"], 0);

    let me = b
        .send(b.client.get(b.url("/api/v1/me")).bearer_auth(&token))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let json = me.json();
    assert_eq!(json["username"], "hana.head");
    assert_eq!(json["roles"], serde_json::json!(["head"]));
}

#[tokio::test]
async fn a_bad_or_missing_token_is_401_and_a_staff_token_is_403() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    t.add_account("sam.staff", &[Role::Staff]).await;
    let (_, staff) = t
        .app
        .create_token(&Actor::cli(), "sam.staff", "test")
        .await
        .unwrap();
    let b = t.browser();

    for path in ["/api/v1/people", "/api/v1/me"] {
        let res = b
            .send(b.client.get(b.url(path)).bearer_auth("gh_not-a-real-token"))
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(res.json()["error"].is_string());
        let res = b.get(path).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{path} without a token"
        );
    }

    let res = b
        .send(b.client.get(b.url("/api/v1/people")).bearer_auth(&staff))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(!res.body.contains("Lovelace"));
    let me = b
        .send(b.client.get(b.url("/api/v1/me")).bearer_auth(&staff))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "sam.staff");
}

#[tokio::test]
async fn a_bearer_token_does_not_open_the_pages() {
    let t = TestApp::start(false).await;
    t.add_account("hana.head", &[Role::Head]).await;
    let (_, token) = t
        .app
        .create_token(&Actor::cli(), "hana.head", "test")
        .await
        .unwrap();
    let b = t.browser();
    let res = b
        .send(b.client.get(b.url("/people")).bearer_auth(&token))
        .await;
    assert_eq!(res.location(), Some("/login?next=%2Fpeople"));
}
