//! Routes through the API: this host's own offer (`advertise-routes`), and for admins the
//! offers of other peers, approval, auto-approval and the listing (servers advertising
//! `routes`).

use ipnet::IpNet;
use wiremesh_shared::routes::{Route, RouteBook};
use wiremesh_shared::wire::{AutoApprovalContents, RouteApproval, RouteOffer};

use super::{Admin, AdminError};
use crate::api::ApiError;

impl Admin {
    /// What the server answered, with "the server has no routes" for a 404.
    fn routes_call<T>(&self, action: &str, call: Result<T, ApiError>) -> Result<T, AdminError> {
        call.map_err(|source| match source.status() {
            Some(404) => AdminError::NoRoutes {
                iface: self.iface().clone(),
            },
            _ => AdminError::Api {
                iface: self.iface().clone(),
                action: action.to_owned(),
                source: Box::new(source),
            },
        })
    }

    /// Offers `routes` (and the exit node) through `gateway` (a peer's name; `None`: this
    /// host, which needs no admin rights). An empty offer withdraws everything.
    pub fn offer_routes(
        &self,
        gateway: Option<&str>,
        routes: &[IpNet],
        exit: bool,
    ) -> Result<Vec<Route>, AdminError> {
        let offer = RouteOffer {
            routes: routes.to_vec(),
            exit,
        };
        match gateway {
            None => self.routes_call("offer the routes", self.api.offer_own_routes(&offer)),
            Some(name) => {
                let peers = self.peers()?;
                let peer = self.peer_by_name(&peers, name)?;
                self.routes_call(
                    &format!("offer routes through {name}"),
                    self.api.offer_routes(peer.id, &offer),
                )
            }
        }
    }

    /// Approves (or takes back) `gateway`'s `routes` (empty: all it offers).
    pub fn approve_routes(
        &self,
        gateway: &str,
        routes: &[IpNet],
        approved: bool,
    ) -> Result<Vec<Route>, AdminError> {
        let peers = self.peers()?;
        let peer = self.peer_by_name(&peers, gateway)?;
        self.routes_call(
            &format!("approve the routes of {gateway}"),
            self.api.approve_routes(
                peer.id,
                &RouteApproval {
                    routes: routes.to_vec(),
                    approved,
                },
            ),
        )
    }

    /// Sets (or with nothing, removes) the auto-approval of the CIDR `name`.
    pub fn set_auto_approval(
        &self,
        name: &str,
        prefixes: &[IpNet],
        exit: bool,
    ) -> Result<(), AdminError> {
        let cidrs = self.cidrs()?;
        let cidr = self.cidr_by_name(&cidrs, name)?;
        self.routes_call(
            "set the auto-approval",
            self.api.set_auto_approval(
                cidr.id,
                &AutoApprovalContents {
                    prefixes: prefixes.to_vec(),
                    exit,
                },
            ),
        )
    }

    pub fn route_book(&self) -> Result<RouteBook, AdminError> {
        self.routes_call("list the routes", self.api.route_book())
    }
}
