//! Builds a small network in memory and prints, for every peer, the peers it may see,
//! then the address the next invitation in each leaf CIDR would get.
//!
//! Run with `cargo run -p wiremesh-shared --example acl`.

use std::collections::HashSet;
use std::net::IpAddr;

use wiremesh_shared::acl::{visible_peers, NetworkRoles, NetworkView};
use wiremesh_shared::alloc::first_free_ip;
use wiremesh_shared::cidr::{check_new_cidr, CidrTree};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents,
};
use wiremesh_shared::{AssociationId, CidrId, PeerId, PublicKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cidrs: Vec<Cidr> = Vec::new();
    let mut peers: Vec<Peer> = Vec::new();
    for (name, network, parent) in [
        ("evilcorp", "10.66.0.0/16", None),
        ("innernet-server", "10.66.0.1/32", Some(1)),
        ("humans", "10.66.1.0/24", Some(1)),
        ("robots", "10.66.2.0/24", Some(1)),
    ] {
        let contents = CidrContents {
            name: name.into(),
            cidr: network.parse()?,
            parent: parent.map(CidrId),
        };
        check_new_cidr(&cidrs, &peers, &contents)?;
        cidrs.push(Cidr {
            id: CidrId(cidrs.len() as i64 + 1),
            contents,
        });
    }
    for (name, cidr) in [
        ("innernet-server", 2),
        ("alice", 3),
        ("bob", 3),
        ("r2d2", 4),
    ] {
        let cidr = &cidrs[cidr - 1];
        let used: HashSet<IpAddr> = peers.iter().map(|p| p.ip).collect();
        let ip = first_free_ip(&cidr.cidr, &used)?;
        let id = PeerId(peers.len() as i64 + 1);
        let mut key = [0u8; 32];
        key[0] = id.0 as u8;
        peers.push(Peer {
            id,
            contents: PeerContents {
                name: name.parse()?,
                ip,
                cidr_id: cidr.id,
                public_key: PublicKey::from_bytes(key),
                endpoint: None,
                persistent_keepalive_interval: Some(25),
                is_admin: false,
                is_disabled: false,
                is_redeemed: true,
                invite_expires: None,
                candidates: Vec::new(),
            },
        });
    }
    let mut associations = Vec::new();
    for with_association in [false, true] {
        if with_association {
            associations.push(Association {
                id: AssociationId(1),
                contents: AssociationContents {
                    cidr_id_1: CidrId(3),
                    cidr_id_2: CidrId(4),
                },
            });
            println!("\nafter associating humans <=> robots:");
        } else {
            println!("without associations:");
        }
        let view = NetworkView {
            cidrs: &cidrs,
            associations: &associations,
            peers: &peers,
            roles: NetworkRoles::CREATED_BY_NEW,
        };
        for peer in &peers {
            let seen: Vec<&str> = visible_peers(&view, peer)
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            println!(
                "  {:<16} {:<10} sees {}",
                peer.name.as_str(),
                peer.ip,
                seen.join(", ")
            );
        }
    }
    let tree = CidrTree::new(&cidrs);
    let used: HashSet<IpAddr> = peers.iter().map(|p| p.ip).collect();
    println!("\nnext free address per leaf CIDR:");
    for leaf in tree.leaves() {
        match first_free_ip(&leaf.cidr, &used) {
            Ok(ip) => println!("  {:<16} {}", leaf.name, ip),
            Err(e) => println!("  {:<16} {e}", leaf.name),
        }
    }
    Ok(())
}
