//! `gatehouse demo` answers DNS over HTTPS on its web server with its DNS filter, over a
//! real socket: the network manager registers a laptop for the demo pupil on the devices
//! page and gets its address once; GET and POST queries with that address are filtered
//! as the pupil and logged with the device; queries without it, from the served subnets
//! (127.0.0.1 here), are filtered as an unidentified client; a revoked device's address
//! is refused.

use crate::support::{DEMO_PASSWORD, Site, block_on};
use base64::Engine as _;
use gatehouse_activity::{ActivityLog, ActivityRow, ActivitySearch};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// An A query for `name` with id `id`, built with hickory.
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    m.to_vec().unwrap()
}

/// The IPv4 addresses of an answer.
fn addresses(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in:\n{text}"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

/// A DoH client: GET with `?dns=`, POST with the message as the body.
struct Doh {
    client: reqwest::Client,
}

impl Doh {
    async fn answer(res: reqwest::Response) -> Message {
        assert_eq!(res.status(), 200, "{:?}", res.headers());
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/dns-message")
        );
        Message::from_vec(&res.bytes().await.unwrap()).unwrap()
    }

    async fn get(&self, url: &str, id: u16, name: &str) -> Message {
        let dns = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(query(id, name));
        let res = self
            .client
            .get(format!("{url}?dns={dns}"))
            .header("accept", "application/dns-message")
            .send()
            .await
            .unwrap();
        Self::answer(res).await
    }

    async fn post(&self, url: &str, id: u16, name: &str) -> reqwest::Response {
        self.client
            .post(url)
            .header("content-type", "application/dns-message")
            .header("accept", "application/dns-message")
            .body(query(id, name))
            .send()
            .await
            .unwrap()
    }
}

/// The activity log's rows for `domain`, once at least `n` are written (the writer
/// commits at least every second).
async fn logged(site: &Site, domain: &str, n: usize) -> Vec<ActivityRow> {
    let log = ActivityLog::open(&site.data().join("activity.db"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = log
            .search(&ActivitySearch {
                domain: Some(domain.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        if rows.len() >= n || Instant::now() > deadline {
            log.close().await;
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn demo_answers_dns_over_https_for_registered_devices_and_its_network() {
    let site = Site::empty();
    let server = site.start_demo_with(&["--upstream", "static:10.9.9.9"]);
    let base = server.base.clone();
    block_on(async {
        // The network manager registers a laptop for the demo pupil (Year 6).
        let admin = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let login = admin
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = between(&login, "name=\"csrf_token\" value=\"", "\"").to_owned();
        let res = admin
            .post(format!("{base}/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", "itadmin"),
                ("password", DEMO_PASSWORD),
                ("next", "/devices"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let page = admin
            .get(format!("{base}/devices"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = between(&page, "name=\"csrf_token\" value=\"", "\"").to_owned();
        let res = admin
            .post(format!("{base}/devices"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Laptop 7"),
                ("kind", "laptop"),
                ("asset_tag", "EPS-0007"),
                ("person", "pupil"),
                ("group", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        let shown = between(&page, "<code id=\"doh-url\">", "</code>");
        let token = shown.rsplit('/').next().unwrap().to_owned();
        assert_eq!(token.len(), 64, "{shown}");
        assert_eq!(
            shown,
            format!("https://{}/dns-query/{token}", server.addr())
        );
        // Gatehouse speaks plain HTTP; a proxy in front of it adds HTTPS.
        let device_url = format!("{base}/dns-query/{token}");
        let network_url = format!("{base}/dns-query");

        let doh = Doh {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        // With the device's address: a gambling site is blocked (the block page's
        // address, the web server's), an ordinary one is the upstream's.
        let m = doh.get(&device_url, 1, "bet365.com.").await;
        assert_eq!(addresses(&m), [Ipv4Addr::LOCALHOST]);
        let m = Doh::answer(doh.post(&device_url, 2, "example.org.").await).await;
        assert_eq!(addresses(&m), [Ipv4Addr::new(10, 9, 9, 9)]);
        // Without it, from the school's network (loopback is served by default).
        let m = Doh::answer(doh.post(&network_url, 3, "bet365.com.").await).await;
        assert_eq!(addresses(&m), [Ipv4Addr::LOCALHOST]);
        let m = doh.get(&network_url, 4, "example.org.").await;
        assert_eq!(addresses(&m), [Ipv4Addr::new(10, 9, 9, 9)]);

        // The activity log names the device and its pupil; the others have no device.
        for domain in ["bet365.com", "example.org"] {
            let rows = logged(&site, domain, 2).await;
            assert_eq!(rows.len(), 2, "{domain}: {rows:?}");
            assert!(rows.iter().all(|r| r.transport.to_string() == "https"));
            let device: Vec<&ActivityRow> = rows
                .iter()
                .filter(|r| r.device.as_deref() == Some("Laptop 7"))
                .collect();
            assert_eq!(device.len(), 1, "{domain}: {rows:?}");
            let d = device[0];
            assert_eq!(d.group, "ks2", "the pupil is in Year 6");
            assert!(
                d.person
                    .as_deref()
                    .is_some_and(|p| p.parse::<i64>().is_ok()),
                "{d:?}"
            );
            assert_eq!(d.identified_by, "caller");
            let other = rows.iter().find(|r| r.device.is_none()).unwrap();
            assert_eq!(other.identified_by, "unidentified");
            assert_eq!(
                (other.person.as_deref(), other.group.as_str()),
                (None, "unidentified")
            );
        }
        let rows = logged(&site, "bet365.com", 2).await;
        assert!(
            rows.iter()
                .all(|r| r.category.as_deref() == Some("gambling"))
        );

        // Revoked on the devices page: the address is refused at once.
        let page = admin
            .get(format!("{base}/devices"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains(&token), "the address is shown only once");
        let form = &page[..page.find("/revoke\"").expect("a revoke button")];
        let revoke = &form[form.rfind("/devices/").unwrap() + "/devices/".len()..];
        let res = admin
            .post(format!("{base}/devices/{revoke}/revoke"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let res = doh.post(&device_url, 5, "example.org.").await;
        assert_eq!(res.status(), 403);
    });
    server.stop();
}
