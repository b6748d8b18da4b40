//! `WG_CMD_SET_DEVICE` messages from a [`DeviceUpdate`], split so that each fits one netlink
//! buffer. Pure: no socket, so golden-byte and chunking tests need no kernel.
//!
//! Splitting rules: device attributes (private key, port, fwmark, `REPLACE_PEERS`) go in the
//! first message only; peers are packed greedily in order; every message repeats the
//! interface name and opens its own peer list; one peer never spans two messages (a peer too
//! large for an otherwise empty message is [`Error::PeerTooLarge`]).

use ipnet::IpNet;
use netlink_packet_core::{Emitable, NLA_HEADER_SIZE};
use netlink_packet_generic::GenlMessage;
use netlink_packet_wireguard::{
    WireguardAddressFamily, WireguardAllowedIp, WireguardAllowedIpAttr, WireguardAttribute,
    WireguardCmd, WireguardDeviceFlags, WireguardMessage, WireguardPeer, WireguardPeerAttribute,
    WireguardPeerFlags,
};

use crate::{DeviceUpdate, Error, InterfaceName, PeerUpdate, Result};

/// Builds the `WG_CMD_SET_DEVICE` messages for `update`; the attributes of each message
/// (everything after the generic-netlink header) take at most `max_attributes_len` bytes.
/// Always at least one message, so even an empty update checks that the device exists.
pub(crate) fn set_device_messages(
    iface: &InterfaceName,
    update: &DeviceUpdate,
    max_attributes_len: usize,
) -> Result<Vec<GenlMessage<WireguardMessage>>> {
    let ifname = WireguardAttribute::IfName(iface.as_str().to_owned());
    let fresh_len = ifname.buffer_len();

    let mut messages = Vec::new();
    let mut attributes = device_attributes(ifname.clone(), update);
    let mut attributes_len = attributes.as_slice().buffer_len();
    let mut peers: Vec<WireguardPeer> = Vec::new();

    for peer in &update.peers {
        let nla = peer_nla(peer);
        let peer_len = nla.buffer_len();
        if fresh_len + NLA_HEADER_SIZE + peer_len > max_attributes_len {
            return Err(Error::PeerTooLarge {
                iface: iface.clone(),
                peer: peer.public_key,
                allowed_ips: peer.allowed_ips.len(),
            });
        }
        let list_header = if peers.is_empty() { NLA_HEADER_SIZE } else { 0 };
        if attributes_len + list_header + peer_len > max_attributes_len {
            messages.push(set_device(attributes, std::mem::take(&mut peers)));
            attributes = vec![ifname.clone()];
            attributes_len = fresh_len;
        }
        let list_header = if peers.is_empty() { NLA_HEADER_SIZE } else { 0 };
        attributes_len += list_header + peer_len;
        peers.push(nla);
    }
    messages.push(set_device(attributes, peers));
    Ok(messages)
}

fn set_device(
    mut attributes: Vec<WireguardAttribute>,
    peers: Vec<WireguardPeer>,
) -> GenlMessage<WireguardMessage> {
    if !peers.is_empty() {
        attributes.push(WireguardAttribute::Peers(peers));
    }
    GenlMessage::from_payload(WireguardMessage {
        cmd: WireguardCmd::SetDevice,
        attributes,
    })
}

/// Attributes of the first message: name, then what changes on the device itself.
fn device_attributes(ifname: WireguardAttribute, update: &DeviceUpdate) -> Vec<WireguardAttribute> {
    let mut attributes = vec![ifname];
    if let Some(key) = &update.private_key {
        attributes.push(WireguardAttribute::PrivateKey(*key.as_bytes()));
    }
    if let Some(port) = update.listen_port {
        attributes.push(WireguardAttribute::ListenPort(port));
    }
    if let Some(fwmark) = update.fwmark {
        attributes.push(WireguardAttribute::Fwmark(fwmark));
    }
    if update.replace_peers {
        attributes.push(WireguardAttribute::Flags(
            WireguardDeviceFlags::ReplacePeers,
        ));
    }
    attributes
}

/// One peer: public key, flags, then only the fields that change.
/// A cleared preshared key is sent as 32 zero bytes, which the kernel reads as "none".
pub(crate) fn peer_nla(peer: &PeerUpdate) -> WireguardPeer {
    let mut attributes = vec![WireguardPeerAttribute::PublicKey(
        *peer.public_key.as_bytes(),
    )];
    if peer.remove {
        attributes.push(WireguardPeerAttribute::Flags(WireguardPeerFlags::RemoveMe));
        return WireguardPeer(attributes);
    }
    let mut flags = WireguardPeerFlags::empty();
    if peer.replace_allowed_ips {
        flags |= WireguardPeerFlags::ReplaceAllowedIps;
    }
    if peer.update_only {
        flags |= WireguardPeerFlags::UpdateOnly;
    }
    if !flags.is_empty() {
        attributes.push(WireguardPeerAttribute::Flags(flags));
    }
    if let Some(preshared_key) = &peer.preshared_key {
        let bytes = preshared_key
            .as_ref()
            .map_or([0; 32], |key| *key.as_bytes());
        attributes.push(WireguardPeerAttribute::PresharedKey(bytes));
    }
    if let Some(endpoint) = peer.endpoint {
        attributes.push(WireguardPeerAttribute::Endpoint(endpoint));
    }
    if let Some(seconds) = peer.persistent_keepalive_interval {
        attributes.push(WireguardPeerAttribute::PersistentKeepalive(seconds));
    }
    if !peer.allowed_ips.is_empty() {
        let nets = peer.allowed_ips.iter().map(allowed_ip).collect();
        attributes.push(WireguardPeerAttribute::AllowedIps(nets));
    }
    WireguardPeer(attributes)
}

fn allowed_ip(net: &IpNet) -> WireguardAllowedIp {
    let family = match net {
        IpNet::V4(_) => WireguardAddressFamily::Ipv4,
        IpNet::V6(_) => WireguardAddressFamily::Ipv6,
    };
    WireguardAllowedIp(vec![
        WireguardAllowedIpAttr::Family(family),
        WireguardAllowedIpAttr::IpAddr(net.addr()),
        WireguardAllowedIpAttr::Cidr(net.prefix_len()),
    ])
}
