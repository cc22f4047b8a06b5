//! The block page. The DNS filter answers a blocked name with this server's address, so a
//! browser asking for `http://blocked.example/` arrives here with `Host: blocked.example`.
//! [`intercept`] sends every such request (any host that is not one of this server's own
//! names, any path but `/static/` and DNS over HTTPS's `/dns-query`) to the block page:
//! what was blocked, the category, for whom and why, in words for the person's age, with a
//! form to ask for access (`POST /gatehouse/unblock` on the same host, CSRF-checked like
//! every form).
//!
//! HTTPS sites cannot show this page: the browser expects the site's own certificate and
//! shows a connection error instead. The portal (`/portal`) lists a signed-in person's
//! recent blocks for that reason.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::security::anonymous_csrf;
use askama::Template;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_filter::{Action, Rule};
use gatehouse_service::filtering::BlockPage;
use std::net::{IpAddr, SocketAddr};

/// Where the block page's form posts to (on the blocked host).
pub const REQUEST_PATH: &str = "/gatehouse/unblock";

/// The host a request names, lower-case, without the port.
pub fn request_host(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::HOST)?.to_str().ok()?.trim();
    let host = if let Some(rest) = raw.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        raw.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(raw, |(h, _)| h)
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether `host` is one of this server's own names, or an address (blocked names are
/// always names).
fn is_own(state: &AppState, host: &str) -> bool {
    host.parse::<IpAddr>().is_ok() || state.settings.own_hosts.iter().any(|h| h == host)
}

/// Serve the block page for requests to other hosts; pass the rest on.
pub async fn intercept(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if super::doh::is_doh_path(req.uri().path()) {
        // DNS over HTTPS may be reached by any name the school gives its devices.
        return next.run(req).await;
    }
    let foreign = match request_host(req.headers()) {
        Some(h) if state.app.filter.is_some() && !state.settings.own_hosts.is_empty() => {
            (!is_own(&state, &h)).then_some(h)
        }
        _ => None,
    };
    let Some(host) = foreign else {
        return next.run(req).await;
    };
    if req.uri().path().starts_with("/static/") {
        return next.run(req).await;
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(client) = client else {
        return WebError::Internal("no client address".into()).into_response();
    };
    let result = if req.method() == Method::POST && req.uri().path() == REQUEST_PATH {
        ask(&state, client, &host, req).await
    } else if matches!(*req.method(), Method::GET | Method::HEAD) {
        let requested = req.uri().query().is_some_and(|q| q.contains("requested=1"));
        show(&state, client, &host, req.headers(), requested, None).await
    } else {
        Err(WebError::BadRequest(format!(
            "{host} is blocked by the school's web filter"
        )))
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "blocked.html")]
struct BlockedPage {
    chrome: Chrome,
    page: BlockPage,
    blocked: bool,
    gate: bool,
    locked: bool,
    who: String,
    category: String,
    portal: String,
    request_path: &'static str,
    requested: bool,
    error: Option<String>,
    reason: String,
}

async fn show(
    state: &AppState,
    client: IpAddr,
    host: &str,
    headers: &HeaderMap,
    requested: bool,
    error: Option<(String, String)>,
) -> Result<Response, WebError> {
    let page = state.app.block_page(client, host).await?;
    let (token, cookie) = anonymous_csrf(state, headers);
    let d = &page.decision;
    let who = match &page.person_name {
        Some(n) => format!("{n} ({})", group_label(&page.who.identity.group)),
        None => group_label(&page.who.identity.group),
    };
    let (error, reason) = match error {
        Some((e, r)) => (Some(e), r),
        None => (None, String::new()),
    };
    let view = BlockedPage {
        chrome: Chrome::anonymous(state, token).await,
        blocked: matches!(d.action, Action::Block | Action::Warn),
        gate: d.rule == Rule::Gate,
        locked: matches!(d.rule, Rule::LockedList { .. }),
        category: d
            .category
            .as_deref()
            .map(|c| c.replace('_', " "))
            .unwrap_or_default(),
        who,
        portal: state.settings.portal_url.clone(),
        request_path: REQUEST_PATH,
        requested,
        error,
        reason,
        page,
    };
    let status = if view.blocked {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    let mut res = (status, render(&view)?).into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

#[derive(serde::Deserialize)]
struct AskForm {
    #[serde(default)]
    reason: String,
}

async fn ask(
    state: &AppState,
    client: IpAddr,
    host: &str,
    req: Request,
) -> Result<Response, WebError> {
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| WebError::BadRequest("the form is too large".into()))?;
    let form: AskForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| WebError::BadRequest(format!("the form could not be read: {e}")))?;
    match state.app.request_unblock(client, host, &form.reason).await {
        Ok(_) => Ok(Redirect::to("/?requested=1").into_response()),
        Err(gatehouse_service::ServiceError::Invalid(m)) => {
            let mut res =
                show(state, client, host, &headers, false, Some((m, form.reason))).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

/// A filter group in words.
pub fn group_label(group: &str) -> String {
    match group {
        "eyfs_ks1" => "Early years and Key Stage 1".into(),
        "ks2" => "Key Stage 2".into(),
        "ks3_4" => "Key Stages 3 and 4".into(),
        "sixth_form" => "Sixth form".into(),
        "staff" => "Staff".into(),
        "guests" => "Guests".into(),
        "unidentified" => "a device nobody has signed in on".into(),
        other => other.replace('_', " "),
    }
}
