//! `/api/chats`: chats, members, settings, read marks, pins, and a chat's messages.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use super::{MessageResponse, PageQuery, message};
use crate::app::AppState;
use crate::domain::{ChatId, MessageId, UserId};
use crate::error::{AppError, AppResult};
use crate::service::accounts::AuthUser;
use crate::service::chats::{
    self, ChatSettingsRequest, CreateChatRequest, MemberRole, UpdateChatRequest,
};
use crate::service::messages::{self, ChatRead, HistoryFrom, SendRequest};
use crate::wire::{Chat, ChatMember, Message};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/chats", get(list).post(create))
        .route("/api/chats/{id}", get(get_chat).put(update).delete(remove))
        .route("/api/chats/{id}/members", post(add_members))
        .route(
            "/api/chats/{id}/members/{user_id}",
            delete(remove_member).put(set_role),
        )
        .route("/api/chats/{id}/settings", put(update_settings))
        .route("/api/chats/{id}/read", post(mark_read))
        .route("/api/chats/{id}/pins", get(list_pins).post(pin))
        .route("/api/chats/{id}/pins/{message_id}", delete(unpin))
        .route("/api/chats/{id}/messages", get(history).post(send))
}

#[derive(Deserialize, IntoParams)]
struct ListQuery {
    /// true: only archived chats; false: only the others; absent: all.
    archived: Option<bool>,
}

/// GET /api/chats: pinned first, then by last activity.
#[utoipa::path(get, path = "/api/chats", tag = "chats", params(ListQuery),
    responses((status = 200, body = Vec<Chat>), (status = 401)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<Chat>>> {
    Ok(Json(chats::list(&state, &auth, query.archived).await?))
}

/// POST /api/chats: 201 when created; 200 with the existing one-on-one chat.
#[utoipa::path(post, path = "/api/chats", tag = "chats", request_body = CreateChatRequest,
    responses((status = 201, body = Chat), (status = 200, body = Chat), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<CreateChatRequest>,
) -> AppResult<Response> {
    let (chat, created) = chats::create(&state, &auth, request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(chat)).into_response())
}

/// GET /api/chats/:id
#[utoipa::path(get, path = "/api/chats/{id}", tag = "chats", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Chat), (status = 404)), security(("bearer" = [])))]
async fn get_chat(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
) -> AppResult<Json<Chat>> {
    Ok(Json(chats::get(&state, &auth, id).await?))
}

/// PUT /api/chats/:id: group name, description, avatar (admins).
#[utoipa::path(put, path = "/api/chats/{id}", tag = "chats", params(("id" = String, Path, format = Uuid)),
    request_body = UpdateChatRequest,
    responses((status = 200, body = Chat), (status = 400), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn update(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiJson(request): ApiJson<UpdateChatRequest>,
) -> AppResult<Json<Chat>> {
    Ok(Json(chats::update(&state, &auth, id, request).await?))
}

#[derive(Deserialize, IntoParams)]
struct DeleteQuery {
    /// Groups: delete for every member (admins only).
    #[serde(default)]
    everyone: bool,
}

/// DELETE /api/chats/:id: one-on-one: hide for me; group: leave, or delete for everyone.
#[utoipa::path(delete, path = "/api/chats/{id}", tag = "chats", params(("id" = String, Path, format = Uuid), DeleteQuery),
    responses((status = 200, body = MessageResponse), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> AppResult<Json<MessageResponse>> {
    Ok(message(
        chats::delete(&state, &auth, id, query.everyone).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AddMembersRequest {
    #[schema(value_type = Option<String>, format = Uuid)]
    member_id: Option<UserId>,
    #[schema(value_type = Option<Vec<String>>)]
    member_ids: Option<Vec<UserId>>,
}

#[derive(Serialize, ToSchema)]
struct MembersResponse {
    members: Vec<ChatMember>,
}

/// POST /api/chats/:id/members: `{memberId}` answers the member, `{memberIds}` `{members}`.
#[utoipa::path(post, path = "/api/chats/{id}/members", tag = "chats", params(("id" = String, Path, format = Uuid)),
    request_body = AddMembersRequest,
    responses((status = 201, body = MembersResponse), (status = 400), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn add_members(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiJson(request): ApiJson<AddMembersRequest>,
) -> AppResult<Response> {
    let (ids, single) = match (request.member_id, request.member_ids) {
        (Some(one), None) => (vec![one], true),
        (None, Some(many)) => (many, false),
        _ => return Err(AppError::bad_request("Give either memberId or memberIds")),
    };
    let members = chats::add_members(&state, &auth, id, ids).await?;
    if single {
        let member = members
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Conflict("Already a member".into()))?;
        return Ok((StatusCode::CREATED, Json(member)).into_response());
    }
    Ok((StatusCode::CREATED, Json(MembersResponse { members })).into_response())
}

/// DELETE /api/chats/:id/members/:userId: admins remove anyone, anyone removes themselves.
#[utoipa::path(delete, path = "/api/chats/{id}/members/{userId}", tag = "chats",
    params(("id" = String, Path, format = Uuid), ("userId" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, user_id)): ApiPath<(ChatId, UserId)>,
) -> AppResult<Json<MessageResponse>> {
    chats::remove_member(&state, &auth, id, user_id).await?;
    Ok(message("Member removed"))
}

#[derive(Deserialize, ToSchema)]
struct RoleRequest {
    role: MemberRole,
}

/// PUT /api/chats/:id/members/:userId {role} (admins).
#[utoipa::path(put, path = "/api/chats/{id}/members/{userId}", tag = "chats",
    params(("id" = String, Path, format = Uuid), ("userId" = String, Path, format = Uuid)), request_body = RoleRequest,
    responses((status = 200, body = ChatMember), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
async fn set_role(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, user_id)): ApiPath<(ChatId, UserId)>,
    ApiJson(request): ApiJson<RoleRequest>,
) -> AppResult<Json<ChatMember>> {
    Ok(Json(
        chats::set_role(&state, &auth, id, user_id, request.role).await?,
    ))
}

/// PUT /api/chats/:id/settings: the caller's mute, archive, pin.
#[utoipa::path(put, path = "/api/chats/{id}/settings", tag = "chats", params(("id" = String, Path, format = Uuid)),
    request_body = ChatSettingsRequest,
    responses((status = 200, body = Chat), (status = 400), (status = 404)), security(("bearer" = [])))]
async fn update_settings(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiJson(request): ApiJson<ChatSettingsRequest>,
) -> AppResult<Json<Chat>> {
    Ok(Json(
        chats::update_settings(&state, &auth, id, request).await?,
    ))
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReadRequest {
    #[schema(value_type = Option<String>, format = Uuid)]
    message_id: Option<MessageId>,
}

/// POST /api/chats/:id/read {messageId?}
#[utoipa::path(post, path = "/api/chats/{id}/read", tag = "chats", params(("id" = String, Path, format = Uuid)),
    request_body = Option<ReadRequest>,
    responses((status = 200, body = ChatRead), (status = 404)), security(("bearer" = [])))]
async fn mark_read(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    OptionalJson(request): OptionalJson<ReadRequest>,
) -> AppResult<Json<ChatRead>> {
    Ok(Json(
        messages::mark_chat_read(&state, &auth, id, request.message_id).await?,
    ))
}

#[derive(Serialize, ToSchema)]
struct MessagesResponse {
    messages: Vec<Message>,
}

/// GET /api/chats/:id/pins
#[utoipa::path(get, path = "/api/chats/{id}/pins", tag = "chats", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MessagesResponse), (status = 404)), security(("bearer" = [])))]
async fn list_pins(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
) -> AppResult<Json<MessagesResponse>> {
    Ok(Json(MessagesResponse {
        messages: chats::list_pins(&state, &auth, id).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PinRequest {
    #[schema(value_type = String, format = Uuid)]
    message_id: MessageId,
}

/// POST /api/chats/:id/pins {messageId}: 201 when pinned now, 200 when it already was.
#[utoipa::path(post, path = "/api/chats/{id}/pins", tag = "chats", params(("id" = String, Path, format = Uuid)),
    request_body = PinRequest,
    responses((status = 201, body = MessageResponse), (status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn pin(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiJson(request): ApiJson<PinRequest>,
) -> AppResult<Response> {
    let created = chats::set_pin(&state, &auth, id, request.message_id, true).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, message("Message pinned")).into_response())
}

/// DELETE /api/chats/:id/pins/:messageId
#[utoipa::path(delete, path = "/api/chats/{id}/pins/{messageId}", tag = "chats",
    params(("id" = String, Path, format = Uuid), ("messageId" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn unpin(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, message_id)): ApiPath<(ChatId, MessageId)>,
) -> AppResult<Json<MessageResponse>> {
    chats::set_pin(&state, &auth, id, message_id, false).await?;
    Ok(message("Message unpinned"))
}

#[derive(Deserialize, IntoParams)]
struct HistoryQuery {
    /// From a `nextCursor`: older messages, newest first.
    cursor: Option<String>,
    /// A message id: the messages after it, oldest first (gap filling).
    #[param(value_type = Option<String>, format = Uuid)]
    after: Option<String>,
    /// 1 to 100, default 50.
    limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageResponse {
    messages: Vec<Message>,
    next_cursor: Option<String>,
    has_more: bool,
}

impl From<messages::Page> for PageResponse {
    fn from(page: messages::Page) -> Self {
        PageResponse {
            messages: page.messages,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        }
    }
}

/// GET /api/chats/:id/messages
#[utoipa::path(get, path = "/api/chats/{id}/messages", tag = "messages", params(("id" = String, Path, format = Uuid), HistoryQuery),
    responses((status = 200, body = PageResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
async fn history(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> AppResult<Json<PageResponse>> {
    let limit = PageQuery::parse_limit(query.limit.as_deref())?;
    let from = match (query.after, query.cursor) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request(
                "Give either cursor or after, not both",
            ));
        }
        (Some(after), None) => HistoryFrom::After(
            MessageId::parse(&after)
                .ok_or_else(|| AppError::invalid("after", "must be a message id"))?,
        ),
        (None, cursor) => HistoryFrom::Before(cursor),
    };
    Ok(Json(
        messages::history(&state, &auth, id, from, limit)
            .await?
            .into(),
    ))
}

/// POST /api/chats/:id/messages: 201; 200 with the first message when `clientId` repeats.
#[utoipa::path(post, path = "/api/chats/{id}/messages", tag = "messages", params(("id" = String, Path, format = Uuid)),
    request_body = SendRequest,
    responses((status = 201, body = Message), (status = 200, body = Message), (status = 400), (status = 403), (status = 404), (status = 413), (status = 429)),
    security(("bearer" = [])))]
async fn send(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ChatId>,
    ApiJson(request): ApiJson<SendRequest>,
) -> AppResult<Response> {
    let sent = messages::send(&state, &auth, id, request, None).await?;
    let status = if sent.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sent.into_json()?)).into_response())
}
