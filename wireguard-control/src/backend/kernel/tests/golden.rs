//! Golden bytes: a small `WG_CMD_SET_DEVICE` request (built and parsed back) and a two-part
//! `WG_CMD_GET_DEVICE` answer (parsed), every field commented. Little-endian hosts only, as
//! netlink integers are in host order.
#![cfg(target_endian = "little")]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::{attributes_of, to_bytes, update_from_messages};
use crate::backend::kernel::build::set_device_messages;
use crate::backend::kernel::device_from_parts;
use crate::{
    BackendKind, Device, DeviceUpdate, InterfaceName, PeerConfig, PeerInfo, PeerStats, PeerUpdate,
    PrivateKey, PublicKey,
};

pub(super) fn wg0() -> InterfaceName {
    "wg0".parse().expect("valid name")
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test endpoint")
}

/// The update the golden `WG_CMD_SET_DEVICE` bytes express.
fn golden_update() -> DeviceUpdate {
    DeviceUpdate::new()
        .set_private_key(PrivateKey::from_bytes([0x11; 32]))
        .set_listen_port(51820)
        .replace_peers()
        .add_peer(
            PeerUpdate::new(PublicKey::from_bytes([0x22; 32]))
                .set_endpoint(addr("192.0.2.1:51820"))
                .set_persistent_keepalive_interval(25)
                .replace_allowed_ips(["10.0.0.0/24".parse().expect("test CIDR")]),
        )
        .remove_peer(PublicKey::from_bytes([0x33; 32]))
}

#[rustfmt::skip]
fn golden_set_device() -> Vec<u8> {
    let parts: &[&[u8]] = &[
        // struct nlmsghdr
        &[0xf0, 0x00, 0x00, 0x00],        // nlmsg_len: 240
        &[0x15, 0x00],                    // nlmsg_type: the wireguard family id (0x15 here)
        &[0x05, 0x00],                    // nlmsg_flags: NLM_F_REQUEST | NLM_F_ACK
        &[0x01, 0x00, 0x00, 0x00],        // nlmsg_seq: 1
        &[0x00, 0x00, 0x00, 0x00],        // nlmsg_pid: 0 (the kernel)
        // struct genlmsghdr
        &[0x01, 0x01, 0x00, 0x00],        // cmd WG_CMD_SET_DEVICE, version 1, reserved
        // WGDEVICE_A_IFNAME (2): "wg0\0"
        &[0x08, 0x00, 0x02, 0x00], b"wg0\0",
        // WGDEVICE_A_PRIVATE_KEY (3): 32 bytes
        &[0x24, 0x00, 0x03, 0x00], &[0x11; 32],
        // WGDEVICE_A_LISTEN_PORT (6): u16 51820, 2 bytes padding
        &[0x06, 0x00, 0x06, 0x00, 0x6c, 0xca, 0x00, 0x00],
        // WGDEVICE_A_FLAGS (5): WGDEVICE_F_REPLACE_PEERS
        &[0x08, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00],
        // WGDEVICE_A_PEERS (8 | NLA_F_NESTED): 160 bytes
        &[0xa0, 0x00, 0x08, 0x80],
        //   peer 0 (0 | NLA_F_NESTED): 108 bytes
        &[0x6c, 0x00, 0x00, 0x80],
        //     WGPEER_A_PUBLIC_KEY (1)
        &[0x24, 0x00, 0x01, 0x00], &[0x22; 32],
        //     WGPEER_A_FLAGS (3): WGPEER_F_REPLACE_ALLOWEDIPS
        &[0x08, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00],
        //     WGPEER_A_ENDPOINT (4): struct sockaddr_in, AF_INET, port 51820 (big-endian),
        //     192.0.2.1, 8 bytes zero
        &[0x14, 0x00, 0x04, 0x00, 0x02, 0x00, 0xca, 0x6c, 0xc0, 0x00, 0x02, 0x01],
        &[0x00; 8],
        //     WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL (5): u16 25, padding
        &[0x06, 0x00, 0x05, 0x00, 0x19, 0x00, 0x00, 0x00],
        //     WGPEER_A_ALLOWEDIPS (9 | NLA_F_NESTED): 32 bytes
        &[0x20, 0x00, 0x09, 0x80],
        //       allowed IP 0 (NLA_F_NESTED): 28 bytes
        &[0x1c, 0x00, 0x00, 0x80],
        //         WGALLOWEDIP_A_FAMILY (1): AF_INET
        &[0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00],
        //         WGALLOWEDIP_A_IPADDR (2): 10.0.0.0
        &[0x08, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x00],
        //         WGALLOWEDIP_A_CIDR_MASK (3): 24, padding
        &[0x05, 0x00, 0x03, 0x00, 0x18, 0x00, 0x00, 0x00],
        //   peer 1 (NLA_F_NESTED): 48 bytes
        &[0x30, 0x00, 0x00, 0x80],
        //     WGPEER_A_PUBLIC_KEY (1)
        &[0x24, 0x00, 0x01, 0x00], &[0x33; 32],
        //     WGPEER_A_FLAGS (3): WGPEER_F_REMOVE_ME
        &[0x08, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00],
    ];
    parts.concat()
}

#[test]
fn builder_emits_golden_set_device() {
    let messages = set_device_messages(&wg0(), &golden_update(), 8192).expect("fits one message");
    assert_eq!(messages.len(), 1);
    let bytes = to_bytes(messages.into_iter().next().expect("one message"), 1);
    assert_eq!(bytes, golden_set_device());
}

#[test]
fn golden_set_device_parses_to_update() {
    assert_eq!(
        update_from_messages(&[golden_set_device()]),
        golden_update()
    );
}

#[rustfmt::skip]
pub(super) fn golden_get_part_one() -> Vec<u8> {
    let parts: &[&[u8]] = &[
        // struct nlmsghdr
        &[0x48, 0x01, 0x00, 0x00],        // nlmsg_len: 328
        &[0x15, 0x00],                    // nlmsg_type: the wireguard family id
        &[0x02, 0x00],                    // nlmsg_flags: NLM_F_MULTI
        &[0x07, 0x00, 0x00, 0x00],        // nlmsg_seq: 7
        &[0x39, 0x30, 0x00, 0x00],        // nlmsg_pid: our port id
        // struct genlmsghdr: cmd WG_CMD_GET_DEVICE, version 1
        &[0x00, 0x01, 0x00, 0x00],
        // WGDEVICE_A_IFINDEX (1): 5
        &[0x08, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00],
        // WGDEVICE_A_IFNAME (2): "wg0\0"
        &[0x08, 0x00, 0x02, 0x00], b"wg0\0",
        // WGDEVICE_A_LISTEN_PORT (6): 51820
        &[0x06, 0x00, 0x06, 0x00, 0x6c, 0xca, 0x00, 0x00],
        // WGDEVICE_A_FWMARK (7): 0, i.e. none
        &[0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00],
        // WGDEVICE_A_PRIVATE_KEY (3)
        &[0x24, 0x00, 0x03, 0x00], &[0x11; 32],
        // WGDEVICE_A_PUBLIC_KEY (4)
        &[0x24, 0x00, 0x04, 0x00], &[0x44; 32],
        // WGDEVICE_A_PEERS (8 | NLA_F_NESTED): 204 bytes
        &[0xcc, 0x00, 0x08, 0x80],
        //   peer A (NLA_F_NESTED): 200 bytes
        &[0xc8, 0x00, 0x00, 0x80],
        //     WGPEER_A_PUBLIC_KEY (1)
        &[0x24, 0x00, 0x01, 0x00], &[0x22; 32],
        //     WGPEER_A_PRESHARED_KEY (2): all zero, i.e. none
        &[0x24, 0x00, 0x02, 0x00], &[0x00; 32],
        //     WGPEER_A_LAST_HANDSHAKE_TIME (6): struct __kernel_timespec
        //     tv_sec 1_700_000_000, tv_nsec 500
        &[0x14, 0x00, 0x06, 0x00],
        &[0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00],
        &[0xf4, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        //     WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL (5): 25
        &[0x06, 0x00, 0x05, 0x00, 0x19, 0x00, 0x00, 0x00],
        //     WGPEER_A_TX_BYTES (8): 2000
        &[0x0c, 0x00, 0x08, 0x00, 0xd0, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        //     WGPEER_A_RX_BYTES (7): 1000
        &[0x0c, 0x00, 0x07, 0x00, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        //     WGPEER_A_PROTOCOL_VERSION (10): 1, ignored
        &[0x08, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00],
        //     WGPEER_A_ENDPOINT (4): struct sockaddr_in6, AF_INET6, port 51820,
        //     flowinfo 0, 2001:db8::1, scope id 0
        &[0x20, 0x00, 0x04, 0x00, 0x0a, 0x00, 0xca, 0x6c, 0x00, 0x00, 0x00, 0x00],
        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01],
        &[0x00, 0x00, 0x00, 0x00],
        //     WGPEER_A_ALLOWEDIPS (9 | NLA_F_NESTED): 32 bytes; the kernel continues this
        //     peer's list in the next part
        &[0x20, 0x00, 0x09, 0x80],
        &[0x1c, 0x00, 0x00, 0x80],
        &[0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00], // family AF_INET
        &[0x08, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x02], // 10.0.0.2
        &[0x05, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x00], // /32
    ];
    parts.concat()
}

#[rustfmt::skip]
pub(super) fn golden_get_part_two() -> Vec<u8> {
    let parts: &[&[u8]] = &[
        // struct nlmsghdr: 204 bytes, wireguard, NLM_F_MULTI, seq 7, our port
        &[0xcc, 0x00, 0x00, 0x00, 0x15, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0x39, 0x30, 0x00, 0x00],
        // struct genlmsghdr: WG_CMD_GET_DEVICE, version 1
        &[0x00, 0x01, 0x00, 0x00],
        // WGDEVICE_A_PEERS (8 | NLA_F_NESTED): 184 bytes; later parts carry no device fields
        &[0xb8, 0x00, 0x08, 0x80],
        //   peer A again (84 bytes): only its key and the rest of its allowed IPs
        &[0x54, 0x00, 0x00, 0x80],
        &[0x24, 0x00, 0x01, 0x00], &[0x22; 32],
        &[0x2c, 0x00, 0x09, 0x80],                          // WGPEER_A_ALLOWEDIPS: 44 bytes
        &[0x28, 0x00, 0x00, 0x80],                          //   allowed IP: 40 bytes
        &[0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00],  //     family AF_INET6
        &[0x14, 0x00, 0x02, 0x00, 0xfd, 0x00],              //     fd00::
        &[0x00; 14],
        &[0x05, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x00],  //     /64
        //   peer B (96 bytes): never shook hands, no endpoint, keepalive off, no allowed IPs
        &[0x60, 0x00, 0x00, 0x80],
        &[0x24, 0x00, 0x01, 0x00], &[0x33; 32],
        &[0x14, 0x00, 0x06, 0x00], &[0x00; 16],             // handshake time 0: none
        &[0x06, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00],  // keepalive 0: off
        &[0x0c, 0x00, 0x07, 0x00], &[0x00; 8],              // rx 0
        &[0x0c, 0x00, 0x08, 0x00], &[0x00; 8],              // tx 0
        &[0x04, 0x00, 0x09, 0x80],                          // empty allowed-IP list
    ];
    parts.concat()
}

fn golden_device() -> Device {
    let net = |text: &str| text.parse().expect("test CIDR");
    Device {
        name: wg0(),
        private_key: Some(PrivateKey::from_bytes([0x11; 32])),
        public_key: Some(PublicKey::from_bytes([0x44; 32])),
        listen_port: Some(51820),
        fwmark: None,
        peers: vec![
            PeerInfo {
                config: PeerConfig {
                    public_key: PublicKey::from_bytes([0x22; 32]),
                    preshared_key: None,
                    endpoint: Some(addr("[2001:db8::1]:51820")),
                    persistent_keepalive_interval: Some(25),
                    allowed_ips: vec![net("10.0.0.2/32"), net("fd00::/64")],
                },
                stats: PeerStats {
                    last_handshake_time: Some(
                        SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500),
                    ),
                    rx_bytes: 1000,
                    tx_bytes: 2000,
                },
            },
            PeerInfo {
                config: PeerConfig::new(PublicKey::from_bytes([0x33; 32])),
                stats: PeerStats::default(),
            },
        ],
        backend: BackendKind::Kernel,
    }
}

#[test]
fn golden_get_device_parses_to_device() {
    let parts = [
        attributes_of(&golden_get_part_one()),
        attributes_of(&golden_get_part_two()),
    ];
    let device = device_from_parts(&wg0(), parts.iter().map(Vec::as_slice)).expect("parses");
    assert_eq!(device, golden_device());
}

#[test]
fn malformed_get_answers_are_errors_not_panics() {
    let full = attributes_of(&golden_get_part_one());
    // Every truncation of the attributes, and every single corrupted byte, must decode to a
    // value or an error; none may panic.
    for cut in 0..full.len() {
        let _ = device_from_parts(&wg0(), [&full[..cut]]);
    }
    for at in 0..full.len() {
        for value in [0x00, 0x01, 0x03, 0x7f, 0xff] {
            let mut bytes = full.clone();
            bytes[at] = value;
            let _ = device_from_parts(&wg0(), [&bytes[..]]);
        }
    }
    // A specific bad case is reported with the interface and a reason.
    let peer_without_key: &[u8] = &[0x08, 0x00, 0x08, 0x80, 0x04, 0x00, 0x00, 0x80];
    match device_from_parts(&wg0(), [peer_without_key]) {
        Err(crate::Error::NetlinkDecode { iface, detail }) => {
            assert_eq!(iface, wg0());
            assert!(detail.contains("public key"), "{detail}");
        }
        other => panic!("expected NetlinkDecode, got {other:?}"),
    }
}
