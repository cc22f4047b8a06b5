//! Monitoring: rules evaluated over activity events as they arrive, raising alerts.
//!
//! The rules (shipped in `data/monitoring.toml`, replaceable by the school's own file):
//! attempts on watched categories, attempts to get round the filter, many blocked
//! attempts in a short time, use outside permitted hours, and keyword libraries matched
//! against the words of the names asked for. Time comes from the events themselves, so
//! evaluation is deterministic (and testable with any clock).
//!
//! [`Monitor::observe`] returns, for each rule an event trips, either a new alert or a
//! fold into the alert already raised for the same rule and the same person (or device,
//! when nobody is identified) within `fold_minutes`.

use std::collections::{HashMap, VecDeque};

use gatehouse_dns::ActivityEvent;
use gatehouse_filter::Action;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::keywords::KeywordLibrary;

/// How serious an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reviewed in the daily digest.
    Low,
    /// Reviewed in the daily digest.
    Medium,
    /// The DSL is told at once.
    High,
    /// The DSL is told at once.
    Critical,
}

impl Severity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether the DSL is told at once (critical and high).
    pub fn is_urgent(self) -> bool {
        self >= Severity::High
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchRule {
    category: String,
    severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CircumventionRule {
    categories: Vec<String>,
    severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BurstRule {
    blocks: usize,
    minutes: i64,
    severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursRule {
    groups: Vec<String>,
    days: Vec<String>,
    from: String,
    to: String,
    severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeywordRule {
    library: String,
    severity: Severity,
    terms: Vec<String>,
    #[serde(default)]
    false_positives: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    fold_minutes: i64,
    #[serde(default)]
    watch: Vec<WatchRule>,
    circumvention: Option<CircumventionRule>,
    burst: Option<BurstRule>,
    #[serde(default)]
    outside_hours: Vec<HoursRule>,
    #[serde(default)]
    keywords: Vec<KeywordRule>,
}

#[derive(Debug, Clone)]
struct Hours {
    groups: Vec<String>,
    days: Vec<Weekday>,
    from: Time,
    to: Time,
    severity: Severity,
}

/// A set of monitoring rules, checked and ready to evaluate.
#[derive(Debug, Clone)]
pub struct MonitorRules {
    fold: SignedDuration,
    watch: HashMap<String, Severity>,
    circumvention: Option<(Vec<String>, Severity)>,
    burst: Option<(usize, SignedDuration, Severity)>,
    hours: Vec<Hours>,
    keywords: Vec<(KeywordLibrary, Severity)>,
    timezone: TimeZone,
}

/// The shipped rules file.
pub const DEFAULT_RULES: &str = include_str!("../data/monitoring.toml");

fn day(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

impl MonitorRules {
    /// The shipped rules, in the UK school time zone.
    pub fn uk_default() -> Result<MonitorRules, String> {
        MonitorRules::from_toml(
            DEFAULT_RULES,
            TimeZone::get("Europe/London").unwrap_or(TimeZone::UTC),
        )
    }

    /// Rules from a file's text; the error names the rule and field at fault.
    pub fn from_toml(text: &str, timezone: TimeZone) -> Result<MonitorRules, String> {
        let raw: RawRules = toml::from_str(text).map_err(|e| e.to_string())?;
        if !(1..=24 * 60).contains(&raw.fold_minutes) {
            return Err(format!(
                "fold_minutes = {}: expected 1 to 1440",
                raw.fold_minutes
            ));
        }
        let mut hours = Vec::new();
        for (i, h) in raw.outside_hours.iter().enumerate() {
            let ctx = format!("outside_hours #{}", i + 1);
            let time = |field: &str, s: &str| {
                s.parse::<Time>()
                    .map_err(|_| format!("{ctx}: {field} = {s:?} is not a time HH:MM"))
            };
            let days = h
                .days
                .iter()
                .map(|d| day(d).ok_or_else(|| format!("{ctx}: {d:?} is not a day")))
                .collect::<Result<Vec<_>, _>>()?;
            hours.push(Hours {
                groups: h.groups.clone(),
                days,
                from: time("from", &h.from)?,
                to: time("to", &h.to)?,
                severity: h.severity,
            });
        }
        let burst = match &raw.burst {
            Some(b) if b.blocks == 0 || b.minutes < 1 => {
                return Err("burst: blocks and minutes must be at least 1".into());
            }
            Some(b) => Some((b.blocks, SignedDuration::from_mins(b.minutes), b.severity)),
            None => None,
        };
        let keywords = raw
            .keywords
            .iter()
            .map(|k| {
                KeywordLibrary::new(&k.library, &k.terms, &k.false_positives)
                    .map(|l| (l, k.severity))
                    .map_err(|e| format!("keywords {:?}: {e}", k.library))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MonitorRules {
            fold: SignedDuration::from_mins(raw.fold_minutes),
            watch: raw
                .watch
                .iter()
                .map(|w| (w.category.clone(), w.severity))
                .collect(),
            circumvention: raw.circumvention.map(|c| (c.categories, c.severity)),
            burst,
            hours,
            keywords,
            timezone,
        })
    }
}

impl MonitorRules {
    /// Repeats within this long of the last are folded into one alert.
    pub fn fold(&self) -> SignedDuration {
        self.fold
    }
}

/// What an alert is about: one rule tripped by one person (or device).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlertKey {
    /// The rule, e.g. `category:self_harm`, `keywords:weapons`, `burst`.
    pub rule: String,
    /// `person:ID`; `device:NAME` for a registered device assigned to nobody; else
    /// `client:IP`.
    pub subject: String,
}

/// A new alert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Rule and subject.
    pub key: AlertKey,
    /// How serious.
    pub severity: Severity,
    /// What happened, in words.
    pub summary: String,
    /// The events that tripped the rule (copied; never changed afterwards).
    pub evidence: Vec<ActivityEvent>,
}

/// What one event did to the alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum Alerted {
    /// A new alert.
    New(NewAlert),
    /// Folded into the open alert of the same key (its count goes up by `count`).
    Folded {
        /// The alert's key.
        key: AlertKey,
        /// The first of the repeats, as more evidence (shared by the rules it tripped).
        event: std::sync::Arc<ActivityEvent>,
        /// How many repeats (1 from [`Monitor::observe`]; more once a batch's repeats
        /// are put together by [`coalesce`]).
        count: u32,
    },
}

/// Evaluates the rules over events, keeping the windows and the open alerts it needs.
#[derive(Debug)]
pub struct Monitor {
    rules: MonitorRules,
    blocks: HashMap<String, VecDeque<ActivityEvent>>,
    open: HashMap<AlertKey, Timestamp>,
    /// The local weekday and time of the last minute converted (most events share it).
    clock: Option<(i64, Weekday, Time)>,
}

fn subject(e: &ActivityEvent) -> String {
    match (&e.person, &e.device) {
        (Some(p), _) => format!("person:{p}"),
        (None, Some(d)) => format!("device:{d}"),
        (None, None) => format!("client:{}", e.client),
    }
}

/// A rule an event tripped, with what its alert's words need.
enum Trip<'a> {
    /// A watched category.
    Watched(&'a str),
    /// A category of ways round the filter.
    Circumvention(&'a str),
    /// A keyword library's term in the name.
    Keyword { term: String, library: &'a str },
    /// `count` blocks within `minutes`.
    Burst { count: usize, minutes: i64 },
    /// Outside the permitted hours.
    OutsideHours { weekday: Weekday, time: Time },
}

impl Trip<'_> {
    /// What happened, in words.
    fn summary(&self, e: &ActivityEvent) -> String {
        let verb = if matches!(e.action, Action::Block | Action::Warn) {
            "blocked"
        } else {
            "allowed"
        };
        match self {
            Trip::Watched(c) => format!(
                "{} ({verb}) is in the watched category {}",
                e.qname,
                c.replace('_', " ")
            ),
            Trip::Circumvention(c) => format!(
                "{} ({verb}) is a way round the filter ({})",
                e.qname,
                c.replace('_', " ")
            ),
            Trip::Keyword { term, library } => {
                format!("{} ({verb}) contains \"{term}\" ({library})", e.qname)
            }
            Trip::Burst { count, minutes } => format!(
                "{count} blocked attempts in {minutes} minutes (the last: {})",
                e.qname
            ),
            Trip::OutsideHours { weekday, time } => format!(
                "{} asked for at {} on {weekday:?}, outside permitted hours",
                e.qname,
                time.strftime("%H:%M"),
            ),
        }
    }
}

impl Monitor {
    /// A monitor with no history.
    pub fn new(rules: MonitorRules) -> Monitor {
        Monitor {
            rules,
            blocks: HashMap::new(),
            open: HashMap::new(),
            clock: None,
        }
    }

    /// Evaluate one event.
    ///
    /// Which rules trip is found first; the words and the evidence of an alert are made
    /// only when it is new, not for each repeat folded into an open one (a client asking
    /// again and again for a watched site would otherwise have its recent blocks copied
    /// for every query).
    pub fn observe(&mut self, e: &ActivityEvent) -> Vec<Alerted> {
        let mut tripped: Vec<(String, Severity, Trip<'_>)> = Vec::new();
        if let Some(c) = e.category.as_deref() {
            if let Some(sev) = self.rules.watch.get(c) {
                tripped.push((format!("category:{c}"), *sev, Trip::Watched(c)));
            }
            if let Some((cats, sev)) = &self.rules.circumvention
                && cats.iter().any(|x| x == c)
            {
                tripped.push(("circumvention".into(), *sev, Trip::Circumvention(c)));
            }
        }
        if !self.rules.keywords.is_empty() {
            let words: Vec<&str> = crate::keywords::split(&e.qname).collect();
            for (lib, sev) in &self.rules.keywords {
                if let Some(term) = lib.find_in(&words) {
                    tripped.push((
                        format!("keywords:{}", lib.name()),
                        *sev,
                        Trip::Keyword {
                            term: term.to_owned(),
                            library: lib.name(),
                        },
                    ));
                }
            }
        }
        let mut burst_subject = None;
        if let Some((n, window, sev)) = self.rules.burst
            && matches!(e.action, Action::Block)
        {
            let who = subject(e);
            let q = self.blocks.entry(who.clone()).or_default();
            q.push_back(e.clone());
            // Only the last `n` blocks matter (are there `n` within the window?): a busy
            // client (one address behind NAT, a load test) would otherwise keep every
            // block of the window.
            while q.len() > n
                || q.front()
                    .is_some_and(|f| e.time.duration_since(f.time) >= window)
            {
                q.pop_front();
            }
            if q.len() >= n {
                tripped.push((
                    "burst".into(),
                    sev,
                    Trip::Burst {
                        count: q.len(),
                        minutes: window.as_mins(),
                    },
                ));
            }
            burst_subject = Some(who);
        }
        if self.rules.hours.iter().any(|h| h.groups.contains(&e.group)) {
            let minute = e.time.as_second().div_euclid(60);
            let (weekday, time) = match self.clock {
                Some((m, d, t)) if m == minute => (d, t),
                _ => {
                    let z = e.time.to_zoned(self.rules.timezone.clone());
                    let t = z
                        .time()
                        .with()
                        .second(0)
                        .subsec_nanosecond(0)
                        .build()
                        .unwrap_or(z.time());
                    self.clock = Some((minute, z.weekday(), t));
                    (z.weekday(), t)
                }
            };
            for h in &self.rules.hours {
                if !h.groups.contains(&e.group) {
                    continue;
                }
                let inside = h.days.contains(&weekday) && time >= h.from && time < h.to;
                if !inside {
                    tripped.push((
                        "outside_hours".into(),
                        h.severity,
                        Trip::OutsideHours { weekday, time },
                    ));
                    break;
                }
            }
        }
        if tripped.is_empty() {
            return Vec::new();
        }
        let who = burst_subject.unwrap_or_else(|| subject(e));
        let mut out = Vec::with_capacity(tripped.len());
        let mut repeat: Option<std::sync::Arc<ActivityEvent>> = None;
        for (rule, severity, trip) in tripped {
            let key = AlertKey {
                rule,
                subject: who.clone(),
            };
            let fold = match self.open.get_mut(&key) {
                Some(last) => {
                    let fold = e.time.duration_since(*last) < self.rules.fold;
                    *last = e.time;
                    fold
                }
                None => {
                    self.open.insert(key.clone(), e.time);
                    false
                }
            };
            out.push(if fold {
                Alerted::Folded {
                    key,
                    event: repeat
                        .get_or_insert_with(|| std::sync::Arc::new(e.clone()))
                        .clone(),
                    count: 1,
                }
            } else {
                let evidence = match trip {
                    Trip::Burst { .. } => self
                        .blocks
                        .get(&who)
                        .map(|q| q.iter().cloned().collect())
                        .unwrap_or_default(),
                    _ => vec![e.clone()],
                };
                Alerted::New(NewAlert {
                    key,
                    severity,
                    summary: trip.summary(e),
                    evidence,
                })
            });
        }
        // keep the state bounded: forget what is older than any window
        if self.open.len() > 100_000 {
            let fold = self.rules.fold;
            self.open.retain(|_, t| e.time.duration_since(*t) < fold);
            self.blocks.retain(|_, q| !q.is_empty());
        }
        out
    }
}

/// An event source that runs every event through a [`Monitor`] on its way to the writer
/// and sends what the rules raise to `out` (never waiting: when `out` is full, the
/// raised alerts are logged as lost and the events still go on to be written).
pub struct Monitored<S> {
    inner: S,
    monitor: Monitor,
    out: tokio::sync::mpsc::Sender<Vec<Alerted>>,
}

impl<S> Monitored<S> {
    /// Monitor the events of `inner` with `monitor`.
    pub fn new(inner: S, monitor: Monitor, out: tokio::sync::mpsc::Sender<Vec<Alerted>>) -> Self {
        Monitored {
            inner,
            monitor,
            out,
        }
    }
}

/// Put the repeats of each alert in `raised` together: one fold per key with the sum of
/// the counts and the first repeat as evidence, so that a client hammering a watched
/// category costs one write per batch, not one per query. New alerts stay as they are,
/// in order, ahead of their folds.
pub fn coalesce(raised: Vec<Alerted>) -> Vec<Alerted> {
    let mut out: Vec<Alerted> = Vec::with_capacity(raised.len().min(64));
    let mut at: HashMap<AlertKey, usize> = HashMap::new();
    for a in raised {
        match a {
            Alerted::Folded { key, event, count } => {
                if let Some(Alerted::Folded { count: c, .. }) =
                    at.get(&key).and_then(|i| out.get_mut(*i))
                {
                    *c = c.saturating_add(count);
                } else {
                    at.insert(key.clone(), out.len());
                    out.push(Alerted::Folded { key, event, count });
                }
            }
            new @ Alerted::New(_) => out.push(new),
        }
    }
    out
}

impl<S: crate::EventSource> crate::EventSource for Monitored<S> {
    async fn recv_many(&mut self, buf: &mut Vec<ActivityEvent>, max: usize) -> usize {
        let start = buf.len();
        let n = self.inner.recv_many(buf, max).await;
        let mut raised = Vec::new();
        for e in buf.get(start..).unwrap_or_default() {
            raised.extend(self.monitor.observe(e));
        }
        if !raised.is_empty() && self.out.try_send(coalesce(raised)).is_err() {
            tracing::error!("monitoring alerts lost: the alert queue is full or closed");
        }
        n
    }
}
