//! Section 4: applying a 10,000-peer state. Runs inside a namespace of its own
//! (`wiremesh-bench apply <iface> <peers>`): creates a userspace interface, and times the
//! client's own steps — diff against the interface, then one UAPI set — for the whole state,
//! for a change of 1% of the peers' endpoints, and for a state that changed nothing. The
//! kernel side is reported as the netlink messages the kernel backend would send for the
//! whole state (no WireGuard module here).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, SystemTime};

use anyhow::{bail, ensure, Result};
use wireguard_control::backend::kernel::set_device_message_sizes;
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::{Backend, DeviceUpdate, InterfaceName, PrivateKey};
use wiremesh_shared::diff::{device_update, diff_peers};
use wiremesh_shared::ids::{CidrId, PeerId};
use wiremesh_shared::wire::{Peer, PeerContents};
use wiremesh_shared::Endpoint;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ApplyFigures {
    pub peers: usize,
    pub full_diff_ms: f64,
    pub full_uapi_set_ms: f64,
    /// Reading the interface back (`get`, what every sync starts with).
    pub read_back_ms: f64,
    pub one_percent_diff_and_set_ms: f64,
    pub unchanged_diff_ms: f64,
    pub netlink_messages: usize,
    pub netlink_total_bytes: usize,
    pub netlink_largest_bytes: usize,
    /// The same 10,000 peers set with Debian's `wg setconf` into a fresh interface of the
    /// same implementation: what the implementation itself needs, whoever drives it.
    pub wg_setconf_ms: f64,
}

fn synthetic(count: usize, endpoint_shift: usize) -> Vec<Peer> {
    (0..count)
        .map(|k| {
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 80, 16, 0)) + 1 + k as u32);
            let endpoint: Endpoint = format!(
                "198.51.100.{}:{}",
                1 + k % 250,
                40000 + (k + endpoint_shift) % 20000
            )
            .parse()
            .expect("valid endpoint");
            Peer {
                id: PeerId(k as i64 + 10),
                contents: PeerContents {
                    name: format!("peer-{k}").parse().expect("valid name"),
                    ip: IpAddr::V4(ip),
                    cidr_id: CidrId(3 + (k % 50) as i64),
                    public_key: key_for(k),
                    endpoint: Some(endpoint),
                    persistent_keepalive_interval: Some(25),
                    is_admin: false,
                    is_disabled: false,
                    is_redeemed: true,
                    invite_expires: None,
                    candidates: vec![],
                },
            }
        })
        .collect()
}

fn key_for(k: usize) -> wireguard_control::PublicKey {
    let mut bytes = [7u8; 32];
    // Byte 0 loses bits to clamping; the index goes after it.
    bytes[1..9].copy_from_slice(&(k as u64).to_le_bytes());
    PrivateKey::from_bytes(bytes).public_key()
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// `wiremesh-bench apply <iface> <peers>`: prints [`ApplyFigures`] as JSON.
pub fn apply_command(args: &[String]) -> Result<()> {
    let [iface, count] = args else {
        bail!("usage: wiremesh-bench apply <iface> <peers>");
    };
    let baseline: InterfaceName = format!("{iface}b")
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let iface: InterfaceName = iface.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let count: usize = count.parse()?;
    let backend = UserspaceBackend::new();
    backend.create(&iface)?;
    let result = measure(&backend, &iface, count);
    let _ = backend.delete(&iface);
    let mut figures = result?;
    backend.create(&baseline)?;
    let result = wg_setconf(&baseline, count);
    let _ = backend.delete(&baseline);
    figures.wg_setconf_ms = result?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Times `wg setconf` of the synthetic peers (as a wg-quick-style config file).
fn wg_setconf(iface: &InterfaceName, count: usize) -> Result<f64> {
    use std::fmt::Write as _;
    let mut config = format!(
        "[Interface]\nPrivateKey = {}\n",
        PrivateKey::generate().to_base64()
    );
    for peer in synthetic(count, 0) {
        let endpoint = peer
            .endpoint
            .as_ref()
            .and_then(|e| e.to_socket_addr())
            .expect("literal endpoint");
        write!(
            config,
            "[Peer]\nPublicKey = {}\nAllowedIPs = {}/32\nEndpoint = {endpoint}\nPersistentKeepalive = 25\n",
            peer.public_key.to_base64(),
            peer.ip
        )?;
    }
    let file = std::env::temp_dir().join(format!("wiremesh-bench-{iface}.conf"));
    std::fs::write(&file, config)?;
    let start = Instant::now();
    let status = std::process::Command::new("wg")
        .arg("setconf")
        .arg(iface.as_str())
        .arg(&file)
        .status();
    let took = ms(start);
    let _ = std::fs::remove_file(&file);
    ensure!(status?.success(), "wg setconf failed");
    Ok(took)
}

fn measure(
    backend: &UserspaceBackend,
    iface: &InterfaceName,
    count: usize,
) -> Result<ApplyFigures> {
    backend.apply(
        iface,
        &DeviceUpdate::new().set_private_key(PrivateKey::generate()),
    )?;
    let resolve = |e: &Endpoint| e.to_socket_addr();
    let desired = synthetic(count, 0);

    let device = backend.get(iface)?;
    let start = Instant::now();
    let changes = diff_peers(
        &desired,
        &device.peers,
        device.public_key.as_ref(),
        SystemTime::now(),
        resolve,
    );
    let update = device_update(&changes);
    let full_diff_ms = ms(start);
    let sizes = set_device_message_sizes(iface, &update)?;
    let start = Instant::now();
    backend.apply(iface, &update)?;
    let full_uapi_set_ms = ms(start);

    let start = Instant::now();
    let device = backend.get(iface)?;
    let read_back_ms = ms(start);
    ensure!(
        device.peers.len() == count,
        "{} peers on the interface, expected {count}",
        device.peers.len()
    );

    let mut moved = desired.clone();
    for (k, peer) in moved.iter_mut().enumerate().filter(|(k, _)| k % 100 == 0) {
        peer.contents.endpoint =
            Some(format!("198.51.100.{}:{}", 1 + k % 250, 30000 + k % 1000).parse()?);
    }
    let start = Instant::now();
    let changes = diff_peers(
        &moved,
        &device.peers,
        device.public_key.as_ref(),
        SystemTime::now(),
        resolve,
    );
    let update = device_update(&changes);
    ensure!(
        update.peers.len() == count.div_ceil(100),
        "{} changed peers",
        update.peers.len()
    );
    backend.apply(iface, &update)?;
    let one_percent_diff_and_set_ms = ms(start);

    let device = backend.get(iface)?;
    let start = Instant::now();
    let changes = diff_peers(
        &moved,
        &device.peers,
        device.public_key.as_ref(),
        SystemTime::now(),
        resolve,
    );
    let unchanged_diff_ms = ms(start);
    ensure!(
        device_update(&changes).is_empty(),
        "an unchanged state changed the interface"
    );

    Ok(ApplyFigures {
        peers: count,
        full_diff_ms,
        full_uapi_set_ms,
        read_back_ms,
        one_percent_diff_and_set_ms,
        unchanged_diff_ms,
        netlink_messages: sizes.len(),
        netlink_total_bytes: sizes.iter().sum(),
        netlink_largest_bytes: sizes.iter().copied().max().unwrap_or(0),
        wg_setconf_ms: 0.0,
    })
}
