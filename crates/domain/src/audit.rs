//! The audit log: what is recorded of each act, sealed into a hash chain
//! ([`crate::chain`]) so that any edited, deleted or reordered entry is found.

use crate::chain::link_hash;
pub use crate::chain::{ChainBreak, ChainVerifier, GENESIS};
use jiff::Timestamp;
use serde::Serialize;

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
    let at = at.to_string();
    link_hash(
        prev_hash,
        seq,
        &[
            at.as_bytes(),
            event.actor.as_bytes(),
            event.action.as_bytes(),
            event.target.as_deref().unwrap_or("\u{0}").as_bytes(),
            event.ip.as_deref().unwrap_or("\u{0}").as_bytes(),
            event.detail.as_bytes(),
        ],
    )
}

/// Check the next stored entry against the chain so far.
pub fn check_entry(v: &mut ChainVerifier, e: &AuditEntry) -> Result<(), ChainBreak> {
    v.check(
        e.seq,
        &e.prev_hash,
        &e.hash,
        &entry_hash(&e.prev_hash, e.seq, e.at, &e.event),
    )
}

/// Check a whole chain; returns the number of entries on success.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<i64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for e in entries {
        check_entry(&mut v, e)?;
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
