//! DNS over HTTPS (RFC 8484) for the school's devices, answered by the running DNS filter.
//!
//! `GET /dns-query?dns=<base64url>` and `POST /dns-query` (body `application/dns-message`)
//! are for clients on the school's own network: they are identified by their address, as
//! plain DNS clients are, and refused (403) outside the served subnets. The same under
//! `/dns-query/{token}` is for a registered device anywhere: the token names the device,
//! which is filtered as its assigned person or group and named in the activity log; an
//! unknown or revoked token is refused (403). Answers are `application/dns-message`,
//! cacheable for the smallest TTL of the answer. Bad input (no or bad `dns` parameter, a
//! message over 65,535 bytes, one that is not a DNS query) gets 400 with the reason;
//! without a running DNS filter every request gets 503.
//!
//! Behind a reverse proxy (the usual way to serve HTTPS), the client's address is taken
//! from `X-Forwarded-For` when the connection comes from one of the trusted proxies
//! ([`crate::WebSettings::trusted_proxies`]).

use crate::AppState;
use crate::error::{WebError, error_page};
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use gatehouse_dns::wire::{self, Parsed, RejectReason};
use gatehouse_dns::{Identity, Transport};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The media type of DNS messages over HTTPS.
pub const DNS_MESSAGE: &str = "application/dns-message";

/// The largest DNS message (and so the largest request body) accepted.
pub const MAX_MESSAGE: usize = 65_535;

/// base64url as RFC 8484 uses it: without padding, but padding is tolerated.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Whether a request is a DNS-over-HTTPS POST: to `/dns-query` or `/dns-query/{token}`,
/// with a body of type `application/dns-message`. Such requests carry no cookies' authority
/// (the token or the address identifies the client), so the CSRF check does not apply; a
/// browser cannot send this type across sites without a CORS preflight, which Gatehouse
/// never grants.
pub fn is_dns_post(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    *method == Method::POST && is_doh_path(path) && is_dns_message(headers)
}

/// Whether `path` is the DoH endpoint: `/dns-query` or `/dns-query/{token}`. Such
/// requests are answered whatever host they name (the block page is for browsers).
pub fn is_doh_path(path: &str) -> bool {
    path == "/dns-query"
        || path
            .strip_prefix("/dns-query/")
            .is_some_and(|t| !t.is_empty() && !t.contains('/'))
}

/// Whether the request's `Content-Type` is `application/dns-message` (parameters ignored).
fn is_dns_message(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(DNS_MESSAGE))
}

/// The address of the client: the connection's peer, or, when the peer is a trusted
/// proxy, the address it forwarded (the right-most `X-Forwarded-For` entry that is not
/// itself a trusted proxy; an entry that is not an address ends the walk).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`[v6]:port`, `v4:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Decode the `dns` parameter of a GET request's query string.
pub fn message_from_query(query: Option<&str>) -> Result<Vec<u8>, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| "the query string could not be read".to_owned())?;
    let Some((_, value)) = pairs.into_iter().find(|(k, _)| k == "dns") else {
        return Err(
            "the request has no `dns` parameter: send GET /dns-query?dns=<the DNS message in base64url>, or POST the message as application/dns-message".to_owned(),
        );
    };
    // Four base64 characters carry three bytes: anything longer cannot fit.
    if value.len() > MAX_MESSAGE.div_ceil(3) * 4 {
        return Err(format!(
            "the DNS message is larger than {MAX_MESSAGE} bytes"
        ));
    }
    let bytes = BASE64URL.decode(value.trim()).map_err(|_| {
        "the `dns` parameter is not base64url (letters, digits, '-' and '_', without padding)"
            .to_owned()
    })?;
    check_size(bytes)
}

fn check_size(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if bytes.is_empty() {
        return Err("the DNS message is empty".to_owned());
    }
    if bytes.len() > MAX_MESSAGE {
        return Err(format!(
            "the DNS message is larger than {MAX_MESSAGE} bytes"
        ));
    }
    Ok(bytes)
}

/// Refuse what is not a DNS query at all (too short, a response, unparsable); queries the
/// filter does not serve (another opcode or class, a zone transfer) are answered by it
/// with a DNS error code instead.
pub fn check_query(packet: &[u8]) -> Result<(), String> {
    match wire::parse_query(packet) {
        Parsed::Drop => {
            Err("this is not a DNS query (shorter than a DNS header, or a response)".to_owned())
        }
        Parsed::Reject {
            reason: RejectReason::Malformed,
            ..
        } => Err("the DNS message is malformed or does not ask exactly one question".to_owned()),
        Parsed::Query(_)
        | Parsed::Reject {
            reason: RejectReason::Unsupported,
            ..
        } => Ok(()),
    }
}

/// `GET|POST /dns-query`: a client on the school's network, identified by its address.
pub async fn query(State(state): State<AppState>, req: Request) -> Response {
    answer(&state, None, req).await
}

/// `GET|POST /dns-query/{token}`: a registered device, identified by its token.
pub async fn device_query(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    answer(&state, Some(token), req).await
}

fn bad_request(message: &str) -> Response {
    WebError::BadRequest(message.to_owned()).into_response()
}

async fn answer(state: &AppState, token: Option<String>, req: Request) -> Response {
    let Some(dns) = state.settings.dns.clone() else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "DNS over HTTPS is not available",
            "The DNS filter is not running on this server, so it cannot answer DNS queries. The network manager turns it on with a [dns] section in Gatehouse's configuration.",
            None,
        );
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = client_address(peer, req.headers(), &state.settings.trusted_proxies);
    let device = match token {
        Some(token) => match state.app.device_identity(&token).await {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                return error_page(
                    StatusCode::FORBIDDEN,
                    "Unknown device",
                    "This DNS-over-HTTPS address does not belong to a registered device, or the device was revoked. Ask the school's network manager for the device's current address.",
                    None,
                );
            }
            Err(e) => return WebError::from(e).into_response(),
        },
        None => None,
    };
    if device.is_none() && !dns.check_served(client) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Not on the school's network",
            "DNS over HTTPS without a device address is only for computers on the school's own network. A registered school device uses the address with its token, given by the network manager.",
            None,
        );
    }
    let packet = match read_message(req).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    if let Err(m) = check_query(&packet) {
        return bad_request(&m);
    }
    let reply = match device {
        Some(d) => {
            let identity = Identity {
                person: d.person_id.map(|p| p.to_string()),
                group: d
                    .group
                    .unwrap_or_else(|| dns.unidentified_group().to_owned()),
            };
            dns.handle_device(&packet, client, Transport::Https, identity, &d.device_name)
                .await
        }
        None => dns.handle(&packet, client, Transport::Https).await,
    };
    let Some(reply) = reply else {
        // Only a client over its rate limit, with the limit's action `drop`, gets no answer.
        return error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many queries",
            "This client sent more DNS queries than the school allows; try again shortly.",
            None,
        );
    };
    let max_age = wire::reply_ttl(&reply).unwrap_or(0);
    let cache = HeaderValue::from_str(&format!("private, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-store"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(DNS_MESSAGE)),
            (header::CACHE_CONTROL, cache),
        ],
        Body::from(reply),
    )
        .into_response()
}

/// The DNS message of a GET (`dns` parameter) or POST (body) request.
async fn read_message(req: Request) -> Result<Vec<u8>, Response> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return message_from_query(req.uri().query()).map_err(|m| bad_request(&m));
    }
    if !is_dns_message(req.headers()) {
        return Err(error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Not a DNS message",
            "POST the DNS message as the request body with Content-Type: application/dns-message.",
            None,
        ));
    }
    let body = axum::body::to_bytes(req.into_body(), MAX_MESSAGE)
        .await
        .map_err(|_| {
            bad_request(&format!(
                "the DNS message is larger than {MAX_MESSAGE} bytes"
            ))
        })?;
    check_size(body.to_vec()).map_err(|m| bad_request(&m))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.9.0.0/16".parse().unwrap(),
        ];
        let h = forwarded(&["198.51.100.7, 10.9.0.2"]);
        // From the proxy: the first untrusted hop from the right.
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        // From anyone else: the header is ignored.
        assert_eq!(
            client_address(ip("203.0.113.5"), &h, &trusted),
            ip("203.0.113.5")
        );
        // A client cannot hide behind a forged left-most entry.
        let h = forwarded(&["10.0.0.1", "198.51.100.7"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        // Ports and IPv6 forms; a mapped IPv4 peer is the IPv4 address.
        let h = forwarded(&["[2001:db8::1]:4431"]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &h, &trusted),
            ip("2001:db8::1")
        );
        let h = forwarded(&["198.51.100.7:5000"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        // Garbage ends the walk at the last address seen; no header: the peer.
        let h = forwarded(&["198.51.100.7, unknown"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(client_address(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn the_dns_parameter_is_base64url_with_or_without_padding() {
        let msg = [0u8, 1, 0xfb, 0xff, 0x3e];
        let plain = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(msg);
        assert!(plain.contains('-') || plain.contains('_'), "{plain}");
        assert_eq!(
            message_from_query(Some(&format!("dns={plain}"))).unwrap(),
            msg
        );
        let padded = base64::engine::general_purpose::URL_SAFE.encode(msg);
        assert_eq!(
            message_from_query(Some(&format!("ct=x&dns={}", padded.replace('=', "%3D")))).unwrap(),
            msg
        );
        for (query, want) in [
            (None, "no `dns` parameter"),
            (Some("dns="), "empty"),
            (Some("dns=a+b/c"), "not base64url"),
            (Some("dns=****"), "not base64url"),
        ] {
            let e = message_from_query(query).unwrap_err();
            assert!(e.contains(want), "{query:?}: {e}");
        }
        let huge = format!("dns={}", "A".repeat(90_000));
        assert!(
            message_from_query(Some(&huge))
                .unwrap_err()
                .contains("larger than")
        );
    }

    #[test]
    fn only_dns_message_posts_to_the_doh_paths_skip_the_form_check() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/DNS-Message"),
        );
        assert!(is_dns_post(&Method::POST, "/dns-query", &h));
        assert!(is_dns_post(&Method::POST, "/dns-query/abc", &h));
        assert!(!is_dns_post(&Method::POST, "/dns-query/", &h));
        assert!(!is_dns_post(&Method::POST, "/dns-query/abc/x", &h));
        assert!(!is_dns_post(&Method::POST, "/devices", &h));
        let mut form = HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(!is_dns_post(&Method::POST, "/dns-query", &form));
        assert!(!is_dns_post(&Method::POST, "/dns-query", &HeaderMap::new()));
    }

    #[test]
    fn what_is_not_a_query_is_named() {
        assert!(
            check_query(&[0; 5])
                .unwrap_err()
                .contains("not a DNS query")
        );
        // A header claiming one question, with none following.
        let truncated = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        assert!(check_query(&truncated).unwrap_err().contains("malformed"));
    }

    proptest::proptest! {
        /// Whatever a client sends as the query string or the forwarded header, the
        /// parsers answer (a message or a reason) and never panic.
        #[test]
        fn untrusted_input_never_panics(query in ".{0,200}", xff in "[ -~]{0,100}", body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = message_from_query(Some(&query));
            let _ = message_from_query(Some(&format!("dns={query}")));
            let _ = check_query(&body);
            if let Ok(v) = HeaderValue::from_str(&xff) {
                let mut h = HeaderMap::new();
                h.insert("x-forwarded-for", v);
                let trusted: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap()];
                let _ = client_address(ip("127.0.0.1"), &h, &trusted);
            }
        }
    }
}
