//! The query path: one packet in, at most one packet out.
//!
//! [`DnsService::handle`] checks the client against the served subnets and its rate
//! limit, parses the query, finds who is asking, asks the filter engine, and answers
//! with a block answer, a safe-search rewrite or the (cached) upstream answer, whose
//! CNAME targets are decided too. Every decision sends one [`ActivityEvent`]. The
//! listeners ([`crate::server`]) and, later, a DoH endpoint call it.

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
use crate::limit::{RateLimiter, SubnetAcl};
use crate::upstream::Forwarder;
use crate::wire::{
    self, Parsed, Query, Question, Rcode, RejectReason, Reply, Rr, RrData, UpstreamMessage, rtype,
};

enum Resolver {
    Static(IpAddr),
    Forward(Forwarder),
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
    block_v4: Option<std::net::Ipv4Addr>,
    block_v6: Option<std::net::Ipv6Addr>,
    block_ttl: u32,
    default_mode: BlockMode,
    modes: HashMap<String, BlockMode>,
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
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let resolver = match &config.upstream {
            Upstream::Static(ip) => Resolver::Static(*ip),
            Upstream::Forward(list) => {
                Resolver::Forward(Forwarder::new(list.clone(), config.timeout()))
            }
        };
        let service = DnsService {
            engine,
            identity: IdentityResolver::new(identity, &config.bindings, &config.unidentified_group),
            acl: SubnetAcl::new(&config.allowed_subnets),
            limiter: RateLimiter::new(&config.rate_limit),
            limit_action: config.rate_limit.action,
            resolver,
            cache: Cache::new(config.cache_size),
            block_v4: config.block_address_v4,
            block_v6: config.block_address_v6,
            block_ttl: config.block_ttl,
            default_mode: config.default_block_mode,
            modes: config.block_modes.clone(),
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

    /// Answer one packet from `client`; `None` means send nothing. `max_size` limits the
    /// reply (over UDP the smaller of it and the client's EDNS size is used; a longer
    /// reply is truncated with the TC flag).
    pub async fn handle(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        self.handle_as(packet, client, transport, None).await
    }

    /// Like [`DnsService::handle`], but with the identity already known to the caller
    /// (e.g. a DoH endpoint that checked a device token): `Some` is used instead of the
    /// identity order. Subnet and rate-limit checks still apply to `client`.
    pub async fn handle_as(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
        known: Option<Identity>,
    ) -> Option<Vec<u8>> {
        let c = &self.counters;
        bump(&c.packets);
        if !self.acl.allows(client) {
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
        let (identity, identified_by) = match known {
            Some(id) => (id, IdentifiedBy::Caller),
            None => self.identity.resolve(client),
        };
        let engine = self.engine.load();
        let now = Timestamp::now();
        let decision = engine.decide(&identity, &query.question.name, now);

        let mut ev = Event {
            decision: &decision,
            cname: None,
            latency_us: None,
            cached: false,
        };
        let (reply_bytes, rcode) = if is_block(decision.action) {
            let reply = self.block_reply(&query, &decision);
            let rcode = reply_rcode(&reply);
            (wire::encode_reply(&query, &reply, max_size), rcode)
        } else if let Some(target) = &decision.safe_search {
            self.safe_search_reply(&query, target, max_size, &mut ev)
                .await
        } else {
            match self.resolve(&query.question, query.checking_disabled).await {
                Resolved::Records(records) => {
                    let reply = Reply::Local {
                        rcode: Rcode::NoError,
                        records,
                    };
                    (wire::encode_reply(&query, &reply, max_size), Rcode::NoError)
                }
                Resolved::Message {
                    message,
                    age,
                    latency_us,
                    cached,
                } => {
                    ev.latency_us = latency_us;
                    ev.cached = cached;
                    let blocked_cname = message.cname_targets().into_iter().find_map(|t| {
                        let d = engine.decide(&identity, &t, now);
                        is_block(d.action).then_some((t, d))
                    });
                    match blocked_cname {
                        Some((target, d)) => {
                            let reply = self.block_reply(&query, &d);
                            let rcode = reply_rcode(&reply);
                            let bytes = wire::encode_reply(&query, &reply, max_size);
                            return self.finish(
                                bytes,
                                rcode,
                                &query,
                                client,
                                transport,
                                &identity,
                                identified_by,
                                Event {
                                    decision: &d,
                                    cname: Some(target),
                                    ..ev
                                },
                            );
                        }
                        None => {
                            let reply = Reply::Upstream {
                                message: &message,
                                prefix: Vec::new(),
                                age,
                            };
                            (
                                wire::encode_reply(&query, &reply, max_size),
                                message.rcode(),
                            )
                        }
                    }
                }
                Resolved::Failed { latency_us } => {
                    ev.latency_us = latency_us;
                    bump(&c.upstream_failures);
                    let reply = Reply::Local {
                        rcode: Rcode::ServFail,
                        records: Vec::new(),
                    };
                    (
                        wire::encode_reply(&query, &reply, max_size),
                        Rcode::ServFail,
                    )
                }
            }
        };
        self.finish(
            reply_bytes,
            rcode,
            &query,
            client,
            transport,
            &identity,
            identified_by,
            ev,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        bytes: Option<Vec<u8>>,
        rcode: Rcode,
        query: &Query,
        client: IpAddr,
        transport: Transport,
        identity: &Identity,
        identified_by: IdentifiedBy,
        ev: Event<'_>,
    ) -> Option<Vec<u8>> {
        let c = &self.counters;
        if is_block(ev.decision.action) {
            bump(&c.blocked);
        }
        let event = ActivityEvent {
            time: Timestamp::now(),
            client: client.to_canonical(),
            person: identity.person.clone(),
            group: identity.group.clone(),
            identified_by,
            qname: query.question.name.clone(),
            qtype: wire::type_name(query.question.qtype),
            category: ev.decision.category.as_deref().map(str::to_owned),
            action: ev.decision.action,
            rule: ev.decision.rule.to_string(),
            matched_list: ev.decision.matched_list.clone(),
            cname: ev.cname,
            rcode,
            upstream_latency_us: ev.latency_us,
            cached: ev.cached,
            transport,
        };
        if self.events.try_send(event).is_err() {
            bump(&c.events_dropped);
        }
        if bytes.is_some() {
            bump(&c.answered);
        }
        bytes
    }

    /// The block answer for `decision`'s category.
    fn block_reply(&self, query: &Query, decision: &Decision) -> Reply<'static> {
        let mode = decision
            .category
            .as_deref()
            .and_then(|c| self.modes.get(c))
            .copied()
            .unwrap_or(self.default_mode);
        let name = &query.question.name;
        let records = match (mode, query.question.qtype) {
            (BlockMode::Nxdomain, _) => {
                return Reply::Local {
                    rcode: Rcode::NxDomain,
                    records: Vec::new(),
                };
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
        Reply::Local {
            rcode: Rcode::NoError,
            records,
        }
    }

    fn rr(&self, name: &str, data: RrData) -> Rr {
        Rr {
            name: name.to_owned(),
            ttl: self.block_ttl,
            data,
        }
    }

    async fn safe_search_reply(
        &self,
        query: &Query,
        target: &gatehouse_filter::SafeSearchTarget,
        max_size: usize,
        ev: &mut Event<'_>,
    ) -> (Option<Vec<u8>>, Rcode) {
        let name = &query.question.name;
        let local = |records: Vec<Rr>| {
            let reply = Reply::Local {
                rcode: Rcode::NoError,
                records,
            };
            (wire::encode_reply(query, &reply, max_size), Rcode::NoError)
        };
        match target.rrtype {
            RecordType::A => {
                let addr = target.target.parse::<std::net::Ipv4Addr>().ok();
                match (query.question.qtype, addr) {
                    (rtype::A, Some(a)) => local(vec![self.rr(name, RrData::A(a))]),
                    _ => local(Vec::new()),
                }
            }
            RecordType::Cname => {
                let host = target.target.trim_end_matches('.').to_ascii_lowercase();
                let cname = self.rr(name, RrData::Cname(host.clone()));
                if query.question.qtype == rtype::CNAME {
                    return local(vec![cname]);
                }
                let q = Question {
                    name: host.clone(),
                    qtype: query.question.qtype,
                    qclass: query.question.qclass,
                };
                match self.resolve(&q, query.checking_disabled).await {
                    Resolved::Records(records) => {
                        let mut all = vec![cname];
                        all.extend(records);
                        local(all)
                    }
                    Resolved::Message {
                        message,
                        age,
                        latency_us,
                        cached,
                    } => {
                        ev.latency_us = latency_us;
                        ev.cached = cached;
                        let reply = Reply::Upstream {
                            message: &message,
                            prefix: vec![cname],
                            age,
                        };
                        (wire::encode_reply(query, &reply, max_size), message.rcode())
                    }
                    Resolved::Failed { latency_us } => {
                        ev.latency_us = latency_us;
                        bump(&self.counters.upstream_failures);
                        let reply = Reply::Local {
                            rcode: Rcode::ServFail,
                            records: Vec::new(),
                        };
                        (wire::encode_reply(query, &reply, max_size), Rcode::ServFail)
                    }
                }
            }
        }
    }

    /// Resolve through the static address, the cache or the upstream resolvers.
    async fn resolve(&self, q: &Question, checking_disabled: bool) -> Resolved {
        let forwarder = match &self.resolver {
            Resolver::Static(ip) => {
                let data = match (q.qtype, ip) {
                    (rtype::A, IpAddr::V4(a)) => Some(RrData::A(*a)),
                    (rtype::AAAA, IpAddr::V6(a)) => Some(RrData::Aaaa(*a)),
                    _ => None,
                };
                return Resolved::Records(data.map(|d| self.rr(&q.name, d)).into_iter().collect());
            }
            Resolver::Forward(f) => f,
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
        let result = forwarder
            .resolve(q, checking_disabled, &self.counters.upstream_queries)
            .await;
        let latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        match result {
            Ok(m) => {
                let message = Arc::new(m);
                self.cache.insert(q, message.clone(), Instant::now());
                Resolved::Message {
                    message,
                    age: 0,
                    latency_us,
                    cached: false,
                }
            }
            Err(_) => Resolved::Failed { latency_us },
        }
    }

    /// Number of cached answers, for diagnostics.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }
}

/// Event fields gathered along the way.
struct Event<'a> {
    decision: &'a Decision,
    cname: Option<String>,
    latency_us: Option<u64>,
    cached: bool,
}

fn is_block(a: Action) -> bool {
    // A warning needs the block page too: it offers "continue anyway".
    matches!(a, Action::Block | Action::Warn)
}

fn reply_rcode(r: &Reply<'_>) -> Rcode {
    match r {
        Reply::Local { rcode, .. } => *rcode,
        Reply::Upstream { message, .. } => message.rcode(),
    }
}
