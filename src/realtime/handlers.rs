//! The handlers of the event table in [`super::register_events`]: each parses nothing itself
//! (the payload arrives typed), calls one service function and returns the ack payload.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Caller;
use crate::app::AppState;
use crate::domain::{ChatId, MessageId, PresenceStatus};
use crate::error::{AppError, AppResult};
use crate::service::messages::{self, DeleteScope, SendRequest};
use crate::service::{chats, presence, typing};
use crate::wire::{Message, ReactionGroup};

/// `{ok: true}`: the ack of events that return nothing else.
#[derive(Debug, Serialize)]
pub struct Done {
    ok: bool,
}

const DONE: Done = Done { ok: true };

/// `{message}`.
#[derive(Debug, Serialize)]
pub struct MessageAck {
    message: Message,
}

/// `{message}`, with the message as the JSON text already sent in `new_message`.
#[derive(Debug, Serialize)]
pub struct SentAck {
    message: Box<RawValue>,
}

/// `{chatId, ...SendRequest}`, spelled out: `#[serde(flatten)]` would buffer every field through
/// serde's generic content first, measurably on the hottest event (docs/BENCHMARKS.md, session 5).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    chat_id: ChatId,
    content: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    file_id: Option<String>,
    file_url: Option<String>,
    reply_to_id: Option<MessageId>,
    client_id: Option<String>,
}

impl SendMessage {
    fn into_request(self) -> (ChatId, SendRequest) {
        let request = SendRequest {
            content: self.content,
            kind: self.kind,
            file_id: self.file_id,
            file_url: self.file_url,
            reply_to_id: self.reply_to_id,
            client_id: self.client_id,
        };
        (self.chat_id, request)
    }
}

/// `send_message`: acked once the message is committed.
pub async fn send_message(
    state: AppState,
    caller: Caller,
    payload: SendMessage,
) -> AppResult<SentAck> {
    let (chat, request) = payload.into_request();
    let sent = messages::send(&state, &caller.user, chat, request, Some(caller.socket)).await?;
    Ok(SentAck {
        message: sent.into_json()?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditMessage {
    message_id: MessageId,
    content: String,
}

/// `edit_message`.
pub async fn edit_message(
    state: AppState,
    caller: Caller,
    payload: EditMessage,
) -> AppResult<MessageAck> {
    let message =
        messages::edit(&state, &caller.user, payload.message_id, &payload.content).await?;
    Ok(MessageAck { message })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteMessage {
    message_id: MessageId,
    scope: Option<DeleteScope>,
}

/// `delete_message`.
pub async fn delete_message(
    state: AppState,
    caller: Caller,
    payload: DeleteMessage,
) -> AppResult<Done> {
    let scope = payload.scope.unwrap_or(DeleteScope::Me);
    messages::delete(&state, &caller.user, payload.message_id, scope).await?;
    Ok(DONE)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct React {
    message_id: MessageId,
    emoji: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ReactionsAck {
    reactions: Vec<ReactionGroup>,
}

/// `react`: `emoji: null` removes the caller's reaction.
pub async fn react(state: AppState, caller: Caller, payload: React) -> AppResult<ReactionsAck> {
    let reactions = messages::react(
        &state,
        &caller.user,
        payload.message_id,
        payload.emoji.as_deref(),
    )
    .await?;
    Ok(ReactionsAck { reactions })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRef {
    chat_id: ChatId,
}

/// `typing_start`.
pub async fn typing_start(state: AppState, caller: Caller, payload: ChatRef) -> AppResult<Done> {
    typing::start(&state, &caller.user, payload.chat_id).await?;
    Ok(DONE)
}

/// `typing_stop`.
pub async fn typing_stop(state: AppState, caller: Caller, payload: ChatRef) -> AppResult<Done> {
    typing::stop(&state, &caller.user, payload.chat_id).await?;
    Ok(DONE)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    message_id: MessageId,
}

/// `mark_read`: this message and all before it.
pub async fn mark_read(state: AppState, caller: Caller, payload: MessageRef) -> AppResult<Done> {
    messages::mark_read(&state, &caller.user, payload.message_id).await?;
    Ok(DONE)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRefs {
    message_ids: Vec<MessageId>,
}

/// `mark_delivered`.
pub async fn mark_delivered(
    state: AppState,
    caller: Caller,
    payload: MessageRefs,
) -> AppResult<Done> {
    messages::delivered(&state, &caller.user, &payload.message_ids).await?;
    Ok(DONE)
}

/// `join_chat`: a member's sockets get the chat's events anyway; this only checks membership
/// (the chat is "open" on that socket).
pub async fn join_chat(state: AppState, caller: Caller, payload: ChatRef) -> AppResult<Done> {
    chats::membership(&state, caller.user.user_id, payload.chat_id).await?;
    Ok(DONE)
}

/// `leave_chat`.
pub async fn leave_chat(state: AppState, caller: Caller, payload: ChatRef) -> AppResult<Done> {
    chats::membership(&state, caller.user.user_id, payload.chat_id).await?;
    Ok(DONE)
}

#[derive(Debug, Deserialize)]
pub struct PresenceSet {
    status: PresenceStatus,
}

/// `presence_set {status: online|away}`.
pub async fn presence_set(
    state: AppState,
    caller: Caller,
    payload: PresenceSet,
) -> AppResult<Done> {
    if payload.status == PresenceStatus::Offline {
        return Err(AppError::invalid("status", "must be online or away"));
    }
    presence::set_status(&state, caller.user.user_id, payload.status).await?;
    Ok(DONE)
}
