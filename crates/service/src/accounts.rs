//! Accounts and API tokens: creating, listing, disabling, resetting passwords.

use crate::auth::hash_password;
use crate::secrets::{random_hex, sha256_hex};
use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_domain::password::check_new_password;
use gatehouse_domain::permissions::{Action, Resource, Role};
use gatehouse_store::{Account, ApiToken, NewAccount};

/// A new account's details.
#[derive(Debug, Clone)]
pub struct AccountRequest {
    /// Sign-in name.
    pub username: String,
    /// Initial password.
    pub password: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// The person it belongs to, by id.
    pub person_id: Option<i64>,
}

/// Usernames: 3–64 characters of letters, digits, `.`, `-`, `_` and `@`.
pub fn check_username(raw: &str) -> Result<String> {
    let u = raw.trim().to_lowercase();
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if !(3..=64).contains(&u.len()) || !ok_chars {
        return Err(ServiceError::Invalid(format!(
            "username: '{}' must be 3–64 letters, digits, dots, dashes, underscores or @",
            raw.trim()
        )));
    }
    Ok(u)
}

impl Gatehouse {
    /// Create an account.
    pub async fn create_account(&self, actor: &Actor, req: &AccountRequest) -> Result<i64> {
        actor.require(Action::Edit, Resource::Accounts)?;
        let school = self.school().await?;
        let username = check_username(&req.username)?;
        let password = check_new_password(&req.password, &username, &[&school.name])?;
        if req.roles.contains(&Role::TrustAdmin) && !actor.roles.contains(&Role::TrustAdmin) {
            return Err(ServiceError::Forbidden);
        }
        let event = actor.event(
            "account.create",
            None,
            serde_json::json!({ "username": username, "roles": req.roles, "person": req.person_id }),
        );
        let new = NewAccount {
            school_id: school.id,
            person_id: req.person_id,
            username,
            password_hash: hash_password(&password)?,
            roles: req.roles.clone(),
        };
        Ok(self
            .store
            .create_account(&new, self.clock.now(), event)
            .await?)
    }

    /// Every account of the school.
    pub async fn accounts(&self, actor: &Actor) -> Result<Vec<Account>> {
        actor.require(Action::View, Resource::Accounts)?;
        let school = self.school().await?;
        Ok(self.store.list_accounts(school.id).await?)
    }

    async fn account_named(&self, username: &str) -> Result<Account> {
        self.store
            .account_by_username(username)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("account '{}'", username.trim())))
    }

    /// Set another account's password (an administrator's reset).
    pub async fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
    ) -> Result<()> {
        actor.require(Action::Edit, Resource::Accounts)?;
        let school = self.school().await?;
        let account = self.account_named(username).await?;
        let checked = check_new_password(password, &account.username, &[&school.name])?;
        let event = actor.event(
            "account.password_reset",
            Some(format!("account:{}", account.id)),
            serde_json::json!({}),
        );
        self.store
            .set_password(
                account.id,
                &hash_password(&checked)?,
                self.clock.now(),
                event,
            )
            .await?;
        Ok(())
    }

    /// Disable (or re-enable) an account.
    pub async fn set_account_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
    ) -> Result<()> {
        actor.require(Action::Edit, Resource::Accounts)?;
        let account = self.account_named(username).await?;
        let action = if disabled {
            "account.disable"
        } else {
            "account.enable"
        };
        let event = actor.event(
            action,
            Some(format!("account:{}", account.id)),
            serde_json::json!({}),
        );
        self.store
            .set_disabled(account.id, disabled, self.clock.now(), event)
            .await?;
        Ok(())
    }

    /// Create an API token acting as `username`. Returns the secret, to show once.
    pub async fn create_token(
        &self,
        actor: &Actor,
        username: &str,
        label: &str,
    ) -> Result<(i64, String)> {
        actor.require(Action::Edit, Resource::ApiTokens)?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(ServiceError::Invalid(
                "label: must be 1–100 characters".into(),
            ));
        }
        let account = self.account_named(username).await?;
        if account.disabled {
            return Err(ServiceError::Invalid(format!(
                "user: '{}' is disabled",
                account.username
            )));
        }
        let secret = format!("gh_{}", random_hex(32));
        let event = actor.event(
            "token.create",
            None,
            serde_json::json!({ "account": account.username, "label": label }),
        );
        let id = self
            .store
            .create_token(
                account.id,
                label,
                &sha256_hex(&secret),
                self.clock.now(),
                event,
            )
            .await?;
        Ok((id, secret))
    }

    /// An account's tokens (never the secrets).
    pub async fn tokens(&self, actor: &Actor, username: &str) -> Result<Vec<ApiToken>> {
        actor.require(Action::View, Resource::ApiTokens)?;
        let account = self.account_named(username).await?;
        Ok(self.store.list_tokens(account.id).await?)
    }
}
