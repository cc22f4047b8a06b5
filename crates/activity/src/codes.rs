//! How event fields are stored: small integer codes, microsecond timestamps and reversed
//! domain names.

use gatehouse_dns::{Rcode, Transport};
use gatehouse_filter::Action;
use jiff::Timestamp;

use crate::{ActivityError, Result};

pub(crate) fn action_code(a: Action) -> i64 {
    i64::from(a.rank())
}

pub(crate) fn action_of(code: i64) -> Result<Action> {
    match code {
        0 => Ok(Action::Allow),
        1 => Ok(Action::Log),
        2 => Ok(Action::Warn),
        3 => Ok(Action::Block),
        other => Err(ActivityError::Corrupt(format!("action {other}"))),
    }
}

pub(crate) fn rcode_code(r: Rcode) -> i64 {
    match r {
        Rcode::NoError => 0,
        Rcode::FormErr => 1,
        Rcode::ServFail => 2,
        Rcode::NxDomain => 3,
        Rcode::NotImp => 4,
        Rcode::Refused => 5,
        Rcode::Other(n) => i64::from(n),
    }
}

pub(crate) fn rcode_of(code: i64) -> Result<Rcode> {
    Ok(match code {
        0 => Rcode::NoError,
        1 => Rcode::FormErr,
        2 => Rcode::ServFail,
        3 => Rcode::NxDomain,
        4 => Rcode::NotImp,
        5 => Rcode::Refused,
        other => Rcode::Other(
            u16::try_from(other).map_err(|_| ActivityError::Corrupt(format!("rcode {other}")))?,
        ),
    })
}

/// The usual name of a response code (`NOERROR`, `NXDOMAIN`, ... or the number).
pub(crate) fn rcode_name(r: Rcode) -> String {
    match r {
        Rcode::NoError => "NOERROR".to_owned(),
        Rcode::FormErr => "FORMERR".to_owned(),
        Rcode::ServFail => "SERVFAIL".to_owned(),
        Rcode::NxDomain => "NXDOMAIN".to_owned(),
        Rcode::NotImp => "NOTIMP".to_owned(),
        Rcode::Refused => "REFUSED".to_owned(),
        Rcode::Other(n) => n.to_string(),
    }
}

pub(crate) fn transport_code(t: Transport) -> i64 {
    match t {
        Transport::Udp => 0,
        Transport::Tcp => 1,
        Transport::Https => 2,
    }
}

pub(crate) fn transport_of(code: i64) -> Result<Transport> {
    match code {
        0 => Ok(Transport::Udp),
        1 => Ok(Transport::Tcp),
        2 => Ok(Transport::Https),
        other => Err(ActivityError::Corrupt(format!("transport {other}"))),
    }
}

/// Microseconds since the Unix epoch.
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn timestamp_of(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| ActivityError::Corrupt(format!("time {us}: {e}")))
}

/// `name` reversed character by character (`www.example.com` → `moc.elpmaxe.www`).
pub(crate) fn reversed(name: &str) -> String {
    name.chars().rev().collect()
}

/// A domain as searched: lower-case, without surrounding dots or spaces.
pub(crate) fn normal_domain(name: &str) -> String {
    name.trim().trim_matches('.').to_ascii_lowercase()
}
