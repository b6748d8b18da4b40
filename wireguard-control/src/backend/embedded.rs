//! The embedded backend: WireGuard carried by this process with gotatun (Mullvad's Rust
//! implementation, MPL-2.0, used unmodified as a dependency), needing only `/dev/net/tun`
//! and `CAP_NET_ADMIN`.
//!
//! Each interface is a gotatun device on the backend's own tokio runtime (two worker threads
//! named `wiremesh-wg`), so the backend can be called from any thread, async or not: a call
//! runs on that runtime and the caller waits for its answer. The device serves the standard
//! UAPI socket (`/var/run/wireguard/<iface>.sock`), so `wg`, `doctor` and the userspace
//! backend read it like any other userspace interface. The interface lives as long as the
//! backend: [`Backend::delete`] (or dropping the backend, or the process ending) removes it.
//!
//! Changes go through gotatun's own API, not its UAPI: its UAPI re-creates a peer on every
//! `set` that touches it (dropping the session and its counters), while the API updates a peer
//! in place, so a sync that changes one field of a peer keeps its session.
//!
//! Threads inherit their creator's network namespace: a backend made in a namespace carries
//! its interfaces there.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use gotatun::device::uapi::UapiServer;
use gotatun::device::{DefaultDeviceTransports, Device as GtDevice, DeviceBuilder, Peer as GtPeer};
use gotatun::x25519::{PublicKey as GtPublicKey, StaticSecret};
use ipnet::IpNet;
use ipnetwork::IpNetwork;
use tokio::sync::Mutex;

use crate::{
    Backend, BackendKind, Created, Device, DeviceUpdate, Error, InterfaceName, PeerConfig,
    PeerInfo, PeerStats, PeerUpdate, PresharedKey, PrivateKey, PublicKey, Result,
};

/// Where gotatun puts the UAPI sockets.
const SOCKET_DIR: &str = "/var/run/wireguard";
/// How long [`Backend::delete`] waits for the kernel to remove the interface once the
/// device let go of it.
const DELETE_WAIT: Duration = Duration::from_secs(2);

type Devices = Arc<Mutex<HashMap<InterfaceName, GtDevice<DefaultDeviceTransports>>>>;

/// Carries WireGuard interfaces in this process.
pub struct EmbeddedBackend {
    runtime: Option<tokio::runtime::Runtime>,
    devices: Devices,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend").finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// Starts the backend's runtime (no interface yet).
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wiremesh-wg")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
            devices: Arc::default(),
        })
    }

    /// Runs `future` on the backend's runtime and waits for it.
    fn call<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = mpsc::sync_channel(1);
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the backend")
            .spawn(async move {
                let _ = tx.send(future.await);
            });
        rx.recv().expect("the backend's runtime answers every call")
    }

    fn socket_path(iface: &InterfaceName) -> PathBuf {
        Path::new(SOCKET_DIR).join(format!("{iface}.sock"))
    }
}

impl Drop for EmbeddedBackend {
    fn drop(&mut self) {
        let names: Vec<InterfaceName> = match self.devices.try_lock() {
            Ok(devices) => devices.keys().cloned().collect(),
            Err(_) => Vec::new(),
        };
        for iface in names {
            let _ = self.delete(&iface);
        }
        // Allowed anywhere, also inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn io(iface: &InterfaceName, action: &'static str, detail: impl std::fmt::Display) -> Error {
    Error::Io {
        iface: iface.clone(),
        action,
        source: std::io::Error::other(detail.to_string()),
    }
}

fn gt_key(key: &PublicKey) -> GtPublicKey {
    GtPublicKey::from(*key.as_bytes())
}

fn network(net: &IpNet) -> IpNetwork {
    IpNetwork::new(net.addr(), net.prefix_len()).expect("an IpNet's prefix fits its family")
}

fn ipnet(net: &IpNetwork) -> IpNet {
    IpNet::new(net.ip(), net.prefix()).expect("an IpNetwork's prefix fits its family")
}

impl Backend for EmbeddedBackend {
    /// A userspace implementation, in this process: the UAPI socket is there as for any
    /// other.
    fn kind(&self) -> BackendKind {
        BackendKind::Userspace
    }

    fn list(&self) -> Result<Vec<InterfaceName>> {
        let devices = self.devices.clone();
        Ok(self.call(async move {
            let mut names: Vec<InterfaceName> = devices.lock().await.keys().cloned().collect();
            names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            names
        }))
    }

    fn create(&self, iface: &InterfaceName) -> Result<Created> {
        let devices = self.devices.clone();
        let name = iface.clone();
        self.call(async move {
            let mut devices = devices.lock().await;
            if devices.contains_key(&name) {
                return Ok(Created::AlreadyExisted);
            }
            let uapi = UapiServer::default_unix_socket(name.as_str(), None, None)
                .map_err(|e| io(&name, "serve the UAPI socket of", e))?;
            let builder = DeviceBuilder::new()
                .create_tun(name.as_str())
                .map_err(|e| io(&name, "create the TUN device", e))?;
            let device = builder
                .with_default_udp()
                .with_uapi(uapi)
                .build()
                .await
                .map_err(|e| io(&name, "start WireGuard on", e))?;
            devices.insert(name, device);
            Ok(Created::New)
        })
    }

    fn get(&self, iface: &InterfaceName) -> Result<Device> {
        let devices = self.devices.clone();
        let name = iface.clone();
        self.call(async move {
            let devices = devices.lock().await;
            let device = devices.get(&name).ok_or(Error::NotFound {
                iface: name.clone(),
            })?;
            let (private_key, listen_port, fwmark) = device
                .read(async |d| {
                    (
                        d.private_key().map(StaticSecret::to_bytes),
                        d.listen_port(),
                        d.fwmark(),
                    )
                })
                .await;
            let now = SystemTime::now();
            let peers = device
                .peers()
                .await
                .into_iter()
                .map(|stats| PeerInfo {
                    config: PeerConfig {
                        public_key: PublicKey::from_bytes(stats.peer.public_key.to_bytes()),
                        preshared_key: stats.peer.preshared_key.map(PresharedKey::from_bytes),
                        endpoint: stats.peer.endpoint,
                        persistent_keepalive_interval: stats.peer.keepalive.filter(|&k| k > 0),
                        allowed_ips: stats.peer.allowed_ips.iter().map(ipnet).collect(),
                    },
                    stats: PeerStats {
                        last_handshake_time: stats
                            .stats
                            .last_handshake
                            .and_then(|age| now.checked_sub(age)),
                        rx_bytes: stats.stats.rx_bytes as u64,
                        tx_bytes: stats.stats.tx_bytes as u64,
                    },
                })
                .collect();
            let private_key = private_key.map(PrivateKey::from_bytes);
            Ok(Device {
                name: name.clone(),
                public_key: private_key.as_ref().map(PrivateKey::public_key),
                private_key,
                listen_port: (listen_port != 0).then_some(listen_port),
                fwmark,
                peers,
                backend: BackendKind::Userspace,
            })
        })
    }

    fn apply(&self, iface: &InterfaceName, update: &DeviceUpdate) -> Result<()> {
        let devices = self.devices.clone();
        let name = iface.clone();
        let update = update.clone();
        self.call(async move {
            let devices = devices.lock().await;
            let device = devices.get(&name).ok_or(Error::NotFound {
                iface: name.clone(),
            })?;
            let keyless = device.read(async |d| d.private_key().is_none()).await;
            if keyless
                && update.private_key.is_none()
                && (update.listen_port.is_some() || update.fwmark.is_some() || update.replace_peers)
            {
                // gotatun would restart its sockets without a key, which it cannot do.
                return Err(io(
                    &name,
                    "configure",
                    "set the private key before (or with) the port, fwmark or peers",
                ));
            }
            let outcome = device
                .write(async |d| -> std::result::Result<(), String> {
                    if let Some(key) = &update.private_key {
                        d.set_private_key(StaticSecret::from(*key.as_bytes())).await;
                    }
                    if let Some(port) = update.listen_port {
                        d.set_listen_port(port);
                    }
                    if let Some(mark) = update.fwmark {
                        d.set_fwmark(mark).map_err(|e| e.to_string())?;
                    }
                    if update.replace_peers {
                        d.clear_peers();
                    }
                    for peer in &update.peers {
                        apply_peer(d, peer).await;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| io(&name, "configure", e))?;
            outcome.map_err(|e| io(&name, "set the fwmark of", e))
        })
    }

    fn delete(&self, iface: &InterfaceName) -> Result<()> {
        let devices = self.devices.clone();
        let name = iface.clone();
        let device = self.call(async move { devices.lock().await.remove(&name) });
        let Some(device) = device else {
            return Err(Error::NotFound {
                iface: iface.clone(),
            });
        };
        self.call(async move { device.stop().await });
        // gotatun leaves its socket file behind.
        let socket = Self::socket_path(iface);
        if let Err(error) = std::fs::remove_file(&socket) {
            if error.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::Socket {
                    path: socket,
                    action: "remove",
                    source: error,
                });
            }
        }
        // The TUN device goes once its last descriptor is closed, a moment after the stop.
        let gone = Instant::now() + DELETE_WAIT;
        let link = Path::new("/sys/class/net").join(iface.as_str());
        while link.exists() && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// One peer of an update, in place when the peer exists (its session kept).
async fn apply_peer(
    d: &mut gotatun::device::configure::DeviceWrite<'_, DefaultDeviceTransports>,
    update: &PeerUpdate,
) {
    let key = gt_key(&update.public_key);
    if update.remove {
        d.remove_peer(&key).await;
        return;
    }
    // What the update sets; `None`: left as it is.
    let preshared: Option<Option<[u8; 32]>> = update
        .preshared_key
        .as_ref()
        .map(|key| key.as_ref().map(|k| *k.as_bytes()));
    let keepalive: Option<Option<u16>> = update
        .persistent_keepalive_interval
        .map(|secs| (secs > 0).then_some(secs));
    let modified = d
        .modify_peer(&key, |peer| {
            if let Some(psk) = preshared {
                peer.set_preshared_key(psk);
            }
            if let Some(addr) = update.endpoint {
                peer.set_endpoint(Some(addr));
            }
            if let Some(secs) = keepalive {
                peer.set_keepalive(secs);
            }
            if update.replace_allowed_ips {
                peer.clear_allowed_ips();
            }
            peer.add_allowed_ips(update.allowed_ips.iter().map(network));
        })
        .await;
    if modified || update.update_only {
        return;
    }
    let mut peer = GtPeer::new(key);
    peer.preshared_key = preshared.flatten();
    peer.endpoint = update.endpoint;
    peer.keepalive = keepalive.flatten();
    peer.allowed_ips = update.allowed_ips.iter().map(network).collect();
    d.add_peer(peer);
}
