//! My account: password change and the second factor (enrolment with a QR code, then
//! recovery codes shown once).

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::{AnySession, Viewer};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use gatehouse_service::ServiceError;
use gatehouse_service::auth::SessionStage;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    username: String,
    roles: Vec<&'static str>,
    mfa_enabled: bool,
    codes_left: i64,
    message: Option<String>,
    error: Option<String>,
    /// Days the web filter keeps raw events and daily counts, when it runs.
    filter_retention: Option<(u32, u32)>,
}

#[derive(Template)]
#[template(path = "mfa_setup.html")]
struct MfaPage {
    chrome: Chrome,
    required: bool,
    secret: String,
    qr_svg: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage {
    chrome: Chrome,
    codes: Vec<String>,
}

async fn account_page(
    state: &AppState,
    viewer: &Viewer,
    message: Option<String>,
    error: Option<String>,
) -> Result<AccountPage, WebError> {
    let account = &viewer.session.info.account;
    let codes_left = state
        .app
        .store
        .recovery_codes_left(account.id)
        .await
        .map_err(ServiceError::from)?;
    Ok(AccountPage {
        chrome: Chrome::for_viewer(state, viewer, "/account").await,
        username: account.username.clone(),
        roles: account.roles.iter().map(|r| r.label()).collect(),
        mfa_enabled: account.mfa_enabled,
        codes_left,
        message,
        error,
        filter_retention: state.app.filter.as_ref().map(|f| f.retention()),
    })
}

/// `GET /account`.
pub async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, WebError> {
    render(&account_page(&state, &viewer, None, None).await?)
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

/// `POST /account/password`. Success ends every session, so the person signs in again.
pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    if f.new != f.confirm {
        let page = account_page(
            &state,
            &viewer,
            None,
            Some("new password: the two entries differ".into()),
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
    }
    match state
        .app
        .change_own_password(
            &viewer.session.info,
            &f.current,
            &f.new,
            viewer.session.ip.as_deref(),
        )
        .await
    {
        Ok(()) => Ok(axum::response::Redirect::to("/login?next=/account").into_response()),
        Err(ServiceError::Invalid(m)) => {
            let page = account_page(&state, &viewer, None, Some(m)).await?;
            Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn qr_svg(url: &str) -> String {
    qrcode::QrCode::new(url.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

async fn mfa_page(
    state: &AppState,
    s: &AnySession,
    secret: Option<String>,
    error: Option<String>,
) -> Result<MfaPage, WebError> {
    let enrolment = state.app.enrolment(&s.info.account, secret.as_deref())?;
    Ok(MfaPage {
        chrome: Chrome::anonymous(state, s.csrf.clone()).await,
        required: s.info.stage == SessionStage::NeedsEnrolment,
        qr_svg: qr_svg(&enrolment.url),
        secret: enrolment.secret,
        error,
    })
}

/// `GET /account/mfa`: a new secret as a QR code, to confirm with a first code.
pub async fn mfa_form(State(state): State<AppState>, s: AnySession) -> Result<Response, WebError> {
    if s.info.stage == SessionStage::NeedsCode {
        return Err(WebError::Redirect("/login/code".into()));
    }
    Ok(render(&mfa_page(&state, &s, None, None).await?)?.into_response())
}

/// The enrolment form.
#[derive(Debug, Deserialize)]
pub struct MfaForm {
    secret: String,
    code: String,
}

/// `POST /account/mfa`: confirm enrolment; show the recovery codes once.
pub async fn mfa_confirm(
    State(state): State<AppState>,
    s: AnySession,
    Form(f): Form<MfaForm>,
) -> Result<Response, WebError> {
    if s.info.stage == SessionStage::NeedsCode {
        return Err(WebError::Redirect("/login/code".into()));
    }
    match state
        .app
        .confirm_enrolment(&s.info, f.secret.trim(), &f.code, s.ip.as_deref())
        .await
    {
        Ok(codes) => Ok(render(&CodesPage {
            chrome: Chrome::anonymous(&state, s.csrf.clone()).await,
            codes,
        })?
        .into_response()),
        Err(ServiceError::Invalid(m)) => Ok((
            StatusCode::BAD_REQUEST,
            render(&mfa_page(&state, &s, Some(f.secret.trim().to_owned()), Some(m)).await?)?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
