//! Access tokens: HS256 JWTs tied to a session (passwords are in [`super::passwords`]).
//!
//! Access tokens carry the session id; every request checks that session in the store,
//! which is what makes logout, password changes and deactivation take effect at once.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{SessionId, Timestamp, UserId};
use crate::error::{AppError, AppResult};

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
}
