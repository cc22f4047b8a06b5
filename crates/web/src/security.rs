//! Security applied to every request: response headers (strict Content-Security-Policy,
//! no framing, no sniffing) and the CSRF check on every state-changing request.
//!
//! CSRF tokens are HMAC-SHA256, under the installation's secret key, of the browser's
//! session cookie (or, before sign-in, of its anonymous cookie). Forms carry the token in a
//! `csrf_token` field (first field of multipart forms), htmx in the `X-CSRF-Token` header.

use crate::AppState;
use crate::error::WebError;
use crate::session::{ANON_COOKIE, SESSION_COOKIE, cookie_value};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The Content-Security-Policy of every page: only our own scripts and styles.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Add the security headers to every response.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// The token for a cookie value.
pub fn csrf_token(secret: &[u8], binding: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(b"gatehouse-csrf\0");
    mac.update(binding.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A CSRF token for a page shown before sign-in: bound to the browser's anonymous cookie,
/// with the `Set-Cookie` value to send when the browser has none yet.
pub fn anonymous_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    let (binding, new_cookie) = match csrf_binding(headers) {
        Some(b) => (b, None),
        None => {
            let v = hex::encode(rand::random::<[u8; 16]>());
            let cookie =
                crate::session::set_cookie(ANON_COOKIE, &v, state.settings.secure_cookies, None);
            (v, Some(cookie))
        }
    };
    (csrf_token(&state.app.secret_key, &binding), new_cookie)
}

/// The cookie value CSRF tokens are bound to: the session if signed in, else the anonymous one.
pub fn csrf_binding(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).or_else(|| cookie_value(headers, ANON_COOKIE))
}

fn token_matches(secret: &[u8], headers: &HeaderMap, given: Option<&str>) -> bool {
    let (Some(binding), Some(given)) = (csrf_binding(headers), given) else {
        return false;
    };
    let want = csrf_token(secret, &binding);
    !want.is_empty() && want.as_bytes().ct_eq(given.trim().as_bytes()).into()
}

async fn token_in_body(headers: &HeaderMap, body: &Bytes) -> Option<String> {
    let ctype = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if ctype.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        return pairs
            .into_iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v);
    }
    if ctype.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(ctype).ok()?;
        let chunk = body.clone();
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(chunk) });
        let mut mp = multer::Multipart::new(stream, boundary);
        while let Ok(Some(field)) = mp.next_field().await {
            if field.name() == Some("csrf_token") {
                return field.text().await.ok();
            }
        }
    }
    None
}

/// Refuse a state-changing request without a valid CSRF token (403), and one whose
/// `Origin` names another site. API requests with a bearer token and no cookies are exempt:
/// a browser cannot be made to send a bearer token. So are DNS-over-HTTPS queries (a POST
/// of `application/dns-message` to `/dns-query`, see [`crate::views::doh::is_dns_post`]):
/// they are not forms and act with no one's session.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if crate::views::doh::is_dns_post(req.method(), req.uri().path(), req.headers()) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let bearer_only =
        headers.contains_key(header::AUTHORIZATION) && !headers.contains_key(header::COOKIE);
    if bearer_only {
        return next.run(req).await;
    }
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        let origin = origin.to_str().unwrap_or("");
        let host = host.to_str().unwrap_or("");
        let same = origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest == host);
        if !same && origin != "null" {
            return WebError::Csrf.into_response();
        }
    }
    let secret = state.app.secret_key.clone();
    let header_token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if token_matches(&secret, headers, header_token.as_deref()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return WebError::BadRequest("the upload is larger than 20 MB".into()).into_response();
    };
    let form_token = token_in_body(&parts.headers, &bytes).await;
    if !token_matches(&secret, &parts.headers, form_token.as_deref()) {
        tracing::warn!(path = %parts.uri.path(), "CSRF check failed");
        return WebError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
