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
//!   that family, which then inherits what to restore).
//!
//! The record also keeps the last route view the server sent, so an interface that comes up
//! from the peer cache while the server is unreachable gets the same routes.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wireguard_control::InterfaceName;
use wiremesh_firewall::Gateway;
use wiremesh_shared::config::RouteSettings;
use wiremesh_shared::routes::{RouteSelection, RouteView};
use wiremesh_shared::PeerId;

use crate::context::Context;
use crate::files;

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
    /// Forwarding switches this host turned on, with the value each had before.
    #[serde(default)]
    pub forwarding: SavedForwarding,
}

/// The value a forwarding switch had before this host turned it on (`None`: not touched).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedForwarding {
    #[serde(default)]
    pub v4: Option<bool>,
    #[serde(default)]
    pub v6: Option<bool>,
}

impl SavedForwarding {
    fn slot(&mut self, v6: bool) -> &mut Option<bool> {
        if v6 {
            &mut self.v6
        } else {
            &mut self.v4
        }
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
    /// What failed (each is logged too).
    pub errors: Vec<String>,
}

/// The gateway duties the server gave this host: its approved routes, with source NAT as
/// the config says ([`Gateway::NONE`] without any).
pub fn gateway_of(view: Option<&RouteView>, settings: &RouteSettings) -> Gateway {
    let mut nets: Vec<IpNet> = view
        .map(|v| v.duties().map(|r| r.contents.net).collect())
        .unwrap_or_default();
    nets.sort();
    nets.dedup();
    if nets.is_empty() {
        return Gateway::NONE;
    }
    Gateway {
        nets,
        snat: settings.snat,
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

/// Turns forwarding on for the families `gateway` routes, remembering what it found.
pub fn start_forwarding(
    ctx: &Context,
    iface: &InterfaceName,
    gateway: &Gateway,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    outcome.carried = gateway.nets.len();
    for v6 in [false, true] {
        let needed = gateway.nets.iter().any(|n| matches!(n, IpNet::V6(_)) == v6);
        if !needed {
            restore_family(ctx, iface, v6, record, outcome);
            continue;
        }
        match ctx.links.forwarding(v6) {
            Ok(true) => {}
            Ok(false) => match ctx.links.set_forwarding(v6, true) {
                Ok(()) => {
                    tracing::info!(%iface, family = family(v6), "forwarding turned on for the routes this host carries");
                    record.forwarding.slot(v6).get_or_insert(false);
                }
                Err(error) => {
                    tracing::error!(%iface, family = family(v6), "failed to turn forwarding on: {error}");
                    outcome
                        .errors
                        .push(format!("turn {} forwarding on: {error}", family(v6)));
                }
            },
            Err(error) => {
                tracing::error!(%iface, family = family(v6), "failed to read the forwarding switch: {error}");
                outcome.errors.push(format!(
                    "read the {} forwarding switch: {error}",
                    family(v6)
                ));
            }
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
        restore_family(ctx, iface, v6, record, outcome);
    }
}

fn restore_family(
    ctx: &Context,
    iface: &InterfaceName,
    v6: bool,
    record: &mut RouteRecord,
    outcome: &mut RoutesOutcome,
) {
    let Some(before) = *record.forwarding.slot(v6) else {
        return;
    };
    // Another network of this host that still forwards this family takes over the value to
    // put back; the switch stays on.
    if let Some(other) = other_forwarder(ctx, iface, v6) {
        let mut theirs = files::load_routes(&ctx.paths, &other);
        theirs.forwarding.slot(v6).get_or_insert(before);
        match files::save_routes(&ctx.paths, &other, &theirs) {
            Ok(()) => {
                tracing::info!(%iface, family = family(v6), "forwarding stays on for {other}");
                *record.forwarding.slot(v6) = None;
            }
            Err(error) => outcome.errors.push(error.to_string()),
        }
        return;
    }
    match ctx.links.set_forwarding(v6, before) {
        Ok(()) => {
            tracing::info!(%iface, family = family(v6), on = before, "forwarding put back as it was");
            *record.forwarding.slot(v6) = None;
        }
        Err(error) => {
            tracing::error!(%iface, family = family(v6), "failed to put the forwarding switch back: {error}");
            outcome
                .errors
                .push(format!("put {} forwarding back: {error}", family(v6)));
        }
    }
}

/// Another installed network whose record holds this family's forwarding on.
fn other_forwarder(ctx: &Context, iface: &InterfaceName, v6: bool) -> Option<InterfaceName> {
    let installed = ctx.paths.installed().ok()?;
    installed.into_iter().find(|other| {
        other != iface && ctx.backend.exists(other).unwrap_or(false) && {
            let theirs = files::load_routes(&ctx.paths, other);
            theirs
                .view
                .as_ref()
                .is_some_and(|v| v.duties().any(|r| r.contents.net.addr().is_ipv6() == v6))
        }
    })
}

/// Undoes what the record says this host changed (for `down`): routes it installed and
/// forwarding it turned on. The route view stays for the next boot from the cache.
pub fn tear_down(ctx: &Context, iface: &InterfaceName) -> Vec<String> {
    let mut record = files::load_routes(&ctx.paths, iface);
    if record.installed.is_empty() && record.forwarding == SavedForwarding::default() {
        return Vec::new();
    }
    let mut outcome = RoutesOutcome::default();
    stop_forwarding(ctx, iface, &mut record, &mut outcome);
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

fn family(v6: bool) -> &'static str {
    if v6 {
        "IPv6"
    } else {
        "IPv4"
    }
}
