//! Sessions (compat §1.2–1.3): the server-key header, then the caller by source address.
//!
//! The caller is the peer whose tunnel address is the TCP source address; WireGuard has
//! already authenticated it. Proxy headers (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`) are
//! never read: the API is not meant to sit behind a proxy.

use std::net::IpAddr;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;
use wireguard_control::PublicKey;
use wiremesh_shared::wire::Peer;

use super::error::ApiError;
use crate::service::Service;

/// The header in which clients name the server they mean to talk to.
pub const SERVER_KEY_HEADER: &str = "x-innernet-server-key";

/// Checks that the request names this server: the header is present, ASCII, a base64
/// WireGuard key and equal (in constant time) to `server_key`.
pub fn check_server_key(headers: &HeaderMap, server_key: &PublicKey) -> Result<(), ApiError> {
    let value = headers
        .get(SERVER_KEY_HEADER)
        .ok_or(ApiError::ServerKey("missing X-Innernet-Server-Key header"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::ServerKey("the X-Innernet-Server-Key header is not ASCII"))?;
    let claimed = PublicKey::from_base64(text).map_err(|_| {
        ApiError::ServerKey("the X-Innernet-Server-Key header is not a base64 WireGuard key")
    })?;
    if bool::from(claimed.as_bytes().ct_eq(server_key.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::ServerKey(
            "the X-Innernet-Server-Key header does not name this server",
        ))
    }
}

/// Builds the session: checks the header, then finds the enabled peer at `source`.
pub fn authenticate(
    service: &Service,
    headers: &HeaderMap,
    server_key: &PublicKey,
    source: IpAddr,
) -> Result<Peer, ApiError> {
    check_server_key(headers, server_key)?;
    Ok(service.caller(source)?)
}
