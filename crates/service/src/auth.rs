//! Signing in: passwords (argon2id), throttling, sessions, the second factor (TOTP with
//! recovery codes) and API bearer tokens.

use crate::secrets::{random_bytes, random_hex, sha256_hex};
use crate::{Actor, Gatehouse, Result, ServiceError};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use gatehouse_domain::password::NewPassword;
use gatehouse_store::{Account, Session};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;
use totp_rs::{Builder, Secret, Totp};

/// Failures allowed before each further attempt must wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait imposed.
pub const MAX_DELAY_SECS: i64 = 15 * 60;

/// Hash a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(p: &NewPassword) -> Result<String> {
    Argon2::default()
        .hash_password(p.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Invalid(format!("password: could not be hashed ({e})")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash of an unguessable password, checked when the username is unknown so that a
/// wrong username takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(random_hex(16).as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Counts failed sign-ins per account and per client address. After
/// [`FREE_FAILURES`] failures each further attempt must wait 2^(n−5) seconds after the last
/// failure (capped at [`MAX_DELAY_SECS`]).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
    last_steps: Mutex<HashMap<i64, u64>>,
}

impl Throttle {
    fn keys(username: &str, ip: Option<&str>) -> Vec<String> {
        let mut k = vec![format!("user:{}", username.trim().to_lowercase())];
        if let Some(ip) = ip {
            k.push(format!("ip:{ip}"));
        }
        k
    }

    /// Seconds to wait before another attempt is allowed, if any.
    pub fn wait(&self, username: &str, ip: Option<&str>, now: Timestamp) -> Option<u64> {
        let map = self.failures.lock().ok()?;
        Self::keys(username, ip)
            .iter()
            .filter_map(|k| map.get(k))
            .filter(|(n, _)| *n >= FREE_FAILURES)
            .filter_map(|(n, last)| {
                let delay = 1i64 << (n - FREE_FAILURES).min(20);
                let until = last
                    .saturating_add(SignedDuration::from_secs(delay.min(MAX_DELAY_SECS)))
                    .ok()?;
                let left = until.duration_since(now).as_secs();
                (left > 0).then_some(left as u64)
            })
            .max()
    }

    fn fail(&self, username: &str, ip: Option<&str>, now: Timestamp) {
        if let Ok(mut map) = self.failures.lock() {
            for k in Self::keys(username, ip) {
                let e = map.entry(k).or_insert((0, now));
                e.0 = e.0.saturating_add(1);
                e.1 = now;
            }
        }
    }

    fn succeed(&self, username: &str, ip: Option<&str>) {
        if let Ok(mut map) = self.failures.lock() {
            for k in Self::keys(username, ip) {
                map.remove(&k);
            }
        }
    }
}

/// A fresh sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie value (only its hash is stored).
    pub token: String,
    /// What the session still needs before it reaches the application.
    pub next: SessionStage,
}

/// How far a session has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Fully signed in.
    Ready,
    /// Must give the second factor.
    NeedsCode,
    /// Must enrol a second factor before doing anything else.
    NeedsEnrolment,
}

/// A live session with its account.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session.
    pub session: Session,
    /// The account.
    pub account: Account,
    /// Where the session stands.
    pub stage: SessionStage,
}

impl SessionInfo {
    /// The actor this session acts as.
    pub fn actor(&self, ip: Option<String>) -> Actor {
        actor_for(&self.account, ip)
    }
}

fn actor_for(account: &Account, ip: Option<String>) -> Actor {
    Actor {
        account_id: Some(account.id),
        person_id: account.person_id,
        name: account.username.clone(),
        roles: account.roles.clone(),
        ip,
    }
}

/// A second factor being set up: shown to the user, confirmed with a first code.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32 secret, for typing into an app.
    pub secret: String,
    /// `otpauth://` URL, for the QR code.
    pub url: String,
}

/// TOTP with the RFC 6238 defaults authenticator apps expect (SHA-1, 6 digits, 30 s),
/// accepting one step of clock skew.
fn totp(secret_b32: &str, issuer: &str, account: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|_| ServiceError::Invalid("second factor: the stored secret is damaged".into()))?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| ServiceError::Invalid(format!("second factor: {e}")))
}

fn unix_secs(t: Timestamp) -> u64 {
    u64::try_from(t.as_second()).unwrap_or(0)
}

fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

impl Gatehouse {
    fn stage_for(&self, account: &Account, mfa_passed: bool) -> SessionStage {
        if account.mfa_enabled && !mfa_passed {
            SessionStage::NeedsCode
        } else if !account.mfa_enabled
            && self.security.require_mfa
            && account.roles.iter().any(|r| r.requires_mfa())
        {
            SessionStage::NeedsEnrolment
        } else {
            SessionStage::Ready
        }
    }

    /// Check a username and password; on success start a session.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<SignedIn> {
        let now = self.clock.now();
        if let Some(wait) = self.throttle.wait(username, ip, now) {
            return Err(ServiceError::Throttled(wait));
        }
        let account = self.store.account_by_username(username).await?;
        let ok = match &account {
            Some(a) => verify_password(password, &a.password_hash) && !a.disabled,
            None => {
                verify_password(password, dummy_hash());
                false
            }
        };
        let target = account.as_ref().map(|a| format!("account:{}", a.id));
        let event_for = |action: &str| gatehouse_domain::audit::AuditEvent {
            actor: username.trim().to_lowercase(),
            action: action.to_owned(),
            target: target.clone(),
            ip: ip.map(str::to_owned),
            detail: "{}".into(),
        };
        let Some(account) = account.filter(|_| ok) else {
            self.throttle.fail(username, ip, now);
            self.store
                .append_audit(now, event_for("auth.sign_in_failed"))
                .await?;
            return Err(ServiceError::Unauthenticated(
                "that username and password do not match an active account".into(),
            ));
        };
        self.throttle.succeed(username, ip);
        let token = random_hex(32);
        let next = self.stage_for(&account, false);
        self.store
            .create_session(&Session {
                id_hash: sha256_hex(&token),
                account_id: account.id,
                mfa_passed: !account.mfa_enabled,
                created_at: now,
                expires_at: now
                    .saturating_add(SignedDuration::from_hours(self.security.session_hours))
                    .unwrap_or(now),
                ip: ip.map(str::to_owned),
                user_agent: user_agent.map(|s| s.chars().take(300).collect()),
            })
            .await?;
        self.store
            .append_audit(now, event_for("auth.sign_in"))
            .await?;
        Ok(SignedIn { token, next })
    }

    /// The live session behind a cookie value.
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>> {
        let now = self.clock.now();
        let Some(session) = self.store.session(&sha256_hex(token), now).await? else {
            return Ok(None);
        };
        let Some(account) = self.store.account(session.account_id).await? else {
            return Ok(None);
        };
        if account.disabled {
            return Ok(None);
        }
        let stage = self.stage_for(&account, session.mfa_passed);
        Ok(Some(SessionInfo {
            session,
            account,
            stage,
        }))
    }

    /// End a session.
    pub async fn sign_out(&self, token: &str, actor: &Actor) -> Result<()> {
        self.store.delete_session(&sha256_hex(token)).await?;
        let event = actor.event(
            "auth.sign_out",
            actor.account_id.map(|i| format!("account:{i}")),
            serde_json::json!({}),
        );
        self.store.append_audit(self.clock.now(), event).await?;
        Ok(())
    }

    /// Give the second factor: a current TOTP code or an unused recovery code.
    pub async fn verify_second_factor(
        &self,
        info: &SessionInfo,
        code: &str,
        ip: Option<&str>,
    ) -> Result<()> {
        let now = self.clock.now();
        let account = &info.account;
        if let Some(wait) = self.throttle.wait(&account.username, ip, now) {
            return Err(ServiceError::Throttled(wait));
        }
        let actor = info.actor(ip.map(str::to_owned));
        let target = Some(format!("account:{}", account.id));
        let code_norm = normalise_code(code);
        let by_totp = match (&account.mfa_secret, code_norm.len()) {
            (Some(secret), 6) => totp(secret, &self.security.issuer, &account.username)?
                .check(&code_norm, unix_secs(now))
                .is_some_and(|step| self.throttle.accept_step(account.id, step)),
            _ => false,
        };
        let ok = by_totp
            || (code_norm.len() > 6
                && self
                    .store
                    .use_recovery_code(
                        account.id,
                        &sha256_hex(&code_norm),
                        now,
                        actor.event(
                            "auth.recovery_code_used",
                            target.clone(),
                            serde_json::json!({}),
                        ),
                    )
                    .await?);
        if !ok {
            self.throttle.fail(&account.username, ip, now);
            self.store
                .append_audit(
                    now,
                    actor.event("auth.second_factor_failed", target, serde_json::json!({})),
                )
                .await?;
            return Err(ServiceError::Unauthenticated(
                "that code is not right; check your app and try again".into(),
            ));
        }
        self.throttle.succeed(&account.username, ip);
        self.store.session_mfa_passed(&info.session.id_hash).await?;
        Ok(())
    }

    /// Setting up a second factor: a new secret (or, when a first code was mistyped, the
    /// one already shown) with its `otpauth://` URL for the QR code.
    pub fn enrolment(&self, account: &Account, secret: Option<&str>) -> Result<Enrolment> {
        let secret = match secret {
            Some(s) => s.trim().to_owned(),
            None => Secret::new(random_bytes(20).into_boxed_slice()).to_base32(),
        };
        let t = totp(&secret, &self.security.issuer, &account.username)?;
        let url = t
            .to_url()
            .map_err(|e| ServiceError::Invalid(format!("second factor: {e}")))?;
        Ok(Enrolment { secret, url })
    }

    /// Finish enrolment with a first code from the app. Returns the recovery codes, shown
    /// once; the session counts as having passed the second factor.
    pub async fn confirm_enrolment(
        &self,
        info: &SessionInfo,
        secret: &str,
        code: &str,
        ip: Option<&str>,
    ) -> Result<Vec<String>> {
        let now = self.clock.now();
        let account = &info.account;
        let t = totp(secret, &self.security.issuer, &account.username)?;
        if t.check(&normalise_code(code), unix_secs(now)).is_none() {
            return Err(ServiceError::Invalid(
                "code: that is not the code your app shows now; check the phone's clock and try again".into(),
            ));
        }
        let codes: Vec<String> = (0..10)
            .map(|_| {
                let h = random_hex(5);
                format!("{}-{}", &h[..5], &h[5..])
            })
            .collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| sha256_hex(&normalise_code(c)))
            .collect();
        let actor = info.actor(ip.map(str::to_owned));
        self.store
            .enable_mfa(
                account.id,
                secret,
                &hashes,
                now,
                actor.event(
                    "auth.mfa_enabled",
                    Some(format!("account:{}", account.id)),
                    serde_json::json!({}),
                ),
            )
            .await?;
        self.store.session_mfa_passed(&info.session.id_hash).await?;
        Ok(codes)
    }

    /// Change one's own password, knowing the current one. Ends every session of the account.
    pub async fn change_own_password(
        &self,
        info: &SessionInfo,
        current: &str,
        new: &str,
        ip: Option<&str>,
    ) -> Result<()> {
        let account = &info.account;
        if !verify_password(current, &account.password_hash) {
            return Err(ServiceError::Invalid(
                "current password: that is not your current password".into(),
            ));
        }
        let school = self.school().await?;
        let checked = gatehouse_domain::password::check_new_password(
            new,
            &account.username,
            &[&school.name],
        )?;
        let hash = hash_password(&checked)?;
        let actor = info.actor(ip.map(str::to_owned));
        self.store
            .set_password(
                account.id,
                &hash,
                self.clock.now(),
                actor.event(
                    "account.password_changed",
                    Some(format!("account:{}", account.id)),
                    serde_json::json!({}),
                ),
            )
            .await?;
        Ok(())
    }

    /// The actor behind an API bearer token.
    pub async fn token_actor(&self, token: &str, ip: Option<String>) -> Result<Option<Actor>> {
        Ok(self
            .store
            .use_token(&sha256_hex(token.trim()), self.clock.now())
            .await?
            .map(|(_, account)| actor_for(&account, ip)))
    }

    /// The current TOTP code for a secret at the clock's time (for tests and tooling).
    pub fn current_code(&self, secret: &str) -> Result<String> {
        Ok(totp(secret, &self.security.issuer, "x")?
            .generate(unix_secs(self.clock.now()))
            .to_string())
    }
}

impl Throttle {
    /// Accept a TOTP step for an account only once (RFC 6238 §5.2).
    fn accept_step(&self, account: i64, step: u64) -> bool {
        let Ok(mut map) = self.last_steps.lock() else {
            return false;
        };
        if map.get(&account).is_some_and(|last| step <= *last) {
            return false;
        }
        map.insert(account, step);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_waits_grow_after_five_failures() {
        let t = Throttle::default();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.wait("ann", Some("10.0.0.1"), now), None);
            t.fail("ann", Some("10.0.0.1"), now);
        }
        assert_eq!(t.wait("ann", Some("10.0.0.1"), now), Some(1));
        t.fail("ann", Some("10.0.0.1"), now);
        assert_eq!(t.wait("ann", None, now), Some(2));
        assert_eq!(
            t.wait("bob", Some("10.0.0.1"), now),
            Some(2),
            "the address is throttled too"
        );
        assert_eq!(t.wait("bob", Some("10.0.0.2"), now), None);
        let later = now.checked_add(SignedDuration::from_secs(3)).unwrap();
        assert_eq!(t.wait("ann", None, later), None);
        t.succeed("ann", Some("10.0.0.1"));
        assert_eq!(t.wait("ann", Some("10.0.0.1"), now), None);
    }

    #[test]
    fn a_totp_step_is_accepted_once() {
        let t = Throttle::default();
        assert!(t.accept_step(1, 100));
        assert!(!t.accept_step(1, 100));
        assert!(!t.accept_step(1, 99));
        assert!(t.accept_step(1, 101));
        assert!(t.accept_step(2, 100));
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!verify_password("anything", dummy_hash()));
    }
}
