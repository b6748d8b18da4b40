//! Request bodies (compat §1.6): a `Content-Length` is required and at most
//! [`MAX_BODY_BYTES`]; the body must be JSON of the expected type. The `Content-Type` header
//! is not checked and unknown fields are ignored, as innernet does. A body must arrive within
//! [`BODY_TIMEOUT`].

use axum::body::Body;
use axum::http::header::CONTENT_LENGTH;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use wiremesh_shared::wire::MAX_BODY_BYTES;

use super::error::ApiError;
use super::limits::BODY_TIMEOUT;

/// Reads and parses a JSON body; every failure is a 400 with a message saying why.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let length = headers.get(CONTENT_LENGTH).ok_or_else(|| {
        ApiError::Body("the request body needs a Content-Length header".to_owned())
    })?;
    let length: u64 = length
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| ApiError::Body("the Content-Length header is not a number".to_owned()))?;
    if length > MAX_BODY_BYTES as u64 {
        return Err(ApiError::Body(format!(
            "the request body is {length} bytes long, at most {MAX_BODY_BYTES} are allowed"
        )));
    }
    let bytes = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES))
        .await
        .map_err(|_| {
            ApiError::Body(format!(
                "the request body did not arrive within {}s",
                BODY_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|error| ApiError::Body(format!("failed to read the request body: {error}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::Body(format!("invalid request body: {error}")))
}
