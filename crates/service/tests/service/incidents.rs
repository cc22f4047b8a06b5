//! Incidents: who sees which record, the chronology, sanctions that act on the filter and
//! end on time, and the breach deadline.

use crate::{import, world};
use gatehouse_domain::clock::Clock;
use gatehouse_domain::incidents::{
    BreachClock, BreachDetails, EntryKind, FilterSanction, IncidentKind, Involvement,
    ReportDecision, Severity, Status,
};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::{IncidentAccess, Role};
use gatehouse_service::incidents::ReportRequest;
use gatehouse_service::{Actor, Gatehouse, ServiceError};
use gatehouse_store::{AuditFilter, NewEntry};
use jiff::{SignedDuration, Timestamp};

fn actor(name: &str, account: i64, roles: &[Role]) -> Actor {
    Actor {
        account_id: Some(account),
        person_id: None,
        name: name.into(),
        roles: roles.to_vec(),
        ip: None,
    }
}

/// Accounts 1–8 (head, dsl, it, dpo, gov, other, teacher, mum) so reporters are real.
async fn accounts(app: &Gatehouse) {
    for (n, name) in [
        "head", "dsl", "itadmin", "dpo", "gov", "other", "teacher", "mum",
    ]
    .into_iter()
    .enumerate()
    {
        let id = app
            .create_account(
                &Actor::cli(),
                &gatehouse_service::accounts::AccountRequest {
                    username: name.into(),
                    password: "copper kettle margin lantern".into(),
                    roles: vec![Role::Staff],
                    person_id: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(id, i64::try_from(n).unwrap() + 1);
    }
}

fn report(kind: IncidentKind) -> ReportRequest {
    ReportRequest {
        kind,
        summary: format!("a {} record", kind.as_str()),
        description: "What was seen and said.".into(),
        severity: Severity::Medium,
        occurred_at: None,
        people: Vec::new(),
        breach: (kind == IncidentKind::DataBreach).then(|| BreachDetails {
            discovered_at: "2025-03-10T08:00:00Z".parse().unwrap(),
            near_miss: false,
            data: "Class list with medical notes".into(),
            people_count: Some(28),
            records_count: Some(28),
            consequences: String::new(),
            risk: None,
            decision: ReportDecision::Undecided,
            ico_reference: None,
            people_told: None,
            measures: String::new(),
        }),
    }
}

#[tokio::test]
async fn each_role_sees_the_records_the_matrix_gives_it_and_every_view_is_audited() {
    let w = world("2025-03-10T09:00:00Z").await;
    accounts(&w.app).await;
    let teacher = actor("teacher", 7, &[Role::Staff]);
    for kind in IncidentKind::ALL {
        w.app
            .report_incident(&teacher, &report(*kind))
            .await
            .unwrap();
    }
    let seen = |a: Actor| {
        let app = w.app.clone();
        async move {
            let mut kinds: Vec<IncidentKind> = app
                .incidents(&a)
                .await
                .unwrap()
                .into_iter()
                .map(|(i, _)| i.kind)
                .collect();
            kinds.sort();
            kinds
        }
    };
    use IncidentKind as K;
    assert_eq!(seen(actor("head", 1, &[Role::Head])).await.len(), 11);
    assert!(
        !seen(actor("dsl", 2, &[Role::Dsl]))
            .await
            .contains(&K::DataBreach)
    );
    assert_eq!(
        seen(actor("itadmin", 3, &[Role::ItAdmin])).await,
        [K::DeviceMisuse, K::FilteringFailure]
    );
    assert_eq!(seen(actor("dpo", 4, &[Role::Dpo])).await, [K::DataBreach]);
    assert!(seen(actor("gov", 5, &[Role::Governor])).await.is_empty());
    assert!(seen(actor("other", 6, &[Role::Staff])).await.is_empty());
    // the reporter sees all they reported, but only their report
    assert_eq!(seen(teacher.clone()).await.len(), 11);
    let mine = w.app.incidents(&teacher).await.unwrap();
    let (safeguarding, access) = mine
        .iter()
        .find(|(i, _)| i.kind == K::Safeguarding)
        .unwrap();
    assert_eq!(*access, IncidentAccess::OwnReport);
    let dsl = actor("dsl", 2, &[Role::Dsl]);
    w.app
        .add_incident_entry(
            &dsl,
            safeguarding.id,
            NewEntry {
                text: "Spoke to the pupil.".into(),
                ..NewEntry::default()
            },
        )
        .await
        .unwrap();
    let view = w.app.incident(&teacher, safeguarding.id).await.unwrap();
    assert!(
        view.entries.is_empty(),
        "the reporter does not see the chronology"
    );
    assert!(matches!(
        w.app
            .add_incident_entry(&teacher, safeguarding.id, NewEntry::default())
            .await,
        Err(ServiceError::Forbidden)
    ));
    // IT staff are not even told a safeguarding record exists
    assert!(matches!(
        w.app
            .incident(&actor("itadmin", 3, &[Role::ItAdmin]), safeguarding.id)
            .await,
        Err(ServiceError::NotFound(_))
    ));
    assert_eq!(
        w.app
            .incident(&dsl, safeguarding.id)
            .await
            .unwrap()
            .entries
            .len(),
        1
    );
    let views = w
        .app
        .store
        .search_audit(&AuditFilter {
            action: Some("incident.view".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(views.len(), 2, "two views were written to the audit log");
    // parents do not report through Gatehouse
    assert!(matches!(
        w.app
            .report_incident(&actor("mum", 8, &[Role::Parent]), &report(K::Safeguarding))
            .await,
        Err(ServiceError::Forbidden)
    ));
}

#[tokio::test]
async fn corrections_refer_to_the_entry_they_correct_and_status_needs_an_outcome_to_close() {
    let w = world("2025-03-10T09:00:00Z").await;
    accounts(&w.app).await;
    let dsl = actor("dsl", 2, &[Role::Dsl]);
    let id = w
        .app
        .report_incident(&dsl, &report(IncidentKind::Cyberbullying))
        .await
        .unwrap();
    let first = w
        .app
        .add_incident_entry(
            &dsl,
            id,
            NewEntry {
                kind: Some(EntryKind::ParentsInformed),
                text: "Told mother by phone".into(),
                method: Some("phone".into()),
                ..NewEntry::default()
            },
        )
        .await
        .unwrap();
    let fix = w
        .app
        .add_incident_entry(
            &dsl,
            id,
            NewEntry {
                kind: Some(EntryKind::Correction),
                text: "It was the father, not the mother".into(),
                corrects: Some(first.id),
                ..NewEntry::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(fix.kind, EntryKind::Correction);
    assert_eq!(fix.corrects, Some(first.id));
    let referral = w
        .app
        .add_incident_entry(
            &dsl,
            id,
            NewEntry {
                kind: Some(EntryKind::Referral),
                text: "Referred".into(),
                ..NewEntry::default()
            },
        )
        .await;
    assert!(matches!(referral, Err(ServiceError::Invalid(m)) if m.starts_with("agency:")));
    let closing = w
        .app
        .set_incident_status(&dsl, id, Status::Closed, None)
        .await;
    assert!(matches!(closing, Err(ServiceError::Invalid(m)) if m.starts_with("outcome:")));
    let closed = w
        .app
        .set_incident_status(
            &dsl,
            id,
            Status::Closed,
            Some("Resolved with both families".into()),
        )
        .await
        .unwrap();
    assert_eq!(closed.status, Status::Closed);
    let view = w.app.incident(&dsl, id).await.unwrap();
    let kinds: Vec<EntryKind> = view.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::ParentsInformed,
            EntryKind::Correction,
            EntryKind::StatusChange
        ]
    );
    assert_eq!(
        view.entries[0].text, "Told mother by phone",
        "kept as it was"
    );
}

async fn pupil_incident(app: &Gatehouse, dsl: &Actor) -> (i64, i64) {
    import(
        app,
        PersonKind::Pupil,
        "UPN,Forename,Surname,Year,Class\nA123456789012,Ada,Lovelace,8,8K\n",
    )
    .await;
    let id = app
        .report_incident(dsl, &report(IncidentKind::DeviceMisuse))
        .await
        .unwrap();
    app.add_incident_person(dsl, id, "Ada Lovelace", Involvement::Alleged)
        .await
        .unwrap();
    let person = app.incident(dsl, id).await.unwrap().incident.people[0]
        .person_id
        .unwrap();
    (id, person)
}

#[tokio::test]
async fn a_sanction_writes_a_filter_override_and_ends_by_itself_on_time() {
    let w = world("2025-03-10T09:00:00Z").await;
    accounts(&w.app).await;
    let school = w.app.school().await.unwrap().id;
    let dsl = actor("dsl", 2, &[Role::Dsl]);
    let (id, person) = pupil_incident(&w.app, &dsl).await;
    let until: Timestamp = "2025-03-15T00:00:00Z".parse().unwrap();
    let oid = w
        .app
        .apply_sanction(
            &dsl,
            id,
            person,
            &FilterSanction::InternetRemoved,
            until,
            "Five days",
        )
        .await
        .unwrap();
    let now = w.clock.now();
    let active = w.app.store.active_overrides(school, now).await.unwrap();
    let o = active.iter().find(|o| o.id == oid).expect("in force");
    assert_eq!(o.subject, person.to_string());
    assert_eq!(o.host, None);
    assert_eq!(o.action.as_deref(), Some("block"));
    assert_eq!(o.source, format!("incident:{id}"));
    // nothing to record before the end
    w.clock.set("2025-03-14T23:59:00Z".parse().unwrap());
    assert_eq!(w.app.end_expired_sanctions().await.unwrap(), 0);
    // at the end the filter no longer applies it, and the chronology says so once
    w.clock.set("2025-03-15T00:01:00Z".parse().unwrap());
    let now = w.clock.now();
    assert!(
        w.app
            .store
            .active_overrides(school, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.app.end_expired_sanctions().await.unwrap(), 1);
    assert_eq!(w.app.end_expired_sanctions().await.unwrap(), 0);
    let view = w.app.incident(&dsl, id).await.unwrap();
    let kinds: Vec<EntryKind> = view.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Note,
            EntryKind::FilterSanction,
            EntryKind::SanctionEnded
        ]
    );
    let ended = view.entries.last().unwrap();
    assert_eq!(ended.occurred_at, until);
    assert_eq!(ended.override_id, Some(oid));
    assert_eq!(ended.recorded_by, "system");
}

#[tokio::test]
async fn a_sanction_lifted_early_stops_at_once_and_cannot_be_lifted_twice() {
    let w = world("2025-03-10T09:00:00Z").await;
    accounts(&w.app).await;
    let school = w.app.school().await.unwrap().id;
    let dsl = actor("dsl", 2, &[Role::Dsl]);
    let (id, person) = pupil_incident(&w.app, &dsl).await;
    let restricted = FilterSanction::parse("restrict:eyfs_ks1").unwrap();
    let bad = w
        .app
        .apply_sanction(
            &dsl,
            id,
            person,
            &restricted,
            "2025-03-01T00:00:00Z".parse().unwrap(),
            "",
        )
        .await;
    assert!(matches!(bad, Err(ServiceError::Invalid(m)) if m.starts_with("until:")));
    let stranger = w
        .app
        .apply_sanction(
            &dsl,
            id,
            person + 1000,
            &restricted,
            "2025-03-20T00:00:00Z".parse().unwrap(),
            "",
        )
        .await;
    assert!(matches!(stranger, Err(ServiceError::Invalid(m)) if m.starts_with("person:")));
    let oid = w
        .app
        .apply_sanction(
            &dsl,
            id,
            person,
            &restricted,
            "2025-03-20T00:00:00Z".parse().unwrap(),
            "",
        )
        .await
        .unwrap();
    let now = w.clock.now();
    let o = &w.app.store.active_overrides(school, now).await.unwrap()[0];
    assert_eq!(
        (o.action.as_deref(), o.policy.as_deref()),
        (None, Some("eyfs_ks1"))
    );
    w.clock.advance(SignedDuration::from_hours(24));
    w.app
        .lift_sanction(&dsl, id, oid, "Apologised and made amends")
        .await
        .unwrap();
    let now = w.clock.now();
    assert!(
        w.app
            .store
            .active_overrides(school, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        w.app.lift_sanction(&dsl, id, oid, "again").await,
        Err(ServiceError::Invalid(_))
    ));
    // lifted early: nothing more is written at the end date
    w.clock.set("2025-03-21T00:00:00Z".parse().unwrap());
    assert_eq!(w.app.end_expired_sanctions().await.unwrap(), 0);
    let last = w
        .app
        .incident(&dsl, id)
        .await
        .unwrap()
        .entries
        .pop()
        .unwrap();
    assert_eq!(last.kind, EntryKind::SanctionLifted);
}

#[tokio::test]
async fn the_breach_countdown_shows_to_the_dpo_and_head_until_settled() {
    let w = world("2025-03-10T09:00:00Z").await;
    accounts(&w.app).await;
    let dpo = actor("dpo", 4, &[Role::Dpo]);
    let head = actor("head", 1, &[Role::Head]);
    let id = w
        .app
        .report_incident(&dpo, &report(IncidentKind::DataBreach))
        .await
        .unwrap();
    let c = w.app.breach_countdowns(&head).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].deadline,
        "2025-03-13T08:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        c[0].clock,
        BreachClock::Remaining {
            hours: 71,
            minutes: 0
        }
    );
    assert!(
        w.app
            .breach_countdowns(&actor("dsl", 2, &[Role::Dsl]))
            .await
            .unwrap()
            .is_empty()
    );
    w.clock.set("2025-03-13T10:00:00Z".parse().unwrap());
    assert_eq!(
        w.app.breach_countdowns(&dpo).await.unwrap()[0].clock,
        BreachClock::Overdue { hours: 2 }
    );
    let mut b = w
        .app
        .incident(&dpo, id)
        .await
        .unwrap()
        .incident
        .breach
        .unwrap();
    b.decision = ReportDecision::DoNotReport(" ".into());
    let refused = w.app.record_breach(&dpo, id, b.clone()).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(m)) if m.starts_with("reason:")));
    b.decision =
        ReportDecision::DoNotReport("Sent to a colleague at the same school and deleted".into());
    b.risk = Some(gatehouse_domain::incidents::Risk::None);
    w.app.record_breach(&dpo, id, b).await.unwrap();
    assert!(w.app.breach_countdowns(&dpo).await.unwrap().is_empty());
    let csv = String::from_utf8(w.app.export_breach_log(&dpo).await.unwrap()).unwrap();
    assert!(
        csv.starts_with("id,summary,discovered,ico_deadline"),
        "{csv}"
    );
    assert!(csv.contains("2025-03-13T08:00:00Z"), "{csv}");
    assert!(csv.contains("not_report,Sent to a colleague"), "{csv}");
    assert!(matches!(
        w.app
            .export_breach_log(&actor("dsl", 2, &[Role::Dsl]))
            .await,
        Err(ServiceError::Forbidden)
    ));
}

#[tokio::test]
async fn the_head_moves_the_demo_clock_past_a_sanction_and_it_ends_at_once() {
    let w = world("2025-03-10T09:00:00Z").await;
    accounts(&w.app).await;
    let school = w.app.school().await.unwrap().id;
    let dsl = actor("dsl", 2, &[Role::Dsl]);
    let head = actor("head", 1, &[Role::Head]);
    // a real installation has no demo clock
    assert_eq!(w.app.demo_time(&head).unwrap(), None);
    assert!(matches!(
        w.app.advance_demo_clock(&head, 1).await,
        Err(ServiceError::NotFound(_))
    ));
    let clock = std::sync::Arc::new(gatehouse_domain::clock::ShiftedClock::default());
    let app = w.app.clone().with_demo_clock(clock.clone());
    let (id, person) = pupil_incident(&app, &dsl).await;
    let until = app.clock.now() + SignedDuration::from_hours(72);
    app.apply_sanction(
        &dsl,
        id,
        person,
        &FilterSanction::InternetRemoved,
        until,
        "Three days",
    )
    .await
    .unwrap();
    // only the head (and trust) may move it, by whole hours within a term
    assert!(matches!(
        app.advance_demo_clock(&dsl, 73).await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        app.advance_demo_clock(&head, 0).await,
        Err(ServiceError::Invalid(m)) if m.starts_with("hours:")
    ));
    let short = app.advance_demo_clock(&head, 71).await.unwrap();
    assert_eq!(short.sanctions_ended, 0);
    assert_eq!(short.time.ahead, SignedDuration::from_hours(71));
    let past = app.advance_demo_clock(&head, 2).await.unwrap();
    assert_eq!(
        past.sanctions_ended, 1,
        "ended by the move, not a minute later"
    );
    assert_eq!(
        app.demo_time(&head).unwrap().map(|t| t.ahead),
        Some(SignedDuration::from_hours(73))
    );
    assert!(past.time.now > until);
    assert!(
        app.store
            .active_overrides(school, past.time.now)
            .await
            .unwrap()
            .is_empty()
    );
    let view = app.incident(&dsl, id).await.unwrap();
    assert_eq!(
        view.entries.last().map(|e| e.kind),
        Some(EntryKind::SanctionEnded)
    );
    let moves = app
        .store
        .search_audit(&AuditFilter {
            action: Some("demo.clock_advanced".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(moves.len(), 2, "each move is audited");
}
