//! Accounts and sessions: register, log in, rotate refresh tokens, log out, change and reset
//! passwords, list and revoke sessions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::passwords::{hash_password, verify_password};
use super::users::me_view;
use crate::app::AppState;
use crate::domain::{
    DisplayName, Email, Password, Role, SessionId, Timestamp, UserId, Username, random_token,
    token_hash,
};
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::store::{NewUser, RefreshOutcome, SessionRow, UserRow};
use crate::wire::Me;

/// Who is calling: established by the access token and a live session.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
}

/// Where a request came from, recorded on its session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email: Option<String>,
    pub username: Option<String>,
    pub login: Option<String>,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub user: Me,
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    #[schema(value_type = String, format = Uuid)]
    pub id: SessionId,
    pub user_agent: String,
    pub ip: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: Timestamp,
    pub current: bool,
}

/// `POST /api/auth/register`.
pub async fn register(
    state: &AppState,
    request: RegisterRequest,
    client: ClientInfo,
) -> AppResult<AuthResponse> {
    let username = Username::parse(&request.username)?;
    let email = Email::parse(&request.email)?;
    let password = Password::parse(&request.password, "password")?;
    let display_name = match request.display_name.as_deref() {
        Some(name) => DisplayName::parse(name)?.into_inner(),
        None => username.as_str().to_owned(),
    };
    let user = insert_account(
        state,
        &username,
        &email,
        &password,
        &display_name,
        Role::User,
    )
    .await?;
    let (access_token, refresh_token) = open_session(state, user.id, &client).await?;
    Ok(AuthResponse {
        user: me_view(state, &user),
        access_token,
        refresh_token,
    })
}

/// Stores a new account after checking its name and address are free.
async fn insert_account(
    state: &AppState,
    username: &Username,
    email: &Email,
    password: &Password,
    display_name: &str,
    role: Role,
) -> AppResult<UserRow> {
    ensure_available(state, username, email).await?;
    let hash = hash_password(password.expose().to_owned()).await?;
    let new = NewUser {
        id: UserId::new(),
        username: username.as_str(),
        username_folded: &username.folded(),
        email: email.as_str(),
        password_hash: &hash,
        display_name,
        role: role.as_str(),
        now: Timestamp::now(),
    };
    state.store.insert_user(&new).await.map_err(|err| {
        if crate::store::is_unique_violation(&err) {
            AppError::Conflict("Username or email is already registered".into())
        } else {
            err.into()
        }
    })
}

async fn ensure_available(state: &AppState, username: &Username, email: &Email) -> AppResult<()> {
    let (username_taken, email_taken) = state
        .store
        .username_or_email_taken(&username.folded(), email.as_str())
        .await?;
    if username_taken {
        return Err(AppError::Conflict("Username is already taken".into()));
    }
    if email_taken {
        return Err(AppError::Conflict("Email is already registered".into()));
    }
    Ok(())
}

/// `POST /api/auth/login`: the same answer for an unknown account and a wrong password.
pub async fn login(
    state: &AppState,
    request: LoginRequest,
    client: ClientInfo,
) -> AppResult<AuthResponse> {
    let login = request
        .login
        .or(request.email)
        .or(request.username)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| AppError::invalid("login", "email, username or login is required"))?;
    // No account name holds a control character (and PostgreSQL text cannot hold a NUL).
    if login.len() > 320 || login.contains(char::is_control) || request.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    let user = state.store.fetch_user_by_login(&login).await?;
    // Counted per account, whichever name (username or email, any case) the attempts use.
    let account_key = match &user {
        Some(user) => user.username.to_lowercase(),
        None => login.trim().to_lowercase(),
    };
    state.throttles.failed_logins.check(&account_key)?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = verify_password(hash, request.password).await?;
    let user = match user {
        Some(user) if verified && user.is_active != 0 => user,
        _ => {
            state.throttles.failed_logins.record(&account_key);
            return Err(invalid_credentials());
        }
    };
    state.throttles.failed_logins.clear(&account_key);
    let (access_token, refresh_token) = open_session(state, user.id, &client).await?;
    Ok(AuthResponse {
        user: me_view(state, &user),
        access_token,
        refresh_token,
    })
}

fn invalid_credentials() -> AppError {
    AppError::Unauthorized("Invalid credentials".into())
}

async fn open_session(
    state: &AppState,
    user: UserId,
    client: &ClientInfo,
) -> AppResult<(String, String)> {
    let now = Timestamp::now();
    let session = SessionRow {
        id: SessionId::new(),
        user_id: user,
        user_agent: client.user_agent.chars().take(512).collect(),
        ip: client.ip.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: now.plus_secs(state.config.auth.refresh_token_ttl_days * 86_400),
        revoked_at: None,
    };
    let refresh_token = random_token(32);
    state
        .store
        .insert_session(&session, &token_hash(&refresh_token))
        .await?;
    let access_token = state.tokens.issue(user, session.id)?;
    Ok((access_token, refresh_token))
}

/// `POST /api/auth/refresh`: rotates the token; a replayed one revokes its whole session.
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<TokenPair> {
    if refresh_token.is_empty() || refresh_token.len() > 256 {
        return Err(AppError::Unauthorized("Invalid refresh token".into()));
    }
    let next = random_token(32);
    let outcome = state
        .store
        .rotate_refresh_token(
            &token_hash(refresh_token),
            &token_hash(&next),
            Timestamp::now(),
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated {
            session_id,
            user_id,
        } => Ok(TokenPair {
            access_token: state.tokens.issue(user_id, session_id)?,
            refresh_token: next,
        }),
        RefreshOutcome::Replayed { session_id, .. } => {
            tracing::warn!(session = %session_id, "refresh token replayed; session revoked");
            state
                .notifier
                .sessions_revoked(&[session_id], "refresh_token_reused")
                .await;
            Err(AppError::Unauthorized(
                "Refresh token was already used; the session has been revoked".into(),
            ))
        }
        RefreshOutcome::Invalid => Err(AppError::Unauthorized("Invalid refresh token".into())),
    }
}

/// `POST /api/auth/logout`: ends the caller's session (and the one of `refresh_token`, when it
/// is also theirs).
pub async fn logout(
    state: &AppState,
    auth: &AuthUser,
    refresh_token: Option<&str>,
) -> AppResult<()> {
    let mut sessions = vec![auth.session_id];
    if let Some(token) = refresh_token.filter(|t| !t.is_empty() && t.len() <= 256)
        && let Some(other) = state
            .store
            .fetch_session_of_refresh(&token_hash(token))
            .await?
        && other != auth.session_id
    {
        sessions.push(other);
    }
    let now = Timestamp::now();
    let mut revoked = Vec::new();
    for session in sessions {
        if state
            .store
            .revoke_session(auth.user_id, session, now)
            .await?
        {
            revoked.push(session);
        }
    }
    state.notifier.sessions_revoked(&revoked, "logout").await;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    pub logout_other_sessions: Option<bool>,
}

/// `PUT /api/auth/password`.
pub async fn change_password(
    state: &AppState,
    auth: &AuthUser,
    request: ChangePasswordRequest,
) -> AppResult<()> {
    let new_password = Password::parse(&request.new_password, "newPassword")?;
    let user = state
        .store
        .fetch_user(auth.user_id)
        .await?
        .ok_or_else(|| AppError::Unauthorized("Account no longer exists".into()))?;
    let account_key = user.username.to_lowercase();
    state.throttles.failed_logins.check(&account_key)?;
    if !verify_password(Some(user.password_hash), request.current_password).await? {
        state.throttles.failed_logins.record(&account_key);
        return Err(AppError::invalid("currentPassword", "is not correct"));
    }
    let hash = hash_password(new_password.expose().to_owned()).await?;
    let now = Timestamp::now();
    state
        .store
        .update_password_hash(auth.user_id, &hash, now)
        .await?;
    if request.logout_other_sessions.unwrap_or(true) {
        let revoked = state
            .store
            .revoke_user_sessions(auth.user_id, Some(auth.session_id), now)
            .await?;
        state
            .notifier
            .sessions_revoked(&revoked, "password_changed")
            .await;
    }
    Ok(())
}

/// `POST /api/auth/password/forgot`: mails a reset link when the address has an account; the
/// answer never says which.
pub async fn forgot_password(state: &AppState, email: &str) -> AppResult<()> {
    let email = Email::parse(email)?;
    state.throttles.reset_mails.check(email.as_str())?;
    state.throttles.reset_mails.record(email.as_str());
    let Some(user) = state.store.fetch_user_by_email(email.as_str()).await? else {
        return Ok(());
    };
    if user.is_active == 0 {
        return Ok(());
    }
    let token = random_token(32);
    let now = Timestamp::now();
    let ttl_mins = state.config.auth.password_reset_ttl_mins.clamp(1, 30);
    let expires = now.plus_secs(ttl_mins * 60);
    state
        .store
        .insert_password_reset(user.id, &token_hash(&token), now, expires)
        .await?;
    let link = format!(
        "{}/#/reset-password?token={token}",
        state.config.http.public_url.trim_end_matches('/')
    );
    let mail = Mail {
        to: user.email.clone(),
        subject: "Reset your letschat password".into(),
        body: format!(
            "Hello {},\n\nSomeone asked to reset the password of your letschat account.\n\
             Open this link within {ttl_mins} minutes to choose a new one:\n\n{link}\n\n\
             Reset code: {token}\n\nIf it was not you, ignore this mail; your password stays as it is.\n",
            user.display_name
        ),
    };
    // Sent in the background: how long the request takes must not tell whether the account exists.
    let mailer = state.mailer.clone();
    tokio::spawn(async move {
        if let Err(err) = mailer.send(mail).await {
            tracing::error!(error = %err, "password reset mail failed");
        }
    });
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    pub token: String,
    pub new_password: String,
}

/// `POST /api/auth/password/reset`: sets the password and revokes every session of the user.
pub async fn reset_password(state: &AppState, request: ResetPasswordRequest) -> AppResult<()> {
    let password = Password::parse(&request.new_password, "newPassword")?;
    if request.token.is_empty() || request.token.len() > 256 {
        return Err(AppError::invalid("token", "is invalid or expired"));
    }
    let hash = hash_password(password.expose().to_owned()).await?;
    let consumed = state
        .store
        .consume_password_reset(&token_hash(&request.token), &hash, Timestamp::now())
        .await?;
    let Some((_user, revoked)) = consumed else {
        return Err(AppError::invalid("token", "is invalid or expired"));
    };
    state
        .notifier
        .sessions_revoked(&revoked, "password_reset")
        .await;
    Ok(())
}

/// `GET /api/auth/sessions`.
pub async fn list_sessions(state: &AppState, auth: &AuthUser) -> AppResult<Vec<SessionView>> {
    let rows = state.store.list_sessions(auth.user_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionView {
            current: row.id == auth.session_id,
            id: row.id,
            user_agent: row.user_agent,
            ip: row.ip,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect())
}

/// `DELETE /api/auth/sessions/:id`: only the caller's own sessions.
pub async fn revoke_session(state: &AppState, auth: &AuthUser, id: SessionId) -> AppResult<()> {
    if !state
        .store
        .revoke_session(auth.user_id, id, Timestamp::now())
        .await?
    {
        return Err(AppError::not_found("Session"));
    }
    state
        .notifier
        .sessions_revoked(&[id], "session_revoked")
        .await;
    Ok(())
}

/// Resolves an access token into a caller, checking that its session is live.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<AuthUser> {
    let claims = state.tokens.verify(token)?;
    let live = state
        .store
        .fetch_live_session(claims.sid, Timestamp::now())
        .await?;
    match live {
        Some((user_id, role)) if user_id == claims.sub => Ok(AuthUser {
            user_id,
            session_id: claims.sid,
            role: Role::from_db(&role),
        }),
        _ => Err(AppError::Unauthorized("Session is no longer valid".into())),
    }
}

/// Creates an admin account, or promotes an existing one (`letschat admin …`).
pub async fn create_admin(
    state: &AppState,
    username: &str,
    email: &str,
    password: &str,
) -> AppResult<UserId> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?;
    let password = Password::parse(password, "password")?;
    let user = insert_account(
        state,
        &username,
        &email,
        &password,
        username.as_str(),
        Role::Admin,
    )
    .await?;
    Ok(user.id)
}

/// Gives an existing account the admin role.
pub async fn promote_admin(state: &AppState, login: &str) -> AppResult<UserId> {
    let user = state
        .store
        .fetch_user_by_login(login)
        .await?
        .ok_or_else(|| AppError::not_found("User"))?;
    state
        .store
        .update_role(user.id, Role::Admin.as_str())
        .await?;
    Ok(user.id)
}
