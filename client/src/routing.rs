//! Routes beyond the mesh on this host: the subnet routes it uses through gateways, and what
//! it does as a gateway itself.
//!
//! [`crate::plan`] decides which granted routes this host uses ([`RouteSelection`]); this
//! module carries that out and keeps a record of what it changed on the host
//! (`<data-dir>/<iface>.routes.json`, [`RouteRecord`]):
//! - each active subnet route goes on the mesh interface (main table, like the mesh's own
//!   route); a route this host installed and no longer uses is deleted. Routes it did not
//!   install (the mesh route, the kernel's, an operator's) are never touched;
//! - as a gateway (the server approved routes it offers) the firewall table gets the
//!   gateway's duties ([`wiremesh_firewall::Gateway`]: the routes, source NAT unless the
//!   config's `[routes] snat = false`, the forward filter), and forwarding is turned on for
//!   the families it routes, remembering what it found; when the duties end, and on `down`,
//!   the values found are put back (unless another network of this host still forwards
//!   that family, which then inherits what to restore);
//! - through an exit node (the config's `[routes] exit-node`, granted by the server), as
//!   wg-quick does: the tunnel's own UDP carries a firewall mark ([`EXIT_MARK`]), a
//!   default route through the interface goes in a table of its own ([`EXIT_TABLE`]), and
//!   two rules send everything unmarked there, after the main table without its default
//!   routes (so local, LAN and mesh routes stay in front). Replies on the uplink get the
//!   mark back from conntrack (the firewall table's mark chains) and
//!   `net.ipv4.conf.all.src_valid_mark` is turned on, so strict reverse path filtering
//!   still accepts them; all of it is undone when the exit node is no longer used and on
//!   `down`.
//!
//! Two gateways for one network: the client uses one and keeps the other on standby. A
//! WireGuard handshake is no sign of life (a healthy peer re-handshakes only every two
//! minutes), so liveness is judged from traffic received. Every sync sends each gateway of
//! such networks a small UDP datagram to its mesh address (port 9, discard): a data packet,
//! which a live gateway's WireGuard answers within ten seconds whatever its firewall does
//! with the datagram (WireGuard's passive keepalive; a closed port's ICMP error comes back
//! at once). A gateway whose receive counter has not grown for [`LIVENESS_TIMEOUT`] is down
//! ([`Liveness`]), and the network moves to the standby. The daemon looks every
//! [`LIVENESS_CHECK`] while a network has a standby, so traffic resumes through the second
//! gateway within about 25 seconds of the first one's death. A gateway that comes back is
//! a standby again: the network stays where it is, so it does not flap.
//!
//! The record also keeps the last route view the server sent, so an interface that comes up
//! from the peer cache while the server is unreachable gets the same routes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wireguard_control::{Device, InterfaceName, PublicKey};
use wiremesh_firewall::Gateway;
use wiremesh_shared::config::RouteSettings;
use wiremesh_shared::routes::{RouteSelection, RouteView};
use wiremesh_shared::PeerId;

use wireguard_control::DeviceUpdate;
use wiremesh_shared::routes::ActiveRoute;

use crate::context::Context;
use crate::files;
use crate::interface::{Switch, EXIT_MARK};

/// What this host changed for routes, and the last route view the server sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    /// The routes the server last granted this host and asked it to carry.
    #[serde(default)]
    pub view: Option<RouteView>,
    /// Subnet routes this host put on the interface.
    #[serde(default)]
    pub installed: BTreeSet<IpNet>,
    /// The gateway each network went through last (kept while it answers).
    #[serde(default)]
    pub chosen: BTreeMap<IpNet, PeerId>,
    /// Granted routes refused last time (each refusal is logged once).
    #[serde(default)]
    pub refused: BTreeSet<IpNet>,
    /// Host-wide switches this host turned on, with the value each had before.
    #[serde(default)]
    pub switches: SavedSwitches,
    /// The exit node in use, when this host set up policy routing for one.
    #[serde(default)]
    pub exit: Option<ExitRecord>,
    /// Rules of ours are in Docker's `DOCKER-USER` chain.
    #[serde(default)]
    pub docker_user: bool,
}

/// The exit node whose policy routing is in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub gateway: PeerId,
    pub v6: bool,
}

/// The value a switch had before this host turned it on (`None`: not touched).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSwitches {
    #[serde(default)]
    pub forwarding_v4: Option<bool>,
    #[serde(default)]
    pub forwarding_v6: Option<bool>,
    #[serde(default)]
    pub src_valid_mark: Option<bool>,
}

impl SavedSwitches {
    fn slot(&mut self, which: Switch) -> &mut Option<bool> {
        match which {
            Switch::Forwarding { v6: false } => &mut self.forwarding_v4,
            Switch::Forwarding { v6: true } => &mut self.forwarding_v6,
            Switch::SrcValidMark => &mut self.src_valid_mark,
        }
    }
}

/// The port liveness probes go to: discard.
pub const PROBE_PORT: u16 = 9;
/// A gateway whose receive counter has not grown for this long is down.
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the daemon looks at a network with a standby gateway.
pub const LIVENESS_CHECK: Duration = Duration::from_secs(5);

/// What this process saw of gateways' receive counters: per interface and key, the counter
/// and when it last grew.
#[derive(Debug, Default)]
pub struct Liveness {
    seen: Mutex<HashMap<(InterfaceName, PublicKey), (u64, Instant)>>,
}

impl Liveness {
    /// Records the receive counters of `gateways` on `device` at `now`; returns those whose
    /// counter has not grown for [`LIVENESS_TIMEOUT`]. A gateway seen for the first time
    /// (or not on the interface) counts as alive from `now`.
    pub fn observe(
        &self,
        iface: &InterfaceName,
        device: &Device,
        gateways: &[PublicKey],
        now: Instant,
    ) -> HashSet<PublicKey> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|(i, key), _| i != iface || gateways.contains(key));
        let mut down = HashSet::new();
        for key in gateways {
            let rx = device.peer(key).map_or(0, |p| p.stats.rx_bytes);
            let entry = seen.entry((iface.clone(), *key)).or_insert((rx, now));
            if rx != entry.0 {
                *entry = (rx, now);
            } else if now.duration_since(entry.1) >= LIVENESS_TIMEOUT {
                down.insert(*key);
            }
        }
        down
    }
}

/// What one sync did about routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutesOutcome {
    /// Routes in use through other peers.
    pub active: usize,
    /// Granted routes refused (they would break this host).
    pub refused: usize,
    /// Networks this host forwards to as a gateway.
    pub carried: usize,
    /// Some network has a standby gateway: the daemon looks at liveness often.
    pub watching: bool,
    /// The mesh addresses of the gateways probed for liveness.
    pub probed: Vec<std::net::IpAddr>,
    /// Networks moved to another gateway because theirs stopped answering.
    pub failed_over: Vec<(IpNet, PeerId, PeerId)>,
    /// What failed (each is logged too).
    pub errors: Vec<String>,
}

/// What this host's firewall table holds for routes: the gateway duties the server gave
/// it (its approved routes, with source NAT as the config says), its duties as the hub of
/// devices, and, when it uses an exit node, the mark chains ([`Gateway::NONE`] without
/// any).
pub fn gateway_of(view: Option<&RouteView>, settings: &RouteSettings, exit: bool) -> Gateway {
    let mut nets: Vec<IpNet> = view
        .map(|v| v.duties().map(|r| r.contents.net).collect())
        .unwrap_or_default();
    nets.sort();
    nets.dedup();
    let exit_mark = exit.then_some(EXIT_MARK);
    let hub = view
        .and_then(|v| v.hub.as_deref().cloned())
        .unwrap_or_default();
    if nets.is_empty() {
        return Gateway {
            exit_mark,
            hub,
            ..Gateway::NONE
        };
    }
    Gateway {
        nets,
        snat: settings.snat,
        exit_mark,
        hub,
    }
}

/// Makes the interface's subnet routes those of `selection`, recording the change in
/// `record`.
pub fn install(
    ctx: &Context,
    iface: &InterfaceName,
    selection: &RouteSelection,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    outcome.active = selection.active.len();
    outcome.refused = selection.refused.len();
    let refused: BTreeSet<IpNet> = selection.refused.iter().map(|(g, _)| g.net).collect();
    for (grant, why) in &selection.refused {
        if !record.refused.contains(&grant.net) {
            tracing::warn!(%iface, "not using the route to {} through peer {}: {why}", grant.net, grant.gateway);
        }
    }
    record.refused = refused;
    outcome.watching = selection.active.iter().any(|r| !r.standby.is_empty());
    for route in &selection.active {
        if let Some(before) = record.chosen.get(&route.net) {
            if *before != route.gateway && route.standby.contains(before) {
                tracing::warn!(%iface, net = %route.net, from = %before, to = %route.gateway, "gateway stopped answering: failed over");
                outcome
                    .failed_over
                    .push((route.net, *before, route.gateway));
            }
        }
    }
    record.chosen = selection
        .active
        .iter()
        .map(|r| (r.net, r.gateway))
        .collect();
    let wanted: BTreeSet<IpNet> = selection.subnet_routes().into_iter().collect();
    if ctx.network.no_routing {
        // The operator manages this host's routes (`--no-routing`): nothing is installed.
        return;
    }
    match selection.exit() {
        Some(exit) => use_exit(ctx, iface, exit, record, outcome),
        None => stop_exit(ctx, iface, record, outcome),
    }
    for net in &wanted {
        match ctx.links.add_route(iface, *net) {
            Ok(true) => {
                tracing::info!(%iface, %net, "route added");
                record.installed.insert(*net);
            }
            // There already: ours when recorded, someone else's otherwise (left alone).
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%iface, %net, "failed to add the route: {error}");
                outcome
                    .errors
                    .push(format!("add the route to {net}: {error}"));
            }
        }
    }
    let stale: Vec<IpNet> = record.installed.difference(&wanted).copied().collect();
    for net in stale {
        match ctx.links.delete_route(iface, net) {
            Ok(_) => {
                tracing::info!(%iface, %net, "route removed");
                record.installed.remove(&net);
            }
            Err(wireguard_control::Error::NotFound { .. }) => {
                record.installed.remove(&net);
            }
            Err(error) => {
                tracing::error!(%iface, %net, "failed to remove the route: {error}");
                outcome
                    .errors
                    .push(format!("remove the route to {net}: {error}"));
            }
        }
    }
}

/// Sends everything through `exit`: the tunnel's mark, `src_valid_mark` (IPv4), the exit
/// table and its rules.
fn use_exit(
    ctx: &Context,
    iface: &InterfaceName,
    exit: &ActiveRoute,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    let v6 = exit.net.addr().is_ipv6();
    let fresh = record.exit
        != Some(ExitRecord {
            gateway: exit.gateway,
            v6,
        });
    // The mark first: from the moment the rules exist, the tunnel's own packets must
    // carry it or they would loop into the tunnel.
    let marked = ctx
        .backend
        .get(iface)
        .map(|device| device.fwmark == Some(EXIT_MARK))
        .unwrap_or(false);
    if !marked {
        if let Err(error) = ctx
            .backend
            .apply(iface, &DeviceUpdate::new().set_fwmark(EXIT_MARK))
        {
            tracing::error!(%iface, "failed to mark the tunnel's packets: {error}; not using the exit node");
            outcome.errors.push(format!(
                "mark the tunnel's packets for the exit node: {error}"
            ));
            return;
        }
    }
    if !v6 {
        turn_on(ctx, iface, Switch::SrcValidMark, record, outcome);
    }
    match ctx.links.exit_routing(iface, v6, true) {
        Ok(()) => {
            if fresh {
                tracing::info!(%iface, gateway = %exit.gateway, "all traffic goes through the exit node");
            }
            record.exit = Some(ExitRecord {
                gateway: exit.gateway,
                v6,
            });
        }
        Err(error) => {
            tracing::error!(%iface, "failed to route through the exit node: {error}");
            outcome
                .errors
                .push(format!("route through the exit node: {error}"));
            // Leave nothing half done.
            record.exit = Some(ExitRecord {
                gateway: exit.gateway,
                v6,
            });
            stop_exit(ctx, iface, record, outcome);
        }
    }
}

/// Undoes [`use_exit`], when it was done.
fn stop_exit(
    ctx: &Context,
    iface: &InterfaceName,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    let Some(exit) = record.exit else {
        return;
    };
    match ctx.links.exit_routing(iface, exit.v6, false) {
        Ok(()) => {
            tracing::info!(%iface, "no longer going through an exit node");
            record.exit = None;
        }
        Err(error) => {
            tracing::error!(%iface, "failed to remove the exit node's routing: {error}");
            outcome
                .errors
                .push(format!("remove the exit node's routing: {error}"));
            return;
        }
    }
    match ctx.backend.apply(iface, &DeviceUpdate::new().set_fwmark(0)) {
        Ok(()) | Err(wireguard_control::Error::NotFound { .. }) => {}
        Err(error) => tracing::warn!(%iface, "failed to clear the tunnel's mark: {error}"),
    }
    restore(ctx, iface, Switch::SrcValidMark, record, outcome);
}

/// Turns `which` on, remembering the value it had.
fn turn_on(
    ctx: &Context,
    iface: &InterfaceName,
    which: Switch,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    match ctx.links.switch(which) {
        Ok(true) => {}
        Ok(false) => match ctx.links.set_switch(which, true) {
            Ok(()) => {
                tracing::info!(%iface, sysctl = which.path(), "turned on");
                record.switches.slot(which).get_or_insert(false);
            }
            Err(error) => {
                tracing::error!(%iface, sysctl = which.path(), "failed to turn on: {error}");
                outcome
                    .errors
                    .push(format!("turn {} on: {error}", which.path()));
            }
        },
        Err(error) => {
            tracing::error!(%iface, sysctl = which.path(), "failed to read: {error}");
            outcome
                .errors
                .push(format!("read {}: {error}", which.path()));
        }
    }
}

/// Turns forwarding on for the families `gateway` routes (or its devices use), remembering
/// what it found.
pub fn start_forwarding(
    ctx: &Context,
    iface: &InterfaceName,
    gateway: &Gateway,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    outcome.carried = gateway.nets.len();
    for v6 in [false, true] {
        let needed = gateway.nets.iter().any(|n| matches!(n, IpNet::V6(_)) == v6)
            || gateway.hub.devices.iter().any(|d| d.ip.is_ipv6() == v6);
        let which = Switch::Forwarding { v6 };
        if needed {
            turn_on(ctx, iface, which, record, outcome);
        } else {
            restore(ctx, iface, which, record, outcome);
        }
    }
}

/// Puts back the forwarding switches this host turned on (both families).
pub fn stop_forwarding(
    ctx: &Context,
    iface: &InterfaceName,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    for v6 in [false, true] {
        restore(ctx, iface, Switch::Forwarding { v6 }, record, outcome);
    }
}

/// Puts `which` back as this host found it, unless another network still needs it on (it
/// then inherits the value to put back).
fn restore(
    ctx: &Context,
    iface: &InterfaceName,
    which: Switch,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    let Some(before) = *record.switches.slot(which) else {
        return;
    };
    if let Some(other) = other_user(ctx, iface, which) {
        let mut theirs = files::load_routes(&ctx.paths, &other);
        theirs.switches.slot(which).get_or_insert(before);
        match files::save_routes(&ctx.paths, &other, &theirs) {
            Ok(()) => {
                tracing::info!(%iface, sysctl = which.path(), "stays on for {other}");
                *record.switches.slot(which) = None;
            }
            Err(error) => outcome.errors.push(error.to_string()),
        }
        return;
    }
    match ctx.links.set_switch(which, before) {
        Ok(()) => {
            tracing::info!(%iface, sysctl = which.path(), on = before, "put back as it was");
            *record.switches.slot(which) = None;
        }
        Err(error) => {
            tracing::error!(%iface, sysctl = which.path(), "failed to put back: {error}");
            outcome
                .errors
                .push(format!("put {} back: {error}", which.path()));
        }
    }
}

/// Another network of this host, up, that needs `which` on.
fn other_user(ctx: &Context, iface: &InterfaceName, which: Switch) -> Option<InterfaceName> {
    let installed = ctx.paths.installed().ok()?;
    installed.into_iter().find(|other| {
        other != iface && ctx.backend.exists(other).unwrap_or(false) && {
            let theirs = files::load_routes(&ctx.paths, other);
            match which {
                Switch::Forwarding { v6 } => theirs
                    .view
                    .as_ref()
                    .is_some_and(|v| v.duties().any(|r| r.contents.net.addr().is_ipv6() == v6)),
                Switch::SrcValidMark => theirs.exit.is_some_and(|e| !e.v6),
            }
        }
    })
}

/// Makes Docker's `DOCKER-USER` chains let the mesh's traffic to `nets` through (none:
/// takes wiremesh's rules out), when this host has Docker.
pub fn docker_user(
    ctx: &Context,
    iface: &InterfaceName,
    nets: &[IpNet],
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    if nets.is_empty() && !record.docker_user {
        return;
    }
    match ctx.policy.firewall.docker_user(iface, nets) {
        Ok(placed) => record.docker_user = placed,
        Err(error) => {
            tracing::error!(%iface, "failed to update Docker's DOCKER-USER chain: {error}");
            outcome
                .errors
                .push(format!("update Docker's DOCKER-USER chain: {error}"));
        }
    }
}

/// Undoes what the record says this host changed (for `down`): routes it installed,
/// switches it turned on, an exit node's policy routing, rules in Docker's chains. The route view stays for the next boot from the cache.
pub fn tear_down(ctx: &Context, iface: &InterfaceName) -> Vec<String> {
    let mut record = files::load_routes(&ctx.paths, iface);
    if record.installed.is_empty()
        && record.switches == SavedSwitches::default()
        && record.exit.is_none()
        && !record.docker_user
    {
        return Vec::new();
    }
    let mut outcome = RoutesOutcome::default();
    stop_forwarding(ctx, iface, &mut record, &mut outcome);
    docker_user(ctx, iface, &[], &mut record, &mut outcome);
    stop_exit(ctx, iface, &mut record, &mut outcome);
    for net in std::mem::take(&mut record.installed) {
        match ctx.links.delete_route(iface, net) {
            Ok(_) | Err(wireguard_control::Error::NotFound { .. }) => {}
            Err(error) => {
                outcome
                    .errors
                    .push(format!("remove the route to {net}: {error}"));
                record.installed.insert(net);
            }
        }
    }
    record.chosen.clear();
    if let Err(error) = files::save_routes(&ctx.paths, iface, &record) {
        outcome.errors.push(error.to_string());
    }
    outcome.errors
}

#[cfg(test)]
mod tests {
    use wireguard_control::{BackendKind, PeerConfig, PeerInfo, PeerStats, PrivateKey};

    use super::*;

    fn device(rx: &[(PublicKey, u64)]) -> Device {
        Device {
            name: "wm0".parse().unwrap(),
            private_key: None,
            public_key: None,
            listen_port: None,
            fwmark: None,
            peers: rx
                .iter()
                .map(|(key, rx)| PeerInfo {
                    config: PeerConfig::new(*key),
                    stats: PeerStats {
                        rx_bytes: *rx,
                        ..PeerStats::default()
                    },
                })
                .collect(),
            backend: BackendKind::Fake,
        }
    }

    #[test]
    fn a_gateway_is_down_once_nothing_came_from_it_for_the_timeout() {
        let (a, b) = (
            PrivateKey::from_bytes([1; 32]).public_key(),
            PrivateKey::from_bytes([2; 32]).public_key(),
        );
        let iface: InterfaceName = "wm0".parse().unwrap();
        let liveness = Liveness::default();
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        // First sight: alive, whatever the counters say.
        assert!(liveness
            .observe(&iface, &device(&[(a, 100), (b, 100)]), &[a, b], at(0))
            .is_empty());
        // b keeps receiving, a does not: a is down once the timeout has passed.
        assert!(liveness
            .observe(&iface, &device(&[(a, 100), (b, 150)]), &[a, b], at(10))
            .is_empty());
        let down = liveness.observe(&iface, &device(&[(a, 100), (b, 200)]), &[a, b], at(20));
        assert_eq!(down, HashSet::from([a]));
        // a answers again: up at once.
        assert!(liveness
            .observe(&iface, &device(&[(a, 130), (b, 250)]), &[a, b], at(25))
            .is_empty());
        // A gateway no longer watched is forgotten: watched again, it starts afresh.
        liveness.observe(&iface, &device(&[(b, 250)]), &[b], at(30));
        assert!(liveness
            .observe(&iface, &device(&[(a, 130), (b, 300)]), &[a, b], at(60))
            .is_empty());
    }
}
