//! `/api/messages` and `/api/sync`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::chats::PageResponse;
use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use super::{MessageResponse, PageQuery, message};
use crate::app::AppState;
use crate::domain::{ChatId, MessageId};
use crate::error::{AppError, AppResult};
use crate::service::accounts::AuthUser;
use crate::service::messages::{self, DeleteScope, Receipts, SearchHit};
use crate::wire::{Chat, Message, ReactionGroup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages/search", get(search))
        .route("/api/messages/starred", get(starred))
        .route("/api/messages/delivered", post(delivered))
        .route("/api/messages/{id}", put(edit).delete(remove))
        .route("/api/messages/{id}/read", post(read))
        .route("/api/messages/{id}/receipts", get(receipts))
        .route("/api/messages/{id}/reactions", post(react).delete(unreact))
        .route("/api/messages/{id}/forward", post(forward))
        .route("/api/messages/{id}/star", post(star).delete(unstar))
        .route("/api/sync", get(sync))
}

#[derive(Deserialize, ToSchema)]
struct EditRequest {
    content: String,
}

/// PUT /api/messages/:id: the sender, text only, within the edit window.
#[utoipa::path(put, path = "/api/messages/{id}", tag = "messages", params(("id" = String, Path, format = Uuid)),
    request_body = EditRequest,
    responses((status = 200, body = Message), (status = 400), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn edit(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
    ApiJson(request): ApiJson<EditRequest>,
) -> AppResult<Json<Message>> {
    Ok(Json(
        messages::edit(&state, &auth, id, &request.content).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
struct DeleteQuery {
    /// `me` (default) or `everyone`.
    #[param(value_type = Option<String>)]
    scope: Option<DeleteScope>,
}

/// DELETE /api/messages/:id?scope=me|everyone
#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages", params(("id" = String, Path, format = Uuid), DeleteQuery),
    responses((status = 200, body = MessageResponse), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> AppResult<Json<MessageResponse>> {
    let scope = query.scope.unwrap_or(DeleteScope::Me);
    messages::delete(&state, &auth, id, scope).await?;
    Ok(message(match scope {
        DeleteScope::Me => "Message deleted for you",
        DeleteScope::Everyone => "Message deleted for everyone",
    }))
}

/// POST /api/messages/:id/read: this message and every earlier one in its chat.
#[utoipa::path(post, path = "/api/messages/{id}/read", tag = "messages", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn read(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
) -> AppResult<Json<MessageResponse>> {
    messages::mark_read(&state, &auth, id).await?;
    Ok(message("Marked as read"))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeliveredRequest {
    #[schema(value_type = Vec<String>)]
    message_ids: Vec<MessageId>,
}

/// POST /api/messages/delivered {messageIds}
#[utoipa::path(post, path = "/api/messages/delivered", tag = "messages", request_body = DeliveredRequest,
    responses((status = 200, body = MessageResponse), (status = 400)), security(("bearer" = [])))]
async fn delivered(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<DeliveredRequest>,
) -> AppResult<Json<MessageResponse>> {
    messages::delivered(&state, &auth, &request.message_ids).await?;
    Ok(message("Marked as delivered"))
}

/// GET /api/messages/:id/receipts (the sender only)
#[utoipa::path(get, path = "/api/messages/{id}/receipts", tag = "messages", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Receipts), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn receipts(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
) -> AppResult<Json<Receipts>> {
    Ok(Json(messages::receipts(&state, &auth, id).await?))
}

#[derive(Deserialize, ToSchema)]
struct ReactRequest {
    emoji: String,
}

#[derive(Serialize, ToSchema)]
struct ReactionsResponse {
    reactions: Vec<ReactionGroup>,
}

/// POST /api/messages/:id/reactions {emoji}: one per person; a new one replaces the old.
#[utoipa::path(post, path = "/api/messages/{id}/reactions", tag = "messages", params(("id" = String, Path, format = Uuid)),
    request_body = ReactRequest,
    responses((status = 200, body = ReactionsResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
async fn react(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
    ApiJson(request): ApiJson<ReactRequest>,
) -> AppResult<Json<ReactionsResponse>> {
    let reactions = messages::react(&state, &auth, id, Some(&request.emoji)).await?;
    Ok(Json(ReactionsResponse { reactions }))
}

#[derive(Default, Deserialize, ToSchema)]
struct UnreactRequest {
    #[allow(
        dead_code,
        reason = "accepted as in the contract; a person has one reaction, so it is not needed"
    )]
    emoji: Option<String>,
}

/// DELETE /api/messages/:id/reactions: removes the caller's reaction.
#[utoipa::path(delete, path = "/api/messages/{id}/reactions", tag = "messages", params(("id" = String, Path, format = Uuid)),
    request_body = Option<UnreactRequest>,
    responses((status = 200, body = ReactionsResponse), (status = 404)), security(("bearer" = [])))]
async fn unreact(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
    OptionalJson(_request): OptionalJson<UnreactRequest>,
) -> AppResult<Json<ReactionsResponse>> {
    let reactions = messages::react(&state, &auth, id, None).await?;
    Ok(Json(ReactionsResponse { reactions }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ForwardRequest {
    #[schema(value_type = Vec<String>)]
    chat_ids: Vec<ChatId>,
}

#[derive(Serialize, ToSchema)]
struct ForwardResponse {
    messages: Vec<Message>,
}

/// POST /api/messages/:id/forward {chatIds}
#[utoipa::path(post, path = "/api/messages/{id}/forward", tag = "messages", params(("id" = String, Path, format = Uuid)),
    request_body = ForwardRequest,
    responses((status = 201, body = ForwardResponse), (status = 400), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn forward(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
    ApiJson(request): ApiJson<ForwardRequest>,
) -> AppResult<Response> {
    let messages = messages::forward(&state, &auth, id, &request.chat_ids).await?;
    Ok((StatusCode::CREATED, Json(ForwardResponse { messages })).into_response())
}

/// POST /api/messages/:id/star
#[utoipa::path(post, path = "/api/messages/{id}/star", tag = "messages", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn star(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
) -> AppResult<Json<MessageResponse>> {
    messages::star(&state, &auth, id, true).await?;
    Ok(message("Message starred"))
}

/// DELETE /api/messages/:id/star
#[utoipa::path(delete, path = "/api/messages/{id}/star", tag = "messages", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn unstar(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MessageId>,
) -> AppResult<Json<MessageResponse>> {
    messages::star(&state, &auth, id, false).await?;
    Ok(message("Star removed"))
}

/// GET /api/messages/starred
#[utoipa::path(get, path = "/api/messages/starred", tag = "messages", params(PageQuery),
    responses((status = 200, body = PageResponse), (status = 400)), security(("bearer" = [])))]
async fn starred(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> AppResult<Json<PageResponse>> {
    let limit = PageQuery::parse_limit(query.limit.as_deref())?;
    Ok(Json(
        messages::starred(&state, &auth, query.cursor.as_deref(), limit)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
struct SearchQuery {
    /// Words to find (all must match; the last may be a prefix).
    #[serde(default)]
    q: String,
    #[param(value_type = Option<String>, format = Uuid)]
    chat_id: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SearchResponse {
    messages: Vec<SearchHit>,
    next_cursor: Option<String>,
    has_more: bool,
}

/// GET /api/messages/search
#[utoipa::path(get, path = "/api/messages/search", tag = "messages", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400)), security(("bearer" = [])))]
async fn search(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> AppResult<Json<SearchResponse>> {
    let limit = PageQuery::parse_limit(query.limit.as_deref())?;
    let chat = match query.chat_id.as_deref() {
        Some(id) => Some(
            ChatId::parse(id).ok_or_else(|| AppError::invalid("chatId", "must be a chat id"))?,
        ),
        None => None,
    };
    let (messages, next_cursor, has_more) = messages::search(
        &state,
        &auth,
        &query.q,
        chat,
        query.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(SearchResponse {
        messages,
        next_cursor,
        has_more,
    }))
}

#[derive(Deserialize, IntoParams)]
struct SyncQuery {
    /// The `nextCursor` of the previous sync; absent: only a fresh cursor is returned.
    since: Option<String>,
    limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SyncResponse {
    messages: Vec<Message>,
    chats: Vec<Chat>,
    next_cursor: String,
    has_more: bool,
}

/// GET /api/sync?since=: what changed since the cursor, for reconnecting clients.
#[utoipa::path(get, path = "/api/sync", tag = "messages", params(SyncQuery),
    responses((status = 200, body = SyncResponse), (status = 400)), security(("bearer" = [])))]
async fn sync(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> AppResult<Json<SyncResponse>> {
    let limit = match query.limit.as_deref() {
        None => 500,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::invalid("limit", "must be a whole number from 1 to 1000"))?,
    };
    let page = messages::sync(&state, &auth, query.since.as_deref(), limit).await?;
    Ok(Json(SyncResponse {
        messages: page.messages,
        chats: page.chats,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}
