//! `/health`, `/ping` and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::domain::{Role, Timestamp};
use crate::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ping", get(ping))
        .route("/metrics", get(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    timestamp: Timestamp,
}

/// GET /health: ok only when the database answers.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = HealthResponse), (status = 500)))]
async fn health(State(state): State<AppState>) -> AppResult<Json<HealthResponse>> {
    state.store.ping().await?;
    Ok(Json(HealthResponse {
        status: "ok",
        timestamp: Timestamp::now(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PingResponse {
    message: &'static str,
}

/// GET /ping
#[utoipa::path(get, path = "/ping", tag = "health", responses((status = 200, body = PingResponse)))]
async fn ping() -> Json<PingResponse> {
    Json(PingResponse { message: "pong" })
}

/// GET /metrics: Prometheus text, for admins or the configured metrics token.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, content_type = "text/plain"), (status = 401), (status = 403)), security(("bearer" = [])))]
async fn metrics(State(state): State<AppState>, parts: Parts) -> AppResult<impl IntoResponse> {
    let token = super::extract::bearer_token(&parts)
        .ok_or_else(|| AppError::Unauthorized("Missing bearer token".into()))?;
    let configured = state.config.metrics.token.expose();
    let allowed = if !configured.is_empty() && constant_time_eq(token, configured) {
        true
    } else {
        crate::service::accounts::authenticate(&state, token)
            .await?
            .role
            == Role::Admin
    };
    if !allowed {
        return Err(AppError::Forbidden("Metrics are for admins".into()));
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&state),
    ))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
