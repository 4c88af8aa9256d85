//! Sessions, their rotating refresh tokens, and password-reset tokens.

use sqlx::FromRow;

use super::Store;
use crate::domain::{SessionId, Timestamp, UserId};

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub user_agent: String,
    pub ip: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The token was current: it is now used and `new_hash` is the session's token.
    Rotated {
        session_id: SessionId,
        user_id: UserId,
    },
    /// The token had been used before: the whole session was revoked.
    Replayed {
        session_id: SessionId,
        user_id: UserId,
    },
    /// Unknown, expired, or its session is revoked or its user inactive.
    Invalid,
}

#[derive(FromRow)]
struct TokenLookup {
    session_id: SessionId,
    user_id: UserId,
    used_at: Option<Timestamp>,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
    is_active: i64,
}

impl Store {
    pub async fn insert_session(
        &self,
        session: &SessionRow,
        refresh_hash: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(session.id)
        .bind(session.user_id)
        .bind(&session.user_agent)
        .bind(&session.ip)
        .bind(session.created_at)
        .bind(session.last_used_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        insert_refresh(&mut tx, refresh_hash, session.id, session.created_at).await?;
        tx.commit().await
    }

    /// Whether the session exists, is not revoked or expired, and its user is active.
    pub async fn fetch_live_session(
        &self,
        id: SessionId,
        now: Timestamp,
    ) -> Result<Option<(UserId, String)>, sqlx::Error> {
        if let Some(hit) = self.caches.sessions.get(&id) {
            return Ok(Some(hit));
        }
        let generation = self.caches.sessions.generation();
        let live: Option<(UserId, String)> = sqlx::query_as(
            "SELECT s.user_id, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.is_active = 1",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        if let Some(live) = &live {
            self.caches.sessions.put(generation, id, live.clone());
        }
        Ok(live)
    }

    pub async fn list_sessions(&self, user: UserId) -> Result<Vec<SessionRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, user_id, user_agent, ip, created_at, last_used_at, expires_at, revoked_at \
             FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY last_used_at DESC",
        )
        .bind(user)
        .bind(Timestamp::now())
        .fetch_all(&self.reader)
        .await
    }

    /// Presents a refresh token: rotates it, or detects its replay and revokes the session.
    pub async fn rotate_refresh_token(
        &self,
        hash: &str,
        new_hash: &str,
        now: Timestamp,
    ) -> Result<RefreshOutcome, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let found: Option<TokenLookup> = sqlx::query_as(
            "SELECT t.session_id, s.user_id, t.used_at, s.expires_at, s.revoked_at, u.is_active \
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
             JOIN users u ON u.id = s.user_id WHERE t.token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(token) = found else {
            return Ok(RefreshOutcome::Invalid);
        };
        if token.revoked_at.is_some() || token.expires_at <= now || token.is_active == 0 {
            return Ok(RefreshOutcome::Invalid);
        }
        if token.used_at.is_some() {
            revoke_session_in(&mut tx, token.session_id, now).await?;
            tx.commit().await?;
            self.caches.sessions.forget(&token.session_id);
            return Ok(RefreshOutcome::Replayed {
                session_id: token.session_id,
                user_id: token.user_id,
            });
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1")
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE id = $1")
            .bind(token.session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        insert_refresh(&mut tx, new_hash, token.session_id, now).await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated {
            session_id: token.session_id,
            user_id: token.user_id,
        })
    }

    /// The session a refresh token belongs to, if it is that user's and still live.
    pub async fn fetch_session_of_refresh(
        &self,
        hash: &str,
    ) -> Result<Option<SessionId>, sqlx::Error> {
        sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await
    }

    /// Revokes one session of `user`; false when it is not theirs or already revoked.
    pub async fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(user)
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.caches.sessions.forget(&id);
        Ok(done.rows_affected() > 0)
    }

    /// Revokes every live session of `user` but `keep`; returns the ids revoked.
    pub async fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: Timestamp,
    ) -> Result<Vec<SessionId>, sqlx::Error> {
        let keep = keep.map(|k| k.to_string()).unwrap_or_default();
        let revoked = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $3 \
             WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(user)
        .bind(keep)
        .bind(now)
        .fetch_all(&self.writer)
        .await;
        self.caches.sessions.clear();
        revoked
    }

    pub async fn insert_password_reset(
        &self,
        user: UserId,
        hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash)
        .bind(user)
        .bind(now)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Uses a reset token once: sets the new password hash, spends every open reset token of
    /// the user and revokes all their sessions, atomically. Returns the user and the revoked
    /// sessions, or `None` when the token is unknown, used or expired.
    pub async fn consume_password_reset(
        &self,
        hash: &str,
        new_password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(UserId, Vec<SessionId>)>, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let user: Option<UserId> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(user)
            .bind(new_password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let revoked: Vec<SessionId> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
        )
        .bind(user)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        self.caches.sessions.clear();
        self.caches.users.forget(&user);
        Ok(Some((user, revoked)))
    }
}

async fn insert_refresh(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    hash: &str,
    session: SessionId,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(hash)
    .bind(session)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn revoke_session_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session: SessionId,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
