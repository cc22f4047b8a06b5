//! Retention: folding old events into daily counts, idempotence, aggregate expiry.

use gatehouse_activity::{ActivitySearch, DailyFilter, DailyRow, PruneReport};
use gatehouse_filter::Action;
use jiff::civil::Date;

use crate::support::{at, blocked, event, open};

const DAY: i64 = 86_400;

fn day_of(secs: i64) -> Date {
    at(secs).to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn row(day: Date, person: &str, category: &str, action: Action, count: u64) -> DailyRow {
    DailyRow {
        day,
        person: person.to_owned(),
        group: "ks2".to_owned(),
        category: category.to_owned(),
        action,
        count,
    }
}

#[tokio::test]
async fn prune_folds_old_events_into_daily_counts_and_keeps_recent_ones() {
    let (_dir, log) = open().await;
    let old = -100 * DAY;
    let recent = -DAY;
    log.insert(&[
        event(at(old), "a.example", Some("amy"), 1),
        event(at(old + 60), "b.example", Some("amy"), 1),
        blocked(at(old + 120), "bet.example", Some("amy"), "gambling"),
        event(at(old + 180), "c.example", None, 2),
        // Exactly 90 days old: kept (only older events are folded).
        event(at(-90 * DAY), "edge.example", Some("amy"), 1),
        event(at(recent), "d.example", Some("amy"), 1),
    ])
    .await
    .unwrap();
    let before = log.daily(&DailyFilter::default()).await.unwrap();
    let unidentified = DailyFilter {
        person: Some(String::new()),
        category: Some(String::new()),
        ..Default::default()
    };
    let unidentified_before = log.daily(&unidentified).await.unwrap();
    assert_eq!(
        unidentified_before,
        [row(day_of(old), "", "", Action::Allow, 1)]
    );

    let now = at(0);
    let report = log.prune(now, 90, 730).await.unwrap();
    assert_eq!(
        report,
        PruneReport {
            events_folded: 4,
            aggregates_deleted: 0
        }
    );
    assert_eq!(log.count_events().await.unwrap(), 2);
    let kept = log.search(&ActivitySearch::default()).await.unwrap();
    let kept: Vec<&str> = kept.iter().map(|r| r.qname.as_str()).collect();
    assert_eq!(kept, ["d.example", "edge.example"]);

    // Daily counts are the same before and after folding: stored counts plus raw events.
    let after = log.daily(&DailyFilter::default()).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(log.daily(&unidentified).await.unwrap(), unidentified_before);
    let old_day = day_of(old);
    assert_eq!(
        log.daily(&DailyFilter {
            from: Some(old_day),
            to: Some(old_day),
            ..Default::default()
        })
        .await
        .unwrap(),
        [
            row(old_day, "", "", Action::Allow, 1),
            row(old_day, "amy", "", Action::Allow, 2),
            row(old_day, "amy", "gambling", Action::Block, 1),
        ]
    );
    let amy = log
        .daily(&DailyFilter {
            person: Some("amy".into()),
            action: Some(Action::Allow),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        amy,
        [
            row(day_of(recent), "amy", "", Action::Allow, 1),
            row(day_of(-90 * DAY), "amy", "", Action::Allow, 1),
            row(old_day, "amy", "", Action::Allow, 2),
        ]
    );

    // Running again changes nothing.
    let again = log.prune(now, 90, 730).await.unwrap();
    assert_eq!(again, PruneReport::default());
    assert_eq!(log.daily(&DailyFilter::default()).await.unwrap(), after);

    // A late old event for the same day adds to the stored count.
    log.insert(&[event(at(old + 240), "e.example", Some("amy"), 1)])
        .await
        .unwrap();
    let report = log.prune(now, 90, 730).await.unwrap();
    assert_eq!(report.events_folded, 1);
    let amy_old = log
        .daily(&DailyFilter {
            person: Some("amy".into()),
            category: Some(String::new()),
            from: Some(old_day),
            to: Some(old_day),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(amy_old, [row(old_day, "amy", "", Action::Allow, 3)]);
}

#[tokio::test]
async fn prune_spanning_many_hours_folds_everything_old() {
    let (_dir, log) = open().await;
    // One event every 20 minutes over three days, ending 95 days ago.
    let start = -98 * DAY;
    let events: Vec<_> = (0..216)
        .map(|i| event(at(start + i * 1200), "x.example", Some("amy"), 1))
        .collect();
    log.insert(&events).await.unwrap();
    let report = log.prune(at(0), 90, 730).await.unwrap();
    assert_eq!(report.events_folded, 216);
    assert_eq!(log.count_events().await.unwrap(), 0);
    let total: u64 = log
        .daily(&DailyFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r.count)
        .sum();
    assert_eq!(total, 216);
}

#[tokio::test]
async fn aggregates_expire_after_their_retention() {
    let (_dir, log) = open().await;
    log.insert(&[
        event(at(-800 * DAY), "ancient.example", Some("amy"), 1),
        event(at(-700 * DAY), "old.example", Some("amy"), 1),
    ])
    .await
    .unwrap();
    let report = log.prune(at(0), 90, 730).await.unwrap();
    assert_eq!(
        report,
        PruneReport {
            events_folded: 2,
            aggregates_deleted: 1
        }
    );
    let days: Vec<Date> = log
        .daily(&DailyFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r.day)
        .collect();
    assert_eq!(days, [day_of(-700 * DAY)]);
    assert_eq!(
        log.prune(at(0), 90, 730).await.unwrap(),
        PruneReport::default()
    );
}
