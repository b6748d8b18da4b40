//! What a service operation can fail with; the HTTP layer maps each kind to a status.

use wiremesh_shared::alloc::AllocError;
use wiremesh_shared::cidr::CidrError;
use wiremesh_shared::invite::{InviteError, PeerCidrError};
use wiremesh_shared::policy::PolicyError;

use crate::store::StoreError;

/// Why a caller may not do something (always 401 on the wire; the reason is logged and sent
/// in the error body for wiremesh clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    UnknownPeer,
    Disabled,
    NotRedeemed,
    NotAdmin,
    AlreadyRedeemed,
    InviteExpired,
    WrongServerKey,
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::UnknownPeer => "no peer has this source address",
            Denied::Disabled => "this peer is disabled",
            Denied::NotRedeemed => "this peer has not redeemed its invitation yet",
            Denied::NotAdmin => "this peer is not an admin",
            Denied::AlreadyRedeemed => "this invitation was already redeemed",
            Denied::InviteExpired => "this invitation has expired",
            Denied::WrongServerKey => "the X-Innernet-Server-Key header does not name this server",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("unauthorized: {}", .0.reason())]
    Denied(Denied),
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: i64 },
    #[error(transparent)]
    Cidr(#[from] CidrError),
    #[error(transparent)]
    Alloc(#[from] AllocError),
    /// A rule of the network was broken; the message says which.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("too many candidates: {count}, at most {max} allowed")]
    TooManyCandidates { count: usize, max: usize },
    /// A rule or isolation that cannot be made as asked.
    #[error(transparent)]
    Policy(PolicyError),
    /// A route offer or approval that breaks the routes' rules.
    #[error(transparent)]
    Route(wiremesh_shared::routes::RouteError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<PolicyError> for ServiceError {
    fn from(error: PolicyError) -> Self {
        match error {
            PolicyError::RuleNotFound { id } => ServiceError::NotFound {
                what: "rule",
                id: id.0,
            },
            other => ServiceError::Policy(other),
        }
    }
}

/// Broken rules that are not about CIDR structure or addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// An invitation that cannot be made as asked.
    #[error(transparent)]
    Invitation(InviteError),
    /// The CIDR cannot take a new peer (not a leaf, or the infra CIDR).
    #[error(transparent)]
    PeerCidr(#[from] PeerCidrError),
    #[error("the server peer {name:?} cannot be {action}")]
    ServerPeer { name: String, action: &'static str },
    #[error("a CIDR cannot be associated with itself")]
    SelfAssociation,
    #[error("an endpoint's port cannot be 0")]
    ZeroPort,
    #[error("the public key is the server's own key")]
    ServerKey,
    #[error("CIDR id {id} does not exist")]
    UnknownCidr { id: i64 },
    #[error("invalid query parameter {parameter}={value:?}: expected a whole number")]
    Query { parameter: String, value: String },
    #[error("{what} is still named by {rules} policy rule(s) ({ids}); delete them first")]
    NamedByRules {
        what: String,
        rules: usize,
        ids: String,
    },
    #[error("CIDR {id} is isolated; end its isolation first")]
    IsolatedCidr { id: i64 },
    #[error("no peer has the address {address}")]
    NoPeerAt { address: std::net::IpAddr },
    #[error("hub {hub:?} has no public endpoint for devices to reach; give it one first (`wiremesh override-endpoint` on the hub, or the server's `--external-endpoint`)")]
    NoHubEndpoint { hub: String },
    #[error("peer {hub:?} cannot be a hub: {why}")]
    NotAHub { hub: String, why: String },
    #[error("peer {hub:?} is the hub of device(s) {devices}; delete them or give them another hub first")]
    HubOfDevices { hub: String, devices: String },
    #[error(
        "the server's endpoint must name a host (an address or a DNS name), not 0.0.0.0 or [::]"
    )]
    UnspecifiedServerEndpoint,
    #[error("{why}")]
    Token { why: String },
    #[error("an ephemeral peer's window of {given} s is too short: at least {min} s (an online peer may not be heard from for that long)")]
    EphemeralWindow { given: u64, min: u64 },
    #[error("peer {name:?} may not delete itself: the server's settings forbid it (ask an admin to delete it)")]
    SelfDeletionForbidden { name: String },
    #[error(
        "peer {name:?} is a device; {action} it with wiremesh-server or a wiremesh admin client"
    )]
    Device { name: String, action: &'static str },
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { what } => ServiceError::Conflict { what },
            StoreError::NotFound { what, id } => ServiceError::NotFound { what, id },
            other => ServiceError::Store(other),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl From<InviteError> for ServiceError {
    /// The new-peer rules' verdicts as the service reports them (the same kinds, and so the
    /// same statuses, as before the rules moved to `wiremesh-shared`).
    fn from(error: InviteError) -> Self {
        match error {
            InviteError::UnknownCidr { id } => ServiceError::NotFound {
                what: "CIDR",
                id: id.0,
            },
            InviteError::Cidr(error) => Invalid::PeerCidr(error).into(),
            InviteError::NameTaken { name } => ServiceError::Conflict {
                what: format!("a peer named {name:?}"),
            },
            InviteError::Address { source, .. } => ServiceError::Alloc(source),
            InviteError::KeyTaken => ServiceError::Conflict {
                what: "a peer with this public key".into(),
            },
            other @ (InviteError::ExpiryTooFar { .. } | InviteError::NoRoot) => {
                ServiceError::Invalid(Invalid::Invitation(other))
            }
        }
    }
}
