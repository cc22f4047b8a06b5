//! School devices registered for DNS over HTTPS: what kind of device, its name and asset
//! tag, and the filtering group it may be assigned to. Values from forms are parsed here.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What sort of device it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A Windows or macOS laptop.
    Laptop,
    /// A Chromebook.
    Chromebook,
    /// An iPad or Android tablet.
    Tablet,
    /// A desktop computer.
    Desktop,
    /// A phone.
    Phone,
    /// Anything else.
    Other,
}

impl DeviceKind {
    /// All kinds, in display order.
    pub const ALL: [DeviceKind; 6] = [
        Self::Laptop,
        Self::Chromebook,
        Self::Tablet,
        Self::Desktop,
        Self::Phone,
        Self::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Laptop => "laptop",
            Self::Chromebook => "chromebook",
            Self::Tablet => "tablet",
            Self::Desktop => "desktop",
            Self::Phone => "phone",
            Self::Other => "other",
        }
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Laptop => "Laptop",
            Self::Chromebook => "Chromebook",
            Self::Tablet => "Tablet",
            Self::Desktop => "Desktop",
            Self::Phone => "Phone",
            Self::Other => "Other",
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DeviceKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "kind",
                    format!(
                        "'{s}' is not a kind of device; use one of {}",
                        Self::ALL.map(DeviceKind::as_str).join(", ")
                    ),
                )
            })
    }
}

/// Text of `max` characters at most, without control characters, trimmed; `None` when empty.
fn short_text(field: &'static str, raw: &str, max: usize) -> Result<Option<String>, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters (such as tabs or line breaks)",
        ));
    }
    Ok(Some(s.to_owned()))
}

/// A device's name as people know it, e.g. "Laptop 14" or "Y6 iPad 3": 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DeviceName(String);

impl DeviceName {
    /// Parse a name from a form or the command line.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        short_text("name", raw, 100)?
            .map(Self)
            .ok_or_else(|| DomainError::invalid("name", "give the device a name"))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A serial number or asset tag (optional): at most 64 characters.
pub fn parse_asset_tag(raw: &str) -> Result<Option<String>, DomainError> {
    short_text("serial number or asset tag", raw, 64)
}

/// A filtering group (policy) name, e.g. `ks2`: 1–64 letters, digits, `_` or `-`,
/// stored lower-case.
pub fn parse_group_name(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim().to_ascii_lowercase();
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(s)
    } else {
        Err(DomainError::invalid(
            "group",
            format!(
                "'{}' is not a filtering group name (letters, digits, '_' and '-', at most 64)",
                raw.trim()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_kinds_are_named() {
        for k in DeviceKind::ALL {
            assert_eq!(k.as_str().parse::<DeviceKind>(), Ok(k));
        }
        assert_eq!(" Tablet ".parse::<DeviceKind>(), Ok(DeviceKind::Tablet));
        let e = "toaster".parse::<DeviceKind>().unwrap_err().to_string();
        assert!(
            e.starts_with("kind: 'toaster' is not a kind of device"),
            "{e}"
        );
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            DeviceName::parse("  Laptop 14 ").unwrap().as_str(),
            "Laptop 14"
        );
        assert!(DeviceName::parse("   ").is_err());
        assert!(DeviceName::parse(&"x".repeat(100)).is_ok());
        assert!(DeviceName::parse(&"x".repeat(101)).is_err());
        assert!(DeviceName::parse("a\tb").is_err());
    }

    #[test]
    fn asset_tags_are_optional() {
        assert_eq!(parse_asset_tag(" ").unwrap(), None);
        assert_eq!(
            parse_asset_tag(" SN-123 ").unwrap(),
            Some("SN-123".to_owned())
        );
        assert!(parse_asset_tag(&"9".repeat(65)).is_err());
    }

    #[test]
    fn group_names_are_policy_names() {
        assert_eq!(parse_group_name(" KS2 ").unwrap(), "ks2");
        assert_eq!(parse_group_name("sixth_form").unwrap(), "sixth_form");
        for bad in ["", "ks 2", "ks2;", "é", &"a".repeat(65)] {
            assert!(parse_group_name(bad).is_err(), "{bad:?}");
        }
    }
}
