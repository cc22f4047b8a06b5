//! The web filter as the rest of Gatehouse sees it: who a client address is, what the
//! block page says, unblock requests and their decisions, the captive portal's sign-ins,
//! the signing gate, and searching the activity log.
//!
//! [`FilterRuntime`] holds the running engine. The engine is rebuilt from the
//! installation's fixed configuration plus what is stored — approved unblock requests
//! (person overrides, group and school allows), the people the signing gate holds (an
//! agreement overdue) — whenever one of those changes ([`Gatehouse::refresh_filter`]),
//! so a decision takes effect at the next query.

use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_activity::{ActivityLog, ActivityRow, ActivitySearch};
use gatehouse_domain::filtering::{Reason, UnblockScope, UnblockStatus, filter_group};
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_filter::policy::GateMode;
use gatehouse_filter::{
    Database, Decision, Engine, EngineConfig, EngineHandle, Identity, Override, OverrideTarget,
    Rule,
};
use gatehouse_store::{NewUnblockRequest, PortalSession, UnblockDecision, UnblockRequest};
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// How someone was identified, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The identity decisions are made for.
    pub identity: Identity,
    /// Which step identified them (`source` for a portal sign-in, `binding:NAME`,
    /// `unidentified`).
    pub by: String,
}

/// Resolves a client address in the DNS filter's order (portal sign-in, subnet bindings,
/// unidentified), so that the block page names the same person the DNS filter did.
pub type Identifier = Arc<dyn Fn(IpAddr) -> Identified + Send + Sync>;

/// The signing gate's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateSettings {
    /// Off, audit or enforce.
    pub mode: GateMode,
    /// Hold unidentified clients too, until someone signs in at the portal.
    pub hold_unidentified: bool,
    /// Host suffixes reachable through the gate.
    pub walled_garden: Vec<String>,
}

#[derive(Debug, Clone)]
struct PortalBinding {
    person_id: i64,
    group: String,
    expires_at: Timestamp,
}

/// The running filter: the engine, the activity log, and the portal's bindings.
pub struct FilterRuntime {
    engines: Arc<EngineHandle>,
    base: EngineConfig,
    dynamic: Mutex<EngineConfig>,
    gate: GateSettings,
    portal: RwLock<HashMap<IpAddr, PortalBinding>>,
    identifier: RwLock<Option<Identifier>>,
    activity: Option<ActivityLog>,
    portal_hours: i64,
    retention: (u32, u32),
}

impl std::fmt::Debug for FilterRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterRuntime")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl FilterRuntime {
    /// A runtime deciding with `db` under `base` (the installation's policies and lists);
    /// `activity` is searched by the activity pages; portal sign-ins last `portal_hours`.
    pub fn new(
        db: Arc<Database>,
        base: EngineConfig,
        gate: GateSettings,
        activity: Option<ActivityLog>,
        portal_hours: i64,
    ) -> std::result::Result<Self, gatehouse_filter::Error> {
        let mut config = base.clone();
        config.gate.mode = gate.mode;
        config.gate.walled_garden = gate.walled_garden.clone();
        let engine = Engine::new(db, &config)?;
        Ok(Self {
            engines: Arc::new(EngineHandle::new(engine)),
            base,
            dynamic: Mutex::new(config),
            gate,
            portal: RwLock::default(),
            identifier: RwLock::default(),
            activity,
            portal_hours: portal_hours.max(1),
            retention: (
                gatehouse_activity::DEFAULT_RAW_DAYS,
                gatehouse_activity::DEFAULT_AGGREGATE_DAYS,
            ),
        })
    }

    /// How long the activity log keeps raw events and daily counts, in days (for the
    /// notice on everyone's account page).
    #[must_use]
    pub fn with_retention(mut self, raw_days: u32, daily_days: u32) -> Self {
        self.retention = (raw_days, daily_days);
        self
    }

    /// Raw-event and daily-count retention, in days.
    pub fn retention(&self) -> (u32, u32) {
        self.retention
    }

    /// The engine handle the DNS filter decides with.
    pub fn engines(&self) -> Arc<EngineHandle> {
        self.engines.clone()
    }

    /// The activity log, when one is kept.
    pub fn activity(&self) -> Option<&ActivityLog> {
        self.activity.as_ref()
    }

    /// Resolve clients with `identifier` (the DNS filter's own order) from now on.
    pub fn set_identifier(&self, identifier: Identifier) {
        *self
            .identifier
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(identifier);
    }

    /// The portal sign-in of `client`, if one is in force at `now`: the DNS filter's
    /// first identity source.
    pub fn portal_identity(&self, client: IpAddr, now: Timestamp) -> Option<Identity> {
        let map = self.portal.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&client.to_canonical())
            .filter(|b| now < b.expires_at)
            .map(|b| Identity::person(&b.person_id.to_string(), &b.group))
    }

    /// Who `client` is.
    pub fn identify(&self, client: IpAddr, now: Timestamp) -> Identified {
        let identifier = self
            .identifier
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(f) = identifier {
            return f(client);
        }
        match self.portal_identity(client, now) {
            Some(identity) => Identified {
                identity,
                by: "source".into(),
            },
            None => Identified {
                identity: Identity::group(&self.base.policies.fallback),
                by: "unidentified".into(),
            },
        }
    }

    /// Put a new lists database in service (after `gatehouse lists update`).
    pub fn replace_database(
        &self,
        db: Database,
    ) -> std::result::Result<(), gatehouse_filter::Error> {
        let config = self.dynamic.lock().unwrap_or_else(PoisonError::into_inner);
        let engine = Engine::new(Arc::new(db), &config)?;
        self.engines.store(engine);
        Ok(())
    }

    /// Rebuild the engine over the current database with `config`.
    fn install(&self, config: EngineConfig) -> std::result::Result<(), gatehouse_filter::Error> {
        let mut current = self.dynamic.lock().unwrap_or_else(PoisonError::into_inner);
        let engine = Engine::new(self.engines.load().database().clone(), &config)?;
        self.engines.store(engine);
        *current = config;
        Ok(())
    }

    /// A decision for `who` now.
    pub fn decide(&self, who: &Identity, host: &str, at: Timestamp) -> Decision {
        self.engines.load().decide(who, host, at)
    }

    /// The description of a category, for pages.
    pub fn category_description(&self, name: &str) -> Option<String> {
        let engine = self.engines.load();
        let t = engine.taxonomy();
        t.id(name)
            .and_then(|id| t.get(id))
            .map(|c| c.description.clone())
    }
}

/// What the block page shows.
#[derive(Debug, Clone)]
pub struct BlockPage {
    /// The host asked for.
    pub host: String,
    /// The decision for the client now.
    pub decision: Decision,
    /// Who it was decided for.
    pub who: Identified,
    /// The person's name, when identified.
    pub person_name: Option<String>,
    /// Requests already made from this client (or by this person), newest first.
    pub requests: Vec<UnblockRequest>,
    /// A plain-words explanation suited to the group's age.
    pub explanation: String,
    /// The category's description, if any.
    pub category_description: Option<String>,
}

/// Plain words for why `d` blocked a page, suited to someone in `group`.
pub fn explain_for(group: &str, d: &Decision) -> String {
    let young = matches!(group, "eyfs_ks1" | "ks2");
    let category = d.category.as_deref().map(|c| c.replace('_', " "));
    if d.rule == Rule::Gate {
        return if group == "unidentified" {
            "To use the internet here, sign in at the portal with your school account, or register as a visitor.".into()
        } else if young {
            "You need to read and agree to the rules for using the internet at school first. Ask your teacher to help you.".into()
        } else {
            "You have an acceptable use agreement to sign before you can use the internet here. Sign it on the portal and you will be let through within a second.".into()
        };
    }
    if young {
        return "This website is blocked to help keep you safe. If you need it for your learning, tell your teacher or ask for it below.".into();
    }
    match (&d.rule, category) {
        (Rule::LockedList { .. }, _) => {
            "This address is on a list of illegal content that every UK school must block. It cannot be unblocked.".into()
        }
        (_, Some(c)) if group.starts_with("ks") || group == "sixth_form" => format!(
            "The school's web filter blocks sites in the category \"{c}\" for your year group. If you need this site for your studies, say why below and the online safety lead will look at it."
        ),
        (_, Some(c)) => format!(
            "Blocked by the school's web filter: category \"{c}\" ({}). If you need this site for your work, say why below.",
            d.explain()
        ),
        (_, None) => format!(
            "Blocked by the school's web filter ({}). If you need this site, say why below.",
            d.explain()
        ),
    }
}

/// The activity search form, as submitted.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    /// A person: username or person id.
    pub person: Option<String>,
    /// The filter group.
    pub group: Option<String>,
    /// The client address.
    pub client_ip: Option<IpAddr>,
    /// A domain and its subdomains.
    pub domain: Option<String>,
    /// A category.
    pub category: Option<String>,
    /// An action.
    pub action: Option<gatehouse_filter::Action>,
    /// A registered device (its name; DNS over HTTPS with a device token).
    pub device: Option<String>,
    /// From (inclusive).
    pub from: Option<Timestamp>,
    /// To (exclusive).
    pub to: Option<Timestamp>,
    /// Why a named person's activity is looked at (required then).
    pub reason: Option<String>,
    /// Rows.
    pub limit: usize,
    /// Older than this cursor.
    pub before: Option<gatehouse_activity::ActivityCursor>,
}

/// A page of activity with the names of the people in it.
#[derive(Debug, Clone, Default)]
pub struct ActivityPage {
    /// The rows, newest first.
    pub rows: Vec<ActivityRow>,
    /// Person id → "First Last".
    pub names: HashMap<String, String>,
    /// The person searched for, when one was.
    pub person: Option<(i64, String)>,
}

/// The settings of an unblock decision as the form submits them.
#[derive(Debug, Clone)]
pub struct DecideUnblock {
    /// Approve or decline.
    pub approve: bool,
    /// Whom an approval lets through.
    pub scope: UnblockScope,
    /// Until (exclusive) when given.
    pub until: Option<Timestamp>,
    /// A note to the requester (required when declining).
    pub note: String,
}

/// Add a stored override to the engine's configuration: an action for a host (or for
/// everything) for a person, a group or the school, or another group's policy for a person.
fn apply_override(config: &mut EngineConfig, o: &gatehouse_store::FilterOverride) {
    if let (UnblockScope::Person, Some(policy)) = (o.scope, &o.policy) {
        config
            .person_policies
            .insert(o.subject.clone(), policy.clone());
        return;
    }
    let Some(action) = o
        .action
        .as_deref()
        .and_then(gatehouse_filter::Action::parse)
    else {
        tracing::warn!(
            id = o.id,
            "override with neither an action nor a policy skipped"
        );
        return;
    };
    match (o.scope, &o.host) {
        (UnblockScope::Person, host) => config.overrides.push(Override {
            person: o.subject.clone(),
            target: host
                .clone()
                .map_or(OverrideTarget::All, OverrideTarget::HostSuffix),
            action,
            until: o.until.unwrap_or(Timestamp::MAX),
        }),
        (UnblockScope::Group, Some(host)) if action == gatehouse_filter::Action::Allow => config
            .lists
            .group_allow
            .entry(o.subject.clone())
            .or_default()
            .push(host.clone()),
        (UnblockScope::School, Some(host)) if action == gatehouse_filter::Action::Allow => {
            config.lists.allow.push(host.clone());
        }
        (UnblockScope::School, Some(host)) if action == gatehouse_filter::Action::Block => {
            config.lists.deny.push(host.clone());
        }
        _ => tracing::warn!(
            id = o.id,
            "override of a kind the filter cannot apply skipped"
        ),
    }
}

impl Gatehouse {
    fn filter_runtime(&self) -> Result<&Arc<FilterRuntime>> {
        self.filter.as_ref().ok_or_else(|| {
            ServiceError::Invalid("the web filter is not running on this installation".into())
        })
    }

    /// Rebuild the filter from what is stored: approved overrides, portal sign-ins, and the
    /// people the signing gate holds. Called after every change to those, and every
    /// minute (so overrides and sign-ins end on time and changes made from the command
    /// line are seen).
    pub async fn refresh_filter(&self) -> Result<()> {
        let Some(rt) = &self.filter else {
            return Ok(());
        };
        let school = self.school().await?;
        let now = self.clock.now();
        let mut config = rt.base.clone();
        for o in self.store.active_overrides(school.id, now).await? {
            apply_override(&mut config, &o);
        }
        // portal sign-ins
        let mut bindings = HashMap::new();
        for s in self.store.portal_sessions(now).await? {
            let Ok(ip) = s.client_ip.parse::<IpAddr>() else {
                continue;
            };
            let group = self.person_group(school.id, s.person_id).await?;
            bindings.insert(
                ip,
                PortalBinding {
                    person_id: s.person_id,
                    group,
                    expires_at: s.expires_at,
                },
            );
        }
        *rt.portal.write().unwrap_or_else(PoisonError::into_inner) = bindings;
        // the signing gate
        config.gate.mode = rt.gate.mode;
        config.gate.walled_garden = rt.gate.walled_garden.clone();
        if rt.gate.mode != GateMode::Off {
            config.gate.people = self.overdue_people(school.id).await?;
            if rt.gate.hold_unidentified {
                config.gate.groups = BTreeSet::from([rt.base.policies.fallback.clone()]);
            }
        }
        rt.install(config)
            .map_err(|e| ServiceError::Invalid(format!("the filter could not be rebuilt: {e}")))
    }

    /// The ids (as text) of everyone with an agreement overdue.
    async fn overdue_people(&self, school: i64) -> Result<BTreeSet<String>> {
        let policies = self.store.policies(school).await?;
        let people = self.store.active_people(school).await?;
        let records = self.store.signatures(school, None).await?;
        let today = self.today();
        let mut out = BTreeSet::new();
        for p in policies.into_iter().filter(|p| p.published().is_some()) {
            let reg =
                crate::agreements::build_register(p, &people, &records, &Default::default(), today);
            for row in reg.rows {
                if matches!(
                    row.status,
                    gatehouse_domain::agreements::requirement::Status::Overdue { .. }
                ) {
                    out.insert(row.person.id.to_string());
                }
            }
        }
        Ok(out)
    }

    /// The filter group of a person (the fallback policy when they have none).
    async fn person_group(&self, school: i64, person: i64) -> Result<String> {
        let fallback = || {
            self.filter
                .as_ref()
                .map(|rt| rt.base.policies.fallback.clone())
                .unwrap_or_else(|| "unidentified".into())
        };
        Ok(match self.store.person(school, person).await? {
            Some(r) if r.person.active => {
                filter_group(r.person.details.kind, r.person.details.year_group)
                    .map(str::to_owned)
                    .unwrap_or_else(fallback)
            }
            _ => fallback(),
        })
    }

    async fn person_name(&self, school: i64, id: &str) -> Result<Option<String>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self.store.person(school, id).await?.map(|r| {
            format!(
                "{} {}",
                r.person.details.first_name.as_str(),
                r.person.details.last_name.as_str()
            )
        }))
    }

    /// What the block page shows to `client` for `host`.
    pub async fn block_page(&self, client: IpAddr, host: &str) -> Result<BlockPage> {
        let rt = self.filter_runtime()?;
        let now = self.clock.now();
        let school = self.school().await?;
        let who = rt.identify(client, now);
        let decision = rt.decide(&who.identity, host, now);
        let person_name = match &who.identity.person {
            Some(p) => self.person_name(school.id, p).await?,
            None => None,
        };
        let requests = self.requests_of(school.id, client, &who, now).await?;
        let requests = requests.into_iter().filter(|r| r.host == host).collect();
        let category_description = decision
            .category
            .as_deref()
            .and_then(|c| rt.category_description(c));
        Ok(BlockPage {
            host: host.to_owned(),
            explanation: explain_for(&who.identity.group, &decision),
            decision,
            who,
            person_name,
            requests,
            category_description,
        })
    }

    /// The requests of whoever is at `client`: the person's, or the address's of the last
    /// week when nobody is signed in.
    async fn requests_of(
        &self,
        school: i64,
        client: IpAddr,
        who: &Identified,
        now: Timestamp,
    ) -> Result<Vec<UnblockRequest>> {
        match who
            .identity
            .person
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
        {
            Some(person) => Ok(self
                .store
                .unblock_requests(school, None, Some(person), 50)
                .await?),
            None => Ok(self
                .store
                .unblock_requests_from(
                    school,
                    &client.to_canonical().to_string(),
                    now - SignedDuration::from_hours(24 * 7),
                )
                .await?),
        }
    }

    /// Ask for `host` to be unblocked, from the block page at `client`. Refused for a host
    /// that is not blocked for them, for a locked list, and when the same request is
    /// already waiting.
    pub async fn request_unblock(
        &self,
        client: IpAddr,
        host: &str,
        reason: &str,
    ) -> Result<UnblockRequest> {
        let rt = self.filter_runtime()?;
        let reason = Reason::parse("reason", reason)?;
        let now = self.clock.now();
        let school = self.school().await?;
        let who = rt.identify(client, now);
        let d = rt.decide(&who.identity, host, now);
        let host = gatehouse_filter::normalise_domain(gatehouse_filter::Request::parse(host).host)
            .map_err(|e| ServiceError::Invalid(format!("host: {e}")))?
            .into_string();
        if !matches!(
            d.action,
            gatehouse_filter::Action::Block | gatehouse_filter::Action::Warn
        ) {
            return Err(ServiceError::Invalid(format!(
                "{host} is not blocked for you"
            )));
        }
        if matches!(d.rule, Rule::LockedList { .. } | Rule::Gate) {
            return Err(ServiceError::Invalid(
                "this block cannot be lifted by a request".into(),
            ));
        }
        let mine = self.requests_of(school.id, client, &who, now).await?;
        if mine
            .iter()
            .any(|r| r.host == host && r.status == UnblockStatus::Pending)
        {
            return Err(ServiceError::Invalid(format!(
                "you have already asked for {host}; the online safety lead will look at it"
            )));
        }
        let person_id = who.identity.person.as_deref().and_then(|p| p.parse().ok());
        let ip = client.to_canonical().to_string();
        let actor = match person_id {
            Some(p) => format!("person:{p}"),
            None => format!("client:{ip}"),
        };
        let event = gatehouse_domain::audit::AuditEvent {
            actor,
            action: "unblock.request".into(),
            target: None,
            ip: Some(ip.clone()),
            detail: serde_json::json!({ "host": host, "rule": d.rule.to_string() }).to_string(),
        };
        Ok(self
            .store
            .create_unblock_request(
                school.id,
                &NewUnblockRequest {
                    host,
                    category: d.category.as_deref().map(str::to_owned),
                    rule: d.rule.to_string(),
                    client_ip: Some(ip),
                    person_id,
                    group: who.identity.group.clone(),
                    reason: reason.as_str().to_owned(),
                },
                now,
                event,
            )
            .await?)
    }

    /// The unblock requests queue: pending first, then the latest decided.
    pub async fn unblock_queue(
        &self,
        actor: &Actor,
    ) -> Result<(Vec<UnblockRequest>, Vec<UnblockRequest>)> {
        actor.require(Action::View, Resource::UnblockRequests)?;
        let school = self.school().await?;
        let pending = self
            .store
            .unblock_requests(school.id, Some(UnblockStatus::Pending), None, 500)
            .await?;
        let mut decided = self
            .store
            .unblock_requests(school.id, None, None, 100)
            .await?;
        decided.retain(|r| r.status != UnblockStatus::Pending);
        Ok((pending, decided))
    }

    /// Approve or decline a request. An approval writes an allow into the filter at
    /// once (for the person, their group or the school, optionally until a date).
    pub async fn decide_unblock(
        &self,
        actor: &Actor,
        id: i64,
        d: &DecideUnblock,
    ) -> Result<UnblockRequest> {
        actor.require(Action::Edit, Resource::UnblockRequests)?;
        let note = d.note.trim();
        if !d.approve && note.is_empty() {
            return Err(ServiceError::Invalid(
                "note: say why the request is declined".into(),
            ));
        }
        let now = self.clock.now();
        if d.until.is_some_and(|u| u <= now) {
            return Err(ServiceError::Invalid(
                "until: the end must be in the future".into(),
            ));
        }
        let school = self.school().await?;
        let verb = if d.approve {
            "unblock.approve"
        } else {
            "unblock.decline"
        };
        let event = actor.event(
            verb,
            Some(format!("unblock_request:{id}")),
            serde_json::json!({
                "scope": d.scope.as_str(),
                "until": d.until.map(|t| t.to_string()),
                "note": note,
            }),
        );
        let decided = self
            .store
            .decide_unblock_request(
                school.id,
                id,
                &UnblockDecision {
                    approve: d.approve,
                    scope: d.scope,
                    until: d.until,
                    note: (!note.is_empty()).then(|| note.to_owned()),
                    by: actor.name.clone(),
                },
                now,
                event,
            )
            .await?;
        self.refresh_filter().await?;
        Ok(decided)
    }

    /// Bind `client` to the signed-in person (the captive portal's "use the internet on
    /// this device"); their own policy applies to the address at once.
    pub async fn portal_connect(&self, actor: &Actor, client: IpAddr) -> Result<Timestamp> {
        let rt = self.filter_runtime()?;
        let (Some(person), Some(account)) = (actor.person_id, actor.account_id) else {
            return Err(ServiceError::Invalid(
                "this account is not linked to a person; ask the school office".into(),
            ));
        };
        let school = self.school().await?;
        let now = self.clock.now();
        let expires_at = now + SignedDuration::from_hours(rt.portal_hours);
        let ip = client.to_canonical().to_string();
        self.store
            .start_portal_session(
                school.id,
                &PortalSession {
                    client_ip: ip.clone(),
                    person_id: person,
                    account_id: account,
                    signed_in_at: now,
                    expires_at,
                },
                actor.event(
                    "portal.connect",
                    Some(format!("person:{person}")),
                    serde_json::json!({ "client_ip": ip }),
                ),
            )
            .await?;
        self.refresh_filter().await?;
        Ok(expires_at)
    }

    /// End the portal binding of `client`.
    pub async fn portal_disconnect(&self, actor: &Actor, client: IpAddr) -> Result<bool> {
        self.filter_runtime()?;
        let ip = client.to_canonical().to_string();
        let ended = self
            .store
            .end_portal_session(
                &ip,
                self.clock.now(),
                actor.event(
                    "portal.disconnect",
                    None,
                    serde_json::json!({ "client_ip": ip }),
                ),
            )
            .await?;
        self.refresh_filter().await?;
        Ok(ended)
    }

    /// Whether `client` is bound to the actor's person, and until when.
    pub fn portal_binding(&self, actor: &Actor, client: IpAddr) -> Option<Timestamp> {
        let rt = self.filter.as_ref()?;
        let person = actor.person_id?;
        let map = rt.portal.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&client.to_canonical())
            .filter(|b| b.person_id == person && self.clock.now() < b.expires_at)
            .map(|b| b.expires_at)
    }

    /// The actor's own unblock requests and recent blocks (for the portal).
    pub async fn my_filtering(
        &self,
        actor: &Actor,
    ) -> Result<(Vec<UnblockRequest>, Vec<ActivityRow>)> {
        let Some(person) = actor.person_id else {
            return Ok((Vec::new(), Vec::new()));
        };
        let school = self.school().await?;
        let requests = self
            .store
            .unblock_requests(school.id, None, Some(person), 50)
            .await?;
        let blocks = match self.filter.as_ref().and_then(|rt| rt.activity()) {
            Some(log) => log
                .search(&ActivitySearch {
                    person: Some(person.to_string()),
                    action: Some(gatehouse_filter::Action::Block),
                    limit: 20,
                    ..ActivitySearch::default()
                })
                .await
                .map_err(|e| ServiceError::Invalid(format!("reading the activity log: {e}")))?,
            None => Vec::new(),
        };
        Ok((requests, blocks))
    }

    /// Search the activity log. Every search is audited; naming a person needs a reason,
    /// which the audit entry records.
    pub async fn search_activity(&self, actor: &Actor, q: &ActivityQuery) -> Result<ActivityPage> {
        actor.require(Action::View, Resource::Activity)?;
        let search = self.activity_search(actor, q, "activity.search").await?;
        let rt = self.filter_runtime()?;
        let log = rt.activity().ok_or_else(|| {
            ServiceError::Invalid("no activity log is kept on this installation".into())
        })?;
        let rows = log
            .search(&search.0)
            .await
            .map_err(|e| ServiceError::Invalid(format!("reading the activity log: {e}")))?;
        let school = self.school().await?;
        let mut names = HashMap::new();
        for p in rows.iter().filter_map(|r| r.person.as_deref()) {
            if !names.contains_key(p)
                && let Some(n) = self.person_name(school.id, p).await?
            {
                names.insert(p.to_owned(), n);
            }
        }
        Ok(ActivityPage {
            rows,
            names,
            person: search.1,
        })
    }

    /// Write the activity matching `q` as CSV (audited like a search).
    pub async fn export_activity(&self, actor: &Actor, q: &ActivityQuery) -> Result<Vec<u8>> {
        actor.require(Action::View, Resource::Activity)?;
        let (search, _) = self.activity_search(actor, q, "activity.export").await?;
        let rt = self.filter_runtime()?;
        let log = rt.activity().ok_or_else(|| {
            ServiceError::Invalid("no activity log is kept on this installation".into())
        })?;
        let mut out = Vec::new();
        log.export_csv(&search, &mut out)
            .await
            .map_err(|e| ServiceError::Invalid(format!("exporting the activity log: {e}")))?;
        Ok(out)
    }

    /// The store query for `q`, after checking the reason and writing the audit entry.
    async fn activity_search(
        &self,
        actor: &Actor,
        q: &ActivityQuery,
        verb: &str,
    ) -> Result<(ActivitySearch, Option<(i64, String)>)> {
        let school = self.school().await?;
        let person = match q.person.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(p) => {
                let id = match p.trim_start_matches('#').parse::<i64>() {
                    Ok(id) => Some(id),
                    Err(_) => self
                        .store
                        .account_by_username(p)
                        .await?
                        .and_then(|a| a.person_id),
                };
                let id = id.ok_or_else(|| {
                    ServiceError::Invalid(format!("person: no person or username '{p}'"))
                })?;
                let name = self
                    .person_name(school.id, &id.to_string())
                    .await?
                    .ok_or_else(|| ServiceError::Invalid(format!("person: no person {id}")))?;
                Some((id, name))
            }
        };
        let reason = match (&person, q.reason.as_deref()) {
            (Some(_), r) => Some(Reason::parse("reason", r.unwrap_or(""))?),
            (None, Some(r)) if !r.trim().is_empty() => Some(Reason::parse("reason", r)?),
            _ => None,
        };
        let detail = serde_json::json!({
            "reason": reason.as_ref().map(Reason::as_str),
            "group": q.group, "client_ip": q.client_ip.map(|i| i.to_string()),
            "domain": q.domain, "category": q.category,
            "action": q.action.map(|a| a.as_str()), "device": q.device,
            "from": q.from.map(|t| t.to_string()), "to": q.to.map(|t| t.to_string()),
        });
        self.store
            .append_audit(
                self.clock.now(),
                actor.event(
                    verb,
                    person.as_ref().map(|(id, _)| format!("person:{id}")),
                    detail,
                ),
            )
            .await?;
        Ok((
            ActivitySearch {
                person: person.as_ref().map(|(id, _)| id.to_string()),
                group: q.group.clone(),
                client_ip: q.client_ip,
                domain: q.domain.clone(),
                category: q.category.clone(),
                action: q.action,
                device: q.device.clone(),
                from: q.from,
                to: q.to,
                limit: q.limit.clamp(1, 500),
                offset: 0,
                before: q.before,
            },
            person,
        ))
    }
}

/// A visitor registering at the portal.
#[derive(Debug, Clone, Default)]
pub struct VisitorRequest {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Whom they are visiting.
    pub visiting: String,
    /// Why.
    pub reason: String,
}

/// How many visitors one device may register in a day (a guest network is shared, but a
/// flood of registrations from one address is not a visit).
pub const VISITORS_PER_DEVICE_PER_DAY: usize = 20;

impl Gatehouse {
    /// Register a visitor at the portal from `client`: their person record (kind visitor)
    /// and a sign-in account of their own, signed in now, with the device bound to them.
    /// They then sign the visitor agreement like anyone else. Returns the new session.
    pub async fn register_visitor(
        &self,
        client: IpAddr,
        req: &VisitorRequest,
        user_agent: Option<&str>,
    ) -> Result<crate::auth::SignedIn> {
        self.filter_runtime()?;
        let first = gatehouse_domain::people::PersonName::parse(&req.first_name)
            .map_err(|e| ServiceError::Invalid(format!("first name: {e}")))?;
        let last = gatehouse_domain::people::PersonName::parse(&req.last_name)
            .map_err(|e| ServiceError::Invalid(format!("last name: {e}")))?;
        let visiting = Reason::parse("visiting", &req.visiting)?;
        let reason = Reason::parse("reason", &req.reason)?;
        let school = self.school().await?;
        let now = self.clock.now();
        let ip = client.to_canonical().to_string();
        let recent = self
            .store
            .search_audit(&gatehouse_store::AuditFilter {
                action: Some("portal.visitor".into()),
                from: Some(now - SignedDuration::from_hours(24)),
                limit: 1_000,
                ..Default::default()
            })
            .await?
            .into_iter()
            .filter(|e| e.event.ip.as_deref() == Some(ip.as_str()))
            .count();
        if recent >= VISITORS_PER_DEVICE_PER_DAY {
            return Err(ServiceError::Invalid(
                "too many visitors have registered on this device today; please ask at reception"
                    .into(),
            ));
        }
        let username = format!("visitor-{}", crate::secrets::random_hex(5));
        let password = crate::secrets::random_hex(24);
        let hash = crate::auth::hash_password(&gatehouse_domain::password::check_new_password(
            &password,
            &username,
            &[],
        )?)?;
        let details = gatehouse_domain::people::PersonDetails {
            kind: gatehouse_domain::people::PersonKind::Visitor,
            mis_id: None,
            first_name: first,
            last_name: last,
            email: None,
            year_group: None,
            class_name: None,
            job_title: None,
            start_date: Some(self.today()),
            leave_date: Some(self.today()),
        };
        let event = gatehouse_domain::audit::AuditEvent {
            actor: username.clone(),
            action: "portal.visitor".into(),
            target: None,
            ip: Some(ip.clone()),
            detail: serde_json::json!({
                "name": details.full_name(),
                "visiting": visiting.as_str(),
                "reason": reason.as_str(),
            })
            .to_string(),
        };
        let (person, account) = self
            .store
            .register_visitor(
                school.id,
                &details,
                &gatehouse_store::NewAccount {
                    school_id: school.id,
                    person_id: None,
                    username: username.clone(),
                    password_hash: hash,
                    roles: vec![gatehouse_domain::permissions::Role::Visitor],
                },
                now,
                event,
            )
            .await?;
        let signed = self
            .sign_in(&username, &password, Some(&ip), user_agent)
            .await?;
        let actor = Actor {
            account_id: Some(account),
            person_id: Some(person),
            name: username,
            roles: vec![gatehouse_domain::permissions::Role::Visitor],
            ip: Some(ip),
        };
        self.portal_connect(&actor, client).await?;
        Ok(signed)
    }
}
