//! A seeded network for tests, with named ids, in an IPv4 and an IPv6 flavour.
//!
//! The layout follows the server test network of compat §11.1:
//!
//! | CIDR | network (v4 / v6) | peers |
//! |---|---|---|
//! | `ROOT` test | 10.80.0.0/15 / fd00:1337::/64 | — |
//! | `INFRA` innernet-server | 10.80.0.1/32 / fd00:1337::1/128 | `SERVER` |
//! | `ADMIN` admin | 10.80.1.0/24 / fd00:1337::1:0:0:0/80 | `ADMIN_PEER` (admin) |
//! | `DEVELOPER` developer | 10.80.64.0/24 / fd00:1337::2:0:0:0/80 | `DEVELOPER1`, `DEVELOPER2` |
//! | `USER` user | 10.80.128.0/17 / fd00:1337::8000:0:0:0/65 | `USER1`, `USER2` |
//!
//! Only compiled for tests and with the `fixture` feature; it does no IO.

use std::net::IpAddr;
use std::time::SystemTime;

use ipnet::IpNet;
use wireguard_control::PublicKey;

use crate::acl::{NetworkRoles, NetworkView};
use crate::wire::{Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents};
use crate::{AssociationId, CidrId, PeerId};

pub const ROOT: CidrId = CidrId(1);
pub const INFRA: CidrId = CidrId(2);
pub const ADMIN: CidrId = CidrId(3);
pub const DEVELOPER: CidrId = CidrId(4);
pub const USER: CidrId = CidrId(5);

pub const SERVER: PeerId = PeerId(1);
pub const ADMIN_PEER: PeerId = PeerId(2);
pub const DEVELOPER1: PeerId = PeerId(3);
pub const DEVELOPER2: PeerId = PeerId(4);
pub const USER1: PeerId = PeerId(5);
pub const USER2: PeerId = PeerId(6);

/// Which address family the fixture uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    /// Picks the v4 or v6 spelling of an address or network.
    pub fn pick<'s>(self, v4: &'s str, v6: &'s str) -> &'s str {
        match self {
            Family::V4 => v4,
            Family::V6 => v6,
        }
    }
}

/// A network held in memory: CIDRs, peers and associations with the roles of compat §4.3.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub family: Family,
    pub cidrs: Vec<Cidr>,
    pub peers: Vec<Peer>,
    pub associations: Vec<Association>,
    pub roles: NetworkRoles,
}

/// A deterministic public key for a peer id, distinct per id.
pub fn key_for(id: PeerId) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&id.0.to_le_bytes());
    bytes[31] = 0x5a;
    PublicKey::from_bytes(bytes)
}

impl Fixture {
    /// The seeded network of the module docs.
    pub fn new(family: Family) -> Self {
        let mut fx = Self::empty(family);
        let f = family;
        fx.add_cidr("test", f.pick("10.80.0.0/15", "fd00:1337::/64"), None);
        fx.add_cidr(
            "innernet-server",
            f.pick("10.80.0.1/32", "fd00:1337::1/128"),
            Some(ROOT),
        );
        fx.add_cidr(
            "admin",
            f.pick("10.80.1.0/24", "fd00:1337::1:0:0:0/80"),
            Some(ROOT),
        );
        fx.add_cidr(
            "developer",
            f.pick("10.80.64.0/24", "fd00:1337::2:0:0:0/80"),
            Some(ROOT),
        );
        fx.add_cidr(
            "user",
            f.pick("10.80.128.0/17", "fd00:1337::8000:0:0:0/65"),
            Some(ROOT),
        );
        fx.add_peer(
            "innernet-server",
            f.pick("10.80.0.1", "fd00:1337::1"),
            INFRA,
        );
        fx.peers[0].contents.is_admin = true;
        fx.add_peer("admin", f.pick("10.80.1.1", "fd00:1337::1:0:0:1"), ADMIN);
        fx.peers[1].contents.is_admin = true;
        fx.add_peer(
            "developer1",
            f.pick("10.80.64.2", "fd00:1337::2:0:0:2"),
            DEVELOPER,
        );
        fx.add_peer(
            "developer2",
            f.pick("10.80.64.3", "fd00:1337::2:0:0:3"),
            DEVELOPER,
        );
        fx.add_peer(
            "user1",
            f.pick("10.80.128.2", "fd00:1337::8000:0:0:2"),
            USER,
        );
        fx.add_peer(
            "user2",
            f.pick("10.80.129.2", "fd00:1337::8001:0:0:2"),
            USER,
        );
        fx
    }

    /// A network with nothing in it.
    pub fn empty(family: Family) -> Self {
        Self {
            family,
            cidrs: Vec::new(),
            peers: Vec::new(),
            associations: Vec::new(),
            roles: NetworkRoles::CREATED_BY_NEW,
        }
    }

    pub fn view(&self) -> NetworkView<'_> {
        NetworkView {
            cidrs: &self.cidrs,
            associations: &self.associations,
            peers: &self.peers,
            roles: self.roles,
        }
    }

    /// Adds a CIDR without checking any rule; returns its id.
    pub fn add_cidr(&mut self, name: &str, network: &str, parent: Option<CidrId>) -> CidrId {
        let id = CidrId(self.cidrs.len() as i64 + 1);
        let cidr: IpNet = network.parse().expect("fixture network");
        self.cidrs.push(Cidr {
            id,
            contents: CidrContents {
                name: name.to_owned(),
                cidr,
                parent,
            },
        });
        id
    }

    /// Adds an enabled, redeemed, non-admin peer; returns its id.
    pub fn add_peer(&mut self, name: &str, ip: &str, cidr_id: CidrId) -> PeerId {
        let id = PeerId(self.peers.len() as i64 + 1);
        let ip: IpAddr = ip.parse().expect("fixture address");
        self.peers.push(Peer {
            id,
            contents: PeerContents {
                name: name.parse().expect("fixture name"),
                ip,
                cidr_id,
                public_key: key_for(id),
                endpoint: None,
                persistent_keepalive_interval: Some(25),
                is_admin: false,
                is_disabled: false,
                is_redeemed: true,
                invite_expires: None::<SystemTime>,
                candidates: Vec::new(),
            },
        });
        id
    }

    /// Associates two CIDRs; returns the association's id.
    pub fn associate(&mut self, a: CidrId, b: CidrId) -> AssociationId {
        let id = AssociationId(self.associations.len() as i64 + 1);
        self.associations.push(Association {
            id,
            contents: AssociationContents {
                cidr_id_1: a,
                cidr_id_2: b,
            },
        });
        id
    }

    pub fn peer(&self, id: PeerId) -> &Peer {
        self.peers
            .iter()
            .find(|p| p.id == id)
            .expect("fixture peer id")
    }

    pub fn peer_mut(&mut self, id: PeerId) -> &mut Peer {
        self.peers
            .iter_mut()
            .find(|p| p.id == id)
            .expect("fixture peer id")
    }

    pub fn cidr(&self, id: CidrId) -> &Cidr {
        self.cidrs
            .iter()
            .find(|c| c.id == id)
            .expect("fixture cidr id")
    }

    /// Ids of the peers `viewer` may see, sorted.
    pub fn visible_ids(&self, viewer: PeerId) -> Vec<PeerId> {
        let mut ids: Vec<PeerId> = crate::acl::visible_peers(&self.view(), self.peer(viewer))
            .iter()
            .map(|p| p.id)
            .collect();
        ids.sort();
        ids
    }
}
