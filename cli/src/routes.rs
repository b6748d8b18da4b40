//! The text of the route commands: a gateway's offer after a change, and `list-routes`.

use std::fmt::Write as _;

use wiremesh_shared::routes::{Route, RouteBook, RouteKind};
use wiremesh_shared::wire::{Cidr, Peer};
use wiremesh_shared::{CidrId, PeerId};

use crate::Style;

fn peer_name(peers: &[Peer], id: PeerId) -> String {
    peers
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.name.to_string())
        .unwrap_or_else(|| format!("peer {id}"))
}

fn cidr_name(cidrs: &[Cidr], id: CidrId) -> String {
    cidrs
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| format!("CIDR {id}"))
}

fn route_line(route: &Route, style: Style) -> String {
    let state = if route.approved {
        style.green("approved")
    } else {
        style.yellow("waiting for approval")
    };
    let kind = match route.contents.kind {
        RouteKind::Subnet => String::new(),
        RouteKind::Exit => " (exit node)".to_owned(),
    };
    format!("{}{kind}: {state}", route.contents.net)
}

/// One gateway's routes after an offer or an approval.
pub fn render_offer(gateway: &str, routes: &[Route], style: Style) -> String {
    if routes.is_empty() {
        return format!("{gateway} offers no routes\n");
    }
    let mut out = format!("{gateway} offers:\n");
    for route in routes {
        let _ = writeln!(out, "  {}", route_line(route, style));
    }
    out
}

/// `list-routes`: every offer by gateway, then the auto-approvals.
pub fn render_book(book: &RouteBook, peers: &[Peer], cidrs: &[Cidr], style: Style) -> String {
    let mut out = String::new();
    if book.routes.is_empty() {
        out.push_str("no routes offered\n");
    }
    let mut gateways: Vec<PeerId> = book.routes.iter().map(|r| r.contents.gateway).collect();
    gateways.sort();
    gateways.dedup();
    for gateway in gateways {
        let peer = peers.iter().find(|p| p.id == gateway);
        let disabled = peer.is_some_and(|p| p.is_disabled);
        let _ = writeln!(
            out,
            "{}{}",
            style.bold(&peer_name(peers, gateway)),
            if disabled {
                style.dim(" (disabled: its routes are not used)")
            } else {
                String::new()
            }
        );
        for route in book.of(gateway) {
            let _ = writeln!(out, "  {}", route_line(route, style));
        }
    }
    for auto in &book.auto {
        let mut what: Vec<String> = auto.prefixes.iter().map(|p| p.to_string()).collect();
        if auto.exit {
            what.push("exit nodes".to_owned());
        }
        let _ = writeln!(
            out,
            "auto-approved for {}: {}",
            cidr_name(cidrs, auto.cidr),
            what.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremesh_shared::fixture::*;
    use wiremesh_shared::routes::{AutoApproval, RouteContents};
    use wiremesh_shared::RouteId;

    #[test]
    fn the_listing_names_gateways_states_and_auto_approvals() {
        let fx = Fixture::new(Family::V4);
        let book = RouteBook {
            routes: vec![
                Route {
                    id: RouteId(1),
                    contents: RouteContents {
                        gateway: DEVELOPER1,
                        net: "192.168.10.0/24".parse().unwrap(),
                        kind: RouteKind::Subnet,
                    },
                    approved: true,
                },
                Route {
                    id: RouteId(2),
                    contents: RouteContents {
                        gateway: DEVELOPER1,
                        net: "0.0.0.0/0".parse().unwrap(),
                        kind: RouteKind::Exit,
                    },
                    approved: false,
                },
            ],
            auto: vec![AutoApproval {
                cidr: DEVELOPER,
                prefixes: vec!["192.168.0.0/16".parse().unwrap()],
                exit: true,
            }],
        };
        let text = render_book(&book, &fx.peers, &fx.cidrs, Style::PLAIN);
        assert_eq!(
            text,
            "developer1\n  192.168.10.0/24: approved\n  0.0.0.0/0 (exit node): waiting for approval\n\
             auto-approved for developer: 192.168.0.0/16, exit nodes\n"
        );
        assert_eq!(
            render_offer("developer1", &[], Style::PLAIN),
            "developer1 offers no routes\n"
        );
    }
}
