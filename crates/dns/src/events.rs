//! Activity events and counters.
//!
//! Every decision produces one [`ActivityEvent`], offered to a bounded queue with
//! `try_send`: the DNS path never waits for the consumer (the activity log writer). When
//! the queue is full the event is dropped and counted in [`DnsStats::events_dropped`].

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_filter::Action;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::identity::IdentifiedBy;
use crate::wire::Rcode;

/// How a query arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// DNS over UDP.
    Udp,
    /// DNS over TCP.
    Tcp,
    /// DNS over HTTPS (handled by another listener through [`crate::DnsService`]).
    Https,
}

impl std::fmt::Display for Transport {
    /// `udp`, `tcp` or `https`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Https => "https",
        })
    }
}

/// One filtering decision, for the activity log.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEvent {
    /// When the query was decided (the instant the policy was evaluated at).
    pub time: Timestamp,
    /// The client's address.
    pub client: IpAddr,
    /// The person, when identified.
    pub person: Option<String>,
    /// The group whose policy applied.
    pub group: String,
    /// Which step identified the client.
    pub identified_by: IdentifiedBy,
    /// The queried name (lower-case, no trailing dot).
    pub qname: String,
    /// The record type (`A`, `AAAA`, `HTTPS`, ...).
    pub qtype: String,
    /// The Gatehouse category involved, if any.
    pub category: Option<String>,
    /// What the policy decided.
    pub action: Action,
    /// The rule that decided (compact form, e.g. `policy:ks2/gambling`).
    pub rule: String,
    /// The listed name that matched.
    pub matched_list: Option<String>,
    /// When the decision was made on a CNAME target of the upstream answer, that target.
    pub cname: Option<String>,
    /// The response code sent.
    pub rcode: Rcode,
    /// Time spent waiting for upstream resolvers, in microseconds (`None` when no
    /// upstream was asked: cache hit, block, static upstream).
    pub upstream_latency_us: Option<u64>,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// How the query arrived.
    pub transport: Transport,
    /// The registered device that asked (DNS over HTTPS with a device token), by name.
    pub device: Option<String>,
}

/// The consumer side of the event queue.
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<ActivityEvent>,
}

impl EventReceiver {
    pub(crate) fn new(rx: mpsc::Receiver<ActivityEvent>) -> EventReceiver {
        EventReceiver { rx }
    }

    /// The next event; `None` once the server has stopped and the queue is empty.
    pub async fn recv(&mut self) -> Option<ActivityEvent> {
        self.rx.recv().await
    }

    /// Up to `max` events already queued, without waiting (for batched writes).
    pub fn drain(&mut self, max: usize) -> Vec<ActivityEvent> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.rx.try_recv() {
                Ok(e) => out.push(e),
                Err(_) => break,
            }
        }
        out
    }

    /// Wait for at least one event, then take up to `max` (`None` once the server has
    /// stopped and the queue is empty).
    pub async fn recv_batch(&mut self, max: usize) -> Option<Vec<ActivityEvent>> {
        let mut out = Vec::new();
        (self.recv_many(&mut out, max.max(1)).await > 0).then_some(out)
    }

    /// Wait for at least one event, then append up to `max` to `buf` (no batch of its own
    /// is allocated); returns how many, 0 once the server has stopped and the queue is
    /// empty (or when `max` is 0). Cancel-safe: no event is lost if the future is dropped.
    pub async fn recv_many(&mut self, buf: &mut Vec<ActivityEvent>, max: usize) -> usize {
        self.rx.recv_many(buf, max).await
    }

    /// The underlying tokio receiver.
    pub fn into_inner(self) -> mpsc::Receiver<ActivityEvent> {
        self.rx
    }
}

/// Live counters (see [`DnsStats`] for their meaning).
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) packets: AtomicU64,
    pub(crate) answered: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) unsupported: AtomicU64,
    pub(crate) overloaded: AtomicU64,
    pub(crate) blocked: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) upstream_queries: AtomicU64,
    pub(crate) upstream_failures: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DnsStats {
    /// Packets received (UDP datagrams, TCP messages, DoH requests).
    pub packets: u64,
    /// Queries answered after a decision (allowed, blocked, rewritten, SERVFAIL).
    pub answered: u64,
    /// Packets from clients outside the served subnets.
    pub refused: u64,
    /// Packets over a client's rate limit.
    pub rate_limited: u64,
    /// Packets that were not valid queries (dropped or answered FORMERR).
    pub malformed: u64,
    /// Queries with an unsupported opcode, class or type (NOTIMP or REFUSED).
    pub unsupported: u64,
    /// Packets dropped because too many queries were in flight.
    pub overloaded: u64,
    /// Queries answered with a block answer.
    pub blocked: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
    /// Answers served from the cache.
    pub cache_hits: u64,
    /// Queries that waited for an identical query already sent upstream.
    pub coalesced: u64,
    /// Queries sent to upstream resolvers (each attempt counts).
    pub upstream_queries: u64,
    /// Queries no upstream answered (SERVFAIL sent).
    pub upstream_failures: u64,
}

impl Counters {
    /// Read every counter.
    pub fn snapshot(&self) -> DnsStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DnsStats {
            packets: r(&self.packets),
            answered: r(&self.answered),
            refused: r(&self.refused),
            rate_limited: r(&self.rate_limited),
            malformed: r(&self.malformed),
            unsupported: r(&self.unsupported),
            overloaded: r(&self.overloaded),
            blocked: r(&self.blocked),
            events_dropped: r(&self.events_dropped),
            cache_hits: r(&self.cache_hits),
            coalesced: r(&self.coalesced),
            upstream_queries: r(&self.upstream_queries),
            upstream_failures: r(&self.upstream_failures),
        }
    }
}
