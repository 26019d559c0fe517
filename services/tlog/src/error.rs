//! Errors of the Rekor API, mapped to HTTP status and body in one place.
//!
//! Bodies follow Rekor: `{"code": <status>, "message": "..."}`, with go-openapi's convention for
//! request validation failures (HTTP 422 with a body code of 600 and up). Entry lookups that find
//! nothing return 404 with an empty body and no content type, as upstream's NotFound responders do.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sigstack_logstore::StoreError;
use sigstack_server::{ErrorKind, Fault};

/// go-openapi validation codes (`github.com/go-openapi/errors`), sent with HTTP 422.
pub const CODE_INVALID_TYPE: u16 = 600;
pub const CODE_REQUIRED: u16 = 602;
pub const CODE_TOO_MANY_ITEMS: u16 = 607;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The entry failed validation or signature verification (400).
    #[error("error processing entry: {0}")]
    InvalidEntry(String),
    /// A request that is well-formed JSON but invalid for the operation (400).
    #[error("{0}")]
    BadRequest(String),
    /// A parameter failed schema validation (422, go-openapi code).
    #[error("{message}")]
    Validation { code: u16, message: String },
    /// The request body is larger than the configured limit (413).
    #[error(
        "Request Entity Too Large. Limit set to {limit} bytes; raise tlog.max_body_bytes to accept larger requests"
    )]
    BodyTooLarge { limit: usize },
    /// An equivalent entry exists (409); `location` points at it.
    #[error("an equivalent entry already exists in the transparency log with UUID {entry_id}")]
    Duplicate { entry_id: String, location: String },
    /// The entry or log index does not exist (404 with an empty body).
    #[error("entry not found")]
    NotFound,
    /// No route matches the path (404 with a JSON body, as go-openapi's router sends).
    #[error("path not found")]
    NotFoundPath,
    /// The store or database failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an unexpected state (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid_entry(message: impl Into<String>) -> Self {
        Self::InvalidEntry(message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn validation(code: u16, message: impl Into<String>) -> Self {
        Self::Validation {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidEntry(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Duplicate { .. } => StatusCode::CONFLICT,
            Self::NotFound | Self::NotFoundPath => StatusCode::NOT_FOUND,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ErrorKind for ApiError {
    fn kind(&self) -> &'static str {
        match self {
            Self::InvalidEntry(_) => "invalid_entry",
            Self::BadRequest(_) => "bad_request",
            Self::Validation { .. } => "validation",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::Duplicate { .. } => "duplicate_entry",
            Self::NotFound => "not_found",
            Self::NotFoundPath => "unknown_path",
            Self::Store(error) => error.kind(),
            Self::Internal(_) => "internal",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            Self::Store(error) => error.fault(),
            Self::Internal(_) => Fault::Server,
            _ => Fault::Client,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        sigstack_server::log_error("tlog", &self);
        let status = self.status();
        match &self {
            Self::NotFound => return status.into_response(),
            Self::Duplicate { location, .. } => {
                let body = error_body(status.as_u16(), &self.to_string());
                return (status, [(header::LOCATION, location.clone())], body).into_response();
            }
            _ => {}
        }
        let code = match &self {
            Self::Validation { code, .. } => *code,
            _ => status.as_u16(),
        };
        // Internal details stay in the log; the client sees a fixed message.
        let message = match &self {
            Self::Store(_) | Self::Internal(_) => {
                "error communicating with the log's database; retry later".to_owned()
            }
            _ => self.to_string(),
        };
        (status, error_body(code, &message)).into_response()
    }
}

fn error_body(code: u16, message: &str) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "code": code, "message": message }))
}
