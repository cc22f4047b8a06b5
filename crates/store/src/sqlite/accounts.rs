//! Accounts, roles, recovery codes, sessions and API tokens.

use super::{SqliteStore, audit, conflict};
use crate::time::{parse_ts, ts};
use crate::{
    Account, AccountStore, ApiToken, NewAccount, Result, Session, SessionStore, StoreError,
    TokenStore,
};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use gatehouse_domain::permissions::Role;
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

const ACCOUNT_SELECT: &str = "SELECT a.*, p.first_name, p.last_name,
        (SELECT group_concat(role, ',') FROM role_assignments r WHERE r.account_id = a.id) AS roles
     FROM accounts a LEFT JOIN people p ON p.id = a.person_id";

fn account(row: &SqliteRow) -> Result<Account> {
    let roles: Option<String> = row.try_get("roles")?;
    let mut roles = roles
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    roles.sort();
    let first: Option<String> = row.try_get("first_name")?;
    let last: Option<String> = row.try_get("last_name")?;
    Ok(Account {
        id: row.try_get("id")?,
        school_id: row.try_get("school_id")?,
        person_id: row.try_get("person_id")?,
        display_name: first.zip(last).map(|(f, l)| format!("{f} {l}")),
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        mfa_secret: row.try_get("mfa_secret")?,
        mfa_enabled: row.try_get("mfa_enabled")?,
        disabled: row.try_get("disabled")?,
        roles,
    })
}

async fn end_sessions(conn: &mut SqliteConnection, account: i64) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn require_account(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
}

pub(super) async fn insert_roles(
    conn: &mut SqliteConnection,
    id: i64,
    roles: &[Role],
) -> Result<()> {
    for role in roles {
        sqlx::query("INSERT INTO role_assignments (account_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(role.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(
        &self,
        new: &NewAccount,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (school_id, person_id, username, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(new.school_id)
        .bind(new.person_id)
        .bind(new.username.to_lowercase())
        .bind(&new.password_hash)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("the username '{}'", new.username)))?;
        insert_roles(&mut tx, id, &new.roles).await?;
        let mut event = audit_event;
        event.target.get_or_insert_with(|| format!("account:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let sql = format!("{ACCOUNT_SELECT} WHERE a.username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username.trim().to_lowercase())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account).transpose()
    }

    async fn account(&self, id: i64) -> Result<Option<Account>> {
        let sql = format!("{ACCOUNT_SELECT} WHERE a.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account).transpose()
    }

    async fn list_accounts(&self, school: i64) -> Result<Vec<Account>> {
        let sql = format!("{ACCOUNT_SELECT} WHERE a.school_id = $1 ORDER BY a.username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(account).collect()
    }

    async fn set_password(
        &self,
        id: i64,
        hash: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        require_account(&mut tx, id).await?;
        sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(ts(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, id).await?;
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_disabled(
        &self,
        id: i64,
        disabled: bool,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        require_account(&mut tx, id).await?;
        sqlx::query("UPDATE accounts SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(disabled)
            .bind(ts(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            end_sessions(&mut tx, id).await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
                .bind(ts(at))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_roles(
        &self,
        id: i64,
        roles: &[Role],
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        require_account(&mut tx, id).await?;
        sqlx::query("DELETE FROM role_assignments WHERE account_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_roles(&mut tx, id, roles).await?;
        end_sessions(&mut tx, id).await?;
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enable_mfa(
        &self,
        id: i64,
        secret: &str,
        recovery_code_hashes: &[String],
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        require_account(&mut tx, id).await?;
        sqlx::query(
            "UPDATE accounts SET mfa_secret = $1, mfa_enabled = 1, updated_at = $2 WHERE id = $3",
        )
        .bind(secret)
        .bind(ts(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for h in recovery_code_hashes {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                .bind(id)
                .bind(h)
                .execute(&mut *tx)
                .await?;
        }
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        id: i64,
        code_hash: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let r = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(ts(at))
        .bind(id)
        .bind(code_hash)
        .execute(&mut *tx)
        .await?;
        let used = r.rows_affected() == 1;
        if used {
            audit::append(&mut tx, at, audit_event).await?;
        }
        tx.commit().await?;
        Ok(used)
    }

    async fn recovery_codes_left(&self, id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(id)
        .fetch_one(&self.read)
        .await?)
    }
}

fn session(row: &SqliteRow) -> Result<Session> {
    Ok(Session {
        id_hash: row.try_get("id_hash")?,
        account_id: row.try_get("account_id")?,
        mfa_passed: row.try_get("mfa_passed")?,
        created_at: parse_ts(row.try_get("created_at")?)?,
        expires_at: parse_ts(row.try_get("expires_at")?)?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, account_id, mfa_passed, created_at, expires_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id_hash)
        .bind(s.account_id)
        .bind(s.mfa_passed)
        .bind(ts(s.created_at))
        .bind(ts(s.expires_at))
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(ts(now))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(session).transpose()
    }

    async fn session_mfa_passed(&self, id_hash: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET mfa_passed = 1 WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn purge_sessions(&self, now: Timestamp) -> Result<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ts(now))
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected())
    }
}

fn token(row: &SqliteRow) -> Result<ApiToken> {
    let opt_ts = |c: &str| -> Result<Option<Timestamp>> {
        row.try_get::<Option<String>, _>(c)?
            .map(|s| parse_ts(&s))
            .transpose()
    };
    Ok(ApiToken {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        label: row.try_get("label")?,
        created_at: parse_ts(row.try_get("created_at")?)?,
        last_used_at: opt_ts("last_used_at")?,
        revoked_at: opt_ts("revoked_at")?,
    })
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(
        &self,
        account_id: i64,
        label: &str,
        hash: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        require_account(&mut tx, account_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (account_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(account_id)
        .bind(label)
        .bind(hash)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await?;
        let mut event = audit_event;
        event.target.get_or_insert_with(|| format!("token:{id}"));
        audit::append(&mut tx, at, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn use_token(&self, hash: &str, at: Timestamp) -> Result<Option<(ApiToken, Account)>> {
        let row =
            sqlx::query("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(&self.read)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let t = token(&row)?;
        let Some(acct) = self.account(t.account_id).await? else {
            return Ok(None);
        };
        if acct.disabled {
            return Ok(None);
        }
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(ts(at))
            .bind(t.id)
            .execute(&self.write)
            .await?;
        Ok(Some((t, acct)))
    }

    async fn list_tokens(&self, account_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT * FROM api_tokens WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(token).collect()
    }
}
