//! The web filter's pages: the block page and unblock requests, the portal, the signing
//! gate, and the activity log's search with reasons and CSV export.

use crate::support::*;
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_filter::{Action, GateMode, Identity};
use reqwest::StatusCode;
use reqwest::header::HOST;

/// A browser's request for `path` on `host` (as if the DNS filter had sent it here).
async fn on_host(b: &Browser, host: &str, path: &str) -> Page {
    b.send(b.client.get(b.url(path)).header(HOST, host)).await
}

async fn ask(b: &Browser, host: &str, csrf: &str, reason: &str) -> Page {
    b.send(
        b.client
            .post(b.url("/gatehouse/unblock"))
            .header(HOST, host)
            .form(&[("csrf_token", csrf), ("reason", reason)]),
    )
    .await
}

/// A pupil (Ada, year 3: the ks2 policy) with an account, and an online safety lead.
async fn school() -> (TestApp, i64) {
    let t = TestApp::start_filtering(GateMode::Off).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    let ada = t.person_id("Lovelace").await;
    t.add_account_for("ada", &[Role::Pupil], Some(ada)).await;
    t.add_account("esafety", &[Role::OnlineSafetyLead]).await;
    t.add_account("teacher", &[Role::Staff]).await;
    t.add_account("dsl", &[Role::Dsl]).await;
    (t, ada)
}

#[tokio::test]
async fn a_pupil_asks_for_a_blocked_site_and_the_online_safety_lead_approves_it() {
    let (t, ada) = school().await;
    let now = t.app.clock.now();
    let as_ada = Identity::person(&ada.to_string(), "ks2");
    assert_eq!(
        t.filter().decide(&as_ada, "bet365.com", now).action,
        Action::Block
    );

    // Ada connects this device at the portal: her policy applies to its address
    let pupil = t.signed_in("ada").await;
    let portal = pupil.get("/portal").await;
    assert!(
        portal.body.contains("portal-not-connected"),
        "{}",
        portal.body
    );
    let res = pupil
        .post_form("/portal/connect", &[("csrf_token", &portal.csrf())])
        .await;
    assert_redirect(&res, "/portal");
    assert!(pupil.get("/portal").await.body.contains("portal-connected"));
    assert_eq!(t.audit_actions("portal.connect").await.len(), 1);

    // the block page names the site, the category and her, in words for her age
    let b = t.browser();
    let page = on_host(&b, "www.bet365.com", "/some/page?x=1").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("This page is blocked"), "{}", page.body);
    assert!(page.body.contains(r#"id="blocked-host">www.bet365.com"#));
    assert!(page.body.contains(r#"id="blocked-category">gambling"#));
    assert!(page.body.contains("Ada Lovelace (Key Stage 2)"));
    assert!(page.body.contains("help keep you safe"));
    // this server's own pages are not the block page
    assert_eq!(
        on_host(&b, "localhost", "/login").await.status,
        StatusCode::OK
    );

    // a request needs a reason, and a valid form token
    let csrf = page.csrf();
    let res = ask(&b, "www.bet365.com", &csrf, "  ").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("a reason is required"), "{}", res.body);
    let res = ask(&b, "www.bet365.com", "forged", "please").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = ask(&b, "www.bet365.com", &csrf, "Probability lesson in maths").await;
    assert_redirect(&res, "/?requested=1");
    let res = ask(&b, "www.bet365.com", &csrf, "again").await;
    assert!(res.body.contains("already asked"), "{}", res.body);
    let page = on_host(&b, "www.bet365.com", "/?requested=1").await;
    assert!(page.body.contains("request-sent"));
    assert!(page.body.contains("<strong>pending"), "{}", page.body);
    assert_eq!(
        t.filter().decide(&as_ada, "bet365.com", now).action,
        Action::Block
    );

    // the queue: not for teachers; the online safety lead decides
    let teacher = t.signed_in("teacher").await;
    assert_eq!(
        teacher.get("/unblock-requests").await.status,
        StatusCode::FORBIDDEN
    );
    let osl = t.signed_in("esafety").await;
    let queue = osl.get("/unblock-requests").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("www.bet365.com"), "{}", queue.body);
    assert!(queue.body.contains("Probability lesson in maths"));
    assert!(queue.body.contains("Ada Lovelace"));
    let id = between(&queue.body, "id=\"request-", "\"").unwrap();
    let csrf = queue.csrf();
    let path = format!("/unblock-requests/{id}");
    let res = osl
        .post_form(&path, &[("csrf_token", &csrf), ("decision", "decline")])
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "declining needs a note"
    );
    assert!(res.body.contains("say why"), "{}", res.body);
    let res = osl
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("decision", "approve"),
                ("scope", "person"),
                ("until", "2025-03-20"),
            ],
        )
        .await;
    assert_redirect(&res, "/unblock-requests");

    // in force at once, for her only, until the end of the day given
    let d = t
        .filter()
        .decide(&as_ada, "www.bet365.com", t.app.clock.now());
    assert_eq!(d.action, Action::Allow, "{}", d.explain());
    assert!(
        d.rule
            .to_string()
            .starts_with(&format!("override:{ada}:host=")),
        "{}",
        d.rule
    );
    let other = Identity::person("999", "ks2");
    assert_eq!(
        t.filter().decide(&other, "bet365.com", now).action,
        Action::Block
    );
    let page = on_host(&b, "www.bet365.com", "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("not blocked for you"), "{}", page.body);
    assert!(pupil.get("/portal").await.body.contains("approved"));
    // decided once only
    let res = osl
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("decision", "decline"),
                ("note", "no"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let approvals = t.audit_actions("unblock.approve").await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].event.actor, "esafety");
    // the end date passes: blocked again
    t.clock.set("2025-03-21T00:30:00Z".parse().unwrap());
    t.app.refresh_filter().await.unwrap();
    let d = t
        .filter()
        .decide(&as_ada, "www.bet365.com", t.app.clock.now());
    assert_eq!(d.action, Action::Block, "{}", d.explain());
}

#[tokio::test]
async fn a_school_wide_approval_reaches_everyone_and_locked_lists_cannot_be_asked_for() {
    let (t, _ada) = school().await;
    let b = t.browser();
    let page = on_host(&b, "bet365.com", "/").await;
    let res = ask(
        &b,
        "bet365.com",
        &page.csrf(),
        "Used in a staff training session",
    )
    .await;
    assert_redirect(&res, "/?requested=1");
    let osl = t.signed_in("esafety").await;
    let queue = osl.get("/unblock-requests").await;
    assert!(
        queue
            .body
            .contains("a device nobody has signed in on at 127.0.0.1"),
        "{}",
        queue.body
    );
    let id = between(&queue.body, "id=\"request-", "\"").unwrap();
    let res = osl
        .post_form(
            &format!("/unblock-requests/{id}"),
            &[
                ("csrf_token", &queue.csrf()),
                ("decision", "approve"),
                ("scope", "school"),
            ],
        )
        .await;
    assert_redirect(&res, "/unblock-requests");
    assert!(!osl.get("/").await.body.contains("pending-requests"));
    let now = t.app.clock.now();
    for group in ["ks2", "eyfs_ks1", "unidentified"] {
        let d = t
            .filter()
            .decide(&Identity::group(group), "bet365.com", now);
        assert_eq!(d.action, Action::Allow, "{group}: {}", d.explain());
    }
}

#[tokio::test]
async fn the_signing_gate_sends_people_with_overdue_agreements_to_the_portal() {
    let t = TestApp::start_filtering(GateMode::Enforce).await;
    t.import(
        PersonKind::Staff,
        "Staff code,First name,Last name,Email\nS9,Grace,Hopper,grace@school.example\n",
    )
    .await;
    let grace = t.person_id("Hopper").await;
    t.add_account_for("grace", &[Role::Staff], Some(grace))
        .await;
    let (_policy, _version) = t
        .publish_policy(
            "Staff acceptable use",
            gatehouse_domain::agreements::Audience::Staff,
            "# Staff acceptable use\n\n1. I will keep my password to myself.\n2. I will report concerns to the DSL.\n",
        )
        .await;
    let as_grace = Identity::person(&grace.to_string(), "staff");
    t.app.refresh_filter().await.unwrap();
    let d = t
        .filter()
        .decide(&as_grace, "news.example", t.app.clock.now());
    assert_eq!(d.action, Action::Allow, "due, not overdue yet");

    // fifteen days later the agreement is overdue: held at the gate
    t.advance_secs(15 * 24 * 3600);
    t.app.refresh_filter().await.unwrap();
    let d = t
        .filter()
        .decide(&as_grace, "news.example", t.app.clock.now());
    assert_eq!(
        (d.action, d.rule.to_string().as_str()),
        (Action::Block, "gate")
    );

    // her device's block page points to the portal
    let me = t.browser();
    assert_redirect(&me.sign_in_to("grace", "/portal").await, "/sign");
    let sign = me.get("/sign").await;
    let csrf = sign.csrf();
    let res = me
        .post_form("/portal/connect", &[("csrf_token", &csrf)])
        .await;
    assert_redirect(&res, "/portal");
    let page = on_host(&t.browser(), "news.example", "/").await;
    assert!(
        page.body.contains("Sign your agreement first"),
        "{}",
        page.body
    );
    assert!(page.body.contains("http://localhost/portal"));

    // she signs: through at once
    let version = sign.input("version_id").unwrap();
    let grace_s = grace.to_string();
    let res = me
        .post_form(
            "/sign",
            &[
                ("csrf_token", csrf.as_str()),
                ("version_id", version.as_str()),
                ("people", grace_s.as_str()),
                ("agree", "on"),
                ("typed_name", "Grace Hopper"),
            ],
        )
        .await;
    assert!(
        res.status.is_redirection() || res.status.is_success(),
        "{}: {}",
        res.status,
        res.body
    );
    assert_eq!(t.all_signatures().await.len(), 1);
    let d = t
        .filter()
        .decide(&as_grace, "news.example", t.app.clock.now());
    assert_eq!(d.action, Action::Allow, "{}", d.explain());
}

fn event(
    person: Option<&str>,
    group: &str,
    qname: &str,
    action: Action,
) -> gatehouse_dns::ActivityEvent {
    gatehouse_dns::ActivityEvent {
        time: "2025-03-10T08:30:00Z".parse().unwrap(),
        client: "10.1.2.3".parse().unwrap(),
        person: person.map(str::to_owned),
        group: group.into(),
        identified_by: gatehouse_dns::IdentifiedBy::Source,
        qname: qname.into(),
        qtype: "A".into(),
        category: (action == Action::Block).then(|| "gambling".into()),
        action,
        rule: "policy:ks2/gambling".into(),
        matched_list: None,
        cname: None,
        rcode: gatehouse_dns::Rcode::NoError,
        upstream_latency_us: None,
        cached: false,
        transport: gatehouse_dns::Transport::Udp,
        device: None,
    }
}

#[tokio::test]
async fn activity_of_a_named_person_needs_a_reason_and_every_search_is_audited() {
    let (t, ada) = school().await;
    let log = t.filter().activity().unwrap().clone();
    let ada_s = ada.to_string();
    log.insert(&[
        event(Some(&ada_s), "ks2", "bet365.com", Action::Block),
        event(Some(&ada_s), "ks2", "bbc.co.uk", Action::Allow),
        event(None, "unidentified", "=cmd.example", Action::Allow),
    ])
    .await
    .unwrap();

    let teacher = t.signed_in("teacher").await;
    assert_eq!(
        teacher.get("/activity?domain=x").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        teacher.get("/activity/export?domain=x").await.status,
        StatusCode::FORBIDDEN
    );

    let dsl = t.signed_in("dsl").await;
    let form = dsl.get("/activity").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        !form.body.contains("bet365.com"),
        "the form alone shows nobody's activity"
    );

    let res = dsl.get("/activity?person=ada").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body.contains("reason: a reason is required"),
        "{}",
        res.body
    );
    assert!(!res.body.contains("bet365.com"));

    let res = dsl
        .get("/activity?person=ada&reason=Concern+raised+by+class+teacher&action=block")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.body.contains("Activity of <strong>Ada Lovelace"),
        "{}",
        res.body
    );
    assert!(res.body.contains("bet365.com"));
    assert!(
        !res.body.contains("bbc.co.uk"),
        "only blocks were asked for"
    );
    let audited = t.audit_actions("activity.search").await;
    assert_eq!(
        audited.len(),
        1,
        "the refused search shows nothing and is not a lookup"
    );
    assert_eq!(
        audited[0].event.target.as_deref(),
        Some(format!("person:{ada}").as_str())
    );
    assert!(
        audited[0]
            .event
            .detail
            .contains("Concern raised by class teacher")
    );

    // a search by domain needs no reason, and is audited too
    let res = dsl.get("/activity?domain=bbc.co.uk").await;
    assert!(res.body.contains("bbc.co.uk") && res.body.contains("Ada Lovelace"));
    assert_eq!(t.audit_actions("activity.search").await.len(), 2);

    // CSV export: formula-escaped, audited
    let (status, headers, body) = dsl.get_bytes("/activity/export?group=unidentified").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("'=cmd.example"), "{csv}");
    assert_eq!(t.audit_actions("activity.export").await.len(), 1);
}

#[tokio::test]
async fn activity_is_searched_by_registered_device_and_shows_its_name() {
    let (t, ada) = school().await;
    let log = t.filter().activity().unwrap().clone();
    let ada_s = ada.to_string();
    let on_laptop = gatehouse_dns::ActivityEvent {
        device: Some("Laptop 7".into()),
        transport: gatehouse_dns::Transport::Https,
        identified_by: gatehouse_dns::IdentifiedBy::Caller,
        client: "203.0.113.9".parse().unwrap(),
        ..event(Some(&ada_s), "ks2", "bet365.com", Action::Block)
    };
    log.insert(&[
        on_laptop,
        event(Some(&ada_s), "ks2", "bbc.co.uk", Action::Allow),
    ])
    .await
    .unwrap();
    let dsl = t.signed_in("dsl").await;
    let res = dsl.get("/activity?device=Laptop+7").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("bet365.com"), "{}", res.body);
    assert!(res.body.contains("Laptop 7 (203.0.113.9)"), "{}", res.body);
    assert!(!res.body.contains("bbc.co.uk"), "only the laptop's queries");
    let audited = t.audit_actions("activity.search").await;
    assert!(audited[0].event.detail.contains("Laptop 7"));
    let (_, _, body) = dsl.get_bytes("/activity/export?device=Laptop+7").await;
    let csv = String::from_utf8(body).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",device"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().ends_with(",Laptop 7"), "{csv}");
}

#[tokio::test]
async fn everyone_is_told_on_their_account_page_that_their_use_is_logged() {
    let (t, _) = school().await;
    let page = t.signed_in("teacher").await.get("/account").await;
    assert!(page.body.contains("filter-notice"), "{}", page.body);
    assert!(page.body.contains("kept for 90 days"));
    let plain = TestApp::start(false).await;
    plain.add_account("teacher", &[Role::Staff]).await;
    let page = plain.signed_in("teacher").await.get("/account").await;
    assert!(!page.body.contains("filter-notice"));
}

#[tokio::test]
async fn a_declined_request_keeps_the_block_and_the_requester_sees_the_note() {
    let (t, ada) = school().await;
    let pupil = t.signed_in("ada").await;
    let portal = pupil.get("/portal").await;
    pupil
        .post_form("/portal/connect", &[("csrf_token", &portal.csrf())])
        .await;
    let b = t.browser();
    let page = on_host(&b, "bet365.com", "/").await;
    assert_redirect(
        &ask(&b, "bet365.com", &page.csrf(), "I want to look at the odds").await,
        "/?requested=1",
    );
    let osl = t.signed_in("esafety").await;
    let queue = osl.get("/unblock-requests").await;
    let id = between(&queue.body, "id=\"request-", "\"").unwrap();
    let res = osl
        .post_form(
            &format!("/unblock-requests/{id}"),
            &[
                ("csrf_token", &queue.csrf()),
                ("decision", "decline"),
                ("note", "Betting sites stay blocked for pupils"),
            ],
        )
        .await;
    assert_redirect(&res, "/unblock-requests");
    let as_ada = Identity::person(&ada.to_string(), "ks2");
    let d = t.filter().decide(&as_ada, "bet365.com", t.app.clock.now());
    assert_eq!(d.action, Action::Block);
    let page = on_host(&b, "bet365.com", "/").await;
    assert!(
        page.body
            .contains("<strong>declined</strong> — Betting sites stay blocked for pupils"),
        "{}",
        page.body
    );
    let mine = pupil.get("/portal").await;
    assert!(
        mine.body.contains("Betting sites stay blocked for pupils"),
        "{}",
        mine.body
    );
    assert_eq!(t.audit_actions("unblock.decline").await.len(), 1);
}

#[tokio::test]
async fn a_visitor_registers_at_the_portal_and_their_device_gets_the_guest_policy() {
    let t = TestApp::start_filtering(GateMode::Enforce).await;
    let b = t.browser();
    let form = b.get("/portal/visitor").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    let res = b
        .post_form(
            "/portal/visitor",
            &[
                ("csrf_token", csrf.as_str()),
                ("first_name", "Priya"),
                ("last_name", ""),
                ("visiting", "Mrs Hart"),
                ("reason", "Speech and language session"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("last name"), "{}", res.body);
    assert!(
        res.body.contains("value=\"Priya\""),
        "what was typed is kept"
    );
    let res = b
        .post_form(
            "/portal/visitor",
            &[
                ("csrf_token", csrf.as_str()),
                ("first_name", "Priya"),
                ("last_name", "Nair"),
                ("visiting", "Mrs Hart"),
                ("reason", "Speech and language session"),
            ],
        )
        .await;
    assert_redirect(&res, "/sign");
    // signed in as the visitor, device bound
    let portal = b.get("/portal").await;
    assert!(portal.body.contains("portal-connected"), "{}", portal.body);
    let visitor = t.person_id("Nair").await;
    let who = t
        .filter()
        .identify("127.0.0.1".parse().unwrap(), t.app.clock.now());
    assert_eq!(
        who.identity,
        Identity::person(&visitor.to_string(), "guests")
    );
    let audited = t.audit_actions("portal.visitor").await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0].event.detail.contains("Mrs Hart"));
    assert_eq!(
        audited[0].event.target.as_deref(),
        Some(format!("person:{visitor}").as_str())
    );
}
