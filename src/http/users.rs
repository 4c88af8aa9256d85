//! `/api/users`: search, profiles and settings.

use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::UserResponse;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::UserId;
use crate::error::{AppError, AppResult};
use crate::service::accounts::AuthUser;
use crate::service::users::{self, SettingsRequest};
use crate::wire::{PublicUser, UserSearchHit};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users/search", get(search))
        .route("/api/users/me/settings", put(update_settings))
        .route("/api/users/{id}", get(get_user))
}

#[derive(Deserialize, IntoParams)]
struct SearchQuery {
    /// Part of a username or display name, or an exact email address.
    #[serde(default)]
    q: String,
    /// 1 to 50, default 20.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct SearchResponse {
    users: Vec<UserSearchHit>,
}

/// GET /api/users/search
#[utoipa::path(get, path = "/api/users/search", tag = "users", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400), (status = 401)), security(("bearer" = [])))]
async fn search(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> AppResult<Json<SearchResponse>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 50"));
    }
    let users = users::search(&state, &auth, &query.q, limit).await?;
    Ok(Json(SearchResponse { users }))
}

/// GET /api/users/:id
#[utoipa::path(get, path = "/api/users/{id}", tag = "users",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PublicUser), (status = 401), (status = 404)), security(("bearer" = [])))]
async fn get_user(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<Json<PublicUser>> {
    Ok(Json(users::get_user(&state, &auth, id).await?))
}

/// PUT /api/users/me/settings
#[utoipa::path(put, path = "/api/users/me/settings", tag = "users", request_body = SettingsRequest,
    responses((status = 200, body = UserResponse), (status = 400), (status = 401)), security(("bearer" = [])))]
async fn update_settings(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<SettingsRequest>,
) -> AppResult<Json<UserResponse>> {
    let user = users::update_settings(&state, &auth, request).await?;
    Ok(Json(UserResponse { user }))
}
