//! The `/v1` JSON wire types: bodies of requests and responses, byte-compatible with innernet.
//!
//! Field names, order and encodings follow innernet 2.0.0 exactly (compat §1.8): addresses and
//! networks as strings (networks keep their host bits as given), keys as padded base64,
//! endpoints as `host:port` strings, timestamps in serde's `{"secs_since_epoch",
//! "nanos_since_epoch"}` form. Unknown fields are ignored and optional fields may be missing or
//! `null`, so either side can add fields. Unlike innernet, keys, peer names and endpoints are
//! validated while parsing: a bad one fails the whole body with a message naming it.
//!
//! These are transport shapes, not the domain: callers convert them to and from their own
//! types at the edge.
//!
//! # Changelog
//!
//! - 2026-11-22: /v1 as innernet 2.0.0 (peers, CIDRs, associations, state, redeem, endpoint
//!   override, candidates, capabilities). wiremesh adds an optional `wiremesh` object to
//!   `/v1/user/capabilities` (version and feature list), which innernet clients ignore.
//! - 2026-11-22: `GET /v2/user/state?epoch=E&revision=R&wait=S` (feature `v2-state`): the
//!   changes to the caller's visible state since revision `R` of server epoch `E`
//!   ([`StateDelta`]), answered at once when there are any, else held open until a change
//!   that concerns the caller or `S` seconds (at most [`MAX_WAIT_SECS`]) pass. An unknown
//!   epoch or a revision outside the server's window gets the full state (`full: true`).
//! - 2026-12-05: `PATCH /v2/admin/peers/{id}` (feature `peer-patch`): changes only the
//!   fields a [`PeerPatch`] names.
//! - 2026-12-06: port and protocol policy (feature `policy`): `/v2/user/state` answers carry
//!   the caller's compiled ruleset ([`StateDelta::policy`]), `/v1/user/state` carries it as an
//!   extra `policy` field innernet ignores; `POST /v2/user/report` (a client's version,
//!   features and applied ruleset); the admin routes under `/v2/admin/rules`,
//!   `/v2/admin/cidrs/{id}/isolation` and `/v2/admin/explain`.
//! - 2026-12-06: devices (feature `devices`): the routes of `/v2` answers list the devices a
//!   peer reaches through their hubs (`devices`), and a hub's list the devices it hosts with
//!   their preshared keys (`hosted`) and its table's duties (`hub`); `/v1/admin/peers` shows
//!   devices as disabled rows and refuses a `PUT` on one; `GET`/`POST /v2/admin/devices` and
//!   `POST /v2/admin/devices/{id}/config`. A client reports `devices` when it can be a hub.
//! - 2026-12-06: deletion (feature `peer-deletion`): `DELETE /v2/admin/peers/{id}` deletes
//!   for good, `DELETE /v2/user` ([`Deregistered`]) deletes the caller; `/v1/admin/peers`
//!   lists deleted peers as disabled rows named `<name>-deleted-<id>`.
//! - 2026-12-06: ephemeral peers (feature `ephemeral-peers`): `POST /v2/admin/peers` takes a
//!   [`NewPeer`].

use std::net::IpAddr;
use std::ops::{Deref, DerefMut};
use std::time::SystemTime;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AssociationId, CidrId, PeerId};
use crate::names::Hostname;
use crate::policy::HostRuleset;
use crate::routes::RouteView;
use crate::PublicKey;

/// Most NAT candidates a peer may report; longer lists are cut to this many.
pub const MAX_CANDIDATES: usize = 10;
/// Largest request body the server reads, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Keepalive every peer gets, in seconds; innernet reports 25 for every peer on every read.
pub const PERSISTENT_KEEPALIVE_INTERVAL_SECS: u16 = 25;

/// Everything about a peer except its id: the body of creating a peer, flattened into [`Peer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeerContents {
    pub name: Hostname,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ip: IpAddr,
    pub cidr_id: CidrId,
    #[serde(with = "base64_key")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: PublicKey,
    /// The override endpoint; its host may be unspecified (`0.0.0.0:PORT`): "the address the
    /// server sees, this port".
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    #[serde(default)]
    pub persistent_keepalive_interval: Option<u16>,
    pub is_admin: bool,
    pub is_disabled: bool,
    pub is_redeemed: bool,
    /// When an unredeemed invitation lapses; innernet keeps it after redemption.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::SystemTimeWire>))]
    pub invite_expires: Option<SystemTime>,
    /// NAT traversal candidates reported by the peer (and the server-observed endpoint).
    #[serde(default)]
    pub candidates: Vec<Endpoint>,
}

/// A stored peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Peer {
    pub id: PeerId,
    #[serde(flatten)]
    pub contents: PeerContents,
}

/// A CIDR without its id: the body of creating one, flattened into [`Cidr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CidrContents {
    pub name: String,
    /// Kept as given: `10.66.1.7/24` stays that, host bits included.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub cidr: IpNet,
    /// `None` only for the root.
    #[serde(default)]
    pub parent: Option<CidrId>,
}

/// A stored CIDR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cidr {
    pub id: CidrId,
    #[serde(flatten)]
    pub contents: CidrContents,
}

/// An undirected link between two CIDRs whose peers may see each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssociationContents {
    pub cidr_id_1: CidrId,
    pub cidr_id_2: CidrId,
}

/// A stored association.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Association {
    pub id: AssociationId,
    #[serde(flatten)]
    pub contents: AssociationContents,
}

/// `GET /v1/user/state`: the peers the caller may see and all CIDRs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    pub peers: Vec<Peer>,
    pub cidrs: Vec<Cidr>,
    /// wiremesh's extra field: the caller's compiled port and protocol ruleset. innernet
    /// servers never send it, and innernet clients ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<HostRuleset>,
    /// wiremesh's extra field: the routes the caller receives and offers. innernet servers
    /// never send it, and innernet clients ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<RouteView>,
}

/// `POST /v1/user/redeem`: the permanent public key replacing the invitation's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemContents {
    #[serde(with = "base64_key")]
    pub public_key: PublicKey,
}

/// `PUT /v1/user/endpoint`: set or clear the caller's override endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "option", content = "content")]
pub enum EndpointContents {
    Set(Endpoint),
    Unset,
}

impl From<Option<Endpoint>> for EndpointContents {
    fn from(endpoint: Option<Endpoint>) -> Self {
        match endpoint {
            Some(endpoint) => Self::Set(endpoint),
            None => Self::Unset,
        }
    }
}

impl From<EndpointContents> for Option<Endpoint> {
    fn from(contents: EndpointContents) -> Self {
        match contents {
            EndpointContents::Set(endpoint) => Some(endpoint),
            EndpointContents::Unset => None,
        }
    }
}

/// `GET /v1/user/capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerCapabilities {
    /// Whether an override endpoint may be `0.0.0.0:PORT` / `[::]:PORT`.
    #[serde(default)]
    pub unspecified_ip_in_override_endpoint: bool,
    /// Present only on wiremesh servers; innernet neither sends nor reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wiremesh: Option<WiremeshCapabilities>,
}

/// What a wiremesh server offers beyond `/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiremeshCapabilities {
    /// The server's version, e.g. `0.1.0`.
    pub version: String,
    /// Names of optional features, e.g. `v2-state`.
    #[serde(default)]
    pub features: Vec<String>,
}

/// Body of a wiremesh error response (innernet sends empty bodies; its clients ignore ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
}

macro_rules! deref_to_contents {
    ($outer:ty => $inner:ty) => {
        impl Deref for $outer {
            type Target = $inner;

            fn deref(&self) -> &$inner {
                &self.contents
            }
        }

        impl DerefMut for $outer {
            fn deref_mut(&mut self) -> &mut $inner {
                &mut self.contents
            }
        }
    };
}

deref_to_contents!(Peer => PeerContents);
deref_to_contents!(Cidr => CidrContents);
deref_to_contents!(Association => AssociationContents);

/// Serde for WireGuard keys as padded base64 strings: `#[serde(with = "base64_key")]`.
///
/// Errors about a private key never repeat its text, so a mistyped key does not end up in a log.
pub mod base64_key {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use wireguard_control::{KeyError, PrivateKey, PublicKey};

    /// A key type that travels as base64.
    pub trait Base64Key: Sized {
        fn to_base64(&self) -> String;
        fn from_base64(text: &str) -> Result<Self, KeyError>;
        /// The message for a key that did not parse.
        fn describe_error(error: KeyError) -> String;
    }

    impl Base64Key for PublicKey {
        fn to_base64(&self) -> String {
            PublicKey::to_base64(self)
        }

        fn from_base64(text: &str) -> Result<Self, KeyError> {
            PublicKey::from_base64(text)
        }

        fn describe_error(error: KeyError) -> String {
            format!("invalid public key: {error}")
        }
    }

    impl Base64Key for PrivateKey {
        fn to_base64(&self) -> String {
            PrivateKey::to_base64(self)
        }

        fn from_base64(text: &str) -> Result<Self, KeyError> {
            PrivateKey::from_base64(text)
        }

        fn describe_error(error: KeyError) -> String {
            let reason = match error {
                KeyError::Length { len, .. } => {
                    format!("it decodes to {len} bytes, a WireGuard key has 32")
                }
                KeyError::Base64 { .. } | KeyError::Hex { .. } => {
                    "it is not 44 characters of base64".to_owned()
                }
            };
            format!("invalid private key (value not shown): {reason}")
        }
    }

    /// Writes the key as base64.
    pub fn serialize<K: Base64Key, S: Serializer>(
        key: &K,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&key.to_base64())
    }

    /// Reads a base64 key, failing with a clear message.
    pub fn deserialize<'de, K: Base64Key, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<K, D::Error> {
        let text = String::deserialize(deserializer)?;
        K::from_base64(&text).map_err(|error| de::Error::custom(K::describe_error(error)))
    }
}

/// The capability feature name of `/v2/user/state`.
pub const V2_STATE_FEATURE: &str = "v2-state";
/// The capability feature name of `PATCH /v2/admin/peers/{id}`.
pub const PEER_PATCH_FEATURE: &str = "peer-patch";
/// The capability feature name of the port and protocol policy.
pub const POLICY_FEATURE: &str = "policy";
/// The capability feature name of routes through gateway peers and exit nodes.
pub const ROUTES_FEATURE: &str = "routes";
/// Devices: a server advertising it has the `/v2/admin/devices` routes and sends device
/// routes; a client reporting it can be the hub of devices (it puts them on its interface
/// and forwards for them).
pub const DEVICES_FEATURE: &str = "devices";

/// Deletion for good: `DELETE /v2/admin/peers/{id}` and `DELETE /v2/user` (a peer
/// deregistering itself).
pub const DELETION_FEATURE: &str = "peer-deletion";

/// Ephemeral peers: `POST /v2/admin/peers` takes a [`NewPeer`] with `ephemeral_secs`.
pub const EPHEMERAL_FEATURE: &str = "ephemeral-peers";

/// `PUT /v2/user/routes` (a gateway's own offer) and `PUT /v2/admin/peers/{id}/routes`: the
/// whole offer; what the gateway offered before and this leaves out is withdrawn, and an
/// empty offer withdraws everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteOffer {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub routes: Vec<IpNet>,
    /// Offer the default route of the mesh's family: be an exit node.
    #[serde(default)]
    pub exit: bool,
}

/// `PUT /v2/admin/peers/{id}/routes/approval`: approve (or take back) a gateway's routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteApproval {
    /// The networks; empty: every route the gateway offers.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub routes: Vec<IpNet>,
    pub approved: bool,
}

/// `PUT /v2/admin/cidrs/{id}/auto-approval`: what peers of the CIDR's subtree may offer
/// without an admin (nothing: no auto-approval).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoApprovalContents {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub prefixes: Vec<IpNet>,
    #[serde(default)]
    pub exit: bool,
}

/// Longest report body a client may send (its error text is cut to fit).
pub const MAX_REPORT_ERROR_BYTES: usize = 1024;

/// `POST /v2/user/report`: what a wiremesh client says about itself after each sync that
/// changed something it reports (and when its daemon starts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReport {
    /// The client's version, e.g. `0.1.0`.
    pub version: String,
    /// What the client can do (e.g. `policy`).
    #[serde(default)]
    pub features: Vec<String>,
    /// Whether it enforces the port and protocol policy, and which ruleset.
    pub policy: PolicyReport,
}

/// Whether a host enforces its ruleset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PolicyReport {
    /// The ruleset with this digest ([`HostRuleset::digest`]) is programmed.
    Enforced { digest: String },
    /// Programming the ruleset failed (`nft` missing, refused, …).
    Failed { digest: String, error: String },
    /// The host's operator turned enforcement off.
    Off,
}

/// `PATCH /v2/admin/peers/{id}`: the fields to change. The others keep the values the
/// server holds when it applies the patch, so a change another admin made meanwhile (a
/// disable, a rename) is never undone, as a read-modify-`PUT` through `/v1` can. A field
/// the server does not know is an error, never a silent no-op.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Hostname>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_disabled: Option<bool>,
}
/// Longest a `/v2/user/state` request is held open, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// `GET /v2/user/state`: what changed in the caller's visible state since the revision it
/// named, or the whole state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDelta {
    /// Identifies the server process's history; a client whose epoch differs starts over.
    pub epoch: u64,
    /// The revision this answer brings the client to.
    pub revision: u64,
    /// `true`: `peers` and `cidrs` are the whole state and replace what the client has.
    pub full: bool,
    /// Peers added or changed since the client's revision (whole objects, endpoints
    /// injected), or every visible peer when `full`.
    pub peers: Vec<Peer>,
    /// Peers that are no longer visible (never set when `full`).
    #[serde(default)]
    pub removed: Vec<PeerId>,
    /// The CIDR list, when it changed (always when `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidrs: Option<Vec<Cidr>>,
    /// The caller's compiled port and protocol ruleset, sent with the CIDR list (always when
    /// `full`, and after any change of CIDRs, associations or the policy); absent: unchanged.
    /// Servers without the `policy` feature never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<HostRuleset>,
    /// The routes the caller receives and offers, sent like `policy` (always when `full`,
    /// and after any structural change, route changes included); absent: unchanged.
    /// Servers without the `routes` feature never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<RouteView>,
}

impl StateDelta {
    /// Whether the answer changes nothing (a long poll that timed out).
    pub fn is_empty(&self) -> bool {
        !self.full
            && self.peers.is_empty()
            && self.removed.is_empty()
            && self.cidrs.is_none()
            && self.policy.is_none()
            && self.routes.is_none()
    }

    /// Applies this answer to the state the client had at the revision it asked from.
    pub fn apply_to(self, state: &mut State) {
        if self.full {
            state.peers = self.peers;
            state.cidrs = self.cidrs.unwrap_or_default();
            state.policy = self.policy;
            state.routes = self.routes;
            return;
        }
        if self.policy.is_some() {
            state.policy = self.policy;
        }
        if self.routes.is_some() {
            state.routes = self.routes;
        }
        let removed: std::collections::HashSet<PeerId> = self.removed.into_iter().collect();
        let mut changed: std::collections::HashMap<PeerId, Peer> =
            self.peers.into_iter().map(|p| (p.id, p)).collect();
        state.peers.retain(|p| !removed.contains(&p.id));
        for existing in &mut state.peers {
            if let Some(peer) = changed.remove(&existing.id) {
                *existing = peer;
            }
        }
        state.peers.extend(changed.into_values());
        state.peers.sort_by_key(|p| p.id);
        if let Some(cidrs) = self.cidrs {
            state.cidrs = cidrs;
        }
    }
}

#[cfg(test)]
mod delta_tests {
    use super::*;
    use crate::fixture::{Family, Fixture, DEVELOPER1, DEVELOPER2, USER1};

    fn state(fx: &Fixture) -> State {
        State {
            peers: fx.peers.clone(),
            cidrs: fx.cidrs.clone(),
            policy: None,
            routes: None,
        }
    }

    #[test]
    fn applies_changes_removals_and_cidrs() {
        let fx = Fixture::new(Family::V4);
        let mut local = state(&fx);
        let mut changed = fx.peer(DEVELOPER1).clone();
        changed.contents.is_admin = true;
        let mut newcomer = fx.peer(USER1).clone();
        newcomer.id = PeerId(40);
        newcomer.contents.ip = "10.80.128.40".parse().unwrap();
        let delta = StateDelta {
            epoch: 1,
            revision: 9,
            full: false,
            peers: vec![changed.clone(), newcomer.clone()],
            removed: vec![DEVELOPER2, PeerId(999)],
            cidrs: Some(fx.cidrs[..2].to_vec()),
            policy: None,
            routes: None,
        };
        assert!(!delta.is_empty());
        delta.apply_to(&mut local);
        assert!(local.peers.iter().any(|p| p == &changed));
        assert!(local.peers.iter().any(|p| p == &newcomer));
        assert!(!local.peers.iter().any(|p| p.id == DEVELOPER2));
        assert_eq!(local.peers.len(), fx.peers.len());
        assert!(
            local.peers.windows(2).all(|w| w[0].id < w[1].id),
            "kept in id order"
        );
        assert_eq!(local.cidrs.len(), 2);
    }

    #[test]
    fn full_answers_replace_everything_and_empty_ones_change_nothing() {
        let fx = Fixture::new(Family::V6);
        let mut local = state(&fx);
        let before = local.clone();
        let empty = StateDelta {
            epoch: 1,
            revision: 3,
            full: false,
            peers: vec![],
            removed: vec![],
            cidrs: None,
            policy: None,
            routes: None,
        };
        assert!(empty.is_empty());
        empty.apply_to(&mut local);
        assert_eq!(local, before);
        let full = StateDelta {
            epoch: 2,
            revision: 1,
            full: true,
            peers: vec![fx.peer(USER1).clone()],
            removed: vec![],
            cidrs: Some(fx.cidrs.clone()),
            policy: None,
            routes: None,
        };
        full.apply_to(&mut local);
        assert_eq!(local.peers.len(), 1);
        let json = serde_json::to_value(StateDelta {
            cidrs: None,
            ..empty_delta()
        })
        .unwrap();
        assert!(json.get("cidrs").is_none(), "absent CIDRs are not sent");
    }

    fn empty_delta() -> StateDelta {
        StateDelta {
            epoch: 1,
            revision: 1,
            full: false,
            peers: vec![],
            removed: vec![],
            cidrs: None,
            policy: None,
            routes: None,
        }
    }
}

/// `POST /v2/admin/rules`, `DELETE /v2/admin/rules/{id}`, `PUT /v2/admin/cidrs/{id}/isolation`
/// (each with `?plan=true` for a dry run): what changed, or would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyChange {
    /// The rule added or deleted (none for an isolation change).
    #[serde(default)]
    pub rule: Option<crate::policy::Rule>,
    /// `false` for a dry run.
    pub committed: bool,
    /// Who gains and who loses access.
    pub plan: Vec<crate::policy::access::AccessChange>,
    /// Receivers whose ruleset changes but that do not enforce rules (or not this one yet).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Body of `PUT /v2/admin/cidrs/{id}/isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IsolationContents {
    pub isolated: bool,
}

/// Whether a host enforces the ruleset the server compiles for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Enforcement {
    /// It reported the ruleset the server compiles for it now.
    Enforced,
    /// It reported an older ruleset (a change has not reached it yet, or it failed since).
    Stale,
    /// It enforces nothing: an innernet or older wiremesh client, `nft` missing or failing,
    /// or enforcement turned off on the host.
    NotEnforced { reason: String },
}

/// One host in a policy listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostEnforcement {
    pub peer: PeerId,
    #[serde(flatten)]
    pub enforcement: Enforcement,
    /// Whether the policy restricts anything on this host.
    pub restricted: bool,
}

/// `GET /v2/admin/rules`: the policy and who enforces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyListing {
    pub rules: Vec<crate::policy::Rule>,
    pub isolated: Vec<CidrId>,
    /// Every enabled, redeemed peer (the server included).
    pub hosts: Vec<HostEnforcement>,
}

/// `GET /v2/admin/explain?src=A&dst=B&proto=P&port=N`: the policy's verdict on a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The receiving host (the peer whose address is `dst`).
    pub host: PeerId,
    /// The sender, when a peer has the source address.
    #[serde(default)]
    pub sender: Option<PeerId>,
    pub allowed: bool,
    /// `always` (essential ICMP, the server's API), `unrestricted`, `rule` or `denied`.
    pub reason: String,
    #[serde(default)]
    pub rule: Option<crate::policy::Rule>,
    /// The restricted scopes linking sender and host (for a denial).
    #[serde(default)]
    pub restricted_by: Vec<crate::policy::Scope>,
    /// Whether the host enforces its ruleset.
    pub enforcement: Enforcement,
}

/// The answer to `DELETE /v2/user`: the server deletes the calling peer after this long (so
/// that this answer still travels through its tunnel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deregistered {
    pub delete_after_ms: u64,
}

/// The body of `POST /v2/admin/peers`: a new peer as `/v1` takes it, with wiremesh's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPeer {
    pub contents: PeerContents,
    /// An ephemeral peer: deleted by the server once it has been offline this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_secs: Option<u64>,
}
