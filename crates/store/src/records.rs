//! The records the store reads and writes.

use gatehouse_domain::people::{PersonDetails, PersonKind};
use gatehouse_domain::permissions::Role;
use jiff::Timestamp;
use serde::Serialize;

/// A school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct School {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// What the people directory is asked for.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    /// Words that must each appear in the name, email or MIS id.
    pub query: Option<String>,
    /// Only this kind.
    pub kind: Option<PersonKind>,
    /// Only this year group (stored code: `N`, `R`, `1`…).
    pub year_group: Option<String>,
    /// Only this class.
    pub class_name: Option<String>,
    /// Include leavers.
    pub include_inactive: bool,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A page of the directory.
#[derive(Debug, Clone, Serialize)]
pub struct PeoplePage {
    /// The rows.
    pub people: Vec<Person>,
    /// How many match in all.
    pub total: i64,
}

/// A person as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Id.
    pub id: i64,
    /// Details.
    #[serde(flatten)]
    pub details: PersonDetails,
    /// False for leavers.
    pub active: bool,
    /// The day the record was first stored (when no start date is known, the day they joined).
    pub recorded_on: jiff::civil::Date,
}

/// A short reference to a linked person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRef {
    /// Id.
    pub id: i64,
    /// "First Last".
    pub name: String,
    /// Kind.
    pub kind: PersonKind,
}

/// A person with links, for the person page.
#[derive(Debug, Clone, Serialize)]
pub struct PersonRecord {
    /// The person.
    pub person: Person,
    /// Their parents and carers.
    pub parents: Vec<PersonRef>,
    /// Their children.
    pub children: Vec<PersonRef>,
    /// Their sign-in account, if any.
    pub account: Option<Account>,
    /// When first stored.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// Values in use, for the directory's filters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    /// Year groups, as stored codes, in school order.
    pub year_groups: Vec<String>,
    /// Classes, sorted.
    pub classes: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// People created.
    pub created: usize,
    /// People updated (including reactivated).
    pub updated: usize,
    /// People marked as leavers.
    pub leavers: usize,
    /// Parent–child links added.
    pub links_added: usize,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// School.
    pub school_id: i64,
    /// The person it belongs to, if any.
    pub person_id: Option<i64>,
    /// Username (stored lower-case).
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// A sign-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Id.
    pub id: i64,
    /// School.
    pub school_id: i64,
    /// The person it belongs to.
    pub person_id: Option<i64>,
    /// The person's name, if linked.
    pub display_name: Option<String>,
    /// Username.
    pub username: String,
    /// Argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// TOTP secret (base32), when enrolled.
    #[serde(skip)]
    pub mfa_secret: Option<String>,
    /// Whether sign-in asks for the second factor.
    pub mfa_enabled: bool,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Roles held.
    pub roles: Vec<Role>,
}

/// A signed-in session. Only the hash of the cookie value is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value, hex.
    pub id_hash: String,
    /// Account.
    pub account_id: i64,
    /// Whether the second factor was given (or not needed).
    pub mfa_passed: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Ends.
    pub expires_at: Timestamp,
    /// Client address at sign-in.
    pub ip: Option<String>,
    /// Browser at sign-in.
    pub user_agent: Option<String>,
}

/// An API token (the secret itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// Account it acts as.
    pub account_id: i64,
    /// What it is for.
    pub label: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last used.
    pub last_used_at: Option<Timestamp>,
    /// Revoked.
    pub revoked_at: Option<Timestamp>,
}

/// An audit search.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actor (exact).
    pub actor: Option<String>,
    /// Action prefix, e.g. `person.`.
    pub action: Option<String>,
    /// Target (exact), e.g. `person:12`.
    pub target: Option<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    /// Page size.
    pub limit: i64,
    /// Only entries older than this sequence number (for paging).
    pub before_seq: Option<i64>,
}

/// A new agreement policy.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    /// Title.
    pub title: String,
    /// Who signs it.
    pub audience: gatehouse_domain::agreements::Audience,
    /// Who owns it (e.g. "Headteacher").
    pub owner: String,
    /// Days allowed to sign.
    pub days_to_sign: u16,
    /// Re-sign every academic year from this (month, day).
    pub annual_from: Option<(i8, i8)>,
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Being written.
    Draft,
    /// Approved (by the governing body or trust board), not yet published.
    Approved,
    /// In force (from its effective date).
    Published,
    /// Replaced by a later published version.
    Superseded,
}

impl VersionStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Approved => "approved",
            Self::Published => "published",
            Self::Superseded => "superseded",
        }
    }
    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Approved => "Approved",
            Self::Published => "Published",
            Self::Superseded => "Superseded",
        }
    }
}

/// A version of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVersion {
    /// Id.
    pub id: i64,
    /// Policy.
    pub policy_id: i64,
    /// 1, 2, 3…
    pub number: u32,
    /// Status.
    pub status: VersionStatus,
    /// Canonical Markdown.
    pub body: String,
    /// SHA-256 of the body.
    pub hash: String,
    /// Signers must sign again.
    pub material: bool,
    /// What changed.
    pub change_note: String,
    /// Approved by (e.g. "Full governing body").
    pub approved_by: Option<String>,
    /// Approved on.
    pub approved_on: Option<jiff::civil::Date>,
    /// In force from.
    pub effective_on: Option<jiff::civil::Date>,
    /// Next review due.
    pub review_on: Option<jiff::civil::Date>,
    /// When published.
    pub published_at: Option<Timestamp>,
    /// Author (username).
    pub created_by: String,
    /// Created.
    pub created_at: Timestamp,
}

/// A policy with all its versions (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Audience.
    pub audience: gatehouse_domain::agreements::Audience,
    /// Owner.
    pub owner: String,
    /// Days allowed to sign.
    pub days_to_sign: u16,
    /// Annual re-signing date (month, day).
    pub annual_from: Option<(i8, i8)>,
    /// Versions, oldest first.
    pub versions: Vec<PolicyVersion>,
}

impl Policy {
    /// The newest published version (in force or about to be).
    pub fn published(&self) -> Option<&PolicyVersion> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.status == VersionStatus::Published)
    }
}

/// A new draft version.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Policy.
    pub policy_id: i64,
    /// Canonical Markdown.
    pub body: String,
    /// Its SHA-256.
    pub hash: String,
    /// Signers must sign again once it is published.
    pub material: bool,
    /// What changed.
    pub change_note: String,
    /// Author.
    pub created_by: String,
}

/// A request to unblock a site, from the block page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnblockRequest {
    /// Id.
    pub id: i64,
    /// When it was made.
    pub created_at: Timestamp,
    /// The blocked host.
    pub host: String,
    /// The category it was blocked for, if any.
    pub category: Option<String>,
    /// The filter rule that blocked it (compact form).
    pub rule: String,
    /// The address the request came from.
    pub client_ip: Option<String>,
    /// Who asked, when they were identified.
    pub person: Option<PersonRef>,
    /// The filter group the block applied to.
    pub group: String,
    /// Why they need it.
    pub reason: String,
    /// Where it stands.
    pub status: gatehouse_domain::filtering::UnblockStatus,
    /// Whom an approval lets through.
    pub scope: Option<gatehouse_domain::filtering::UnblockScope>,
    /// When an approval ends (exclusive), if it does.
    pub until: Option<Timestamp>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// The decider's note to the requester.
    pub note: Option<String>,
}

/// A new unblock request, as the block page submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnblockRequest {
    /// The blocked host.
    pub host: String,
    /// The category it was blocked for.
    pub category: Option<String>,
    /// The rule that blocked it.
    pub rule: String,
    /// Where the request came from.
    pub client_ip: Option<String>,
    /// Who asked, when known.
    pub person_id: Option<i64>,
    /// Their filter group.
    pub group: String,
    /// Why.
    pub reason: String,
}

/// What the online safety lead decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnblockDecision {
    /// Approved (an allow is written into the filter) or declined.
    pub approve: bool,
    /// Whom an approval lets through.
    pub scope: gatehouse_domain::filtering::UnblockScope,
    /// When an approval ends (exclusive).
    pub until: Option<Timestamp>,
    /// A note for the requester (required when declining).
    pub note: Option<String>,
    /// Who decided (username).
    pub by: String,
}

/// An override the filter applies on top of its lists and policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterOverride {
    /// Id.
    pub id: i64,
    /// Person, group or school.
    pub scope: gatehouse_domain::filtering::UnblockScope,
    /// Person id, group name, or empty for the school.
    pub subject: String,
    /// The host suffix it applies to; `None`: everything (person scope only).
    pub host: Option<String>,
    /// `allow`, `block`, `warn` or `log` (`None` when `policy` is set).
    pub action: Option<String>,
    /// The group policy that applies to the person instead of their own (person scope
    /// only; `None` when `action` is set).
    pub policy: Option<String>,
    /// End (exclusive), if any.
    pub until: Option<Timestamp>,
    /// What wrote it, e.g. `unblock:12`, `incident:3`.
    pub source: String,
}

/// A captive-portal sign-in: while it lasts, DNS queries from `client_ip` are the person's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortalSession {
    /// The client's address (canonical text form).
    pub client_ip: String,
    /// The person.
    pub person_id: i64,
    /// The account they signed in with.
    pub account_id: i64,
    /// When.
    pub signed_in_at: Timestamp,
    /// When it ends by itself.
    pub expires_at: Timestamp,
}

/// A new monitoring alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertRecord {
    /// The rule, e.g. `category:self_harm`.
    pub rule: String,
    /// `person:ID` or `client:IP`.
    pub subject: String,
    /// The person, when identified.
    pub person_id: Option<i64>,
    /// The device's address.
    pub client_ip: Option<String>,
    /// The filter group.
    pub group: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// What happened, in words.
    pub summary: String,
    /// When (the first evidence event's time).
    pub at: Timestamp,
    /// The evidence: (event time, event as JSON).
    pub evidence: Vec<(Timestamp, String)>,
}

/// A stored monitoring alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    /// Id.
    pub id: i64,
    /// The rule.
    pub rule: String,
    /// `person:ID` or `client:IP`.
    pub subject: String,
    /// The person, when identified.
    pub person: Option<PersonRef>,
    /// The device's address.
    pub client_ip: Option<String>,
    /// The filter group.
    pub group: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// What happened.
    pub summary: String,
    /// First event.
    pub first_at: Timestamp,
    /// Latest event folded in.
    pub last_at: Timestamp,
    /// How many times the rule was tripped (folded repeats included).
    pub count: i64,
    /// `new`, `acknowledged`, `dismissed` or `escalated`.
    pub status: String,
    /// Who last changed the status.
    pub handled_by: Option<String>,
    /// When.
    pub handled_at: Option<Timestamp>,
    /// The reason given for a dismissal (or an escalation's note).
    pub note: Option<String>,
    /// When the DSL was told.
    pub notified_at: Option<Timestamp>,
    /// The incident it was escalated into.
    pub incident_id: Option<i64>,
}

/// Someone involved in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentPerson {
    /// Their record in the directory, if they have one.
    pub person_id: Option<i64>,
    /// Their name as recorded.
    pub name: String,
    /// `pupil`, `staff` or `other`.
    pub kind: String,
    /// Their part in it.
    pub involvement: gatehouse_domain::incidents::Involvement,
}

/// A new incident or concern.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// What kind.
    pub kind: gatehouse_domain::incidents::IncidentKind,
    /// A one-line summary.
    pub summary: String,
    /// What happened.
    pub description: String,
    /// How serious.
    pub severity: gatehouse_domain::incidents::Severity,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Username of who reported it.
    pub reporter: String,
    /// Their account.
    pub reporter_account_id: Option<i64>,
    /// Who was involved.
    pub people: Vec<IncidentPerson>,
    /// For a data breach: its details.
    pub breach: Option<gatehouse_domain::incidents::BreachDetails>,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Id.
    pub id: i64,
    /// What kind.
    pub kind: gatehouse_domain::incidents::IncidentKind,
    /// A one-line summary.
    pub summary: String,
    /// What happened.
    pub description: String,
    /// How serious.
    pub severity: gatehouse_domain::incidents::Severity,
    /// Where it stands.
    pub status: gatehouse_domain::incidents::Status,
    /// The outcome, once closed.
    pub outcome: Option<String>,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When it was reported.
    pub reported_at: Timestamp,
    /// Username of who reported it.
    pub reporter: String,
    /// Their account.
    pub reporter_account_id: Option<i64>,
    /// Username of who deals with it.
    pub assignee: Option<String>,
    /// Who was involved.
    pub people: Vec<IncidentPerson>,
    /// For a data breach: its details.
    pub breach: Option<gatehouse_domain::incidents::BreachDetails>,
}

/// A chronology entry to add.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// What kind (a note when `None`).
    pub kind: Option<gatehouse_domain::incidents::EntryKind>,
    /// What was noted, decided or done.
    pub text: String,
    /// When it was done (when it was recorded, if `None`).
    pub occurred_at: Option<Timestamp>,
    /// Who did it, when not who records it.
    pub done_by: Option<String>,
    /// How (phone, letter, meeting).
    pub method: Option<String>,
    /// A referral's agency.
    pub agency: Option<gatehouse_domain::incidents::Agency>,
    /// A referral's reference number.
    pub reference: Option<String>,
    /// The entry this one corrects.
    pub corrects: Option<i64>,
}

/// A stored chronology entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentEntry {
    /// Id.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// What kind.
    pub kind: gatehouse_domain::incidents::EntryKind,
    /// What was noted, decided or done.
    pub text: String,
    /// When it was done.
    pub occurred_at: Timestamp,
    /// When it was written down.
    pub recorded_at: Timestamp,
    /// Who wrote it down.
    pub recorded_by: String,
    /// Who did it, when not who recorded it.
    pub done_by: Option<String>,
    /// How.
    pub method: Option<String>,
    /// A referral's agency.
    pub agency: Option<gatehouse_domain::incidents::Agency>,
    /// A referral's (or the ICO's) reference.
    pub reference: Option<String>,
    /// The entry this one corrects.
    pub corrects: Option<i64>,
    /// The filter override a sanction entry is about.
    pub override_id: Option<i64>,
}

/// A change to an incident's own fields; each comes with its chronology entry.
#[derive(Debug, Clone)]
pub enum IncidentChange {
    /// A new status (closing with its outcome).
    Status {
        /// The new status.
        to: gatehouse_domain::incidents::Status,
        /// The outcome (closing).
        outcome: Option<String>,
    },
    /// Someone else deals with it (or nobody named).
    Assign(Option<String>),
    /// The breach details, replaced.
    Breach(gatehouse_domain::incidents::BreachDetails),
}

/// A sanction that acts on the web filter, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSanction {
    /// The filter override.
    pub override_id: i64,
    /// The incident.
    pub incident_id: i64,
    /// The person.
    pub person_id: i64,
    /// What it does.
    pub sanction: gatehouse_domain::incidents::FilterSanction,
    /// When it ends (exclusive).
    pub until: Timestamp,
    /// When it was lifted early, if it was.
    pub ended_at: Option<Timestamp>,
}

/// An evidence file of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentAttachment {
    /// Id.
    pub id: i64,
    /// The content's SHA-256 (where the bytes are kept).
    pub sha256: String,
    /// The name it was uploaded with.
    pub file_name: String,
    /// Its type.
    pub mime: String,
    /// Bytes.
    pub size: i64,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub added_at: Timestamp,
}

/// Whom a registered device is assigned to: its DNS queries are filtered with that
/// person's group, or that group, or (nobody) the policy for unidentified devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceAssignment {
    /// Nobody (a spare or shared device).
    Nobody,
    /// A person, by id.
    Person(i64),
    /// A filtering group (policy name).
    Group(String),
}

/// A device to register.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// The school.
    pub school_id: i64,
    /// Its name (unique among the school's devices that are not revoked).
    pub name: String,
    /// What sort of device.
    pub kind: gatehouse_domain::devices::DeviceKind,
    /// Serial number or asset tag.
    pub asset_tag: Option<String>,
    /// Whom it is assigned to.
    pub assignment: DeviceAssignment,
    /// SHA-256 (hex) of its DNS-over-HTTPS token; the token itself is never stored.
    pub token_hash: String,
}

/// A registered device (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Id.
    pub id: i64,
    /// The school.
    pub school_id: i64,
    /// Name.
    pub name: String,
    /// What sort of device.
    pub kind: gatehouse_domain::devices::DeviceKind,
    /// Serial number or asset tag.
    pub asset_tag: Option<String>,
    /// Whom it is assigned to.
    pub assignment: DeviceAssignment,
    /// The assigned person's "First Last", when assigned to a person.
    pub person_name: Option<String>,
    /// Registered.
    pub created_at: Timestamp,
    /// Revoked (its token no longer works).
    pub revoked_at: Option<Timestamp>,
    /// Last DNS query with its token (updated at most every few minutes).
    pub last_seen_at: Option<Timestamp>,
}
