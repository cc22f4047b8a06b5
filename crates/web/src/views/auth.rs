//! Signing in and out: `/login`, the second-factor step `/login/code`, `/logout`.

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::security::{anonymous_csrf, csrf_binding, csrf_token};
use crate::session::{ANON_COOKIE, AnySession, ClientIp, SESSION_COOKIE, set_cookie};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_service::ServiceError;
use gatehouse_service::auth::SessionStage;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    chrome: Chrome,
    error: Option<String>,
}

/// Only same-site paths may be returned to after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let (token, new_cookie) = anonymous_csrf(&state, &headers);
    let page = LoginPage {
        chrome: Chrome::anonymous(&state, token).await,
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
    };
    let mut res = render(&page)?.into_response();
    if let Some(c) = new_cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match state
        .app
        .sign_in(&f.username, &f.password, ip.as_deref(), ua)
        .await
    {
        Ok(signed) => {
            let to = match signed.next {
                SessionStage::Ready => {
                    // Anything to sign comes before anything else.
                    let pending = match state.app.session(&signed.token).await? {
                        Some(info) => !state.app.pending(&info.actor(ip.clone())).await?.is_empty(),
                        None => false,
                    };
                    if pending {
                        "/sign".to_owned()
                    } else {
                        safe_next(f.next.as_deref())
                    }
                }
                SessionStage::NeedsCode => "/login/code".into(),
                SessionStage::NeedsEnrolment => "/account/mfa".into(),
            };
            let secure = state.settings.secure_cookies;
            let mut res = Redirect::to(&to).into_response();
            for c in [
                set_cookie(SESSION_COOKIE, &signed.token, secure, None),
                set_cookie(ANON_COOKIE, "", secure, Some(0)),
            ] {
                if let Ok(v) = c.parse() {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Ok(res)
        }
        Err(ServiceError::Unauthenticated(msg)) => {
            let binding = csrf_binding(&headers).unwrap_or_default();
            let page = LoginPage {
                chrome: Chrome::anonymous(&state, csrf_token(&state.app.secret_key, &binding))
                    .await,
                next: safe_next(f.next.as_deref()),
                username: f.username,
                error: Some(msg),
            };
            Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /login/code`.
pub async fn code_form(State(state): State<AppState>, s: AnySession) -> Result<Response, WebError> {
    if s.info.stage != SessionStage::NeedsCode {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(render(&CodePage {
        chrome: Chrome::anonymous(&state, s.csrf.clone()).await,
        error: None,
    })?
    .into_response())
}

/// The second-factor form.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: String,
}

/// `POST /login/code`.
pub async fn code(
    State(state): State<AppState>,
    s: AnySession,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    if s.info.stage != SessionStage::NeedsCode {
        return Ok(Redirect::to("/").into_response());
    }
    match state
        .app
        .verify_second_factor(&s.info, &f.code, s.ip.as_deref())
        .await
    {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(ServiceError::Unauthenticated(msg)) => Ok((
            StatusCode::UNAUTHORIZED,
            render(&CodePage {
                chrome: Chrome::anonymous(&state, s.csrf.clone()).await,
                error: Some(msg),
            })?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, s: AnySession) -> Result<Response, WebError> {
    state.app.sign_out(&s.token, &s.actor()).await?;
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", state.settings.secure_cookies, Some(0)).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
