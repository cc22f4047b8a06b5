//! The answer cache: upstream answers keyed by question, kept for their TTL.
//!
//! Positive answers live for their smallest answer TTL, negative ones (NXDOMAIN, NODATA)
//! for the SOA's TTL or MINIMUM, whichever is smaller (RFC 2308); see
//! [`UpstreamMessage::cache_ttl`]. The cache is a `HashMap` behind a mutex with a size
//! cap: when full, expired entries are removed first, then an arbitrary eighth.
//! Decisions are never cached: a cached answer is checked again for every client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::wire::{Question, UpstreamMessage};

#[derive(Debug)]
struct Entry {
    message: Arc<UpstreamMessage>,
    stored: Instant,
    expires: Instant,
}

/// A bounded TTL cache.
#[derive(Debug)]
pub struct Cache {
    capacity: usize,
    map: Mutex<HashMap<Question, Entry>>,
}

impl Cache {
    /// A cache of at most `capacity` answers (0: caches nothing).
    pub fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The cached answer for `q` and its age in whole seconds.
    pub fn get(&self, q: &Question, now: Instant) -> Option<(Arc<UpstreamMessage>, u32)> {
        if self.capacity == 0 {
            return None;
        }
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(q) {
            Some(e) if e.expires > now => {
                let age = now.saturating_duration_since(e.stored).as_secs();
                Some((e.message.clone(), u32::try_from(age).unwrap_or(u32::MAX)))
            }
            Some(_) => {
                map.remove(q);
                None
            }
            None => None,
        }
    }

    /// Keep `message` for `q` if it may be cached.
    pub fn insert(&self, q: &Question, message: Arc<UpstreamMessage>, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        let Some(ttl) = message.cache_ttl() else {
            return;
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity && !map.contains_key(q) {
            map.retain(|_, e| e.expires > now);
            if map.len() >= self.capacity {
                let excess = (self.capacity / 8).max(1);
                let victims: Vec<Question> = map.keys().take(excess).cloned().collect();
                for k in victims {
                    map.remove(&k);
                }
            }
        }
        map.insert(
            q.clone(),
            Entry {
                message,
                stored: now,
                expires: now + Duration::from_secs(u64::from(ttl)),
            },
        );
    }

    /// Number of entries (expired ones included until they are touched).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wire::{Rcode, rtype, test_message};

    fn q(name: &str) -> Question {
        Question::new(name, rtype::A)
    }

    #[test]
    fn entries_expire_after_their_ttl_and_report_their_age() {
        let c = Cache::new(10);
        let t0 = Instant::now();
        c.insert(
            &q("a.example"),
            Arc::new(test_message("a.example", Rcode::NoError, &[60], None)),
            t0,
        );
        c.insert(
            &q("nx.example"),
            Arc::new(test_message(
                "nx.example",
                Rcode::NxDomain,
                &[],
                Some((300, 30)),
            )),
            t0,
        );
        c.insert(
            &q("nosoa.example"),
            Arc::new(test_message("nosoa.example", Rcode::NxDomain, &[], None)),
            t0,
        );
        let (_, age) = c
            .get(&q("a.example"), t0 + Duration::from_secs(59))
            .unwrap();
        assert_eq!(age, 59);
        assert!(
            c.get(&q("a.example"), t0 + Duration::from_secs(60))
                .is_none()
        );
        assert!(
            c.get(&q("nx.example"), t0 + Duration::from_secs(29))
                .is_some()
        );
        assert!(
            c.get(&q("nx.example"), t0 + Duration::from_secs(30))
                .is_none()
        );
        assert!(
            c.get(&q("nosoa.example"), t0).is_none(),
            "negative answer without SOA not cached"
        );
    }

    #[test]
    fn size_is_bounded() {
        let c = Cache::new(16);
        let t0 = Instant::now();
        for i in 0..100 {
            let name = format!("n{i}.example");
            c.insert(
                &q(&name),
                Arc::new(test_message(&name, Rcode::NoError, &[60], None)),
                t0,
            );
            assert!(c.len() <= 16);
        }
        assert!(
            c.get(&q("n99.example"), t0).is_some(),
            "the newest entry is kept"
        );
        assert!(Cache::new(0).get(&q("n99.example"), t0).is_none());
    }
}
