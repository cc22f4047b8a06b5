//! The signature ledger: every signature and withdrawal, append-only and hash-chained
//! ([`crate::chain`]), so that an edited, deleted or reordered record is found.

use crate::DomainError;
use crate::chain::{ChainBreak, ChainVerifier, GENESIS, link_hash};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Who signed, relative to the person whose agreement it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The person themself.
    Own,
    /// Their parent or carer.
    Parent,
}

impl Relation {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "self",
            Self::Parent => "parent",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "self" => Ok(Self::Own),
            "parent" => Ok(Self::Parent),
            _ => Err(DomainError::invalid(
                "relation",
                format!("'{s}' is not a relation"),
            )),
        }
    }
}

/// Signing or withdrawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Agreed to the version.
    Sign,
    /// Withdrew an earlier agreement.
    Withdraw,
}

impl Act {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Withdraw => "withdraw",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "sign" => Ok(Self::Sign),
            "withdraw" => Ok(Self::Withdraw),
            _ => Err(DomainError::invalid(
                "action",
                format!("'{s}' is not a signature action"),
            )),
        }
    }
}

/// How the signature was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// In Gatehouse, signed in.
    Online,
    /// On paper, entered by staff with a scan.
    Paper,
}

impl Method {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Paper => "paper",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "online" => Ok(Self::Online),
            "paper" => Ok(Self::Paper),
            _ => Err(DomainError::invalid(
                "method",
                format!("'{s}' is not a signing method"),
            )),
        }
    }
}

/// Everything a ledger record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// Whose agreement (person id).
    pub person_id: i64,
    /// Who signed (person id: the same, or a parent).
    pub signer_id: i64,
    /// Signer's relation to the person.
    pub relation: Relation,
    /// The policy.
    pub policy_id: i64,
    /// The version signed.
    pub version_id: i64,
    /// Its number.
    pub version_number: u32,
    /// Its SHA-256: what exactly was agreed to.
    pub version_hash: String,
    /// Sign or withdraw.
    pub act: Act,
    /// Online or paper.
    pub method: Method,
    /// The full name typed (online) or written (paper).
    pub typed_name: String,
    /// The date of the signature.
    pub signed_on: Date,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it (username).
    pub recorded_by: String,
    /// Client address.
    pub ip: Option<String>,
    /// Browser.
    pub user_agent: Option<String>,
    /// SHA-256 of the scanned paper form.
    pub scan_sha256: Option<String>,
}

/// A stored ledger record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureRecord {
    /// Position in the ledger, from 1 without gaps.
    pub seq: i64,
    /// What it says.
    pub signature: Signature,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The hash of record `seq`, chained to `prev_hash`.
pub fn record_hash(prev_hash: &str, seq: i64, s: &Signature) -> String {
    let none = "\u{0}";
    let nums = [
        s.person_id.to_string(),
        s.signer_id.to_string(),
        s.policy_id.to_string(),
        s.version_id.to_string(),
        s.version_number.to_string(),
        s.signed_on.to_string(),
        s.recorded_at.to_string(),
    ];
    link_hash(
        prev_hash,
        seq,
        &[
            nums[0].as_bytes(),
            nums[1].as_bytes(),
            s.relation.as_str().as_bytes(),
            nums[2].as_bytes(),
            nums[3].as_bytes(),
            nums[4].as_bytes(),
            s.version_hash.as_bytes(),
            s.act.as_str().as_bytes(),
            s.method.as_str().as_bytes(),
            s.typed_name.as_bytes(),
            nums[5].as_bytes(),
            nums[6].as_bytes(),
            s.recorded_by.as_bytes(),
            s.ip.as_deref().unwrap_or(none).as_bytes(),
            s.user_agent.as_deref().unwrap_or(none).as_bytes(),
            s.scan_sha256.as_deref().unwrap_or(none).as_bytes(),
        ],
    )
}

/// Seal `signature` as the record after `prev` (or the first).
pub fn seal(prev: Option<(i64, &str)>, signature: Signature) -> SignatureRecord {
    let (seq, prev_hash) = prev.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h.to_owned()));
    let hash = record_hash(&prev_hash, seq, &signature);
    SignatureRecord {
        seq,
        signature,
        prev_hash,
        hash,
    }
}

/// Check the next stored record against the ledger so far.
pub fn check_record(v: &mut ChainVerifier, r: &SignatureRecord) -> Result<(), ChainBreak> {
    v.check(
        r.seq,
        &r.prev_hash,
        &r.hash,
        &record_hash(&r.prev_hash, r.seq, &r.signature),
    )
}

/// Does a typed name match the signer's recorded name? Case, accents' absence, spacing
/// and punctuation around names are ignored; the words must be the same and in order.
pub fn names_match(typed: &str, full_name: &str) -> bool {
    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || c == '-' || c == '.' || c == ',')
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric() || *c == '\'')
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect()
    }
    let t = words(typed);
    !t.is_empty() && t == words(full_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(n: i64) -> Signature {
        Signature {
            person_id: n,
            signer_id: n,
            relation: Relation::Own,
            policy_id: 1,
            version_id: 2,
            version_number: 1,
            version_hash: "ab".repeat(32),
            act: Act::Sign,
            method: Method::Online,
            typed_name: "Ann Example".into(),
            signed_on: jiff::civil::date(2026, 9, 1),
            recorded_at: Timestamp::from_second(1_788_000_000 + n).unwrap(),
            recorded_by: "ann".into(),
            ip: Some("10.0.0.5".into()),
            user_agent: None,
            scan_sha256: None,
        }
    }

    fn ledger(n: i64) -> Vec<SignatureRecord> {
        let mut out: Vec<SignatureRecord> = Vec::new();
        for i in 1..=n {
            let prev = out.last().map(|r| (r.seq, r.hash.as_str()));
            out.push(seal(prev, sig(i)));
        }
        out
    }

    fn verify(records: &[SignatureRecord]) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for r in records {
            check_record(&mut v, r)?;
        }
        Ok(v.checked())
    }

    #[test]
    fn an_untouched_ledger_verifies() {
        assert_eq!(verify(&ledger(4)), Ok(4));
    }

    #[test]
    fn edits_deletions_and_reorders_are_found() {
        let mut edited = ledger(4);
        edited[1].signature.typed_name = "Someone Else".into();
        assert_eq!(verify(&edited).unwrap_err().seq, 2);
        let mut deleted = ledger(4);
        deleted.remove(2);
        assert_eq!(verify(&deleted).unwrap_err().seq, 3);
        let mut reordered = ledger(4);
        reordered.swap(0, 1);
        assert_eq!(verify(&reordered).unwrap_err().seq, 1);
        let mut version = ledger(4);
        version[3].signature.version_hash = "cd".repeat(32);
        assert_eq!(verify(&version).unwrap_err().seq, 4);
    }

    #[test]
    fn typed_names_ignore_case_and_spacing() {
        assert!(names_match("  amelia   HART ", "Amelia Hart"));
        assert!(names_match("Mary-Jane O'Neill", "mary jane o'neill"));
        assert!(!names_match("Amelia", "Amelia Hart"));
        assert!(!names_match("Hart Amelia", "Amelia Hart"));
        assert!(!names_match("", "Amelia Hart"));
    }
}
