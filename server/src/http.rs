//! The `/v1` HTTP API, wire-compatible with innernet 2.0.0 (compat §1), and wiremesh's `/v2`
//! long-polling state route (see `wiremesh_shared::wire::StateDelta`).
//!
//! [`router`] builds the whole API as one axum fallback handler, the dispatcher: it splits the
//! path, builds the session before routing (so unknown `/v1` routes still need a valid
//! session), checks admin capability for every `/v1/admin/...` path, resolves the route and
//! hands it to a thin handler. [`serve`] runs a router on a listener until a shutdown signal,
//! passing each connection's address to the dispatcher, which identifies callers by it, and
//! enforcing the [`Limits`] that keep one peer from starving the others.
//!
//! Modules: `auth` (server-key header and caller lookup), `routes` (the route table),
//! `handlers` (one service call per route), `body` (request body rules), `error`
//! ([`ApiError`], the only place that knows status codes), `limits` (caps and timeouts),
//! `listener` (the accept loop and connections).
//!
//! What it is not: the rules of the network live in [`crate::service`]; this layer only
//! translates between HTTP and service calls.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Router;
use wireguard_control::PublicKey;
use wiremesh_shared::wire::Peer;
use wiremesh_shared::PeerId;

use crate::service::Service;

mod auth;
pub mod automation;
mod body;
mod error;
#[cfg(test)]
mod fuzz_tests;
mod handlers;
pub mod limits;
mod listener;
mod routes;
pub mod tls;

pub use auth::SERVER_KEY_HEADER;
pub use error::ApiError;
pub use limits::Limits;
pub use listener::serve;

/// What every request needs.
struct App {
    service: Arc<Service>,
    /// The server's own public key, which clients must name in `X-Innernet-Server-Key`.
    server_key: PublicKey,
    /// Open `/v2` long polls per peer, capped.
    polls: limits::PerKey<PeerId>,
    poll_refusals: limits::RefusalLog<PeerId>,
}

/// Builds the API with the default [`Limits`]. Requests must carry a
/// [`ConnectInfo<SocketAddr>`] extension (see [`serve`]); without one every `/v1` request
/// fails with 500.
pub fn router(service: Arc<Service>, server_key: PublicKey) -> Router {
    router_with(service, server_key, &Limits::default())
}

/// Builds the API with the per-peer long-poll cap of `limits`.
pub fn router_with(service: Arc<Service>, server_key: PublicKey, limits: &Limits) -> Router {
    let app = Arc::new(App {
        service,
        server_key,
        polls: limits::PerKey::new(limits.max_polls_per_peer),
        poll_refusals: limits::RefusalLog::default(),
    });
    Router::new().fallback(dispatch).with_state(app)
}

/// Answers one request and logs it: at debug, or at error for a 5xx.
async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut caller_name: Option<String> = None;
    let outcome = answer(&app, &method, &path, request, &mut caller_name).await;
    let caller = caller_name.as_deref().unwrap_or("-");
    match outcome {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::debug!(%method, %path, caller, status, "request");
            response
        }
        Err(error) => {
            let status = error.status();
            if status.is_server_error() {
                tracing::error!(%method, %path, caller, status = status.as_u16(), "request failed: {error}");
            } else {
                tracing::debug!(%method, %path, caller, status = status.as_u16(), "request refused: {error}");
            }
            error.into_response()
        }
    }
}

/// A long-poll slot for `caller`, or 429 when it holds its cap already.
fn poll_slot(app: &App, caller: &Peer) -> Result<limits::Slot<PeerId>, ApiError> {
    app.polls.try_acquire(caller.id).ok_or_else(|| {
        let cap = app.polls.cap();
        if let Some(unlogged) = app.poll_refusals.should_log(caller.id) {
            tracing::warn!(
                caller = %caller.name,
                "refused a long poll of {}: it already holds {cap} (at most {cap} per peer, \
                 --max-polls-per-peer){}",
                caller.name,
                limits::unlogged_suffix(unlogged)
            );
        }
        ApiError::TooMany(format!(
            "peer {} already holds {cap} long polls (at most {cap} per peer)",
            caller.name
        ))
    })
}

/// The steps of compat §1.3–1.4 in order: `v1` (404), session (401), scope (404), admin
/// capability (401), route (404), handler.
async fn answer(
    app: &App,
    method: &Method,
    path: &str,
    request: Request,
    caller_name: &mut Option<String>,
) -> Result<Response, ApiError> {
    let segments = routes::segments(path);
    let version = segments.first().copied();
    if version != Some("v1") && version != Some("v2") {
        return Err(ApiError::NoRoute);
    }
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .ok_or_else(|| ApiError::Internal("the request has no connection address".to_owned()))?;
    let (parts, body) = request.into_parts();
    let caller = auth::authenticate(&app.service, &parts.headers, &app.server_key, source)?;
    *caller_name = Some(caller.name.to_string());
    if version == Some("v2") {
        // wiremesh's own routes, matched exactly (no trailing components).
        let route = match (method, segments.get(1..)) {
            (&Method::GET, Some(["user", "state"])) => {
                let _poll = poll_slot(app, &caller)?;
                return handlers::state_v2(&app.service, caller, parts.uri.query()).await;
            }
            (&Method::PATCH, Some(["admin", "peers", id])) => {
                Service::require_admin(&caller)?;
                let id: i64 = id.parse().map_err(|_| ApiError::NoRoute)?;
                routes::Route::PatchPeer(wiremesh_shared::PeerId(id))
            }
            (&Method::PUT, Some(["user", "routes"])) => routes::Route::OfferOwnRoutes,
            (&Method::DELETE, Some(["user"])) => routes::Route::Deregister,
            (&Method::POST, Some(["user", "report"])) => routes::Route::Report,
            (method, Some(["admin", rest @ ..])) => {
                Service::require_admin(&caller)?;
                routes::resolve_v2_admin(method, rest, parts.uri.query())?
                    .ok_or(ApiError::NoRoute)?
            }
            _ => return Err(ApiError::NoRoute),
        };
        return handlers::handle(
            &app.service,
            route,
            caller,
            parts.uri.query(),
            &parts.headers,
            body,
        )
        .await;
    }
    let scope = routes::scope(segments.get(1).copied()).ok_or(ApiError::NoRoute)?;
    if scope == routes::Scope::Admin {
        Service::require_admin(&caller)?;
    }
    let rest = segments.get(2..).unwrap_or_default();
    let route = routes::resolve(method, scope, rest).ok_or(ApiError::NoRoute)?;
    handlers::handle(
        &app.service,
        route,
        caller,
        parts.uri.query(),
        &parts.headers,
        body,
    )
    .await
}
