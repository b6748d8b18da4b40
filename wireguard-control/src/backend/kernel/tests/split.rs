//! Splitting of large `WG_CMD_SET_DEVICE` updates into messages that each fit the buffer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use netlink_packet_wireguard::{WireguardAttribute, WireguardDeviceFlags};
use netlink_request::{buffer_size, max_genl_payload_size};

use super::{to_bytes, update_from_messages};
use crate::backend::kernel::build::set_device_messages;
use crate::{DeviceUpdate, Error, InterfaceName, PeerUpdate, PresharedKey, PrivateKey, PublicKey};

fn iface() -> InterfaceName {
    "wiremesh0".parse().expect("valid name")
}

fn key(idx: u32, tag: u8) -> [u8; 32] {
    let mut bytes = [tag; 32];
    bytes[..4].copy_from_slice(&idx.to_be_bytes());
    bytes
}

/// A varied peer: v4 or v6 endpoint, with or without keepalive and preshared key, one to
/// three allowed IPs.
fn varied_peer(idx: u32) -> PeerUpdate {
    let [_, _, hi, lo] = idx.to_be_bytes();
    let endpoint = if idx.is_multiple_of(2) {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, hi, lo)), 51820)
    } else {
        SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, idx as u16)),
            4000,
        )
    };
    let mut nets = vec![IpNet::new(IpAddr::V4(Ipv4Addr::new(10, 1, hi, lo)), 32).expect("valid")];
    if idx.is_multiple_of(3) {
        let v6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, hi.into(), lo.into());
        nets.push(IpNet::new(IpAddr::V6(v6), 128).expect("valid"));
    }
    if idx.is_multiple_of(11) {
        nets.push(IpNet::new(IpAddr::V4(Ipv4Addr::new(172, 16, lo, 0)), 24).expect("valid"));
    }
    let mut peer = PeerUpdate::new(PublicKey::from_bytes(key(idx, 0x5a)))
        .set_endpoint(endpoint)
        .replace_allowed_ips(nets);
    if !idx.is_multiple_of(4) {
        peer = peer.set_persistent_keepalive_interval((idx % 120) as u16);
    }
    match idx % 5 {
        0 => peer = peer.set_preshared_key(Some(PresharedKey::from_bytes(key(idx, 0xa5)))),
        1 => peer = peer.set_preshared_key(None),
        _ => {}
    }
    if idx.is_multiple_of(97) {
        peer = peer.update_only();
    }
    peer
}

fn has_replace_peers(attributes: &[WireguardAttribute]) -> bool {
    attributes.iter().any(|attr| {
        matches!(attr, WireguardAttribute::Flags(flags) if flags.contains(WireguardDeviceFlags::ReplacePeers))
    })
}

#[test]
fn ten_thousand_peers_split_and_round_trip() {
    let update = DeviceUpdate::new()
        .set_private_key(PrivateKey::from_bytes([0x42; 32]))
        .set_listen_port(51820)
        .set_fwmark(0x1234)
        .replace_peers()
        .add_peers((0..10_000).map(varied_peer));
    let limit = buffer_size();
    let messages = set_device_messages(&iface(), &update, max_genl_payload_size()).expect("splits");
    assert!(messages.len() > 1, "10,000 peers cannot fit one message");

    for (idx, message) in messages.iter().enumerate() {
        let attributes = &message.payload.attributes;
        assert_eq!(
            attributes.first(),
            Some(&WireguardAttribute::IfName("wiremesh0".into())),
            "message {idx} starts with the interface name"
        );
        assert_eq!(
            has_replace_peers(attributes),
            idx == 0,
            "REPLACE_PEERS only in message 0"
        );
        let device_fields = attributes.iter().any(|attr| {
            matches!(
                attr,
                WireguardAttribute::PrivateKey(_)
                    | WireguardAttribute::ListenPort(_)
                    | WireguardAttribute::Fwmark(_)
            )
        });
        assert_eq!(device_fields, idx == 0, "device fields only in message 0");
    }

    let bytes: Vec<Vec<u8>> = messages
        .into_iter()
        .enumerate()
        .map(|(idx, m)| to_bytes(m, idx as u32))
        .collect();
    let largest = bytes.iter().map(Vec::len).max().unwrap_or(0);
    assert!(
        largest <= limit,
        "largest message {largest} > buffer {limit}"
    );
    eprintln!(
        "10,000 peers: {} messages, largest {largest} bytes, total {} bytes, buffer {limit} bytes",
        bytes.len(),
        bytes.iter().map(Vec::len).sum::<usize>()
    );

    assert_eq!(update_from_messages(&bytes), update);
}

/// (limit for the attributes, number of 40-byte key-only peers, replace_peers) → peers per
/// message. The name attribute of "wiremesh0" takes 16 bytes, the peer list header 4, and
/// REPLACE_PEERS 8 more in the first message.
fn check_packing(limit: usize, n_peers: u32, replace_peers: bool, expected: &[usize]) {
    let mut update = DeviceUpdate::new()
        .add_peers((0..n_peers).map(|idx| PeerUpdate::new(PublicKey::from_bytes(key(idx, 1)))));
    update.replace_peers = replace_peers;
    let messages = set_device_messages(&iface(), &update, limit).expect("fits");
    let counts: Vec<usize> = messages
        .iter()
        .map(|message| {
            message
                .payload
                .attributes
                .iter()
                .find_map(|attr| match attr {
                    WireguardAttribute::Peers(peers) => Some(peers.len()),
                    _ => None,
                })
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(
        counts, expected,
        "limit {limit}, {n_peers} peers, replace {replace_peers}"
    );
    for message in &messages {
        let used: usize = netlink_packet_core::Emitable::buffer_len(&message.payload);
        assert!(used <= limit, "{used} > {limit}");
    }
}

#[test]
fn packs_peers_greedily() {
    check_packing(16 + 4 + 2 * 40, 5, false, &[2, 2, 1]);
    check_packing(16 + 4 + 2 * 40 - 1, 5, false, &[1, 1, 1, 1, 1]);
    check_packing(16 + 4 + 2 * 40, 4, true, &[1, 2, 1]);
    check_packing(16 + 4 + 3 * 40, 6, false, &[3, 3]);
    check_packing(16 + 4 + 40, 0, true, &[0]);
    check_packing(16 + 4 + 40, 0, false, &[0]);
}

#[test]
fn peer_too_large_for_one_message_is_an_error() {
    let nets = (0..400u32).map(|idx| {
        let [_, _, hi, lo] = idx.to_be_bytes();
        IpNet::new(IpAddr::V4(Ipv4Addr::new(10, 9, hi, lo)), 32).expect("valid")
    });
    let huge = PeerUpdate::new(PublicKey::from_bytes([7; 32])).replace_allowed_ips(nets);
    let update = DeviceUpdate::new().add_peer(varied_peer(1)).add_peer(huge);
    match set_device_messages(&iface(), &update, max_genl_payload_size()) {
        Err(Error::PeerTooLarge {
            iface: name,
            peer,
            allowed_ips,
        }) => {
            assert_eq!(name, iface());
            assert_eq!(peer, PublicKey::from_bytes([7; 32]));
            assert_eq!(allowed_ips, 400);
        }
        other => panic!("expected PeerTooLarge, got {other:?}"),
    }
}

#[test]
fn empty_update_is_one_message_with_the_name() {
    let messages = set_device_messages(&iface(), &DeviceUpdate::new(), 100).expect("fits");
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].payload.attributes,
        vec![WireguardAttribute::IfName("wiremesh0".into())]
    );
}
