//! `gatehouse demo` runs the DNS filter: over a real UDP socket on 127.0.0.1, a listed
//! gambling site is answered with the block page's address (the web server's), an unlisted
//! name with the `static:` upstream's address, and a search engine with its safe-search
//! host; every answer is written to the activity log, and `/healthz` reports the DNS
//! filter's and the activity log's counters.

use crate::support::Site;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// A DNS query for `name`, type `qtype`, with id `id`.
fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Skip a (possibly compressed) name at `at`; returns the position after it.
fn skip_name(m: &[u8], mut at: usize) -> usize {
    loop {
        let len = m[at];
        if len & 0xc0 == 0xc0 {
            return at + 2;
        }
        at += 1;
        if len == 0 {
            return at;
        }
        at += usize::from(len);
    }
}

/// (rcode, answer records as (type, rdata)).
pub fn answers(m: &[u8]) -> (u8, Vec<(u16, Vec<u8>)>) {
    let rcode = m[3] & 0x0f;
    let qd = u16::from_be_bytes([m[4], m[5]]);
    let an = u16::from_be_bytes([m[6], m[7]]);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(m, at) + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        at = skip_name(m, at);
        let rtype = u16::from_be_bytes([m[at], m[at + 1]]);
        let len = usize::from(u16::from_be_bytes([m[at + 8], m[at + 9]]));
        out.push((rtype, m[at + 10..at + 10 + len].to_vec()));
        at += 10 + len;
    }
    (rcode, out)
}

pub fn ask(
    sock: &UdpSocket,
    server: SocketAddr,
    id: u16,
    name: &str,
    qtype: u16,
) -> (u8, Vec<(u16, Vec<u8>)>) {
    sock.send_to(&query(id, name, qtype), server).unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(
        u16::from_be_bytes([buf[0], buf[1]]),
        id,
        "answer to another query"
    );
    answers(&buf[..n])
}

pub fn a_records(records: &[(u16, Vec<u8>)]) -> Vec<Ipv4Addr> {
    records
        .iter()
        .filter(|(t, d)| *t == 1 && d.len() == 4)
        .map(|(_, d)| Ipv4Addr::new(d[0], d[1], d[2], d[3]))
        .collect()
}

#[test]
fn demo_answers_blocked_allowed_and_safe_search_names() {
    let site = Site::empty();
    let server = site.start_demo_with(&["--upstream", "static:10.9.9.9"]);
    let dns = server
        .dns
        .expect("the demo says where its DNS filter listens");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let (rcode, rr) = ask(&sock, dns, 1, "bet365.com", 1);
    assert_eq!(rcode, 0);
    assert_eq!(
        a_records(&rr),
        vec![Ipv4Addr::LOCALHOST],
        "blocked: the block page's address"
    );

    let (rcode, rr) = ask(&sock, dns, 2, "www.bet365.com", 1);
    assert_eq!(
        (rcode, a_records(&rr)),
        (0, vec![Ipv4Addr::LOCALHOST]),
        "subdomains too"
    );

    let (rcode, rr) = ask(&sock, dns, 3, "example.org", 1);
    assert_eq!(rcode, 0);
    assert_eq!(
        a_records(&rr),
        vec![Ipv4Addr::new(10, 9, 9, 9)],
        "allowed: upstream's answer"
    );

    let (rcode, rr) = ask(&sock, dns, 4, "www.google.com", 1);
    assert_eq!(rcode, 0);
    assert!(
        rr.iter().any(|(t, _)| *t == 5),
        "safe search: a CNAME to the enforcement host: {rr:?}"
    );

    // Every answer is in the activity log (written in batches, at least every second).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        let log = gatehouse_activity::ActivityLog::open(&site.data().join("activity.db"))
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let search = gatehouse_activity::ActivitySearch {
                domain: Some("bet365.com".into()),
                ..Default::default()
            };
            let rows = log.search(&search).await.unwrap();
            if rows.len() >= 2 || std::time::Instant::now() > deadline {
                break rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(
        rows.len(),
        2,
        "bet365.com and www.bet365.com logged: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.qname.ends_with("bet365.com")),
        "{rows:?}"
    );
    server.stop();
}

/// A query naming self-harm in its words raises a high monitoring alert as the event
/// arrives, and the DSL is emailed (the demo's outbox); repeats are folded into it.
#[test]
fn a_worrying_query_raises_an_alert_and_tells_the_dsl() {
    let site = Site::empty();
    let server = site.start_demo_with(&["--upstream", "static:10.9.9.9"]);
    let dns = server.dns.expect("the DNS filter runs");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (rcode, _) = ask(&sock, dns, 7, "ways-to-kill-myself.example", 1);
    assert_eq!(rcode, 0);
    let db = site.db();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mails = site.data().join("outbox");
    let mentions_alert = |p: &std::path::Path| {
        std::fs::read_to_string(p).is_ok_and(|m| m.contains("Gatehouse: high alert"))
    };
    loop {
        let alerts = crate::support::number(
            &db,
            "SELECT COUNT(*) FROM alerts WHERE rule = 'keywords:self-harm and suicide' AND severity = 'high' AND notified_at IS NOT NULL",
            &[],
        );
        let mailed = std::fs::read_dir(&mails)
            .map(|d| d.filter_map(Result::ok).any(|f| mentions_alert(&f.path())))
            .unwrap_or(false);
        if alerts == 1 && mailed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notified alert ({alerts}) or no email to the DSL ({mailed})\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Two more from the same client within the folding time: the same alert, counted
    // (repeats are stored within a second or so, not one write each).
    for id in [8, 9] {
        let (rcode, _) = ask(&sock, dns, id, "ways-to-kill-myself.example", 1);
        assert_eq!(rcode, 0);
    }
    loop {
        let rows = crate::support::number(
            &db,
            "SELECT COUNT(*) FROM alerts WHERE rule = 'keywords:self-harm and suicide' AND subject = 'client:127.0.0.1'",
            &[],
        );
        let count = crate::support::number(
            &db,
            "SELECT COALESCE(MAX(count), 0) FROM alerts WHERE rule = 'keywords:self-harm and suicide' AND subject = 'client:127.0.0.1'",
            &[],
        );
        assert_eq!(rows, 1, "repeats must not raise new alerts");
        if count == 3 {
            break;
        }
        assert!(
            count < 3 && std::time::Instant::now() < deadline,
            "the alert counts {count} queries, expected 3\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.stop();
}
