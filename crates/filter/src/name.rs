//! Normalisation of domain names.
//!
//! [`normalise_domain`] turns whatever a list or a query contains into the canonical form
//! stored in the database and compared at lookup:
//!
//! 1. trim surrounding whitespace;
//! 2. names containing non-ASCII go through IDNA (UTS #46, `idna::domain_to_ascii`), which
//!    also lower-cases and maps full-width dots; pure-ASCII names are only lower-cased
//!    (so `xn--` labels are kept verbatim and the function is idempotent);
//! 3. strip ONE trailing dot (`example.com.` is the fully qualified spelling);
//! 4. a leading `*.` wildcard means the same as the bare suffix (every lookup is a suffix
//!    walk), so `*.example.com` becomes `example.com`;
//! 5. IP literals (`192.0.2.1`, `[2001:db8::1]`, `2001:db8::1`) are rejected with
//!    [`NameError::IpLiteral`] so readers can count them separately;
//! 6. reject empty labels, labels longer than 63 bytes, names longer than 253 bytes,
//!    characters outside `a-z 0-9 - _ .`, and an all-numeric last label (no such TLD).
//!
//! A leading `www.` is never stripped here: whether it is meaningful depends on the list
//! format (see [`crate::list`]).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest name in presentation form without the trailing dot (RFC 1035: 255 octets on the
/// wire = 253 characters).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameError {
    /// Nothing left after trimming.
    Empty,
    /// `a..b`, `.a`, or `a..`.
    EmptyLabel,
    /// A label longer than 63 bytes.
    LabelTooLong,
    /// A name longer than 253 bytes.
    NameTooLong,
    /// A character outside `a-z0-9-_.` (after IDNA).
    InvalidChar,
    /// IDNA processing failed.
    Idna,
    /// The name is an IPv4 or IPv6 literal.
    IpLiteral,
    /// The last label is all digits (not a host name; e.g. a partial IP).
    NumericTld,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty name",
            Self::EmptyLabel => "empty label",
            Self::LabelTooLong => "label longer than 63 bytes",
            Self::NameTooLong => "name longer than 253 bytes",
            Self::InvalidChar => "character outside a-z 0-9 - _ .",
            Self::Idna => "IDNA conversion failed",
            Self::IpLiteral => "IP address literal",
            Self::NumericTld => "numeric top-level label",
        })
    }
}

impl std::error::Error for NameError {}

/// A normalised domain name (lower-case ASCII, punycode, no trailing dot, valid labels).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Domain(String);

impl Domain {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consume into the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Domain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Is `s` an IP literal (v4 dotted quad, v6, or bracketed v6)?
pub fn is_ip_literal(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.parse::<Ipv4Addr>().is_ok() || s.parse::<Ipv6Addr>().is_ok() {
        return true;
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .is_some_and(|r| r.parse::<Ipv6Addr>().is_ok())
}

/// Normalise a domain name; see the module documentation for the rules.
pub fn normalise_domain(input: &str) -> Result<Domain, NameError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if is_ip_literal(trimmed) {
        return Err(NameError::IpLiteral);
    }
    let mut name = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| NameError::Idna)?
    };
    if name.ends_with('.') {
        name.pop();
    }
    if let Some(rest) = name.strip_prefix("*.") {
        name = rest.to_owned();
    }
    validate_normalised(name.as_bytes())?;
    if is_ip_literal(&name) {
        return Err(NameError::IpLiteral);
    }
    Ok(Domain(name))
}

/// Check that `name` is already in normalised form (used by the normaliser and by the
/// database validator).
pub(crate) fn validate_normalised(name: &[u8]) -> Result<(), NameError> {
    validate_labels(name)?;
    let last_label = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    if last_label.iter().all(u8::is_ascii_digit) {
        return Err(NameError::NumericTld);
    }
    Ok(())
}

/// Check length, labels and characters (in either label order), in one pass.
pub(crate) fn validate_labels(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    // A label's length is told before its characters, as a label at a time would.
    let end_label = |len: usize, bad_char: bool| match len {
        0 => Err(NameError::EmptyLabel),
        n if n > MAX_LABEL_LEN => Err(NameError::LabelTooLong),
        _ if bad_char => Err(NameError::InvalidChar),
        _ => Ok(()),
    };
    let (mut len, mut bad_char) = (0usize, false);
    for &b in name {
        if b == b'.' {
            end_label(len, bad_char)?;
            (len, bad_char) = (0, false);
        } else {
            len += 1;
            bad_char |= !NAME_BYTES[usize::from(b)];
        }
    }
    end_label(len, bad_char)
}

/// Bytes allowed in a normalised label, by value.
const NAME_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_';
        b += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, NameError> {
        normalise_domain(s).map(Domain::into_string)
    }

    #[test]
    fn validation_names_the_first_fault_a_label_at_a_time() {
        let long = "a".repeat(MAX_LABEL_LEN);
        let cases: [(String, Result<(), NameError>); 9] = [
            ("example.com".into(), Ok(())),
            (format!("{long}.com"), Ok(())),
            (String::new(), Err(NameError::Empty)),
            ("a..com".into(), Err(NameError::EmptyLabel)),
            (".com".into(), Err(NameError::EmptyLabel)),
            ("example.com.".into(), Err(NameError::EmptyLabel)),
            ("Example.com".into(), Err(NameError::InvalidChar)),
            (format!("{long}!.com"), Err(NameError::LabelTooLong)),
            ("a!.b..c".into(), Err(NameError::InvalidChar)),
        ];
        for (name, want) in cases {
            assert_eq!(validate_labels(name.as_bytes()), want, "{name:?}");
        }
    }

    #[test]
    fn basics() {
        assert_eq!(n("  Example.COM. ").as_deref(), Ok("example.com"));
        assert_eq!(n("*.example.com").as_deref(), Ok("example.com"));
        assert_eq!(n("www.example.com").as_deref(), Ok("www.example.com"));
        assert_eq!(n("_dmarc.example.com").as_deref(), Ok("_dmarc.example.com"));
        assert_eq!(n("bücher.de").as_deref(), Ok("xn--bcher-kva.de"));
        assert_eq!(n("BÜCHER.de").as_deref(), Ok("xn--bcher-kva.de"));
        assert_eq!(n(""), Err(NameError::Empty));
        assert_eq!(n("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(n("example.com.."), Err(NameError::EmptyLabel));
        assert_eq!(n("exa mple.com"), Err(NameError::InvalidChar));
        assert_eq!(n("192.168.0.1"), Err(NameError::IpLiteral));
        assert_eq!(n("2001:db8::1"), Err(NameError::IpLiteral));
        assert_eq!(n("[2001:db8::1]"), Err(NameError::IpLiteral));
        assert_eq!(n("1.2.3"), Err(NameError::NumericTld));
        assert_eq!(n(&"a".repeat(64)), Err(NameError::LabelTooLong));
        let long = vec!["a".repeat(60); 5].join(".");
        assert_eq!(n(&long), Err(NameError::NameTooLong));
    }
}
