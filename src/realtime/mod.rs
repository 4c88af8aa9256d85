//! The Socket.IO side: handshake authentication, the event table, presence and the notifier.
//!
//! A socket authenticates in its CONNECT packet (`auth: {token}`) or with an `Authorization:
//! Bearer` header, then joins the rooms of its user and its session. [`register`] holds the event
//! table: the one place to read what a client can send.

pub mod events;
mod handlers;
mod notifier;
mod presence;
mod typing;

use std::time::Duration;

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use tower_http::request_id::RequestId;

pub use notifier::Notifier;
pub use presence::{Presence, Transition};
pub use typing::TypingTracker;

use crate::app::AppState;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::service::accounts::{self, AuthUser};
use crate::service::presence as presence_service;

/// Who sent an event, and from which socket.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user: AuthUser,
    pub socket: socketioxide::socket::Sid,
}

/// Builds the Socket.IO layer and its handle.
pub fn socket_layer(config: &Config) -> (SocketIoLayer, SocketIo) {
    SocketIo::builder()
        .connect_timeout(Duration::from_secs(
            config.realtime.connect_timeout_secs.max(1),
        ))
        .max_payload(config.realtime.max_payload_bytes)
        .ws_max_message_size(config.realtime.max_payload_bytes as usize)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .build_layer()
}

/// Each connection's WebSocket read buffer (engine.io's default is 4 KiB). Client frames are
/// acks and messages of a few hundred bytes; a larger frame grows the buffer as it arrives. With
/// 20,000 idle connections the difference is 60 MB.
const WS_READ_BUFFER: usize = 1024;

/// Copies what Socket.IO keeps of the handshake request into allocations of its own.
///
/// Socket.IO keeps each connection's request parts for the connection's life (`req_parts()`):
/// URI, headers and extensions. hyper parses the request without copying, as slices of its
/// 8-16 KiB read buffer, and axum adds the URI again as `OriginalUri`, so those few hundred
/// bytes kept the whole buffer alive: 16 KiB of the ~33 KiB each idle connection costs
/// (heaptrack under `loadgen idle`, docs/BENCHMARKS.md). Copied, the buffer is freed once the
/// connection is upgraded.
pub async fn own_handshake_parts(mut request: Request) -> Request {
    if !request.uri().path().starts_with(SOCKET_PATH) {
        return request;
    }
    let mut owned = HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            owned.append(name, value);
        }
    }
    *request.headers_mut() = owned;
    if let Ok(uri) = Uri::try_from(request.uri().to_string()) {
        *request.uri_mut() = uri;
    }
    let extensions = request.extensions_mut();
    extensions.remove::<OriginalUri>();
    if let Some(id) = extensions.remove::<RequestId>()
        && let Ok(value) = HeaderValue::from_bytes(id.header_value().as_bytes())
    {
        extensions.insert(RequestId::new(value));
    }
    request
}

/// Where Socket.IO listens.
const SOCKET_PATH: &str = "/socket.io/";

/// The CONNECT payload.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectAuth {
    token: Option<String>,
}

/// Registers the handshake check and the event table on the default namespace.
pub fn register(io: &SocketIo, state: AppState) {
    let auth_state = state.clone();
    let authenticate = move |s: SocketRef, TryData(auth): TryData<ConnectAuth>| {
        let state = auth_state.clone();
        async move { authenticate(&state, &s, auth.unwrap_or_default()).await }
    };
    let on_connect = move |s: SocketRef| {
        let state = state.clone();
        async move { connected(state, s).await }
    };
    io.ns("/", on_connect.with(authenticate));
}

/// Refuses the handshake with a CONNECT_ERROR `{message}` unless the token and origin are good.
async fn authenticate(state: &AppState, s: &SocketRef, auth: ConnectAuth) -> Result<(), String> {
    check_origin(state, s)?;
    let header_token = s
        .req_parts()
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    let token = auth
        .token
        .or(header_token)
        .ok_or_else(|| "Authentication required: pass {token} in the auth payload".to_owned())?;
    let user = accounts::authenticate(state, &token)
        .await
        .map_err(|err| match err {
            AppError::TokenExpired => "Access token expired".to_owned(),
            AppError::Internal(_) => "Internal server error".to_owned(),
            other => other.to_string(),
        })?;
    s.extensions.insert(user);
    // Joined here, before the CONNECT reply goes out, so no event sent right after the
    // handshake can miss this socket.
    s.join([
        notifier::user_room(user.user_id),
        notifier::session_room(user.session_id),
    ]);
    Ok(())
}

/// Browsers send `Origin`; it must be this server or one of the configured CORS origins.
fn check_origin(state: &AppState, s: &SocketRef) -> Result<(), String> {
    let headers = &s.req_parts().headers;
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let same_origin = origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host);
    if same_origin || state.config.http.cors_origins.iter().any(|o| o == origin) {
        Ok(())
    } else {
        Err(format!("Origin {origin} is not allowed"))
    }
}

async fn connected(state: AppState, s: SocketRef) {
    let Some(user) = s.extensions.get::<AuthUser>() else {
        let _ = s.disconnect();
        return;
    };
    crate::http::metrics::socket_connected(1.0);
    register_events(&s, &state);
    if let Err(err) = presence_service::socket_connected(&state, user.user_id).await {
        tracing::warn!(error = ?err, "presence update failed");
    }
    match presence_service::initial(&state, user.user_id).await {
        Ok(initial) => {
            let _ = s.emit(events::PRESENCE_INITIAL, &initial);
        }
        Err(err) => tracing::warn!(error = ?err, "presence_initial failed"),
    }
}

/// The event table: every event a client may send, each with its handler.
fn register_events(s: &SocketRef, state: &AppState) {
    on(s, state, "send_message", handlers::send_message);
    on(s, state, "edit_message", handlers::edit_message);
    on(s, state, "delete_message", handlers::delete_message);
    on(s, state, "react", handlers::react);
    on(s, state, "typing_start", handlers::typing_start);
    on(s, state, "typing_stop", handlers::typing_stop);
    on(s, state, "mark_read", handlers::mark_read);
    on(s, state, "mark_delivered", handlers::mark_delivered);
    on(s, state, "join_chat", handlers::join_chat);
    on(s, state, "leave_chat", handlers::leave_chat);
    on(s, state, "presence_set", handlers::presence_set);
    let st = state.clone();
    s.on_disconnect(move |s: SocketRef| {
        let state = st.clone();
        async move { disconnected(state, s).await }
    });
}

async fn disconnected(state: AppState, s: SocketRef) {
    crate::http::metrics::socket_connected(-1.0);
    if let Some(user) = s.extensions.get::<AuthUser>()
        && let Err(err) = presence_service::socket_disconnected(&state, user.user_id).await
    {
        tracing::warn!(error = ?err, "presence update failed");
    }
}

/// Registers `handler` for `event`: checks the socket's session on every event, parses the
/// payload into `P`, and answers the ack with the result or the error shape.
fn on<P, R, F, Fut>(s: &SocketRef, state: &AppState, event: &'static str, handler: F)
where
    P: serde::de::DeserializeOwned + Send + Sync + 'static,
    R: Serialize + Send + 'static,
    F: Fn(AppState, Caller, P) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = AppResult<R>> + Send + 'static,
{
    let state = state.clone();
    s.on(
        event,
        move |s: SocketRef, TryData(payload): TryData<P>, ack: AckSender| {
            let state = state.clone();
            let handler = handler.clone();
            async move {
                let result = async {
                    let user = reauthorize(&state, &s).await?;
                    let payload = payload.map_err(|e| {
                        AppError::bad_request(format!("Invalid payload for {event}: {e}"))
                    })?;
                    let caller = Caller { user, socket: s.id };
                    handler(state.clone(), caller, payload).await
                }
                .await;
                reply(ack, result);
            }
        },
    );
}

/// Every event re-checks that the socket's session is still live.
async fn reauthorize(state: &AppState, s: &SocketRef) -> AppResult<AuthUser> {
    let user = s
        .extensions
        .get::<AuthUser>()
        .ok_or_else(|| AppError::Unauthorized("Not authenticated".into()))?;
    let live = state
        .store
        .fetch_live_session(user.session_id, crate::domain::Timestamp::now())
        .await?;
    if live.is_none() {
        let _ = s.clone().disconnect();
        return Err(AppError::Unauthorized("Session is no longer valid".into()));
    }
    Ok(user)
}

/// Answers an ack with the success payload or the error shape of section 1.
fn reply<R: Serialize>(ack: AckSender, result: AppResult<R>) {
    let sent = match result {
        Ok(value) => ack.send(&value),
        Err(err) => ack.send(&err.body()),
    };
    if let Err(err) = sent {
        tracing::debug!(%err, "ack not delivered");
    }
}
