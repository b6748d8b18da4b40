//! The client side of the harness: [`TestClient`] (one host's context, fake WireGuard device
//! and files) and [`RecordingLinks`] (link plumbing recorded instead of done).

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ipnet::IpNet;
use tempfile::TempDir;
use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{Backend, Device, InterfaceName, PublicKey};
use wiremesh::interface::{LinkControl, Switch};
use wiremesh::sync::{sync, SyncMode, SyncReport};
use wiremesh::{ClientError, Context};
use wiremesh_shared::wire::Peer;

/// One link-plumbing call the client made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCall {
    Address(InterfaceName, IpNet),
    Up(InterfaceName, u32),
    Route(InterfaceName, IpNet),
    DeleteRoute(InterfaceName, IpNet),
    Switch(Switch, bool),
    ExitRouting { v6: bool, on: bool },
    Probe(IpAddr),
}

/// [`LinkControl`] that records calls instead of touching the kernel; it keeps the routes
/// and forwarding switches it was given, and reports the host networks it is told to.
#[derive(Debug, Default)]
pub struct RecordingLinks {
    pub calls: Mutex<Vec<LinkCall>>,
    pub routes: Mutex<std::collections::BTreeSet<(InterfaceName, IpNet)>>,
    /// The switches that are on.
    pub switches: Mutex<std::collections::BTreeSet<Switch>>,
    /// The families whose exit routing is in place.
    pub exit: Mutex<std::collections::BTreeSet<bool>>,
    pub host: Mutex<wiremesh::interface::HostNetworks>,
}

impl RecordingLinks {
    /// The routes through `iface`, as the kernel would list them.
    pub fn routes_via(&self, iface: &InterfaceName) -> Vec<IpNet> {
        self.routes
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _)| i == iface)
            .map(|(_, n)| *n)
            .collect()
    }
}

impl LinkControl for RecordingLinks {
    fn set_address(&self, iface: &InterfaceName, address: IpNet) -> wireguard_control::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(LinkCall::Address(iface.clone(), address));
        Ok(())
    }

    fn set_up(&self, iface: &InterfaceName, mtu: u32) -> wireguard_control::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(LinkCall::Up(iface.clone(), mtu));
        Ok(())
    }

    fn add_route(&self, iface: &InterfaceName, network: IpNet) -> wireguard_control::Result<bool> {
        self.calls
            .lock()
            .unwrap()
            .push(LinkCall::Route(iface.clone(), network));
        Ok(self.routes.lock().unwrap().insert((iface.clone(), network)))
    }

    fn delete_route(
        &self,
        iface: &InterfaceName,
        network: IpNet,
    ) -> wireguard_control::Result<bool> {
        self.calls
            .lock()
            .unwrap()
            .push(LinkCall::DeleteRoute(iface.clone(), network));
        Ok(self
            .routes
            .lock()
            .unwrap()
            .remove(&(iface.clone(), network)))
    }

    fn host_networks(&self, _iface: &InterfaceName) -> wiremesh::interface::HostNetworks {
        self.host.lock().unwrap().clone()
    }

    fn switch(&self, which: Switch) -> std::io::Result<bool> {
        Ok(self.switches.lock().unwrap().contains(&which))
    }

    fn set_switch(&self, which: Switch, on: bool) -> std::io::Result<()> {
        self.calls.lock().unwrap().push(LinkCall::Switch(which, on));
        let mut switches = self.switches.lock().unwrap();
        if on {
            switches.insert(which);
        } else {
            switches.remove(&which);
        }
        Ok(())
    }

    fn exit_routing_present(
        &self,
        _iface: &InterfaceName,
        v6: bool,
    ) -> wireguard_control::Result<bool> {
        Ok(self.exit.lock().unwrap().contains(&v6))
    }

    fn probe(&self, addr: IpAddr) {
        self.calls.lock().unwrap().push(LinkCall::Probe(addr));
    }

    fn exit_routing(
        &self,
        _iface: &InterfaceName,
        v6: bool,
        on: bool,
    ) -> wireguard_control::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(LinkCall::ExitRouting { v6, on });
        let mut exit = self.exit.lock().unwrap();
        if on {
            exit.insert(v6);
        } else {
            exit.remove(&v6);
        }
        Ok(())
    }
}

/// One client host: its context, fake WireGuard and files.
pub struct TestClient {
    /// The firewall tables this client programmed.
    pub firewall: Arc<wiremesh::policy::RecordingFirewall>,
    /// Holds the host's files (`ctx.paths`, the hosts file); removed when the client is dropped.
    pub(super) _dir: TempDir,
    pub ctx: Context,
    /// Shares its state with `ctx.backend`.
    pub backend: FakeBackend,
    pub links: Arc<RecordingLinks>,
    pub iface: InterfaceName,
    pub hosts_path: PathBuf,
    /// The peer's tunnel address (what the server sees as the caller).
    pub ip: IpAddr,
}

impl TestClient {
    pub fn sync(&self) -> Result<SyncReport, ClientError> {
        sync(&self.ctx, &self.iface, SyncMode::Fetch)
    }

    pub fn up(&self) -> Result<SyncReport, ClientError> {
        sync(&self.ctx, &self.iface, SyncMode::Up)
    }

    pub fn device(&self) -> Device {
        self.backend.get(&self.iface).unwrap()
    }

    pub fn is_up(&self) -> bool {
        self.backend.exists(&self.iface).unwrap()
    }

    /// The interface's peers' keys, sorted.
    pub fn peer_keys(&self) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self
            .device()
            .peers
            .iter()
            .map(|p| p.config.public_key)
            .collect();
        keys.sort();
        keys
    }

    pub fn has_peer(&self, key: &PublicKey) -> bool {
        self.device().peer(key).is_some()
    }

    pub fn config_path(&self) -> PathBuf {
        self.ctx.paths.config_file(&self.iface)
    }

    pub fn cache_path(&self) -> PathBuf {
        self.ctx.paths.cache_file(&self.iface)
    }

    pub fn hosts(&self) -> String {
        fs::read_to_string(&self.hosts_path).unwrap()
    }
}

/// Sorted keys of `peers`.
pub fn keys_of<'a>(peers: impl IntoIterator<Item = &'a Peer>) -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = peers.into_iter().map(|p| p.public_key).collect();
    keys.sort();
    keys
}

/// Exactly `ip/32` or `ip/128`.
pub fn host_net(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}
