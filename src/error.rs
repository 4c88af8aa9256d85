//! The one error type clients see, mapped to a status code and a stable `code` in one place.
//!
//! Handlers and services return `AppError`; HTTP responses and Socket.IO acks render it with the
//! same JSON shape: `{"error": "...", "code": "...", "details": [...]}`. Internal failures are
//! logged with their cause and answered with a generic sentence, never the cause itself.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem with one field of the input.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Everything that can go wrong in a request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("Access token expired")]
    TokenExpired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A `Range` outside the file; `size` goes into `Content-Range: bytes */size`.
    #[error("The requested range is outside the file")]
    RangeNotSatisfiable { size: u64 },
    #[error("Too many requests, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A 400 about one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Validation {
            message: format!("{field}: {message}"),
            details: vec![FieldError {
                field: field.to_owned(),
                message,
            }],
        }
    }

    /// A 400 about the request as a whole.
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::Validation {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) | AppError::TokenExpired => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::RateLimited { .. } | AppError::QuotaExceeded(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "validation_failed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::TokenExpired => "token_expired",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::QuotaExceeded(_) => "quota_exceeded",
            AppError::Internal(_) => "internal",
        }
    }

    /// The body sent to the client; logs the cause of internal errors on the way.
    pub fn body(&self) -> ErrorBody {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
        let details = match self {
            AppError::Validation { details, .. } => details.clone(),
            _ => Vec::new(),
        };
        ErrorBody {
            error: self.to_string(),
            code: self.code(),
            details,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let AppError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        if let AppError::RangeNotSatisfiable { size } = self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(err.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        AppError::Internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_reveal_their_cause() {
        let err = AppError::Internal(anyhow::anyhow!("password=hunter2 at db.rs:12"));
        let body = err.body();
        assert_eq!(body.error, "Internal server error");
        assert_eq!(body.code, "internal");
    }

    #[test]
    fn field_errors_carry_their_field() {
        let body = AppError::invalid("username", "too short").body();
        assert_eq!(body.code, "validation_failed");
        assert_eq!(body.details[0].field, "username");
    }
}
