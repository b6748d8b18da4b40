//! The ACL: which peers a peer may see (compat §5), as one function over in-memory data.
//!
//! A peer in CIDR `C` sees every enabled, redeemed peer whose CIDR lies in the subtree of
//! one of these seed CIDRs:
//! - `C` itself;
//! - the network's infra CIDR (the server lives there);
//! - every CIDR associated with `C` or with an ancestor of `C`.
//!
//! This is the single source of truth for visibility; any faster path (an index, SQL) must
//! be checked against [`visible_peers`] by a property test.

use std::borrow::Borrow;
use std::collections::HashSet;

use crate::cidr::CidrTree;
use crate::wire::{Association, Cidr, Peer};
use crate::{CidrId, PeerId};

/// The rows that play a fixed role in a network, named instead of hard-coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkRoles {
    /// The CIDR holding only the server peer; every peer sees it.
    pub infra_cidr: CidrId,
    /// The coordination server's own peer.
    pub server_peer: PeerId,
}

impl NetworkRoles {
    /// The ids `innernet-server new` (and `wiremesh-server new`) give these rows: the root CIDR
    /// is created first, the infra CIDR second, the server peer first.
    pub const CREATED_BY_NEW: NetworkRoles = NetworkRoles {
        infra_cidr: CidrId(2),
        server_peer: PeerId(1),
    };
}

/// Borrowed view of everything the ACL needs. The peers may be held in any way that lends a
/// [`Peer`] (the server keeps them in `Arc`s shared between revisions).
#[derive(Debug)]
pub struct NetworkView<'a, P = Peer> {
    pub cidrs: &'a [Cidr],
    pub associations: &'a [Association],
    pub peers: &'a [P],
    pub roles: NetworkRoles,
}

impl<P> Clone for NetworkView<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for NetworkView<'_, P> {}

/// The CIDRs a peer in `viewer_cidr` may see into: the subtrees of its seed CIDRs.
pub fn visible_cidrs(
    tree: &CidrTree<'_>,
    associations: &[Association],
    roles: &NetworkRoles,
    viewer_cidr: CidrId,
) -> HashSet<CidrId> {
    let ancestors: HashSet<CidrId> = tree.ancestors_or_self(viewer_cidr).into_iter().collect();
    let mut seeds = vec![viewer_cidr, roles.infra_cidr];
    for association in associations {
        let (a, b) = (association.cidr_id_1, association.cidr_id_2);
        if ancestors.contains(&a) {
            seeds.push(b);
        }
        if ancestors.contains(&b) {
            seeds.push(a);
        }
    }
    let mut visible = HashSet::new();
    for seed in seeds {
        if tree.get(seed).is_some() && !visible.contains(&seed) {
            visible.extend(tree.descendants_or_self(seed));
        }
    }
    visible
}

/// The peers `viewer` may see, in the order of `view.peers`: enabled, redeemed peers in a
/// visible CIDR. The viewer itself is included when it is enabled and redeemed.
pub fn visible_peers<'a, P: Borrow<Peer>>(view: &NetworkView<'a, P>, viewer: &Peer) -> Vec<&'a P> {
    let tree = CidrTree::new(view.cidrs);
    let cidrs = visible_cidrs(&tree, view.associations, &view.roles, viewer.cidr_id);
    view.peers
        .iter()
        .filter(|peer| shown((*peer).borrow(), &cidrs))
        .collect()
}

/// Whether a viewer that sees into `visible_cidrs` sees `peer`: it is enabled, redeemed and
/// in one of them (the filter of [`visible_peers`], for one peer at a time).
pub fn shown(peer: &Peer, visible_cidrs: &HashSet<CidrId>) -> bool {
    peer.is_redeemed && !peer.is_disabled && visible_cidrs.contains(&peer.cidr_id)
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
