//! `/api/contacts` and `/api/blocks`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::{delete, get, put};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{MessageResponse, message};
use crate::app::AppState;
use crate::domain::{ContactId, Timestamp, UserId};
use crate::error::AppResult;
use crate::service::accounts::AuthUser;
use crate::service::contacts::{self, ContactDecisionBody, ContactRequestBody, RequestOutcome};
use crate::store::ContactDirection;
use crate::wire::{Contact, ContactRequest, PublicUser};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/contacts", get(list).post(request))
        .route("/api/contacts/pending", get(pending))
        .route("/api/contacts/sent", get(sent))
        .route("/api/contacts/{id}", put(decide).delete(remove))
        .route("/api/blocks", get(list_blocks).post(block))
        .route("/api/blocks/{user_id}", delete(unblock))
}

#[derive(Serialize, ToSchema)]
struct ContactsResponse {
    contacts: Vec<Contact>,
}

#[derive(Serialize, ToSchema)]
struct RequestsResponse {
    requests: Vec<ContactRequest>,
}

#[derive(Serialize, ToSchema)]
struct ContactResponse {
    message: &'static str,
    contact: Contact,
}

/// GET /api/contacts
#[utoipa::path(get, path = "/api/contacts", tag = "contacts",
    responses((status = 200, body = ContactsResponse), (status = 401)), security(("bearer" = [])))]
async fn list(State(state): State<AppState>, auth: AuthUser) -> AppResult<Json<ContactsResponse>> {
    let contacts = contacts::list(&state, &auth).await?;
    Ok(Json(ContactsResponse { contacts }))
}

/// GET /api/contacts/pending
#[utoipa::path(get, path = "/api/contacts/pending", tag = "contacts",
    responses((status = 200, body = RequestsResponse), (status = 401)), security(("bearer" = [])))]
async fn pending(
    State(state): State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<RequestsResponse>> {
    let requests = contacts::list_pending(&state, &auth, ContactDirection::Incoming).await?;
    Ok(Json(RequestsResponse { requests }))
}

/// GET /api/contacts/sent (an addition: requests the caller sent, `user` is the person asked)
#[utoipa::path(get, path = "/api/contacts/sent", tag = "contacts",
    responses((status = 200, body = RequestsResponse), (status = 401)), security(("bearer" = [])))]
async fn sent(State(state): State<AppState>, auth: AuthUser) -> AppResult<Json<RequestsResponse>> {
    let requests = contacts::list_pending(&state, &auth, ContactDirection::Outgoing).await?;
    Ok(Json(RequestsResponse { requests }))
}

/// POST /api/contacts
#[utoipa::path(post, path = "/api/contacts", tag = "contacts", request_body = ContactRequestBody,
    responses((status = 201, body = ContactResponse), (status = 200, body = ContactResponse, description = "their request to me was accepted"),
        (status = 400), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
async fn request(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<ContactRequestBody>,
) -> AppResult<impl IntoResponse> {
    let response = match contacts::request(&state, &auth, body.contact_id).await? {
        RequestOutcome::Created(contact) => (
            StatusCode::CREATED,
            Json(ContactResponse {
                message: "Contact request sent",
                contact,
            }),
        ),
        RequestOutcome::Accepted(contact) => (
            StatusCode::OK,
            Json(ContactResponse {
                message: "Contact request accepted",
                contact,
            }),
        ),
    };
    Ok(response)
}

/// PUT /api/contacts/:id
#[utoipa::path(put, path = "/api/contacts/{id}", tag = "contacts", request_body = ContactDecisionBody,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ContactResponse), (status = 400), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn decide(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(body): ApiJson<ContactDecisionBody>,
) -> AppResult<Json<ContactResponse>> {
    let contact = contacts::decide(&state, &auth, id, body.status).await?;
    let message = match contact.status.as_str() {
        "accepted" => "Contact request accepted",
        "rejected" => "Contact request rejected",
        _ => "User blocked",
    };
    Ok(Json(ContactResponse { message, contact }))
}

#[derive(Deserialize, IntoParams)]
struct RemoveQuery {
    /// Also block the other person.
    #[serde(default)]
    block: bool,
}

/// DELETE /api/contacts/:id
#[utoipa::path(delete, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, format = Uuid), RemoveQuery),
    responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ContactId>,
    ApiQuery(query): ApiQuery<RemoveQuery>,
) -> AppResult<Json<MessageResponse>> {
    contacts::remove(&state, &auth, id, query.block).await?;
    Ok(message(if query.block {
        "Contact removed and blocked"
    } else {
        "Contact removed"
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BlockEntry {
    user: PublicUser,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
struct BlocksResponse {
    blocks: Vec<BlockEntry>,
}

/// GET /api/blocks
#[utoipa::path(get, path = "/api/blocks", tag = "contacts",
    responses((status = 200, body = BlocksResponse), (status = 401)), security(("bearer" = [])))]
async fn list_blocks(
    State(state): State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<BlocksResponse>> {
    let blocks = contacts::list_blocks(&state, &auth)
        .await?
        .into_iter()
        .map(|(user, created_at)| BlockEntry { user, created_at })
        .collect();
    Ok(Json(BlocksResponse { blocks }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BlockRequest {
    #[schema(value_type = String, format = Uuid)]
    user_id: UserId,
}

/// POST /api/blocks: 201 when a block is created, 200 when it already existed.
#[utoipa::path(post, path = "/api/blocks", tag = "contacts", request_body = BlockRequest,
    responses((status = 201, body = MessageResponse), (status = 200, body = MessageResponse), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn block(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<BlockRequest>,
) -> AppResult<impl IntoResponse> {
    let created = contacts::block(&state, &auth, body.user_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, message("User blocked")))
}

/// DELETE /api/blocks/:userId
#[utoipa::path(delete, path = "/api/blocks/{userId}", tag = "contacts",
    params(("userId" = String, Path, format = Uuid)),
    responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
async fn unblock(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(user_id): ApiPath<UserId>,
) -> AppResult<Json<MessageResponse>> {
    contacts::unblock(&state, &auth, user_id).await?;
    Ok(message("User unblocked"))
}
