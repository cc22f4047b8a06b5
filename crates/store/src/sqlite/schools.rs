//! Schools and installation settings.

use super::{SqliteStore, audit};
use crate::time::ts;
use crate::{Result, School, SchoolStore};
use async_trait::async_trait;
use gatehouse_domain::audit::AuditEvent;
use jiff::Timestamp;

#[async_trait]
impl SchoolStore for SqliteStore {
    async fn first_school(&self) -> Result<Option<School>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM schools ORDER BY id LIMIT 1")
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|(id, name)| School { id, name }))
    }

    async fn create_school(
        &self,
        name: &str,
        at: Timestamp,
        audit_event: AuditEvent,
    ) -> Result<School> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO schools (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await?;
        audit::append(&mut tx, at, audit_event).await?;
        tx.commit().await?;
        Ok(School {
            id,
            name: name.to_owned(),
        })
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        let v: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
