//! Configuration of the DNS server (the `[dns]` section of the Gatehouse TOML file).
//!
//! Every key has a default, so an empty `[dns]` section is valid. See `docs/dns.md` for
//! the meaning of each key.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Errors of the DNS configuration and server start.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A configuration value is wrong.
    #[error("dns configuration: {0}")]
    Config(String),
    /// An `upstream` value is wrong.
    #[error("dns upstream {input:?}: {reason}")]
    Upstream {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A listening socket could not be opened.
    #[error("dns: cannot listen on {transport} {addr}: {source}")]
    Bind {
        /// `udp` or `tcp`.
        transport: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Where allowed queries are answered from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "UpstreamSpec", into = "String")]
pub enum Upstream {
    /// Answer every allowed A query (or AAAA, for an IPv6 address) with this address and
    /// every other query with NODATA; for benchmarks and tests.
    Static(IpAddr),
    /// Forward to these resolvers, in order (fail-over on timeout or SERVFAIL).
    Forward(Vec<SocketAddr>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UpstreamSpec {
    One(String),
    Many(Vec<String>),
}

impl TryFrom<UpstreamSpec> for Upstream {
    type Error = DnsError;

    fn try_from(spec: UpstreamSpec) -> Result<Upstream, DnsError> {
        match spec {
            UpstreamSpec::One(s) => Upstream::parse(&s),
            UpstreamSpec::Many(list) => Upstream::parse(&list.join(",")),
        }
    }
}

impl From<Upstream> for String {
    fn from(u: Upstream) -> String {
        match u {
            Upstream::Static(ip) => format!("static:{ip}"),
            Upstream::Forward(list) => list
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl Upstream {
    /// Parse `static:ADDR` or a comma-separated list of `IP:PORT` resolvers (`IP` alone
    /// means port 53; IPv6 with a port is written `[2001:db8::1]:53`).
    pub fn parse(input: &str) -> Result<Upstream, DnsError> {
        let err = |reason: &str| DnsError::Upstream {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let s = input.trim();
        if let Some(addr) = s.strip_prefix("static:") {
            let ip: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| err("after `static:` an IPv4 or IPv6 address is expected"))?;
            return Ok(Upstream::Static(ip));
        }
        let mut servers = Vec::new();
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let addr = part
                .parse::<SocketAddr>()
                .or_else(|_| part.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    err(&format!(
                        "{part:?} is not a resolver address (expected IP:PORT, e.g. 1.1.1.1:53, or static:ADDR)"
                    ))
                })?;
            if addr.port() == 0 {
                return Err(err(&format!("{part:?}: port 0")));
            }
            servers.push(addr);
        }
        if servers.is_empty() {
            return Err(err("no resolver given"));
        }
        Ok(Upstream::Forward(servers))
    }
}

/// How a blocked name is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockMode {
    /// A/AAAA answered with the block page address, other types with NODATA.
    BlockPage,
    /// NXDOMAIN for every type.
    Nxdomain,
}

/// What happens to queries over a client's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitAction {
    /// Answer REFUSED.
    Refuse,
    /// Send nothing.
    Drop,
}

/// Per-client token bucket.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained queries per second per client IP; 0 turns the limit off.
    pub per_second: f64,
    /// Bucket size: queries a client may send at once.
    pub burst: u32,
    /// What to do with queries over the limit.
    pub action: LimitAction,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            per_second: 50.0,
            burst: 200,
            action: LimitAction::Refuse,
        }
    }
}

/// A static binding: clients in `subnet` get the policy of `group`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// A name for logs, e.g. `Staff VLAN`.
    #[serde(default)]
    pub name: String,
    /// The subnet, e.g. `10.0.1.0/24`.
    pub subnet: IpNet,
    /// The group policy, e.g. `staff`.
    pub group: String,
}

/// Queries at or under `zone` go to `upstream` instead of the default (e.g. the school's
/// Active Directory domain, or a reverse zone of its own network).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardZone {
    /// The zone, e.g. `school.internal` or `10.in-addr.arpa`.
    pub zone: String,
    /// Where its queries go.
    pub upstream: Upstream,
}

/// The `[dns]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// UDP listening addresses (port 0: any free port).
    pub udp: Vec<SocketAddr>,
    /// TCP listening addresses.
    pub tcp: Vec<SocketAddr>,
    /// Where allowed queries go.
    pub upstream: Upstream,
    /// Zones forwarded to their own resolvers (the most specific zone wins).
    pub forward_zones: Vec<ForwardZone>,
    /// Answer reverse lookups of private and local addresses (RFC 6303 zones) with
    /// NXDOMAIN instead of sending them upstream, unless a forward zone covers them.
    pub private_reverse_nxdomain: bool,
    /// Answer NXDOMAIN for the names that tell browsers and devices the network filters
    /// (Firefox's `use-application-dns.net`, iCloud Private Relay's `mask.icloud.com`
    /// and `mask-h2.icloud.com`), so they keep using this server.
    pub doh_canary: bool,
    /// Only clients in these subnets are served; everyone else gets REFUSED.
    pub allowed_subnets: Vec<IpNet>,
    /// Static subnet → group bindings (the most specific subnet wins).
    pub bindings: Vec<Binding>,
    /// The group of clients nobody identified.
    pub unidentified_group: String,
    /// Block page address answered to A queries for blocked names.
    pub block_address_v4: Option<Ipv4Addr>,
    /// Block page address answered to AAAA queries for blocked names.
    pub block_address_v6: Option<Ipv6Addr>,
    /// TTL of block answers, safe-search rewrites and static answers (seconds).
    pub block_ttl: u32,
    /// How blocked names are answered unless `block_modes` names their category.
    pub default_block_mode: BlockMode,
    /// Gatehouse category → block mode, e.g. `advertising = "nxdomain"`.
    pub block_modes: HashMap<String, BlockMode>,
    /// Per-client rate limit.
    pub rate_limit: RateLimit,
    /// Time to wait for one upstream (milliseconds) before trying the next.
    pub timeout_ms: u64,
    /// Most answers kept in the cache (0: no cache).
    pub cache_size: usize,
    /// Capacity of the activity event queue; events beyond it are dropped and counted.
    pub queue_capacity: usize,
    /// Most queries handled at once; packets beyond it are dropped and counted.
    pub max_in_flight: usize,
    /// Most TCP connections open at once.
    pub max_tcp_connections: usize,
    /// A TCP connection idle this long (milliseconds) is closed.
    pub tcp_idle_ms: u64,
}

impl Default for DnsConfig {
    fn default() -> DnsConfig {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 53);
        let nets = [
            "127.0.0.0/8",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "::1/128",
            "fc00::/7",
            "fe80::/10",
        ];
        DnsConfig {
            udp: vec![any],
            tcp: vec![any],
            upstream: Upstream::Forward(vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9)), 53),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)), 53),
            ]),
            forward_zones: Vec::new(),
            private_reverse_nxdomain: true,
            doh_canary: true,
            allowed_subnets: nets.iter().filter_map(|n| n.parse().ok()).collect(),
            bindings: Vec::new(),
            unidentified_group: "unidentified".to_owned(),
            block_address_v4: None,
            block_address_v6: None,
            block_ttl: 60,
            default_block_mode: BlockMode::BlockPage,
            block_modes: HashMap::new(),
            rate_limit: RateLimit::default(),
            timeout_ms: 2000,
            cache_size: 10_000,
            queue_capacity: 10_000,
            max_in_flight: 1024,
            max_tcp_connections: 256,
            tcp_idle_ms: 10_000,
        }
    }
}

impl DnsConfig {
    /// Check values that serde cannot.
    pub fn validate(&self) -> Result<(), DnsError> {
        let bad = |m: &str| Err(DnsError::Config(m.to_owned()));
        if self.udp.is_empty() && self.tcp.is_empty() {
            return bad("no `udp` or `tcp` listening address");
        }
        if self.timeout_ms == 0 {
            return bad("`timeout_ms` must be at least 1");
        }
        if self.queue_capacity == 0 {
            return bad("`queue_capacity` must be at least 1");
        }
        if self.max_in_flight == 0 || self.max_tcp_connections == 0 {
            return bad("`max_in_flight` and `max_tcp_connections` must be at least 1");
        }
        if !self.rate_limit.per_second.is_finite() || self.rate_limit.per_second < 0.0 {
            return bad("`rate_limit.per_second` must be a number >= 0");
        }
        if self.rate_limit.per_second > 0.0 && self.rate_limit.burst == 0 {
            return bad("`rate_limit.burst` must be at least 1");
        }
        if self.unidentified_group.trim().is_empty() {
            return bad("`unidentified_group` is empty");
        }
        if self.upstream == Upstream::Forward(Vec::new()) {
            return bad("`upstream` lists no resolver");
        }
        for z in &self.forward_zones {
            if z.upstream == Upstream::Forward(Vec::new()) {
                return Err(DnsError::Config(format!(
                    "forward zone {:?}: no resolver",
                    z.zone
                )));
            }
            let zone = z.zone.trim().trim_end_matches('.');
            if zone.is_empty() || zone.contains(char::is_whitespace) {
                return Err(DnsError::Config(format!(
                    "forward zone {:?}: not a domain name",
                    z.zone
                )));
            }
        }
        for b in &self.bindings {
            if b.group.trim().is_empty() {
                return Err(DnsError::Config(format!(
                    "binding {}: empty group",
                    b.subnet
                )));
            }
        }
        Ok(())
    }

    /// The per-upstream timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}
