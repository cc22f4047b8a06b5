//! How failures reach a person: a friendly page (or JSON for the API), never a stack
//! trace. Internal errors are logged with a reference the page shows.

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_service::ServiceError;

/// A failure, as the web shows it.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in: go to the sign-in page, then come back to `next`.
    SignIn {
        /// Where to return.
        next: String,
    },
    /// Signed in, but the second factor is still owed: go there.
    Redirect(String),
    /// Not allowed.
    Forbidden,
    /// No such page or record.
    NotFound,
    /// The request is wrong; the message says how.
    BadRequest(String),
    /// The form's security token is missing or stale.
    Csrf,
    /// Too many attempts.
    Throttled(u64),
    /// Something broke on our side.
    Internal(String),
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden => Self::Forbidden,
            ServiceError::Unauthenticated(_) => Self::SignIn { next: "/".into() },
            ServiceError::Throttled(s) => Self::Throttled(s),
            ServiceError::Invalid(m) => Self::BadRequest(m),
            ServiceError::NotFound(_) => Self::NotFound,
            ServiceError::NoSchool | ServiceError::Store(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

/// Render a complete error page.
pub fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    reference: Option<&str>,
) -> Response {
    let body = ErrorPage {
        title,
        message,
        reference,
    }
    .render()
    .unwrap_or_else(|_| title.to_owned());
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                Redirect::to(&format!("/login?{q}")).into_response()
            }
            Self::Redirect(to) => Redirect::to(&to).into_response(),
            Self::Forbidden => error_page(
                StatusCode::FORBIDDEN,
                "Not available to you",
                "Your role does not give access to this page. If you need it, ask your headteacher or network manager.",
                None,
            ),
            Self::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address. It may have been moved, or the link may be mistyped.",
                None,
            ),
            Self::BadRequest(m) => {
                error_page(StatusCode::BAD_REQUEST, "That did not work", &m, None)
            }
            Self::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "Please try again",
                "This form had expired or did not come from Gatehouse, so nothing was changed. Go back, reload the page and submit it again.",
                None,
            ),
            Self::Throttled(secs) => {
                let mut r = error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    &format!(
                        "For your account's safety, please wait {secs} seconds before trying again."
                    ),
                    None,
                );
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Self::Internal(detail) => {
                let reference = format!("{:08x}", rand::random::<u32>());
                tracing::error!(%reference, %detail, "request failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Gatehouse could not finish this request and nothing was half-saved. Please try again; if it keeps happening, give your network manager the reference below.",
                    Some(&reference),
                )
            }
        }
    }
}

/// Replace the plain-text answers axum gives for malformed requests (a form missing a
/// field, a path that is not a number) with a friendly page. JSON answers are left alone.
pub async fn friendly(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return res;
    }
    match status {
        StatusCode::NOT_FOUND => WebError::NotFound.into_response(),
        StatusCode::PAYLOAD_TOO_LARGE => error_page(
            status,
            "Too large",
            "That upload is larger than Gatehouse accepts (20 MB).",
            None,
        ),
        s if s.is_server_error() => WebError::Internal(format!("status {s}")).into_response(),
        _ => error_page(
            status,
            "That did not work",
            "Gatehouse could not read what was sent: a field may be missing or in the wrong form. Go back and check the form.",
            None,
        ),
    }
}

/// A panic in a handler becomes the friendly error page, never a dropped connection.
pub fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    WebError::Internal("a request handler panicked".into()).into_response()
}
