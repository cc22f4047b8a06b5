//! Incidents over HTTP: a teacher reports a concern from the form, the DSL sees it and adds
//! to the chronology, IT staff do not see it, the head sees a breach countdown, and the API
//! follows the same rules.

use crate::support::TestApp;
use gatehouse_domain::permissions::Role;
use gatehouse_service::Actor;
use reqwest::StatusCode;

#[tokio::test]
async fn a_concern_reported_on_the_form_reaches_the_dsl_and_nobody_else() {
    let t = TestApp::start(false).await;
    t.add_account("tom.teacher", &[Role::Staff]).await;
    t.add_account("dee.dsl", &[Role::Dsl]).await;
    t.add_account("ian.it", &[Role::ItAdmin]).await;

    let teacher = t.signed_in("tom.teacher").await;
    let form = teacher.get("/incidents/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    let missing = teacher
        .post_form(
            "/incidents/new",
            &[
                ("csrf_token", &csrf),
                ("kind", "safeguarding"),
                ("summary", "Worried about a pupil"),
                ("description", "  "),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.body.contains("description: this is required"),
        "{}",
        missing.body
    );
    let sent = teacher
        .post_form(
            "/incidents/new",
            &[
                ("csrf_token", &csrf),
                ("kind", "safeguarding"),
                ("summary", "Worried about a pupil <b>"),
                ("description", "Said they are scared to go home"),
                ("severity", "high"),
                ("people", "Ada Lovelace, pupil, affected"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains("id=\"thanks\""));

    let dsl = t.signed_in("dee.dsl").await;
    let list = dsl.get("/incidents").await;
    assert!(
        list.body.contains("Worried about a pupil &#60;b&#62;"),
        "escaped: {}",
        list.body
    );
    let record = dsl.get("/incidents/1").await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(
        record.body.contains("Ada Lovelace (pupil, Affected)"),
        "{}",
        record.body
    );
    let added = dsl
        .post_form(
            "/incidents/1/entries",
            &[
                ("csrf_token", &record.csrf()),
                ("kind", "referral"),
                ("text", "Referred to children's social care"),
                ("agency", "social_care"),
                ("reference", "CSC-2025-0042"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let record = dsl.get("/incidents/1").await;
    assert!(
        record.body.contains("ref. CSC-2025-0042"),
        "{}",
        record.body
    );

    // the teacher sees their report, not the chronology
    let own = teacher.get("/incidents/1").await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("id=\"own-report\""));
    assert!(!own.body.contains("CSC-2025-0042"));

    // IT staff are not told it exists
    let it = t.signed_in("ian.it").await;
    assert!(
        !it.get("/incidents")
            .await
            .body
            .contains("Worried about a pupil")
    );
    assert_eq!(it.get("/incidents/1").await.status, StatusCode::NOT_FOUND);

    // the API: same rules, same auditing
    let (_, token) = t
        .app
        .create_token(&Actor::cli(), "ian.it", "t")
        .await
        .unwrap();
    let res = it
        .send(
            it.client
                .get(it.url("/api/v1/incidents"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["incidents"].as_array().unwrap().len(), 0);
    let (_, token) = t
        .app
        .create_token(&Actor::cli(), "dee.dsl", "t")
        .await
        .unwrap();
    let res = dsl
        .send(
            dsl.client
                .get(dsl.url("/api/v1/incidents"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(
        res.json()["incidents"][0]["kind"],
        "safeguarding",
        "{}",
        res.body
    );
    assert!(!t.audit_actions("incident.view").await.is_empty());
    assert!(t.audit_actions("incident.list").await.len() >= 4);
}

#[tokio::test]
async fn a_breach_shows_its_countdown_to_the_head_and_the_log_exports() {
    let t = TestApp::start(false).await;
    t.add_account("hana.head", &[Role::Head]).await;
    t.add_account("dee.dsl", &[Role::Dsl]).await;
    let head = t.signed_in("hana.head").await;
    let form = head.get("/incidents/new").await;
    // the clock starts at 2025-03-10 09:00 UTC (09:00 in London)
    let sent = head
        .post_form(
            "/incidents/new",
            &[
                ("csrf_token", &form.csrf()),
                ("kind", "data_breach"),
                ("summary", "Email with SEN list sent to the wrong parent"),
                ("description", "Sent at 8:30"),
                ("discovered_at", "2025-03-10T08:45"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let home = head.get("/").await;
    assert!(
        home.body.contains("id=\"breach-countdown\""),
        "{}",
        home.body
    );
    assert!(home.body.contains("71 h 45 min left"), "{}", home.body);
    assert!(
        !t.signed_in("dee.dsl")
            .await
            .get("/")
            .await
            .body
            .contains("breach-countdown")
    );
    let (status, headers, bytes) = head.get_bytes("/breaches/export").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(bytes).unwrap();
    assert!(
        csv.contains("Email with SEN list sent to the wrong parent"),
        "{csv}"
    );
}

#[tokio::test]
async fn evidence_files_are_kept_by_hash_checked_for_type_and_downloaded_by_the_dsl_only() {
    use crate::support::{Part, between};
    let t = TestApp::start(false).await;
    t.add_account("tom.teacher", &[Role::Staff]).await;
    t.add_account("dee.dsl", &[Role::Dsl]).await;
    let teacher = t.signed_in("tom.teacher").await;
    let form = teacher.get("/incidents/new").await;
    let sent = teacher
        .post_form(
            "/incidents/new",
            &[
                ("csrf_token", &form.csrf()),
                ("kind", "cyberbullying"),
                ("summary", "Messages in a group chat"),
                ("description", "Screenshots to follow"),
                ("severity", "medium"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let dsl = t.signed_in("dee.dsl").await;
    let list = dsl.get("/incidents").await;
    let id = list
        .body
        .split("href=\"/incidents/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|id| id.parse::<i64>().is_ok())
        .unwrap()
        .to_owned();
    let path = format!("/incidents/{id}");
    let page = dsl.get(&path).await;
    let csrf = page.csrf();
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR screenshot";
    let res = dsl
        .post_multipart(
            &format!("{path}/evidence"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::File {
                    name: "file",
                    file_name: "chat.png",
                    bytes: png,
                },
            ],
        )
        .await;
    assert_eq!(
        res.location(),
        Some(path.as_str()),
        "{} {}",
        res.status,
        res.body.len()
    );
    let res = dsl
        .post_multipart(
            &format!("{path}/evidence"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::File {
                    name: "file",
                    file_name: "run-me.exe",
                    bytes: b"MZ\x90\0",
                },
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("only PDF, PNG and JPEG"), "{}", res.body);
    let page = dsl.get(&path).await;
    let link = between(&page.body, "<ul id=\"attachments\"><li><a href=\"", "\"").unwrap();
    let (status, headers, body) = dsl.get_bytes(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, png);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("chat.png")
    );
    assert_eq!(t.audit_actions("incident.evidence_view").await.len(), 1);
    // the reporter sees the report, not the evidence
    let (status, _, _) = teacher.get_bytes(&link).await;
    assert_ne!(status, StatusCode::OK);
    assert!(!teacher.get(&path).await.body.contains("attachments"));
}

#[tokio::test]
async fn a_new_concern_is_emailed_to_the_dsl_and_a_breach_to_the_dpo() {
    use gatehouse_domain::incidents::{BreachDetails, IncidentKind, ReportDecision, Severity};
    use gatehouse_domain::people::PersonKind;
    let t = TestApp::start(false).await;
    t.import(
        PersonKind::Staff,
        "Staff code,First name,Last name,Email\nS1,Dina,Shah,dina@school.example\nS2,Pat,Rao,pat@school.example\n",
    )
    .await;
    t.add_account_for("dina", &[Role::Dsl], Some(t.person_id("Shah").await))
        .await;
    t.add_account_for("pat", &[Role::Dpo], Some(t.person_id("Rao").await))
        .await;
    let teacher = t.add_account("tom.teacher", &[Role::Staff]).await;
    let outbox = tempfile::tempdir().unwrap();
    let app = t.app.clone().with_mailer(
        gatehouse_service::mail::Mailer::new(
            "Gatehouse <gatehouse@school.example>",
            gatehouse_service::mail::Transport::Outbox(outbox.path().to_owned()),
            "http://gatehouse.test",
        )
        .unwrap(),
    );
    let actor = Actor {
        account_id: Some(teacher),
        person_id: None,
        name: "tom.teacher".into(),
        roles: vec![Role::Staff],
        ip: None,
    };
    let mut req = gatehouse_service::incidents::ReportRequest {
        kind: IncidentKind::Safeguarding,
        summary: "Worried about a pupil".into(),
        description: "Said something worrying at lunch".into(),
        severity: Severity::High,
        occurred_at: None,
        people: Vec::new(),
        breach: None,
    };
    let concern = app.report_incident(&actor, &req).await.unwrap();
    req.kind = IncidentKind::DataBreach;
    req.breach = Some(BreachDetails {
        discovered_at: t.app.clock.now(),
        near_miss: false,
        data: "A class list".into(),
        people_count: Some(30),
        records_count: Some(30),
        consequences: String::new(),
        risk: None,
        decision: ReportDecision::Undecided,
        ico_reference: None,
        people_told: None,
        measures: String::new(),
    });
    let breach = app.report_incident(&actor, &req).await.unwrap();
    let mails: Vec<String> = std::fs::read_dir(outbox.path())
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let to_dsl = mails
        .iter()
        .find(|m| m.contains("dina@school.example"))
        .unwrap();
    assert!(
        to_dsl.contains(&format!("/incidents/{concern}")),
        "{to_dsl}"
    );
    assert!(!to_dsl.contains("lunch"), "the email names no details");
    let to_dpo = mails
        .iter()
        .find(|m| m.contains("pat@school.example"))
        .unwrap();
    assert!(to_dpo.contains(&format!("/incidents/{breach}")), "{to_dpo}");
}
