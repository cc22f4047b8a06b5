//! The writer task: batching, explicit flush, draining the DNS filter's real queue.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_activity::{ActivitySearch, WriterSettings};
use gatehouse_dns::wire::{Question, encode_upstream_query};
use gatehouse_dns::{DnsConfig, DnsService, NoIdentitySource, Transport, Upstream};
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
