//! The writer task: batching, explicit flush, draining the DNS filter's real queue.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_activity::{ActivityRow, ActivitySearch, MAX_SEARCH_LIMIT, WriterSettings};
use gatehouse_dns::wire::{Question, encode_upstream_query};
use gatehouse_dns::{
    ActivityEvent, DnsConfig, DnsService, IdentifiedBy, NoIdentitySource, Rcode, Transport,
    Upstream,
};
use gatehouse_filter::{
    Action, CompileOptions, Database, Engine, EngineConfig, EngineHandle, ListFormat, Source,
    compile,
};
use tokio::sync::mpsc;

use crate::support::{at, event, open};

#[tokio::test]
async fn writer_drains_a_channel_in_batches_and_stops_when_it_closes() {
    let (_dir, log) = open().await;
    let (tx, rx) = mpsc::channel(20_000);
    for i in 0..10_000 {
        tx.send(event(
            at(i),
            &format!("n{}.example", i % 500),
            Some("amy"),
            1,
        ))
        .await
        .unwrap();
    }
    drop(tx);
    let settings = WriterSettings {
        max_batch: 4096,
        flush_interval: Duration::from_secs(1),
    };
    let writer = log.spawn_writer(rx, settings);
    writer.join().await;
    assert_eq!(log.count_events().await.unwrap(), 10_000);
    let stats = log.stats();
    assert_eq!(stats.written, 10_000);
    // The first batch is written as soon as 4,096 are waiting; the rest is taken from
    // the queue while it is written, and written next.
    assert!(stats.batches >= 2, "{stats:?}");
    assert!(stats.largest_batch < 10_000, "{stats:?}");
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.last_error, None);
}

/// Event `i` of a varied stream: names new and repeated, a name that is both queried and
/// a CNAME target, IPv4 and IPv6 clients, every identification, optional fields set and
/// not.
fn varied(i: u16) -> ActivityEvent {
    let person = (!i.is_multiple_of(5)).then(|| format!("pupil{}", i % 37));
    let category = i
        .is_multiple_of(3)
        .then(|| ["gambling", "chat", "games"][usize::from(i % 9 / 3)]);
    ActivityEvent {
        time: at(i64::from(i)),
        client: if i.is_multiple_of(4) {
            IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i % 50))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 2, (i % 7) as u8, (i % 200) as u8))
        },
        identified_by: match i % 4 {
            0 => IdentifiedBy::Caller,
            1 => IdentifiedBy::Source,
            2 => IdentifiedBy::Binding(Arc::from(format!("room{}", i % 3))),
            _ => IdentifiedBy::Unidentified,
        },
        person,
        group: format!("group{}", i % 6),
        qname: format!("host{i}.site{}.example", i % 400),
        qtype: ["A", "AAAA", "HTTPS"][usize::from(i % 3)].to_owned(),
        action: if category.is_some() {
            Action::Block
        } else {
            Action::Allow
        },
        rule: match category {
            Some(c) => format!("policy:group{}/{c}", i % 6),
            None => "default".to_owned(),
        },
        matched_list: category.map(|_| format!("site{}.example", i % 400)),
        category: category.map(str::to_owned),
        cname: i
            .is_multiple_of(11)
            .then(|| format!("host{}.site{}.example", i + 1, (i + 1) % 400)),
        rcode: if i.is_multiple_of(13) {
            Rcode::ServFail
        } else {
            Rcode::NoError
        },
        upstream_latency_us: i.is_multiple_of(2).then_some(u64::from(i) * 10),
        cached: i % 2 == 1,
        transport: [Transport::Udp, Transport::Tcp, Transport::Https][usize::from(i % 3)],
        device: i.is_multiple_of(7).then(|| format!("tablet{}", i % 5)),
    }
}

/// Whether a stored row holds exactly `e`.
fn same(r: &ActivityRow, e: &ActivityEvent) -> bool {
    r.time == e.time
        && r.client == e.client
        && r.person == e.person
        && r.group == e.group
        && r.identified_by == e.identified_by.to_string()
        && r.qname == e.qname
        && r.qtype == e.qtype
        && r.category == e.category
        && r.action == e.action
        && r.rule == e.rule
        && r.matched_list == e.matched_list
        && r.cname == e.cname
        && r.rcode == e.rcode
        && r.upstream_latency_us == e.upstream_latency_us
        && r.cached == e.cached
        && r.transport == e.transport
        && r.device == e.device
}

#[tokio::test]
async fn batches_of_any_size_are_stored_whole_and_read_back_unchanged() {
    let (_dir, log) = open().await;
    // 1,023 events in one transaction take statements of every size (3 x 256, 3 x 64,
    // 3 x 16, 3 x 4 and 3 single rows); a second batch through a fresh writer repeats
    // names already stored and adds new ones.
    let first: Vec<_> = (0..1023).map(varied).collect();
    log.insert(&first).await.unwrap();
    let second: Vec<_> = (1023..1400).map(varied).collect();
    log.insert(&second).await.unwrap();
    // A third through the background writer, whose cache already knows most values.
    let (tx, rx) = mpsc::channel(2000);
    let writer = log.spawn_writer(rx, WriterSettings::default());
    for i in 1400..2000 {
        tx.send(varied(i)).await.unwrap();
    }
    writer.flush().await;
    for i in 2000..2100 {
        tx.send(varied(i)).await.unwrap();
    }
    drop(tx);
    writer.join().await;

    assert_eq!(log.count_events().await.unwrap(), 2100);
    let stats = log.stats();
    assert_eq!((stats.written, stats.failed), (2100, 0));
    let rows = log
        .search(&ActivitySearch {
            limit: MAX_SEARCH_LIMIT,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 2100);
    // Newest first: row k holds event 2099 - k.
    for (k, r) in rows.iter().enumerate() {
        let e = varied(2099 - u16::try_from(k).unwrap());
        assert!(same(r, &e), "row {k}: {r:?}\nevent: {e:?}");
    }
    // Ids follow the order of insertion.
    assert!(rows.windows(2).all(|w| w[0].id > w[1].id));
}

#[tokio::test]
async fn flush_writes_queued_events_without_waiting_for_the_interval() {
    let (_dir, log) = open().await;
    let (tx, rx) = mpsc::channel(100);
    // A long interval: only the explicit flush can write these events.
    let writer = log.spawn_writer(
        rx,
        WriterSettings {
            max_batch: 1000,
            flush_interval: Duration::from_secs(1),
        },
    );
    for i in 0..5 {
        tx.send(event(at(i), "a.example", None, 1)).await.unwrap();
    }
    writer.flush().await;
    assert_eq!(log.count_events().await.unwrap(), 5);
    tx.send(event(at(9), "b.example", None, 1)).await.unwrap();
    writer.flush().await;
    assert_eq!(log.count_events().await.unwrap(), 6);
    drop(tx);
    writer.join().await;
    assert_eq!(log.stats().written, 6);
}

#[tokio::test]
async fn a_failed_batch_is_counted_with_its_error() {
    let (_dir, log) = open().await;
    log.insert(&[event(at(0), "a.example", None, 1)])
        .await
        .unwrap();
    log.close().await;
    let batch = [
        event(at(1), "b.example", None, 1),
        event(at(2), "c.example", None, 1),
    ];
    assert!(log.insert(&batch).await.is_err());
    let stats = log.stats();
    assert_eq!(stats.written, 1);
    assert_eq!(stats.batches, 1);
    assert_eq!(stats.failed, 2);
    assert!(stats.last_error.is_some_and(|e| !e.is_empty()));
}

/// Listed names of the test filter (category, names).
const LISTS: &[(&str, &str)] = &[("gambling", "bet.example\n"), ("chat", "chat.example\n")];

fn engine() -> Arc<EngineHandle> {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = Vec::new();
    for (i, (cat, text)) in LISTS.iter().enumerate() {
        let p = dir.path().join(format!("list{i}.txt"));
        std::fs::write(&p, text).unwrap();
        sources.push(Source::List {
            category: (*cat).to_owned(),
            format: ListFormat::Domains,
            path: p,
        });
    }
    let out = dir.path().join("filter.ghf");
    compile(
        &sources,
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    let db = Database::open(&out).unwrap();
    let engine = Engine::new(Arc::new(db), &EngineConfig::uk_default().unwrap()).unwrap();
    Arc::new(EngineHandle::new(engine))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_query_of_the_dns_filter_is_stored() {
    let (_dir, log) = open().await;
    let config = DnsConfig {
        upstream: Upstream::Static(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
        block_address_v4: Some(Ipv4Addr::new(192, 0, 2, 80)),
        rate_limit: gatehouse_dns::RateLimit {
            per_second: 0.0,
            ..Default::default()
        },
        ..DnsConfig::default()
    };
    let (service, events) = DnsService::new(&config, engine(), Arc::new(NoIdentitySource)).unwrap();
    let writer = log.spawn_writer(events, WriterSettings::default());

    let names = [
        "www.example.com",
        "bet.example",
        "www.bet.example",
        "chat.example",
    ];
    let client = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    let mut replies = 0u64;
    for i in 0..2000u16 {
        let name = names[usize::from(i) % names.len()];
        let packet = encode_upstream_query(i, &Question::new(name, 1), false).unwrap();
        if service
            .handle(&packet, client, Transport::Udp)
            .await
            .is_some()
        {
            replies += 1;
        }
    }
    let stats = service.stats();
    assert_eq!(stats.answered, 2000);
    assert_eq!(replies, 2000);
    assert_eq!(stats.events_dropped, 0);
    // Dropping the service closes the queue; the writer writes what is left and stops.
    drop(service);
    writer.join().await;

    assert_eq!(log.count_events().await.unwrap(), stats.answered);
    assert_eq!(log.stats().written, stats.answered);
    let blocked = log
        .search(&ActivitySearch {
            domain: Some("bet.example".into()),
            action: Some(Action::Block),
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(blocked.len(), 1000);
    assert!(
        blocked
            .iter()
            .all(|r| r.category.as_deref() == Some("gambling"))
    );
    assert!(blocked.iter().all(|r| r.client == client));
    let blocks = log
        .search(&ActivitySearch {
            action: Some(Action::Block),
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(u64::try_from(blocks.len()).unwrap(), stats.blocked);
}

#[tokio::test]
async fn every_event_carries_the_installations_school() {
    let (_dir, log) = open().await;
    // Stored before the school was given (or by a build that did not record it): none.
    log.insert(&[event(at(0), "a.example", None, 1)])
        .await
        .unwrap();
    let log = log.for_school("Oak Academy");
    log.insert(&[
        event(at(1), "b.example", Some("ada"), 2),
        event(at(2), "c.example", None, 3),
    ])
    .await
    .unwrap();
    // A writer with an empty cache finds the same interned name.
    let (tx, rx) = mpsc::channel(10);
    let writer = log.spawn_writer(rx, WriterSettings::default());
    tx.send(event(at(3), "d.example", None, 4)).await.unwrap();
    drop(tx);
    writer.join().await;
    let rows = log.search(&ActivitySearch::default()).await.unwrap();
    let schools: Vec<_> = rows
        .iter()
        .map(|r| (r.qname.as_str(), r.school.as_deref()))
        .collect();
    assert_eq!(
        schools,
        [
            ("d.example", Some("Oak Academy")),
            ("c.example", Some("Oak Academy")),
            ("b.example", Some("Oak Academy")),
            ("a.example", None),
        ]
    );
}

/// The nice value of each of this process's threads whose name starts with `prefix`.
#[cfg(target_os = "linux")]
fn thread_nice(prefix: &str) -> Vec<i64> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if comm.starts_with(prefix)
            && let Some(nice) = nice_of(&task.path())
        {
            found.push(nice);
        }
    }
    found
}

/// The nice value in a thread's `stat` file (field 19; the name, field 2, is in
/// parentheses and may hold spaces).
#[cfg(target_os = "linux")]
fn nice_of(task: &std::path::Path) -> Option<i64> {
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(16)?.parse().ok()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_writer_connection_runs_at_a_lower_priority_than_the_rest() {
    let base = nice_of(std::path::Path::new("/proc/thread-self")).unwrap();
    let (_dir, log) = open().await;
    log.insert(&[event(at(0), "a.example", None, 1)])
        .await
        .unwrap();
    // The writer's SQLite thread (other tests' writers may be starting too, so at least
    // one, not all), and no reading connection, which keep sqlx's thread name.
    let writers = thread_nice("activity-write");
    assert!(
        writers.contains(&(base + 5).min(19)),
        "process at nice {base}, writer threads at {writers:?}"
    );
    assert_eq!(log.count_events().await.unwrap(), 1);
    let readers = thread_nice("sqlx-sqlite");
    assert!(!readers.is_empty());
    assert!(
        readers.iter().all(|n| *n == base),
        "process at nice {base}, readers at {readers:?}"
    );
}
