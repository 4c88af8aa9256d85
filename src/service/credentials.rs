//! Password hashing (argon2id) and access tokens (HS256 JWTs tied to a session).
//!
//! Hashing is CPU-heavy by design, so it runs on the blocking thread pool, never on the async
//! workers. Access tokens carry the session id; every request checks that session in the store,
//! which is what makes logout, password changes and deactivation take effect at once.

use std::sync::{Arc, LazyLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{SessionId, Timestamp, UserId};
use crate::error::{AppError, AppResult};

/// argon2id with 19 MiB of memory, 2 passes, 1 lane (OWASP's recommended minimum).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a password nobody has, verified against when the account does not exist so that
/// unknown users and wrong passwords take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(b"no account has this password")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// Checks `password` against `hash`; with no hash, burns the same time and says no.
pub async fn verify_password(hash: Option<String>, password: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&hash)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && ok
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub sid: SessionId,
    pub iat: i64,
    pub exp: i64,
    /// Always `access`: a token minted for another purpose is refused.
    pub typ: String,
}

/// Mints and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    inner: Arc<Keys>,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl TokenKeys {
    pub fn new(secret: &str, ttl_secs: u64) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(secret.as_bytes()),
                decoding: DecodingKey::from_secret(secret.as_bytes()),
                validation,
                ttl_secs,
            }),
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.inner.ttl_secs
    }

    pub fn issue(&self, user: UserId, session: SessionId) -> AppResult<String> {
        let now = Timestamp::now();
        let claims = AccessClaims {
            sub: user,
            sid: session,
            iat: now.millis() / 1000,
            exp: now.plus_secs(self.inner.ttl_secs).millis() / 1000,
            typ: "access".into(),
        };
        jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .map_err(|e| AppError::Internal(e.into()))
    }

    /// Verifies signature, algorithm, expiry and purpose.
    pub fn verify(&self, token: &str) -> AppResult<AccessClaims> {
        let data = jsonwebtoken::decode::<AccessClaims>(
            token,
            &self.inner.decoding,
            &self.inner.validation,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AppError::TokenExpired,
            _ => AppError::Unauthorized("Invalid access token".into()),
        })?;
        if data.claims.typ != "access" {
            return Err(AppError::Unauthorized("Invalid access token".into()));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let keys = TokenKeys::new("k1", 60);
        let token = keys.issue(UserId::new(), SessionId::new()).expect("issue");
        assert!(keys.verify(&token).is_ok());
        let other = TokenKeys::new("k2", 60);
        assert!(matches!(
            other.verify(&token),
            Err(AppError::Unauthorized(_))
        ));
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password(Some(hash.clone()), "correct horse".into())
                .await
                .unwrap_or(false)
        );
        assert!(
            !verify_password(Some(hash), "wrong".into())
                .await
                .unwrap_or(true)
        );
        assert!(
            !verify_password(None, "correct horse".into())
                .await
                .unwrap_or(true)
        );
    }
}
