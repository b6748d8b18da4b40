//! `wiremesh-shared`: the pure domain of wiremesh.
//!
//! What it is: identifiers ([`ids`]), validated names ([`names`]), endpoints ([`endpoint`]),
//! duration strings ([`timestring`]), the CIDR tree and its rules ([`cidr`]), IP allocation
//! ([`alloc`]), the rules of a new peer and its invitation ([`invite`]), the ACL deciding
//! who sees whom ([`acl`]), the peer diff that turns a desired peer list into a minimal
//! device update ([`diff`]), key pinning and the peer-cache merge ([`pinning`]), NAT
//! candidate selection and trial order ([`nat`]), the port and protocol policy and its
//! per-host compilation ([`policy`]), routes through gateway peers and exit nodes
//! ([`routes`]), devices that join through a hub with a plain WireGuard configuration
//! ([`devices`]), the `/v1` wire types ([`wire`]), the
//! invitation, client and server file formats ([`config`]), and the `--json` shapes of the
//! listing commands ([`listing`]).
//!
//! What it is not: it does no IO at all — no files, sockets, clocks, DNS or processes. Time
//! is passed in as an argument; name resolution is the caller's job. It knows nothing of
//! tokio, clap, dialoguer, terminal colours, SQLite or HTTP (what a person sees is
//! `wiremesh-cli`'s).

pub mod acl;
pub mod alloc;
pub mod cidr;
pub mod config;
pub mod devices;
pub mod diff;
pub mod endpoint;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod ids;
pub mod invite;
pub mod listing;
pub mod names;
pub mod nat;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod pinning;
pub mod policy;
pub mod routes;
pub mod timestring;
pub mod wire;

pub use endpoint::{Endpoint, EndpointError, Host};
pub use ids::{AssociationId, CidrId, PeerId, RouteId, RuleId};
pub use names::{Hostname, HostnameError};
pub use timestring::{Timestring, TimestringError};
pub use wireguard_control::{InterfaceName, InterfaceNameError, PublicKey};
