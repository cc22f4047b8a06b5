//! Run the DNS filter on its own for manual testing (e.g. with `dig`), with the default
//! UK policies over a small list (`bet.example` gambling, `chat.example` chat).
//!
//! `cargo run -p gatehouse-dns --example dns_serve -- [LISTEN] [UPSTREAM]`
//!
//! LISTEN defaults to `127.0.0.1:5353` (UDP and TCP), UPSTREAM to `static:192.0.2.10`.
//! The block page address is 192.0.2.80. Stops on Ctrl-C and prints the counters.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use gatehouse_dns::{DnsConfig, DnsServer, NoIdentitySource, Upstream};
use gatehouse_filter::{
    CompileOptions, Database, Engine, EngineConfig, EngineHandle, ListFormat, Source, compile,
};

#[tokio::main]
async fn main() {
    let listen: SocketAddr = std::env::args()
        .nth(1)
        .map_or("127.0.0.1:5353".to_owned(), |s| s)
        .parse()
        .expect("LISTEN must be IP:PORT");
    let upstream = Upstream::parse(
        &std::env::args()
            .nth(2)
            .unwrap_or_else(|| "static:192.0.2.10".to_owned()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sources = Vec::new();
    for (cat, name) in [("gambling", "bet.example"), ("chat", "chat.example")] {
        let path = dir.path().join(cat);
        std::fs::write(&path, format!("{name}\n")).unwrap();
        sources.push(Source::List {
            category: cat.into(),
            format: ListFormat::Domains,
            path,
        });
    }
    let out = dir.path().join("f.ghf");
    compile(
        &sources,
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
    let config = DnsConfig {
        udp: vec![listen],
        tcp: vec![listen],
        upstream,
        block_address_v4: Some(Ipv4Addr::new(192, 0, 2, 80)),
        ..DnsConfig::default()
    };
    let (handle, mut events) = DnsServer::start(
        config,
        Arc::new(EngineHandle::new(engine)),
        Arc::new(NoIdentitySource),
    )
    .await
    .unwrap();
    println!(
        "listening on udp {:?} tcp {:?}",
        handle.udp_addrs(),
        handle.tcp_addrs()
    );
    let log = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            println!(
                "{} {} {} {} -> {:?} {} {} {:?}us",
                e.client,
                e.group,
                e.qname,
                e.qtype,
                e.action,
                e.rule,
                e.rcode,
                e.upstream_latency_us
            );
        }
    });
    tokio::signal::ctrl_c().await.unwrap();
    println!("{:?}", handle.stats());
    handle.shutdown().await;
    let _ = log.await;
}
