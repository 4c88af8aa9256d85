//! Application state and startup: build everything from a [`Config`] and serve on a listener.
//!
//! [`serve`] takes the listener and a shutdown future from its caller, so `main` and the tests
//! start the server the same way (tests bind `127.0.0.1:0`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::files::Blobs;
use crate::files::signed::UrlSigner;
use crate::mail::Mailer;
use crate::realtime::{self, Notifier, Presence, TypingTracker};
use crate::service::credentials::TokenKeys;
use crate::service::files::{Files, spawn_sweeper};
use crate::service::limits::Throttle;
use crate::store::Store;

/// Everything a request or an event handler needs; cheap to clone (one reference count), since
/// every request, event and acknowledgement holds a copy.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    pub tokens: TokenKeys,
    pub notifier: Notifier,
    pub presence: Presence,
    pub typing: TypingTracker,
    pub mailer: Mailer,
    pub throttles: Throttles,
    pub metrics: crate::http::metrics::Metrics,
    pub files: Files,
}

/// Per-account throttles.
#[derive(Clone)]
pub struct Throttles {
    pub failed_logins: Throttle,
    pub reset_mails: Throttle,
    pub sends: Throttle,
}

/// A server ready to accept connections.
pub struct App {
    pub state: AppState,
    router: axum::Router,
}

impl App {
    /// Connects and migrates the database, loads secrets and wires every part together.
    pub async fn build(mut config: Config) -> anyhow::Result<App> {
        install_crypto_provider();
        config.load_secrets()?;
        let store = Store::connect(&config.database_url(), config.database.max_connections).await?;
        store.migrate().await.context("migrating the database")?;
        let (io_layer, io) = realtime::socket_layer(&config);
        let state = AppState(Arc::new(Shared {
            tokens: TokenKeys::new(
                config.auth.jwt_secret.expose(),
                config.auth.access_token_ttl_secs,
            ),
            mailer: Mailer::new(&config.mail, &config.storage.data_dir),
            throttles: Throttles {
                failed_logins: Throttle::new(
                    config.rate_limit.failed_logins_per_hour,
                    Duration::from_secs(3600),
                ),
                reset_mails: Throttle::new(5, Duration::from_secs(3600)),
                sends: Throttle::new(config.messages.sends_per_minute, Duration::from_secs(60)),
            },
            notifier: Notifier::new(io.clone()),
            presence: Presence::default(),
            typing: TypingTracker::default(),
            metrics: crate::http::metrics::Metrics::install(),
            files: Files {
                blobs: Blobs::from_config(&config)?,
                signer: UrlSigner::new(
                    config.files.url_secret.expose(),
                    config.files.signed_url_ttl_secs,
                ),
            },
            store,
            config: Arc::new(config),
        }));
        realtime::register(&io, state.clone());
        spawn_sweeper(state.clone());
        let router = crate::http::router(state.clone(), io_layer);
        Ok(App { state, router })
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets requests finish and closes
    /// every socket.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let io = self.state.notifier.io().clone();
        let signal = async move {
            shutdown.await;
            io.close().await;
        };
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        // Events are small writes that must leave at once: with Nagle's algorithm on, a write
        // waits while an earlier one is unacknowledged, and the peer delays its TCP ack by up
        // to 40 ms (an ack for a durable send waited for the sender's next message:
        // docs/BENCHMARKS.md, session 6).
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "TCP_NODELAY not set");
            }
        });
        axum::serve(listener, service)
            .with_graceful_shutdown(signal)
            .await
            .context("serving HTTP")?;
        self.state.store.close().await;
        Ok(())
    }
}

/// Makes ring the process-wide rustls provider, as sqlx and lettre already use it. reqwest
/// (under `object_store`'s S3 client) is built without a provider of its own and panics when
/// none is installed, so this runs before any HTTP client is built; repeated calls are harmless.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}
