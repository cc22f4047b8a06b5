//! Who may ask and how often: the served-subnet list and the per-client token bucket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use ipnet::IpNet;

use crate::config::RateLimit;

/// The subnets whose clients are served.
#[derive(Debug, Clone)]
pub struct SubnetAcl {
    nets: Vec<IpNet>,
}

impl SubnetAcl {
    /// Serve exactly `nets` (an empty list serves nobody).
    pub fn new(nets: &[IpNet]) -> SubnetAcl {
        SubnetAcl {
            nets: nets.iter().map(IpNet::trunc).collect(),
        }
    }

    /// Whether `client` is served (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn allows(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        self.nets.iter().any(|n| n.contains(&client))
    }
}

/// Most clients tracked at once; beyond it, full buckets are forgotten.
const MAX_TRACKED: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter with the configured rate (`per_second` 0: no limit).
    pub fn new(config: &RateLimit) -> RateLimiter {
        RateLimiter {
            per_second: config.per_second,
            burst: f64::from(config.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `client` at `now`; `false` when the client is over its limit.
    pub fn check(&self, client: IpAddr, now: Instant) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(&client) {
            let refill = self.burst / self.per_second;
            map.retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < refill);
            if map.len() >= MAX_TRACKED {
                map.clear();
            }
        }
        let b = map.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::config::LimitAction;

    #[test]
    fn bucket_refills_at_the_configured_rate() {
        let l = RateLimiter::new(&RateLimit {
            per_second: 2.0,
            burst: 3,
            action: LimitAction::Refuse,
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.check(ip, t0)));
        assert!(!l.check(ip, t0));
        assert!(l.check(other, t0), "buckets are per client");
        assert!(l.check(ip, t0 + Duration::from_millis(500)));
        assert!(!l.check(ip, t0 + Duration::from_millis(500)));
    }

    #[test]
    fn acl_matches_subnets_only() {
        let acl = SubnetAcl::new(&["10.0.1.0/24".parse().unwrap()]);
        assert!(acl.allows("10.0.1.200".parse().unwrap()));
        assert!(acl.allows("::ffff:10.0.1.1".parse().unwrap()));
        assert!(!acl.allows("10.0.2.1".parse().unwrap()));
        assert!(!SubnetAcl::new(&[]).allows("127.0.0.1".parse().unwrap()));
    }
}
