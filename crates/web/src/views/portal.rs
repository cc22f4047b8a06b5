//! The captive portal (`/portal`): a person signs in with their Gatehouse account and
//! connects the device they are using, so the web filter applies their own policy to its
//! address (until they disconnect or the sign-in expires). The page also shows what they
//! still have to sign (the signing gate holds them until they do), their unblock requests
//! with the answers, and their recent blocks — which matters for HTTPS sites, whose block
//! page the browser cannot show.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::{ClientIp, Viewer};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_activity::ActivityRow;
use gatehouse_store::UnblockRequest;
use jiff::tz::TimeZone;
use std::net::IpAddr;

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    chrome: Chrome,
    filtering: bool,
    client: String,
    connected_until: Option<String>,
    to_sign: usize,
    requests: Vec<UnblockRequest>,
    blocks: Vec<(String, String, String)>,
}

fn local(t: jiff::Timestamp) -> String {
    let tz = TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ).unwrap_or(TimeZone::UTC);
    t.to_zoned(tz).strftime("%d %b %Y %H:%M").to_string()
}

fn client_ip(ip: &ClientIp) -> Result<IpAddr, WebError> {
    ip.0.as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| WebError::BadRequest("your device's address is not known".into()))
}

/// `GET /portal`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
) -> Result<Html<String>, WebError> {
    let client = client_ip(&ip)?;
    let (requests, blocks) = state.app.my_filtering(&viewer.actor).await?;
    let to_sign = state.app.pending(&viewer.actor).await?.len();
    let blocks = blocks
        .iter()
        .map(|r: &ActivityRow| {
            (
                local(r.time),
                r.qname.clone(),
                r.category.clone().unwrap_or_default().replace('_', " "),
            )
        })
        .collect();
    render(&PortalPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/portal").await,
        filtering: state.app.filter.is_some(),
        client: client.to_string(),
        connected_until: state.app.portal_binding(&viewer.actor, client).map(local),
        to_sign,
        requests,
        blocks,
    })
}

/// `POST /portal/connect`: this device's address is the signed-in person's.
pub async fn connect(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
) -> Result<Response, WebError> {
    let client = client_ip(&ip)?;
    state.app.portal_connect(&viewer.actor, client).await?;
    Ok(Redirect::to("/portal").into_response())
}

/// `POST /portal/disconnect`.
pub async fn disconnect(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
) -> Result<Response, WebError> {
    let client = client_ip(&ip)?;
    state.app.portal_disconnect(&viewer.actor, client).await?;
    Ok(Redirect::to("/portal").into_response())
}

#[derive(Template)]
#[template(path = "portal_visitor.html")]
struct VisitorPage {
    chrome: Chrome,
    form: VisitorForm,
    error: Option<String>,
}

/// The visitor's registration form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct VisitorForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    visiting: String,
    #[serde(default)]
    reason: String,
}

async fn visitor_page(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    form: VisitorForm,
    error: Option<String>,
) -> Result<Response, WebError> {
    let (token, cookie) = crate::security::anonymous_csrf(state, headers);
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let mut res = (
        status,
        render(&VisitorPage {
            chrome: Chrome::anonymous(state, token).await,
            form,
            error,
        })?,
    )
        .into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `GET /portal/visitor`: a visitor without an account registers here.
pub async fn visitor_form(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    visitor_page(&state, &headers, VisitorForm::default(), None).await
}

/// `POST /portal/visitor`: create the visitor, sign them in, bind this device to them,
/// and send them to sign the visitor agreement.
pub async fn register_visitor(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: axum::http::HeaderMap,
    axum::Form(f): axum::Form<VisitorForm>,
) -> Result<Response, WebError> {
    let client = client_ip(&ip)?;
    let ua = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let req = gatehouse_service::filtering::VisitorRequest {
        first_name: f.first_name.clone(),
        last_name: f.last_name.clone(),
        visiting: f.visiting.clone(),
        reason: f.reason.clone(),
    };
    match state.app.register_visitor(client, &req, ua).await {
        Ok(signed) => {
            let secure = state.settings.secure_cookies;
            let mut res = Redirect::to("/sign").into_response();
            for c in [
                crate::session::set_cookie(
                    crate::session::SESSION_COOKIE,
                    &signed.token,
                    secure,
                    None,
                ),
                crate::session::set_cookie(crate::session::ANON_COOKIE, "", secure, Some(0)),
            ] {
                if let Ok(v) = c.parse() {
                    res.headers_mut().append(axum::http::header::SET_COOKIE, v);
                }
            }
            Ok(res)
        }
        Err(gatehouse_service::ServiceError::Invalid(m)) => {
            visitor_page(&state, &headers, f, Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}
