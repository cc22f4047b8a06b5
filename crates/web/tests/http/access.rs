//! Who may see what (the permission matrix through the pages), the audit of sensitive
//! reads, security headers and error pages.

use crate::support::{PUPILS_CSV, Page, TestApp, assert_redirect};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::Actor;
use gatehouse_store::AuditFilter;
use reqwest::StatusCode;

/// Text that would betray a Rust error or internals on a page.
const LEAKS: &[&str] = &[
    "panicked",
    "RUST_BACKTRACE",
    "src/",
    ".rs:",
    "Error(",
    "Err(",
    "ServiceError",
    "StoreError",
    "WebError",
    "sqlx",
    "SQLITE",
    "Cannot parse",
    "Failed to deserialize",
];

#[track_caller]
fn assert_no_leak(page: &Page) {
    for leak in LEAKS {
        assert!(
            !page.body.contains(leak),
            "page shows {leak:?}:\n{}",
            page.body
        );
    }
}

#[track_caller]
fn assert_html(page: &Page) {
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    assert!(page.body.starts_with("<!doctype html>"), "{}", page.body);
}

#[tokio::test]
async fn staff_are_refused_the_directory_import_and_audit_log() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account("sam.staff", &[Role::Staff]).await;
    let b = t.signed_in("sam.staff").await;

    let person = format!("/people/{ada}");
    for path in [
        person.as_str(),
        "/people",
        "/people?q=Lovelace",
        "/people/import",
        "/audit",
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_html(&page);
        assert!(
            page.body.contains("Not available to you"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("Lovelace"), "{path} leaks the record");
        assert_no_leak(&page);
    }
    // Refused reads of a record are not recorded as views.
    assert!(t.audit_actions("person.view").await.is_empty());

    // Nor can staff post an import.
    let csrf = b.get("/").await.csrf();
    let res = b
        .post_multipart(
            "/people/import",
            &[
                crate::support::Part::Text("csrf_token", &csrf),
                crate::support::Part::Text("kind", "pupil"),
                crate::support::Part::File {
                    name: "file",
                    file_name: "pupils.csv",
                    bytes: b"UPN,Forename,Surname,Year\nB123456789012,Bob,Smith,4\n",
                },
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // The home page offers none of them.
    let home = b.get("/").await;
    for link in [
        "href=\"/people\"",
        "href=\"/people/import\"",
        "href=\"/audit\"",
    ] {
        assert!(!home.body.contains(link), "staff home page links {link}");
    }
}

#[tokio::test]
async fn the_head_reaches_the_directory_import_and_audit_log() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account("hana.head", &[Role::Head]).await;
    let b = t.signed_in("hana.head").await;

    let person = format!("/people/{ada}");
    for path in [person.as_str(), "/people", "/people/import", "/audit"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_html(&page);
    }
    let page = b.get(&person).await;
    assert!(page.body.contains("<h1>Ada Lovelace</h1>"), "{}", page.body);
    assert!(page.body.contains("A123456789012"), "{}", page.body);
    let list = b.get("/people?q=Lovelace").await;
    assert!(
        list.body.contains(&format!("href=\"/people/{ada}\"")),
        "{}",
        list.body
    );
    let home = b.get("/").await;
    for link in [
        "href=\"/people\"",
        "href=\"/people/import\"",
        "href=\"/audit\"",
    ] {
        assert!(home.body.contains(link), "head home page lacks {link}");
    }
}

#[tokio::test]
async fn a_dsl_may_read_people_but_not_import_or_see_the_audit_log() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account("dee.dsl", &[Role::Dsl]).await;
    let b = t.signed_in("dee.dsl").await;
    assert_eq!(
        b.get(&format!("/people/{ada}")).await.status,
        StatusCode::OK
    );
    assert_eq!(b.get("/people").await.status, StatusCode::OK);
    assert_eq!(b.get("/people/import").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/audit").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_signing_in_every_page_sends_to_sign_in_and_back() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    let b = t.browser();
    let person = format!("/people/{ada}");
    let person_next = format!("/login?next=%2Fpeople%2F{ada}");
    for (path, to) in [
        ("/", "/login?next=%2F"),
        (person.as_str(), person_next.as_str()),
        ("/people?q=ada", "/login?next=%2Fpeople%3Fq%3Dada"),
        ("/people/import", "/login?next=%2Fpeople%2Fimport"),
        ("/audit", "/login?next=%2Faudit"),
        ("/account", "/login?next=%2Faccount"),
    ] {
        let page = b.get(path).await;
        assert_redirect(&page, to);
        assert!(!page.body.contains("Lovelace"));
    }

    // The sign-in page carries `next` in its form, and signing in goes there.
    t.add_account("hana.head", &[Role::Head]).await;
    let form = b.get(&person_next).await;
    assert_eq!(form.input("next").as_deref(), Some(person.as_str()));
    let csrf = form.csrf();
    let res = b
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "hana.head"),
                ("password", crate::support::PASSWORD),
                ("next", &person),
            ],
        )
        .await;
    assert_redirect(&res, &person);
    assert_eq!(b.get(&person).await.status, StatusCode::OK);
}

#[tokio::test]
async fn viewing_a_person_is_audited_with_who_and_from_where() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account("hana.head", &[Role::Head]).await;
    let b = t.signed_in("hana.head").await;
    let target = format!("person:{ada}");
    let views = |entries: Vec<gatehouse_domain::audit::AuditEntry>| {
        entries
            .into_iter()
            .filter(|e| e.event.action == "person.view")
            .collect::<Vec<_>>()
    };
    let filter = || AuditFilter {
        target: Some(target.clone()),
        limit: 10,
        ..Default::default()
    };
    assert!(views(t.app.store.search_audit(&filter()).await.unwrap()).is_empty());

    assert_eq!(
        b.get(&format!("/people/{ada}")).await.status,
        StatusCode::OK
    );
    let found = views(t.app.store.search_audit(&filter()).await.unwrap());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].event.actor, "hana.head");
    assert_eq!(found[0].event.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(found[0].event.target.as_deref(), Some(target.as_str()));

    // Listing the directory is not a view of the record.
    assert_eq!(b.get("/people?q=Lovelace").await.status, StatusCode::OK);
    assert_eq!(
        views(t.app.store.search_audit(&filter()).await.unwrap()).len(),
        1
    );

    // The head sees the entry on the audit page.
    let page = b.get(&format!("/audit?target=person%3A{ada}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<td>person.view</td>"), "{}", page.body);
    assert!(page.body.contains("<td>127.0.0.1</td>"), "{}", page.body);

    // Sign-ins are recorded too, and the chain is intact.
    let sign_ins = t.audit_actions("auth.sign_in").await;
    assert!(
        sign_ins.iter().any(|e| e.event.actor == "hana.head"),
        "{sign_ins:?}"
    );
    let report = t.app.verify_audit(&Actor::cli()).await.unwrap();
    assert_eq!(report.broken, None);
    assert!(report.entries >= 4, "{report:?}");

    // The check from the page says the same.
    let csrf = page.csrf();
    let checked = b.post_form("/audit/verify", &[("csrf_token", &csrf)]).await;
    assert_eq!(checked.status, StatusCode::OK);
    assert!(
        checked.body.contains("entries are intact"),
        "{}",
        checked.body
    );
}

#[tokio::test]
async fn every_html_response_has_the_security_headers() {
    let t = TestApp::start(false).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account("hana.head", &[Role::Head]).await;
    t.add_account("sam.staff", &[Role::Staff]).await;

    let anon = t.browser();
    let login = anon.get("/login").await;
    let signed_in = anon.sign_in("hana.head", crate::support::PASSWORD).await;
    let staff = t.signed_in("sam.staff").await;
    let failed = t
        .browser()
        .sign_in("hana.head", "not the right password at all")
        .await;
    let mut pages = vec![("GET /login", login), ("POST /login failed", failed)];
    for path in [
        "/",
        "/people",
        "/people/import",
        "/audit",
        "/account",
        "/no/such/page",
    ] {
        pages.push((path, anon.get(path).await));
    }
    pages.push(("person", anon.get(&format!("/people/{ada}")).await));
    pages.push(("403", staff.get("/audit").await));
    pages.push(("csrf 403", anon.post_form("/logout", &[]).await));
    for (what, page) in &pages {
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{what} is HTML"
        );
        let csp = page
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"));
        assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{what}: {csp}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(page.header("cache-control"), Some("no-store"), "{what}");
    }
    // No inline scripts for the CSP to have to allow.
    for (what, page) in &pages {
        assert!(
            !page.body.contains("<script>"),
            "{what} has an inline script"
        );
    }

    // The cookies a browser gets are HttpOnly and SameSite.
    let anon_cookie = pages[0].1.set_cookies();
    let session_cookie = signed_in.set_cookies();
    let gh_anon = anon_cookie
        .iter()
        .find(|c| c.starts_with("gh_anon="))
        .expect("the anonymous cookie");
    let gh_session = session_cookie
        .iter()
        .find(|c| c.starts_with("gh_session="))
        .expect("the session cookie");
    for cookie in [gh_anon, gh_session] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(
            cookie.contains("SameSite=Lax") || cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert!(cookie.contains("Path=/"), "{cookie}");
    }
}

#[tokio::test]
async fn unknown_pages_and_people_are_friendly_404s() {
    let t = TestApp::start(false).await;
    t.add_account("hana.head", &[Role::Head]).await;
    let b = t.signed_in("hana.head").await;
    for path in ["/no/such/page", "/static/nothing.js", "/people/999999"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_html(&page);
        assert!(
            page.body.contains("Page not found"),
            "{path}: {}",
            page.body
        );
        assert_no_leak(&page);
    }
    // A path that is not a number, and a form missing a field, get a friendly page too.
    let page = b.get("/people/not-a-number").await;
    assert!(page.status.is_client_error(), "{}", page.status);
    assert_html(&page);
    assert_no_leak(&page);
    let csrf = b.get("/account").await.csrf();
    let page = b
        .post_form(
            "/account/password",
            &[("csrf_token", &csrf), ("current", "x")],
        )
        .await;
    assert!(page.status.is_client_error(), "{}", page.status);
    assert_html(&page);
    assert_no_leak(&page);

    // Not signed in, an unknown address is still a plain 404 page.
    let page = t.browser().get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_html(&page);
    assert_no_leak(&page);
}

#[tokio::test]
async fn healthz_reports_ok_as_json() {
    let t = TestApp::start(false).await;
    let page = t.browser().get("/healthz").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        page.headers
    );
    let json = page.json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["database"], "ok");
    assert!(
        json["schema_version"].as_i64().is_some_and(|v| v >= 1),
        "{json}"
    );
}
