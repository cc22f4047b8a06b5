//! Monitoring alerts: raised by the rules from activity events, seen only by the DSL team
//! and the head, triaged once, every view audited, and the DSL told of urgent ones.

use crate::support::*;
use gatehouse_activity::monitor::{Monitor, MonitorRules};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_filter::{Action, GateMode};
use reqwest::StatusCode;

fn event(
    person: &str,
    qname: &str,
    category: Option<&str>,
    secs: i64,
) -> gatehouse_dns::ActivityEvent {
    gatehouse_dns::ActivityEvent {
        // a Monday morning in term, 10:00 UK time
        time: jiff::Timestamp::from_second(1_741_600_800 + secs).unwrap(),
        client: "10.1.2.3".parse().unwrap(),
        person: Some(person.to_owned()),
        group: "ks2".into(),
        identified_by: gatehouse_dns::IdentifiedBy::Source,
        qname: qname.into(),
        qtype: "A".into(),
        category: category.map(str::to_owned),
        action: if category.is_some() {
            Action::Block
        } else {
            Action::Allow
        },
        rule: "policy:ks2".into(),
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
async fn the_dsl_sees_triages_and_is_told_of_urgent_alerts_and_others_cannot_see_them() {
    let t = TestApp::start_filtering(GateMode::Off).await;
    t.advance_secs(2 * 3600); // 11:00, after the events
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    t.import(
        PersonKind::Staff,
        "Staff code,First name,Last name,Email\nS1,Dina,Shah,dina.shah@school.example\n",
    )
    .await;
    let ada = t.person_id("Lovelace").await;
    let dina = t.person_id("Shah").await;
    t.add_account_for("dsl", &[Role::Dsl], Some(dina)).await;
    t.add_account("head", &[Role::Head]).await;
    for (name, role) in [
        ("esafety", Role::OnlineSafetyLead),
        ("itadmin", Role::ItAdmin),
        ("teacher", Role::Staff),
    ] {
        t.add_account(name, &[role]).await;
    }

    // the rules over three events: a keyword (high) twice, folded; a circumvention attempt
    let mut m = Monitor::new(MonitorRules::uk_default().unwrap());
    let mut raised = Vec::new();
    let p = ada.to_string();
    for e in [
        event(&p, "how-to-kill-myself.example", None, 0),
        event(&p, "kill-myself-now.example", None, 60),
        event(&p, "free-vpn.example", Some("circumvention"), 120),
    ] {
        raised.extend(m.observe(&e));
    }
    let new = t
        .app
        .record_alerts(&raised, jiff::SignedDuration::from_mins(30))
        .await
        .unwrap();
    assert_eq!(new.len(), 2, "{new:?}");
    let outbox = tempfile::tempdir().unwrap();
    let mailer = gatehouse_service::mail::Mailer::new(
        "Gatehouse <gatehouse@school.example>",
        gatehouse_service::mail::Transport::Outbox(outbox.path().to_owned()),
        "http://gatehouse.test",
    )
    .unwrap();
    assert_eq!(
        t.app.notify_alerts(&mailer, &new).await.unwrap(),
        1,
        "only the high one"
    );
    let mails: Vec<String> = std::fs::read_dir(outbox.path())
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("dina.shah@school.example"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("high"), "{}", mails[0]);
    // the others go in the daily digest, once a day
    assert_eq!(t.app.send_alert_digest(&mailer).await.unwrap(), 1);
    assert_eq!(
        t.app.send_alert_digest(&mailer).await.unwrap(),
        0,
        "once a day"
    );
    let digest: Vec<String> = std::fs::read_dir(outbox.path())
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .filter(|m| m.contains("alerts to review"))
        .collect();
    assert_eq!(digest.len(), 1);
    assert!(
        digest[0].contains("medium (circumvention)"),
        "{}",
        digest[0]
    );

    // the API, under the same rules
    let api = t.browser();
    for (user, want) in [("dsl", StatusCode::OK), ("esafety", StatusCode::FORBIDDEN)] {
        let (_, token) = t
            .app
            .create_token(&gatehouse_service::Actor::cli(), user, "test")
            .await
            .unwrap();
        let res = api
            .send(
                api.client
                    .get(api.url("/api/v1/alerts?status=new"))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(res.status, want, "{user}: {}", res.body);
        if want == StatusCode::OK {
            let json = res.json();
            let list = json["alerts"].as_array().unwrap();
            assert_eq!(list.len(), 2, "{json}");
            assert!(
                list.iter()
                    .any(|a| a["severity"] == "high" && a["person"]["name"] == "Ada Lovelace"),
                "{json}"
            );
        }
    }
    let audited = t.audit_actions("alert.list").await;
    assert!(
        audited.iter().any(|e| e.event.actor == "dsl"),
        "API reads are audited"
    );

    // who sees them
    for name in ["esafety", "itadmin", "teacher"] {
        let b = t.signed_in(name).await;
        assert_eq!(
            b.get("/alerts").await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
        let home = b.get("/").await;
        assert!(!home.body.contains("new-alerts"), "{name}");
    }
    let head = t.signed_in("head").await;
    assert_eq!(head.get("/alerts").await.status, StatusCode::OK);
    let dsl = t.signed_in("dsl").await;
    let home = dsl.get("/").await;
    assert!(
        home.body
            .contains("2 new monitoring alerts</a>, 1 critical or high"),
        "{}",
        home.body
    );
    let list = dsl.get("/alerts").await;
    assert!(list.body.contains("Ada Lovelace"), "{}", list.body);
    let high = new.iter().find(|a| a.severity == "high").unwrap();
    assert!(high.summary.contains("kill myself"), "{}", high.summary);
    let page = dsl.get(&format!("/alerts/{}", high.id)).await;
    assert!(
        page.body.contains(r#"id="alert-count">2<"#),
        "folded: {}",
        page.body
    );
    assert!(
        page.body.contains("how-to-kill-myself.example")
            && page.body.contains("kill-myself-now.example")
    );
    let views = t.audit_actions("alert.view").await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].event.actor, "dsl");

    // triage: a dismissal needs a reason; each step once
    let path = format!("/alerts/{}", high.id);
    let csrf = page.csrf();
    let res = dsl
        .post_form(&path, &[("csrf_token", &csrf), ("step", "dismiss")])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body.contains("reason: a reason is required"),
        "{}",
        res.body
    );
    assert_redirect(
        &dsl.post_form(&path, &[("csrf_token", &csrf), ("step", "acknowledge")])
            .await,
        &path,
    );
    let res = dsl
        .post_form(&path, &[("csrf_token", &csrf), ("step", "acknowledge")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = dsl
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("step", "escalate"),
                ("kind", ""),
                ("note", "Spoke to Ada; parents called"),
            ],
        )
        .await;
    // escalated into a safeguarding concern with the evidence and the pupil
    let to = res.location().unwrap().to_owned();
    assert!(to.starts_with("/incidents/"), "{to}");
    let incident = dsl.get(&to).await;
    assert_eq!(incident.status, StatusCode::OK, "{}", incident.body);
    assert!(
        incident.body.contains("Safeguarding concern"),
        "{}",
        incident.body
    );
    assert!(
        incident.body.contains("how-to-kill-myself.example"),
        "{}",
        incident.body
    );
    assert!(incident.body.contains("Ada Lovelace"));
    let page = dsl.get(&path).await;
    assert!(
        page.body
            .contains("escalated (by dsl) — Spoke to Ada; parents called (incident"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"alert-incident\""), "{}", page.body);
    assert!(!page.body.contains("id=\"triage\""), "no more steps");
    assert_eq!(t.audit_actions("alert.escalate").await.len(), 1);
    // the teacher cannot act on it either
    let teacher = t.signed_in("teacher").await;
    let own = teacher.get("/account").await.csrf();
    let res = teacher
        .post_form(
            &path,
            &[("csrf_token", &own), ("step", "dismiss"), ("note", "x")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        !res.body.contains("form"),
        "refused by the permission check, not the form token: {}",
        res.body
    );
}
