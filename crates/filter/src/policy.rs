//! Filtering policies: per-group actions, schedules, term dates, safe search, school
//! allow/deny lists and per-person overrides.
//!
//! A [`PolicySet`] is what a school configures: its time zone (default `Europe/London`;
//! all schedule and term checks use local time there, DST-correct via `jiff`), its term
//! dates, one [`Policy`] per group and the fallback policy for unknown groups. The shipped
//! defaults are `data/default-policies.toml` ([`PolicySet::uk_default`]): `eyfs_ks1`,
//! `ks2`, `ks3_4`, `sixth_form`, `staff`, `guests`, `unidentified`.
//!
//! Precedence when deciding (highest first; see [`crate::decide`](mod@crate::decide)):
//! **locked illegal lists > person override > school deny > school allow > safe search /
//! search engines without safe search > category policy > policy default.**

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The shipped default policies (`data/default-policies.toml`).
pub const DEFAULT_POLICIES: &str = include_str!("../data/default-policies.toml");

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Let it through.
    Allow,
    /// Let it through and record it as notable (log only).
    Log,
    /// Show a "continue anyway" page; continuing is logged.
    Warn,
    /// Show the block page.
    Block,
}

impl Action {
    /// Restrictiveness rank (`Allow` 0 .. `Block` 3); when several categories match, the
    /// most restrictive action wins.
    pub fn rank(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Log => 1,
            Action::Warn => 2,
            Action::Block => 3,
        }
    }

    /// Lower-case name (`allow`, `log`, `warn`, `block`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Log => "log",
            Action::Warn => "warn",
            Action::Block => "block",
        }
    }

    /// Parse a lower-case name (`allow`, `log`, `warn`, `block`).
    pub fn parse(s: &str) -> Option<Action> {
        [Action::Allow, Action::Log, Action::Warn, Action::Block]
            .into_iter()
            .find(|a| a.as_str() == s.trim())
    }

    /// Past tense for explanations (`allowed`, `logged`, `warned`, `blocked`).
    pub fn past(self) -> &'static str {
        match self {
            Action::Allow => "allowed",
            Action::Log => "logged",
            Action::Warn => "warned",
            Action::Block => "blocked",
        }
    }
}

/// Safe-search enforcement of a policy.
///
/// DNS enforcement offers one level for most engines: `strict` and `moderate` both rewrite
/// Google, Bing, DuckDuckGo, Ecosia, Pixabay and Yandex to their safe endpoints; they
/// differ for YouTube (`restrict.youtube.com` vs `restrictmoderate.youtube.com`). `off`
/// rewrites nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SafeSearchLevel {
    /// Strictest available.
    #[default]
    Strict,
    /// Moderate where the engine has such a level (YouTube), otherwise enforced.
    Moderate,
    /// No enforcement.
    Off,
}

/// Days of the week a schedule rule applies on (bit 0 = Monday .. bit 6 = Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Days(pub u8);

impl Days {
    /// Monday to Friday.
    pub const WEEKDAYS: Days = Days(0b001_1111);
    /// Saturday and Sunday.
    pub const WEEKEND: Days = Days(0b110_0000);
    /// Every day.
    pub const ALL: Days = Days(0b111_1111);

    /// Whether `day` is included.
    pub fn contains(self, day: Weekday) -> bool {
        let bit = day.to_monday_zero_offset();
        bit >= 0 && self.0 & (1u8 << bit) != 0
    }

    /// Parse names: `mon`..`sun` (or full names), `weekdays`, `weekend`, `all`.
    pub fn parse(names: &[String]) -> Result<Days> {
        let mut d = 0u8;
        for n in names {
            d |= match n.trim().to_ascii_lowercase().as_str() {
                "mon" | "monday" => 1,
                "tue" | "tuesday" => 2,
                "wed" | "wednesday" => 4,
                "thu" | "thursday" => 8,
                "fri" | "friday" => 16,
                "sat" | "saturday" => 32,
                "sun" | "sunday" => 64,
                "weekdays" => Days::WEEKDAYS.0,
                "weekend" => Days::WEEKEND.0,
                "all" => Days::ALL.0,
                other => return Err(Error::Policy(format!("unknown day {other:?}"))),
            };
        }
        Ok(Days(d))
    }

    fn label(self) -> String {
        match self {
            Days::WEEKDAYS => "mon-fri".to_owned(),
            Days::WEEKEND => "sat-sun".to_owned(),
            Days::ALL => "daily".to_owned(),
            Days(bits) => ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1u8 << i) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// A category action that applies only in a local-time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRule {
    /// Gatehouse category name.
    pub category: String,
    /// Action inside the window.
    pub action: Action,
    /// Days it applies.
    pub days: Days,
    /// Start, seconds after local midnight (inclusive).
    pub from: u32,
    /// End, seconds after local midnight (exclusive; 86400 = end of day).
    pub until: u32,
    /// Only on term dates.
    pub term_only: bool,
}

impl ScheduleRule {
    /// Whether the rule applies at local `day`, `second` of the day, `in_term`.
    pub fn applies(&self, day: Weekday, second: u32, in_term: bool) -> bool {
        (!self.term_only || in_term)
            && self.days.contains(day)
            && self.from <= second
            && second < self.until
    }

    /// A short label such as `mon-fri 12:00-13:15`.
    pub fn label(&self) -> String {
        let hm = |s: u32| format!("{:02}:{:02}", s / 3600, (s % 3600) / 60);
        let term = if self.term_only { " term" } else { "" };
        format!(
            "{} {}-{}{term}",
            self.days.label(),
            hm(self.from),
            hm(self.until)
        )
    }
}

/// The policy of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Group / policy name, e.g. `ks2`.
    pub name: String,
    /// Action for hosts with no category and for categories not named in `categories`.
    pub default: Action,
    /// Action per Gatehouse category name (entries for locked categories have no effect:
    /// those are always blocked).
    pub categories: BTreeMap<String, Action>,
    /// Time-window exceptions; the first rule that applies to a category wins.
    pub schedule: Vec<ScheduleRule>,
    /// Safe-search enforcement.
    pub safe_search: SafeSearchLevel,
    /// Block search engines without enforceable safe search (in a policy file: default
    /// `true` unless `safe_search = "off"`).
    pub block_unsafe_search: bool,
    /// Policy used on dates outside the term dates (by name), if any.
    pub outside_term: Option<String>,
}

impl Policy {
    /// A policy that applies `default` to everything, strict safe search, no rules.
    pub fn new(name: &str, default: Action) -> Policy {
        Policy {
            name: name.to_owned(),
            default,
            categories: BTreeMap::new(),
            schedule: Vec::new(),
            safe_search: SafeSearchLevel::Strict,
            block_unsafe_search: true,
            outside_term: None,
        }
    }
}

/// An inclusive range of local dates that is term time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// First day.
    pub start: Date,
    /// Last day (inclusive).
    pub end: Date,
}

/// A school's policies (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySet {
    /// The school's time zone.
    pub timezone: TimeZone,
    /// Term dates; empty means every date is term time.
    pub terms: Vec<Term>,
    /// Policies by name.
    pub policies: Vec<Policy>,
    /// Policy used for an identity whose group has no policy.
    pub fallback: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicySet {
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    terms: Vec<Term>,
    #[serde(default)]
    policy: BTreeMap<String, RawPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Action,
    #[serde(default)]
    safe_search: SafeSearchLevel,
    #[serde(default)]
    block_unsafe_search: Option<bool>,
    #[serde(default)]
    outside_term: Option<String>,
    #[serde(default)]
    categories: BTreeMap<String, Action>,
    #[serde(default)]
    schedule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    category: String,
    action: Action,
    days: Vec<String>,
    from: String,
    until: String,
    #[serde(default)]
    term_only: bool,
}

/// Parse `HH:MM` (or `HH:MM:SS`; `24:00` = end of day) into seconds after midnight.
pub fn parse_time_of_day(s: &str) -> Result<u32> {
    let bad = || Error::Policy(format!("invalid time of day {s:?} (use HH:MM)"));
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let mut nums = [0u32; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if let Some(slot) = nums.get_mut(i) {
            *slot = p.parse().map_err(|_| bad())?;
        }
    }
    let [h, m, sec] = nums;
    let total = h * 3600 + m * 60 + sec;
    if m > 59 || sec > 59 || total > 86_400 {
        return Err(bad());
    }
    Ok(total)
}

impl PolicySet {
    /// The shipped defaults ([`DEFAULT_POLICIES`]).
    pub fn uk_default() -> Result<PolicySet> {
        PolicySet::from_toml(DEFAULT_POLICIES)
    }

    /// Parse a policy file (format: see `data/default-policies.toml`).
    pub fn from_toml(text: &str) -> Result<PolicySet> {
        let raw: RawPolicySet =
            toml::from_str(text).map_err(|e| Error::Policy(format!("policy file: {e}")))?;
        let tzname = raw.timezone.as_deref().unwrap_or("Europe/London");
        let timezone = TimeZone::get(tzname)
            .map_err(|e| Error::Policy(format!("timezone {tzname:?}: {e}")))?;
        let mut policies = Vec::new();
        for (name, p) in raw.policy {
            let mut schedule = Vec::new();
            for (i, r) in p.schedule.into_iter().enumerate() {
                let ctx =
                    |e: Error| Error::Policy(format!("policy {name} schedule #{}: {e}", i + 1));
                schedule.push(ScheduleRule {
                    category: r.category,
                    action: r.action,
                    days: Days::parse(&r.days).map_err(ctx)?,
                    from: parse_time_of_day(&r.from).map_err(ctx)?,
                    until: parse_time_of_day(&r.until).map_err(ctx)?,
                    term_only: r.term_only,
                });
            }
            policies.push(Policy {
                name: name.clone(),
                default: p.default,
                categories: p.categories,
                schedule,
                safe_search: p.safe_search,
                block_unsafe_search: p
                    .block_unsafe_search
                    .unwrap_or(p.safe_search != SafeSearchLevel::Off),
                outside_term: p.outside_term,
            });
        }
        Ok(PolicySet {
            timezone,
            terms: raw.terms,
            policies,
            fallback: raw.fallback.unwrap_or_else(|| "unidentified".to_owned()),
        })
    }

    /// Whether local `date` is term time.
    pub fn in_term(&self, date: Date) -> bool {
        self.terms.is_empty() || self.terms.iter().any(|t| t.start <= date && date <= t.end)
    }

    /// A policy by name.
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// What a person override applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OverrideTarget {
    /// A host and its subdomains (e.g. an approved unblock request).
    HostSuffix(String),
    /// A Gatehouse category.
    Category(String),
    /// Everything (e.g. an incident sanction "no internet", combined with host-suffix
    /// allows for a small allow-list).
    All,
}

impl std::fmt::Display for OverrideTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OverrideTarget::HostSuffix(h) => write!(f, "host {h}"),
            OverrideTarget::Category(c) => write!(f, "category {c}"),
            OverrideTarget::All => write!(f, "everything"),
        }
    }
}

/// A per-person override, active while `at < until` (it expires exactly at `until`).
/// Among a person's active overrides the most specific wins: the longest matching host
/// suffix, then a category override, then `All`; at equal specificity the most
/// restrictive action. Overrides never apply to locked categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Person id (as in [`crate::decide::Identity::person`]).
    pub person: String,
    /// What it applies to.
    pub target: OverrideTarget,
    /// The action.
    pub action: Action,
    /// End (exclusive).
    pub until: Timestamp,
}

/// The school's own allow and deny lists of host suffixes (a listed `example.com` covers
/// its subdomains). Deny beats allow; the school's allow beats a group's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchoolLists {
    /// Always allowed (below locked lists, person overrides and the deny list).
    pub allow: Vec<String>,
    /// Always blocked (below locked lists and person overrides).
    pub deny: Vec<String>,
    /// Allowed for one group (policy name → host suffixes), e.g. an unblock request approved
    /// for a year group; below the school lists, above the group's category policy.
    pub group_allow: BTreeMap<String, Vec<String>>,
}

/// Whether people must have signed their agreements before they get through (the signing
/// gate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateMode {
    /// No gate.
    #[default]
    Off,
    /// Gated people get through as usual; their decisions are marked for the log.
    Audit,
    /// Gated people reach only the portal (and the walled garden).
    Enforce,
}

/// The signing gate: who is held at the portal until they have signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gate {
    /// Off, audit or enforce.
    pub mode: GateMode,
    /// Person ids (as in [`crate::decide::Identity::person`]) with an agreement overdue.
    pub people: std::collections::BTreeSet<String>,
    /// Groups held when no person is known (e.g. `unidentified` when guests must register).
    pub groups: std::collections::BTreeSet<String>,
    /// Host suffixes reachable through the gate (e.g. the school's sign-in provider).
    pub walled_garden: Vec<String>,
}
