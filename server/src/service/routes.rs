//! Routes: offers by gateway peers (their own, or an admin's on their behalf), approval,
//! auto-approval per CIDR, and the listing.

use std::sync::Arc;

use ipnet::IpNet;
use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::routes::{
    auto_approved, check_approval, check_offer, AutoApproval, Route, RouteBook, RouteContents,
    RouteContentsDraft, RouteError, RouteKind,
};
use wiremesh_shared::wire::Peer;
use wiremesh_shared::{CidrId, PeerId};

use super::Service;
use crate::error::{Invalid, Result, ServiceError};
use crate::model::Model;

/// The mesh network: the root CIDR, without host bits.
fn mesh(model: &Model) -> Result<IpNet> {
    CidrTree::new(model.cidrs())
        .root()
        .map(|root| root.cidr.trunc())
        .ok_or(ServiceError::Invalid(Invalid::UnknownCidr { id: 0 }))
}

fn gateway(model: &Model, id: PeerId) -> Result<&Peer> {
    let peer = model.peer(id).ok_or(ServiceError::NotFound {
        what: "peer",
        id: id.0,
    })?;
    if id == model.roles().server_peer {
        return Err(ServiceError::Invalid(Invalid::ServerPeer {
            name: peer.name.to_string(),
            action: "a gateway",
        }));
    }
    Ok(peer)
}

impl Service {
    /// A gateway's offer (`wiremesh advertise-routes`, or an admin for it): replaces what it
    /// offered before. Networks it offered already keep their approval; new ones are
    /// approved when an auto-approval covers them, and wait for an admin otherwise. An offer
    /// overlapping another gateway's approved route (other than the very same network) is
    /// refused. Returns the gateway's routes.
    pub fn offer_routes(&self, id: PeerId, subnets: &[IpNet], exit: bool) -> Result<Vec<Route>> {
        self.write(|model, store| {
            let peer = gateway(model, id)?;
            let drafts = check_offer(&mesh(model)?, subnets, exit).map_err(ServiceError::Route)?;
            let book = model.routes();
            let tree = CidrTree::new(model.cidrs());
            let mut decided = Vec::with_capacity(drafts.len());
            for draft in drafts {
                let contents = RouteContents {
                    gateway: id,
                    net: draft.net,
                    kind: draft.kind,
                };
                check_approval(&contents, &book.routes, |g| name_of(model, g))
                    .map_err(ServiceError::Route)?;
                let already = book
                    .of(id)
                    .any(|r| r.contents.net == draft.net && r.approved);
                let approved = already || auto_approved(&tree, &book.auto, peer.cidr_id, &draft);
                decided.push((draft, approved));
            }
            self.commit_routes(model, store, id, &decided)
        })
    }

    /// A gateway's whole offer (a body of `PUT …/routes`): [`Service::offer_routes`], or
    /// [`Service::withdraw_routes`] when it offers nothing.
    pub fn replace_offer(
        &self,
        id: PeerId,
        offer: &wiremesh_shared::wire::RouteOffer,
    ) -> Result<Vec<Route>> {
        if offer.routes.is_empty() && !offer.exit {
            self.withdraw_routes(id)
        } else {
            self.offer_routes(id, &offer.routes, offer.exit)
        }
    }

    /// Withdraws everything `id` offers.
    pub fn withdraw_routes(&self, id: PeerId) -> Result<Vec<Route>> {
        self.write(|model, store| {
            gateway(model, id)?;
            self.commit_routes(model, store, id, &[])
        })
    }

    /// Approves (or takes back the approval of) `id`'s routes: the networks in `nets`, or
    /// all of them when `nets` is empty. Approving checks the overlap rule again: two offers
    /// may overlap as long as at most one of them is approved.
    pub fn approve_routes(&self, id: PeerId, nets: &[IpNet], approve: bool) -> Result<Vec<Route>> {
        self.write(|model, store| {
            gateway(model, id)?;
            let book = model.routes();
            let offered: Vec<&Route> = book.of(id).collect();
            for net in nets {
                if !offered.iter().any(|r| r.contents.net == *net) {
                    return Err(ServiceError::Route(RouteError::NotOffered {
                        net: *net,
                        gateway: name_of(model, id),
                    }));
                }
            }
            let chosen = |r: &Route| nets.is_empty() || nets.contains(&r.contents.net);
            let mut decided = Vec::with_capacity(offered.len());
            for route in &offered {
                let approved = if chosen(route) {
                    approve
                } else {
                    route.approved
                };
                if approved && !route.approved {
                    check_approval(&route.contents, &book.routes, |g| name_of(model, g))
                        .map_err(ServiceError::Route)?;
                }
                decided.push((
                    RouteContentsDraft {
                        net: route.contents.net,
                        kind: route.contents.kind,
                    },
                    approved,
                ));
            }
            self.commit_routes(model, store, id, &decided)
        })
    }

    /// Sets what peers of `cidr`'s subtree may offer without an admin (nothing: removes it).
    pub fn set_auto_approval(&self, cidr: CidrId, prefixes: &[IpNet], exit: bool) -> Result<()> {
        self.write(|model, store| {
            if model.cidr(cidr).is_none() {
                return Err(ServiceError::Invalid(Invalid::UnknownCidr { id: cidr.0 }));
            }
            let mesh = mesh(model)?;
            let mut prefixes = prefixes.to_vec();
            for prefix in &prefixes {
                if matches!(prefix, IpNet::V6(_)) != matches!(mesh, IpNet::V6(_)) {
                    return Err(ServiceError::Route(RouteError::Family {
                        net: *prefix,
                        mesh,
                        family: if matches!(mesh, IpNet::V6(_)) { 4 } else { 6 },
                    }));
                }
                if prefix.trunc() != *prefix {
                    return Err(ServiceError::Route(RouteError::HostBitsSet {
                        net: *prefix,
                        network: prefix.trunc(),
                    }));
                }
            }
            prefixes.sort();
            prefixes.dedup();
            let approval = AutoApproval {
                cidr,
                prefixes,
                exit,
            };
            if !store.set_auto_approval(&approval)? {
                return Ok(((), None));
            }
            let next = model.edited(|data| {
                let mut book = (*data.routes).clone();
                book.auto.retain(|a| a.cidr != cidr);
                if !approval.prefixes.is_empty() || approval.exit {
                    book.auto.push(approval.clone());
                    book.auto.sort_by_key(|a| a.cidr);
                }
                data.routes = Arc::new(book);
            });
            Ok(((), Some(next)))
        })
    }

    /// Every offer and auto-approval.
    pub fn route_book(&self) -> Arc<RouteBook> {
        self.model().routes().clone()
    }

    /// Writes `id`'s routes and the model that holds them.
    fn commit_routes(
        &self,
        model: &Model,
        store: &mut dyn crate::store::Store,
        id: PeerId,
        decided: &[(RouteContentsDraft, bool)],
    ) -> Result<(Vec<Route>, Option<Model>)> {
        let unchanged = {
            let before: Vec<(IpNet, RouteKind, bool)> = model
                .routes()
                .of(id)
                .map(|r| (r.contents.net, r.contents.kind, r.approved))
                .collect();
            let mut after: Vec<(IpNet, RouteKind, bool)> = decided
                .iter()
                .map(|(d, approved)| (d.net, d.kind, *approved))
                .collect();
            let mut sorted_before = before.clone();
            sorted_before.sort();
            after.sort();
            sorted_before == after
        };
        if unchanged {
            return Ok((model.routes().of(id).cloned().collect(), None));
        }
        let stored = store.set_routes(id, decided)?;
        for route in &stored {
            tracing::info!(gateway = %id, net = %route.contents.net, kind = %route.contents.kind, approved = route.approved, "route offered");
        }
        let next = model.edited(|data| {
            let mut book = (*data.routes).clone();
            book.routes.retain(|r| r.contents.gateway != id);
            book.routes.extend(stored.iter().cloned());
            book.routes.sort_by_key(|r| r.id);
            data.routes = Arc::new(book);
        });
        Ok((stored, Some(next)))
    }
}

/// A peer's name for messages (its id when it is gone).
fn name_of(model: &Model, id: PeerId) -> String {
    model
        .peer(id)
        .map(|p| p.name.to_string())
        .unwrap_or_else(|| format!("peer {id}"))
}
