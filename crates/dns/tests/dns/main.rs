//! Integration tests of the DNS filter server over real sockets on 127.0.0.1: answers for
//! allowed, blocked and safe-search names, forwarding (TCP retry, fail-over, negative
//! cache), served subnets, identity order, rate limiting, bad packets, activity events,
//! and a property test of the packet handler.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzz;
mod support;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use gatehouse_dns::{
    BlockMode, DnsConfig, IdentifiedBy, LimitAction, RateLimit, Rcode, Transport, Upstream,
};
use gatehouse_filter::{Action, Identity};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use support::*;

#[tokio::test]
async fn allowed_a_via_static_upstream() {
    let (h, _ev) = start(config()).await;
    let udp_addr = h.udp_addrs()[0];
    let m = udp(udp_addr, "allowed.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.metadata.message_type, MessageType::Response);
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    assert_eq!(m.queries[0].name().to_ascii(), "allowed.example.");
    let m = udp(udp_addr, "allowed.example.", RecordType::AAAA).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(
        m.answers.is_empty(),
        "AAAA with an IPv4 static address is NODATA"
    );
    let m = udp(udp_addr, "allowed.example.", RecordType::MX).await;
    assert!(m.answers.is_empty());
    assert_eq!(h.stats().answered, 3);
    h.shutdown().await;
}

#[tokio::test]
async fn blocked_names_get_block_page_nodata_or_nxdomain_per_category() {
    let mut cfg = config();
    cfg.block_modes = HashMap::from([("advertising".to_owned(), BlockMode::Nxdomain)]);
    let (h, _ev) = start(cfg).await;
    let s = h.udp_addrs()[0];

    let m = udp(s, "bet.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    assert_eq!(m.answers[0].ttl, 60);

    let m = udp(s, "www.bet.example.", RecordType::AAAA).await;
    let v6: Vec<_> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
        .collect();
    assert_eq!(
        v6,
        vec!["2001:db8::80".parse::<std::net::Ipv6Addr>().unwrap()]
    );

    let m = udp(s, "bet.example.", RecordType::HTTPS).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty(), "HTTPS for a blocked name is NODATA");

    for t in [RecordType::A, RecordType::AAAA, RecordType::HTTPS] {
        let m = udp(s, "ads.example.", t).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{t}");
        assert!(m.answers.is_empty());
    }
    assert_eq!(h.stats().blocked, 6);
    h.shutdown().await;
}

#[tokio::test]
async fn cname_chain_into_a_blocked_name_is_blocked() {
    let up = TestUpstream::start(Mode::Answer).await;
    let (h, mut ev) = start(forward_config(&[up.addr])).await;
    let s = h.udp_addrs()[0];

    let m = udp(s, "cdn.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    assert!(cnames(&m).is_empty(), "the upstream chain is not passed on");
    let e = recv(&mut ev).await;
    assert_eq!(e.qname, "cdn.example");
    assert_eq!(e.cname.as_deref(), Some("bet.example"));
    assert_eq!(e.action, Action::Block);
    assert_eq!(e.category.as_deref(), Some("gambling"));

    let m = udp(s, "www.cdn-ok.example.", RecordType::A).await;
    assert_eq!(cnames(&m), vec!["edge.cdn-ok.example"]);
    assert_eq!(a_records(&m).len(), 1);
    assert_ne!(a_records(&m), vec![BLOCK_V4]);
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn safe_search_answers_cname_and_address() {
    // Static upstream: the enforcement host gets the static address.
    let (h, mut ev) = start(config()).await;
    let m = udp(h.udp_addrs()[0], "www.google.com.", RecordType::A).await;
    assert_eq!(cnames(&m), vec!["forcesafesearch.google.com"]);
    assert_eq!(m.answers[0].name.to_ascii(), "www.google.com.");
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    assert_eq!(m.answers[1].name.to_ascii(), "forcesafesearch.google.com.");
    let e = recv(&mut ev).await;
    assert_eq!(e.rule, "safe_search:google");
    h.shutdown().await;

    // Forwarding: the enforcement host is resolved upstream.
    let up = TestUpstream::start(Mode::Answer).await;
    let (h, _ev) = start(forward_config(&[up.addr])).await;
    let m = udp(h.udp_addrs()[0], "www.google.com.", RecordType::A).await;
    assert_eq!(cnames(&m), vec!["forcesafesearch.google.com"]);
    assert_eq!(
        a_records(&m),
        vec![Ipv4Addr::new(
            198,
            51,
            100,
            "forcesafesearch.google.com.".len() as u8
        )]
    );
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn safe_search_a_target_answers_the_address() {
    let (h, _ev) = start(config()).await;
    let m = udp(h.udp_addrs()[0], "www.yandex.az.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![Ipv4Addr::new(213, 180, 193, 56)]);
    let m = udp(h.udp_addrs()[0], "www.yandex.az.", RecordType::AAAA).await;
    assert!(m.answers.is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn tcp_queries_are_answered() {
    let (h, mut ev) = start(config()).await;
    let m = tcp(h.tcp_addrs()[0], "allowed.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    let m = tcp(h.tcp_addrs()[0], "bet.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    assert_eq!(recv(&mut ev).await.transport, Transport::Tcp);

    // Several queries on one connection are answered in order.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(h.tcp_addrs()[0])
        .await
        .unwrap();
    for (id, name) in [(1u16, "a.example."), (2, "bet.example."), (3, "c.example.")] {
        let q = query_bytes(id, name, RecordType::A);
        conn.write_all(&(q.len() as u16).to_be_bytes())
            .await
            .unwrap();
        conn.write_all(&q).await.unwrap();
    }
    let mut answers = Vec::new();
    for _ in 0..3 {
        let mut len = [0u8; 2];
        conn.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        conn.read_exact(&mut buf).await.unwrap();
        let m = Message::from_vec(&buf).unwrap();
        answers.push((m.metadata.id, a_records(&m)));
    }
    assert_eq!(
        answers,
        vec![
            (1, vec![STATIC_V4]),
            (2, vec![BLOCK_V4]),
            (3, vec![STATIC_V4])
        ]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn truncated_udp_upstream_answer_is_retried_over_tcp() {
    let up = TestUpstream::start(Mode::TruncateUdp).await;
    let (h, _ev) = start(forward_config(&[up.addr])).await;
    let m = udp(h.udp_addrs()[0], "big.example.", RecordType::A).await;
    assert!(!m.metadata.truncation);
    assert_eq!(a_records(&m).len(), 1);
    assert_eq!(up.udp_count(), 1);
    assert_eq!(up.tcp_count(), 1);
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn upstream_timeout_fails_over_to_the_next() {
    let silent = TestUpstream::start(Mode::Silent).await;
    let good = TestUpstream::start(Mode::Answer).await;
    let mut cfg = forward_config(&[silent.addr, good.addr]);
    cfg.timeout_ms = 300;
    let (h, mut ev) = start(cfg).await;
    let m = udp(h.udp_addrs()[0], "one.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&m).len(), 1);
    assert_eq!(silent.udp_count(), 1);
    assert_eq!(good.udp_count(), 1);
    let e = recv(&mut ev).await;
    assert!(e.upstream_latency_us.unwrap() >= 300_000, "{e:?}");
    // The working resolver is now tried first.
    let _ = udp(h.udp_addrs()[0], "two.example.", RecordType::A).await;
    assert_eq!(silent.udp_count(), 1);
    assert_eq!(good.udp_count(), 2);
    assert_eq!(h.stats().upstream_queries, 3);
    h.shutdown().await;
    silent.stop().await;
    good.stop().await;
}

#[tokio::test]
async fn upstream_servfail_fails_over_to_the_next() {
    let bad = TestUpstream::start(Mode::ServFail).await;
    let good = TestUpstream::start(Mode::Answer).await;
    let (h, _ev) = start(forward_config(&[bad.addr, good.addr])).await;
    let m = udp(h.udp_addrs()[0], "one.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&m).len(), 1);
    assert_eq!((bad.udp_count(), good.udp_count()), (1, 1));
    h.shutdown().await;
    bad.stop().await;
    good.stop().await;
}

#[tokio::test]
async fn upstream_replies_with_the_wrong_id_are_ignored() {
    let up = TestUpstream::start(Mode::ForgeFirst).await;
    let (h, _ev) = start(forward_config(&[up.addr])).await;
    let m = udp(h.udp_addrs()[0], "bank.example.", RecordType::A).await;
    assert_eq!(
        a_records(&m),
        vec![Ipv4Addr::new(198, 51, 100, "bank.example.".len() as u8)]
    );
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn decisions_are_not_cached_with_answers() {
    // `www.chatcdn.example` is a CNAME to `chat.example`: allowed for staff, blocked for
    // ks2. The answer is cached after the staff query; the ks2 query is decided anew.
    let up = TestUpstream::start(Mode::Answer).await;
    let who = Arc::new(std::sync::Mutex::new(Identity::group("staff")));
    let source = {
        let who = who.clone();
        move |_: IpAddr| Some(who.lock().unwrap().clone())
    };
    let (h, _ev) = start_with(forward_config(&[up.addr]), Arc::new(source)).await;
    let s = h.udp_addrs()[0];
    let m = udp(s, "www.chatcdn.example.", RecordType::A).await;
    assert_eq!(cnames(&m), vec!["chat.example"]);
    *who.lock().unwrap() = Identity::group("ks2");
    let m = udp(s, "www.chatcdn.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    assert_eq!(up.udp_count(), 1);
    assert_eq!(h.stats().cache_hits, 1);
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn a_slow_upstream_does_not_stall_other_queries() {
    let silent = TestUpstream::start(Mode::Silent).await;
    let mut cfg = forward_config(&[silent.addr]);
    cfg.timeout_ms = 60_000;
    let (h, _ev) = start(cfg).await;
    let s = h.udp_addrs()[0];
    let slow = tokio::spawn(async move { udp(s, "slow.example.", RecordType::A).await });
    wait_for(|| silent.udp_count() == 1).await;
    let m = udp(s, "bet.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    assert!(
        !slow.is_finished(),
        "the slow query is still waiting upstream"
    );
    slow.abort();
    h.shutdown().await;
    silent.stop().await;
}

#[tokio::test]
async fn packets_beyond_max_in_flight_are_dropped_and_counted() {
    let silent = TestUpstream::start(Mode::Silent).await;
    let mut cfg = forward_config(&[silent.addr]);
    cfg.timeout_ms = 60_000;
    cfg.max_in_flight = 1;
    let (h, _ev) = start(cfg).await;
    let s = h.udp_addrs()[0];
    let slow = tokio::spawn(async move { udp(s, "slow.example.", RecordType::A).await });
    wait_for(|| silent.udp_count() == 1).await;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&query_bytes(77, "bet.example.", RecordType::A), s)
        .await
        .unwrap();
    wait_for(|| h.stats().overloaded == 1).await;
    assert_eq!(h.stats().answered, 0);
    slow.abort();
    h.shutdown().await;
    silent.stop().await;
}

#[tokio::test]
async fn identical_queries_in_flight_are_sent_upstream_once() {
    let up = TestUpstream::start(Mode::Gated).await;
    let (h, _ev) = start(forward_config(&[up.addr])).await;
    let s = h.udp_addrs()[0];
    let clients: Vec<_> = (0..5)
        .map(|_| tokio::spawn(async move { udp(s, "popular.example.", RecordType::A).await }))
        .collect();
    wait_for(|| h.stats().coalesced == 4 && up.udp_count() == 1).await;
    up.open_gate();
    for c in clients {
        let m = c.await.unwrap();
        assert_eq!(a_records(&m).len(), 1);
    }
    assert_eq!(up.udp_count(), 1);
    assert_eq!(h.stats().upstream_queries, 1);
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn all_upstreams_failing_gives_servfail() {
    let silent = TestUpstream::start(Mode::Silent).await;
    let mut cfg = forward_config(&[silent.addr]);
    cfg.timeout_ms = 100;
    let (h, _ev) = start(cfg).await;
    let m = udp(h.udp_addrs()[0], "one.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(h.stats().upstream_failures, 1);
    h.shutdown().await;
    silent.stop().await;
}

#[tokio::test]
async fn answers_are_cached_including_negative_ones() {
    let up = TestUpstream::start(Mode::Answer).await;
    let (h, mut ev) = start(forward_config(&[up.addr])).await;
    let s = h.udp_addrs()[0];
    for _ in 0..2 {
        let m = udp(s, "nx.example.", RecordType::A).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.authorities.len(), 1, "the SOA is passed on");
    }
    assert_eq!(up.udp_count(), 1, "NXDOMAIN cached");
    for _ in 0..2 {
        let m = udp(s, "nodata.example.", RecordType::TXT).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty());
    }
    assert_eq!(up.udp_count(), 2, "NODATA cached");
    let first = udp(s, "pos.example.", RecordType::A).await;
    let second = udp(s, "POS.example.", RecordType::A).await;
    assert_eq!(a_records(&first), a_records(&second));
    assert_eq!(
        second.queries[0].name().to_ascii(),
        "POS.example.",
        "question echoed as asked"
    );
    assert!(second.answers[0].ttl <= 300);
    assert_eq!(
        up.udp_count(),
        3,
        "positive answer cached, case-insensitively"
    );
    assert_eq!(h.stats().cache_hits, 3);
    let events: Vec<_> = ev.drain(100);
    assert_eq!(events.iter().filter(|e| e.cached).count(), 3);
    assert!(
        events
            .iter()
            .filter(|e| e.cached)
            .all(|e| e.upstream_latency_us.is_none())
    );
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn clients_outside_served_subnets_are_refused() {
    let mut cfg = config();
    cfg.allowed_subnets = vec!["10.0.0.0/8".parse().unwrap()];
    let (h, mut ev) = start(cfg).await;
    let m = udp(h.udp_addrs()[0], "allowed.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(m.answers.is_empty());
    let m = tcp(h.tcp_addrs()[0], "allowed.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert_eq!(h.stats().refused, 2);
    assert!(ev.drain(10).is_empty(), "no decision, no event");
    // A caller that authenticated the client itself (DoH device token) is served.
    let reply = h
        .service()
        .handle_as(
            &query_bytes(8, "allowed.example.", RecordType::A),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Transport::Https,
            Some(Identity::person("d1", "ks2")),
        )
        .await
        .unwrap();
    assert_eq!(
        a_records(&Message::from_vec(&reply).unwrap()),
        vec![STATIC_V4]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_registered_device_is_served_anywhere_and_named_in_its_events() {
    let mut cfg = config();
    cfg.allowed_subnets = vec!["10.0.0.0/8".parse().unwrap()];
    let (h, mut ev) = start(cfg).await;
    let service = h.service();
    let outside = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    assert!(!service.check_served(outside));
    assert!(service.check_served(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
    assert_eq!(h.stats().refused, 1, "the refusal is counted");
    assert_eq!(service.unidentified_group(), "unidentified");

    // chat.example is `chat`: blocked for ks2, allowed for staff.
    let reply = service
        .handle_device(
            &query_bytes(11, "chat.example.", RecordType::A),
            outside,
            Transport::Https,
            Identity::person("42", "ks2"),
            "Laptop 14",
        )
        .await
        .unwrap();
    assert_eq!(
        a_records(&Message::from_vec(&reply).unwrap()),
        vec![BLOCK_V4]
    );
    let e = recv(&mut ev).await;
    assert_eq!(e.device.as_deref(), Some("Laptop 14"));
    assert_eq!((e.person.as_deref(), e.group.as_str()), (Some("42"), "ks2"));
    assert_eq!(e.identified_by, IdentifiedBy::Caller);
    assert_eq!(e.transport, Transport::Https);
    assert_eq!(e.client, outside);

    // Queries without a device have no device in their events.
    let reply = service
        .handle_as(
            &query_bytes(12, "chat.example.", RecordType::A),
            outside,
            Transport::Https,
            Some(Identity::group("staff")),
        )
        .await
        .unwrap();
    assert_eq!(
        a_records(&Message::from_vec(&reply).unwrap()),
        vec![STATIC_V4]
    );
    assert_eq!(recv(&mut ev).await.device, None);
    h.shutdown().await;
}

#[tokio::test]
async fn identity_source_beats_binding_beats_unidentified() {
    // chat.example is `chat`: blocked for ks2 and unidentified, allowed for staff.
    let mut cfg = config();
    cfg.bindings = vec![gatehouse_dns::Binding {
        name: "Staff VLAN".to_owned(),
        subnet: "127.0.0.0/8".parse().unwrap(),
        group: "staff".to_owned(),
    }];
    let pupil = |ip: IpAddr| {
        (ip == IpAddr::V4(Ipv4Addr::LOCALHOST)).then(|| Identity::person("p42", "ks2"))
    };
    // (1) the pluggable source wins over the binding.
    let (h, mut ev) = start_with(cfg.clone(), Arc::new(pupil)).await;
    let m = udp(h.udp_addrs()[0], "chat.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    let e = recv(&mut ev).await;
    assert_eq!(
        (e.person.as_deref(), e.group.as_str()),
        (Some("p42"), "ks2")
    );
    assert_eq!(e.identified_by, IdentifiedBy::Source);
    h.shutdown().await;

    // (3) a source that does not know the client: the static binding applies.
    let nobody = |_: IpAddr| None;
    let (h, mut ev) = start_with(cfg.clone(), Arc::new(nobody)).await;
    let m = udp(h.udp_addrs()[0], "chat.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4], "allowed for staff");
    let e = recv(&mut ev).await;
    assert_eq!((e.person.as_deref(), e.group.as_str()), (None, "staff"));
    assert_eq!(
        e.identified_by,
        IdentifiedBy::Binding(Arc::from("Staff VLAN"))
    );
    h.shutdown().await;

    // (4) no binding matches: unidentified.
    cfg.bindings[0].subnet = "10.0.1.0/24".parse().unwrap();
    let (h, mut ev) = start_with(cfg, Arc::new(nobody)).await;
    let m = udp(h.udp_addrs()[0], "chat.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    let e = recv(&mut ev).await;
    assert_eq!(e.group, "unidentified");
    assert_eq!(e.identified_by, IdentifiedBy::Unidentified);

    // (2) an identity given by the caller (a DoH endpoint with a device token) is used
    // as it is.
    let reply = h
        .service()
        .handle_as(
            &query_bytes(9, "chat.example.", RecordType::A),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Transport::Https,
            Some(Identity::person("t1", "staff")),
        )
        .await
        .unwrap();
    assert_eq!(
        a_records(&Message::from_vec(&reply).unwrap()),
        vec![STATIC_V4]
    );
    let e = recv(&mut ev).await;
    assert_eq!(
        (e.person.as_deref(), e.group.as_str()),
        (Some("t1"), "staff")
    );
    assert_eq!(e.identified_by, IdentifiedBy::Caller);
    assert_eq!(e.transport, Transport::Https);
    h.shutdown().await;
}

#[tokio::test]
async fn rate_limit_refuses_excess_queries() {
    let mut cfg = config();
    cfg.rate_limit = RateLimit {
        per_second: 0.001,
        burst: 5,
        action: LimitAction::Refuse,
    };
    let (h, _ev) = start(cfg).await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(
            udp(h.udp_addrs()[0], "allowed.example.", RecordType::A)
                .await
                .metadata
                .response_code,
        );
    }
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == ResponseCode::NoError)
            .count(),
        5
    );
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == ResponseCode::Refused)
            .count(),
        3
    );
    assert_eq!(h.stats().rate_limited, 3);
    h.shutdown().await;
}

#[tokio::test]
async fn bad_packets_do_not_stop_the_server() {
    let (h, _ev) = start(config()).await;
    let s = h.udp_addrs()[0];
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Too short for a header, random bytes, and a response instead of a query: dropped.
    for p in [
        &b""[..],
        &b"\x12"[..],
        &b"\x00\x01\x02\x03\x04"[..],
        &[0xff; 300][..],
    ] {
        sock.send_to(p, s).await.unwrap();
    }
    // A header claiming one question, with none following: FORMERR.
    let m = udp_raw(s, &[0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0], 0x1234).await;
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // Two questions: FORMERR.
    let mut two = Message::new(0x2222, MessageType::Query, OpCode::Query);
    two.add_query(Query::query(
        Name::from_ascii("a.example.").unwrap(),
        RecordType::A,
    ));
    two.add_query(Query::query(
        Name::from_ascii("b.example.").unwrap(),
        RecordType::A,
    ));
    let m = udp_raw(s, &two.to_vec().unwrap(), 0x2222).await;
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // Opcode STATUS: NOTIMP. Class CH: REFUSED.
    let mut status = Message::new(0x3333, MessageType::Query, OpCode::Status);
    status.add_query(Query::query(
        Name::from_ascii("a.example.").unwrap(),
        RecordType::A,
    ));
    let m = udp_raw(s, &status.to_vec().unwrap(), 0x3333).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
    let mut chaos = Query::query(Name::from_ascii("version.bind.").unwrap(), RecordType::TXT);
    chaos.set_query_class(Class::CH);
    let mut ch = Message::new(0x4444, MessageType::Query, OpCode::Query);
    ch.add_query(chaos);
    let m = udp_raw(s, &ch.to_vec().unwrap(), 0x4444).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    // Garbage over TCP, then a valid query on a new connection.
    {
        use tokio::io::AsyncWriteExt;
        let mut t = tokio::net::TcpStream::connect(h.tcp_addrs()[0])
            .await
            .unwrap();
        t.write_all(&[0, 3, 1, 2, 3, 0xff, 0xff]).await.unwrap();
    }
    let m = udp(s, "allowed.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    let m = tcp(h.tcp_addrs()[0], "allowed.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    let st = h.stats();
    assert!(st.malformed >= 5, "{st:?}");
    assert_eq!(st.unsupported, 2);
    h.shutdown().await;
}

#[tokio::test]
async fn events_carry_every_field() {
    let up = TestUpstream::start(Mode::Answer).await;
    let identity = |_: IpAddr| Some(Identity::person("p7", "ks2"));
    let (h, mut ev) = start_with(forward_config(&[up.addr]), Arc::new(identity)).await;
    let before = jiff::Timestamp::now();
    let _ = udp(h.udp_addrs()[0], "Bet.Example.", RecordType::AAAA).await;
    let e = recv(&mut ev).await;
    assert!(e.time >= before);
    assert_eq!(e.client, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(e.person.as_deref(), Some("p7"));
    assert_eq!(e.group, "ks2");
    assert_eq!(e.identified_by, IdentifiedBy::Source);
    assert_eq!(e.qname, "bet.example");
    assert_eq!(e.qtype, "AAAA");
    assert_eq!(e.category.as_deref(), Some("gambling"));
    assert_eq!(e.action, Action::Block);
    assert_eq!(e.rule, "policy:ks2/gambling");
    assert_eq!(e.matched_list.as_deref(), Some("bet.example"));
    assert_eq!(e.cname, None);
    assert_eq!(e.rcode, Rcode::NoError);
    assert_eq!(e.upstream_latency_us, None);
    assert!(!e.cached);
    assert_eq!(e.transport, Transport::Udp);

    let _ = udp(h.udp_addrs()[0], "fine.example.", RecordType::A).await;
    let e = recv(&mut ev).await;
    assert_eq!(e.action, Action::Allow);
    assert_eq!(e.rule, "default:ks2");
    assert_eq!(e.category, None);
    assert!(e.upstream_latency_us.is_some());
    assert_eq!(e.rcode, Rcode::NoError);
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn full_event_queue_drops_events_but_answers_continue() {
    let mut cfg = config();
    cfg.queue_capacity = 2;
    let (h, mut ev) = start(cfg).await;
    for _ in 0..5 {
        let m = udp(h.udp_addrs()[0], "allowed.example.", RecordType::A).await;
        assert_eq!(a_records(&m), vec![STATIC_V4]);
    }
    let st = h.stats();
    assert_eq!(st.answered, 5);
    assert_eq!(st.events_dropped, 3);
    assert_eq!(ev.drain(10).len(), 2);
    h.shutdown().await;
    assert!(
        ev.recv().await.is_none(),
        "the queue closes once the server is gone"
    );
}

#[tokio::test]
async fn long_answers_are_truncated_over_udp_and_whole_over_tcp() {
    let up = TestUpstream::start(Mode::Answer).await;
    let (h, _ev) = start(forward_config(&[up.addr])).await;
    let m = udp(h.udp_addrs()[0], "many.example.", RecordType::A).await;
    assert!(
        m.metadata.truncation,
        "100 A records do not fit in 512 bytes"
    );
    assert!(m.answers.is_empty());
    let m = tcp(h.tcp_addrs()[0], "many.example.", RecordType::A).await;
    assert!(!m.metadata.truncation);
    assert_eq!(a_records(&m).len(), 100);
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn edns_queries_get_an_opt_record() {
    let (h, _ev) = start(config()).await;
    let mut q = Message::new(0x5555, MessageType::Query, OpCode::Query);
    q.add_query(Query::query(
        Name::from_ascii("allowed.example.").unwrap(),
        RecordType::A,
    ));
    let mut edns = hickory_proto::op::Edns::new();
    edns.set_max_payload(4096);
    q.set_edns(edns);
    let m = udp_raw(h.udp_addrs()[0], &q.to_vec().unwrap(), 0x5555).await;
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(1232));
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    h.shutdown().await;
}

#[tokio::test]
async fn forward_zones_go_to_their_own_resolver() {
    let public = TestUpstream::start(Mode::Answer).await;
    let school = TestUpstream::start(Mode::Answer).await;
    let mut cfg = forward_config(&[public.addr]);
    cfg.forward_zones = vec![
        gatehouse_dns::ForwardZone {
            zone: "school.internal".to_owned(),
            upstream: Upstream::Forward(vec![school.addr]),
        },
        gatehouse_dns::ForwardZone {
            zone: "10.in-addr.arpa.".to_owned(),
            upstream: Upstream::Forward(vec![school.addr]),
        },
    ];
    let (h, _ev) = start(cfg).await;
    let s = h.udp_addrs()[0];
    let m = udp(s, "dc1.school.internal.", RecordType::A).await;
    assert_eq!(a_records(&m).len(), 1);
    assert_eq!((school.udp_count(), public.udp_count()), (1, 0));
    let m = udp(s, "myschool.internal.", RecordType::A).await;
    assert_eq!(a_records(&m).len(), 1);
    assert_eq!((school.udp_count(), public.udp_count()), (1, 1));
    // A reverse zone of the school's own network is forwarded, not answered locally.
    let _ = udp(s, "5.1.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!((school.udp_count(), public.udp_count()), (2, 1));
    // Other private reverse zones are answered NXDOMAIN without asking anyone.
    let m = udp(s, "5.1.168.192.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!((school.udp_count(), public.udp_count()), (2, 1));
    // Public reverse zones go upstream.
    let _ = udp(s, "1.2.0.192.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!((school.udp_count(), public.udp_count()), (2, 2));
    h.shutdown().await;
    public.stop().await;
    school.stop().await;
}

#[tokio::test]
async fn canary_names_keep_browsers_on_this_resolver() {
    let up = TestUpstream::start(Mode::Answer).await;
    let (h, mut ev) = start(forward_config(&[up.addr])).await;
    for name in [
        "use-application-dns.net.",
        "mask.icloud.com.",
        "mask-h2.icloud.com.",
    ] {
        let m = udp(h.udp_addrs()[0], name, RecordType::A).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{name}");
        let e = recv(&mut ev).await;
        assert_eq!(e.action, Action::Block);
        assert_eq!(e.rule, format!("canary:{}", name.trim_end_matches('.')));
    }
    assert_eq!(up.udp_count(), 0);
    h.shutdown().await;

    let mut cfg = forward_config(&[up.addr]);
    cfg.doh_canary = false;
    let (h, _ev) = start(cfg).await;
    let m = udp(h.udp_addrs()[0], "use-application-dns.net.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(up.udp_count(), 1);
    h.shutdown().await;
    up.stop().await;
}

#[test]
fn config_parses_from_toml_with_defaults() {
    let cfg: DnsConfig = toml::from_str(
        r#"
        udp = ["127.0.0.1:5353"]
        upstream = ["1.1.1.1:53", "9.9.9.9"]
        block_address_v4 = "10.0.0.5"
        [block_modes]
        advertising = "nxdomain"
        [[bindings]]
        name = "Staff VLAN"
        subnet = "10.0.1.0/24"
        group = "staff"
        [[forward_zones]]
        zone = "school.internal"
        upstream = "10.0.0.2"
        [rate_limit]
        per_second = 20
        "#,
    )
    .unwrap();
    assert_eq!(
        cfg.upstream,
        Upstream::Forward(vec![
            "1.1.1.1:53".parse().unwrap(),
            "9.9.9.9:53".parse().unwrap()
        ])
    );
    assert_eq!(
        cfg.block_modes.get("advertising"),
        Some(&BlockMode::Nxdomain)
    );
    assert_eq!(cfg.rate_limit.burst, 200);
    assert_eq!(cfg.bindings[0].group, "staff");
    assert_eq!(
        cfg.forward_zones[0].upstream,
        Upstream::Forward(vec!["10.0.0.2:53".parse().unwrap()])
    );
    assert!(cfg.doh_canary && cfg.private_reverse_nxdomain);
    assert_eq!(cfg.tcp, DnsConfig::default().tcp);
    cfg.validate().unwrap();

    let cfg: DnsConfig = toml::from_str("upstream = \"static:10.0.0.1\"").unwrap();
    assert_eq!(cfg.upstream, Upstream::Static("10.0.0.1".parse().unwrap()));
    assert!(toml::from_str::<DnsConfig>("upstream = \"static:nope\"").is_err());
    assert!(toml::from_str::<DnsConfig>("unknown_key = 1").is_err());
    let empty = DnsConfig {
        upstream: Upstream::Forward(vec![]),
        ..DnsConfig::default()
    };
    assert!(empty.validate().is_err());
    let no_listener = DnsConfig {
        udp: vec![],
        tcp: vec![],
        ..DnsConfig::default()
    };
    assert!(no_listener.validate().is_err());
}

#[tokio::test]
async fn unknown_block_mode_categories_are_refused_at_start() {
    let mut cfg = config();
    cfg.block_modes = HashMap::from([("advertsing".to_owned(), BlockMode::Nxdomain)]);
    let err =
        gatehouse_dns::DnsServer::start(cfg, engine(), Arc::new(gatehouse_dns::NoIdentitySource))
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("unknown categories: advertsing"), "{err}");
}

#[test]
fn upstream_parse_errors_are_clear() {
    assert_eq!(
        Upstream::parse("static:2001:db8::1").unwrap(),
        Upstream::Static("2001:db8::1".parse().unwrap())
    );
    assert_eq!(
        Upstream::parse("[2001:db8::1]:5353, 1.1.1.1").unwrap(),
        Upstream::Forward(vec![
            "[2001:db8::1]:5353".parse().unwrap(),
            "1.1.1.1:53".parse().unwrap()
        ])
    );
    let e = Upstream::parse("dns.example:53").unwrap_err().to_string();
    assert!(e.contains("not a resolver address"), "{e}");
    let e = Upstream::parse("static:").unwrap_err().to_string();
    assert!(e.contains("after `static:`"), "{e}");
    assert!(Upstream::parse("").is_err());
    assert!(Upstream::parse("1.1.1.1:0").is_err());
}

/// Let the server run until `cond` holds (bounded by [`WAIT`]).
async fn wait_for(cond: impl Fn() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("condition not reached");
}

async fn recv(ev: &mut gatehouse_dns::EventReceiver) -> gatehouse_dns::ActivityEvent {
    tokio::time::timeout(WAIT, ev.recv())
        .await
        .expect("no event")
        .expect("queue closed")
}

#[tokio::test]
async fn the_signing_gate_holds_people_in_enforce_mode_and_marks_them_in_audit_mode() {
    let mut ec = gatehouse_filter::EngineConfig::uk_default().unwrap();
    ec.gate.mode = gatehouse_filter::GateMode::Enforce;
    ec.gate.people.insert("p42".into());
    ec.gate.walled_garden = vec!["login.school.example".into()];
    let engines = engine_with(&ec);
    let pupil = |_: IpAddr| Some(Identity::person("p42", "ks2"));
    let (h, mut ev) = gatehouse_dns::DnsServer::start(config(), engines.clone(), Arc::new(pupil))
        .await
        .unwrap();
    let server = h.udp_addrs()[0];
    // enforce: every name leads to the portal (the block page's address), whatever its
    // category would say, except the walled garden
    let m = udp(server, "news.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    let e = recv(&mut ev).await;
    assert_eq!((e.action, e.rule.as_str()), (Action::Block, "gate"));
    let m = udp(server, "sso.login.school.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4], "walled garden");
    recv(&mut ev).await;

    // signing releases them: the engine is rebuilt without them
    ec.gate.people.clear();
    engines.store(gatehouse_filter::Engine::new(engines.load().database().clone(), &ec).unwrap());
    let m = udp(server, "news.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    assert_eq!(recv(&mut ev).await.rule, "default:ks2");

    // audit: let through as usual, marked in the activity log
    ec.gate.people.insert("p42".into());
    ec.gate.mode = gatehouse_filter::GateMode::Audit;
    engines.store(gatehouse_filter::Engine::new(engines.load().database().clone(), &ec).unwrap());
    let m = udp(server, "news.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![STATIC_V4]);
    let e = recv(&mut ev).await;
    assert_eq!(
        (e.action, e.rule.as_str()),
        (Action::Allow, "default:ks2+gate_audit")
    );
    let m = udp(server, "bet.example.", RecordType::A).await;
    assert_eq!(a_records(&m), vec![BLOCK_V4]);
    assert_eq!(recv(&mut ev).await.rule, "policy:ks2/gambling+gate_audit");
    h.shutdown().await;
}
