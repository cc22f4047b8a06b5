//! The JSON API under `/api/v1`, for scripts and other systems, authenticated by a bearer
//! token (`gatehouse token create`). The same permission matrix and audit log apply.

use crate::AppState;
use crate::session::ClientIp;
use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_service::{Actor, ServiceError};
use gatehouse_store::PeopleFilter;
use serde::Deserialize;
use serde_json::json;

/// An API failure as JSON.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let status = match &e {
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::NoSchool | ServiceError::Store(_) => {
                tracing::error!(error = %e, "API request failed");
                return Self(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into());
            }
        };
        Self(status, e.to_string())
    }
}

/// The caller of an API request, from `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct ApiCaller(pub Actor);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required".into(),
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned)
            .ok_or_else(unauthorized)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        state
            .app
            .token_actor(&token, ip)
            .await?
            .map(ApiCaller)
            .ok_or_else(unauthorized)
    }
}

/// `GET /api/v1/me`: who the token acts as.
pub async fn me(ApiCaller(actor): ApiCaller) -> Json<serde_json::Value> {
    Json(json!({ "username": actor.name, "roles": actor.roles }))
}

/// Query of `GET /api/v1/people`.
#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    q: Option<String>,
    kind: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /api/v1/people`: the directory as JSON.
pub async fn people(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Query(q): Query<PeopleQuery>,
) -> Result<Json<gatehouse_store::PeoplePage>, ApiError> {
    let kind = q
        .kind
        .filter(|k| !k.is_empty())
        .map(|k| k.parse())
        .transpose()
        .map_err(|e: gatehouse_domain::DomainError| {
            ApiError(StatusCode::BAD_REQUEST, e.to_string())
        })?;
    let filter = PeopleFilter {
        query: q.q,
        kind,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
        ..PeopleFilter::default()
    };
    Ok(Json(state.app.people(&actor, &filter).await?))
}

/// `GET /api/v1/people/{id}/agreements`: has this person signed everything required?
/// Used by the network access gate.
pub async fn agreements(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (person, list) = state.app.agreements_of(&actor, id).await?;
    let all_signed = list.iter().all(|a| !a.status.needs_action());
    let overdue = list.iter().any(|a| a.status.is_overdue());
    Ok(Json(json!({
        "person_id": person.id,
        "name": person.details.full_name(),
        "all_signed": all_signed,
        "any_overdue": overdue,
        "agreements": list,
    })))
}

/// The alerts query.
#[derive(Debug, Deserialize)]
pub struct AlertsQuery {
    status: Option<String>,
}

/// `GET /api/v1/alerts[?status=new|acknowledged|dismissed|escalated]`: monitoring alerts,
/// newest first (the DSL team and the head; audited like the page).
pub async fn alerts(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Query(q): Query<AlertsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("new" | "acknowledged" | "dismissed" | "escalated")) => Some(s),
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("status: '{other}' is not new, acknowledged, dismissed or escalated"),
            ));
        }
    };
    let list = state.app.alerts(&actor, status).await?;
    Ok(Json(json!({ "alerts": list })))
}
