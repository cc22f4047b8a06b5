//! The query path: one packet in, at most one packet out.
//!
//! [`DnsService::handle`] checks the client against the served subnets and its rate
//! limit, parses the query, finds who is asking, answers the DoH canary names, asks the
//! filter engine, and answers with a block answer, a safe-search rewrite, NXDOMAIN for a
//! private reverse lookup, or the upstream answer (static, cached, or forwarded to the
//! default resolvers or a forward zone's, identical questions in flight coalesced),
//! whose CNAME targets are decided too. Every decision sends one [`ActivityEvent`]. The
//! listeners ([`crate::server`]) and the web server's DoH endpoint call it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use gatehouse_filter::{Action, Decision, EngineHandle, Identity, RecordType};
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::cache::Cache;
use crate::config::{BlockMode, DnsConfig, DnsError, LimitAction, Upstream};
use crate::events::{ActivityEvent, Counters, DnsStats, EventReceiver, Transport, bump};
use crate::identity::{IdentifiedBy, IdentityResolver, IdentitySource};
use crate::inflight::{self, InFlight, Role};
use crate::limit::{RateLimiter, SubnetAcl};
use crate::upstream::Forwarder;
use crate::wire::{
    self, Parsed, Query, Question, Rcode, RejectReason, Reply, Rr, RrData, UpstreamMessage, rtype,
};

/// Where answers for allowed names come from.
enum Backend {
    Static(IpAddr),
    Forward(Forwarder),
}

impl Backend {
    fn new(upstream: &Upstream, timeout: std::time::Duration) -> Backend {
        match upstream {
            Upstream::Static(ip) => Backend::Static(*ip),
            Upstream::Forward(list) => Backend::Forward(Forwarder::new(list.clone(), timeout)),
        }
    }
}

/// The default backend and the forward zones (most specific first).
struct Resolver {
    default: Backend,
    zones: Vec<(String, Backend)>,
}

impl Resolver {
    fn zone_of(&self, name: &str) -> Option<&Backend> {
        self.zones
            .iter()
            .find(|(zone, _)| in_zone(name, zone))
            .map(|(_, b)| b)
    }
}

/// Whether `name` is `zone` or under it (both lower-case, no trailing dot).
fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes().get(name.len() - zone.len() - 1) == Some(&b'.'))
}

/// Names that make browsers and devices keep using the network's resolver when they do
/// not exist.
const CANARY_NAMES: &[&str] = &[
    "use-application-dns.net",
    "mask.icloud.com",
    "mask-h2.icloud.com",
];

/// Reverse zones of private and local addresses (RFC 6303, plus shared address space).
fn is_private_reverse(name: &str) -> bool {
    let Some(rest) = name.strip_suffix(".in-addr.arpa") else {
        return name.ends_with(".ip6.arpa")
            && [
                "d.f.ip6.arpa",
                "8.e.f.ip6.arpa",
                "9.e.f.ip6.arpa",
                "a.e.f.ip6.arpa",
                "b.e.f.ip6.arpa",
            ]
            .iter()
            .any(|z| in_zone(name, z))
            || name == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa";
    };
    // Octets of the address, most significant first.
    let octets: Vec<u8> = rest.rsplit('.').map_while(|l| l.parse().ok()).collect();
    match octets.as_slice() {
        [10, ..] | [127, ..] | [0, ..] => true,
        [172, b, ..] => (16..=31).contains(b),
        [192, 168, ..] | [169, 254, ..] => true,
        [100, b, ..] => (64..=127).contains(b),
        _ => false,
    }
}

/// The DNS filter's query handler, shared by every listener.
pub struct DnsService {
    engine: Arc<EngineHandle>,
    identity: IdentityResolver,
    acl: SubnetAcl,
    limiter: RateLimiter,
    limit_action: LimitAction,
    resolver: Resolver,
    cache: Cache,
    inflight: InFlight,
    block_v4: Option<std::net::Ipv4Addr>,
    block_v6: Option<std::net::Ipv6Addr>,
    block_ttl: u32,
    default_mode: BlockMode,
    modes: HashMap<String, BlockMode>,
    private_reverse_nxdomain: bool,
    doh_canary: bool,
    events: mpsc::Sender<ActivityEvent>,
    counters: Counters,
}

impl std::fmt::Debug for DnsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsService")
            .field("identity", &self.identity)
            .field("acl", &self.acl)
            .finish_non_exhaustive()
    }
}

/// What the upstream step produced.
enum Resolved {
    Records(Vec<Rr>),
    Message {
        message: Arc<UpstreamMessage>,
        age: u32,
        latency_us: Option<u64>,
        cached: bool,
    },
    Failed {
        latency_us: Option<u64>,
    },
}

impl DnsService {
    /// Build the handler and the event queue from a validated configuration.
    pub fn new(
        config: &DnsConfig,
        engine: Arc<EngineHandle>,
        identity: Arc<dyn IdentitySource>,
    ) -> Result<(DnsService, EventReceiver), DnsError> {
        config.validate()?;
        let current = engine.load();
        let mut unknown: Vec<&str> = config
            .block_modes
            .keys()
            .map(String::as_str)
            .filter(|c| current.taxonomy().id(c).is_none())
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(DnsError::Config(format!(
                "`block_modes` names unknown categories: {}",
                unknown.join(", ")
            )));
        }
        drop(current);
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let mut zones: Vec<(String, Backend)> = config
            .forward_zones
            .iter()
            .map(|z| {
                let zone = z.zone.trim().trim_end_matches('.').to_ascii_lowercase();
                (zone, Backend::new(&z.upstream, config.timeout()))
            })
            .collect();
        zones.sort_by_key(|(z, _)| std::cmp::Reverse(z.len()));
        let resolver = Resolver {
            default: Backend::new(&config.upstream, config.timeout()),
            zones,
        };
        let service = DnsService {
            engine,
            identity: IdentityResolver::new(identity, &config.bindings, &config.unidentified_group),
            acl: SubnetAcl::new(&config.allowed_subnets),
            limiter: RateLimiter::new(&config.rate_limit),
            limit_action: config.rate_limit.action,
            resolver,
            cache: Cache::new(config.cache_size),
            inflight: InFlight::default(),
            block_v4: config.block_address_v4,
            block_v6: config.block_address_v6,
            block_ttl: config.block_ttl,
            default_mode: config.default_block_mode,
            modes: config.block_modes.clone(),
            private_reverse_nxdomain: config.private_reverse_nxdomain,
            doh_canary: config.doh_canary,
            events: tx,
            counters: Counters::default(),
        };
        Ok((service, EventReceiver::new(rx)))
    }

    /// The counters so far.
    pub fn stats(&self) -> DnsStats {
        self.counters.snapshot()
    }

    pub(crate) fn count_overloaded(&self) {
        bump(&self.counters.packets);
        bump(&self.counters.overloaded);
    }

    /// Answer one packet from `client`; `None` means send nothing. Over UDP the reply is
    /// at most 512 bytes, or the client's EDNS size up to 1232; a longer one is sent
    /// without records and with the TC flag. Over TCP and HTTPS it may be up to 65,535.
    pub async fn handle(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        self.handle_as(packet, client, transport, None).await
    }

    /// Who `client` is, in the documented order (the block page uses this to say for whom a
    /// name was blocked).
    pub fn identify(&self, client: IpAddr) -> (Identity, IdentifiedBy) {
        self.identity.resolve(client)
    }

    /// Like [`DnsService::handle`], but with the identity already known to the caller
    /// (e.g. a DoH endpoint that checked a device token): `Some` is used instead of the
    /// identity order, and since the caller authenticated the client, the served-subnet
    /// check is skipped (a device at home may use DoH); the rate limit still applies.
    pub async fn handle_as(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
        known: Option<Identity>,
    ) -> Option<Vec<u8>> {
        self.serve(packet, client, transport, known.map(|id| (id, None)))
            .await
    }

    /// Like [`DnsService::handle_as`] for a registered device (a DoH device token): the
    /// device's identity is used and the activity event names `device`.
    pub async fn handle_device(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
        identity: Identity,
        device: &str,
    ) -> Option<Vec<u8>> {
        self.serve(
            packet,
            client,
            transport,
            Some((identity, Some(device.to_owned()))),
        )
        .await
    }

    /// Whether `client` is in the served subnets. A client outside them is counted as a
    /// refused packet: for a DoH endpoint that turns away such a client itself.
    pub fn check_served(&self, client: IpAddr) -> bool {
        if self.acl.allows(client) {
            return true;
        }
        bump(&self.counters.packets);
        bump(&self.counters.refused);
        false
    }

    /// The group whose policy applies to clients nobody identified.
    pub fn unidentified_group(&self) -> &str {
        self.identity.unidentified_group()
    }

    async fn serve(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
        known: Option<(Identity, Option<String>)>,
    ) -> Option<Vec<u8>> {
        let c = &self.counters;
        bump(&c.packets);
        if known.is_none() && !self.acl.allows(client) {
            bump(&c.refused);
            return wire::error_reply_for(packet, Rcode::Refused);
        }
        if !self.limiter.check(client.to_canonical(), Instant::now()) {
            bump(&c.rate_limited);
            return match self.limit_action {
                LimitAction::Refuse => wire::error_reply_for(packet, Rcode::Refused),
                LimitAction::Drop => None,
            };
        }
        let query = match wire::parse_query(packet) {
            Parsed::Query(q) => q,
            Parsed::Reject { reason, reply } => {
                match reason {
                    RejectReason::Malformed => bump(&c.malformed),
                    RejectReason::Unsupported => bump(&c.unsupported),
                }
                return reply;
            }
            Parsed::Drop => {
                bump(&c.malformed);
                return None;
            }
        };
        let max_size = match transport {
            Transport::Udp => query.max_udp_reply(),
            Transport::Tcp | Transport::Https => usize::from(u16::MAX),
        };
        let (identity, identified_by, device) = match known {
            Some((id, device)) => (id, IdentifiedBy::Caller, device),
            None => {
                let (id, by) = self.identity.resolve(client);
                (id, by, None)
            }
        };
        let asker = Asker {
            client: client.to_canonical(),
            transport,
            identity,
            identified_by,
            device,
            time: Timestamp::now(),
        };
        let answered = self.answer(&query, &asker, max_size).await;
        self.finish(answered, &query, asker)
    }

    /// Decide and answer one parsed query.
    async fn answer(&self, query: &Query, asker: &Asker, max_size: usize) -> Answered {
        let identity = &asker.identity;
        let now = asker.time;
        let name = query.question.name.as_str();
        if self.doh_canary && CANARY_NAMES.contains(&name) {
            let verdict = Verdict {
                action: Action::Block,
                category: Some(Arc::from("circumvention")),
                rule: format!("canary:{name}"),
                matched_list: Some(name.to_owned()),
            };
            return self.local(query, Rcode::NxDomain, Vec::new(), verdict, max_size);
        }
        let engine = self.engine.load();
        let decision = engine.decide(identity, name, now);
        if is_block(decision.action) {
            return self.blocked(query, &decision, max_size);
        }
        let verdict = Verdict::from(&decision);
        if let Some(target) = &decision.safe_search {
            return self.safe_search(query, target, verdict, max_size).await;
        }
        if self.private_reverse_nxdomain
            && is_private_reverse(name)
            && self.resolver.zone_of(name).is_none()
        {
            return self.local(query, Rcode::NxDomain, Vec::new(), verdict, max_size);
        }
        let resolved = self.resolve(&query.question, query.checking_disabled).await;
        if let Resolved::Message {
            message,
            latency_us,
            cached,
            ..
        } = &resolved
        {
            let blocked_cname = message.cname_targets().into_iter().find_map(|t| {
                let d = engine.decide(identity, &t, now);
                is_block(d.action).then_some((t, d))
            });
            if let Some((target, d)) = blocked_cname {
                let mut a = self.blocked(query, &d, max_size);
                a.cname = Some(target);
                a.latency_us = *latency_us;
                a.cached = *cached;
                return a;
            }
        }
        self.answer_resolved(query, resolved, Vec::new(), verdict, max_size)
    }

    fn finish(&self, a: Answered, query: &Query, asker: Asker) -> Option<Vec<u8>> {
        let c = &self.counters;
        if is_block(a.verdict.action) {
            bump(&c.blocked);
        }
        let event = ActivityEvent {
            time: asker.time,
            client: asker.client,
            person: asker.identity.person,
            group: asker.identity.group,
            identified_by: asker.identified_by,
            qname: query.question.name.clone(),
            qtype: wire::type_name(query.question.qtype),
            category: a.verdict.category.as_deref().map(str::to_owned),
            action: a.verdict.action,
            rule: a.verdict.rule,
            matched_list: a.verdict.matched_list,
            cname: a.cname,
            rcode: a.rcode,
            upstream_latency_us: a.latency_us,
            cached: a.cached,
            transport: asker.transport,
            device: asker.device,
        };
        if self.events.try_send(event).is_err() {
            bump(&c.events_dropped);
        }
        if a.bytes.is_some() {
            bump(&c.answered);
        }
        a.bytes
    }

    fn local(
        &self,
        query: &Query,
        rcode: Rcode,
        records: Vec<Rr>,
        verdict: Verdict,
        max_size: usize,
    ) -> Answered {
        let reply = Reply::Local { rcode, records };
        Answered {
            bytes: wire::encode_reply(query, &reply, max_size),
            rcode,
            verdict,
            cname: None,
            latency_us: None,
            cached: false,
        }
    }

    /// The block answer for `decision`'s category.
    fn blocked(&self, query: &Query, decision: &Decision, max_size: usize) -> Answered {
        let verdict = Verdict::from(decision);
        let mode = decision
            .category
            .as_deref()
            .and_then(|c| self.modes.get(c))
            .copied()
            .unwrap_or(self.default_mode);
        let name = &query.question.name;
        let records = match (mode, query.question.qtype) {
            (BlockMode::Nxdomain, _) => {
                return self.local(query, Rcode::NxDomain, Vec::new(), verdict, max_size);
            }
            (BlockMode::BlockPage, rtype::A) => self
                .block_v4
                .map(|a| self.rr(name, RrData::A(a)))
                .into_iter()
                .collect(),
            (BlockMode::BlockPage, rtype::AAAA) => self
                .block_v6
                .map(|a| self.rr(name, RrData::Aaaa(a)))
                .into_iter()
                .collect(),
            (BlockMode::BlockPage, _) => Vec::new(),
        };
        self.local(query, Rcode::NoError, records, verdict, max_size)
    }

    fn rr(&self, name: &str, data: RrData) -> Rr {
        Rr {
            name: name.to_owned(),
            ttl: self.block_ttl,
            data,
        }
    }

    /// The safe-search rewrite: a CNAME to the enforcement host and that host's records,
    /// or the enforcement address.
    async fn safe_search(
        &self,
        query: &Query,
        target: &gatehouse_filter::SafeSearchTarget,
        verdict: Verdict,
        max_size: usize,
    ) -> Answered {
        let name = &query.question.name;
        match target.rrtype {
            RecordType::A => {
                let addr = target.target.parse::<std::net::Ipv4Addr>().ok();
                let records = match (query.question.qtype, addr) {
                    (rtype::A, Some(a)) => vec![self.rr(name, RrData::A(a))],
                    _ => Vec::new(),
                };
                self.local(query, Rcode::NoError, records, verdict, max_size)
            }
            RecordType::Cname => {
                let host = target.target.trim_end_matches('.').to_ascii_lowercase();
                let cname = self.rr(name, RrData::Cname(host.clone()));
                if query.question.qtype == rtype::CNAME {
                    return self.local(query, Rcode::NoError, vec![cname], verdict, max_size);
                }
                let q = Question {
                    name: host,
                    qtype: query.question.qtype,
                    qclass: query.question.qclass,
                };
                let resolved = self.resolve(&q, query.checking_disabled).await;
                self.answer_resolved(query, resolved, vec![cname], verdict, max_size)
            }
        }
    }

    /// Encode what the backend produced, after `prefix`.
    fn answer_resolved(
        &self,
        query: &Query,
        resolved: Resolved,
        prefix: Vec<Rr>,
        verdict: Verdict,
        max_size: usize,
    ) -> Answered {
        match resolved {
            Resolved::Records(records) => {
                let mut all = prefix;
                all.extend(records);
                self.local(query, Rcode::NoError, all, verdict, max_size)
            }
            Resolved::Message {
                message,
                age,
                latency_us,
                cached,
            } => {
                let reply = Reply::Upstream {
                    message: &message,
                    prefix,
                    age,
                };
                Answered {
                    bytes: wire::encode_reply(query, &reply, max_size),
                    rcode: message.rcode(),
                    verdict,
                    cname: None,
                    latency_us,
                    cached,
                }
            }
            Resolved::Failed { latency_us } => {
                bump(&self.counters.upstream_failures);
                let mut a = self.local(query, Rcode::ServFail, Vec::new(), verdict, max_size);
                a.latency_us = latency_us;
                a
            }
        }
    }

    /// Resolve through the static address, the cache or the upstream resolvers.
    async fn resolve(&self, q: &Question, checking_disabled: bool) -> Resolved {
        let backend = self
            .resolver
            .zone_of(&q.name)
            .unwrap_or(&self.resolver.default);
        let forwarder = match backend {
            Backend::Static(ip) => {
                let data = match (q.qtype, ip) {
                    (rtype::A, IpAddr::V4(a)) => Some(RrData::A(*a)),
                    (rtype::AAAA, IpAddr::V6(a)) => Some(RrData::Aaaa(*a)),
                    _ => None,
                };
                return Resolved::Records(data.map(|d| self.rr(&q.name, d)).into_iter().collect());
            }
            Backend::Forward(f) => f,
        };
        if let Some((message, age)) = self.cache.get(q, Instant::now()) {
            bump(&self.counters.cache_hits);
            return Resolved::Message {
                message,
                age,
                latency_us: None,
                cached: true,
            };
        }
        let started = Instant::now();
        let ask = || async {
            let r = forwarder
                .resolve(q, checking_disabled, &self.counters.upstream_queries)
                .await
                .ok()
                .map(Arc::new);
            if let Some(m) = &r {
                self.cache.insert(q, m.clone(), Instant::now());
            }
            r
        };
        let outcome = match self.inflight.join(q) {
            Role::Leader(leader) => {
                let r = ask().await;
                leader.finish(r.clone());
                r
            }
            Role::Follower(slot) => {
                bump(&self.counters.coalesced);
                match inflight::wait(slot).await {
                    Some(r) => r,
                    None => ask().await,
                }
            }
        };
        let latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        match outcome {
            Some(message) => Resolved::Message {
                message,
                age: 0,
                latency_us,
                cached: false,
            },
            None => Resolved::Failed { latency_us },
        }
    }

    /// Number of cached answers, for diagnostics.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }
}

/// Who asked, how and when (the decision's instant and the event's time).
struct Asker {
    client: IpAddr,
    transport: Transport,
    identity: Identity,
    identified_by: IdentifiedBy,
    device: Option<String>,
    time: Timestamp,
}

/// The decision as logged.
struct Verdict {
    action: Action,
    category: Option<Arc<str>>,
    rule: String,
    matched_list: Option<String>,
}

impl From<&Decision> for Verdict {
    fn from(d: &Decision) -> Verdict {
        Verdict {
            action: d.action,
            category: d.category.clone(),
            rule: if d.gated && d.rule != gatehouse_filter::Rule::Gate {
                format!("{}+gate_audit", d.rule)
            } else {
                d.rule.to_string()
            },
            matched_list: d.matched_list.clone(),
        }
    }
}

/// An encoded answer and what the activity event says about it.
struct Answered {
    bytes: Option<Vec<u8>>,
    rcode: Rcode,
    verdict: Verdict,
    cname: Option<String>,
    latency_us: Option<u64>,
    cached: bool,
}

fn is_block(a: Action) -> bool {
    // A warning needs the block page too: it offers "continue anyway".
    matches!(a, Action::Block | Action::Warn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_match_whole_labels() {
        assert!(in_zone("school.internal", "school.internal"));
        assert!(in_zone("dc1.school.internal", "school.internal"));
        assert!(!in_zone("myschool.internal", "school.internal"));
        assert!(!in_zone("internal", "school.internal"));
    }

    #[test]
    fn private_reverse_zones() {
        for n in [
            "1.0.0.10.in-addr.arpa",
            "10.in-addr.arpa",
            "5.4.20.172.in-addr.arpa",
            "1.1.168.192.in-addr.arpa",
            "1.0.254.169.in-addr.arpa",
            "1.0.64.100.in-addr.arpa",
            "1.0.0.127.in-addr.arpa",
            "a.b.c.d.f.ip6.arpa",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        ] {
            assert!(is_private_reverse(n), "{n}");
        }
        for n in [
            "1.1.1.1.in-addr.arpa",
            "5.4.32.172.in-addr.arpa",
            "1.0.128.100.in-addr.arpa",
            "8.8.8.8.in-addr.arpa",
            "1.0.0.2.ip6.arpa",
            "in-addr.arpa",
            "example.com",
        ] {
            assert!(!is_private_reverse(n), "{n}");
        }
    }
}
