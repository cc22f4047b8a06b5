//! Services: what Gatehouse does, shared by the web handlers and the command line.
//!
//! [`Gatehouse`] holds the store, the clock and the security settings. Each module adds
//! the operations of one feature (`people`, `auth`, `accounts`, `audit`, `devices`, ...) as
//! methods on it. Every operation takes the [`Actor`] doing it, checks the permission
//! matrix, and writes the audit entry for sensitive reads and every write.

pub mod accounts;
pub mod agreements;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod demo_clock;
pub mod devices;
pub mod files;
pub mod filtering;
pub mod incidents;
pub mod mail;
pub mod people;
pub mod reminders;
mod secrets;

use gatehouse_domain::DomainError;
use gatehouse_domain::audit::AuditEvent;
use gatehouse_domain::clock::Clock;
use gatehouse_domain::permissions::{Action, Resource, Role, permits};
use gatehouse_store::{School, Store, StoreError};
use std::sync::Arc;

pub use auth::Throttle;

/// The service layer's one error type.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The actor's roles do not allow this.
    #[error("you do not have permission to do that")]
    Forbidden,
    /// Not signed in, or the credentials are wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts: try again after this many seconds.
    #[error("too many failed attempts; try again in {0} seconds")]
    Throttled(u64),
    /// A value broke a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The record does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The installation has no school yet.
    #[error("no school is set up in this installation; run `gatehouse demo` or `gatehouse setup`")]
    NoSchool,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// Shorthand for service results.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Who is acting, as the audit log will name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account, if a person is acting (not for the command line).
    pub account_id: Option<i64>,
    /// The person's id, if the account is linked to one.
    pub person_id: Option<i64>,
    /// Username, or `cli`.
    pub name: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Client address, for acts over the network.
    pub ip: Option<String>,
}

impl Actor {
    /// The operator at the server's command line: has file access to the database, so may
    /// do everything a trust administrator may.
    pub fn cli() -> Self {
        Self {
            account_id: None,
            person_id: None,
            name: "cli".into(),
            roles: vec![Role::TrustAdmin],
            ip: None,
        }
    }

    /// Gatehouse itself, for periodic jobs (a sanction ending on its date).
    pub fn system() -> Self {
        Self {
            account_id: None,
            person_id: None,
            name: "system".into(),
            roles: Vec::new(),
            ip: None,
        }
    }

    /// May this actor do `action` to `resource`?
    pub fn can(&self, action: Action, resource: Resource) -> bool {
        permits(&self.roles, action, resource)
    }

    /// Err([`ServiceError::Forbidden`]) unless the matrix allows it.
    pub fn require(&self, action: Action, resource: Resource) -> Result<()> {
        if self.can(action, resource) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }

    /// An audit event by this actor.
    pub fn event(
        &self,
        action: &str,
        target: Option<String>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            actor: self.name.clone(),
            action: action.to_owned(),
            target,
            ip: self.ip.clone(),
            detail: detail.to_string(),
        }
    }
}

/// A text cell for a CSV export, with a leading `=`, `+`, `-` or `@` neutralised so a
/// spreadsheet does not run it as a formula.
pub fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// Security settings the services apply.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// Require a second factor for roles that reach sensitive records.
    pub require_mfa: bool,
    /// How long a sign-in lasts.
    pub session_hours: i64,
    /// Name shown in authenticator apps.
    pub issuer: String,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            require_mfa: true,
            session_hours: 12,
            issuer: "Gatehouse".into(),
        }
    }
}

/// The application core.
#[derive(Clone)]
pub struct Gatehouse {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Security settings.
    pub security: SecuritySettings,
    /// Failed sign-in tracking.
    pub throttle: Arc<Throttle>,
    /// Secret key for signing (CSRF tokens), from the installation's settings.
    pub secret_key: Arc<[u8]>,
    /// Where uploaded files (scans of paper signatures) are kept, by content hash.
    pub files: Option<files::Files>,
    /// The running web filter, when this installation runs one.
    pub filter: Option<Arc<filtering::FilterRuntime>>,
    /// Sends the messages that cannot wait (a new concern to the DSL), when set.
    pub mailer: Option<mail::Mailer>,
    /// The demo's clock, which the head may move forward (`gatehouse demo` only).
    pub demo_clock: Option<Arc<gatehouse_domain::clock::ShiftedClock>>,
}

impl std::fmt::Debug for Gatehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gatehouse")
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl Gatehouse {
    /// Build the core over a store; loads (or creates) the installation's secret key.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        security: SecuritySettings,
    ) -> Result<Self> {
        let key_hex = store
            .setting_or_insert("secret_key", &secrets::random_hex(32))
            .await?;
        let secret_key: Arc<[u8]> = hex::decode(key_hex.trim())
            .map_err(|_| StoreError::Corrupt("the secret_key setting is not hex".into()))?
            .into();
        Ok(Self {
            store,
            clock,
            security,
            throttle: Arc::new(Throttle::default()),
            secret_key,
            files: None,
            filter: None,
            mailer: None,
            demo_clock: None,
        })
    }

    /// Keep uploaded files in `dir` (created when needed).
    #[must_use]
    pub fn with_files(mut self, dir: std::path::PathBuf) -> Self {
        self.files = Some(files::Files::new(dir));
        self
    }

    /// Send the messages that cannot wait with `mailer`.
    #[must_use]
    pub fn with_mailer(mut self, mailer: mail::Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Decide with `filter` (and show its block page, portal and activity log).
    #[must_use]
    pub fn with_filter(mut self, filter: Arc<filtering::FilterRuntime>) -> Self {
        self.filter = Some(filter);
        self
    }

    /// The installation's school.
    pub async fn school(&self) -> Result<School> {
        self.store
            .first_school()
            .await?
            .ok_or(ServiceError::NoSchool)
    }

    /// Create the school, if none exists yet.
    pub async fn ensure_school(&self, actor: &Actor, name: &str) -> Result<School> {
        if let Some(s) = self.store.first_school().await? {
            return Ok(s);
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ServiceError::Invalid(
                "school name: must be 1–200 characters".into(),
            ));
        }
        let event = actor.event("school.create", None, serde_json::json!({ "name": name }));
        Ok(self
            .store
            .create_school(name, self.clock.now(), event)
            .await?)
    }
}
