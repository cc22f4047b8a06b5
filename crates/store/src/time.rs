//! How instants and dates are written to and read from text columns.

use crate::StoreError;
use jiff::civil::Date;
use jiff::{Timestamp, Unit};

/// Instants are stored to the microsecond, in a fixed-width UTC form that sorts as text.
pub(crate) fn ts(t: Timestamp) -> String {
    let t = t.round(Unit::Microsecond).unwrap_or(t);
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The instant as it will be read back: what audit hashes are computed over.
pub(crate) fn stored_ts(t: Timestamp) -> Timestamp {
    t.round(Unit::Microsecond).unwrap_or(t)
}

pub(crate) fn parse_ts(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("timestamp '{s}': {e}")))
}

pub(crate) fn date(d: Date) -> String {
    d.to_string()
}

pub(crate) fn parse_date(s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("date '{s}': {e}")))
}
