//! Prometheus metrics: requests by route and status, latency, sockets, database pool.
//!
//! The `metrics` crate records into one process-wide recorder (that is how its macros work), so
//! the recorder is installed once and every app in the process shares it; tests that start
//! several servers see the sum of their traffic.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Renders the recorded metrics.
#[derive(Clone)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
}

impl Metrics {
    /// Installs the process-wide recorder the first time; later calls reuse it.
    pub fn install() -> Metrics {
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .set_buckets(&[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ])
                    .map(PrometheusBuilder::build_recorder);
                match recorder {
                    Ok(recorder) => {
                        let handle = recorder.handle();
                        if metrics::set_global_recorder(recorder).is_err() {
                            tracing::warn!("another metrics recorder is already installed");
                        }
                        handle
                    }
                    Err(err) => {
                        tracing::error!(%err, "metrics recorder not installed");
                        PrometheusBuilder::new().build_recorder().handle()
                    }
                }
            })
            .clone();
        Metrics {
            handle: Some(handle),
        }
    }

    pub fn render(&self, state: &AppState) -> String {
        let (size, idle) = state.store.pool_stats();
        metrics::gauge!("db_pool_connections").set(f64::from(size));
        metrics::gauge!("db_pool_idle_connections").set(idle as f64);
        self.handle.as_ref().map(|h| h.render()).unwrap_or_default()
    }
}

/// Counts each request by method, route template and status, and times it.
pub async fn track(State(_state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| {
            if request.uri().path().starts_with("/socket.io") {
                "/socket.io".into()
            } else {
                "unmatched".into()
            }
        });
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A socket connected (+1) or disconnected (-1).
pub fn socket_connected(delta: f64) {
    metrics::gauge!("socketio_connected_sockets").increment(delta);
}
