//! `/api/auth`: registration, login, tokens, password and sessions.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, OptionalJson};
use super::{MessageResponse, message};
use crate::app::AppState;
use crate::domain::SessionId;
use crate::error::AppResult;
use crate::service::accounts::{
    self, AuthResponse, AuthUser, ChangePasswordRequest, ClientInfo, LoginRequest, RegisterRequest,
    ResetPasswordRequest, SessionView, TokenPair,
};
use crate::service::users::{self, ProfileRequest};
use crate::wire::Me;

/// Routes that get the stricter per-address limit (they create sessions or send mail).
pub fn sensitive_router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/password/forgot", post(forgot_password))
        .route("/api/auth/password/reset", post(reset_password))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/profile", put(update_profile))
        .route("/api/auth/password", put(change_password))
        .route("/api/auth/sessions", get(list_sessions))
        .route("/api/auth/sessions/{id}", delete(revoke_session))
}

/// Wraps the signed-in user.
#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub user: Me,
}

/// POST /api/auth/register
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = AuthResponse), (status = 400), (status = 409), (status = 429)))]
async fn register(
    state: axum::extract::State<AppState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> AppResult<impl IntoResponse> {
    let response = accounts::register(&state, request, client).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// POST /api/auth/login
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = AuthResponse), (status = 401), (status = 429)))]
async fn login(
    state: axum::extract::State<AppState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<LoginRequest>,
) -> AppResult<Json<AuthResponse>> {
    Ok(Json(accounts::login(&state, request, client).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RefreshRequest {
    refresh_token: String,
}

/// POST /api/auth/refresh
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401)))]
async fn refresh(
    state: axum::extract::State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> AppResult<Json<TokenPair>> {
    Ok(Json(
        accounts::refresh(&state, &request.refresh_token).await?,
    ))
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LogoutRequest {
    refresh_token: Option<String>,
}

/// POST /api/auth/logout
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = Option<LogoutRequest>,
    responses((status = 200, body = MessageResponse), (status = 401)), security(("bearer" = [])))]
async fn logout(
    state: axum::extract::State<AppState>,
    auth: AuthUser,
    OptionalJson(request): OptionalJson<LogoutRequest>,
) -> AppResult<Json<MessageResponse>> {
    accounts::logout(&state, &auth, request.refresh_token.as_deref()).await?;
    Ok(message("Logged out"))
}

/// GET /api/auth/me
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = UserResponse), (status = 401)), security(("bearer" = [])))]
async fn me(
    state: axum::extract::State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<UserResponse>> {
    let row = users::fetch_me(&state, &auth).await?;
    Ok(Json(UserResponse {
        user: users::me_view(&state, &row),
    }))
}

/// PUT /api/auth/profile
#[utoipa::path(put, path = "/api/auth/profile", tag = "auth", request_body = ProfileRequest,
    responses((status = 200, body = UserResponse), (status = 400), (status = 401)), security(("bearer" = [])))]
async fn update_profile(
    state: axum::extract::State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<ProfileRequest>,
) -> AppResult<Json<UserResponse>> {
    let user = users::update_profile(&state, &auth, request).await?;
    Ok(Json(UserResponse { user }))
}

/// PUT /api/auth/password
#[utoipa::path(put, path = "/api/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 200, body = MessageResponse), (status = 400), (status = 401)), security(("bearer" = [])))]
async fn change_password(
    state: axum::extract::State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> AppResult<Json<MessageResponse>> {
    accounts::change_password(&state, &auth, request).await?;
    Ok(message("Password changed"))
}

#[derive(Deserialize, ToSchema)]
struct ForgotRequest {
    email: String,
}

/// POST /api/auth/password/forgot
#[utoipa::path(post, path = "/api/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses((status = 202, body = MessageResponse), (status = 400), (status = 429)))]
async fn forgot_password(
    state: axum::extract::State<AppState>,
    ApiJson(request): ApiJson<ForgotRequest>,
) -> AppResult<impl IntoResponse> {
    accounts::forgot_password(&state, &request.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        message("If an account uses this address, a reset link is on its way"),
    ))
}

/// POST /api/auth/password/reset
#[utoipa::path(post, path = "/api/auth/password/reset", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 200, body = MessageResponse), (status = 400)))]
async fn reset_password(
    state: axum::extract::State<AppState>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> AppResult<Json<MessageResponse>> {
    accounts::reset_password(&state, request).await?;
    Ok(message("Password reset; sign in with the new password"))
}

#[derive(Serialize, ToSchema)]
struct SessionsResponse {
    sessions: Vec<SessionView>,
}

/// GET /api/auth/sessions
#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth",
    responses((status = 200, body = SessionsResponse), (status = 401)), security(("bearer" = [])))]
async fn list_sessions(
    state: axum::extract::State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<SessionsResponse>> {
    let sessions = accounts::list_sessions(&state, &auth).await?;
    Ok(Json(SessionsResponse { sessions }))
}

/// DELETE /api/auth/sessions/:id
#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "auth",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 401), (status = 404)), security(("bearer" = [])))]
async fn revoke_session(
    state: axum::extract::State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<SessionId>,
) -> AppResult<Json<MessageResponse>> {
    accounts::revoke_session(&state, &auth, id).await?;
    Ok(message("Session revoked"))
}
