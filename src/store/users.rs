//! Users: accounts, profiles and privacy settings.

use sqlx::{AssertSqlSafe, FromRow};

use super::{Store, like_escape, placeholders};
use crate::domain::{Timestamp, UserId};

/// The columns of `users`, in the order [`UserRow`] reads them.
pub(super) const USER_COLUMNS: &str = "u.id, u.username, u.email, u.password_hash, \
    u.display_name, u.bio, u.avatar_url, u.role, u.is_active, u.read_receipts, \
    u.last_seen_visibility, u.notifications, u.last_seen_at, u.max_messages_per_day, \
    u.created_at, u.updated_at";

/// One row of `users`.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub role: String,
    pub is_active: i64,
    pub read_receipts: i64,
    pub last_seen_visibility: String,
    pub notifications: i64,
    pub last_seen_at: Option<Timestamp>,
    pub max_messages_per_day: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What registration stores.
pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a str,
    pub username_folded: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub now: Timestamp,
}

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<Option<String>>,
}

/// Privacy and notification settings to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct SettingsUpdate {
    pub read_receipts: Option<bool>,
    pub last_seen_visibility: Option<&'static str>,
    pub notifications: Option<bool>,
}

/// How names are lower-cased for search: here rather than with SQL `lower()`, which folds only
/// ASCII on SQLite, so both backends match the same way.
fn fold(name: &str) -> String {
    name.to_lowercase()
}

impl Store {
    pub async fn insert_user(&self, user: &NewUser<'_>) -> Result<UserRow, sqlx::Error> {
        sqlx::query(
            "INSERT INTO users (id, username, username_folded, email, password_hash, \
             display_name, display_name_folded, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.username_folded)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.display_name)
        .bind(fold(user.display_name))
        .bind(user.role)
        .bind(user.now)
        .execute(&self.writer)
        .await?;
        self.fetch_user_from(&self.writer, user.id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// A user, from the cache when it has them (see [`super::cache`]).
    pub async fn fetch_user(&self, id: UserId) -> Result<Option<UserRow>, sqlx::Error> {
        Ok(self.fetch_users(&[id]).await?.pop())
    }

    async fn fetch_user_from(
        &self,
        pool: &sqlx::AnyPool,
        id: UserId,
    ) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_optional(pool)
        .await
    }

    /// The users with these ids that exist, in no particular order.
    pub async fn fetch_users(&self, ids: &[UserId]) -> Result<Vec<UserRow>, sqlx::Error> {
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.caches.users.get(id) {
                Some(user) => found.push(user),
                None => missing.push(*id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let generation = self.caches.users.generation();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id IN ({})",
            placeholders(1, missing.len())
        );
        let mut query = sqlx::query_as::<_, UserRow>(AssertSqlSafe(sql));
        for id in &missing {
            query = query.bind(*id);
        }
        for user in query.fetch_all(&self.reader).await? {
            self.caches.users.put(generation, user.id, user.clone());
            found.push(user);
        }
        Ok(found)
    }

    /// Finds a user by username (ignoring case) or email (stored lower-case).
    pub async fn fetch_user_by_login(&self, login: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let folded = login.trim().to_lowercase();
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username_folded = $1 OR u.email = $1"
        )))
        .bind(folded)
        .fetch_optional(&self.reader)
        .await
    }

    pub async fn fetch_user_by_email(&self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"
        )))
        .bind(email)
        .fetch_optional(&self.reader)
        .await
    }

    pub async fn username_or_email_taken(
        &self,
        username_folded: &str,
        email: &str,
    ) -> Result<(bool, bool), sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT username_folded, email FROM users WHERE username_folded = $1 OR email = $2",
        )
        .bind(username_folded)
        .bind(email)
        .fetch_all(&self.reader)
        .await?;
        let username = rows.iter().any(|(u, _)| u == username_folded);
        let email = rows.iter().any(|(_, e)| e == email);
        Ok((username, email))
    }

    /// Active users whose username or display name contains `query`, or whose email is exactly
    /// `query`; never the viewer, never someone who blocked the viewer.
    pub async fn search_users(
        &self,
        viewer: UserId,
        query: &str,
        limit: i64,
    ) -> Result<Vec<UserRow>, sqlx::Error> {
        let folded = fold(query.trim());
        let pattern = format!("%{}%", like_escape(&folded));
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u \
             WHERE u.is_active = 1 AND u.id <> $1 \
               AND (u.username_folded LIKE $2 ESCAPE '\\' \
                    OR u.display_name_folded LIKE $2 ESCAPE '\\' OR u.email = $3) \
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $1) \
             ORDER BY (CASE WHEN u.username_folded = $3 OR u.email = $3 THEN 0 \
                            WHEN u.username_folded LIKE $4 ESCAPE '\\' THEN 1 ELSE 2 END), \
                      u.username_folded \
             LIMIT $5"
        )))
        .bind(viewer)
        .bind(pattern)
        .bind(&folded)
        .bind(format!("{}%", like_escape(&folded)))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    pub async fn update_profile(
        &self,
        id: UserId,
        update: &ProfileUpdate,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let (avatar_set, avatar) = match &update.avatar_url {
            Some(value) => (1i64, value.clone()),
            None => (0, None),
        };
        sqlx::query(
            "UPDATE users SET display_name = COALESCE($2, display_name), \
             display_name_folded = COALESCE($7, display_name_folded), bio = COALESCE($3, bio), \
             avatar_url = CASE WHEN $4 = 1 THEN $5 ELSE avatar_url END, updated_at = $6 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(update.display_name.as_deref())
        .bind(update.bio.as_deref())
        .bind(avatar_set)
        .bind(avatar)
        .bind(now)
        .bind(update.display_name.as_deref().map(fold))
        .execute(&self.writer)
        .await?;
        self.caches.users.forget(&id);
        Ok(())
    }

    pub async fn update_settings(
        &self,
        id: UserId,
        update: &SettingsUpdate,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET read_receipts = COALESCE($2, read_receipts), \
             last_seen_visibility = COALESCE($3, last_seen_visibility), \
             notifications = COALESCE($4, notifications), updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(update.read_receipts.map(i64::from))
        .bind(update.last_seen_visibility)
        .bind(update.notifications.map(i64::from))
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.caches.users.forget(&id);
        Ok(())
    }

    pub async fn update_password_hash(
        &self,
        id: UserId,
        hash: &str,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(now)
            .execute(&self.writer)
            .await?;
        self.caches.users.forget(&id);
        Ok(())
    }

    pub async fn update_role(&self, id: UserId, role: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(role)
            .bind(Timestamp::now())
            .execute(&self.writer)
            .await?;
        self.caches.users.forget(&id);
        self.caches.sessions.clear();
        Ok(())
    }

    pub async fn update_last_seen(&self, id: UserId, at: Timestamp) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.writer)
            .await?;
        self.caches.users.forget(&id);
        Ok(())
    }
}
