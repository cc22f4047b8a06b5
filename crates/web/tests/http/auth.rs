//! Signing in: passwords, throttling, CSRF on the forms, the second factor.

use crate::support::{OTHER_PASSWORD, PASSWORD, TestApp, assert_redirect, between};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_store::AuditFilter;
use reqwest::StatusCode;

const NO_MATCH: &str = "that username and password do not match an active account";

#[tokio::test]
async fn sign_in_with_the_right_password_reaches_the_greeting_home_page() {
    let t = TestApp::start(false).await;
    t.import(
        PersonKind::Staff,
        "Staff code,Forename,Surname,Job title\nGH1,Grace,Hopper,Teacher\n",
    )
    .await;
    let grace = t.person_id("Hopper").await;
    t.add_account_for("grace.hopper", &[Role::Staff], Some(grace))
        .await;
    let b = t.browser();

    let res = b.sign_in("grace.hopper", PASSWORD).await;
    assert_redirect(&res, "/");
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Hello, Grace Hopper"), "{}", home.body);
    assert!(home.body.contains("Signed in as Staff"), "{}", home.body);
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_but_only_on_this_site() {
    let t = TestApp::start(false).await;
    t.add_account("ann.head", &[Role::Head]).await;
    let b = t.browser();
    let form = b.get("/login?next=/people").await;
    let csrf = form.csrf();
    let res = b
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "ann.head"),
                ("password", PASSWORD),
                ("next", "/people"),
            ],
        )
        .await;
    assert_redirect(&res, "/people");

    let other = t.browser();
    let form = other.get("/login").await;
    let csrf = form.csrf();
    let res = other
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "ann.head"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_redirect(&res, "/");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let t = TestApp::start(false).await;
    t.add_account("ann.teacher", &[Role::Staff]).await;
    let b = t.browser();

    let wrong = b
        .sign_in("ann.teacher", "not the right password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains(NO_MATCH), "{}", wrong.body);
    assert!(
        wrong
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("gh_session="))
    );
    // The username is kept in the form; the password is not.
    assert!(
        wrong.body.contains("value=\"ann.teacher\""),
        "{}",
        wrong.body
    );
    assert!(
        !wrong.body.contains("not the right password"),
        "{}",
        wrong.body
    );

    let unknown = b
        .sign_in("nobody.here", "not the right password at all")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains(NO_MATCH), "{}", unknown.body);

    // Still not signed in.
    let home = b.get("/").await;
    assert_redirect(&home, "/login?next=%2F");
}

#[tokio::test]
async fn five_failures_throttle_the_account_even_for_the_right_password() {
    let t = TestApp::start(false).await;
    t.add_account("ann.teacher", &[Role::Staff]).await;
    let b = t.browser();
    for attempt in 1..=5 {
        let res = b
            .sign_in("ann.teacher", "not the right password at all")
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }

    let res = b.sign_in("ann.teacher", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    let retry: u64 = res
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1, "{retry}");
    assert!(
        res.set_cookies()
            .iter()
            .all(|c| !c.starts_with("gh_session="))
    );
    assert!(
        b.get("/")
            .await
            .location()
            .is_some_and(|l| l.starts_with("/login"))
    );

    // Another browser is throttled too: the count is per account.
    let res = t.browser().sign_in("ann.teacher", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    // Once the wait is over, the right password works.
    t.advance_secs(i64::try_from(retry).expect("small") + 1);
    let res = b.sign_in("ann.teacher", PASSWORD).await;
    assert_redirect(&res, "/");
}

#[tokio::test]
async fn sign_in_without_a_csrf_token_or_with_another_browsers_is_refused() {
    let t = TestApp::start(false).await;
    t.add_account("ann.teacher", &[Role::Staff]).await;
    let a = t.browser();
    let b = t.browser();
    a.get("/login").await;
    let b_token = b.get("/login").await.csrf();
    let before = t.audit_actions("auth.sign_in").await.len();

    let missing = a
        .post_form(
            "/login",
            &[
                ("username", "ann.teacher"),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(
        missing.body.contains("nothing was changed"),
        "{}",
        missing.body
    );

    let foreign = a
        .post_form(
            "/login",
            &[
                ("csrf_token", &b_token),
                ("username", "ann.teacher"),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    for res in [&missing, &foreign] {
        assert!(
            res.set_cookies()
                .iter()
                .all(|c| !c.starts_with("gh_session="))
        );
    }
    assert_eq!(
        t.audit_actions("auth.sign_in").await.len(),
        before,
        "no sign-in happened"
    );
    assert!(
        a.get("/")
            .await
            .location()
            .is_some_and(|l| l.starts_with("/login"))
    );
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused_even_with_a_valid_token() {
    let t = TestApp::start(false).await;
    t.add_account("ann.teacher", &[Role::Staff]).await;
    let a = t.browser();
    let csrf = a.get("/login").await.csrf();
    let res = a
        .send(
            a.client
                .post(a.url("/login"))
                .header("origin", "https://evil.example")
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", "ann.teacher"),
                    ("password", PASSWORD),
                    ("next", "/"),
                ]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(t.audit_actions("auth.sign_in").await.is_empty());

    // The same form from our own origin works.
    let own = a.url("");
    let res = a
        .send(
            a.client
                .post(a.url("/login"))
                .header("origin", own.as_str())
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", "ann.teacher"),
                    ("password", PASSWORD),
                    ("next", "/"),
                ]),
        )
        .await;
    assert_redirect(&res, "/");
}

#[tokio::test]
async fn a_password_change_needs_this_browsers_csrf_token() {
    let t = TestApp::start(false).await;
    t.add_account("ann.teacher", &[Role::Staff]).await;
    let a = t.signed_in("ann.teacher").await;
    let b = t.signed_in("ann.teacher").await;
    let a_token = a.get("/account").await.csrf();
    let b_token = b.get("/account").await.csrf();
    assert_ne!(
        a_token, b_token,
        "tokens are bound to the browser's session"
    );
    let form = |token: Option<&str>| {
        let mut f = vec![
            ("current", PASSWORD),
            ("new", OTHER_PASSWORD),
            ("confirm", OTHER_PASSWORD),
        ];
        if let Some(tok) = token {
            f.insert(0, ("csrf_token", tok));
        }
        f.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<(String, String)>>()
    };

    let missing = a
        .send(a.client.post(a.url("/account/password")).form(&form(None)))
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let foreign = a
        .send(
            a.client
                .post(a.url("/account/password"))
                .form(&form(Some(&b_token))),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let cross_site = a
        .send(
            a.client
                .post(a.url("/account/password"))
                .header("origin", "https://evil.example")
                .form(&form(Some(&a_token))),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);

    // Nothing changed: the old password still works, the new one does not, and the
    // browser is still signed in.
    assert!(t.audit_actions("account.password_changed").await.is_empty());
    assert_eq!(a.get("/account").await.status, StatusCode::OK);
    assert_redirect(&t.browser().sign_in("ann.teacher", PASSWORD).await, "/");
    assert_eq!(
        t.browser()
            .sign_in("ann.teacher", OTHER_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // With its own token the change goes through and ends the sessions.
    let ok = a
        .send(
            a.client
                .post(a.url("/account/password"))
                .form(&form(Some(&a_token))),
        )
        .await;
    assert_redirect(&ok, "/login?next=/account");
    assert_eq!(t.audit_actions("account.password_changed").await.len(), 1);
    assert!(
        b.get("/")
            .await
            .location()
            .is_some_and(|l| l.starts_with("/login"))
    );
    assert_redirect(
        &t.browser().sign_in("ann.teacher", OTHER_PASSWORD).await,
        "/",
    );
}

#[tokio::test]
async fn the_htmx_header_token_is_accepted_too() {
    let t = TestApp::start(false).await;
    t.add_account("ann.teacher", &[Role::Staff]).await;
    let a = t.signed_in("ann.teacher").await;
    let home = a.get("/").await;
    let header_token = between(&home.body, "hx-headers='{\"X-CSRF-Token\": \"", "\"")
        .expect("hx-headers on the body");
    assert_eq!(
        header_token,
        home.csrf(),
        "the body's hx-headers carries the form token"
    );
    let res = a
        .send(
            a.client
                .post(a.url("/logout"))
                .header("x-csrf-token", header_token.as_str()),
        )
        .await;
    assert_redirect(&res, "/login");
    assert!(
        a.get("/")
            .await
            .location()
            .is_some_and(|l| l.starts_with("/login"))
    );
}

/// Enrol `username` through the pages; returns the secret and the recovery codes, with
/// the browser signed in.
async fn enrol(t: &TestApp, b: &crate::support::Browser, username: &str) -> (String, Vec<String>) {
    let res = b.sign_in(username, PASSWORD).await;
    assert_redirect(&res, "/account/mfa");
    assert_redirect(&b.get("/").await, "/account/mfa");
    assert_redirect(&b.get("/people").await, "/account/mfa");

    let page = b.get("/account/mfa").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("requires a second step"),
        "{}",
        page.body
    );
    let secret = between(&page.body, "id=\"mfa-secret\">", "<").expect("the secret on the page");
    assert!(secret.len() >= 16, "{secret}");
    let csrf = page.csrf();

    // A wrong first code is refused, and the same secret is offered again.
    let wrong = t.wrong_code(&secret);
    let res = b
        .post_form(
            "/account/mfa",
            &[("csrf_token", &csrf), ("secret", &secret), ("code", &wrong)],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        between(&res.body, "id=\"mfa-secret\">", "<").as_deref(),
        Some(secret.as_str())
    );
    assert_redirect(&b.get("/").await, "/account/mfa");

    let code = t.code_now(&secret);
    let res = b
        .post_form(
            "/account/mfa",
            &[("csrf_token", &csrf), ("secret", &secret), ("code", &code)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let list = between(&res.body, "id=\"recovery-codes\">", "</ul>").expect("recovery codes");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "codes differ");
    (secret, codes)
}

#[tokio::test]
async fn a_dsl_must_enrol_then_gives_a_code_at_each_sign_in() {
    let t = TestApp::start(true).await;
    t.add_account("dee.dsl", &[Role::Dsl]).await;
    let b = t.browser();
    let (secret, _codes) = enrol(&t, &b, "dee.dsl").await;

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Hello, dee.dsl"));
    assert_eq!(t.audit_actions("auth.mfa_enabled").await.len(), 1);
    b.sign_out(&home.csrf()).await;
    assert!(
        b.get("/")
            .await
            .location()
            .is_some_and(|l| l.starts_with("/login"))
    );

    // Signing in again asks for a code.
    t.advance_secs(30);
    let res = b.sign_in("dee.dsl", PASSWORD).await;
    assert_redirect(&res, "/login/code");
    assert_redirect(&b.get("/").await, "/login/code");
    assert_redirect(&b.get("/account/mfa").await, "/login/code");
    let page = b.get("/login/code").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();

    let wrong = t.wrong_code(&secret);
    let res = b
        .post_form("/login/code", &[("csrf_token", &csrf), ("code", &wrong)])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    assert!(res.body.contains("that code is not right"), "{}", res.body);
    assert_redirect(&b.get("/").await, "/login/code");
    assert_eq!(t.audit_actions("auth.second_factor_failed").await.len(), 1);

    t.advance_secs(30);
    let code = t.code_now(&secret);
    let res = b
        .post_form("/login/code", &[("csrf_token", &csrf), ("code", &code)])
        .await;
    assert_redirect(&res, "/");
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);

    // The same code (same step) is not accepted twice, even in another browser.
    let other = t.browser();
    assert_redirect(&other.sign_in("dee.dsl", PASSWORD).await, "/login/code");
    let other_csrf = other.get("/login/code").await.csrf();
    let res = other
        .post_form(
            "/login/code",
            &[("csrf_token", &other_csrf), ("code", &code)],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "a TOTP step is accepted once"
    );
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let t = TestApp::start(true).await;
    t.add_account("dee.dsl", &[Role::Dsl]).await;
    let b = t.browser();
    let (_secret, codes) = enrol(&t, &b, "dee.dsl").await;
    let csrf = b.get("/").await.csrf();
    b.sign_out(&csrf).await;

    let first = t.browser();
    assert_redirect(&first.sign_in("dee.dsl", PASSWORD).await, "/login/code");
    let csrf = first.get("/login/code").await.csrf();
    // Typed with capitals and spaces: still the same code.
    let typed = format!(" {} ", codes[3].to_uppercase());
    let res = first
        .post_form("/login/code", &[("csrf_token", &csrf), ("code", &typed)])
        .await;
    assert_redirect(&res, "/");
    assert_eq!(first.get("/").await.status, StatusCode::OK);
    assert_eq!(t.audit_actions("auth.recovery_code_used").await.len(), 1);
    let account = first.get("/account").await;
    assert!(
        account.body.contains("9 recovery code(s) left"),
        "{}",
        account.body
    );

    let second = t.browser();
    assert_redirect(&second.sign_in("dee.dsl", PASSWORD).await, "/login/code");
    let csrf = second.get("/login/code").await.csrf();
    let res = second
        .post_form("/login/code", &[("csrf_token", &csrf), ("code", &codes[3])])
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "a used recovery code is refused"
    );
    assert_redirect(&second.get("/").await, "/login/code");

    // Another unused code still works.
    let res = second
        .post_form("/login/code", &[("csrf_token", &csrf), ("code", &codes[4])])
        .await;
    assert_redirect(&res, "/");
}

#[tokio::test]
async fn sign_ins_and_failures_are_audited_with_the_address() {
    let t = TestApp::start(false).await;
    let id = t.add_account("ann.teacher", &[Role::Staff]).await;
    let b = t.browser();
    assert_eq!(
        b.sign_in("ann.teacher", "not the right password at all")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.sign_in("nobody.here", "not the right password at all")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_redirect(&b.sign_in("ann.teacher", PASSWORD).await, "/");

    let failed = t.audit_actions("auth.sign_in_failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    let by_ann = failed
        .iter()
        .find(|e| e.event.actor == "ann.teacher")
        .expect("ann's failure");
    assert_eq!(
        by_ann.event.target.as_deref(),
        Some(format!("account:{id}").as_str())
    );
    assert_eq!(by_ann.event.ip.as_deref(), Some("127.0.0.1"));
    let by_nobody = failed
        .iter()
        .find(|e| e.event.actor == "nobody.here")
        .expect("unknown user's failure");
    assert_eq!(by_nobody.event.target, None);

    let ok = t
        .audit(AuditFilter {
            actor: Some("ann.teacher".into()),
            action: Some("auth.sign_in".into()),
            ..Default::default()
        })
        .await;
    let signed_in: Vec<_> = ok
        .iter()
        .filter(|e| e.event.action == "auth.sign_in")
        .collect();
    assert_eq!(signed_in.len(), 1, "{ok:?}");
    assert_eq!(signed_in[0].event.ip.as_deref(), Some("127.0.0.1"));
}
