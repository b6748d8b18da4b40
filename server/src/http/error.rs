//! [`ApiError`]: the one place that knows which failure becomes which HTTP status.
//!
//! Statuses follow innernet 2.0.0 (compat §1.7) so its clients see what they expect; unlike
//! innernet, every error response carries a JSON [`ErrorBody`] with a human message, which
//! innernet clients ignore. Internal failures say only "internal error" on the wire; the
//! dispatcher logs their details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use wiremesh_shared::wire::ErrorBody;

use crate::error::ServiceError;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route matches the method and path (innernet never answers 405).
    #[error("no such route")]
    NoRoute,
    /// The `X-Innernet-Server-Key` header is missing or unusable.
    #[error("{0}")]
    ServerKey(&'static str),
    /// The request body is missing, too large or not the expected JSON.
    #[error("{0}")]
    Body(String),
    /// A query parameter is missing or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A service operation refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The caller holds as many long polls (or connections) as it may.
    #[error("{0}")]
    TooMany(String),
    /// Something that is the server's fault, not the caller's (details are only logged).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The status innernet answers in the same situation.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::ServerKey(_) => StatusCode::UNAUTHORIZED,
            ApiError::Body(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Service(error) => service_status(error),
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the response body says: the error itself, or "internal error" for a 5xx.
    pub fn public_message(&self) -> String {
        if self.status().is_server_error() {
            "internal error".to_owned()
        } else {
            self.to_string()
        }
    }
}

fn service_status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::Denied(_) => StatusCode::UNAUTHORIZED,
        ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
        // innernet answers constraint violations with 400; clients rely on it.
        ServiceError::Cidr(_)
        | ServiceError::Alloc(_)
        | ServiceError::Invalid(_)
        | ServiceError::Policy(_)
        | ServiceError::Route(_)
        | ServiceError::Conflict { .. } => StatusCode::BAD_REQUEST,
        ServiceError::TooManyCandidates { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Store(store) => match store {
            StoreError::Conflict { .. } | StoreError::InUse { .. } => StatusCode::BAD_REQUEST,
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.public_message(),
        };
        (self.status(), Json(body)).into_response()
    }
}
