//! What devices cost the server, in process: a network of N peers in 50 CIDRs of 200 (the
//! model built in memory, no database), D devices in a `phones` CIDR that sees half of
//! them, hosted by the server. Prints the time to work out the hub's duties (cold, with
//! every ruleset compiled, and warm), the size of the table they make (rules and the
//! transaction's bytes), a viewer's route view, and the staleness of every device (what
//! `list` computes).
//!
//! `cargo run --release -p wiremesh-server --example hub_bench [N] [D]` (default 10,000 and
//! 100).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use wireguard_control::PublicKey;
use wiremesh_firewall::{Firewall, Gateway, Nft};
use wiremesh_server::model::Model;
use wiremesh_server::service::devices::device_entries;
use wiremesh_server::store::Snapshot;
use wiremesh_shared::acl::NetworkRoles;
use wiremesh_shared::devices::{Device, DeviceBook, KeySource};
use wiremesh_shared::policy::{HostRole, Policy};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents,
};
use wiremesh_shared::{AssociationId, CidrId, PeerId};

fn key(n: u32) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&n.to_le_bytes());
    bytes[31] = 0x5a;
    PublicKey::from_bytes(bytes)
}

fn peer(id: i64, ip: Ipv4Addr, cidr: CidrId) -> Arc<Peer> {
    Arc::new(Peer {
        id: PeerId(id),
        contents: PeerContents {
            name: format!("p{id}").parse().expect("name"),
            ip: IpAddr::V4(ip),
            cidr_id: cidr,
            public_key: key(id as u32),
            endpoint: Some("192.0.2.1:51820".parse().expect("endpoint")),
            persistent_keepalive_interval: None,
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        },
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().map_or(10_000, |a| a.parse().expect("N"));
    let d: u32 = args.next().map_or(100, |a| a.parse().expect("D"));
    let groups = 50u32;
    let per = n.div_ceil(groups);
    let cidr = |id: i64, name: &str, net: &str, parent: Option<i64>| Cidr {
        id: CidrId(id),
        contents: CidrContents {
            name: name.to_owned(),
            cidr: net.parse().expect("net"),
            parent: parent.map(CidrId),
        },
    };
    let mut cidrs = vec![
        cidr(1, "bench", "10.0.0.0/8", None),
        cidr(2, "innernet-server", "10.0.0.1/32", Some(1)),
    ];
    for g in 0..groups {
        cidrs.push(cidr(
            3 + i64::from(g),
            &format!("g{g}"),
            &format!("10.{}.0.0/16", g + 1),
            Some(1),
        ));
    }
    let phones = CidrId(3 + i64::from(groups));
    cidrs.push(cidr(phones.0, "phones", "10.200.0.0/16", Some(1)));
    let mut peers = vec![peer(1, Ipv4Addr::new(10, 0, 0, 1), CidrId(2))];
    let mut next = 2i64;
    for i in 0..n {
        let g = i / per;
        let ip = Ipv4Addr::new(
            10,
            (g + 1) as u8,
            ((i % per) / 250) as u8,
            (i % per % 250 + 1) as u8,
        );
        peers.push(peer(next, ip, CidrId(3 + i64::from(g))));
        next += 1;
    }
    let mut devices = Vec::new();
    for i in 0..d {
        let ip = Ipv4Addr::new(10, 200, (i / 250) as u8, (i % 250 + 1) as u8);
        peers.push(peer(next, ip, phones));
        devices.push(Device {
            peer: PeerId(next),
            hub: PeerId(1),
            key: KeySource::Supplied,
            full_tunnel: false,
            preshared_key: None,
            issued: String::new(),
        });
        next += 1;
    }
    let associations: Vec<Association> = (0..groups / 2)
        .map(|g| Association {
            id: AssociationId(i64::from(g) + 1),
            contents: AssociationContents {
                cidr_id_1: phones,
                cidr_id_2: CidrId(3 + i64::from(g)),
            },
        })
        .collect();
    let model = Model::new(
        Snapshot {
            cidrs,
            peers,
            associations,
            roles: NetworkRoles::CREATED_BY_NEW,
            policy: Arc::new(Policy::default()),
            routes: Arc::default(),
            devices: Arc::new(DeviceBook { devices }),
            tombstones: Arc::default(),
            ephemeral: Arc::default(),
            settings: Default::default(),
        },
        1,
    );
    println!(
        "{n} peers in {groups} CIDRs, {d} devices hosted by the server, phones see {} CIDRs",
        groups / 2
    );

    let start = Instant::now();
    let hub = model.server_hub();
    let cold = ms(start);
    let start = Instant::now();
    let again = model.server_hub();
    let warm = ms(start);
    assert_eq!(hub, again);
    let gateway = Gateway {
        hub,
        ..Gateway::NONE
    };
    let ruleset = wiremesh_shared::policy::HostRuleset::open(HostRole::Server { api_port: 51820 });
    let firewall = Firewall::new(Nft::system(), "bench");
    let start = Instant::now();
    let json = firewall.transaction_json_of(&ruleset, &gateway);
    let compose = ms(start);
    let rules = json.matches("\"rule\"").count();
    println!(
        "hub duties: {cold:.2} ms cold (rulesets compiled), {warm:.2} ms warm; {} policy chains, {} guarded networks",
        gateway.hub.rulesets.len(),
        gateway.hub.guarded.len()
    );
    println!(
        "table: {rules} rules, transaction {:.1} KiB, composed in {compose:.2} ms",
        json.len() as f64 / 1024.0
    );
    let viewer = model.peers()[2].clone();
    let start = Instant::now();
    let view = model.route_view(&viewer);
    println!(
        "a peer's route view: {} device routes in {:.2} ms",
        view.devices.len(),
        ms(start)
    );
    let start = Instant::now();
    let entries = device_entries(&model);
    println!(
        "staleness of {} devices (what list computes): {:.2} ms",
        entries.len(),
        ms(start)
    );
}
