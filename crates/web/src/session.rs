//! Sessions in the browser: the cookies, and the extractors that turn them into the
//! signed-in [`Viewer`] (or send the browser to sign in, or to give its second factor).

use crate::AppState;
use crate::error::WebError;
use crate::security::csrf_token;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use cookie::{Cookie, SameSite};
use gatehouse_service::Actor;
use gatehouse_service::auth::{SessionInfo, SessionStage};
use std::net::SocketAddr;

/// The session cookie: an unguessable value whose hash names the stored session.
pub const SESSION_COOKIE: &str = "gh_session";
/// Before sign-in: binds the sign-in form's CSRF token to this browser.
pub const ANON_COOKIE: &str = "gh_anon";

/// A cookie's value from the request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (so links from email work while
/// cross-site posts do not carry it), Secure when configured; `max_age` none for a
/// browser-session cookie, zero to delete.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age_secs: Option<i64>) -> String {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(s) = max_age_secs {
        c = c.max_age(cookie::time::Duration::seconds(s));
    }
    c.build().to_string()
}

/// The client's address.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

/// A browser with a session at any stage (used by the second-factor pages).
#[derive(Debug, Clone)]
pub struct AnySession {
    /// The session and its account.
    pub info: SessionInfo,
    /// The cookie value.
    pub token: String,
    /// The CSRF token for forms on this page.
    pub csrf: String,
    /// Client address.
    pub ip: Option<String>,
}

impl AnySession {
    /// The actor this session acts as.
    pub fn actor(&self) -> Actor {
        self.info.actor(self.ip.clone())
    }
}

fn next_path(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into())
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = WebError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sign_in = || WebError::SignIn {
            next: next_path(parts),
        };
        let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(sign_in());
        };
        let Some(info) = state.app.session(&token).await? else {
            return Err(sign_in());
        };
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        Ok(Self {
            csrf: csrf_token(&state.app.secret_key, &token),
            info,
            token,
            ip,
        })
    }
}

/// The signed-in person, fully through sign-in (second factor given or enrolled).
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session.
    pub session: AnySession,
    /// Who they act as.
    pub actor: Actor,
}

impl Viewer {
    /// The CSRF token for forms.
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }
    /// The name to greet them by.
    pub fn display_name(&self) -> String {
        self.session
            .info
            .account
            .display_name
            .clone()
            .unwrap_or_else(|| self.session.info.account.username.clone())
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = AnySession::from_request_parts(parts, state).await?;
        match session.info.stage {
            SessionStage::Ready => Ok(Self {
                actor: session.actor(),
                session,
            }),
            SessionStage::NeedsCode => Err(WebError::Redirect("/login/code".into())),
            SessionStage::NeedsEnrolment => Err(WebError::Redirect("/account/mfa".into())),
        }
    }
}
