//! The audit log: checking the chain end to end, and searching it.

use crate::{Actor, Gatehouse, Result};
use gatehouse_domain::audit::{AuditEntry, ChainBreak, ChainVerifier, check_entry};
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_store::AuditFilter;

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: i64,
    /// Hash of the last entry (record it elsewhere to detect a truncated tail).
    pub head: String,
    /// The first entry that does not fit, if any.
    pub broken: Option<BrokenEntry>,
}

/// Where the chain broke.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenEntry {
    /// Sequence number.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

impl From<ChainBreak> for BrokenEntry {
    fn from(b: ChainBreak) -> Self {
        Self {
            seq: b.seq,
            reason: b.reason,
        }
    }
}

impl Gatehouse {
    /// Check every entry of the audit chain, in pages.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<ChainReport> {
        actor.require(Action::View, Resource::AuditLog)?;
        let mut v = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.store.audit_entries(after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                if let Err(b) = check_entry(&mut v, e) {
                    return Ok(ChainReport {
                        entries: v.checked(),
                        head: v.head().to_owned(),
                        broken: Some(b.into()),
                    });
                }
            }
        }
        Ok(ChainReport {
            entries: v.checked(),
            head: v.head().to_owned(),
            broken: None,
        })
    }

    /// Search the audit log, newest first. The search itself is audited.
    pub async fn search_audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>> {
        actor.require(Action::View, Resource::AuditLog)?;
        let found = self.store.search_audit(filter).await?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event(
                    "audit.search",
                    None,
                    serde_json::json!({
                        "actor": filter.actor, "action": filter.action, "target": filter.target,
                    }),
                ),
            )
            .await?;
        Ok(found)
    }
}
