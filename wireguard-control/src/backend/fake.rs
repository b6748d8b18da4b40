//! An in-memory [`Backend`] for tests of other crates: it keeps devices in a map and applies
//! updates with the same semantics as the UAPI `set` (and the kernel's netlink `SET_DEVICE`).
//!
//! Semantics mirrored from wireguard-go: `replace_peers` drops every peer (stats included)
//! before the listed ones are applied; `remove` deletes a peer; `update_only` skips unknown
//! peers; a peer with the device's own public key is ignored; setting a private key removes a
//! peer with the matching public key, and an all-zero private key clears it;
//! `replace_allowed_ips` clears before adding; an allowed IP belongs to one peer only (adding it
//! to another peer moves it) and is stored with its host bits cleared; keepalive 0, fwmark 0
//! and an all-zero preshared key mean "off"; listen port 0 picks a free port.
//!
//! Test helpers set handshake times and counters ([`FakeBackend::set_handshake`],
//! [`FakeBackend::set_stats`]), record every successful apply
//! ([`FakeBackend::applied_updates`]) so tests can assert that a caller sends minimal
//! updates, and inject a failure ([`FakeBackend::fail_next_apply`]).
//!
//! Clones share the same state, so a test keeps one clone and hands another to the code under
//! test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::{
    Backend, BackendKind, Created, Device, DeviceUpdate, Error, InterfaceName, PeerConfig,
    PeerInfo, PeerStats, PeerUpdate, PublicKey, Result, KEY_LEN,
};

/// First port handed out for `listen_port = 0`.
const FIRST_EPHEMERAL_PORT: u16 = 49152;

/// An in-memory WireGuard "kernel"; see the module docs for its semantics.
#[derive(Debug, Clone, Default)]
pub struct FakeBackend {
    /// Locked only for the duration of one method call; never held across calls or callbacks.
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    devices: HashMap<InterfaceName, Device>,
    /// Every successful apply per interface, in order (kept after delete).
    applied: HashMap<InterfaceName, Vec<DeviceUpdate>>,
    /// Errno the next apply on an interface fails with.
    failures: HashMap<InterfaceName, i32>,
    /// How many times each interface was read (`get`).
    reads: HashMap<InterfaceName, usize>,
    /// How many ports `listen_port = 0` has handed out.
    ephemeral_ports: u16,
}

impl FakeBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not break the others' view of the fake.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a peer's last handshake time, as if the peers had (or had never) talked.
    /// Returns whether the interface and peer exist.
    pub fn set_handshake(
        &self,
        iface: &InterfaceName,
        peer: &PublicKey,
        at: Option<SystemTime>,
    ) -> bool {
        self.with_peer(iface, peer, |info| info.stats.last_handshake_time = at)
    }

    /// Sets a peer's counters and handshake time. Returns whether the interface and peer exist.
    pub fn set_stats(&self, iface: &InterfaceName, peer: &PublicKey, stats: PeerStats) -> bool {
        self.with_peer(iface, peer, |info| info.stats = stats)
    }

    fn with_peer(
        &self,
        iface: &InterfaceName,
        peer: &PublicKey,
        f: impl FnOnce(&mut PeerInfo),
    ) -> bool {
        let mut state = self.state();
        let found = state.devices.get_mut(iface).and_then(|device| {
            device
                .peers
                .iter_mut()
                .find(|p| &p.config.public_key == peer)
        });
        match found {
            Some(info) => {
                f(info);
                true
            }
            None => false,
        }
    }

    /// Every update applied successfully to `iface`, oldest first.
    pub fn applied_updates(&self, iface: &InterfaceName) -> Vec<DeviceUpdate> {
        self.state().applied.get(iface).cloned().unwrap_or_default()
    }

    /// Forgets the recorded updates of `iface`.
    pub fn clear_applied_updates(&self, iface: &InterfaceName) {
        self.state().applied.remove(iface);
    }

    /// How many times `iface` has been read (`get`), so tests can tell a full read-back
    /// from a change applied blind.
    pub fn reads(&self, iface: &InterfaceName) -> usize {
        self.state().reads.get(iface).copied().unwrap_or(0)
    }

    /// Makes the next apply on `iface` fail with [`Error::Uapi`] carrying `errno`, changing
    /// nothing and recording nothing.
    pub fn fail_next_apply(&self, iface: &InterfaceName, errno: i32) {
        self.state().failures.insert(iface.clone(), errno);
    }
}

impl State {
    fn ephemeral_port(&mut self) -> u16 {
        let port = FIRST_EPHEMERAL_PORT.saturating_add(self.ephemeral_ports);
        self.ephemeral_ports =
            self.ephemeral_ports.wrapping_add(1) % (u16::MAX - FIRST_EPHEMERAL_PORT);
        port
    }
}

/// Applies `update`; `ephemeral_port` is the port that `listen_port = 0` picks.
fn apply_to(device: &mut Device, update: &DeviceUpdate, ephemeral_port: u16) {
    if let Some(private_key) = &update.private_key {
        if private_key.as_bytes() == &[0; KEY_LEN] {
            device.private_key = None;
            device.public_key = None;
        } else {
            let public_key = private_key.public_key();
            device
                .peers
                .retain(|peer| peer.config.public_key != public_key);
            device.private_key = Some(private_key.clone());
            device.public_key = Some(public_key);
        }
    }
    match update.listen_port {
        Some(0) => device.listen_port = Some(ephemeral_port),
        Some(port) => device.listen_port = Some(port),
        None => {}
    }
    if let Some(fwmark) = update.fwmark {
        device.fwmark = Some(fwmark).filter(|mark| *mark != 0);
    }
    if update.replace_peers {
        device.peers.clear();
    }
    for peer in &update.peers {
        apply_peer(device, peer);
    }
}

fn apply_peer(device: &mut Device, update: &PeerUpdate) {
    if device.public_key == Some(update.public_key) {
        return;
    }
    let index = device
        .peers
        .iter()
        .position(|p| p.config.public_key == update.public_key);
    if update.remove {
        if let Some(index) = index {
            device.peers.remove(index);
        }
        return;
    }
    let index = match index {
        Some(index) => index,
        None if update.update_only => return,
        None => {
            let config = PeerConfig::new(update.public_key);
            device.peers.push(PeerInfo {
                config,
                stats: PeerStats::default(),
            });
            device.peers.len() - 1
        }
    };
    let config = &mut device.peers[index].config;
    if let Some(preshared_key) = &update.preshared_key {
        config.preshared_key = preshared_key
            .clone()
            .filter(|key| key.as_bytes() != &[0; KEY_LEN]);
    }
    if let Some(endpoint) = update.endpoint {
        config.endpoint = Some(endpoint);
    }
    if let Some(seconds) = update.persistent_keepalive_interval {
        config.persistent_keepalive_interval = Some(seconds).filter(|s| *s != 0);
    }
    if update.replace_allowed_ips {
        config.allowed_ips.clear();
    }
    for net in &update.allowed_ips {
        let net = net.trunc();
        if device.peers[index].config.allowed_ips.contains(&net) {
            continue;
        }
        // An allowed IP routes to exactly one peer: adding it here takes it from any other.
        for peer in device.peers.iter_mut() {
            peer.config.allowed_ips.retain(|existing| existing != &net);
        }
        device.peers[index].config.allowed_ips.push(net);
    }
}

impl Backend for FakeBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Fake
    }

    fn list(&self) -> Result<Vec<InterfaceName>> {
        let mut names: Vec<InterfaceName> = self.state().devices.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    fn exists(&self, iface: &InterfaceName) -> Result<bool> {
        Ok(self.state().devices.contains_key(iface))
    }

    fn create(&self, iface: &InterfaceName) -> Result<Created> {
        let mut state = self.state();
        if state.devices.contains_key(iface) {
            return Ok(Created::AlreadyExisted);
        }
        let device = Device {
            name: iface.clone(),
            private_key: None,
            public_key: None,
            listen_port: None,
            fwmark: None,
            peers: Vec::new(),
            backend: BackendKind::Fake,
        };
        state.devices.insert(iface.clone(), device);
        Ok(Created::New)
    }

    fn get(&self, iface: &InterfaceName) -> Result<Device> {
        let mut state = self.state();
        *state.reads.entry(iface.clone()).or_default() += 1;
        state
            .devices
            .get(iface)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                iface: iface.clone(),
            })
    }

    fn apply(&self, iface: &InterfaceName, update: &DeviceUpdate) -> Result<()> {
        let mut state = self.state();
        if !state.devices.contains_key(iface) {
            return Err(Error::NotFound {
                iface: iface.clone(),
            });
        }
        if let Some(errno) = state.failures.remove(iface) {
            return Err(Error::Uapi {
                iface: iface.clone(),
                operation: "set",
                errno,
            });
        }
        let ephemeral_port = match update.listen_port {
            Some(0) => state.ephemeral_port(),
            _ => 0,
        };
        if let Some(device) = state.devices.get_mut(iface) {
            apply_to(device, update, ephemeral_port);
        }
        state
            .applied
            .entry(iface.clone())
            .or_default()
            .push(update.clone());
        Ok(())
    }

    fn delete(&self, iface: &InterfaceName) -> Result<()> {
        let mut state = self.state();
        state.failures.remove(iface);
        match state.devices.remove(iface) {
            Some(_) => Ok(()),
            None => Err(Error::NotFound {
                iface: iface.clone(),
            }),
        }
    }
}
