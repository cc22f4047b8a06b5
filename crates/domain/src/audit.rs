//! The audit log's tamper-evident chain.
//!
//! Each entry's hash covers its sequence number, its fields and the previous entry's hash,
//! so editing, deleting or reordering any stored entry breaks every hash after it.
//! [`verify_chain`] finds the first entry that does not fit.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Who did it: an account's username, or `cli` / `system`.
    pub actor: String,
    /// What was done, as `noun.verb` (e.g. `person.view`, `people.import`).
    pub action: String,
    /// Which record, as `kind:id` (e.g. `person:42`), if any.
    pub target: Option<String>,
    /// The client's IP address, if the act came over the network.
    pub ip: Option<String>,
    /// Further detail, as a JSON object.
    pub detail: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// What.
    pub event: AuditEvent,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hash of an entry with sequence `seq` at `at`, chained to `prev_hash`.
pub fn entry_hash(prev_hash: &str, seq: i64, at: Timestamp, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(at.to_string().as_bytes());
    field(event.actor.as_bytes());
    field(event.action.as_bytes());
    field(event.target.as_deref().unwrap_or("\u{0}").as_bytes());
    field(event.ip.as_deref().unwrap_or("\u{0}").as_bytes());
    field(event.detail.as_bytes());
    hex::encode(h.finalize())
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The first entry that does not fit.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// Walks a chain in stored order. Feed entries with [`ChainVerifier::check`].
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Check the next entry; the error names the first that does not fit.
    pub fn check(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        let fail = |reason: &str| ChainBreak {
            seq: e.seq,
            reason: reason.to_owned(),
        };
        if e.seq != self.expected_seq {
            return Err(ChainBreak {
                seq: self.expected_seq,
                reason: format!(
                    "missing or out of order (found entry {} where {} was expected)",
                    e.seq, self.expected_seq
                ),
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(fail(
                "does not follow the entry before it (an entry was removed or reordered)",
            ));
        }
        if entry_hash(&e.prev_hash, e.seq, e.at, &e.event) != e.hash {
            return Err(fail("its contents were changed after it was written"));
        }
        self.expected_seq += 1;
        self.prev_hash.clone_from(&e.hash);
        Ok(())
    }

    /// How many entries have been checked.
    pub fn checked(&self) -> i64 {
        self.expected_seq - 1
    }

    /// The hash of the last entry checked: record it elsewhere to detect a truncated tail.
    pub fn head(&self) -> &str {
        &self.prev_hash
    }
}

/// Check a whole chain; returns the number of entries on success.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<i64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for e in entries {
        v.check(e)?;
    }
    Ok(v.checked())
}

/// Seal `event` as the entry after `prev` (or the first).
pub fn seal(prev: Option<(i64, &str)>, at: Timestamp, event: AuditEvent) -> AuditEntry {
    let (seq, prev_hash) = prev.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h.to_owned()));
    let hash = entry_hash(&prev_hash, seq, at, &event);
    AuditEntry {
        seq,
        at,
        event,
        prev_hash,
        hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash.as_str()));
            let e = seal(
                prev,
                Timestamp::from_second(1_700_000_000 + i).unwrap(),
                AuditEvent {
                    actor: "head".into(),
                    action: "person.view".into(),
                    target: Some(format!("person:{i}")),
                    ip: Some("127.0.0.1".into()),
                    detail: "{}".into(),
                },
            );
            out.push(e);
        }
        out
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
        assert_eq!(verify_chain(&[]), Ok(0));
    }

    #[test]
    fn an_edit_is_found_at_its_entry() {
        let mut c = chain(5);
        c[2].event.target = Some("person:99".into());
        assert_eq!(verify_chain(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn a_deletion_is_found() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c).unwrap_err().seq, 2);
    }

    #[test]
    fn a_reorder_is_found() {
        let mut c = chain(5);
        c.swap(3, 4);
        assert_eq!(verify_chain(&c).unwrap_err().seq, 4);
    }

    #[test]
    fn a_rehashed_edit_is_still_found_by_the_next_entry() {
        let mut c = chain(5);
        c[2].event.actor = "intruder".into();
        c[2].hash = entry_hash(&c[2].prev_hash, c[2].seq, c[2].at, &c[2].event);
        assert_eq!(verify_chain(&c).unwrap_err().seq, 4);
    }
}
