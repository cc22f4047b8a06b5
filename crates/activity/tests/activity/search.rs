//! Insert round trip and search by every key.

use std::net::IpAddr;

use gatehouse_activity::{ActivitySearch, MAX_SEARCH_LIMIT};
use gatehouse_dns::{Rcode, Transport};
use gatehouse_filter::Action;
use jiff::Timestamp;

use crate::support::{at, blocked, event, full, open};

#[tokio::test]
async fn every_field_round_trips() {
    let (_dir, log) = open().await;
    let t = Timestamp::from_microsecond(at(0).as_microsecond() + 123_456).unwrap();
    let e = full(t);
    let plain = event(at(-10), "www.example.com", None, 9);
    log.insert(&[e.clone(), plain.clone()]).await.unwrap();

    let rows = log.search(&ActivitySearch::default()).await.unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.time, t);
    assert_eq!(r.client, e.client);
    assert_eq!(r.person.as_deref(), Some("ada.lovelace"));
    assert_eq!(r.group, "staff");
    assert_eq!(r.identified_by, "binding:library");
    assert_eq!(r.qname, "cdn.bet.example");
    assert_eq!(r.qtype, "HTTPS");
    assert_eq!(r.category.as_deref(), Some("gambling"));
    assert_eq!(r.action, Action::Warn);
    assert_eq!(r.rule, "policy:staff/gambling");
    assert_eq!(r.matched_list.as_deref(), Some("bet.example"));
    assert_eq!(r.cname.as_deref(), Some("edge.cdn.example"));
    assert_eq!(r.rcode, Rcode::Other(23));
    assert_eq!(r.upstream_latency_us, Some(123_456));
    assert!(r.cached);
    assert_eq!(r.transport, Transport::Https);
    assert_eq!(r.device.as_deref(), Some("Laptop 14"));

    let p = &rows[1];
    assert_eq!(p.time, plain.time);
    assert_eq!(p.client, plain.client);
    assert_eq!(p.person, None);
    assert_eq!(p.identified_by, "unidentified");
    assert_eq!(p.category, None);
    assert_eq!(p.matched_list, None);
    assert_eq!(p.cname, None);
    assert_eq!(p.rcode, Rcode::NoError);
    assert_eq!(p.upstream_latency_us, Some(1500));
    assert!(!p.cached);
    assert_eq!(p.transport, Transport::Udp);
    assert_eq!(p.device, None);

    let stats = log.stats();
    assert_eq!(stats.written, 2);
    assert_eq!(stats.batches, 1);
    assert_eq!(stats.failed, 0);
    assert!(stats.last_write.is_some());
}

/// Ten events, one a second, with varied keys; returns nothing, fills `log`.
async fn fixture(log: &gatehouse_activity::ActivityLog) {
    let events = vec![
        event(at(0), "example.com", Some("amy"), 1),
        event(at(1), "www.example.com", Some("amy"), 1),
        event(at(2), "badexample.com", Some("ben"), 2),
        event(at(3), "a.b.example.com", Some("ben"), 2),
        blocked(at(4), "bet.example", Some("amy"), "gambling"),
        blocked(at(5), "chat.example", Some("ben"), "chat"),
        blocked(at(6), "www.bet.example", None, "gambling"),
        event(at(7), "example.org", None, 3),
        event(at(8), "com", None, 3),
        event(at(9), "Mixed.Example.com", None, 4),
    ];
    // Two batches, so ids come from two transactions.
    log.insert(&events[..5]).await.unwrap();
    log.insert(&events[5..]).await.unwrap();
}

fn names(rows: &[gatehouse_activity::ActivityRow]) -> Vec<&str> {
    rows.iter().map(|r| r.qname.as_str()).collect()
}

#[tokio::test]
async fn search_by_each_key_newest_first() {
    let (_dir, log) = open().await;
    fixture(&log).await;
    let all = log.search(&ActivitySearch::default()).await.unwrap();
    assert_eq!(all.len(), 10);
    assert!(
        all.windows(2).all(|w| w[0].time > w[1].time),
        "newest first"
    );

    let by = |f: ActivitySearch| {
        let log = log.clone();
        async move { log.search(&f).await.unwrap() }
    };
    let amy = by(ActivitySearch {
        person: Some("amy".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        names(&amy),
        ["bet.example", "www.example.com", "example.com"]
    );

    let nobody = by(ActivitySearch {
        person: Some("zoe".into()),
        ..Default::default()
    })
    .await;
    assert!(nobody.is_empty());

    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    let from_ip = by(ActivitySearch {
        client_ip: Some(ip),
        ..Default::default()
    })
    .await;
    assert_eq!(names(&from_ip), ["a.b.example.com", "badexample.com"]);

    let gambling = by(ActivitySearch {
        category: Some("gambling".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(names(&gambling), ["www.bet.example", "bet.example"]);

    let blocks = by(ActivitySearch {
        action: Some(Action::Block),
        ..Default::default()
    })
    .await;
    assert_eq!(
        names(&blocks),
        ["www.bet.example", "chat.example", "bet.example"]
    );

    let group = by(ActivitySearch {
        group: Some("ks2".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(group.len(), 10);

    let combined = by(ActivitySearch {
        person: Some("ben".into()),
        action: Some(Action::Allow),
        ..Default::default()
    })
    .await;
    assert_eq!(names(&combined), ["a.b.example.com", "badexample.com"]);
}

#[tokio::test]
async fn domain_matches_the_name_and_names_under_it() {
    let (_dir, log) = open().await;
    fixture(&log).await;
    let domain = |d: &str| ActivitySearch {
        domain: Some(d.to_owned()),
        ..Default::default()
    };
    let rows = log.search(&domain("example.com")).await.unwrap();
    // Not badexample.com, not example.org, not com; the stored name keeps its case.
    assert_eq!(
        names(&rows),
        ["a.b.example.com", "www.example.com", "example.com"]
    );
    // Case, surrounding dots and spaces in the search are ignored.
    let rows = log.search(&domain(" .Example.COM. ")).await.unwrap();
    assert_eq!(rows.len(), 3);
    let rows = log.search(&domain("b.example.com")).await.unwrap();
    assert_eq!(names(&rows), ["a.b.example.com"]);
    let rows = log.search(&domain("bet.example")).await.unwrap();
    assert_eq!(names(&rows), ["www.bet.example", "bet.example"]);
    let rows = log.search(&domain("com")).await.unwrap();
    assert_eq!(rows.len(), 6, "com and every .com name: {:?}", names(&rows));
    let rows = log.search(&domain("xample.com")).await.unwrap();
    assert!(rows.is_empty(), "a suffix must start at a label");
}

#[tokio::test]
async fn time_range_is_from_inclusive_to_exclusive() {
    let (_dir, log) = open().await;
    fixture(&log).await;
    let rows = log
        .search(&ActivitySearch {
            from: Some(at(2)),
            to: Some(at(5)),
            ..Default::default()
        })
        .await
        .unwrap();
    let times: Vec<Timestamp> = rows.iter().map(|r| r.time).collect();
    assert_eq!(times, [at(4), at(3), at(2)]);
    let rows = log
        .search(&ActivitySearch {
            from: Some(at(8)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let rows = log
        .search(&ActivitySearch {
            to: Some(at(0)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn limit_offset_and_cursor_page_through_in_order() {
    let (_dir, log) = open().await;
    // Several events at the same instant: ties are ordered by id, newest first.
    let same: Vec<_> = (0..4)
        .map(|i| event(at(100), &format!("n{i}.example"), None, 1))
        .collect();
    log.insert(&same).await.unwrap();
    fixture(&log).await;

    let first = log
        .search(&ActivitySearch {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&first), ["n3.example", "n2.example", "n1.example"]);
    let second = log
        .search(&ActivitySearch {
            limit: 3,
            before: first.last().map(|r| r.cursor()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&second), ["n0.example", "Mixed.Example.com", "com"]);
    let by_offset = log
        .search(&ActivitySearch {
            limit: 3,
            offset: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_offset, second);

    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = log
            .search(&ActivitySearch {
                limit: 4,
                before,
                ..Default::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|r| r.cursor());
        seen.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(seen.len(), 14);
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 14);

    let none = log
        .search(&ActivitySearch {
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let capped = log
        .search(&ActivitySearch {
            limit: usize::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(capped.len(), 14);
    assert_eq!(
        log.search(&ActivitySearch {
            limit: MAX_SEARCH_LIMIT + 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        14
    );
}

#[tokio::test]
async fn search_by_device() {
    let (_dir, log) = open().await;
    let on = |name: &str, device: Option<&str>, secs| gatehouse_dns::ActivityEvent {
        device: device.map(str::to_owned),
        transport: Transport::Https,
        ..event(at(secs), name, Some("amy"), 1)
    };
    log.insert(&[
        on("a.example", Some("Laptop 14"), 0),
        on("b.example", Some("Laptop 15"), 1),
        on("c.example", None, 2),
        on("d.example", Some("Laptop 14"), 3),
    ])
    .await
    .unwrap();
    let device = |d: &str| ActivitySearch {
        device: Some(d.to_owned()),
        ..Default::default()
    };
    let rows = log.search(&device("Laptop 14")).await.unwrap();
    assert_eq!(names(&rows), ["d.example", "a.example"]);
    assert!(
        rows.iter()
            .all(|r| r.device.as_deref() == Some("Laptop 14"))
    );
    assert!(log.search(&device("Laptop 9")).await.unwrap().is_empty());
    // A person's name is not a device, even though both are interned strings.
    assert!(log.search(&device("amy")).await.unwrap().is_empty());
}
