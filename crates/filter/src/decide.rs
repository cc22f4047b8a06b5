//! The policy engine: what happens to one request.
//!
//! An [`Engine`] is built once from a [`Database`] and an [`EngineConfig`] (taxonomy,
//! policies, school lists, person overrides, safe-search tables); building validates every
//! name and resolves every database category set to Gatehouse categories
//! ([`SetTable`]). [`Engine::decide`] then costs one database lookup, one array index and a few
//! hash probes. [`EngineHandle`] swaps a rebuilt engine in atomically, so policy changes,
//! new overrides or a new database take effect at once without a restart.
//!
//! Measured (release, shared 2-core dev machine, whole UT1 database, 374 sets): building
//! an engine ~2.5 ms; one decision ~1 µs, most of it the database lookup.
//!
//! Precedence (highest first), each step tested in `tests/filter/policy.rs`:
//!
//! 1. **locked lists** (IWF `child_abuse`, CTIRU `terrorism`): always blocked;
//! 2. **person override** (active while `at < until`; most specific wins);
//! 3. **school deny list**;
//! 4. **school allow list**;
//! 5. **safe search** (exact hostname rewrite, unless the policy says `off`), then
//!    **search engines without safe search** (blocked if the policy says so);
//! 6. **category policy** (schedule rules first, then the policy's action per category;
//!    with several categories the most restrictive action wins, ties go to the more
//!    severe category);
//! 7. **default** action of the policy (host not listed, or only in unmapped categories).
//!
//! Outside term dates a policy with `outside_term` is replaced by the named policy. An
//! identity whose group has no policy gets the set's fallback policy. A host that is not
//! a valid name (nor an IP literal) is blocked with [`Rule::Invalid`]; an IP address is
//! looked up under its reverse-DNS name ([`crate::ip_entry_name`]), as lists store it. A URL
//! (`https://host/path`, or just `https://host/`) also matches the database's URL entries
//! ([`Database::url_match`]); their categories are added to the host's and `matched_list`
//! names the URL entry; paths are compared case-insensitively, with escapes of unreserved
//! characters decoded and repeated `/` collapsed ([`crate::normalise_url_path`]). A
//! listed name also has the categories of its listed parent domains (`a.example.com`
//! listed as `vpn` and `example.com` as `adult`: both apply).

use foldhash::{HashMap, HashSet};
use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::db::Database;
use crate::error::{Error, Result};
use crate::name::{is_ip_literal, normalise_domain};
use crate::policy::{
    Action, Gate, GateMode, Override, OverrideTarget, PolicySet, SafeSearchLevel, SchoolLists, Term,
};
use crate::safesearch::{SafeSearchMap, SafeSearchTarget, UnsafeSearchList};
use crate::taxonomy::{CategoryBits, GhCategoryId, SetTable, Taxonomy};

/// Who is asking: an identified person (optional) and the policy name of their group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// Person id, when known (portal login, device token).
    pub person: Option<String>,
    /// Group policy name, e.g. `ks2`.
    pub group: String,
}

impl Identity {
    /// An identity of a group with no known person.
    pub fn group(group: &str) -> Identity {
        Identity {
            person: None,
            group: group.to_owned(),
        }
    }

    /// A known person in a group.
    pub fn person(person: &str, group: &str) -> Identity {
        Identity {
            person: Some(person.to_owned()),
            group: group.to_owned(),
        }
    }
}

/// Which rule produced a [`Decision`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The host (or URL) is not a valid name.
    Invalid,
    /// A locked illegal-content category.
    LockedList {
        /// The locked category.
        category: Arc<str>,
    },
    /// A per-person override.
    PersonOverride {
        /// The person.
        person: Arc<str>,
        /// What the override targets.
        target: OverrideTarget,
        /// When it expires.
        until: Timestamp,
    },
    /// The school deny list.
    SchoolDeny {
        /// The listed suffix that matched.
        suffix: Arc<str>,
    },
    /// The school allow list.
    SchoolAllow {
        /// The listed suffix that matched.
        suffix: Arc<str>,
    },
    /// A group's allow list (an unblock request approved for the group).
    GroupAllow {
        /// The group.
        group: Arc<str>,
        /// The listed suffix that matched.
        suffix: Arc<str>,
    },
    /// The signing gate in enforce mode: the person has an agreement to sign first.
    Gate,
    /// Safe-search rewrite.
    SafeSearch {
        /// Engine name.
        engine: Arc<str>,
    },
    /// A search engine without enforceable safe search, blocked by the policy.
    UnsafeSearchEngine {
        /// The listed suffix that matched.
        suffix: Arc<str>,
    },
    /// The policy's action for a category.
    CategoryPolicy {
        /// Policy name.
        policy: Arc<str>,
        /// Gatehouse category.
        category: Arc<str>,
        /// The schedule rule that applied, if any (e.g. `mon-fri 12:00-13:15`).
        schedule: Option<Arc<str>>,
    },
    /// The policy's default action (no mapped category).
    Default {
        /// Policy name.
        policy: Arc<str>,
    },
}

impl std::fmt::Display for Rule {
    /// A compact one-token form, used in logs and the golden test.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Invalid => write!(f, "invalid"),
            Rule::LockedList { category } => write!(f, "locked:{category}"),
            Rule::PersonOverride { person, target, .. } => match target {
                OverrideTarget::HostSuffix(h) => write!(f, "override:{person}:host={h}"),
                OverrideTarget::Category(c) => write!(f, "override:{person}:category={c}"),
                OverrideTarget::All => write!(f, "override:{person}:all"),
            },
            Rule::SchoolDeny { suffix } => write!(f, "school_deny:{suffix}"),
            Rule::SchoolAllow { suffix } => write!(f, "school_allow:{suffix}"),
            Rule::GroupAllow { group, suffix } => write!(f, "group_allow:{group}:{suffix}"),
            Rule::Gate => write!(f, "gate"),
            Rule::SafeSearch { engine } => write!(f, "safe_search:{engine}"),
            Rule::UnsafeSearchEngine { suffix } => write!(f, "unsafe_search:{suffix}"),
            Rule::CategoryPolicy {
                policy,
                category,
                schedule,
            } => match schedule {
                Some(s) => write!(f, "policy:{policy}/{category}@{s}"),
                None => write!(f, "policy:{policy}/{category}"),
            },
            Rule::Default { policy } => write!(f, "default:{policy}"),
        }
    }
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to do.
    pub action: Action,
    /// The Gatehouse category involved (the deciding one, or the most severe category of
    /// the host when another rule decided).
    pub category: Option<Arc<str>>,
    /// The rule that decided.
    pub rule: Rule,
    /// The listed name that matched for the deciding rule (database entry, school list
    /// suffix, override suffix or unsafe-search entry).
    pub matched_list: Option<String>,
    /// The safe-search rewrite to answer with, if any.
    pub safe_search: Option<SafeSearchTarget>,
    /// The signing gate (in audit mode) would have held this person at the portal.
    pub gated: bool,
}

impl Decision {
    /// One readable line, e.g. `blocked: pornography (listed: example.com) by policy ks2`.
    pub fn explain(&self) -> String {
        let verb = self.action.past();
        let listed = self
            .matched_list
            .as_deref()
            .map(|m| format!(" (listed: {m})"))
            .unwrap_or_default();
        let cat = self.category.as_deref().unwrap_or("uncategorised");
        let gate = if self.gated && self.rule != Rule::Gate {
            " [signing gate, audit mode: an agreement is overdue]"
        } else {
            ""
        };
        let text = match &self.rule {
            Rule::Invalid => format!("{verb}: invalid host name"),
            Rule::LockedList { category } => {
                format!("{verb}: {category}{listed} by locked illegal-content list")
            }
            Rule::PersonOverride {
                person,
                target,
                until,
            } => format!("{verb}: {cat}{listed} by override for {person} ({target}) until {until}"),
            Rule::SchoolDeny { .. } => format!("{verb}: {cat}{listed} by school deny list"),
            Rule::SchoolAllow { .. } => format!("{verb}: {cat}{listed} by school allow list"),
            Rule::GroupAllow { group, .. } => {
                format!("{verb}: {cat}{listed} by the allow list of group {group}")
            }
            Rule::Gate => format!("{verb}: an agreement must be signed first (signing gate)"),
            Rule::SafeSearch { engine } => {
                let to = self
                    .safe_search
                    .as_ref()
                    .map(|t| format!(" -> {}", t.target))
                    .unwrap_or_default();
                format!("{verb}: safe search enforced for {engine}{to}")
            }
            Rule::UnsafeSearchEngine { .. } => {
                format!("{verb}: search engine without safe search{listed}")
            }
            Rule::CategoryPolicy {
                policy,
                category,
                schedule,
            } => {
                let sch = schedule
                    .as_deref()
                    .map(|s| format!(" (schedule {s})"))
                    .unwrap_or_default();
                format!("{verb}: {category}{listed} by policy {policy}{sch}")
            }
            Rule::Default { policy } => {
                format!("{verb}: not categorised, default of policy {policy}")
            }
        };
        text + gate
    }
}

/// Everything an [`Engine`] is built from besides the database.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Gatehouse categories and their sources.
    pub taxonomy: Taxonomy,
    /// Policies, time zone, term dates.
    pub policies: PolicySet,
    /// School allow/deny lists.
    pub lists: SchoolLists,
    /// Per-person overrides (expired ones are ignored at decision time).
    pub overrides: Vec<Override>,
    /// Safe-search rewrites.
    pub safe_search: SafeSearchMap,
    /// Search engines without safe search.
    pub unsafe_search: UnsafeSearchList,
    /// The signing gate.
    pub gate: Gate,
    /// People decided with another group's policy than their own (person id → policy
    /// name), e.g. an incident sanction "restricted to the ks2 policy".
    pub person_policies: BTreeMap<String, String>,
}

impl EngineConfig {
    /// The shipped taxonomy, default policies and safe-search tables; no school lists or
    /// overrides.
    pub fn uk_default() -> Result<EngineConfig> {
        Ok(EngineConfig {
            taxonomy: Taxonomy::uk_default()?,
            policies: PolicySet::uk_default()?,
            lists: SchoolLists::default(),
            overrides: Vec::new(),
            safe_search: SafeSearchMap::uk_default()?,
            unsafe_search: UnsafeSearchList::uk_default(),
            gate: Gate::default(),
            person_policies: BTreeMap::new(),
        })
    }
}

#[derive(Debug)]
struct RPolicy {
    name: Arc<str>,
    default: Action,
    actions: Vec<Action>,
    rules: Vec<(GhCategoryId, crate::policy::ScheduleRule, Arc<str>)>,
    safe_search: SafeSearchLevel,
    block_unsafe_search: bool,
    outside_term: Option<usize>,
}

#[derive(Debug)]
enum RTarget {
    Suffix(String),
    Category(GhCategoryId),
    All,
}

#[derive(Debug)]
struct ROverride {
    target: RTarget,
    action: Action,
    until: Timestamp,
    original: OverrideTarget,
    person: Arc<str>,
}

/// A built, immutable policy engine (see the module documentation).
#[derive(Debug)]
pub struct Engine {
    db: Arc<Database>,
    table: SetTable,
    taxonomy: Taxonomy,
    names: Vec<Arc<str>>,
    locked: CategoryBits,
    policies: Vec<RPolicy>,
    by_name: HashMap<String, usize>,
    fallback: usize,
    timezone: TimeZone,
    terms: Vec<Term>,
    allow: HashSet<String>,
    deny: HashSet<String>,
    group_allow: HashMap<String, HashSet<String>>,
    overrides: HashMap<String, Vec<ROverride>>,
    person_policy: HashMap<String, usize>,
    gate: RGate,
    safe_search: SafeSearchMap,
    unsafe_search: UnsafeSearchList,
}

#[derive(Debug, Default)]
struct RGate {
    mode: GateMode,
    people: HashSet<String>,
    groups: HashSet<String>,
    walled_garden: HashSet<String>,
}

fn norm_list_entry(what: &str, s: &str) -> Result<String> {
    normalise_domain(s)
        .map(|d| d.into_string())
        .map_err(|e| Error::Policy(format!("{what}: {s:?}: {e}")))
}

impl Engine {
    /// Build an engine; fails (naming the policy, rule, list entry or override) when a
    /// name is unknown or invalid.
    pub fn new(db: Arc<Database>, config: &EngineConfig) -> Result<Engine> {
        let taxonomy = config.taxonomy.clone();
        let table = SetTable::resolve(&db, &taxonomy);
        let names: Vec<Arc<str>> = taxonomy
            .categories()
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let cat = |ctx: &str, name: &str| {
            taxonomy
                .id(name)
                .ok_or_else(|| Error::Policy(format!("{ctx}: unknown category {name:?}")))
        };
        let by_name: HashMap<String, usize> = config
            .policies
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let mut policies = Vec::new();
        for p in &config.policies.policies {
            let mut actions = vec![p.default; names.len()];
            for (c, a) in &p.categories {
                let id = cat(&format!("policy {}", p.name), c)?;
                if let Some(slot) = actions.get_mut(usize::from(id.0)) {
                    *slot = *a;
                }
            }
            let mut rules = Vec::new();
            for (i, r) in p.schedule.iter().enumerate() {
                let id = cat(
                    &format!("policy {} schedule #{}", p.name, i + 1),
                    &r.category,
                )?;
                let label: Arc<str> = Arc::from(r.label());
                rules.push((id, r.clone(), label));
            }
            let outside_term = match &p.outside_term {
                Some(o) => Some(*by_name.get(o).ok_or_else(|| {
                    Error::Policy(format!(
                        "policy {}: outside_term policy {o:?} does not exist",
                        p.name
                    ))
                })?),
                None => None,
            };
            policies.push(RPolicy {
                name: Arc::from(p.name.as_str()),
                default: p.default,
                actions,
                rules,
                safe_search: p.safe_search,
                block_unsafe_search: p.block_unsafe_search,
                outside_term,
            });
        }
        let fallback = *by_name.get(&config.policies.fallback).ok_or_else(|| {
            Error::Policy(format!(
                "fallback policy {:?} does not exist",
                config.policies.fallback
            ))
        })?;
        let allow = config
            .lists
            .allow
            .iter()
            .map(|s| norm_list_entry("school allow list", s))
            .collect::<Result<_>>()?;
        let deny = config
            .lists
            .deny
            .iter()
            .map(|s| norm_list_entry("school deny list", s))
            .collect::<Result<_>>()?;
        let mut group_allow: HashMap<String, HashSet<String>> = HashMap::default();
        for (group, hosts) in &config.lists.group_allow {
            let ctx = format!("allow list of group {group}");
            let set = group_allow.entry(group.clone()).or_default();
            for h in hosts {
                set.insert(norm_list_entry(&ctx, h)?);
            }
        }
        let gate = RGate {
            mode: config.gate.mode,
            people: config.gate.people.iter().cloned().collect(),
            groups: config.gate.groups.iter().cloned().collect(),
            walled_garden: config
                .gate
                .walled_garden
                .iter()
                .map(|s| norm_list_entry("gate walled garden", s))
                .collect::<Result<_>>()?,
        };
        let mut person_policy: HashMap<String, usize> = HashMap::default();
        for (person, policy) in &config.person_policies {
            let i = by_name.get(policy).ok_or_else(|| {
                Error::Policy(format!(
                    "policy for {person}: policy {policy:?} does not exist"
                ))
            })?;
            person_policy.insert(person.clone(), *i);
        }
        let mut overrides: HashMap<String, Vec<ROverride>> = HashMap::default();
        for o in &config.overrides {
            let ctx = format!("override for {}", o.person);
            let target = match &o.target {
                OverrideTarget::HostSuffix(h) => RTarget::Suffix(norm_list_entry(&ctx, h)?),
                OverrideTarget::Category(c) => RTarget::Category(cat(&ctx, c)?),
                OverrideTarget::All => RTarget::All,
            };
            overrides
                .entry(o.person.clone())
                .or_default()
                .push(ROverride {
                    target,
                    action: o.action,
                    until: o.until,
                    original: o.target.clone(),
                    person: Arc::from(o.person.as_str()),
                });
        }
        Ok(Engine {
            locked: taxonomy.locked(),
            db,
            table,
            taxonomy,
            names,
            policies,
            by_name,
            fallback,
            timezone: config.policies.timezone.clone(),
            terms: config.policies.terms.clone(),
            allow,
            deny,
            group_allow,
            overrides,
            person_policy,
            gate,
            safe_search: config.safe_search.clone(),
            unsafe_search: config.unsafe_search.clone(),
        })
    }

    /// Whether the signing gate holds `who` for `request` (outside the walled garden).
    fn gate_holds(&self, who: &Identity, request: &Request<'_>) -> bool {
        let held = match &who.person {
            Some(p) => self.gate.people.contains(p),
            None => self.gate.groups.contains(&who.group),
        };
        if !held {
            return false;
        }
        let host = normalise_host(request.host).unwrap_or_default();
        !suffixes(&host).any(|s| self.gate.walled_garden.contains(s))
    }

    /// The gate mode.
    pub fn gate_mode(&self) -> GateMode {
        self.gate.mode
    }

    /// The database this engine decides with.
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// The taxonomy.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The resolved set table.
    pub fn set_table(&self) -> &SetTable {
        &self.table
    }

    /// Gatehouse categories of `host` (empty if not listed or invalid).
    pub fn categories_of(&self, host: &str) -> CategoryBits {
        self.db
            .lookup(host)
            .map(|m| self.table.get(m.set_id()))
            .unwrap_or(CategoryBits::EMPTY)
    }

    /// Decide what happens to a request of `who` for `host_or_url` (a host name or URL)
    /// at instant `at` (see the module documentation for the precedence).
    pub fn decide(&self, who: &Identity, host_or_url: &str, at: Timestamp) -> Decision {
        decide(self, who, &Request::parse(host_or_url), at)
    }

    /// [`Engine::decide`] for a request already split.
    pub fn decide_request(&self, who: &Identity, request: &Request<'_>, at: Timestamp) -> Decision {
        decide(self, who, request, at)
    }

    fn name(&self, id: GhCategoryId) -> Option<Arc<str>> {
        self.names.get(usize::from(id.0)).cloned()
    }

    fn in_term(&self, date: jiff::civil::Date) -> bool {
        self.terms.is_empty() || self.terms.iter().any(|t| t.start <= date && date <= t.end)
    }
}

/// The suffixes of a normalised name, longest first: `a.b.c`, `b.c`, `c`.
pub(crate) fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(host), |s| s.find('.').and_then(|i| s.get(i + 1..)))
        .filter(|s| !s.is_empty())
}

/// The most specific suffix of `host` (normalised) listed in `set`; an empty set (the
/// usual school allow or deny list) answers at once, without walking the name.
pub(crate) fn listed_suffix<'h>(set: &HashSet<String>, host: &'h str) -> Option<&'h str> {
    if set.is_empty() {
        return None;
    }
    suffixes(host).find(|s| set.contains(*s))
}

/// What a request asks for, split once from a host name or URL ([`Request::parse`]): a
/// caller that needs the host too (to name it on a block page) shares the split with the
/// decision ([`Engine::decide_request`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The host part, as given (`Host` of `https://user@Host:8080/p`).
    pub host: &'a str,
    /// The path from `/`, query included, fragment dropped; `None` when absent or just `/`.
    pub path: Option<&'a str>,
    /// A URL (a scheme, or a `/` after the host), so URL entries apply; a bare host name
    /// (a DNS query) matches domains only.
    pub is_url: bool,
}

impl<'a> Request<'a> {
    /// Split a host name or URL (`https://user@Host:8080/p?q#f` → `Host`, `/p?q`).
    pub fn parse(input: &'a str) -> Request<'a> {
        let s = input.trim_ascii();
        let b = s.as_bytes();
        // A scheme ends at the first `:` when `//` follows and no `/` came before it.
        let mut from = 0;
        if let Some(i) = b.iter().position(|&c| c == b':' || c == b'/')
            && b.get(i..i + 3) == Some(b"://")
        {
            from = i + 3;
        }
        // The authority ends at `/`, `?` or `#`. Its last `@` and its first and last `:`
        // after that (a port has one; an IPv6 address several) are looked for only when it
        // has either character.
        let end = b
            .get(from..)
            .and_then(|rest| memchr::memchr3(b'/', b'?', b'#', rest))
            .map_or(b.len(), |i| from + i);
        let (mut at, mut colons) = (None, (None, None));
        let auth = b.get(from..end).unwrap_or_default();
        if memchr::memchr2(b'@', b':', auth).is_some() {
            for (i, &c) in auth.iter().enumerate() {
                match c {
                    b'@' => {
                        at = Some(from + i);
                        colons = (None, None);
                    }
                    b':' => colons = (colons.0.or(Some(from + i)), Some(from + i)),
                    _ => {}
                }
            }
        }
        let tail = s.get(end..).unwrap_or_default();
        let (path, is_url) = if tail.starts_with('/') {
            let p = tail
                .get(..memchr::memchr(b'#', tail.as_bytes()).unwrap_or(tail.len()))
                .unwrap_or(tail);
            ((p != "/").then_some(p), true)
        } else {
            (None, from > 0 || tail.contains('/'))
        };
        let host_from = at.map_or(from, |i| i + 1);
        let auth = s.get(host_from..end).unwrap_or("");
        let host = if let Some(rest) = auth.strip_prefix('[') {
            rest.split(']').next().unwrap_or("")
        } else {
            // `host:port` (exactly one colon, digits after it).
            match colons {
                (Some(i), Some(j))
                    if i == j
                        && b.get(i + 1..end)
                            .is_some_and(|p| p.iter().all(u8::is_ascii_digit)) =>
                {
                    s.get(host_from..i).unwrap_or("")
                }
                _ => auth,
            }
        };
        Request { host, path, is_url }
    }
}

/// The normal form of a requested host: a normalised name, or for an IP address its
/// reverse-DNS name (as lists store it); `None` when it is neither.
fn normalise_host(raw: &str) -> Option<String> {
    match normalise_domain(raw) {
        Ok(d) => Some(d.into_string()),
        Err(_) if is_ip_literal(raw) => Some(match crate::list::ip_entry_name(raw) {
            Some(d) => d.into_string(),
            None => raw.to_ascii_lowercase(),
        }),
        Err(_) => None,
    }
}

/// The decision, the signing gate included.
fn decide(engine: &Engine, who: &Identity, request: &Request<'_>, at: Timestamp) -> Decision {
    let mut d = decide_policy(engine, who, request, at);
    if engine.gate.mode != GateMode::Off && engine.gate_holds(who, request) {
        if engine.gate.mode == GateMode::Audit || matches!(d.rule, Rule::LockedList { .. }) {
            d.gated = true;
        } else {
            d = Decision {
                action: Action::Block,
                category: None,
                rule: Rule::Gate,
                matched_list: None,
                safe_search: None,
                gated: true,
            };
        }
    }
    d
}

/// The decision of the lists, overrides and policies, before the signing gate.
fn decide_policy(
    engine: &Engine,
    who: &Identity,
    request: &Request<'_>,
    at: Timestamp,
) -> Decision {
    let (raw, path) = (request.host, request.path);
    // Most requests name a host already in normal form: use it as it is.
    let host: std::borrow::Cow<'_, str> =
        if crate::name::validate_normalised(raw.as_bytes()).is_ok() {
            std::borrow::Cow::Borrowed(raw)
        } else {
            std::borrow::Cow::Owned(normalise_host(raw).unwrap_or_default())
        };
    if host.is_empty() {
        return Decision {
            action: Action::Block,
            category: None,
            rule: Rule::Invalid,
            matched_list: None,
            safe_search: None,
            gated: false,
        };
    }
    let host: &str = &host;
    // a URL (`http://host/…`, even with just `/`) also matches URL entries (proxy /
    // block-page use; DNS has no path)
    let mut probe = engine.db.probe(host, request.is_url);
    let mut bits = CategoryBits::EMPTY;
    // the listed names (as offsets into `host`, most specific first) and their categories:
    // a listed name keeps the categories of its listed parent domains (`a.example.com` in
    // one list, `example.com` in another)
    let mut names = [(0usize, CategoryBits::EMPTY); 8];
    let mut named = 0;
    while let Some((start, set)) = probe.next_listed() {
        let more = engine.table.get(set.id());
        bits.0 |= more.0;
        if let Some(slot) = names.get_mut(named) {
            *slot = (start, more);
            named += 1;
        }
    }
    let mut url_bits = CategoryBits::EMPTY;
    let mut url_hit = None;
    if probe.has_url_entries() {
        let p = crate::list::normalise_url_path(path.unwrap_or("/"));
        if let Some(u) = probe.url_match(&p) {
            url_bits = engine.table.get(u.categories.id());
            bits.0 |= url_bits.0;
            url_hit = Some(u);
        }
    }
    let names = names.get(..named).unwrap_or_default();
    let name_at = |start: usize| host.get(start..).map(str::to_owned);
    // the most specific listed entry: the URL entry, else the most specific listed name
    let listed = || match url_hit {
        Some(u) => Some(format!("{}{}", u.host, u.path)),
        None => names.first().and_then(|&(start, _)| name_at(start)),
    };
    // the listed entry that put the host in category `c`: the URL entry, else the most
    // specific listed name in `c`
    let listed_for = |c: GhCategoryId| -> Option<String> {
        if url_bits.contains(c) {
            return listed();
        }
        names
            .iter()
            .find(|(_, b)| b.contains(c))
            .and_then(|&(start, _)| name_at(start))
            .or_else(listed)
    };
    // the host's most severe category, named only by the rules that report it (naming
    // clones an `Arc`: an atomic operation)
    let first_cat = || bits.first().and_then(|c| engine.name(c));
    let make = |action, category, rule, matched_list| Decision {
        action,
        category,
        rule,
        matched_list,
        safe_search: None,
        gated: false,
    };

    // 1. locked lists
    if let Some(c) = bits.and(engine.locked).first() {
        let name = engine.name(c).unwrap_or_else(|| Arc::from("locked"));
        return make(
            Action::Block,
            Some(name.clone()),
            Rule::LockedList { category: name },
            listed_for(c),
        );
    }

    // 2. person override
    if let Some(person) = &who.person
        && let Some(list) = engine.overrides.get(person)
    {
        // specificity: suffix length + 2 for host suffixes, 1 for category, 0 for all
        let mut best: Option<(usize, u8, &ROverride, Option<&str>)> = None;
        for o in list.iter().filter(|o| at < o.until) {
            let (spec, m) = match &o.target {
                RTarget::Suffix(sfx) => match suffixes(host).find(|s| s == sfx) {
                    Some(s) => (s.len() + 2, Some(s)),
                    None => continue,
                },
                RTarget::Category(c) if bits.contains(*c) => (1, None),
                RTarget::Category(_) => continue,
                RTarget::All => (0, None),
            };
            let better = match &best {
                None => true,
                Some((bs, br, _, _)) => spec > *bs || (spec == *bs && o.action.rank() > *br),
            };
            if better {
                best = Some((spec, o.action.rank(), o, m));
            }
        }
        if let Some((_, _, o, m)) = best {
            let category = match o.target {
                RTarget::Category(c) => engine.name(c),
                _ => first_cat(),
            };
            return make(
                o.action,
                category,
                Rule::PersonOverride {
                    person: o.person.clone(),
                    target: o.original.clone(),
                    until: o.until,
                },
                m.map(str::to_owned).or_else(listed),
            );
        }
    }

    // 3./4. school deny, then allow
    if let Some(s) = listed_suffix(&engine.deny, host) {
        return make(
            Action::Block,
            first_cat(),
            Rule::SchoolDeny {
                suffix: Arc::from(s),
            },
            Some(s.to_owned()),
        );
    }
    if let Some(s) = listed_suffix(&engine.allow, host) {
        return make(
            Action::Allow,
            first_cat(),
            Rule::SchoolAllow {
                suffix: Arc::from(s),
            },
            Some(s.to_owned()),
        );
    }

    if let Some(s) = engine
        .group_allow
        .get(&who.group)
        .and_then(|set| listed_suffix(set, host))
    {
        return make(
            Action::Allow,
            first_cat(),
            Rule::GroupAllow {
                group: Arc::from(who.group.as_str()),
                suffix: Arc::from(s),
            },
            Some(s.to_owned()),
        );
    }

    // choose the policy (fallback for unknown groups, outside-term replacement)
    let pidx = who
        .person
        .as_ref()
        .filter(|_| !engine.person_policy.is_empty())
        .and_then(|p| engine.person_policy.get(p))
        .or_else(|| engine.by_name.get(&who.group))
        .copied()
        .unwrap_or(engine.fallback);
    let mut local: Option<jiff::Zoned> = None;
    let mut zoned = || -> jiff::Zoned {
        local
            .get_or_insert_with(|| at.to_zoned(engine.timezone.clone()))
            .clone()
    };
    let Some(mut policy) = engine.policies.get(pidx) else {
        return make(Action::Block, first_cat(), Rule::Invalid, listed());
    };
    if let Some(o) = policy.outside_term
        && !engine.in_term(zoned().date())
        && let Some(p) = engine.policies.get(o)
    {
        policy = p;
    }

    // 5. safe search, then engines without safe search
    if let Some(t) = engine.safe_search.target(host, policy.safe_search) {
        return Decision {
            action: Action::Allow,
            category: first_cat(),
            rule: Rule::SafeSearch {
                engine: t.engine.clone(),
            },
            matched_list: None,
            safe_search: Some(t),
            gated: false,
        };
    }
    if policy.block_unsafe_search
        && let Some(s) = engine.unsafe_search.matches(host)
    {
        return make(
            Action::Block,
            first_cat(),
            Rule::UnsafeSearchEngine {
                suffix: Arc::from(s),
            },
            Some(s.to_owned()),
        );
    }

    // 6. category policy
    if !bits.is_empty() {
        let (second, day, in_term) = if policy.rules.is_empty() {
            (0, jiff::civil::Weekday::Monday, true)
        } else {
            let z = zoned();
            let t = z.time();
            let second = u32::try_from(
                i32::from(t.hour()) * 3600 + i32::from(t.minute()) * 60 + i32::from(t.second()),
            )
            .unwrap_or(0);
            (second, z.weekday(), engine.in_term(z.date()))
        };
        let mut best: Option<(Action, GhCategoryId, Option<Arc<str>>)> = None;
        for c in bits.iter() {
            let scheduled = policy
                .rules
                .iter()
                .find(|(rc, r, _)| *rc == c && r.applies(day, second, in_term));
            let (action, label) = match scheduled {
                Some((_, r, l)) => (r.action, Some(l.clone())),
                None => (
                    policy
                        .actions
                        .get(usize::from(c.0))
                        .copied()
                        .unwrap_or(policy.default),
                    None,
                ),
            };
            if best
                .as_ref()
                .is_none_or(|(a, _, _)| action.rank() > a.rank())
            {
                best = Some((action, c, label));
            }
        }
        if let Some((action, c, schedule)) = best {
            let category = engine.name(c).unwrap_or_else(|| Arc::from("unknown"));
            return make(
                action,
                Some(category.clone()),
                Rule::CategoryPolicy {
                    policy: policy.name.clone(),
                    category,
                    schedule,
                },
                listed_for(c),
            );
        }
    }

    // 7. default
    make(
        policy.default,
        None,
        Rule::Default {
            policy: policy.name.clone(),
        },
        None,
    )
}

/// The current engine, replaceable atomically while decisions run (no lock on the
/// decision path). Build a new [`Engine`] (new policy, override, list or database) and
/// [`EngineHandle::store`] it: the change takes effect for the next decision.
pub struct EngineHandle {
    current: ArcSwap<Engine>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Start with `engine`.
    pub fn new(engine: Engine) -> EngineHandle {
        EngineHandle {
            current: ArcSwap::from_pointee(engine),
        }
    }

    /// The current engine; hold the `Arc` for one decision.
    pub fn load(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// Replace the engine; decisions in flight finish on the old one.
    pub fn store(&self, engine: Engine) {
        self.current.store(Arc::new(engine));
    }
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn requests_split_into_host_path_and_url_or_not() {
        let cases = [
            ("example.com", ("example.com", None, false)),
            ("  Example.COM.  ", ("Example.COM.", None, false)),
            ("http://example.com/", ("example.com", None, true)),
            ("http://example.com", ("example.com", None, true)),
            (
                "https://user:pw@example.com:8080/a/b?q=1#frag",
                ("example.com", Some("/a/b?q=1"), true),
            ),
            ("a@b@example.com:80/x", ("example.com", Some("/x"), true)),
            ("example.com:443", ("example.com", None, false)),
            ("example.com:44a", ("example.com:44a", None, false)),
            ("example.com/path", ("example.com", Some("/path"), true)),
            ("example.com?x=1", ("example.com", None, false)),
            ("example.com?to=a/b", ("example.com", None, true)),
            ("example.com#/x", ("example.com", None, true)),
            (
                "http://[2001:db8::1]:80/x",
                ("2001:db8::1", Some("/x"), true),
            ),
            ("2001:db8::1", ("2001:db8::1", None, false)),
            // a URL inside the path or query is not a scheme of the request
            (
                "example.com/go?to=http://other.test/",
                ("example.com", Some("/go?to=http://other.test/"), true),
            ),
            (
                "ftp://files.example/pub",
                ("files.example", Some("/pub"), true),
            ),
            ("", ("", None, false)),
        ];
        for (input, (host, path, is_url)) in cases {
            assert_eq!(
                Request::parse(input),
                Request { host, path, is_url },
                "{input:?}"
            );
        }
    }
}
