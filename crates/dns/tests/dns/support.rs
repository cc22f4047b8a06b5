//! Test support: a small filter engine, a scriptable upstream DNS server on 127.0.0.1,
//! and a DNS client over real sockets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_dns::{DnsConfig, DnsHandle, DnsServer, EventReceiver, IdentitySource, Upstream};
use gatehouse_filter::{
    CompileOptions, Database, Engine, EngineConfig, EngineHandle, ListFormat, Source, compile,
};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Long enough for any answer on a loaded machine; only reached when a test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Listed names of the test database (list category → names).
pub const LISTS: &[(&str, &str)] = &[
    ("gambling", "bet.example\n"),
    ("chat", "chat.example\n"),
    ("adult", "porn.example\n"),
    ("publicite", "ads.example\n"),
];

/// An engine over [`LISTS`] with the default UK policies.
pub fn engine() -> Arc<EngineHandle> {
    engine_with(&EngineConfig::uk_default().unwrap())
}

/// An engine over [`LISTS`] with `config`.
pub fn engine_with(config: &EngineConfig) -> Arc<EngineHandle> {
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
    let engine = Engine::new(Arc::new(db), config).unwrap();
    Arc::new(EngineHandle::new(engine))
}

/// The block page address used by the tests.
pub const BLOCK_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);
/// The static upstream address used by the tests.
pub const STATIC_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// A configuration listening on 127.0.0.1 port 0 with the static upstream, no rate limit.
pub fn config() -> DnsConfig {
    let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    DnsConfig {
        udp: vec![local],
        tcp: vec![local],
        upstream: Upstream::Static(IpAddr::V4(STATIC_V4)),
        block_address_v4: Some(BLOCK_V4),
        block_address_v6: Some("2001:db8::80".parse().unwrap()),
        timeout_ms: 2000,
        rate_limit: gatehouse_dns::RateLimit {
            per_second: 0.0,
            ..Default::default()
        },
        ..DnsConfig::default()
    }
}

/// Start a server with `config`, the test engine and `identity`.
pub async fn start_with(
    config: DnsConfig,
    identity: Arc<dyn IdentitySource>,
) -> (DnsHandle, EventReceiver) {
    DnsServer::start(config, engine(), identity).await.unwrap()
}

/// Start a server with `config`, the test engine and no identity source.
pub async fn start(config: DnsConfig) -> (DnsHandle, EventReceiver) {
    start_with(config, Arc::new(gatehouse_dns::NoIdentitySource)).await
}

/// Encode a query for `name`/`rtype` with id `id`.
pub fn query_bytes(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    m.to_vec().unwrap()
}

/// Send raw bytes over UDP and wait for the reply with message id `id`.
pub async fn udp_raw(server: SocketAddr, packet: &[u8], id: u16) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(packet, server).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    tokio::time::timeout(WAIT, async {
        loop {
            let (n, _) = sock.recv_from(&mut buf).await.unwrap();
            if let Ok(m) = Message::from_vec(&buf[..n])
                && m.metadata.id == id
            {
                return m;
            }
        }
    })
    .await
    .expect("no reply")
}

/// Ask `name`/`rtype` over UDP.
pub async fn udp(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let id = rand_id();
    udp_raw(server, &query_bytes(id, name, rtype), id).await
}

/// Ask `name`/`rtype` over TCP.
pub async fn tcp(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let id = rand_id();
    let packet = query_bytes(id, name, rtype);
    tokio::time::timeout(WAIT, async {
        let mut s = TcpStream::connect(server).await.unwrap();
        s.write_all(&(packet.len() as u16).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&packet).await.unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).await.unwrap();
        let m = Message::from_vec(&buf).unwrap();
        assert_eq!(m.metadata.id, id);
        m
    })
    .await
    .expect("no tcp reply")
}

fn rand_id() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    (NEXT.fetch_add(7919, Ordering::Relaxed) % 65_000) as u16 + 1
}

/// The A addresses of an answer.
pub fn a_records(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// The CNAME targets of an answer (no trailing dot).
pub fn cnames(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii().trim_end_matches('.').to_owned()),
            _ => None,
        })
        .collect()
}

/// How the test upstream answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answer from [`zone`].
    Answer,
    /// Answer over UDP with TC set and no records; over TCP from [`zone`].
    TruncateUdp,
    /// Never answer.
    Silent,
    /// Answer SERVFAIL.
    ServFail,
    /// Answer from [`zone`] once [`TestUpstream::open_gate`] is called.
    Gated,
    /// First send a forged reply (wrong id, other address record), then the real one.
    ForgeFirst,
}

/// A scriptable upstream DNS server on 127.0.0.1 (UDP and TCP on the same port).
pub struct TestUpstream {
    pub addr: SocketAddr,
    pub udp_queries: Arc<AtomicUsize>,
    pub tcp_queries: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    gate: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The test upstream's zone: `cdn.example` → CNAME `bet.example`; `www.cdn-ok.example`
/// → CNAME `edge.cdn-ok.example` → A; `many.example` → 100 A records; `www.chatcdn.example` → CNAME `chat.example`; `nx.example` → NXDOMAIN with an SOA; anything
/// else A 198.51.100.X (X = name length) for A queries and NODATA with an SOA otherwise.
pub fn zone(q: &Message) -> Message {
    let mut r = Message::response(q.metadata.id, OpCode::Query);
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.metadata.recursion_available = true;
    let Some(query) = q.queries.first() else {
        r.metadata.response_code = ResponseCode::FormErr;
        return r;
    };
    r.add_query(query.clone());
    let name = query.name().clone();
    let lname = name.to_ascii().to_ascii_lowercase();
    let soa = || {
        Record::from_rdata(
            Name::from_ascii("example.").unwrap(),
            300,
            RData::SOA(SOA::new(
                Name::from_ascii("ns.example.").unwrap(),
                Name::from_ascii("admin.example.").unwrap(),
                1,
                3600,
                600,
                86400,
                120,
            )),
        )
    };
    let a = |n: &Name| {
        Record::from_rdata(
            n.clone(),
            300,
            RData::A(A(Ipv4Addr::new(198, 51, 100, n.to_ascii().len() as u8))),
        )
    };
    let cname = |from: &Name, to: &str| {
        Record::from_rdata(
            from.clone(),
            300,
            RData::CNAME(CNAME(Name::from_ascii(to).unwrap())),
        )
    };
    match lname.as_str() {
        "nx.example." => {
            r.metadata.response_code = ResponseCode::NXDomain;
            r.add_authority(soa());
        }
        "many.example." => {
            for i in 0..100u8 {
                r.add_answer(Record::from_rdata(
                    name.clone(),
                    300,
                    RData::A(A(Ipv4Addr::new(198, 51, 100, i))),
                ));
            }
        }
        "cdn.example." => {
            r.add_answer(cname(&name, "bet.example."));
            r.add_answer(a(&Name::from_ascii("bet.example.").unwrap()));
        }
        "www.chatcdn.example." => {
            r.add_answer(cname(&name, "chat.example."));
            r.add_answer(a(&Name::from_ascii("chat.example.").unwrap()));
        }
        "www.cdn-ok.example." => {
            r.add_answer(cname(&name, "edge.cdn-ok.example."));
            r.add_answer(a(&Name::from_ascii("edge.cdn-ok.example.").unwrap()));
        }
        _ if query.query_type() == RecordType::A => {
            r.add_answer(a(&name));
        }
        _ => {
            r.add_authority(soa());
        }
    }
    r
}

impl TestUpstream {
    /// Start on 127.0.0.1 with a free port.
    pub async fn start(mode: Mode) -> TestUpstream {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let (stop, rx) = watch::channel(false);
        let (gate, gate_rx) = watch::channel(false);
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        {
            let mut rx = rx.clone();
            let count = udp_queries.clone();
            let udp = Arc::new(udp);
            tasks.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    tokio::select! {
                        _ = rx.changed() => return,
                        r = udp.recv_from(&mut buf) => {
                            let Ok((n, peer)) = r else { continue };
                            count.fetch_add(1, Ordering::SeqCst);
                            let Ok(q) = Message::from_vec(&buf[..n]) else { continue };
                            let reply = match mode {
                                Mode::Silent => continue,
                                Mode::Answer => zone(&q),
                                Mode::Gated => {
                                    let (udp, mut gate) = (udp.clone(), gate_rx.clone());
                                    tokio::spawn(async move {
                                        let _ = gate.wait_for(|open| *open).await;
                                        let _ = udp.send_to(&zone(&q).to_vec().unwrap(), peer).await;
                                    });
                                    continue;
                                }
                                Mode::ServFail => {
                                    let mut r = zone(&q);
                                    r.answers.clear();
                                    r.authorities.clear();
                                    r.metadata.response_code = ResponseCode::ServFail;
                                    r
                                }
                                Mode::ForgeFirst => {
                                    let mut forged = zone(&q);
                                    forged.metadata.id = q.metadata.id.wrapping_add(1);
                                    forged.answers.clear();
                                    forged.add_answer(Record::from_rdata(
                                        q.queries[0].name().clone(),
                                        300,
                                        RData::A(A(Ipv4Addr::new(203, 0, 113, 66))),
                                    ));
                                    let _ = udp.send_to(&forged.to_vec().unwrap(), peer).await;
                                    zone(&q)
                                }
                                Mode::TruncateUdp => {
                                    let mut r = zone(&q);
                                    r.answers.clear();
                                    r.authorities.clear();
                                    r.metadata.truncation = true;
                                    r
                                }
                            };
                            let _ = udp.send_to(&reply.to_vec().unwrap(), peer).await;
                        }
                    }
                }
            }));
        }
        {
            let mut rx = rx.clone();
            let count = tcp_queries.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = rx.changed() => return,
                        r = tcp.accept() => {
                            let Ok((mut s, _)) = r else { continue };
                            let count = count.clone();
                            tokio::spawn(async move {
                                let mut len = [0u8; 2];
                                if s.read_exact(&mut len).await.is_err() { return; }
                                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                                if s.read_exact(&mut buf).await.is_err() { return; }
                                count.fetch_add(1, Ordering::SeqCst);
                                let Ok(q) = Message::from_vec(&buf) else { return };
                                if mode == Mode::Silent { return; }
                                let reply = zone(&q).to_vec().unwrap();
                                let _ = s.write_all(&(reply.len() as u16).to_be_bytes()).await;
                                let _ = s.write_all(&reply).await;
                            });
                        }
                    }
                }
            }));
        }
        TestUpstream {
            addr,
            udp_queries,
            tcp_queries,
            stop,
            gate,
            tasks,
        }
    }

    /// Let [`Mode::Gated`] answers go.
    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// Queries received over UDP so far.
    pub fn udp_count(&self) -> usize {
        self.udp_queries.load(Ordering::SeqCst)
    }

    /// Queries received over TCP so far.
    pub fn tcp_count(&self) -> usize {
        self.tcp_queries.load(Ordering::SeqCst)
    }

    /// Stop and wait for the sockets to close.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// A forwarding configuration to `upstreams`.
pub fn forward_config(upstreams: &[SocketAddr]) -> DnsConfig {
    DnsConfig {
        upstream: Upstream::Forward(upstreams.to_vec()),
        ..config()
    }
}

/// `DNSClass` re-exported for tests that send other classes.
pub type Class = DNSClass;
