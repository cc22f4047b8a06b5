//! Insert throughput of the activity log writer: events per second through a bounded
//! queue (the size the DNS filter uses) into a fresh database file.
//!
//! `cargo run --release -p gatehouse-activity --example insert_throughput -- [EVENTS]`
//!
//! The events look like a school's traffic: 1,500 clients, 1,000 named people, 40,000
//! distinct names with a skewed popularity, one in twenty in a category and one in thirty
//! blocked. The producer sends as fast as the queue accepts, so the figure is the
//! writer's capacity, to compare with the DNS filter's peak queries per second.
//! `MAX_BATCH=N` in the environment changes the writer's batch size.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use gatehouse_activity::{ActivityLog, WriterSettings};
use gatehouse_dns::{ActivityEvent, IdentifiedBy, Rcode, Transport};
use gatehouse_filter::Action;
use jiff::Timestamp;
use tokio::sync::mpsc;

/// The DNS filter's default queue capacity.
const QUEUE: usize = 10_000;

fn events(n: usize) -> Vec<ActivityEvent> {
    let start = Timestamp::now();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let r = next();
            // Skewed popularity: squaring a uniform draw favours small indexes.
            let u = (r % 10_000) as f64 / 10_000.0;
            let name = (u * u * 40_000.0) as u64;
            let client = (r >> 20) % 1500;
            let person = (client < 1000).then(|| format!("pupil{client:04}"));
            let categorised = (r >> 32) % 20 == 0;
            let blocked = categorised && (r >> 40) % 3 != 0;
            let category = categorised.then(|| {
                ["gambling", "chat", "games", "adult"][((r >> 44) % 4) as usize].to_owned()
            });
            ActivityEvent {
                time: start
                    .checked_add(Duration::from_micros(i as u64 * 20))
                    .unwrap_or(start),
                client: IpAddr::V4(Ipv4Addr::new(
                    10,
                    1,
                    (client / 250) as u8,
                    (client % 250) as u8,
                )),
                identified_by: if person.is_some() {
                    IdentifiedBy::Source
                } else {
                    IdentifiedBy::Unidentified
                },
                person,
                group: ["ks2", "ks3", "ks4", "staff"][(client % 4) as usize].to_owned(),
                qname: format!("host{}.site{}.example", name % 7, name),
                qtype: if r % 3 == 0 { "AAAA" } else { "A" }.to_owned(),
                action: if blocked {
                    Action::Block
                } else {
                    Action::Allow
                },
                rule: match &category {
                    Some(c) => format!("policy:ks2/{c}"),
                    None => "default:ks2".to_owned(),
                },
                matched_list: categorised.then(|| format!("site{name}.example")),
                category,
                cname: None,
                rcode: Rcode::NoError,
                upstream_latency_us: (r % 4 == 0).then_some(r % 50_000),
                cached: r % 4 != 0,
                transport: Transport::Udp,
                device: None,
            }
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 1_000_000,
    };
    let dir = std::env::temp_dir().join(format!("activity-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("activity.db");
    let log = ActivityLog::open(&path).await?;
    let evs = events(n);

    let (tx, rx) = mpsc::channel(QUEUE);
    let began = Instant::now();
    let max_batch = std::env::var("MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(WriterSettings::default().max_batch);
    let writer = log.spawn_writer(
        rx,
        WriterSettings {
            max_batch,
            ..WriterSettings::default()
        },
    );
    for e in evs {
        tx.send(e).await?;
    }
    drop(tx);
    writer.join().await;
    let took = began.elapsed();
    let stats = log.stats();
    let stored = log.count_events().await?;
    log.close().await;
    let size: u64 = ["activity.db", "activity.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{n} events in {:.2} s: {:.0} events/s; {stored} stored in {} batches (largest {}); \
         {:.0} bytes per event on disk",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        stats.batches,
        stats.largest_batch,
        size as f64 / n.max(1) as f64,
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
