//! Contacts and blocks.
//!
//! A request goes from `userId` to `contactId` and is `pending` until the receiver accepts it.
//! When both ask each other, the second request accepts the first. Blocking ends any contact or
//! request between the two and stops the blocked person from reaching the blocker; the blocked
//! person is never told.

use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::AuthUser;
use super::presence::Relations;
use crate::app::AppState;
use crate::domain::{ContactId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::realtime::events::{ContactChanged, ContactRequestReceived};
use crate::store::{ContactDirection, ContactRow, UserRow};
use crate::wire::{Contact, ContactRequest, PublicUser};

/// The caller's accepted contacts.
pub async fn list(state: &AppState, auth: &AuthUser) -> AppResult<Vec<Contact>> {
    let rows = state
        .store
        .list_contacts(auth.user_id, "accepted", ContactDirection::Both)
        .await?;
    let relations = Relations::load(state, auth.user_id).await?;
    Ok(rows
        .iter()
        .map(|r| {
            Contact::new(
                &r.contact(),
                PublicUser::new(&r.user, relations.view(state, &r.user)),
            )
        })
        .collect())
}

/// Pending requests the caller received (`Incoming`) or sent (`Outgoing`).
pub async fn list_pending(
    state: &AppState,
    auth: &AuthUser,
    direction: ContactDirection,
) -> AppResult<Vec<ContactRequest>> {
    let rows = state
        .store
        .list_contacts(auth.user_id, "pending", direction)
        .await?;
    let relations = Relations::load(state, auth.user_id).await?;
    Ok(rows
        .iter()
        .map(|r| {
            ContactRequest::new(
                &r.contact(),
                PublicUser::new(&r.user, relations.view(state, &r.user)),
            )
        })
        .collect())
}

/// What `POST /api/contacts` did.
pub enum RequestOutcome {
    Created(Contact),
    Accepted(Contact),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactRequestBody {
    #[schema(value_type = String, format = Uuid)]
    pub contact_id: UserId,
}

/// `POST /api/contacts`: asks someone to be a contact, or accepts their pending request.
pub async fn request(
    state: &AppState,
    auth: &AuthUser,
    target: UserId,
) -> AppResult<RequestOutcome> {
    if target == auth.user_id {
        return Err(AppError::invalid("contactId", "cannot add yourself"));
    }
    let other = super::users::fetch_active(state, target).await?;
    let (i_blocked, they_blocked) = state.store.fetch_block_state(auth.user_id, target).await?;
    if i_blocked {
        return Err(AppError::Forbidden("Unblock this person first".into()));
    }
    if they_blocked {
        return Err(AppError::Forbidden(
            "You cannot send a request to this person".into(),
        ));
    }
    // At most twice: when their request lands between our look-up and our insert, the insert hits
    // the one-row-per-pair index and the second look-up finds their request and accepts it.
    for _ in 0..2 {
        match state
            .store
            .fetch_contact_between(auth.user_id, target)
            .await?
        {
            Some(existing) if existing.status == "accepted" => {
                return Err(AppError::Conflict("You are already contacts".into()));
            }
            Some(existing) if existing.user_id == auth.user_id => break,
            Some(existing) => {
                return accept(state, auth, existing, &other)
                    .await
                    .map(RequestOutcome::Accepted);
            }
            None => {
                if let Some(contact) = create_request(state, auth, &other).await? {
                    return Ok(RequestOutcome::Created(contact));
                }
            }
        }
    }
    Err(AppError::Conflict("Request already sent".into()))
}

/// Inserts a pending request; `None` when a row between the two appeared meanwhile.
async fn create_request(
    state: &AppState,
    auth: &AuthUser,
    other: &UserRow,
) -> AppResult<Option<Contact>> {
    let now = Timestamp::now();
    let row = ContactRow {
        id: ContactId::new(),
        user_id: auth.user_id,
        contact_id: other.id,
        status: "pending".into(),
        created_at: now,
        updated_at: now,
    };
    match state.store.insert_contact(&row).await {
        Err(err) if crate::store::is_unique_violation(&err) => return Ok(None),
        other => other?,
    }
    let me = super::users::fetch_me(state, auth).await?;
    let event = ContactRequestReceived {
        contact_id: row.id,
        user_id: auth.user_id,
        username: me.username,
    };
    state
        .notifier
        .contact_request_received(other.id, &event)
        .await;
    contact_view(state, auth, &row, other).await.map(Some)
}

async fn accept(
    state: &AppState,
    auth: &AuthUser,
    mut row: ContactRow,
    requester: &UserRow,
) -> AppResult<Contact> {
    let now = Timestamp::now();
    state
        .store
        .update_contact_status(row.id, "accepted", now)
        .await?;
    row.status = "accepted".into();
    row.updated_at = now;
    let event = ContactChanged {
        contact_id: Some(row.id),
        user_id: auth.user_id,
    };
    state
        .notifier
        .contact_request_accepted(&[row.user_id, auth.user_id], &event)
        .await;
    contact_view(state, auth, &row, requester).await
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactDecision {
    Accepted,
    Rejected,
    Blocked,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactDecisionBody {
    pub status: ContactDecision,
}

/// `PUT /api/contacts/:id`: the receiver of a request accepts, rejects or blocks.
pub async fn decide(
    state: &AppState,
    auth: &AuthUser,
    id: ContactId,
    decision: ContactDecision,
) -> AppResult<Contact> {
    let row = fetch_mine(state, auth, id).await?;
    if row.contact_id != auth.user_id {
        return Err(AppError::Forbidden(
            "Only the person asked can answer a request".into(),
        ));
    }
    let requester = super::users::fetch_active(state, row.user_id).await?;
    match decision {
        ContactDecision::Accepted if row.status == "accepted" => {
            contact_view(state, auth, &row, &requester).await
        }
        ContactDecision::Accepted => accept(state, auth, row, &requester).await,
        ContactDecision::Rejected => {
            if row.status != "pending" {
                return Err(AppError::Conflict(
                    "Only a pending request can be rejected".into(),
                ));
            }
            state.store.delete_contact(row.id).await?;
            let event = ContactChanged {
                contact_id: Some(row.id),
                user_id: auth.user_id,
            };
            state
                .notifier
                .contact_request_rejected(row.user_id, &event)
                .await;
            let mut row = row;
            row.status = "rejected".into();
            contact_view(state, auth, &row, &requester).await
        }
        ContactDecision::Blocked => {
            block(state, auth, requester.id).await?;
            let mut row = row;
            row.status = "blocked".into();
            contact_view(state, auth, &row, &requester).await
        }
    }
}

/// `DELETE /api/contacts/:id[?block=true]`: either side ends a contact or withdraws a request.
pub async fn remove(
    state: &AppState,
    auth: &AuthUser,
    id: ContactId,
    and_block: bool,
) -> AppResult<()> {
    let row = fetch_mine(state, auth, id).await?;
    let other = if row.user_id == auth.user_id {
        row.contact_id
    } else {
        row.user_id
    };
    if and_block {
        return block(state, auth, other).await.map(|_| ());
    }
    state.store.delete_contact(row.id).await?;
    let event = ContactChanged {
        contact_id: Some(row.id),
        user_id: auth.user_id,
    };
    state
        .notifier
        .contact_removed(&[other, auth.user_id], &event)
        .await;
    Ok(())
}

/// Blocks `target`. Returns false when they were already blocked.
pub async fn block(state: &AppState, auth: &AuthUser, target: UserId) -> AppResult<bool> {
    if target == auth.user_id {
        return Err(AppError::invalid("userId", "cannot block yourself"));
    }
    fetch_any(state, target).await?;
    let existing = state
        .store
        .fetch_contact_between(auth.user_id, target)
        .await?;
    let inserted = state
        .store
        .insert_block(auth.user_id, target, Timestamp::now())
        .await?;
    // Only the blocker's own devices hear of it; the blocked person's list just loses the
    // contact, as if it had been removed.
    let event = ContactChanged {
        contact_id: existing.as_ref().map(|c| c.id),
        user_id: target,
    };
    state.notifier.contact_blocked(auth.user_id, &event).await;
    if let Some(contact) = existing {
        let removed = ContactChanged {
            contact_id: Some(contact.id),
            user_id: auth.user_id,
        };
        state.notifier.contact_removed(&[target], &removed).await;
    }
    Ok(inserted)
}

/// `DELETE /api/blocks/:userId`.
pub async fn unblock(state: &AppState, auth: &AuthUser, target: UserId) -> AppResult<()> {
    if !state.store.delete_block(auth.user_id, target).await? {
        return Err(AppError::not_found("Block"));
    }
    Ok(())
}

/// `GET /api/blocks`.
pub async fn list_blocks(
    state: &AppState,
    auth: &AuthUser,
) -> AppResult<Vec<(PublicUser, Timestamp)>> {
    let rows = state.store.list_blocks(auth.user_id).await?;
    let relations = Relations::load(state, auth.user_id).await?;
    Ok(rows
        .iter()
        .map(|b| {
            (
                PublicUser::new(&b.user, relations.view(state, &b.user)),
                b.blocked_at,
            )
        })
        .collect())
}

async fn contact_view(
    state: &AppState,
    auth: &AuthUser,
    row: &ContactRow,
    other: &UserRow,
) -> AppResult<Contact> {
    let relations = Relations::load(state, auth.user_id).await?;
    Ok(Contact::new(
        row,
        PublicUser::new(other, relations.view(state, other)),
    ))
}

/// A contact row the caller is part of; anyone else's is "not found".
async fn fetch_mine(state: &AppState, auth: &AuthUser, id: ContactId) -> AppResult<ContactRow> {
    state
        .store
        .fetch_contact(id)
        .await?
        .filter(|c| c.user_id == auth.user_id || c.contact_id == auth.user_id)
        .ok_or_else(|| AppError::not_found("Contact"))
}

async fn fetch_any(state: &AppState, id: UserId) -> AppResult<UserRow> {
    state
        .store
        .fetch_user(id)
        .await?
        .ok_or_else(|| AppError::not_found("User"))
}
