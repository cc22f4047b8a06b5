//! Load the DNS server over UDP on 127.0.0.1 with the static upstream and print queries per
//! second and latency percentiles.
//!
//! `cargo run --release -p gatehouse-dns --example dns_load [QUERIES] [CLIENTS]`
//!
//! Each client is one UDP socket sending a query and waiting for its answer; one name in
//! five is blocked. A task drains the activity events as the log writer would.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_dns::{DnsConfig, DnsServer, NoIdentitySource, RateLimit, Upstream};
use gatehouse_filter::{
    CompileOptions, Database, Engine, EngineConfig, EngineHandle, ListFormat, Source, compile,
};
use tokio::net::UdpSocket;

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    // RD; QDCOUNT 1; no other records.
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    q
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .map_or(200_000, |s| s.parse().unwrap());
    let clients: usize = std::env::args().nth(2).map_or(32, |s| s.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("gambling.txt");
    std::fs::write(&list, "bet.example\n").unwrap();
    let out = dir.path().join("f.ghf");
    compile(
        &[Source::List {
            category: "gambling".into(),
            format: ListFormat::Domains,
            path: list,
        }],
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    let engine = Engine::new(
        Arc::new(Database::open(&out).unwrap()),
        &EngineConfig::uk_default().unwrap(),
    )
    .unwrap();
    let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let config = DnsConfig {
        udp: vec![local],
        tcp: vec![],
        upstream: Upstream::Static(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
        block_address_v4: Some(Ipv4Addr::new(192, 0, 2, 80)),
        rate_limit: RateLimit {
            per_second: 0.0,
            ..RateLimit::default()
        },
        ..DnsConfig::default()
    };
    let (handle, mut events) = DnsServer::start(
        config,
        Arc::new(EngineHandle::new(engine)),
        Arc::new(NoIdentitySource),
    )
    .await
    .unwrap();
    let server = handle.udp_addrs()[0];
    let drain = tokio::spawn(async move {
        let mut n = 0usize;
        while let Some(batch) = events.recv_batch(1000).await {
            n += batch.len();
        }
        n
    });

    let started = Instant::now();
    let per_client = total / clients;
    let mut tasks = Vec::new();
    for c in 0..clients {
        tasks.push(tokio::spawn(async move {
            let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            sock.connect(server).await.unwrap();
            let mut buf = [0u8; 512];
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let name = if i % 5 == 0 {
                    format!("w{i}.bet.example")
                } else {
                    format!("site{}.c{c}.example", i % 1000)
                };
                let id = (i % 65_536) as u16;
                let packet = query(id, &name);
                let t = Instant::now();
                sock.send(&packet).await.unwrap();
                loop {
                    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
                        .await
                        .expect("no answer")
                        .unwrap();
                    if buf.get(..2.min(n)) == Some(&id.to_be_bytes()[..]) {
                        break;
                    }
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| {
        all.get((all.len() as f64 * p) as usize)
            .or(all.last())
            .copied()
    };
    let stats = handle.stats();
    handle.shutdown().await;
    let logged = drain.await.unwrap();
    println!(
        "{} queries, {clients} clients: {:.0} queries/s; latency p50 {:?} p99 {:?} max {:?}",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5).unwrap_or_default(),
        pct(0.99).unwrap_or_default(),
        all.last().copied().unwrap_or_default(),
    );
    println!(
        "answered {} blocked {} events logged {logged} dropped {}",
        stats.answered, stats.blocked, stats.events_dropped
    );
}
