//! DNS over HTTPS (`/dns-query`) with a DNS filter over a small list and a static
//! upstream: GET and POST, with a device token (anywhere) and without (only from the
//! served subnets, through a trusted proxy's `X-Forwarded-For`), the activity events, the
//! answers' caching, the errors, and no CSRF check on DNS messages.

use crate::support::{PUPILS_CSV, TestApp};
use base64::Engine as _;
use gatehouse_dns::{
    ActivityEvent, DnsConfig, DnsService, EventReceiver, IdentifiedBy, NoIdentitySource, Transport,
    Upstream,
};
use gatehouse_domain::devices::DeviceKind;
use gatehouse_domain::people::PersonKind;
use gatehouse_filter::{
    CompileOptions, Database, Engine, EngineConfig, EngineHandle, ListFormat, Source, compile,
};
use gatehouse_service::Actor;
use gatehouse_service::devices::{Assignee, DeviceRequest};
use gatehouse_web::WebSettings;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

const BLOCK_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);
const STATIC_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// An engine over two listed names (`bet.example` gambling, `chat.example` chat) with the
/// default policies.
fn engine() -> Arc<EngineHandle> {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = Vec::new();
    for (i, (category, names)) in [("gambling", "bet.example\n"), ("chat", "chat.example\n")]
        .iter()
        .enumerate()
    {
        let path = dir.path().join(format!("list{i}.txt"));
        std::fs::write(&path, names).unwrap();
        sources.push(Source::List {
            category: (*category).to_owned(),
            format: ListFormat::Domains,
            path,
        });
    }
    let out = dir.path().join("lists.gdb");
    compile(
        &sources,
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    let db = Database::open(&out).unwrap();
    let engine = Engine::new(Arc::new(db), &EngineConfig::uk_default().unwrap()).unwrap();
    Arc::new(EngineHandle::new(engine))
}

/// A web server whose DNS filter serves only 10.0.0.0/8 (so the test client, 127.0.0.1,
/// is outside) and trusts the proxy on 127.0.0.1; with the pupil Ada Lovelace (year 3).
async fn start() -> (TestApp, EventReceiver) {
    // No listener is started: the web server is the only way in.
    let config = DnsConfig {
        upstream: Upstream::Static(IpAddr::V4(STATIC_V4)),
        block_address_v4: Some(BLOCK_V4),
        allowed_subnets: vec!["10.0.0.0/8".parse().unwrap()],
        rate_limit: gatehouse_dns::RateLimit {
            per_second: 0.0,
            ..Default::default()
        },
        ..DnsConfig::default()
    };
    let (service, events) = DnsService::new(&config, engine(), Arc::new(NoIdentitySource)).unwrap();
    let settings = WebSettings {
        dns: Some(Arc::new(service)),
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..WebSettings::default()
    };
    let t = TestApp::start_with_settings(false, settings).await;
    t.import(PersonKind::Pupil, PUPILS_CSV).await;
    (t, events)
}

/// Register a laptop for Ada; its token.
async fn ada_laptop(t: &TestApp) -> String {
    let ada = t.person_id("Lovelace").await;
    t.app
        .register_device(
            &Actor::cli(),
            &DeviceRequest {
                name: "Laptop 14".into(),
                kind: DeviceKind::Laptop,
                asset_tag: String::new(),
                assignee: Assignee::PersonId(ada),
            },
        )
        .await
        .unwrap()
        .token
}

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    m.to_vec().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn addresses(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// An HTTP answer: status, headers, body bytes.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn message(&self) -> Message {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/dns-message"));
        Message::from_vec(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client without cookies, as a DoH resolver of an operating system is.
struct Resolver {
    client: reqwest::Client,
    base: String,
}

impl Resolver {
    fn new(t: &TestApp) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: t.base.clone(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await.unwrap().to_vec(),
        }
    }

    async fn get(&self, path: &str, forwarded_for: Option<&str>) -> Answer {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header("accept", "application/dns-message");
        if let Some(f) = forwarded_for {
            req = req.header("x-forwarded-for", f);
        }
        self.send(req).await
    }

    async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
}

async fn next_event(events: &mut EventReceiver) -> ActivityEvent {
    events.drain(1).pop().expect("an activity event")
}

#[tokio::test]
async fn a_device_token_is_served_anywhere_as_its_person_and_logged_with_the_device() {
    let (t, mut events) = start().await;
    let token = ada_laptop(&t).await;
    let ada = t.person_id("Lovelace").await;
    let r = Resolver::new(&t);
    let path = format!("/dns-query/{token}");

    // GET: chat is blocked for a key stage 2 pupil, with the block page's address.
    let a = r
        .get(
            &format!("{path}?dns={}", b64(&query(1, "chat.example."))),
            None,
        )
        .await;
    let m = a.message();
    assert_eq!(m.metadata.id, 1);
    assert_eq!(addresses(&m), [BLOCK_V4]);
    assert_eq!(
        a.header("cache-control"),
        Some("private, max-age=60"),
        "cacheable for the block answer's TTL"
    );
    let e = next_event(&mut events).await;
    assert_eq!(e.device.as_deref(), Some("Laptop 14"));
    assert_eq!(e.person, Some(ada.to_string()));
    assert_eq!(e.group, "ks2");
    assert_eq!(e.identified_by, IdentifiedBy::Caller);
    assert_eq!(e.transport, Transport::Https);
    assert_eq!(e.qname, "chat.example");
    assert_eq!(e.client, IpAddr::V4(Ipv4Addr::LOCALHOST));

    // POST, with no cookie and no CSRF token: an allowed name gets the upstream's address.
    let a = r
        .post(
            &path,
            "application/dns-message",
            query(2, "www.allowed.example."),
        )
        .await;
    let m = a.message();
    assert_eq!(m.metadata.id, 2);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addresses(&m), [STATIC_V4]);
    let e = next_event(&mut events).await;
    assert_eq!(
        (e.device.as_deref(), e.qname.as_str()),
        (Some("Laptop 14"), "www.allowed.example")
    );

    // An upper-case token is the same token.
    let a = r
        .post(
            &format!("/dns-query/{}", token.to_ascii_uppercase()),
            "application/dns-message",
            query(3, "bet.example."),
        )
        .await;
    assert_eq!(addresses(&a.message()), [BLOCK_V4]);
    assert_eq!(
        next_event(&mut events).await.category.as_deref(),
        Some("gambling")
    );

    // The device has been seen.
    let school = t.app.school().await.unwrap();
    let devices = t.app.store.devices(school.id, false).await.unwrap();
    assert!(devices[0].last_seen_at.is_some());

    // Revoked: refused at once, with no answer and no event.
    t.app
        .revoke_device(&Actor::cli(), devices[0].id)
        .await
        .unwrap();
    let a = r
        .get(
            &format!("{path}?dns={}", b64(&query(4, "chat.example."))),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.text().contains("Unknown device"), "{}", a.text());
    let a = r
        .post(&path, "application/dns-message", query(5, "chat.example."))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(events.drain(10).is_empty());
}

#[tokio::test]
async fn without_a_token_only_the_served_subnets_are_answered() {
    let (t, mut events) = start().await;
    let r = Resolver::new(&t);
    let dns = format!("/dns-query?dns={}", b64(&query(7, "chat.example.")));

    // 127.0.0.1 is not in 10.0.0.0/8: refused.
    let a = r.get(&dns, None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.text().contains("only for computers on the school"),
        "{}",
        a.text()
    );
    let a = r
        .post(
            "/dns-query",
            "application/dns-message",
            query(8, "chat.example."),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(events.drain(10).is_empty());

    // Through the trusted proxy, for a client on the school's network: served as that
    // client, identified as plain DNS clients are (here: nobody, the unidentified policy).
    let a = r.get(&dns, Some("10.1.2.3")).await;
    let m = a.message();
    assert_eq!(addresses(&m), [BLOCK_V4]);
    let e = next_event(&mut events).await;
    assert_eq!(e.client, "10.1.2.3".parse::<IpAddr>().unwrap());
    assert_eq!(e.identified_by, IdentifiedBy::Unidentified);
    assert_eq!(e.group, "unidentified");
    assert_eq!((e.person, e.device), (None, None));
    // A forwarded address outside the subnets is refused like any other.
    let a = r.get(&dns, Some("198.51.100.9")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Tokens that are not a registered device's.
    for token in ["nope", &"ab".repeat(32)] {
        let a = r
            .post(
                &format!("/dns-query/{token}"),
                "application/dns-message",
                query(9, "chat.example."),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{token}");
    }
    assert!(events.drain(10).is_empty());
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason() {
    let (t, mut events) = start().await;
    let token = ada_laptop(&t).await;
    let r = Resolver::new(&t);
    let path = format!("/dns-query/{token}");

    for (query_string, want) in [
        ("", "no `dns` parameter"),
        ("?dns=", "empty"),
        ("?dns=not*base64", "not base64url"),
        ("?dns=AAAA", "not a DNS query"),
    ] {
        let a = r.get(&format!("{path}{query_string}"), None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query_string}");
        assert!(a.text().contains(want), "{query_string}: {}", a.text());
    }
    // A header that promises a question the message does not have.
    let broken = [0u8, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    let a = r
        .post(&path, "application/dns-message", broken.to_vec())
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("malformed"), "{}", a.text());
    let a = r.post(&path, "application/dns-message", Vec::new()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("empty"), "{}", a.text());
    let a = r
        .post(&path, "application/dns-message", vec![0u8; 70_000])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("larger than 65535 bytes"), "{}", a.text());

    // Another content type is not a DNS query: it is a form, and forms need their token.
    let a = r.post(&path, "text/plain", query(1, "chat.example.")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.text().contains("Please try again"), "{}", a.text());
    assert!(events.drain(10).is_empty(), "nothing was decided");

    // A query the filter does not serve (class CH) is answered with a DNS error.
    let mut m = Message::from_vec(&query(2, "version.bind.")).unwrap();
    m.queries[0].set_query_class(hickory_proto::rr::DNSClass::CH);
    let a = r
        .post(&path, "application/dns-message", m.to_vec().unwrap())
        .await;
    assert_eq!(a.message().metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn without_a_dns_filter_the_endpoint_is_unavailable() {
    let t = TestApp::start(false).await;
    let r = Resolver::new(&t);
    let a = r
        .get(
            &format!("/dns-query?dns={}", b64(&query(1, "example.org."))),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        a.text().contains("DNS filter is not running"),
        "{}",
        a.text()
    );
    let a = r
        .post(
            "/dns-query/abc",
            "application/dns-message",
            query(1, "example.org."),
        )
        .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn dns_over_https_is_answered_whatever_host_it_names() {
    // With the web filter running, requests naming another host get the block page; the
    // DoH endpoint is not a page and is answered under any name the devices are given.
    let t = TestApp::start_filtering(gatehouse_filter::GateMode::Off).await;
    let client = reqwest::Client::new();
    let url = format!(
        "{}/dns-query?dns={}",
        t.base,
        b64(&query(1, "example.org."))
    );
    let res = client
        .get(&url)
        .header("host", "doh.school.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no DNS filter here"
    );
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("DNS filter is not running")
    );
    let page = client
        .get(format!("{}/anything", t.base))
        .header("host", "doh.school.example")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("doh.school.example"),
        "the block page: {page}"
    );
}
