//! Kernel-free tests of the WireGuard netlink messages: golden bytes in both directions, the
//! parsing of a hand-built `WG_CMD_GET_DEVICE` answer, and the splitting of large updates.

mod fuzz;
mod golden;
mod split;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use netlink_packet_wireguard::WireguardMessage;

use super::parse::{self, RawDevice, RawPeer};
use super::RawWireguard;
use crate::{DeviceUpdate, PeerUpdate, PresharedKey, PrivateKey, PublicKey};

/// The family id the golden bytes use (the kernel assigns one at module load).
const FAMILY_ID: u16 = 0x15;

/// Serializes a request exactly as `netlink-request` does, with sequence number `sequence`.
fn to_bytes(mut message: GenlMessage<WireguardMessage>, sequence: u32) -> Vec<u8> {
    message.set_resolved_family_id(FAMILY_ID);
    let mut message = NetlinkMessage::from(message);
    message.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    message.header.sequence_number = sequence;
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// Decodes one whole netlink message of the `wireguard` family into its attribute bytes.
fn attributes_of(bytes: &[u8]) -> Vec<u8> {
    let message = NetlinkMessage::<GenlMessage<RawWireguard>>::deserialize(bytes)
        .expect("a well-formed netlink message");
    assert_eq!(message.header.message_type, FAMILY_ID);
    match message.payload {
        NetlinkPayload::InnerMessage(genl) => genl.payload.attributes,
        other => panic!("expected a wireguard message, got {other:?}"),
    }
}

/// Reads `WG_CMD_SET_DEVICE` messages back into the update they express.
fn update_from_messages(messages: &[Vec<u8>]) -> DeviceUpdate {
    let parts: Vec<RawDevice> = messages
        .iter()
        .map(|bytes| parse::parse_device(&attributes_of(bytes)).expect("decodable attributes"))
        .collect();
    let first = parts.first().cloned().unwrap_or_default();
    DeviceUpdate {
        private_key: first.private_key.map(PrivateKey::from_bytes),
        listen_port: first.listen_port,
        fwmark: first.fwmark,
        replace_peers: first.flags & 1 != 0,
        peers: parts
            .iter()
            .flat_map(|part| part.peers.iter())
            .map(peer_update)
            .collect(),
    }
}

fn peer_update(raw: &RawPeer) -> PeerUpdate {
    PeerUpdate {
        public_key: PublicKey::from_bytes(raw.public_key),
        remove: raw.flags & 1 != 0,
        update_only: raw.flags & 4 != 0,
        preshared_key: raw.preshared_key.map(|bytes| {
            bytes
                .iter()
                .any(|&b| b != 0)
                .then(|| PresharedKey::from_bytes(bytes))
        }),
        endpoint: raw.endpoint,
        persistent_keepalive_interval: raw.keepalive,
        replace_allowed_ips: raw.flags & 2 != 0,
        allowed_ips: raw.allowed_ips.clone(),
    }
}
