//! Decoding of WireGuard generic-netlink attributes (the answers to `WG_CMD_GET_DEVICE`, and
//! the requests this crate builds) into plain values. Pure and panic-free on any input: it
//! walks attributes itself and checks every length, because netlink answers are outside input.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use netlink_packet_core::{NlaBuffer, NlasIterator};

use crate::{BackendKind, Device, InterfaceName, PeerConfig, PeerInfo, PeerStats};
use crate::{PresharedKey, PrivateKey, PublicKey, KEY_LEN};

// Attribute numbers of include/uapi/linux/wireguard.h.
const WGDEVICE_A_IFINDEX: u16 = 1;
const WGDEVICE_A_IFNAME: u16 = 2;
const WGDEVICE_A_PRIVATE_KEY: u16 = 3;
const WGDEVICE_A_PUBLIC_KEY: u16 = 4;
const WGDEVICE_A_FLAGS: u16 = 5;
const WGDEVICE_A_LISTEN_PORT: u16 = 6;
const WGDEVICE_A_FWMARK: u16 = 7;
const WGDEVICE_A_PEERS: u16 = 8;
const WGPEER_A_PUBLIC_KEY: u16 = 1;
const WGPEER_A_PRESHARED_KEY: u16 = 2;
const WGPEER_A_FLAGS: u16 = 3;
const WGPEER_A_ENDPOINT: u16 = 4;
const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL: u16 = 5;
const WGPEER_A_LAST_HANDSHAKE_TIME: u16 = 6;
const WGPEER_A_RX_BYTES: u16 = 7;
const WGPEER_A_TX_BYTES: u16 = 8;
const WGPEER_A_ALLOWEDIPS: u16 = 9;
const WGALLOWEDIP_A_FAMILY: u16 = 1;
const WGALLOWEDIP_A_IPADDR: u16 = 2;
const WGALLOWEDIP_A_CIDR_MASK: u16 = 3;
const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

/// What one message says about a device; absent attributes are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawDevice {
    pub ifindex: Option<u32>,
    pub ifname: Option<String>,
    pub private_key: Option<[u8; KEY_LEN]>,
    pub public_key: Option<[u8; KEY_LEN]>,
    pub flags: u32,
    pub listen_port: Option<u16>,
    pub fwmark: Option<u32>,
    pub peers: Vec<RawPeer>,
}

/// What one message says about a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawPeer {
    pub public_key: [u8; KEY_LEN],
    pub preshared_key: Option<[u8; KEY_LEN]>,
    pub flags: u32,
    pub endpoint: Option<SocketAddr>,
    pub keepalive: Option<u16>,
    /// (seconds, nanoseconds) since the Unix epoch.
    pub last_handshake: Option<(i64, i64)>,
    pub rx_bytes: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub allowed_ips: Vec<IpNet>,
}

type Decoded<T> = std::result::Result<T, String>;

fn nlas(bytes: &[u8]) -> impl Iterator<Item = Decoded<NlaBuffer<&[u8]>>> {
    NlasIterator::new(bytes).map(|nla| nla.map_err(|e| format!("bad attribute: {e}")))
}

fn fixed<const N: usize>(value: &[u8], what: &str) -> Decoded<[u8; N]> {
    value
        .try_into()
        .map_err(|_| format!("{what} has {} bytes, expected {N}", value.len()))
}

fn u16_ne(value: &[u8], what: &str) -> Decoded<u16> {
    fixed(value, what).map(u16::from_ne_bytes)
}

fn u32_ne(value: &[u8], what: &str) -> Decoded<u32> {
    fixed(value, what).map(u32::from_ne_bytes)
}

fn u64_ne(value: &[u8], what: &str) -> Decoded<u64> {
    fixed(value, what).map(u64::from_ne_bytes)
}

/// Decodes the attributes of one `WG_CMD_*` message (the bytes after the genl header).
pub(crate) fn parse_device(attributes: &[u8]) -> Decoded<RawDevice> {
    let mut device = RawDevice::default();
    for nla in nlas(attributes) {
        let nla = nla?;
        let value = nla.value();
        match nla.kind() {
            WGDEVICE_A_IFINDEX => device.ifindex = Some(u32_ne(value, "ifindex")?),
            WGDEVICE_A_IFNAME => {
                let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
                device.ifname = Some(String::from_utf8_lossy(&value[..end]).into_owned());
            }
            WGDEVICE_A_PRIVATE_KEY => device.private_key = Some(fixed(value, "private key")?),
            WGDEVICE_A_PUBLIC_KEY => device.public_key = Some(fixed(value, "public key")?),
            WGDEVICE_A_FLAGS => device.flags = u32_ne(value, "device flags")?,
            WGDEVICE_A_LISTEN_PORT => device.listen_port = Some(u16_ne(value, "listen port")?),
            WGDEVICE_A_FWMARK => device.fwmark = Some(u32_ne(value, "fwmark")?),
            WGDEVICE_A_PEERS => {
                for peer in nlas(value) {
                    device.peers.push(parse_peer(peer?.value())?);
                }
            }
            _ => {}
        }
    }
    Ok(device)
}

fn parse_peer(attributes: &[u8]) -> Decoded<RawPeer> {
    let mut peer = RawPeer::default();
    let mut has_key = false;
    for nla in nlas(attributes) {
        let nla = nla?;
        let value = nla.value();
        match nla.kind() {
            WGPEER_A_PUBLIC_KEY => {
                peer.public_key = fixed(value, "peer public key")?;
                has_key = true;
            }
            WGPEER_A_PRESHARED_KEY => peer.preshared_key = Some(fixed(value, "preshared key")?),
            WGPEER_A_FLAGS => peer.flags = u32_ne(value, "peer flags")?,
            WGPEER_A_ENDPOINT => peer.endpoint = Some(parse_endpoint(value)?),
            WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL => {
                peer.keepalive = Some(u16_ne(value, "keepalive interval")?)
            }
            WGPEER_A_LAST_HANDSHAKE_TIME => {
                let time: [u8; 16] = fixed(value, "last handshake time")?;
                let (seconds, nanos) = time.split_at(8);
                peer.last_handshake = Some((
                    i64::from_ne_bytes(fixed(seconds, "handshake seconds")?),
                    i64::from_ne_bytes(fixed(nanos, "handshake nanoseconds")?),
                ));
            }
            WGPEER_A_RX_BYTES => peer.rx_bytes = Some(u64_ne(value, "rx bytes")?),
            WGPEER_A_TX_BYTES => peer.tx_bytes = Some(u64_ne(value, "tx bytes")?),
            WGPEER_A_ALLOWEDIPS => {
                for entry in nlas(value) {
                    peer.allowed_ips.push(parse_allowed_ip(entry?.value())?);
                }
            }
            _ => {}
        }
    }
    if !has_key {
        return Err("peer without a public key".to_owned());
    }
    Ok(peer)
}

/// A `struct sockaddr_in` or `sockaddr_in6`: family in host order, port in network order.
fn parse_endpoint(value: &[u8]) -> Decoded<SocketAddr> {
    let family = u16_ne(value.get(..2).unwrap_or_default(), "endpoint family")?;
    let port = value.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match (family, port) {
        (AF_INET, Some(port)) if value.len() >= 8 => {
            let ip: [u8; 4] = fixed(&value[4..8], "IPv4 endpoint")?;
            Ok(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        (AF_INET6, Some(port)) if value.len() >= 28 => {
            let flowinfo = u32_ne(&value[4..8], "flow info")?;
            let ip: [u8; 16] = fixed(&value[8..24], "IPv6 endpoint")?;
            let scope_id = u32_ne(&value[24..28], "scope id")?;
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flowinfo,
                scope_id,
            )))
        }
        _ => Err(format!(
            "endpoint of {} bytes with address family {family}",
            value.len()
        )),
    }
}

fn parse_allowed_ip(attributes: &[u8]) -> Decoded<IpNet> {
    let (mut family, mut addr, mut cidr) = (None, None, None);
    for nla in nlas(attributes) {
        let nla = nla?;
        let value = nla.value();
        match nla.kind() {
            WGALLOWEDIP_A_FAMILY => family = Some(u16_ne(value, "allowed IP family")?),
            WGALLOWEDIP_A_IPADDR => addr = Some(value.to_vec()),
            WGALLOWEDIP_A_CIDR_MASK => cidr = Some(fixed::<1>(value, "allowed IP prefix")?[0]),
            _ => {}
        }
    }
    let ip = match (family, addr) {
        (Some(AF_INET), Some(bytes)) => IpAddr::from(fixed::<4>(&bytes, "allowed IPv4 address")?),
        (Some(AF_INET6), Some(bytes)) => IpAddr::from(fixed::<16>(&bytes, "allowed IPv6 address")?),
        _ => {
            return Err(format!(
                "allowed IP with family {family:?} and no usable address"
            ))
        }
    };
    let cidr = cidr.ok_or("allowed IP without a prefix length")?;
    IpNet::new(ip, cidr).map_err(|_| format!("allowed IP {ip}/{cidr} has an invalid prefix"))
}

/// Joins the parts of one dump: device attributes come from the first part that has them;
/// a peer continued in a later part (same public key) gets its allowed IPs appended.
pub(crate) fn merge(parts: impl IntoIterator<Item = RawDevice>) -> RawDevice {
    let mut merged = RawDevice::default();
    let mut index: HashMap<[u8; KEY_LEN], usize> = HashMap::new();
    for part in parts {
        merged.ifindex = merged.ifindex.or(part.ifindex);
        merged.ifname = merged.ifname.or(part.ifname);
        merged.private_key = merged.private_key.or(part.private_key);
        merged.public_key = merged.public_key.or(part.public_key);
        merged.flags |= part.flags;
        merged.listen_port = merged.listen_port.or(part.listen_port);
        merged.fwmark = merged.fwmark.or(part.fwmark);
        for peer in part.peers {
            match index.get(&peer.public_key) {
                Some(&at) => merged.peers[at].allowed_ips.extend(peer.allowed_ips),
                None => {
                    index.insert(peer.public_key, merged.peers.len());
                    merged.peers.push(peer);
                }
            }
        }
    }
    merged
}

fn nonzero_key(key: Option<[u8; KEY_LEN]>) -> Option<[u8; KEY_LEN]> {
    key.filter(|bytes| bytes.iter().any(|&b| b != 0))
}

/// A time the kernel reports; (0, 0) means "never".
fn handshake_time((seconds, nanos): (i64, i64)) -> Option<SystemTime> {
    if seconds == 0 && nanos == 0 {
        return None;
    }
    let seconds = u64::try_from(seconds).ok()?;
    let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

/// The [`Device`] a merged `WG_CMD_GET_DEVICE` answer describes. Zero ports, fwmarks,
/// keepalives, keys and handshake times mean "not set".
pub(crate) fn into_device(name: &InterfaceName, raw: RawDevice) -> Device {
    let private_key = nonzero_key(raw.private_key).map(PrivateKey::from_bytes);
    let public_key = nonzero_key(raw.public_key)
        .map(PublicKey::from_bytes)
        .or_else(|| private_key.as_ref().map(PrivateKey::public_key));
    let peers = raw
        .peers
        .into_iter()
        .map(|peer| PeerInfo {
            config: PeerConfig {
                public_key: PublicKey::from_bytes(peer.public_key),
                preshared_key: nonzero_key(peer.preshared_key).map(PresharedKey::from_bytes),
                endpoint: peer.endpoint,
                persistent_keepalive_interval: peer.keepalive.filter(|s| *s != 0),
                allowed_ips: peer.allowed_ips,
            },
            stats: PeerStats {
                last_handshake_time: peer.last_handshake.and_then(handshake_time),
                rx_bytes: peer.rx_bytes.unwrap_or(0),
                tx_bytes: peer.tx_bytes.unwrap_or(0),
            },
        })
        .collect();
    Device {
        name: name.clone(),
        private_key,
        public_key,
        listen_port: raw.listen_port.filter(|port| *port != 0),
        fwmark: raw.fwmark.filter(|mark| *mark != 0),
        peers,
        backend: BackendKind::Kernel,
    }
}
