//! `GET /healthz`: 200 with the schema version when the database answers, else 503.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The health check used by `gatehouse healthcheck` and load balancers.
pub async fn check(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.app.store.schema_version().await {
        Ok(v) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok", "schema_version": v })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "error", "database": "unavailable" })),
            )
        }
    }
}
