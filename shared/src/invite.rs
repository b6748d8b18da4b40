//! Inviting a peer: the rules every new peer must meet, and the choices behind an
//! invitation, in one place for both inviters (the server's `add-peer` and an admin peer's
//! `wiremesh add-peer`) and for the server's own check of every peer it is asked to create.
//!
//! The rules (compat §1.10, §4.4, plus wiremesh's leaf and infra rules):
//! - the CIDR exists, is a leaf (peers live in leaf CIDRs only) and is not the infra CIDR
//!   (it holds only the server);
//! - no other peer has the name;
//! - the address is assignable in the CIDR (not its network or broadcast address) and no
//!   peer holds it — disabled and unredeemed peers included; without a requested address,
//!   the CIDR's first free one is chosen;
//! - no other peer has the public key.
//!
//! Pure: the network is passed in as slices and `now` as an argument.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::alloc::{check_peer_ip, first_free_ip, AllocError};
use crate::cidr::CidrTree;
use crate::config::{InviteSpec, ServerInfo};
use crate::wire::{Cidr, Peer, PeerContents};
use crate::{CidrId, Hostname, Timestring};

/// A peer to invite, every choice made (the answers of the `add-peer` wizard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPeerOptions {
    pub name: Hostname,
    /// Name of a leaf CIDR (not the server's).
    pub cidr: String,
    /// `None`: the CIDR's first address no peer uses.
    pub ip: Option<IpAddr>,
    pub admin: bool,
    pub invite_expires: Timestring,
    /// Where to write the invitation; must not exist.
    pub save_path: PathBuf,
    /// An ephemeral peer: deleted by the server once offline this long.
    pub ephemeral: Option<Timestring>,
}

/// What `add-peer` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedPeer {
    pub peer: Peer,
    pub invitation_path: PathBuf,
    pub expires: SystemTime,
}

/// Why a CIDR cannot take a new peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerCidrError {
    #[error("peers can only be added to leaf CIDRs; {cidr:?} has child CIDRs")]
    NotALeaf { cidr: String },
    #[error("the infra CIDR {cidr:?} holds only the server; choose another CIDR")]
    InfraCidr { cidr: String },
}

/// Why a peer cannot be created or invited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error("no CIDR with id {}", id.0)]
    UnknownCidr { id: CidrId },
    #[error(transparent)]
    Cidr(#[from] PeerCidrError),
    #[error("a peer named {name:?} already exists")]
    NameTaken { name: String },
    #[error("failed to assign an address in CIDR {cidr:?}: {source}")]
    Address {
        cidr: String,
        #[source]
        source: AllocError,
    },
    #[error("a peer with this public key already exists")]
    KeyTaken,
    #[error("an invitation expiring in {value} ends too far in the future")]
    ExpiryTooFar { value: String },
    #[error("the network has no root CIDR")]
    NoRoot,
}

/// The network a new peer joins, as the rules need it (the peers held in any way that lends
/// a [`Peer`]).
#[derive(Debug)]
pub struct Joining<'a, P = Peer> {
    pub cidrs: &'a [Cidr],
    /// Every peer, disabled and unredeemed ones included.
    pub peers: &'a [P],
    /// The server's infrastructure CIDR, when known.
    pub infra: Option<CidrId>,
    /// The addresses of deleted peers, which are never given again (a client that reads the
    /// peers from `/v1/admin/peers` finds them there as disabled rows, and passes none).
    pub consumed: &'a [IpAddr],
}

impl<P> Clone for Joining<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Joining<'_, P> {}

impl<P: Borrow<Peer>> Joining<'_, P> {
    fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.iter().map(Borrow::borrow)
    }

    /// A new peer's CIDR must be a leaf and not the infra CIDR.
    pub fn check_cidr(&self, cidr: &Cidr) -> Result<(), PeerCidrError> {
        if self.infra == Some(cidr.id) {
            return Err(PeerCidrError::InfraCidr {
                cidr: cidr.name.clone(),
            });
        }
        if !CidrTree::new(self.cidrs).is_leaf(cidr.id) {
            return Err(PeerCidrError::NotALeaf {
                cidr: cidr.name.clone(),
            });
        }
        Ok(())
    }

    /// No other peer may have the name.
    pub fn check_name(&self, name: &str) -> Result<(), InviteError> {
        match self.peers().find(|p| p.name.as_str() == name) {
            Some(other) => Err(InviteError::NameTaken {
                name: other.name.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// The requested address checked, or the CIDR's first free one.
    pub fn choose_ip(&self, cidr: &Cidr, requested: Option<IpAddr>) -> Result<IpAddr, InviteError> {
        let chosen = match requested {
            Some(ip) if self.consumed.contains(&ip) => Err(AllocError::Consumed { ip }),
            Some(ip) => {
                // Only whether this one address is taken matters: no set of every address.
                let used: HashSet<IpAddr> =
                    self.peers().map(|p| p.ip).filter(|&u| u == ip).collect();
                check_peer_ip(&cidr.cidr, ip, &used).map(|()| ip)
            }
            None => {
                let used: HashSet<IpAddr> = self
                    .peers()
                    .map(|p| p.ip)
                    .chain(self.consumed.iter().copied())
                    .collect();
                first_free_ip(&cidr.cidr, &used)
            }
        };
        chosen.map_err(|source| InviteError::Address {
            cidr: cidr.name.clone(),
            source,
        })
    }

    /// Every rule for a peer about to be created.
    pub fn check_new_peer(&self, contents: &PeerContents) -> Result<(), InviteError> {
        let cidr = self.cidrs.iter().find(|c| c.id == contents.cidr_id).ok_or(
            InviteError::UnknownCidr {
                id: contents.cidr_id,
            },
        )?;
        self.check_cidr(cidr)?;
        self.check_name(contents.name.as_str())?;
        self.choose_ip(cidr, Some(contents.ip))?;
        if self.peers().any(|p| p.public_key == contents.public_key) {
            return Err(InviteError::KeyTaken);
        }
        Ok(())
    }

    /// The invitation `options` asks for in `cidr`, every rule checked: the address chosen,
    /// the expiry fixed from `now`, the root prefix found.
    pub fn invite_spec(
        &self,
        cidr: &Cidr,
        options: &AddPeerOptions,
        network_name: &str,
        server: ServerInfo,
        now: SystemTime,
    ) -> Result<InviteSpec, InviteError> {
        self.check_cidr(cidr)?;
        self.check_name(options.name.as_str())?;
        let ip = self.choose_ip(cidr, options.ip)?;
        let expires = now
            .checked_add(options.invite_expires.as_duration())
            .ok_or_else(|| InviteError::ExpiryTooFar {
                value: options.invite_expires.to_string(),
            })?;
        let root = CidrTree::new(self.cidrs)
            .root()
            .ok_or(InviteError::NoRoot)?;
        Ok(InviteSpec {
            name: options.name.clone(),
            ip,
            cidr_id: cidr.id,
            admin: options.admin,
            expires,
            network_name: network_name.to_owned(),
            root_prefix: root.cidr.prefix_len(),
            server,
        })
    }
}

#[cfg(test)]
#[path = "invite_tests.rs"]
mod tests;
