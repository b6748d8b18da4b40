//! The CIDR tree: structure queries and the rules a new or deleted CIDR must satisfy.
//!
//! Rules (innernet's, compat §1.10 and §4.4, plus fixes for its quirks):
//! - a network is written without host bits (`10.66.1.0/24`, not `10.66.1.5/24`);
//! - there is exactly one root (`parent = None`);
//! - a child lies entirely inside its parent, and its parent is the *closest* CIDR
//!   containing it;
//! - siblings never overlap;
//! - a CIDR that holds peers cannot get children (peers live in leaves only);
//! - names and networks are unique;
//! - a CIDR with peers, children or associations cannot be deleted, nor can the root or the
//!   infra CIDR.

use std::borrow::Borrow;
use std::collections::HashMap;

use ipnet::IpNet;

use crate::acl::NetworkRoles;
use crate::wire::{Association, Cidr, CidrContents, Peer};
use crate::CidrId;

/// Why a CIDR cannot be created or deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("invalid CIDR {cidr}: host bits are set, did you mean {network}?")]
    HostBitsSet { cidr: IpNet, network: IpNet },
    #[error("invalid CIDR name {name:?}: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error("a CIDR named {name:?} already exists")]
    DuplicateName { name: String },
    #[error("CIDR {cidr} already exists (named {existing:?})")]
    DuplicateNetwork { cidr: IpNet, existing: String },
    #[error("the network already has a root CIDR ({root}); give the new CIDR a parent")]
    SecondRoot { root: IpNet },
    #[error("parent CIDR id {parent} does not exist")]
    ParentNotFound { parent: CidrId },
    #[error("CIDR {cidr} is not inside its parent {parent_name:?} ({parent})")]
    NotInsideParent {
        cidr: IpNet,
        parent: IpNet,
        parent_name: String,
    },
    #[error(
        "CIDR {cidr} must have {closest_name:?} ({closest}) as its parent, the closest CIDR containing it"
    )]
    NotClosestParent {
        cidr: IpNet,
        closest: IpNet,
        closest_name: String,
    },
    #[error("CIDR {cidr} overlaps its sibling {sibling_name:?} ({sibling})")]
    OverlapsSibling {
        cidr: IpNet,
        sibling: IpNet,
        sibling_name: String,
    },
    #[error(
        "CIDR {parent_name:?} holds {peers} peer(s), so it cannot get child CIDRs; peers live in leaf CIDRs only"
    )]
    ParentHasPeers { parent_name: String, peers: usize },
    #[error("CIDR id {id} does not exist")]
    NotFound { id: CidrId },
    #[error("CIDR {name:?} still has {children} child CIDR(s); delete them first")]
    HasChildren { name: String, children: usize },
    #[error("CIDR {name:?} still holds {peers} peer(s) (disabled and invited ones count too)")]
    HasPeers { name: String, peers: usize },
    #[error("CIDR {name:?} is part of {associations} association(s); delete them first")]
    HasAssociations { name: String, associations: usize },
    #[error("CIDR {name:?} is the {role} of the network and cannot be deleted")]
    Protected { name: String, role: &'static str },
}

/// Whether `inner` lies entirely inside `outer` (same family, first and last address inside).
pub fn contains(outer: &IpNet, inner: &IpNet) -> bool {
    let (outer, inner) = (outer.trunc(), inner.trunc());
    outer.prefix_len() <= inner.prefix_len()
        && outer.contains(&inner.network())
        && outer.contains(&inner.broadcast())
}

/// Whether two networks share at least one address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    contains(a, b) || contains(b, a)
}

/// A read-only index over a network's CIDRs: parents, children, ancestry.
#[derive(Debug)]
pub struct CidrTree<'a> {
    cidrs: &'a [Cidr],
    index: HashMap<CidrId, usize>,
    children: HashMap<CidrId, Vec<CidrId>>,
}

impl<'a> CidrTree<'a> {
    pub fn new(cidrs: &'a [Cidr]) -> Self {
        let index = cidrs.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let mut children: HashMap<CidrId, Vec<CidrId>> = HashMap::new();
        for cidr in cidrs {
            if let Some(parent) = cidr.parent {
                children.entry(parent).or_default().push(cidr.id);
            }
        }
        Self {
            cidrs,
            index,
            children,
        }
    }

    pub fn get(&self, id: CidrId) -> Option<&'a Cidr> {
        self.index.get(&id).map(|&i| &self.cidrs[i])
    }

    pub fn all(&self) -> &'a [Cidr] {
        self.cidrs
    }

    /// The root CIDR (the first one without a parent).
    pub fn root(&self) -> Option<&'a Cidr> {
        self.cidrs.iter().find(|c| c.parent.is_none())
    }

    /// Direct children of `id`, in the order the CIDRs were given.
    pub fn children(&self, id: CidrId) -> &[CidrId] {
        self.children.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_leaf(&self, id: CidrId) -> bool {
        self.children(id).is_empty()
    }

    /// CIDRs without children, in the order given.
    pub fn leaves(&self) -> impl Iterator<Item = &'a Cidr> + '_ {
        self.cidrs.iter().filter(|c| self.is_leaf(c.id))
    }

    /// `id` followed by its parent, grandparent, … up to the root. Stops on a cycle or a
    /// dangling parent id instead of looping forever.
    pub fn ancestors_or_self(&self, id: CidrId) -> Vec<CidrId> {
        let mut chain = Vec::new();
        let mut current = Some(id);
        while let Some(cidr_id) = current {
            if chain.contains(&cidr_id) || !self.index.contains_key(&cidr_id) {
                break;
            }
            chain.push(cidr_id);
            current = self.get(cidr_id).and_then(|c| c.parent);
        }
        chain
    }

    /// `id` and everything below it.
    pub fn descendants_or_self(&self, id: CidrId) -> Vec<CidrId> {
        let mut out = vec![id];
        let mut next = 0;
        while next < out.len() {
            let current = out[next];
            next += 1;
            for &child in self.children(current) {
                if !out.contains(&child) {
                    out.push(child);
                }
            }
        }
        out
    }

    /// Depth of `id` below the root (root = 0).
    pub fn depth(&self, id: CidrId) -> usize {
        self.ancestors_or_self(id).len().saturating_sub(1)
    }

    /// The CIDR with the longest prefix that contains `net`, other than one equal to it.
    pub fn closest_container(&self, net: &IpNet) -> Option<&'a Cidr> {
        self.cidrs
            .iter()
            .filter(|c| c.cidr.trunc() != net.trunc() && contains(&c.cidr, net))
            .max_by_key(|c| c.cidr.prefix_len())
    }
}

/// Checks a CIDR name: non-empty, at most 63 bytes, printable, no whitespace.
/// (innernet does not validate CIDR names; wiremesh keeps them usable in listings.)
pub fn check_cidr_name(name: &str) -> Result<(), CidrError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 63 {
        Some("longer than 63 bytes")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it contains whitespace or control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CidrError::BadName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks that `new` may be added to a network with these CIDRs and peers.
pub fn check_new_cidr<P: Borrow<Peer>>(
    cidrs: &[Cidr],
    peers: &[P],
    new: &CidrContents,
) -> Result<(), CidrError> {
    check_cidr_name(&new.name)?;
    let net = new.cidr;
    if net.trunc() != net {
        return Err(CidrError::HostBitsSet {
            cidr: net,
            network: net.trunc(),
        });
    }
    if let Some(existing) = cidrs.iter().find(|c| c.name == new.name) {
        return Err(CidrError::DuplicateName {
            name: existing.name.clone(),
        });
    }
    if let Some(existing) = cidrs.iter().find(|c| c.cidr.trunc() == net) {
        return Err(CidrError::DuplicateNetwork {
            cidr: net,
            existing: existing.name.clone(),
        });
    }
    let tree = CidrTree::new(cidrs);
    match new.parent {
        None => {
            if let Some(root) = tree.root() {
                return Err(CidrError::SecondRoot { root: root.cidr });
            }
        }
        Some(parent_id) => {
            let parent = tree
                .get(parent_id)
                .ok_or(CidrError::ParentNotFound { parent: parent_id })?;
            if !contains(&parent.cidr, &net) {
                return Err(CidrError::NotInsideParent {
                    cidr: net,
                    parent: parent.cidr,
                    parent_name: parent.name.clone(),
                });
            }
            if let Some(closest) = tree.closest_container(&net) {
                if closest.id != parent.id {
                    return Err(CidrError::NotClosestParent {
                        cidr: net,
                        closest: closest.cidr,
                        closest_name: closest.name.clone(),
                    });
                }
            }
            let n_peers = peers
                .iter()
                .filter(|p| (*p).borrow().cidr_id == parent_id)
                .count();
            if n_peers > 0 {
                return Err(CidrError::ParentHasPeers {
                    parent_name: parent.name.clone(),
                    peers: n_peers,
                });
            }
        }
    }
    if let Some(sibling) = cidrs
        .iter()
        .find(|c| c.parent == new.parent && overlaps(&c.cidr, &net))
    {
        return Err(CidrError::OverlapsSibling {
            cidr: net,
            sibling: sibling.cidr,
            sibling_name: sibling.name.clone(),
        });
    }
    Ok(())
}

/// Checks that the CIDR `id` may be deleted.
pub fn check_delete_cidr<P: Borrow<Peer>>(
    cidrs: &[Cidr],
    peers: &[P],
    associations: &[Association],
    roles: &NetworkRoles,
    id: CidrId,
) -> Result<(), CidrError> {
    let tree = CidrTree::new(cidrs);
    let cidr = tree.get(id).ok_or(CidrError::NotFound { id })?;
    let name = cidr.name.clone();
    if cidr.parent.is_none() {
        return Err(CidrError::Protected {
            name,
            role: "root CIDR",
        });
    }
    if id == roles.infra_cidr {
        return Err(CidrError::Protected {
            name,
            role: "infra CIDR (it holds the server)",
        });
    }
    let children = tree.children(id).len();
    if children > 0 {
        return Err(CidrError::HasChildren { name, children });
    }
    let n_peers = peers.iter().filter(|p| (*p).borrow().cidr_id == id).count();
    if n_peers > 0 {
        return Err(CidrError::HasPeers {
            name,
            peers: n_peers,
        });
    }
    let n_assoc = associations
        .iter()
        .filter(|a| a.cidr_id_1 == id || a.cidr_id_2 == id)
        .count();
    if n_assoc > 0 {
        return Err(CidrError::HasAssociations {
            name,
            associations: n_assoc,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "cidr_tests.rs"]
mod tests;
