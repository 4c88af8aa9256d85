//! The HTTP side: one route table, the middleware stack, and the JSON fallbacks.
//!
//! Each resource has a file exposing `router()`; this module merges them and wraps them in the
//! shared layers (request ids, tracing, metrics, CORS, body limit, rate limits, panic catching).

mod auth;
mod chats;
mod contacts;
mod docs;
pub mod extract;
mod files;
mod health;
mod messages;
pub mod metrics;
mod ratelimit;
mod users;
mod web;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use socketioxide::layer::SocketIoLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::config::Config;
use crate::error::AppError;

pub use docs::ApiDoc;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `{message}`: the body of actions that return nothing else.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: &'static str,
}

pub(crate) fn message(text: &'static str) -> Json<MessageResponse> {
    Json(MessageResponse { message: text })
}

/// `?cursor=&limit=`: keyset pagination. `limit` is text so a bad one gets a precise 400.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// A `nextCursor` from the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    pub limit: Option<String>,
}

impl PageQuery {
    pub fn parse_limit(raw: Option<&str>) -> Result<i64, AppError> {
        match raw {
            None => Ok(50),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| AppError::invalid("limit", "must be a whole number from 1 to 100")),
        }
    }
}

/// The whole application: API, docs, health, and Socket.IO.
pub fn router(state: AppState, io_layer: SocketIoLayer) -> Router {
    let config = state.config.clone();
    let api = ratelimit::per_address(
        Router::new()
            .merge(auth::router())
            .merge(users::router())
            .merge(contacts::router())
            .merge(chats::router())
            .merge(messages::router())
            .merge(files::router(&config.files)),
        &config.http,
        config.rate_limit.requests_per_minute,
    );
    let sensitive = ratelimit::per_address(
        auth::sensitive_router(),
        &config.http,
        config.rate_limit.auth_requests_per_minute,
    );
    Router::new()
        .merge(api)
        .merge(sensitive)
        .merge(health::router())
        .merge(docs::router())
        .merge(web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(io_layer)
        .layer(axum::middleware::map_request(
            crate::realtime::own_handshake_parts,
        ))
        .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
        .layer(cors(&config))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// Logs method, path (never the query: it may hold signed URLs) and request id.
fn make_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .http
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

async fn not_found() -> AppError {
    AppError::NotFound("No such route".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}
