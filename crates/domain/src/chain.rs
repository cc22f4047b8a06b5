//! Hash chains: the tamper evidence shared by the audit log and the signature ledger.
//!
//! Each link's hash covers its sequence number, its fields and the previous link's hash,
//! so editing, deleting or reordering any stored link breaks every hash after it.
//! [`ChainVerifier`] walks links in stored order and names the first that does not fit.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of link `seq` with these fields, chained to `prev_hash`. Fields are
/// length-prefixed, so no two different field lists hash alike.
pub fn link_hash(prev_hash: &str, seq: i64, fields: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    for f in fields {
        field(f);
    }
    hex::encode(h.finalize())
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The first link that does not fit.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// Walks a chain in stored order.
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
    /// Check the next link: its sequence number, stored previous hash, stored hash, and the
    /// hash recomputed from its stored fields.
    pub fn check(
        &mut self,
        seq: i64,
        prev_hash: &str,
        hash: &str,
        recomputed: &str,
    ) -> Result<(), ChainBreak> {
        if seq != self.expected_seq {
            return Err(ChainBreak {
                seq: self.expected_seq,
                reason: format!(
                    "missing or out of order (found entry {seq} where {} was expected)",
                    self.expected_seq
                ),
            });
        }
        let fail = |reason: &str| ChainBreak {
            seq,
            reason: reason.to_owned(),
        };
        if prev_hash != self.prev_hash {
            return Err(fail(
                "does not follow the entry before it (an entry was removed or reordered)",
            ));
        }
        if recomputed != hash {
            return Err(fail("its contents were changed after it was written"));
        }
        self.expected_seq += 1;
        self.prev_hash = hash.to_owned();
        Ok(())
    }

    /// How many links have been checked.
    pub fn checked(&self) -> i64 {
        self.expected_seq - 1
    }

    /// The hash of the last link checked: record it elsewhere to detect a truncated tail.
    pub fn head(&self) -> &str {
        &self.prev_hash
    }
}
