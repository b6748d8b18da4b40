//! The client side of the `/v1` API: one typed method per route, over the tunnel.
//!
//! Requests go to `http://<internal-endpoint>/v1/...` with the server's public key in
//! `X-Innernet-Server-Key` (so a different server answering at the same address refuses
//! us); no redirects are followed and every request has an overall timeout. Failures are
//! split into "could not talk to the server" ([`ApiError::Unreachable`], the daemon keeps
//! going) and "the server said no" ([`ApiError::Status`], with advice for a person).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use wireguard_control::PublicKey;
use wiremesh_shared::devices::{DeviceInfo, IssuedDeviceBody, NewDeviceContents};
use wiremesh_shared::policy::{RuleContents, Transport};
use wiremesh_shared::routes::{Route, RouteBook};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, ClientReport, EndpointContents,
    ErrorBody, Peer, PeerContents, PeerPatch, RedeemContents, ServerCapabilities, State,
    StateDelta,
};
use wiremesh_shared::wire::{AutoApprovalContents, RouteApproval, RouteOffer};
use wiremesh_shared::wire::{Explanation, IsolationContents, PolicyChange, PolicyListing};
use wiremesh_shared::{AssociationId, CidrId, Endpoint, PeerId, RuleId};

/// innernet's client timeout; a `/v1/user/state` of 10,000 peers arrives well within it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response accepted (a 50,000-peer state is about 15 MB).
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No answer: the tunnel or the server is down, or the request timed out.
    #[error("failed to reach the server at {server} ({method} {path}): {detail}")]
    Unreachable {
        server: SocketAddr,
        method: &'static str,
        path: String,
        detail: String,
        /// No connection was ever established, so the server cannot have seen the request
        /// and sending it again is safe.
        not_connected: bool,
    },
    /// The server answered with an error status.
    #[error("{}", status_message(*.status, .method, .path, .message.as_deref()))]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        message: Option<String>,
    },
    /// The server answered 2xx with a body that is not what the route returns.
    #[error("the server's answer to {method} {path} is not valid: {detail}")]
    BadResponse {
        method: &'static str,
        path: String,
        detail: String,
    },
}

impl ApiError {
    /// Whether the failure is "could not talk to the server" rather than a refusal.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApiError::Unreachable { .. })
    }

    /// Whether the request certainly never reached the server (no connection was made).
    pub fn never_sent(&self) -> bool {
        matches!(
            self,
            ApiError::Unreachable {
                not_connected: true,
                ..
            }
        )
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn status_message(status: u16, method: &str, path: &str, message: Option<&str>) -> String {
    let said = message.map(|m| format!(": {m}")).unwrap_or_default();
    let advice = match status {
        401 => {
            " — the server does not accept this peer: it may be disabled, its invitation may have \
             expired or been used already, the server key in the config may be wrong, or an admin \
             command was run by a non-admin peer"
        }
        404 => " — the server does not know this route or object (an older or different server?)",
        400 => "",
        413 => " — too much data in one request",
        429 => {
            " — this peer already holds as many connections or long polls as the server allows \
             one peer; wait for its other requests to finish (the limits are in the server's \
             operator guide, \"Limits\")"
        }
        500..=599 => " — the server failed; its log says why",
        _ => "",
    };
    format!("the server refused {method} {path} with HTTP {status}{said}{advice}")
}

/// A client of one network's coordination server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    server: SocketAddr,
    server_key: PublicKey,
    agent: ureq::Agent,
}

impl ApiClient {
    /// A client of the server at `server` (its WireGuard address and API port) whose public
    /// key is `server_key`.
    pub fn new(server: SocketAddr, server_key: PublicKey) -> Self {
        Self::with_timeout(server, server_key, DEFAULT_TIMEOUT)
    }

    pub fn with_timeout(server: SocketAddr, server_key: PublicKey, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // A separate, shorter connect timeout tells "never connected" (safe to retry)
            // apart from "connected but no answer".
            .timeout_connect(Some(timeout / 2))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Self {
            server,
            server_key,
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server)
    }

    fn unreachable(&self, method: &'static str, path: &str, error: ureq::Error) -> ApiError {
        let not_connected = matches!(
            &error,
            ureq::Error::Timeout(ureq::Timeout::Connect) | ureq::Error::ConnectionFailed
        ) || matches!(&error, ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused);
        ApiError::Unreachable {
            server: self.server,
            method,
            path: path.to_owned(),
            detail: error.to_string(),
            not_connected,
        }
    }

    /// Sends a request (with `body` as JSON when given) and returns the successful response.
    fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&dyn erased::Json>,
    ) -> Result<ureq::http::Response<ureq::Body>, ApiError> {
        let url = self.url(path);
        let key = self.server_key.to_base64();
        let result = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("X-Innernet-Server-Key", &key)
                .call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("X-Innernet-Server-Key", &key)
                .call(),
            (_, body) => {
                let bytes = match body {
                    Some(body) => body.to_json_vec(),
                    None => Ok(b"null".to_vec()),
                }
                .map_err(|e| ApiError::BadResponse {
                    method,
                    path: path.to_owned(),
                    detail: e.to_string(),
                })?;
                let request = match method {
                    "POST" => self.agent.post(&url),
                    "PATCH" => self.agent.patch(&url),
                    _ => self.agent.put(&url),
                };
                request
                    .header("X-Innernet-Server-Key", &key)
                    .header("Content-Type", "application/json")
                    .send(&bytes[..])
            }
        };
        let mut response = result.map_err(|e| self.unreachable(method, path, e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        // wiremesh servers explain errors in a small JSON body; innernet sends none.
        let message = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .ok()
            .and_then(|text| serde_json::from_str::<ErrorBody>(&text).ok())
            .map(|body| body.error);
        Err(ApiError::Status {
            method,
            path: path.to_owned(),
            status,
            message,
        })
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&dyn erased::Json>,
    ) -> Result<T, ApiError> {
        let mut response = self.send(method, path, body)?;
        response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_json()
            .map_err(|e| ApiError::BadResponse {
                method,
                path: path.to_owned(),
                detail: e.to_string(),
            })
    }

    fn empty(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&dyn erased::Json>,
    ) -> Result<(), ApiError> {
        self.send(method, path, body).map(drop)
    }

    // ---- user routes --------------------------------------------------------------------

    pub fn state(&self) -> Result<State, ApiError> {
        self.json("GET", "/v1/user/state", None)
    }

    /// The server's capabilities; an innernet server older than 1.7 answers 404, which
    /// means "none".
    /// `GET /v2/user/state` (wiremesh servers advertising `v2-state`): the changes since
    /// `since` (epoch, revision), or the full state without one; the server holds the request
    /// up to `wait_secs` when nothing changed. The client's timeout must exceed the wait.
    pub fn state_delta(
        &self,
        since: Option<(u64, u64)>,
        wait_secs: u64,
    ) -> Result<StateDelta, ApiError> {
        let path = match since {
            Some((epoch, revision)) => {
                format!("/v2/user/state?epoch={epoch}&revision={revision}&wait={wait_secs}")
            }
            None => format!("/v2/user/state?wait={wait_secs}"),
        };
        self.json("GET", &path, None)
    }

    pub fn capabilities(&self) -> Result<ServerCapabilities, ApiError> {
        match self.json("GET", "/v1/user/capabilities", None) {
            Err(ApiError::Status { status: 404, .. }) => Ok(ServerCapabilities::default()),
            other => other,
        }
    }

    pub fn redeem(&self, public_key: PublicKey) -> Result<(), ApiError> {
        self.empty(
            "POST",
            "/v1/user/redeem",
            Some(&RedeemContents { public_key }),
        )
    }

    pub fn set_endpoint(&self, endpoint: Option<Endpoint>) -> Result<(), ApiError> {
        self.empty(
            "PUT",
            "/v1/user/endpoint",
            Some(&EndpointContents::from(endpoint)),
        )
    }

    pub fn set_candidates(&self, candidates: &[Endpoint]) -> Result<(), ApiError> {
        self.empty("PUT", "/v1/user/candidates", Some(&candidates))
    }

    /// `POST /v2/user/report` (servers advertising `policy`).
    pub fn report(&self, report: &ClientReport) -> Result<(), ApiError> {
        self.empty("POST", "/v2/user/report", Some(report))
    }

    // ---- admin routes -------------------------------------------------------------------

    pub fn peers(&self) -> Result<Vec<Peer>, ApiError> {
        self.json("GET", "/v1/admin/peers", None)
    }

    pub fn create_peer(&self, contents: &PeerContents) -> Result<Peer, ApiError> {
        self.json("POST", "/v1/admin/peers", Some(contents))
    }

    pub fn update_peer(&self, id: PeerId, contents: &PeerContents) -> Result<(), ApiError> {
        self.empty("PUT", &format!("/v1/admin/peers/{id}"), Some(contents))
    }

    /// `PATCH /v2/admin/peers/{id}` (servers advertising `peer-patch`).
    pub fn patch_peer(&self, id: PeerId, patch: &PeerPatch) -> Result<(), ApiError> {
        self.empty("PATCH", &format!("/v2/admin/peers/{id}"), Some(patch))
    }

    /// `POST /v2/admin/peers`: a new peer with wiremesh's options (servers advertising
    /// `ephemeral-peers`).
    pub fn create_peer_v2(&self, new: &wiremesh_shared::wire::NewPeer) -> Result<Peer, ApiError> {
        self.json("POST", "/v2/admin/peers", Some(new))
    }

    /// `DELETE /v2/admin/peers/{id}`: deletion for good (servers advertising
    /// `peer-deletion`).
    pub fn delete_peer(&self, id: PeerId) -> Result<(), ApiError> {
        self.empty("DELETE", &format!("/v2/admin/peers/{id}"), None)
    }

    /// `DELETE /v2/user`: this peer deletes itself (servers advertising `peer-deletion`).
    pub fn deregister(&self) -> Result<wiremesh_shared::wire::Deregistered, ApiError> {
        self.json("DELETE", "/v2/user", None)
    }

    pub fn cidrs(&self) -> Result<Vec<Cidr>, ApiError> {
        self.json("GET", "/v1/admin/cidrs", None)
    }

    pub fn create_cidr(&self, contents: &CidrContents) -> Result<Cidr, ApiError> {
        self.json("POST", "/v1/admin/cidrs", Some(contents))
    }

    pub fn update_cidr(&self, id: CidrId, contents: &CidrContents) -> Result<(), ApiError> {
        self.empty("PUT", &format!("/v1/admin/cidrs/{id}"), Some(contents))
    }

    pub fn delete_cidr(&self, id: CidrId) -> Result<(), ApiError> {
        self.empty("DELETE", &format!("/v1/admin/cidrs/{id}"), None)
    }

    pub fn associations(&self) -> Result<Vec<Association>, ApiError> {
        self.json("GET", "/v1/admin/associations", None)
    }

    pub fn create_association(&self, contents: &AssociationContents) -> Result<(), ApiError> {
        self.empty("POST", "/v1/admin/associations", Some(contents))
    }

    pub fn delete_association(&self, id: AssociationId) -> Result<(), ApiError> {
        self.empty("DELETE", &format!("/v1/admin/associations/{id}"), None)
    }

    // ---- admin: the port and protocol policy (servers advertising `policy`) -------------

    pub fn policy_listing(&self) -> Result<PolicyListing, ApiError> {
        self.json("GET", "/v2/admin/rules", None)
    }

    pub fn add_rule(&self, rule: &RuleContents, plan: bool) -> Result<PolicyChange, ApiError> {
        self.json("POST", &format!("/v2/admin/rules?plan={plan}"), Some(rule))
    }

    pub fn delete_rule(&self, id: RuleId, plan: bool) -> Result<PolicyChange, ApiError> {
        self.json("DELETE", &format!("/v2/admin/rules/{id}?plan={plan}"), None)
    }

    pub fn set_isolation(
        &self,
        id: CidrId,
        isolated: bool,
        plan: bool,
    ) -> Result<PolicyChange, ApiError> {
        self.json(
            "PUT",
            &format!("/v2/admin/cidrs/{id}/isolation?plan={plan}"),
            Some(&IsolationContents { isolated }),
        )
    }

    pub fn explain(
        &self,
        src: IpAddr,
        dst: IpAddr,
        transport: Transport,
    ) -> Result<Explanation, ApiError> {
        let what = match transport {
            Transport::Tcp { port } => format!("proto=tcp&port={port}"),
            Transport::Udp { port } => format!("proto=udp&port={port}"),
            Transport::Icmp { kind } => format!("proto=icmp&type={kind}"),
            Transport::Other { protocol } => format!("proto={protocol}"),
        };
        self.json(
            "GET",
            &format!("/v2/admin/explain?src={src}&dst={dst}&{what}"),
            None,
        )
    }
}

impl ApiClient {
    // ---- routes (servers advertising `routes`) ------------------------------------------

    /// `PUT /v2/user/routes`: this host's whole offer (empty: withdraw everything).
    pub fn offer_own_routes(&self, offer: &RouteOffer) -> Result<Vec<Route>, ApiError> {
        self.json("PUT", "/v2/user/routes", Some(offer))
    }

    pub fn route_book(&self) -> Result<RouteBook, ApiError> {
        self.json("GET", "/v2/admin/routes", None)
    }

    pub fn offer_routes(
        &self,
        gateway: PeerId,
        offer: &RouteOffer,
    ) -> Result<Vec<Route>, ApiError> {
        self.json(
            "PUT",
            &format!("/v2/admin/peers/{gateway}/routes"),
            Some(offer),
        )
    }

    pub fn approve_routes(
        &self,
        gateway: PeerId,
        approval: &RouteApproval,
    ) -> Result<Vec<Route>, ApiError> {
        self.json(
            "PUT",
            &format!("/v2/admin/peers/{gateway}/routes/approval"),
            Some(approval),
        )
    }

    pub fn set_auto_approval(
        &self,
        cidr: CidrId,
        contents: &AutoApprovalContents,
    ) -> Result<(), ApiError> {
        self.empty(
            "PUT",
            &format!("/v2/admin/cidrs/{cidr}/auto-approval"),
            Some(contents),
        )
    }
}

impl ApiClient {
    // ---- devices (servers advertising `devices`) ----------------------------------------

    pub fn devices(&self) -> Result<Vec<DeviceInfo>, ApiError> {
        self.json("GET", "/v2/admin/devices", None)
    }

    pub fn create_device(
        &self,
        contents: &NewDeviceContents,
    ) -> Result<IssuedDeviceBody, ApiError> {
        self.json("POST", "/v2/admin/devices", Some(contents))
    }

    pub fn reissue_device(&self, id: PeerId) -> Result<IssuedDeviceBody, ApiError> {
        self.json("POST", &format!("/v2/admin/devices/{id}/config"), None)
    }
}

/// Object-safe JSON encoding, so request bodies of different types share one `send`.
mod erased {
    pub trait Json {
        fn to_json_vec(&self) -> Result<Vec<u8>, serde_json::Error>;
    }

    impl<T: super::Serialize + ?Sized> Json for T {
        fn to_json_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
            serde_json::to_vec(self)
        }
    }
}
