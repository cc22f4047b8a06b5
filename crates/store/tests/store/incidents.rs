//! Incidents: the chronology is append-only (the database refuses to change or remove an
//! entry, and the store has no method that would), writes carry their audit entry, and a
//! sanction's override is written and found again when it ends.

use super::*;
use gatehouse_domain::incidents::{EntryKind, FilterSanction, IncidentKind, Severity};
use gatehouse_store::{NewEntry, NewIncident, StoreError};

fn incident() -> NewIncident {
    NewIncident {
        kind: IncidentKind::OnlineSafety,
        summary: "Shared a harmful video".into(),
        description: "Seen in the ICT suite".into(),
        severity: Severity::Medium,
        occurred_at: at(0),
        reporter: "teacher".into(),
        reporter_account_id: None,
        people: Vec::new(),
        breach: None,
    }
}

fn note(text: &str) -> NewEntry {
    NewEntry {
        text: text.into(),
        ..NewEntry::default()
    }
}

#[tokio::test]
async fn the_chronology_cannot_be_changed_or_deleted_only_corrected() {
    let (dir, store) = open().await;
    let school = new_school(&*store).await;
    let id = store
        .create_incident(
            school.id,
            &incident(),
            at(10),
            event("teacher", "incident.report", None),
        )
        .await
        .unwrap();
    let first = store
        .append_incident_entry(
            id,
            &note("Spoke to Ada"),
            "dsl",
            at(20),
            event("dsl", "incident.entry", None),
        )
        .await
        .unwrap();
    let pool = raw(&dir).await;
    for sql in [
        "UPDATE incident_entries SET text = 'changed'",
        "DELETE FROM incident_entries",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // a correction names the entry it corrects, which must be of the same incident
    let other = store
        .create_incident(
            school.id,
            &incident(),
            at(30),
            event("teacher", "incident.report", None),
        )
        .await
        .unwrap();
    let wrong = store
        .append_incident_entry(
            other,
            &NewEntry {
                corrects: Some(first.id),
                ..note("wrong record")
            },
            "dsl",
            at(40),
            event("dsl", "incident.entry", None),
        )
        .await;
    assert!(matches!(wrong, Err(StoreError::NotFound(_))));
    let fix = store
        .append_incident_entry(
            id,
            &NewEntry {
                corrects: Some(first.id),
                ..note("It was Ada's brother")
            },
            "dsl",
            at(50),
            event("dsl", "incident.entry", None),
        )
        .await
        .unwrap();
    assert_eq!(fix.kind, EntryKind::Correction);
    let entries = store.incident_entries(id).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].text, "Spoke to Ada");
    // every write took its audit entry, targeted at the incident
    let log = verified_log(&*store).await;
    let targets: Vec<Option<String>> = log.iter().map(|e| e.event.target.clone()).collect();
    assert!(targets.contains(&Some(format!("incident:{id}"))));
    assert_eq!(log.len(), 5, "school, two reports, two entries");
}

#[tokio::test]
async fn a_sanction_is_an_override_until_its_end_then_found_as_ended_unrecorded() {
    let (_dir, store) = open().await;
    let school = new_school(&*store).await;
    let id = store
        .create_incident(
            school.id,
            &incident(),
            at(10),
            event("dsl", "incident.report", None),
        )
        .await
        .unwrap();
    let oid = store
        .apply_incident_sanction(
            school.id,
            id,
            42,
            &FilterSanction::RestrictedTo("ks2".into()),
            at(1000),
            &note("Restricted"),
            "dsl",
            at(20),
            event("dsl", "incident.sanction", None),
        )
        .await
        .unwrap();
    let active = store.active_overrides(school.id, at(999)).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].policy.as_deref(), Some("ks2"));
    assert_eq!(active[0].subject, "42");
    assert!(
        store
            .sanctions_ended_unrecorded(school.id, at(999))
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .sanctions_ended_unrecorded(school.id, at(1000))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].override_id, oid);
    assert!(
        store
            .record_sanction_end(
                &due[0],
                &note("ended"),
                "system",
                at(1001),
                event("system", "incident.sanction_end", None)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_sanction_end(
                &due[0],
                &note("ended"),
                "system",
                at(1002),
                event("system", "incident.sanction_end", None)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .sanctions_ended_unrecorded(school.id, at(2000))
            .await
            .unwrap()
            .is_empty()
    );
    let lift = store
        .lift_incident_sanction(
            school.id,
            id,
            oid,
            &note("late"),
            "dsl",
            at(1500),
            event("dsl", "x", None),
        )
        .await;
    assert!(matches!(lift, Err(StoreError::Conflict(_))));
}
