//! Errors of the RFC 6962 API, mapped to HTTP status and body in one place.
//!
//! RFC 6962 does not define error bodies; like ct-go's ctfe, the body is a plain-text message.
//! Client errors name the problem; server errors are logged and the client gets a fixed message.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sigstack_logstore::StoreError;
use sigstack_server::{ErrorKind, Fault};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtError {
    /// The request body or a parameter is not in the expected form (400).
    #[error("{0}")]
    Malformed(String),
    /// The submitted chain is rejected (400).
    #[error("{0}")]
    InvalidChain(String),
    /// The request body is larger than the limit (413).
    #[error("request body is larger than the {limit}-byte limit")]
    BodyTooLarge { limit: usize },
    /// The requested leaf is not in the tree (404).
    #[error("{0}")]
    NotFound(String),
    /// The store or database failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an unexpected state, such as a stored leaf that does not parse (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl CtError {
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into())
    }

    pub fn invalid_chain(message: impl Into<String>) -> Self {
        Self::InvalidChain(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) | Self::InvalidChain(_) => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ErrorKind for CtError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_request",
            Self::InvalidChain(_) => "invalid_chain",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::NotFound(_) => "not_found",
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

impl IntoResponse for CtError {
    fn into_response(self) -> Response {
        sigstack_server::log_error("ctlog", &self);
        let message = match &self {
            Self::Store(_) | Self::Internal(_) => {
                "the log failed to process the request; retry later".to_owned()
            }
            _ => self.to_string(),
        };
        (
            self.status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{message}\n"),
        )
            .into_response()
    }
}
