//! The automation API: a REST API for scripts, CI and orchestrators, authenticated with
//! tokens ([`crate::tokens`]) and separate from the peer API. It is served on a Unix socket of
//! the server's host (see `serve`), so reaching it already takes access to that host.
//!
//! Every route checks the token's scope before anything else, then makes one service call
//! as the token (the audit log names it), on the blocking pool. Bodies are read with the
//! peer API's limits; every error is `{"error": "…"}`: 401 for a missing, wrong, expired or
//! revoked token, 403 for a token without the scope, 400 for a bad body, id or rule broken,
//! 404 for what does not exist. A refused request changes nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::service::maintenance::PeerStatus;
use axum::body::Body;
use axum::extract::{FromRef, Path, State};
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wiremesh_shared::devices::NewDeviceContents;
use wiremesh_shared::devices::{DeviceInfo, IssuedDeviceBody};
use wiremesh_shared::listing::{peer_entries, PeerEntry};
use wiremesh_shared::policy::RuleContents;
use wiremesh_shared::routes::{Route, RouteBook};
use wiremesh_shared::wire::{
    Association, AssociationContents, AutoApprovalContents, Cidr, CidrContents, ErrorBody,
    IsolationContents, Peer, PolicyChange, PolicyListing, RouteApproval, RouteOffer,
};
use wiremesh_shared::{AssociationId, CidrId, Hostname, PeerId, RuleId, Timestring};

use super::body::read_json;
use super::error::ApiError;
use crate::admin::invite::{self, AddPeerOptions, InvitationPlace};
use crate::admin::AdminError;
use crate::audit::{acting_as, Actor};
use crate::service::devices::{peer_notes, NewDevice};
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
    ("POST", "/api/v1/peers", Scope::Peers),
    ("PATCH", "/api/v1/peers/{id}", Scope::Peers),
    ("PATCH", "/api/v1/devices/{id}", Scope::Devices),
    ("GET", "/api/v1/cidrs", Scope::Read),
    ("POST", "/api/v1/cidrs", Scope::Policy),
    ("PATCH", "/api/v1/cidrs/{id}", Scope::Policy),
    ("DELETE", "/api/v1/cidrs/{id}", Scope::Policy),
    ("PUT", "/api/v1/cidrs/{id}/isolation", Scope::Policy),
    ("PUT", "/api/v1/cidrs/{id}/auto-approval", Scope::Policy),
    ("GET", "/api/v1/associations", Scope::Read),
    ("POST", "/api/v1/associations", Scope::Policy),
    ("DELETE", "/api/v1/associations/{id}", Scope::Policy),
    ("GET", "/api/v1/rules", Scope::Read),
    ("POST", "/api/v1/rules", Scope::Policy),
    ("DELETE", "/api/v1/rules/{id}", Scope::Policy),
    ("GET", "/api/v1/routes", Scope::Read),
    ("PUT", "/api/v1/peers/{id}/routes", Scope::Policy),
    ("PUT", "/api/v1/peers/{id}/routes/approval", Scope::Policy),
    ("GET", "/api/v1/status", Scope::Read),
    ("GET", "/api/v1/audit", Scope::Read),
    ("GET", "/api/v1/openapi.json", Scope::Read),
];

/// What the automation API serves: the network's service, and where its invitations send
/// new peers.
#[derive(Clone)]
pub struct Automation {
    pub service: Arc<Service>,
    /// The network's name (the interface's), as invitations name it.
    pub network: Arc<str>,
    /// The server's address and port inside the network.
    pub internal_endpoint: SocketAddr,
}

impl FromRef<Automation> for Arc<Service> {
    fn from_ref(state: &Automation) -> Self {
        state.service.clone()
    }
}

/// The automation API's router and its OpenAPI document, made from the same handlers (each
/// route is registered from its handler's `#[utoipa::path]`, so the document cannot miss one).
fn routes() -> (Router<Automation>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(network))
        .routes(routes!(list_peers, create_peer))
        .routes(routes!(get_peer, delete_peer, rename_peer))
        .routes(routes!(disable_peer))
        .routes(routes!(enable_peer))
        .routes(routes!(list_devices, create_device))
        .routes(routes!(delete_device, rename_device))
        .routes(routes!(disable_device))
        .routes(routes!(enable_device))
        .routes(routes!(reissue_device))
        .routes(routes!(list_cidrs, create_cidr))
        .routes(routes!(rename_cidr, delete_cidr))
        .routes(routes!(set_isolation))
        .routes(routes!(set_auto_approval))
        .routes(routes!(list_associations, create_association))
        .routes(routes!(delete_association))
        .routes(routes!(list_rules, add_rule))
        .routes(routes!(delete_rule))
        .routes(routes!(list_routes))
        .routes(routes!(offer_routes))
        .routes(routes!(approve_routes))
        .routes(routes!(status))
        .routes(routes!(audit))
        .routes(routes!(openapi_document))
        .split_for_parts()
}

/// The automation API's router.
pub fn router(automation: Automation) -> Router {
    let (router, _) = routes();
    router
        .fallback(|| async { Failure::NotFound("no such route".into()) })
        .with_state(automation)
}

/// The OpenAPI 3.1 document of the automation API, as `GET /api/v1/openapi.json` serves it
/// and `doc/openapi.json` holds it.
pub fn openapi_json() -> String {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let (_, mut document) = routes();
            Conventions.modify(&mut document);
            let mut text = document
                .to_pretty_json()
                .expect("the OpenAPI document serialises");
            text.push('\n');
            text
        })
        .clone()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wiremesh automation API",
        description = "Token-authenticated REST API of a wiremesh server (doc/api.md, section 14). \
            Every request carries `Authorization: Bearer <token>`; each operation names the scope \
            its token needs (`admin` has them all). Errors are `{\"error\": \"...\"}`.",
        license(name = "MIT")
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "network", description = "The network, its live status and its audit log"),
        (name = "peers", description = "Peers: hosts that run a client"),
        (name = "devices", description = "Devices: peers without a client, joined through a hub"),
        (name = "policy", description = "CIDRs, associations, port and protocol rules, routes")
    )
)]
struct ApiDoc;

/// What every operation shares, written into the document: the token scheme, the scope
/// each route needs ([`ROUTES`]), and the error answers.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{RefOr, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("wmt_<id>_<secret>")
                    .description(Some("A token from `wiremesh-server create-token`"))
                    .build(),
            ),
        );
        let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
                .into()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                if let Some(&(_, _, scope)) =
                    ROUTES.iter().find(|(m, p, _)| *m == method && p == path)
                {
                    operation.security =
                        Some(vec![SecurityRequirement::new("token", [scope.as_str()])]);
                }
                let responses = &mut operation.responses.responses;
                responses.insert(
                    "400".into(),
                    error("A bad id, query or body, or a rule of the network broken"),
                );
                responses.insert(
                    "401".into(),
                    error("No token, or a malformed, wrong, expired or revoked one"),
                );
                responses.insert("403".into(), error("The token lacks the scope"));
                responses.insert(
                    "404".into(),
                    error("No such peer, device, CIDR, association or rule"),
                );
            }
        }
    }
}

type Svc = State<Arc<Service>>;
type Auto = State<Automation>;
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

fn id_of<T: From<i64>>(text: &str) -> Result<T, Failure> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(T::from)
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
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
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

#[utoipa::path(
    get,
    path = "/api/v1/network",
    tag = "network",
    summary = "The network: its name, root CIDR, server and counts",
    responses((status = 200, description = "The network", body = NetworkInfo))
)]
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
        &peer_notes(&model),
        SystemTime::now(),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/peers",
    tag = "peers",
    summary = "Every peer (devices left out)",
    responses((status = 200, description = "The peers", body = [PeerEntry]))
)]
async fn list_peers(State(service): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    let peers: Vec<PeerEntry> = entries(&service)
        .into_iter()
        .filter(|e| e.device.is_none())
        .collect();
    Ok(json(StatusCode::OK, peers))
}

#[utoipa::path(
    get,
    path = "/api/v1/peers/{id}",
    tag = "peers",
    summary = "One peer or device",
    params(("id" = i64, Path, description = "The peer")),
    responses((status = 200, description = "The peer", body = PeerEntry))
)]
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

#[utoipa::path(
    delete,
    path = "/api/v1/peers/{id}",
    tag = "peers",
    summary = "Deletes a peer for good (its address is never given to another key)",
    params(("id" = i64, Path, description = "The peer")),
    responses((status = 204, description = "Done"))
)]
async fn delete_peer(s: Svc, h: HeaderMap, p: Id) -> Reply {
    delete(s, h, p, Kind::Peer).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/devices/{id}",
    tag = "devices",
    summary = "Deletes a device for good",
    params(("id" = i64, Path, description = "The device")),
    responses((status = 204, description = "Done"))
)]
async fn delete_device(s: Svc, h: HeaderMap, p: Id) -> Reply {
    delete(s, h, p, Kind::Device).await
}

#[utoipa::path(
    post,
    path = "/api/v1/peers/{id}/disable",
    tag = "peers",
    summary = "Disables a peer",
    params(("id" = i64, Path, description = "The peer")),
    responses((status = 204, description = "Done"))
)]
async fn disable_peer(s: Svc, h: HeaderMap, p: Id) -> Reply {
    set_disabled(s, h, p, Kind::Peer, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/peers/{id}/enable",
    tag = "peers",
    summary = "Enables a peer",
    params(("id" = i64, Path, description = "The peer")),
    responses((status = 204, description = "Done"))
)]
async fn enable_peer(s: Svc, h: HeaderMap, p: Id) -> Reply {
    set_disabled(s, h, p, Kind::Peer, false).await
}

#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/disable",
    tag = "devices",
    summary = "Disables a device",
    params(("id" = i64, Path, description = "The device")),
    responses((status = 204, description = "Done"))
)]
async fn disable_device(s: Svc, h: HeaderMap, p: Id) -> Reply {
    set_disabled(s, h, p, Kind::Device, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/enable",
    tag = "devices",
    summary = "Enables a device",
    params(("id" = i64, Path, description = "The device")),
    responses((status = 204, description = "Done"))
)]
async fn enable_device(s: Svc, h: HeaderMap, p: Id) -> Reply {
    set_disabled(s, h, p, Kind::Device, false).await
}

#[utoipa::path(
    patch,
    path = "/api/v1/peers/{id}",
    tag = "peers",
    summary = "Renames a peer",
    params(("id" = i64, Path, description = "The peer")),
    request_body = Rename,
    responses((status = 204, description = "Done"))
)]
async fn rename_peer(s: Svc, h: HeaderMap, p: Id, body: Body) -> Reply {
    rename(s, h, p, body, Kind::Peer).await
}

#[utoipa::path(
    patch,
    path = "/api/v1/devices/{id}",
    tag = "devices",
    summary = "Renames a device",
    params(("id" = i64, Path, description = "The device")),
    request_body = Rename,
    responses((status = 204, description = "Done"))
)]
async fn rename_device(s: Svc, h: HeaderMap, p: Id, body: Body) -> Reply {
    rename(s, h, p, body, Kind::Device).await
}

#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "devices",
    summary = "Every device with its hub, key source and staleness",
    responses((status = 200, description = "The devices", body = [DeviceInfo]))
)]
async fn list_devices(State(service): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok(json(StatusCode::OK, service.device_listing()))
}

#[utoipa::path(
    post,
    path = "/api/v1/devices",
    tag = "devices",
    summary = "A new device and its wg-quick configuration (from its public key, or with a key pair the server makes)",
    request_body = NewDeviceContents,
    responses((status = 201, description = "The device and its configuration", body = IssuedDeviceBody))
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/config",
    tag = "devices",
    summary = "Issues a device configuration again",
    params(("id" = i64, Path, description = "The device")),
    responses((status = 200, description = "The device and its configuration", body = IssuedDeviceBody))
)]
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

/// `POST /api/v1/peers`: a new peer and its invitation, as `add-peer` makes them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPeerRequest {
    pub name: Hostname,
    /// A leaf CIDR (not the server's).
    pub cidr_id: CidrId,
    /// Absent: the CIDR's first free address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub admin: bool,
    /// How long the invitation can be redeemed (`add-peer`'s `--invite-expires`).
    #[serde(default = "default_invite_expiry")]
    pub invite_expires: Timestring,
    /// An ephemeral peer: deleted once offline this long (at least a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<Timestring>,
}

fn default_invite_expiry() -> Timestring {
    "14d".parse().expect("a valid default")
}

/// The answer to `POST /api/v1/peers`: the peer and its one-time invitation (it holds the
/// peer's temporary private key: hand it over as a secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedPeer {
    /// As `GET /api/v1/peers/{id}` shows it.
    pub peer: PeerEntry,
    /// The invitation file's contents, for `wiremesh install`.
    pub invitation: String,
    /// UNIX seconds after which it can no longer be redeemed.
    pub invite_expires: u64,
}

#[utoipa::path(
    post,
    path = "/api/v1/peers",
    tag = "peers",
    summary = "A new peer and its invitation, as add-peer makes them (an admin peer needs the admin scope)",
    request_body = NewPeerRequest,
    responses((status = 201, description = "The peer and its invitation", body = CreatedPeer))
)]
async fn create_peer(State(auto): Auto, headers: HeaderMap, body: Body) -> Reply {
    let actor = authorize(&auto.service, &headers, Scope::Peers).await?;
    let request: NewPeerRequest = read_json(&headers, body).await?;
    if request.admin {
        // An admin peer can change anything in the network: only an admin token makes one.
        authorize(&auto.service, &headers, Scope::Admin).await?;
    }
    let created = run_admin(&auto.service, actor, move |s| {
        let cidr =
            s.model().cidr(request.cidr_id).cloned().ok_or_else(|| {
                Failure::NotFound(format!("CIDR {} does not exist", request.cidr_id))
            })?;
        let options = AddPeerOptions {
            name: request.name,
            cidr: cidr.name.clone(),
            ip: request.ip,
            admin: request.admin,
            invite_expires: request.invite_expires,
            save_path: std::path::PathBuf::new(),
            ephemeral: request.ephemeral,
        };
        let place = InvitationPlace {
            network: &auto.network,
            internal_endpoint: auto.internal_endpoint,
        };
        let prepared = invite::prepare(s, &place, &cidr, &options).map_err(admin_failure)?;
        let peer = prepared.create(s, &options).map_err(admin_failure)?;
        let peer = entries(s)
            .into_iter()
            .find(|entry| entry.id == peer.id)
            .ok_or_else(|| Failure::NotFound(format!("peer {} is gone again", peer.id)))?;
        Ok(CreatedPeer {
            peer,
            invitation: prepared.invitation.to_toml_string(),
            invite_expires: unix_secs(prepared.expires),
        })
    })
    .await?;
    Ok(json(StatusCode::CREATED, created))
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An `add-peer` failure as the API answers it.
fn admin_failure(error: AdminError) -> Failure {
    match error {
        AdminError::Service { source, .. } => Failure::Api((*source).into()),
        other => Failure::BadRequest(other.to_string()),
    }
}

/// Runs `op` (whose own failures are the API's) as `actor` on the blocking pool.
async fn run_admin<T, F>(service: &Arc<Service>, actor: Actor, op: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&Service) -> Result<T, Failure> + Send + 'static,
{
    let service = service.clone();
    tokio::task::spawn_blocking(move || acting_as(actor, || op(&service)))
        .await
        .map_err(|error| {
            Failure::Api(ApiError::Internal(format!("service task failed: {error}")))
        })?
}

/// `PATCH /api/v1/peers/{id}` and `/api/v1/devices/{id}`, `PATCH /api/v1/cidrs/{id}`: a new
/// name.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

async fn rename(
    State(service): Svc,
    headers: HeaderMap,
    Path(id): Id,
    body: Body,
    kind: Kind,
) -> Reply {
    let (actor, id) = target(&service, &headers, &id, kind).await?;
    let rename: Rename = read_json(&headers, body).await?;
    let name: Hostname = rename
        .name
        .parse()
        .map_err(|error| Failure::BadRequest(format!("invalid name {:?}: {error}", rename.name)))?;
    run(&service, actor, move |s| s.rename_peer(id, name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/cidrs",
    tag = "policy",
    summary = "Every CIDR",
    responses((status = 200, description = "The CIDRs", body = [Cidr]))
)]
async fn list_cidrs(State(service): Svc, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok(json(StatusCode::OK, service.cidrs()))
}

#[utoipa::path(
    post,
    path = "/api/v1/cidrs",
    tag = "policy",
    summary = "A new CIDR",
    request_body = CidrContents,
    responses((status = 201, description = "The CIDR", body = Cidr))
)]
async fn create_cidr(State(service): Svc, headers: HeaderMap, body: Body) -> Reply {
    let actor = authorize(&service, &headers, Scope::Policy).await?;
    let contents: CidrContents = read_json(&headers, body).await?;
    let cidr = run(&service, actor, move |s| s.create_cidr(contents)).await?;
    Ok(json(StatusCode::CREATED, cidr))
}

/// The token's actor and the id of an existing CIDR.
async fn cidr_target(
    service: &Arc<Service>,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Actor, CidrId), Failure> {
    let actor = authorize(service, headers, Scope::Policy).await?;
    let id: CidrId = id_of(id)?;
    if service.model().cidr(id).is_none() {
        return Err(Failure::NotFound(format!("CIDR {id} does not exist")));
    }
    Ok((actor, id))
}

#[utoipa::path(
    patch,
    path = "/api/v1/cidrs/{id}",
    tag = "policy",
    summary = "Renames a CIDR",
    params(("id" = i64, Path, description = "The CIDR")),
    request_body = Rename,
    responses((status = 204, description = "Done"))
)]
async fn rename_cidr(State(service): Svc, headers: HeaderMap, Path(id): Id, body: Body) -> Reply {
    let (actor, id) = cidr_target(&service, &headers, &id).await?;
    let rename: Rename = read_json(&headers, body).await?;
    run(&service, actor, move |s| s.rename_cidr(id, rename.name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/cidrs/{id}",
    tag = "policy",
    summary = "Deletes an unused CIDR",
    params(("id" = i64, Path, description = "The CIDR")),
    responses((status = 204, description = "Done"))
)]
async fn delete_cidr(State(service): Svc, headers: HeaderMap, Path(id): Id) -> Reply {
    let (actor, id) = cidr_target(&service, &headers, &id).await?;
    run(&service, actor, move |s| s.delete_cidr(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether a policy route only plans (`?plan=true`: a dry run that changes nothing).
fn plan_of(uri: &Uri) -> Result<bool, Failure> {
    Ok(super::routes::query_flag(uri.query(), "plan")?)
}

#[utoipa::path(
    put,
    path = "/api/v1/cidrs/{id}/isolation",
    tag = "policy",
    summary = "Isolates a CIDR (its members stop seeing each other) or ends that",
    params(("id" = i64, Path, description = "The CIDR"), ("plan" = Option<bool>, Query, description = "true: only plan (a dry run that changes nothing)")),
    request_body = IsolationContents,
    responses((status = 200, description = "What changed, or would", body = PolicyChange))
)]
async fn set_isolation(
    State(service): Svc,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Id,
    body: Body,
) -> Reply {
    let (actor, id) = cidr_target(&service, &headers, &id).await?;
    let plan = plan_of(&uri)?;
    let contents: IsolationContents = read_json(&headers, body).await?;
    let change = run(&service, actor, move |s| {
        s.set_isolation(id, contents.isolated, plan)
    })
    .await?;
    Ok(json(StatusCode::OK, change))
}

#[utoipa::path(
    put,
    path = "/api/v1/cidrs/{id}/auto-approval",
    tag = "policy",
    summary = "What peers of the CIDR subtree may offer as routes without an admin",
    params(("id" = i64, Path, description = "The CIDR")),
    request_body = AutoApprovalContents,
    responses((status = 204, description = "Done"))
)]
async fn set_auto_approval(
    State(service): Svc,
    headers: HeaderMap,
    Path(id): Id,
    body: Body,
) -> Reply {
    let (actor, id) = cidr_target(&service, &headers, &id).await?;
    let contents: AutoApprovalContents = read_json(&headers, body).await?;
    run(&service, actor, move |s| {
        s.set_auto_approval(id, &contents.prefixes, contents.exit)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/associations",
    tag = "policy",
    summary = "Every association",
    responses((status = 200, description = "The associations", body = [Association]))
)]
async fn list_associations(State(service): Svc, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok(json(StatusCode::OK, service.associations()))
}

#[utoipa::path(
    post,
    path = "/api/v1/associations",
    tag = "policy",
    summary = "Associates two CIDRs (their peers see each other)",
    request_body = AssociationContents,
    responses((status = 201, description = "The association", body = Association))
)]
async fn create_association(State(service): Svc, headers: HeaderMap, body: Body) -> Reply {
    let actor = authorize(&service, &headers, Scope::Policy).await?;
    let contents: AssociationContents = read_json(&headers, body).await?;
    let association = run(&service, actor, move |s| s.create_association(contents)).await?;
    Ok(json(StatusCode::CREATED, association))
}

#[utoipa::path(
    delete,
    path = "/api/v1/associations/{id}",
    tag = "policy",
    summary = "Deletes an association",
    params(("id" = i64, Path, description = "The association")),
    responses((status = 204, description = "Done"))
)]
async fn delete_association(State(service): Svc, headers: HeaderMap, Path(id): Id) -> Reply {
    let actor = authorize(&service, &headers, Scope::Policy).await?;
    let id: AssociationId = id_of(&id)?;
    if !service.model().associations().iter().any(|a| a.id == id) {
        return Err(Failure::NotFound(format!(
            "association {id} does not exist"
        )));
    }
    run(&service, actor, move |s| s.delete_association(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/rules",
    tag = "policy",
    summary = "The port and protocol rules, isolated CIDRs, and who enforces them",
    responses((status = 200, description = "The policy", body = PolicyListing))
)]
async fn list_rules(State(service): Svc, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok(json(StatusCode::OK, service.policy_listing()))
}

#[utoipa::path(
    post,
    path = "/api/v1/rules",
    tag = "policy",
    summary = "Adds a rule",
    params(("plan" = Option<bool>, Query, description = "true: only plan (a dry run that changes nothing)")),
    request_body = RuleContents,
    responses((status = 201, description = "The rule and what it changes", body = PolicyChange), (status = 200, description = "The plan (with plan=true)", body = PolicyChange))
)]
async fn add_rule(State(service): Svc, headers: HeaderMap, uri: Uri, body: Body) -> Reply {
    let actor = authorize(&service, &headers, Scope::Policy).await?;
    let plan = plan_of(&uri)?;
    let contents: RuleContents = read_json(&headers, body).await?;
    let change = run(&service, actor, move |s| s.add_rule(contents, plan)).await?;
    let status = if change.committed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, change))
}

#[utoipa::path(
    delete,
    path = "/api/v1/rules/{id}",
    tag = "policy",
    summary = "Deletes a rule",
    params(("id" = i64, Path, description = "The rule"), ("plan" = Option<bool>, Query, description = "true: only plan (a dry run that changes nothing)")),
    responses((status = 200, description = "What changed, or would", body = PolicyChange))
)]
async fn delete_rule(State(service): Svc, headers: HeaderMap, uri: Uri, Path(id): Id) -> Reply {
    let actor = authorize(&service, &headers, Scope::Policy).await?;
    let id: RuleId = id_of(&id)?;
    let plan = plan_of(&uri)?;
    let change = run(&service, actor, move |s| s.delete_rule(id, plan)).await?;
    Ok(json(StatusCode::OK, change))
}

#[utoipa::path(
    get,
    path = "/api/v1/routes",
    tag = "policy",
    summary = "Every route offer and auto-approval",
    responses((status = 200, description = "The routes", body = RouteBook))
)]
async fn list_routes(State(service): Svc, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok(json(StatusCode::OK, &*service.route_book()))
}

/// The token's actor and the id of an existing peer (a gateway of routes).
async fn gateway_target(
    service: &Arc<Service>,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Actor, PeerId), Failure> {
    let actor = authorize(service, headers, Scope::Policy).await?;
    let id: PeerId = id_of(id)?;
    if service.model().peer(id).is_none() {
        return Err(Failure::NotFound(format!("peer {id} does not exist")));
    }
    Ok((actor, id))
}

#[utoipa::path(
    put,
    path = "/api/v1/peers/{id}/routes",
    tag = "policy",
    summary = "What a gateway peer offers (nothing: withdrawn)",
    params(("id" = i64, Path, description = "The gateway peer")),
    request_body = RouteOffer,
    responses((status = 200, description = "The gateway routes", body = [Route]))
)]
async fn offer_routes(State(service): Svc, headers: HeaderMap, Path(id): Id, body: Body) -> Reply {
    let (actor, gateway) = gateway_target(&service, &headers, &id).await?;
    let offer: RouteOffer = read_json(&headers, body).await?;
    let routes = run(&service, actor, move |s| s.replace_offer(gateway, &offer)).await?;
    Ok(json(StatusCode::OK, routes))
}

#[utoipa::path(
    put,
    path = "/api/v1/peers/{id}/routes/approval",
    tag = "policy",
    summary = "Approves a gateway routes, or takes the approval back",
    params(("id" = i64, Path, description = "The gateway peer")),
    request_body = RouteApproval,
    responses((status = 200, description = "The gateway routes", body = [Route]))
)]
async fn approve_routes(
    State(service): Svc,
    headers: HeaderMap,
    Path(id): Id,
    body: Body,
) -> Reply {
    let (actor, gateway) = gateway_target(&service, &headers, &id).await?;
    let approval: RouteApproval = read_json(&headers, body).await?;
    let routes = run(&service, actor, move |s| {
        s.approve_routes(gateway, &approval.routes, approval.approved)
    })
    .await?;
    Ok(json(StatusCode::OK, routes))
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "network",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
async fn openapi_document(State(service): Svc, headers: HeaderMap) -> Reply {
    authorize(&service, &headers, Scope::Read).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
        .into_response())
}

/// `GET /api/v1/status`: the server's live view of every peer.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "network",
    summary = "The server live view of every peer: last handshake, transfer, endpoint",
    responses((status = 200, description = "Every peer but the server", body = [PeerStatus]))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "network",
    summary = "The newest entries of the audit log, oldest first",
    params(("limit" = Option<usize>, Query, description = "How many (default 100, at most 10,000)")),
    responses((status = 200, description = "The entries", body = AuditPage))
)]
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
    Ok(json(StatusCode::OK, AuditPage { entries }))
}

/// `GET /api/v1/audit`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    pub entries: Vec<crate::store::AuditEntry>,
}
