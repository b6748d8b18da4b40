//! The automation API: a REST API for scripts, CI and orchestrators, authenticated with
//! tokens ([`crate::tokens`]) and separate from the peer API. It is served on a Unix socket of
//! the server's host (see `serve`), so reaching it already takes access to that host.
//!
//! Every route checks the token's scope before anything else, then makes one service call
//! as the token (the audit log names it), on the blocking pool. Bodies are read with the
//! peer API's limits; every error is `{"error": "…"}`: 401 for a missing, wrong, expired or
//! revoked token, 403 for a token without the scope, 400 for a bad body, id or rule broken,
//! 404 for what does not exist. A refused request changes nothing.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use wiremesh_shared::devices::NewDeviceContents;
use wiremesh_shared::listing::{peer_entries, PeerEntry};
use wiremesh_shared::wire::{ErrorBody, Peer};
use wiremesh_shared::PeerId;

use super::body::read_json;
use super::error::ApiError;
use crate::audit::{acting_as, Actor};
use crate::service::devices::{device_entries, NewDevice};
use crate::service::{Service, TokenCheck};
use crate::store::DeletionReason;
use crate::tokens::{Rejection, Scope};

/// The routes, as `(method, path, scope)`: what the documentation and the tests enumerate.
pub const ROUTES: &[(&str, &str, Scope)] = &[
    ("GET", "/api/v1/network", Scope::Read),
    ("GET", "/api/v1/peers", Scope::Read),
    ("GET", "/api/v1/peers/{id}", Scope::Read),
    ("DELETE", "/api/v1/peers/{id}", Scope::Peers),
    ("POST", "/api/v1/peers/{id}/disable", Scope::Peers),
    ("POST", "/api/v1/peers/{id}/enable", Scope::Peers),
    ("GET", "/api/v1/devices", Scope::Read),
    ("POST", "/api/v1/devices", Scope::Devices),
    ("DELETE", "/api/v1/devices/{id}", Scope::Devices),
    ("POST", "/api/v1/devices/{id}/disable", Scope::Devices),
    ("POST", "/api/v1/devices/{id}/enable", Scope::Devices),
    ("POST", "/api/v1/devices/{id}/config", Scope::Devices),
    ("GET", "/api/v1/status", Scope::Read),
    ("GET", "/api/v1/audit", Scope::Read),
];

/// The automation API's router.
pub fn router(service: Arc<Service>) -> Router {
    use Kind::{Device, Peer};
    Router::new()
        .route("/api/v1/network", get(network))
        .route("/api/v1/peers", get(list_peers))
        .route(
            "/api/v1/peers/{id}",
            get(get_peer).delete(|s: Svc, h: HeaderMap, p: Id| delete(s, h, p, Peer)),
        )
        .route(
            "/api/v1/peers/{id}/enable",
            post(|s: Svc, h: HeaderMap, p: Id| set_disabled(s, h, p, Peer, false)),
        )
        .route(
            "/api/v1/peers/{id}/disable",
            post(|s: Svc, h: HeaderMap, p: Id| set_disabled(s, h, p, Peer, true)),
        )
        .route("/api/v1/devices", get(list_devices).post(create_device))
        .route(
            "/api/v1/devices/{id}",
            axum::routing::delete(|s: Svc, h: HeaderMap, p: Id| delete(s, h, p, Device)),
        )
        .route(
            "/api/v1/devices/{id}/enable",
            post(|s: Svc, h: HeaderMap, p: Id| set_disabled(s, h, p, Device, false)),
        )
        .route(
            "/api/v1/devices/{id}/disable",
            post(|s: Svc, h: HeaderMap, p: Id| set_disabled(s, h, p, Device, true)),
        )
        .route("/api/v1/devices/{id}/config", post(reissue_device))
        .route("/api/v1/status", get(status))
        .route("/api/v1/audit", get(audit))
        .fallback(|| async { Failure::NotFound("no such route".into()) })
        .with_state(service)
}

type Svc = State<Arc<Service>>;
type Id = Path<String>;

/// Which kind of peer a route is about: device routes need the `devices` scope, peer routes
/// the `peers` scope, and neither acts on the other kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Peer,
    Device,
}

impl Kind {
    fn scope(self) -> Scope {
        match self {
            Kind::Peer => Scope::Peers,
            Kind::Device => Scope::Devices,
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
enum Failure {
    Token(Rejection),
    Api(ApiError),
    NotFound(String),
    BadRequest(String),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Api(error)
    }
}

impl From<crate::error::ServiceError> for Failure {
    fn from(error: crate::error::ServiceError) -> Self {
        Failure::Api(error.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Failure::Token(rejection @ Rejection::Scope { .. }) => {
                (StatusCode::FORBIDDEN, rejection.to_string())
            }
            Failure::Token(rejection) => (StatusCode::UNAUTHORIZED, rejection.to_string()),
            Failure::Api(error) => {
                if error.status().is_server_error() {
                    tracing::error!("automation API: {error}");
                }
                (error.status(), error.public_message())
            }
            Failure::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Failure::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}

type Reply = Result<Response, Failure>;

/// Checks the request's token for `scope`; returns who is acting.
async fn authorize(
    service: &Arc<Service>,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<Actor, Failure> {
    let presented = headers.get(axum::http::header::AUTHORIZATION).map(|value| {
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_owned)
    });
    let presented = match presented {
        None => None,
        Some(None) => return Err(Failure::Token(Rejection::Malformed)),
        Some(Some(token)) => Some(token),
    };
    let service = service.clone();
    let checked =
        tokio::task::spawn_blocking(move || service.check_token(presented.as_deref(), scope))
            .await
            .map_err(|error| {
                Failure::Api(ApiError::Internal(format!("token check failed: {error}")))
            })?;
    match checked {
        Ok(token) => Ok(Actor::Token { name: token.name }),
        Err(TokenCheck::Rejected(rejection)) => Err(Failure::Token(rejection)),
        Err(TokenCheck::Store(error)) => {
            Err(Failure::Api(crate::error::ServiceError::from(error).into()))
        }
    }
}

/// Runs `op` as `actor` on the blocking pool.
async fn run<T, F>(service: &Arc<Service>, actor: Actor, op: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&Service) -> crate::error::Result<T> + Send + 'static,
{
    let service = service.clone();
    let outcome = tokio::task::spawn_blocking(move || acting_as(actor, || op(&service)))
        .await
        .map_err(|error| {
            Failure::Api(ApiError::Internal(format!("service task failed: {error}")))
        })?;
    Ok(outcome?)
}

fn id_of(text: &str) -> Result<PeerId, Failure> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(PeerId)
        .ok_or_else(|| {
            Failure::BadRequest(format!(
                "invalid id {text:?}: expected a positive whole number"
            ))
        })
}

fn json<T: Serialize>(status: StatusCode, value: T) -> Response {
    (status, Json(value)).into_response()
}

/// `GET /api/v1/network`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NetworkInfo {
    pub name: String,
    /// The root CIDR.
    pub cidr: String,
    /// The server's address inside the network.
    pub server_ip: Option<String>,
    /// The server's public endpoint.
    pub endpoint: Option<String>,
    pub peers: usize,
    pub devices: usize,
    pub version: String,
}

async fn network(State(service): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    let model = service.model();
    let server = model.server_peer();
    let root = wiremesh_shared::cidr::CidrTree::new(model.cidrs())
        .root()
        .cloned();
    let devices = model.devices().devices.len();
    Ok(json(
        StatusCode::OK,
        NetworkInfo {
            name: service.network_name(),
            cidr: root.map(|c| c.cidr.to_string()).unwrap_or_default(),
            server_ip: server.map(|s| s.ip.to_string()),
            endpoint: server
                .and_then(|s| s.endpoint.as_ref())
                .map(ToString::to_string),
            peers: model.peers().len() - devices,
            devices,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    ))
}

/// Every peer and device as the server's `list --json` shows them.
fn entries(service: &Service) -> Vec<PeerEntry> {
    let model = service.model();
    let peers: Vec<Peer> = model.peers().iter().map(|p| model.inject(p)).collect();
    peer_entries(
        &peers,
        model.cidrs(),
        &device_entries(&model),
        SystemTime::now(),
    )
}

async fn list_peers(State(service): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    let peers: Vec<PeerEntry> = entries(&service)
        .into_iter()
        .filter(|e| e.device.is_none())
        .collect();
    Ok(json(StatusCode::OK, peers))
}

async fn get_peer(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    let id = id_of(&id)?;
    let entry = entries(&service)
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| Failure::NotFound(format!("peer {id} does not exist")))?;
    Ok(json(StatusCode::OK, entry))
}

/// Refuses a peer route on a device, and a device route on a peer.
fn check_kind(service: &Service, id: PeerId, kind: Kind) -> Result<(), Failure> {
    let model = service.model();
    if model.peer(id).is_none() {
        let what = match kind {
            Kind::Peer => "peer",
            Kind::Device => "device",
        };
        return Err(Failure::NotFound(format!("{what} {id} does not exist")));
    }
    match (model.is_device(id), kind) {
        (true, Kind::Peer) => Err(Failure::BadRequest(format!(
            "peer {id} is a device: use /api/v1/devices/{id} (and a token with the devices scope)"
        ))),
        (false, Kind::Device) => Err(Failure::NotFound(format!(
            "device {id} does not exist (peer {id} is not a device)"
        ))),
        _ => Ok(()),
    }
}

/// The token's actor and the peer id of a route on one peer or device of `kind`.
async fn target(
    service: &Arc<Service>,
    headers: &HeaderMap,
    id: &str,
    kind: Kind,
) -> Result<(Actor, PeerId), Failure> {
    let actor = authorize(service, headers, kind.scope()).await?;
    let id = id_of(id)?;
    check_kind(service, id, kind)?;
    Ok((actor, id))
}

async fn delete(State(service): Svc, headers: HeaderMap, Path(id): Id, kind: Kind) -> Reply {
    let (actor, id) = target(&service, &headers, &id, kind).await?;
    run(&service, actor, move |s| {
        s.delete_peer(id, DeletionReason::Deleted)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_disabled(
    State(service): Svc,
    headers: HeaderMap,
    Path(id): Id,
    kind: Kind,
    disabled: bool,
) -> Reply {
    let (actor, id) = target(&service, &headers, &id, kind).await?;
    run(&service, actor, move |s| s.set_disabled(id, disabled)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_devices(State(service): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok(json(StatusCode::OK, service.device_listing()))
}

async fn create_device(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let actor = authorize(&service, &headers, Scope::Devices).await?;
    let contents: NewDeviceContents = read_json(&headers, body).await?;
    let who = actor.to_string();
    let issued = run(&service, actor, move |s| {
        let network = s.network_name();
        s.create_device(NewDevice::from(contents), &network, &who)
            .map(|issued| s.issued_body(&issued))
    })
    .await?;
    Ok(json(StatusCode::CREATED, issued))
}

async fn reissue_device(State(service): Svc, headers: HeaderMap, Path(id): Id) -> Reply {
    let (actor, id) = target(&service, &headers, &id, Kind::Device).await?;
    let who = actor.to_string();
    let issued = run(&service, actor, move |s| {
        let network = s.network_name();
        s.reissue_device(id, &network, &who)
            .map(|issued| s.issued_body(&issued))
    })
    .await?;
    Ok(json(StatusCode::OK, issued))
}

/// `GET /api/v1/status`: the server's live view of every peer.
async fn status(State(service): Svc, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    let read = tokio::task::spawn_blocking(move || service.interface_status())
        .await
        .map_err(|error| {
            Failure::Api(ApiError::Internal(format!("status task failed: {error}")))
        })?;
    let status = read.map_err(|error| {
        Failure::Api(ApiError::Internal(format!(
            "failed to read the server's interface: {error}"
        )))
    })?;
    Ok(json(StatusCode::OK, status))
}

async fn audit(State(service): State<Arc<Service>>, headers: HeaderMap, uri: Uri) -> Reply {
    let actor = authorize(&service, &headers, Scope::Read).await?;
    let mut limit = 100;
    for (name, value) in super::routes::query_pairs(uri.query()) {
        match name.as_str() {
            "limit" => {
                limit = value.parse::<usize>().map_err(|_| {
                    Failure::BadRequest(format!(
                        "invalid query parameter limit={value:?}: expected a whole number"
                    ))
                })?
            }
            other => {
                return Err(Failure::BadRequest(format!(
                    "unknown query parameter {other:?} (known: limit)"
                )))
            }
        }
    }
    let limit = limit.min(10_000);
    let mut entries = run(&service, actor, move |s| s.audit_log(limit)).await?;
    entries.reverse();
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "entries": entries }),
    ))
}
