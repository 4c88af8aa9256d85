//! Per-address rate limits (`tower_governor`), keyed by the client address that
//! [`client_ip`](super::extract::client_ip) trusts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::IntoResponse;
use tower_governor::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

use crate::app::AppState;
use crate::config::HttpConfig;
use crate::error::AppError;

/// The client address, honouring `X-Forwarded-For` from trusted proxies only.
#[derive(Clone)]
struct ClientAddress {
    trusted: Arc<Vec<IpAddr>>,
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        super::extract::client_ip(req.headers(), peer, &self.trusted)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// Wraps `router` in a limit of `per_minute` requests per client address (0: no limit).
pub fn per_address(
    router: Router<AppState>,
    http: &HttpConfig,
    per_minute: u32,
) -> Router<AppState> {
    if per_minute == 0 {
        return router;
    }
    let period = Duration::from_millis((60_000 / u64::from(per_minute)).max(1));
    let config = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(per_minute)
        .key_extractor(ClientAddress {
            trusted: Arc::new(http.trusted_proxies.clone()),
        })
        .finish();
    let Some(config) = config else {
        tracing::error!("invalid rate limit settings; limit disabled");
        return router;
    };
    let limiter = config.limiter().clone();
    // Forget addresses that have been quiet, so the table does not grow without bound.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    router.layer(
        tower_governor::GovernorLayer::new(config).error_handler(|err| {
            let error = match err {
                GovernorError::TooManyRequests { wait_time, .. } => AppError::RateLimited {
                    retry_after_secs: wait_time.max(1),
                },
                GovernorError::UnableToExtractKey => {
                    AppError::bad_request("Could not determine the client address")
                }
                GovernorError::Other { msg, .. } => {
                    AppError::Internal(anyhow::anyhow!("rate limiter: {msg:?}"))
                }
            };
            error.into_response()
        }),
    )
}
