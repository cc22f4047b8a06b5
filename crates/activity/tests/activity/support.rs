//! Test support: a fresh activity database and events with every field set.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use gatehouse_activity::ActivityLog;
use gatehouse_dns::{ActivityEvent, IdentifiedBy, Rcode, Transport};
use gatehouse_filter::Action;
use jiff::Timestamp;

/// A base instant (2025-11-13T02:13:20Z).
pub const BASE: i64 = 1_763_000_000;

/// `BASE` plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(BASE + secs).unwrap()
}

/// An empty activity log in a temporary directory.
pub async fn open() -> (tempfile::TempDir, ActivityLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = ActivityLog::open(&dir.path().join("activity.db"))
        .await
        .unwrap();
    (dir, log)
}

/// An allowed query for `qname` by `person` (when given) from 10.0.0.`host`.
pub fn event(time: Timestamp, qname: &str, person: Option<&str>, host: u8) -> ActivityEvent {
    ActivityEvent {
        time,
        client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)),
        person: person.map(str::to_owned),
        group: "ks2".to_owned(),
        identified_by: match person {
            Some(_) => IdentifiedBy::Source,
            None => IdentifiedBy::Unidentified,
        },
        qname: qname.to_owned(),
        qtype: "A".to_owned(),
        category: None,
        action: Action::Allow,
        rule: "default:ks2".to_owned(),
        matched_list: None,
        cname: None,
        rcode: Rcode::NoError,
        upstream_latency_us: Some(1500),
        cached: false,
        transport: Transport::Udp,
        device: None,
    }
}

/// A blocked query in `category`.
pub fn blocked(
    time: Timestamp,
    qname: &str,
    person: Option<&str>,
    category: &str,
) -> ActivityEvent {
    ActivityEvent {
        category: Some(category.to_owned()),
        action: Action::Block,
        rule: format!("policy:ks2/{category}"),
        matched_list: Some(qname.to_owned()),
        upstream_latency_us: None,
        ..event(time, qname, person, 7)
    }
}

/// An event with every optional field set and unusual values.
pub fn full(time: Timestamp) -> ActivityEvent {
    ActivityEvent {
        time,
        client: "2001:db8::42".parse().unwrap(),
        person: Some("ada.lovelace".to_owned()),
        group: "staff".to_owned(),
        identified_by: IdentifiedBy::Binding(Arc::from("library")),
        qname: "cdn.bet.example".to_owned(),
        qtype: "HTTPS".to_owned(),
        category: Some("gambling".to_owned()),
        action: Action::Warn,
        rule: "policy:staff/gambling".to_owned(),
        matched_list: Some("bet.example".to_owned()),
        cname: Some("edge.cdn.example".to_owned()),
        rcode: Rcode::Other(23),
        upstream_latency_us: Some(123_456),
        cached: true,
        transport: Transport::Https,
        device: Some("Laptop 14".to_owned()),
    }
}
