use std::time::Duration;

use super::*;
use crate::wire::{AssociationContents, CidrContents, PeerContents};

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

fn peer(id: i64, name: &str, ip: &str, cidr: i64) -> Peer {
    Peer {
        id: PeerId(id),
        contents: PeerContents {
            name: name.parse().unwrap(),
            ip: ip.parse().unwrap(),
            cidr_id: CidrId(cidr),
            public_key: wireguard_control::PrivateKey::from_bytes([id as u8; 32]).public_key(),
            endpoint: None,
            persistent_keepalive_interval: None,
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        },
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn network() -> (Vec<Cidr>, Vec<Peer>, Vec<Association>) {
    let cidrs = vec![
        cidr(4, "robots", "10.66.2.0/24", Some(1)),
        cidr(1, "evilcorp", "10.66.0.0/16", None),
        cidr(3, "humans", "10.66.1.0/24", Some(1)),
        cidr(2, "infra", "10.66.0.1/32", Some(1)),
    ];
    let mut server = peer(1, "innernet-server", "10.66.0.1", 2);
    server.contents.is_admin = true;
    server.contents.endpoint = Some("203.0.113.5:51820".parse().unwrap());
    let mut alice = peer(2, "alice", "10.66.1.1", 3);
    alice.contents.persistent_keepalive_interval = Some(25);
    alice.contents.candidates = vec!["192.168.1.9:40000".parse().unwrap()];
    let mut pending = peer(3, "r2", "10.66.2.1", 4);
    pending.contents.is_redeemed = false;
    pending.contents.invite_expires = Some(at(2000));
    let mut expired = peer(4, "c3po", "10.66.2.2", 4);
    expired.contents.is_redeemed = false;
    expired.contents.is_disabled = true;
    expired.contents.invite_expires = Some(at(500));
    let peers = vec![expired, pending, alice, server];
    let associations = vec![Association {
        id: AssociationId(1),
        contents: AssociationContents {
            cidr_id_1: CidrId(3),
            cidr_id_2: CidrId(4),
        },
    }];
    (cidrs, peers, associations)
}

#[test]
fn cidrs_are_listed_in_tree_order_with_depth() {
    let (cidrs, _, _) = network();
    let expected = r#"{
  "cidrs": [
    {
      "id": 1,
      "name": "evilcorp",
      "cidr": "10.66.0.0/16",
      "parent_id": null,
      "parent": null,
      "depth": 0
    },
    {
      "id": 2,
      "name": "infra",
      "cidr": "10.66.0.1/32",
      "parent_id": 1,
      "parent": "evilcorp",
      "depth": 1
    },
    {
      "id": 3,
      "name": "humans",
      "cidr": "10.66.1.0/24",
      "parent_id": 1,
      "parent": "evilcorp",
      "depth": 1
    },
    {
      "id": 4,
      "name": "robots",
      "cidr": "10.66.2.0/24",
      "parent_id": 1,
      "parent": "evilcorp",
      "depth": 1
    }
  ]
}
"#;
    assert_eq!(cidrs_json(&cidrs), expected);
}

#[test]
fn peers_carry_their_cidr_name_and_invitation_state() {
    let (cidrs, peers, _) = network();
    let json: serde_json::Value =
        serde_json::from_str(&peers_json(&peers, &cidrs, at(1000))).unwrap();
    let list = json["peers"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["innernet-server", "alice", "r2", "c3po"]);
    assert_eq!(list[0]["endpoint"], "203.0.113.5:51820");
    assert_eq!(list[0]["cidr"], "infra");
    assert_eq!(list[1]["persistent_keepalive_interval"], 25);
    assert_eq!(list[1]["candidates"][0], "192.168.1.9:40000");
    assert_eq!(list[2]["invite"], "pending");
    assert_eq!(list[2]["invite_expires"], 2000);
    assert_eq!(list[3]["invite"], "expired");
    assert_eq!(list[3]["is_disabled"], true);
}

#[test]
fn peer_entry_snapshot() {
    let (cidrs, peers, _) = network();
    let entries = peer_entries(&peers[..1], &cidrs, &PeerNotes::default(), at(1000));
    let expected = format!(
        r#"{{
  "id": 4,
  "name": "c3po",
  "ip": "10.66.2.2",
  "cidr_id": 4,
  "cidr": "robots",
  "public_key": "{}",
  "endpoint": null,
  "persistent_keepalive_interval": null,
  "is_admin": false,
  "is_disabled": true,
  "is_redeemed": false,
  "invite": "expired",
  "invite_expires": 500,
  "candidates": []
}}"#,
        peers[0].public_key.to_base64()
    );
    assert_eq!(serde_json::to_string_pretty(&entries[0]).unwrap(), expected);
}

#[test]
fn associations_and_network_documents() {
    let (cidrs, peers, associations) = network();
    let expected = r#"{
  "associations": [
    {
      "id": 1,
      "cidr_id_1": 3,
      "cidr_1": "humans",
      "cidr_id_2": 4,
      "cidr_2": "robots"
    }
  ]
}
"#;
    assert_eq!(associations_json(&associations, &cidrs), expected);
    let doc: serde_json::Value = serde_json::from_str(&network_json(
        "evilcorp",
        &cidrs,
        &peers,
        &PeerNotes::default(),
        at(0),
    ))
    .unwrap();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cidrs", "network", "peers"]);
    assert_eq!(doc["network"], "evilcorp");
    assert_eq!(doc["cidrs"].as_array().unwrap().len(), 4);
    assert_eq!(doc["peers"].as_array().unwrap().len(), 4);
}

#[test]
fn orphans_and_cycles_are_listed_once() {
    let cidrs = vec![
        cidr(1, "root", "10.0.0.0/8", None),
        cidr(2, "orphan", "10.2.0.0/16", Some(99)),
        cidr(3, "a", "10.3.0.0/16", Some(4)),
        cidr(4, "b", "10.4.0.0/16", Some(3)),
    ];
    let order: Vec<(&str, usize)> = tree_order(&cidrs)
        .into_iter()
        .map(|(c, d)| (c.name.as_str(), d))
        .collect();
    assert_eq!(order, [("root", 0), ("orphan", 0), ("a", 0), ("b", 0)]);
}
