//! Text listings for `list` (the CIDR tree with its peers) and `list-associations`.
//!
//! `list` prints one line per CIDR, `<name> <network>`, indented two spaces per level below
//! the root, and under each CIDR its peers as `- <name> <ip>` with flags in parentheses
//! (`admin`, `disabled`, `invite pending`, `invite expired`). Children and peers are sorted
//! by address, so the output only changes when the network does.

use std::fmt::Write;
use std::time::SystemTime;

use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::style::Style;
use wiremesh_shared::wire::Peer;
use wiremesh_shared::CidrId;

use crate::model::Model;

/// The CIDR tree with every peer under its CIDR; CIDR names bold and flags coloured when
/// `style` says so.
pub fn render_tree(model: &Model, now: SystemTime, style: Style) -> String {
    let tree = CidrTree::new(model.cidrs());
    let mut out = String::new();
    let mut roots: Vec<_> = model
        .cidrs()
        .iter()
        .filter(|c| c.parent.is_none())
        .collect();
    roots.sort_by_key(|c| c.cidr);
    for root in roots {
        render_cidr(model, &tree, root.id, 0, (now, style), &mut out);
    }
    out
}

fn render_cidr(
    model: &Model,
    tree: &CidrTree<'_>,
    id: CidrId,
    depth: usize,
    (now, style): (SystemTime, Style),
    out: &mut String,
) {
    let Some(cidr) = tree.get(id) else { return };
    let indent = "  ".repeat(depth);
    let _ = writeln!(out, "{indent}{} {}", style.bold(&cidr.name), cidr.cidr);
    let mut peers: Vec<&Peer> = model.peers().iter().filter(|p| p.cidr_id == id).collect();
    peers.sort_by_key(|p| p.ip);
    for peer in peers {
        let flags = peer_flags(peer, now);
        let flags = if flags.is_empty() {
            String::new()
        } else {
            let painted: Vec<String> = flags
                .iter()
                .map(|flag| match *flag {
                    "admin" => style.cyan(flag),
                    "invite pending" => style.yellow(flag),
                    _ => style.red(flag),
                })
                .collect();
            format!(" ({})", painted.join(", "))
        };
        let _ = writeln!(out, "{indent}  - {} {}{flags}", peer.name, peer.ip);
    }
    let mut children: Vec<_> = tree
        .children(id)
        .iter()
        .filter_map(|child| tree.get(*child))
        .collect();
    children.sort_by_key(|c| c.cidr);
    for child in children {
        render_cidr(model, tree, child.id, depth + 1, (now, style), out);
    }
}

fn peer_flags(peer: &Peer, now: SystemTime) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if peer.is_admin {
        flags.push("admin");
    }
    if peer.is_disabled {
        flags.push("disabled");
    }
    if !peer.is_redeemed {
        if peer.invite_expires.is_some_and(|expires| expires < now) {
            flags.push("invite expired");
        } else {
            flags.push("invite pending");
        }
    }
    flags
}

/// One line per association: `<id>: <name1> <=> <name2>` (innernet's format).
pub fn render_associations(model: &Model) -> String {
    let name = |id: CidrId| {
        model
            .cidr(id)
            .map_or_else(|| format!("<CIDR {id}>"), |c| c.name.clone())
    };
    let mut out = String::new();
    for association in model.associations() {
        let _ = writeln!(
            out,
            "{}: {} <=> {}",
            association.id,
            name(association.cidr_id_1),
            name(association.cidr_id_2)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Snapshot;
    use std::time::Duration;
    use wiremesh_shared::acl::NetworkRoles;
    use wiremesh_shared::wire::{
        Association, AssociationContents, Cidr, CidrContents, PeerContents,
    };
    use wiremesh_shared::{AssociationId, PeerId};

    fn cidr(id: i64, name: &str, net: &str, parent: Option<i64>) -> Cidr {
        Cidr {
            id: CidrId(id),
            contents: CidrContents {
                name: name.into(),
                cidr: net.parse().unwrap(),
                parent: parent.map(CidrId),
            },
        }
    }

    fn peer(id: i64, name: &str, ip: &str, cidr: i64, flags: (bool, bool, bool)) -> Peer {
        Peer {
            id: PeerId(id),
            contents: PeerContents {
                name: name.parse().unwrap(),
                ip: ip.parse().unwrap(),
                cidr_id: CidrId(cidr),
                public_key: wireguard_control::PrivateKey::from_bytes([id as u8; 32]).public_key(),
                endpoint: None,
                persistent_keepalive_interval: None,
                is_admin: flags.0,
                is_disabled: flags.1,
                is_redeemed: flags.2,
                invite_expires: (!flags.2)
                    .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(100)),
                candidates: Vec::new(),
            },
        }
    }

    #[test]
    fn tree_and_associations() {
        let model = Model::new(
            Snapshot {
                cidrs: vec![
                    cidr(1, "evilcorp", "10.66.0.0/16", None),
                    cidr(2, "innernet-server", "10.66.0.1/32", Some(1)),
                    cidr(4, "robots", "10.66.2.0/24", Some(1)),
                    cidr(3, "humans", "10.66.1.0/24", Some(1)),
                ],
                peers: vec![
                    peer(1, "innernet-server", "10.66.0.1", 2, (true, false, true)),
                    peer(3, "bob", "10.66.1.2", 3, (false, true, true)),
                    peer(2, "alice", "10.66.1.1", 3, (true, false, true)),
                    peer(4, "r2", "10.66.2.1", 4, (false, false, false)),
                ],
                associations: vec![Association {
                    id: AssociationId(1),
                    contents: AssociationContents {
                        cidr_id_1: CidrId(3),
                        cidr_id_2: CidrId(4),
                    },
                }],
                roles: NetworkRoles::CREATED_BY_NEW,
            },
            1,
        );
        let early = SystemTime::UNIX_EPOCH;
        let expected = "\
evilcorp 10.66.0.0/16
  innernet-server 10.66.0.1/32
    - innernet-server 10.66.0.1 (admin)
  humans 10.66.1.0/24
    - alice 10.66.1.1 (admin)
    - bob 10.66.1.2 (disabled)
  robots 10.66.2.0/24
    - r2 10.66.2.1 (invite pending)
";
        assert_eq!(render_tree(&model, early, Style::PLAIN), expected);
        let coloured = render_tree(&model, early, Style::COLOUR);
        assert!(coloured.contains("(\x1b[31mdisabled\x1b[0m)"), "{coloured}");
        let late = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert!(render_tree(&model, late, Style::PLAIN).contains("r2 10.66.2.1 (invite expired)"));
        assert_eq!(render_associations(&model), "1: humans <=> robots\n");
    }
}
