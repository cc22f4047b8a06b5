//! `GET /healthz`: 200 with the schema version when the database answers, else 503; the
//! figures of the other parts ([`crate::HealthProbe`]: the DNS filter, the activity log),
//! with `"status": "degraded"` when one of them reports a problem such as dropped
//! activity events.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The health check used by `gatehouse healthcheck` and load balancers.
pub async fn check(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.app.store.schema_version().await {
        Ok(v) => {
            let mut body = json!({ "status": "ok", "database": "ok", "schema_version": v });
            if let Some(probe) = &state.settings.health {
                let (parts, ok) = probe.report();
                if let (Some(b), Value::Object(parts)) = (body.as_object_mut(), parts) {
                    b.extend(parts);
                    if !ok {
                        b.insert("status".into(), json!("degraded"));
                    }
                }
            }
            (StatusCode::OK, Json(body))
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "error", "database": "unavailable" })),
            )
        }
    }
}
