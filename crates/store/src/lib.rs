//! Storage: the [`Store`] trait and its SQLite implementation.
//!
//! Callers depend on the trait only, so a PostgreSQL implementation can follow without
//! touching them. The trait is split by area (people, accounts, sessions, tokens, audit,
//! agreements, filtering, alerts, devices); each area's records are in [`records`]. Every
//! write that changes records takes the [`AuditEvent`] that describes it and appends it in
//! the same transaction, so a change and its audit entry are stored together or not at all.

pub mod records;
pub mod sqlite;
mod time;

use async_trait::async_trait;
use gatehouse_domain::agreements::ledger::{Signature, SignatureRecord};
use gatehouse_domain::audit::{AuditEntry, AuditEvent};
use gatehouse_domain::import::{ExistingPerson, ImportPlan};
use gatehouse_domain::people::{MisId, PersonKind};
use gatehouse_domain::permissions::Role;
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::HashSet;
use std::path::Path;

pub use records::*;
pub use sqlite::SqliteStore;

/// The store's one error type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or a statement failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was written by a newer Gatehouse.
    #[error(
        "this database has schema version {found}, newer than this Gatehouse understands (up to {known}); upgrade Gatehouse or restore a matching backup"
    )]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A unique value is already taken (e.g. a username).
    #[error("{0} is already taken")]
    Conflict(String),
    /// The record does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change is not allowed in the record's present state.
    #[error("{0}")]
    Refused(String),
    /// A stored value no longer parses; the database was edited outside Gatehouse.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// A file operation (backup) failed.
    #[error("{0}")]
    Io(String),
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Open the SQLite database at `path`, creating it and applying migrations.
pub async fn open_sqlite(path: &Path) -> Result<SqliteStore> {
    SqliteStore::open(path).await
}

/// Schools and installation-wide settings.
#[async_trait]
pub trait SchoolStore: Send + Sync {
    /// The school of a single-school installation, if set up.
    async fn first_school(&self) -> Result<Option<School>>;
    /// Create a school.
    async fn create_school(&self, name: &str, at: Timestamp, audit: AuditEvent) -> Result<School>;
    /// A setting's value.
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Set a setting if it is not yet set; returns the value now stored.
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String>;
    /// Set a setting, replacing its value.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;
}

/// People and their links.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// A page of the directory.
    async fn list_people(&self, school: i64, filter: &PeopleFilter) -> Result<PeoplePage>;
    /// One person with their links and account.
    async fn person(&self, school: i64, id: i64) -> Result<Option<PersonRecord>>;
    /// Classes and year groups in use, for filters.
    async fn facets(&self, school: i64) -> Result<Facets>;
    /// Counts by kind (active people).
    async fn count_by_kind(&self, school: i64) -> Result<Vec<(PersonKind, i64)>>;
    /// Everyone of `kind`, active or not, in the shape an import plan compares against.
    async fn people_for_import(&self, school: i64, kind: PersonKind)
    -> Result<Vec<ExistingPerson>>;
    /// The MIS ids of every pupil (active or not), for linking parents.
    async fn pupil_mis_ids(&self, school: i64) -> Result<HashSet<MisId>>;
    /// Apply an import plan in one transaction. `progress` is told how many changes are done.
    async fn apply_import(
        &self,
        school: i64,
        plan: &ImportPlan,
        at: Timestamp,
        audit: AuditEvent,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<ImportOutcome>;
}

/// Accounts, roles and second factors.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Create an account with roles.
    async fn create_account(
        &self,
        new: &NewAccount,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// An account by username (case-insensitive).
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>>;
    /// An account by id.
    async fn account(&self, id: i64) -> Result<Option<Account>>;
    /// Every account of a school.
    async fn list_accounts(&self, school: i64) -> Result<Vec<Account>>;
    /// Replace the password hash and end the account's sessions.
    async fn set_password(
        &self,
        id: i64,
        hash: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Disable or enable; disabling ends the account's sessions and revokes its tokens.
    async fn set_disabled(
        &self,
        id: i64,
        disabled: bool,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Replace the roles.
    async fn set_roles(
        &self,
        id: i64,
        roles: &[Role],
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Turn on the second factor with its secret and fresh recovery-code hashes.
    async fn enable_mfa(
        &self,
        id: i64,
        secret: &str,
        recovery_code_hashes: &[String],
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Use a recovery code once; true if it was valid and unused.
    async fn use_recovery_code(
        &self,
        id: i64,
        code_hash: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<bool>;
    /// How many unused recovery codes remain.
    async fn recovery_codes_left(&self, id: i64) -> Result<i64>;
}

/// Signed-in sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Store a new session.
    async fn create_session(&self, s: &Session) -> Result<()>;
    /// A live session by the hash of its cookie value.
    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<Session>>;
    /// Mark the second factor as passed.
    async fn session_mfa_passed(&self, id_hash: &str) -> Result<()>;
    /// End a session.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Remove expired sessions; returns how many.
    async fn purge_sessions(&self, now: Timestamp) -> Result<u64>;
}

/// API bearer tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Store a token's hash.
    async fn create_token(
        &self,
        account: i64,
        label: &str,
        hash: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// The live token with this hash and its account, marking it used.
    async fn use_token(&self, hash: &str, at: Timestamp) -> Result<Option<(ApiToken, Account)>>;
    /// An account's tokens.
    async fn list_tokens(&self, account: i64) -> Result<Vec<ApiToken>>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append an entry (for reads; writes append through their own methods).
    async fn append_audit(&self, at: Timestamp, event: AuditEvent) -> Result<AuditEntry>;
    /// Entries after `after_seq` in order, at most `limit`.
    async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    /// Search, newest first.
    async fn search_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}

/// Agreement policies, their versions, the signature ledger and reminders sent.
#[async_trait]
pub trait AgreementStore: Send + Sync {
    /// Create a policy.
    async fn create_policy(
        &self,
        school: i64,
        new: &NewPolicy,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// Every policy of a school with its versions.
    async fn policies(&self, school: i64) -> Result<Vec<Policy>>;
    /// One policy with its versions.
    async fn policy(&self, school: i64, id: i64) -> Result<Option<Policy>>;
    /// Add a draft version (numbered after the last); returns its id.
    async fn add_version(
        &self,
        draft: &NewVersion,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// Approve a draft.
    async fn approve_version(
        &self,
        version: i64,
        by: &str,
        on: Date,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Publish an approved version; the version published before it is superseded.
    async fn publish_version(
        &self,
        version: i64,
        effective: Date,
        review: Date,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Append signatures or withdrawals to the ledger, all in one transaction.
    async fn append_signatures(
        &self,
        school: i64,
        s: Vec<Signature>,
        audit: AuditEvent,
    ) -> Result<Vec<SignatureRecord>>;
    /// Ledger records of a school, optionally only for some people, oldest first.
    async fn signatures(&self, school: i64, people: Option<&[i64]>)
    -> Result<Vec<SignatureRecord>>;
    /// Ledger records of one policy, oldest first.
    async fn policy_signatures(&self, policy: i64) -> Result<Vec<SignatureRecord>>;
    /// Ledger records after `after_seq` in order, at most `limit` (for verification).
    async fn ledger_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<SignatureRecord>>;
    /// Every active person of a school (for the register).
    async fn active_people(&self, school: i64) -> Result<Vec<Person>>;
    /// Every parent–child link of a school, as (parent id, child id).
    async fn parent_links(&self, school: i64) -> Result<Vec<(i64, i64)>>;
    /// The children linked to a parent.
    async fn children_of(&self, parent: i64) -> Result<Vec<Person>>;
    /// Note that a reminder (named by `key`) was sent to a person; false if it had been already.
    async fn mark_reminder(&self, person: i64, key: &str, at: Timestamp) -> Result<bool>;
}

/// The web filter's records: unblock requests, filter overrides, portal sign-ins.
#[async_trait]
pub trait FilteringStore: Send + Sync {
    /// Store a new unblock request.
    async fn create_unblock_request(
        &self,
        school: i64,
        req: &NewUnblockRequest,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<UnblockRequest>;
    /// Requests, newest first: optionally only those with `status`, or only `person`'s.
    async fn unblock_requests(
        &self,
        school: i64,
        status: Option<gatehouse_domain::filtering::UnblockStatus>,
        person: Option<i64>,
        limit: i64,
    ) -> Result<Vec<UnblockRequest>>;
    /// Requests from one client address since `since`, newest first (shown on the block
    /// page to someone not signed in).
    async fn unblock_requests_from(
        &self,
        school: i64,
        client_ip: &str,
        since: Timestamp,
    ) -> Result<Vec<UnblockRequest>>;
    /// One request.
    async fn unblock_request(&self, school: i64, id: i64) -> Result<Option<UnblockRequest>>;
    /// Decide a pending request; an approval writes its filter override in the same
    /// transaction. [`StoreError::Conflict`] when it was already decided.
    async fn decide_unblock_request(
        &self,
        school: i64,
        id: i64,
        decision: &UnblockDecision,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<UnblockRequest>;
    /// Overrides in force at `now` (not ended, not expired).
    async fn active_overrides(&self, school: i64, now: Timestamp) -> Result<Vec<FilterOverride>>;
    /// Bind `session.client_ip` to a person (replacing whoever had it).
    async fn start_portal_session(
        &self,
        school: i64,
        session: &PortalSession,
        audit: AuditEvent,
    ) -> Result<()>;
    /// End the portal sign-in of `client_ip`, if any; true when there was one.
    async fn end_portal_session(
        &self,
        client_ip: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<bool>;
    /// Portal sign-ins in force at `now`.
    async fn portal_sessions(&self, now: Timestamp) -> Result<Vec<PortalSession>>;
    /// A visitor who registered at the portal: their person record (kind visitor) and
    /// their account (`account.person_id` is set to the new person), in one transaction.
    /// Returns (person id, account id).
    async fn register_visitor(
        &self,
        school: i64,
        details: &gatehouse_domain::people::PersonDetails,
        account: &NewAccount,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<(i64, i64)>;
}

/// Monitoring alerts and their evidence.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Store a new alert with its evidence.
    async fn create_alert(
        &self,
        school: i64,
        alert: &NewAlertRecord,
        audit: AuditEvent,
    ) -> Result<AlertRecord>;
    /// Fold `count` repeats into alert `id`: its count goes up by `count`, its last time
    /// becomes `at`, and `evidence` (the first repeat) is kept (up to
    /// [`MAX_ALERT_EVIDENCE`] per alert).
    async fn fold_alert(&self, id: i64, at: Timestamp, evidence: &str, count: i64) -> Result<()>;
    /// The newest alert of `rule` for `subject` that is still new or acknowledged and
    /// whose last event is at or after `since` (to fold into after a restart).
    async fn open_alert(
        &self,
        school: i64,
        rule: &str,
        subject: &str,
        since: Timestamp,
    ) -> Result<Option<i64>>;
    /// Alerts, newest first; only those with `status` when given (`open`: new or
    /// acknowledged).
    async fn alerts(
        &self,
        school: i64,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AlertRecord>>;
    /// One alert with its evidence (time, JSON), oldest first.
    async fn alert(
        &self,
        school: i64,
        id: i64,
    ) -> Result<Option<(AlertRecord, Vec<(Timestamp, String)>)>>;
    /// Move an alert from `from` (one of them) to `status`, with who, when and a note;
    /// [`StoreError::Conflict`] when it is no longer in one of `from`.
    #[allow(clippy::too_many_arguments)]
    async fn set_alert_status(
        &self,
        school: i64,
        id: i64,
        from: &[&str],
        status: &str,
        note: Option<&str>,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<AlertRecord>;
    /// Record the incident alert `id` was escalated into.
    async fn link_alert_incident(&self, id: i64, incident: i64) -> Result<()>;
    /// Record that the DSL was told about alert `id`.
    async fn mark_alert_notified(&self, id: i64, at: Timestamp) -> Result<()>;
}

/// The most evidence events kept for one alert (folded repeats beyond it are counted).
pub const MAX_ALERT_EVIDENCE: i64 = 50;

/// School devices registered for DNS over HTTPS.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Register a device with its token's hash. A name already used by a device of the
    /// school that is not revoked is a [`StoreError::Conflict`]; a person who is not of
    /// the school is [`StoreError::NotFound`].
    async fn register_device(
        &self,
        new: &NewDevice,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// The school's devices by name, revoked ones too when `include_revoked`.
    async fn devices(&self, school: i64, include_revoked: bool) -> Result<Vec<Device>>;
    /// One device of the school.
    async fn device(&self, school: i64, id: i64) -> Result<Option<Device>>;
    /// The device whose token has this hash, revoked or not.
    async fn device_by_token_hash(&self, hash: &str) -> Result<Option<Device>>;
    /// Revoke a device: its token stops working at once. Revoking twice is refused.
    async fn revoke_device(
        &self,
        school: i64,
        id: i64,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Assign a device (not revoked) to someone else, a group, or nobody.
    async fn reassign_device(
        &self,
        school: i64,
        id: i64,
        assignment: &DeviceAssignment,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// Note that the device's token was used (usage, not a change: no audit entry).
    async fn device_seen(&self, id: i64, at: Timestamp) -> Result<()>;
}

/// Incidents and concerns, their append-only chronologies, evidence files, and the
/// sanctions they write into the web filter.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Store a new incident (with its people and breach details); returns its id.
    async fn create_incident(
        &self,
        school: i64,
        new: &NewIncident,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// Every incident of a school, newest first (at most `limit`).
    async fn incidents(&self, school: i64, limit: i64) -> Result<Vec<Incident>>;
    /// One incident.
    async fn incident(&self, school: i64, id: i64) -> Result<Option<Incident>>;
    /// An incident's chronology, oldest first.
    async fn incident_entries(&self, incident: i64) -> Result<Vec<IncidentEntry>>;
    /// Add a chronology entry (there is no way to change or remove one). A correction
    /// must name an entry of the same incident.
    async fn append_incident_entry(
        &self,
        incident: i64,
        entry: &NewEntry,
        by: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<IncidentEntry>;
    /// Change the incident's own fields and add the entry that records it, together.
    #[allow(clippy::too_many_arguments)]
    async fn change_incident(
        &self,
        school: i64,
        incident: i64,
        change: &IncidentChange,
        entry: &NewEntry,
        by: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<Incident>;
    /// Write a person override into the filter for a sanction, with its chronology
    /// entry, together. Returns the override's id.
    #[allow(clippy::too_many_arguments)]
    async fn apply_incident_sanction(
        &self,
        school: i64,
        incident: i64,
        person: i64,
        sanction: &gatehouse_domain::incidents::FilterSanction,
        until: Timestamp,
        entry: &NewEntry,
        by: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// Lift a sanction before its end, with its chronology entry, together.
    /// [`StoreError::Conflict`] when it has already ended.
    #[allow(clippy::too_many_arguments)]
    async fn lift_incident_sanction(
        &self,
        school: i64,
        incident: i64,
        override_id: i64,
        entry: &NewEntry,
        by: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// The sanctions an incident wrote.
    async fn incident_sanctions(&self, incident: i64) -> Result<Vec<IncidentSanction>>;
    /// Sanctions whose end has come (`until <= now`, not lifted) and whose chronology
    /// does not yet say they ended.
    async fn sanctions_ended_unrecorded(
        &self,
        school: i64,
        now: Timestamp,
    ) -> Result<Vec<IncidentSanction>>;
    /// Record that a sanction ended on its date (once: false when it was recorded already).
    async fn record_sanction_end(
        &self,
        sanction: &IncidentSanction,
        entry: &NewEntry,
        by: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<bool>;
    /// Keep the record of an evidence file (the bytes are kept by content hash elsewhere),
    /// with its chronology entry.
    async fn add_incident_attachment(
        &self,
        incident: i64,
        file: &IncidentAttachment,
        audit: AuditEvent,
    ) -> Result<i64>;
    /// Add someone to the people involved, with the chronology entry that says so.
    async fn add_incident_person(
        &self,
        school: i64,
        incident: i64,
        person: &IncidentPerson,
        by: &str,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<()>;
    /// An incident's evidence files.
    async fn incident_attachments(&self, incident: i64) -> Result<Vec<IncidentAttachment>>;
}

/// Whole-database operations.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Write a consistent copy of the database to `path` while it stays in use.
    async fn backup_to(&self, path: &Path) -> Result<()>;
    /// The schema version applied.
    async fn schema_version(&self) -> Result<i64>;
}

/// Everything Gatehouse stores.
pub trait Store:
    SchoolStore
    + PeopleStore
    + AccountStore
    + SessionStore
    + TokenStore
    + AuditStore
    + AgreementStore
    + FilteringStore
    + AlertStore
    + DeviceStore
    + IncidentStore
    + Maintenance
{
}
impl<T> Store for T where
    T: SchoolStore
        + PeopleStore
        + AccountStore
        + SessionStore
        + TokenStore
        + AuditStore
        + AgreementStore
        + FilteringStore
        + AlertStore
        + DeviceStore
        + IncidentStore
        + Maintenance
{
}
