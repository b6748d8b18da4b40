//! The `/v1` JSON wire types: bodies of requests and responses, byte-compatible with innernet.
//!
//! Field names, order and encodings follow innernet 2.0.0 exactly (spec §1.8): addresses and
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

use std::net::IpAddr;
use std::ops::{Deref, DerefMut};
use std::time::SystemTime;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AssociationId, CidrId, PeerId};
use crate::names::Hostname;
use crate::PublicKey;

/// Most NAT candidates a peer may report; longer lists are cut to this many.
pub const MAX_CANDIDATES: usize = 10;
/// Largest request body the server reads, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Keepalive every peer gets, in seconds; innernet reports 25 for every peer on every read.
pub const PERSISTENT_KEEPALIVE_INTERVAL_SECS: u16 = 25;

/// Everything about a peer except its id: the body of creating a peer, flattened into [`Peer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerContents {
    pub name: Hostname,
    pub ip: IpAddr,
    pub cidr_id: CidrId,
    #[serde(with = "base64_key")]
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
    pub invite_expires: Option<SystemTime>,
    /// NAT traversal candidates reported by the peer (and the server-observed endpoint).
    #[serde(default)]
    pub candidates: Vec<Endpoint>,
}

/// A stored peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peer {
    pub id: PeerId,
    #[serde(flatten)]
    pub contents: PeerContents,
}

/// A CIDR without its id: the body of creating one, flattened into [`Cidr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CidrContents {
    pub name: String,
    /// Kept as given: `10.66.1.7/24` stays that, host bits included.
    pub cidr: IpNet,
    /// `None` only for the root.
    #[serde(default)]
    pub parent: Option<CidrId>,
}

/// A stored CIDR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cidr {
    pub id: CidrId,
    #[serde(flatten)]
    pub contents: CidrContents,
}

/// An undirected link between two CIDRs whose peers may see each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AssociationContents {
    pub cidr_id_1: CidrId,
    pub cidr_id_2: CidrId,
}

/// A stored association.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
