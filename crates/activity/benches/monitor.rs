//! What the monitoring rules cost per activity event (they run on every DNS decision, on
//! the way to the activity log). The shipped rules; a mix of 100,000 events like a school
//! day's: mostly allowed names, one in ten blocked (some in watched categories), a few
//! keyword hits, 500 people, ks2 and staff groups, in and out of hours.
//!
//! `nice cargo bench -p gatehouse-activity --bench monitor`
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_activity::monitor::{Monitor, MonitorRules};
use gatehouse_dns::{ActivityEvent, IdentifiedBy, Rcode, Transport};
use gatehouse_filter::Action;

fn events(n: usize) -> Vec<ActivityEvent> {
    let names = [
        "www.bbc.co.uk",
        "classroom.google.com",
        "login.microsoftonline.com",
        "cdn.jsdelivr.net",
        "www.youtube.com",
        "static.xx.fbcdn.net",
        "kids.britannica.com",
        "www.purplemash.com",
        "api.weather.example",
    ];
    let blocked = [
        ("bet365.com", "gambling"),
        ("free-vpn.example", "circumvention"),
        ("chat-room.example", "chat"),
        ("games.example", "games"),
    ];
    // a Tuesday, 08:00 UTC, one event every 10 ms
    let start: jiff::Timestamp = "2025-11-11T08:00:00Z".parse().unwrap();
    (0..n)
        .map(|i| {
            let (qname, category) = if i % 10 == 0 {
                let (q, c) = blocked[(i / 10) % blocked.len()];
                (q.to_owned(), Some(c.to_owned()))
            } else if i % 997 == 0 {
                ("knife-shop.example".to_owned(), None)
            } else {
                (names[i % names.len()].to_owned(), None)
            };
            let person = i % 500;
            ActivityEvent {
                time: start + jiff::SignedDuration::from_millis(i64::try_from(i).unwrap() * 10),
                client: IpAddr::V4(Ipv4Addr::new(
                    10,
                    1,
                    (person / 250) as u8,
                    (person % 250) as u8,
                )),
                person: Some(person.to_string()),
                group: if person % 5 == 0 { "staff" } else { "ks2" }.to_owned(),
                identified_by: IdentifiedBy::Source,
                qname,
                qtype: "A".into(),
                action: if category.is_some() {
                    Action::Block
                } else {
                    Action::Allow
                },
                category,
                rule: "policy:ks2".into(),
                matched_list: None,
                cname: None,
                rcode: Rcode::NoError,
                upstream_latency_us: None,
                cached: false,
                transport: Transport::Udp,
                device: None,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let evs = events(100_000);
    let mut g = c.benchmark_group("monitor");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.sample_size(20);
    g.bench_function("observe_100k_events", |b| {
        b.iter(|| {
            let mut m = Monitor::new(MonitorRules::uk_default().unwrap());
            let mut raised = 0usize;
            for e in &evs {
                raised += m.observe(black_box(e)).len();
            }
            raised
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
