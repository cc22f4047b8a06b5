//! Reminders follow the schedule, go to the right people, and are sent once.

use crate::{import, world};
use gatehouse_domain::agreements::{Audience, starter};
use gatehouse_domain::people::PersonKind;
use gatehouse_service::Actor;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::agreements::PolicyRequest;
use gatehouse_service::mail::{Mailer, Transport};
use gatehouse_store::NewPolicy;
use jiff::SignedDuration;

fn outbox(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn publish(app: &gatehouse_service::Gatehouse, audience: Audience, effective: &str) {
    let cli = Actor::cli();
    let s = starter::starter(audience);
    let (_, v) = app
        .create_policy(
            &cli,
            &PolicyRequest {
                policy: NewPolicy {
                    title: s.title.into(),
                    audience,
                    owner: "Headteacher".into(),
                    days_to_sign: 14,
                    annual_from: None,
                },
                source: s.markdown.into(),
                candidate: None,
            },
        )
        .await
        .unwrap();
    app.approve_version(&cli, v, "Governors", effective.parse().unwrap())
        .await
        .unwrap();
    app.publish_version(
        &cli,
        v,
        effective.parse().unwrap(),
        "2027-09-01".parse().unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn reminders_follow_the_schedule_and_are_sent_once() {
    let w = world("2026-09-01T08:00:00Z").await;
    import(
        &w.app,
        PersonKind::Staff,
        "Staff code,Forename,Surname,Email,Start date\nS1,Ann,Example,ann@example.com,01/01/2020\nS2,Bob,Nomail,,01/01/2020\n",
    )
    .await;
    publish(&w.app, Audience::Staff, "2026-09-01").await;
    let out = w.dir.path().join("outbox");
    let mailer = Mailer::new(
        "Gatehouse <g@school.example>",
        Transport::Outbox(out.clone()),
        "http://gh.test",
    )
    .unwrap();

    let r = w.app.send_reminders(&mailer).await.unwrap();
    assert_eq!(
        (r.sent, r.no_address, r.failed),
        (1, 1, 0),
        "Ann is told; Bob has no address"
    );
    let mails = outbox(&out);
    assert!(
        mails[0].contains("ann@example.com") && mails[0].contains("http://gh.test/sign"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("by Tuesday 15 September 2026"),
        "{}",
        mails[0]
    );

    assert_eq!(
        w.app.send_reminders(&mailer).await.unwrap().sent,
        0,
        "sent once"
    );

    w.clock.advance(SignedDuration::from_hours(24 * 8)); // 9 September: 6 days left
    assert_eq!(w.app.send_reminders(&mailer).await.unwrap().sent, 1);
    w.clock.advance(SignedDuration::from_hours(24 * 5)); // 14 September: 1 day left
    assert_eq!(w.app.send_reminders(&mailer).await.unwrap().sent, 1);
    w.clock.advance(SignedDuration::from_hours(24 * 2)); // 16 September: overdue
    assert_eq!(w.app.send_reminders(&mailer).await.unwrap().sent, 1);
    w.clock.advance(SignedDuration::from_hours(24 * 3)); // same overdue week
    assert_eq!(w.app.send_reminders(&mailer).await.unwrap().sent, 0);
    w.clock.advance(SignedDuration::from_hours(24 * 4)); // a week later
    assert_eq!(w.app.send_reminders(&mailer).await.unwrap().sent, 1);
    let mails = outbox(&out);
    assert_eq!(mails.len(), 5);
    assert!(
        mails
            .iter()
            .filter(|m| m.contains("Subject: Overdue"))
            .count()
            == 2
    );
}

#[tokio::test]
async fn young_pupils_reminders_go_to_their_parents_and_the_head_gets_a_digest() {
    let w = world("2026-09-01T08:00:00Z").await;
    import(
        &w.app,
        PersonKind::Pupil,
        "UPN,Forename,Surname,Year,Class\nA100000000001,Cal,Small,R,Robins\n",
    )
    .await;
    import(
        &w.app,
        PersonKind::Parent,
        "Contact ID,Forename,Surname,Email,Child UPN\nC1,Dee,Small,dee@example.com,A100000000001\n",
    )
    .await;
    import(
        &w.app,
        PersonKind::Staff,
        "Staff code,Forename,Surname,Email\nH1,Hana,Head,head@school.example\n",
    )
    .await;
    let cli = Actor::cli();
    let head_id = {
        let school = w.app.school().await.unwrap();
        w.app
            .store
            .people_for_import(school.id, PersonKind::Staff)
            .await
            .unwrap()
            .into_iter()
            .find(|p| {
                p.details
                    .mis_id
                    .as_ref()
                    .is_some_and(|m| m.as_str() == "H1")
            })
            .unwrap()
            .id
    };
    w.app
        .create_account(
            &cli,
            &AccountRequest {
                username: "hana".into(),
                password: "copper kettle margin lantern".into(),
                roles: vec![gatehouse_domain::permissions::Role::Head],
                person_id: Some(head_id),
            },
        )
        .await
        .unwrap();
    publish(&w.app, Audience::PupilsEarly, "2026-09-01").await;
    let out = w.dir.path().join("outbox");
    let mailer = Mailer::new(
        "Gatehouse <g@school.example>",
        Transport::Outbox(out.clone()),
        "http://gh.test",
    )
    .unwrap();
    let r = w.app.send_reminders(&mailer).await.unwrap();
    assert_eq!(r.sent, 2, "the parent's reminder and the head's digest");
    let mails = outbox(&out);
    let parent = mails
        .iter()
        .find(|m| m.contains("dee@example.com"))
        .expect("parent told");
    assert!(
        parent.contains("asks Cal Small to read and sign"),
        "{parent}"
    );
    let digest = mails
        .iter()
        .find(|m| m.contains("head@school.example"))
        .expect("digest");
    assert!(
        digest.contains("Weekly agreements digest") && digest.contains("0% signed (0 of 1)"),
        "{digest}"
    );
    assert_eq!(
        w.app.send_reminders(&mailer).await.unwrap().sent,
        0,
        "the digest is weekly"
    );
}
