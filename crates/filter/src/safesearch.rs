//! Safe-search enforcement by DNS rewrite, and search engines without safe search.
//!
//! [`SafeSearchMap`] holds the hostname → safe endpoint table. The shipped copy is
//! `data/safesearch_map.tsv` (derived from AdGuardHome's safe-search rules, GPL-3.0
//! repository; provenance and sources in `data/safesearch_README.txt`) plus Gatehouse's
//! additions in `data/safesearch_extra.tsv` (bare `google.com`, `youtube.com`, the
//! YouTube API hosts). Matching is by exact hostname: `www.google.co.uk` is rewritten,
//! `mail.google.com` is not. YouTube's target depends on the level: strict →
//! `restrict.youtube.com`, moderate → `restrictmoderate.youtube.com`.
//!
//! [`UnsafeSearchList`] is the list of search engines without enforceable safe search
//! (`data/search_engines_without_safesearch.txt`, HaGeZi 2022 snapshot, header kept),
//! matched by host suffix; policies with `block_unsafe_search` block them. An exact
//! safe-search rewrite (e.g. `www.ecosia.org`) takes precedence over this list.

use foldhash::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::name::normalise_domain;
use crate::policy::SafeSearchLevel;

/// The embedded safe-search map (a copy of `shared/data/safesearch/safesearch_map.tsv` from the project's shared data).
pub const SAFESEARCH_MAP: &str = include_str!("../data/safesearch_map.tsv");
/// Gatehouse additions to the map.
pub const SAFESEARCH_EXTRA: &str = include_str!("../data/safesearch_extra.tsv");
/// The embedded list of search engines without enforceable safe search.
pub const UNSAFE_SEARCH_ENGINES: &str =
    include_str!("../data/search_engines_without_safesearch.txt");

/// DNS record type of a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// Answer with a CNAME to the target host.
    Cname,
    /// Answer with an A record (the target is an IPv4 address).
    A,
}

/// Where a safe-search host is rewritten to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeSearchTarget {
    /// Engine name (`google`, `youtube`, `bing`, ...).
    pub engine: Arc<str>,
    /// Record type of the rewrite.
    pub rrtype: RecordType,
    /// Target host (CNAME) or address (A).
    pub target: Arc<str>,
}

/// Hostname → safe-search target (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SafeSearchMap {
    hosts: HashMap<String, SafeSearchTarget>,
}

impl SafeSearchMap {
    /// The shipped map plus additions.
    pub fn uk_default() -> Result<SafeSearchMap> {
        let mut m = SafeSearchMap::default();
        m.add_tsv(SAFESEARCH_MAP)?;
        m.add_tsv(SAFESEARCH_EXTRA)?;
        Ok(m)
    }

    /// Add the lines of a map (`engine\thostname\tCNAME|A\ttarget`; `#` comments).
    pub fn add_tsv(&mut self, text: &str) -> Result<()> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let bad = || Error::Policy(format!("safe-search map line {}: {line:?}", i + 1));
            let [engine, host, rr, target] = f.as_slice() else {
                return Err(bad());
            };
            let rrtype = match *rr {
                "CNAME" => RecordType::Cname,
                "A" => RecordType::A,
                _ => return Err(bad()),
            };
            let host = normalise_domain(host).map_err(|_| bad())?;
            self.hosts.insert(
                host.into_string(),
                SafeSearchTarget {
                    engine: Arc::from(*engine),
                    rrtype,
                    target: Arc::from(*target),
                },
            );
        }
        Ok(())
    }

    /// The rewrite for `host` (normalised) at `level`, if any.
    pub fn target(&self, host: &str, level: SafeSearchLevel) -> Option<SafeSearchTarget> {
        if level == SafeSearchLevel::Off {
            return None;
        }
        let t = self.hosts.get(host)?;
        if &*t.engine == "youtube" {
            let target = match level {
                SafeSearchLevel::Strict => "restrict.youtube.com",
                _ => "restrictmoderate.youtube.com",
            };
            return Some(SafeSearchTarget {
                engine: t.engine.clone(),
                rrtype: RecordType::Cname,
                target: Arc::from(target),
            });
        }
        Some(t.clone())
    }

    /// Number of hostnames.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

/// Search engines without enforceable safe search, by host suffix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsafeSearchList {
    suffixes: HashSet<String>,
}

impl UnsafeSearchList {
    /// The shipped list.
    pub fn uk_default() -> UnsafeSearchList {
        UnsafeSearchList::parse(UNSAFE_SEARCH_ENGINES)
    }

    /// Parse a plain domain list (`#` comments; invalid lines are skipped).
    pub fn parse(text: &str) -> UnsafeSearchList {
        let suffixes = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| normalise_domain(l).ok())
            .map(|d| d.into_string())
            .collect();
        UnsafeSearchList { suffixes }
    }

    /// The listed suffix of `host` (normalised), if any.
    pub fn matches<'h>(&self, host: &'h str) -> Option<&'h str> {
        crate::decide::listed_suffix(&self.suffixes, host)
    }

    /// Number of listed names.
    pub fn len(&self) -> usize {
        self.suffixes.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.suffixes.is_empty()
    }
}
