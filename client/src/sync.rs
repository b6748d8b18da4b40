//! The fetch cycle (compat §6.1) for one network, and `up` for several.
//!
//! One cycle: load the config; bring the interface up if asked to; load the peer cache;
//! fetch the state (or take the one the daemon's change watcher keeps, [`Source::Pushed`]);
//! read the interface; then [`crate::plan`] decides (key pins, endpoint overrides, the diff,
//! hosts, cache, candidates, which peers need NAT traversal) and this module carries the plan
//! out: one device update, the hosts file, the cache, the candidate report, NAT traversal.
//!
//! Where it differs from innernet, on purpose:
//! - server unreachable and the interface already up: nothing on the interface changes (the
//!   peers it has keep working; innernet #400); the report says the server was unreachable;
//! - server unreachable and the interface down (boot): it comes up from the cache, without
//!   the peers the cache marks disabled (innernet #396); without a cache that is an error;
//! - keys are checked against the pins *before* anything is applied: a re-keyed peer keeps
//!   its cached entry, every violation is reported, and the other peers are applied;
//! - a cache that cannot be read or parsed is never treated as empty (innernet silently
//!   ignores a corrupt one, dropping every pin): only peers the interface already holds with
//!   the same key are applied, the rest are held back and reported, and the file is left
//!   for the operator (`wiremesh reset-cache`);
//! - an install whose redemption's answer was lost is settled first
//!   ([`crate::install::settle_redeem`]), and an interface with another private key than the
//!   config's gets the config's;
//! - hosts-file and candidate-reporting problems are warnings and never fail the cycle;
//! - NAT traversal is bounded by [`crate::context::Timings::nat_budget`].

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

use ipnet::IpNet;
use wireguard_control::{DeviceUpdate, InterfaceName, PeerUpdate};
use wiremesh_shared::config::{ClientConfig, PeerCache};
use wiremesh_shared::endpoint::Endpoint;
use wiremesh_shared::pinning::PinningViolation;
use wiremesh_shared::wire::{Peer, State};

use crate::api::{ApiClient, ApiError};
use crate::context::Context;
use crate::error::ClientError;
use crate::nat::{traverse, NatOutcome};
use crate::plan::{plan, Inputs, PeersFrom, Plan, PlanError, Routing, ServerAnswer};
use crate::{files, interface};

/// What to do when the interface is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// `fetch`: the interface must be up already ([`ClientError::NotUp`] otherwise).
    Fetch,
    /// `up`: bring it up from the config first when it is down.
    Up,
}

/// What one cycle did.
#[derive(Debug)]
pub struct SyncReport {
    pub iface: InterfaceName,
    /// The interface was down and this cycle brought it up.
    pub brought_up: bool,
    /// The state came from the server (else from the cache, or nothing changed at all).
    pub server_reachable: bool,
    /// The interface had a private key other than the config's, and got the config's.
    pub key_repaired: bool,
    pub added: usize,
    pub modified: usize,
    pub removed: usize,
    /// The hosts file section was rewritten.
    pub hosts_written: bool,
    /// Peers the server offered with a key other than the pinned one; they were left as
    /// they were.
    pub pinning_violations: Vec<PinningViolation>,
    /// The peer cache could not be read or parsed at the start of the cycle.
    pub cache_error: Option<ClientError>,
    /// Peers not applied: offered by the server while the cache was unusable and not on
    /// the interface already, or cached peers of a stale cache (see `stale_cache`).
    pub held_back: usize,
    /// The interface came up from a cache older than `--max-cache-age` (its age), so only
    /// the server peer was taken from it.
    pub stale_cache: Option<Duration>,
    /// The cache was written (only after a fetch from the server).
    pub cache_saved: bool,
    /// How many NAT candidates the server took; `None` when none were reported.
    pub candidates_reported: Option<usize>,
    /// The NAT traversal run, when one was needed.
    pub nat: Option<NatOutcome>,
    /// What was done about the port and protocol policy.
    pub policy: Option<crate::policy::Enforcement>,
    /// What was done about routes beyond the mesh.
    pub routes: crate::routing::RoutesOutcome,
    /// The server announced a new public endpoint, now in the config.
    pub server_moved: Option<Endpoint>,
}

impl SyncReport {
    fn new(iface: &InterfaceName) -> Self {
        Self {
            iface: iface.clone(),
            brought_up: false,
            server_reachable: false,
            key_repaired: false,
            added: 0,
            modified: 0,
            removed: 0,
            hosts_written: false,
            pinning_violations: Vec::new(),
            cache_error: None,
            held_back: 0,
            stale_cache: None,
            cache_saved: false,
            candidates_reported: None,
            nat: None,
            policy: None,
            routes: crate::routing::RoutesOutcome::default(),
            server_moved: None,
        }
    }

    /// Whether any peer on the interface changed.
    pub fn changed(&self) -> bool {
        self.added + self.modified + self.removed > 0
    }

    /// One line for a person, e.g. `evilcorp: 2 added, 0 modified, 1 removed`.
    pub fn summary(&self) -> String {
        let mut out = format!("{}: ", self.iface);
        if self.key_repaired {
            out.push_str("private key reset to the config's, ");
        }
        if !self.server_reachable {
            out.push_str("server unreachable, ");
            if !self.brought_up {
                out.push_str("interface kept as it is");
                return out;
            }
            out.push_str("started from the peer cache, ");
        }
        if self.changed() {
            out.push_str(&format!(
                "{} added, {} modified, {} removed",
                self.added, self.modified, self.removed
            ));
        } else {
            out.push_str("already up to date");
        }
        match (self.held_back, self.stale_cache) {
            (0, _) => {}
            (held, Some(age)) => out.push_str(&format!(
                ", {held} peer(s) held back: the server last confirmed the peer cache {}, \
                 so only the server comes up from it",
                ago(age)
            )),
            (held, None) => out.push_str(&format!(
                ", {held} peer(s) held back: the peer cache is unusable"
            )),
        }
        if let Some(endpoint) = &self.server_moved {
            out.push_str(&format!(
                ", the server moved to {endpoint} (recorded in the config)"
            ));
        }
        if !self.pinning_violations.is_empty() {
            out.push_str(&format!(
                ", {} peer(s) refused by key pinning",
                self.pinning_violations.len()
            ));
        }
        match &self.policy {
            Some(crate::policy::Enforcement::Applied { changed: true, .. }) => {
                out.push_str(", firewall table programmed")
            }
            Some(crate::policy::Enforcement::Applied { repaired: true, .. }) => {
                out.push_str(", firewall table repaired")
            }
            Some(crate::policy::Enforcement::Failed { error, .. }) => {
                out.push_str(&format!(", firewall NOT programmed: {error}"))
            }
            _ => {}
        }
        let routes = &self.routes;
        if routes.active > 0 {
            out.push_str(&format!(", {} route(s) through gateways", routes.active));
        }
        if routes.refused > 0 {
            out.push_str(&format!(", {} route(s) refused", routes.refused));
        }
        for (net, from, to) in &routes.failed_over {
            out.push_str(&format!(
                ", {net} failed over from peer {from} to peer {to}"
            ));
        }
        if routes.carried > 0 {
            out.push_str(&format!(", forwarding to {} network(s)", routes.carried));
        }
        for error in &routes.errors {
            out.push_str(&format!(", failed to {error}"));
        }
        out
    }
}

/// Where a cycle's state comes from.
#[derive(Debug)]
pub enum Source {
    /// `GET /v1/user/state`; NAT candidates are reported every cycle (as innernet does).
    Fetch,
    /// The state a change watcher built from the server's `/v2` answers ([`crate::watch`]):
    /// nothing is fetched, and NAT candidates are reported only when they differ from the
    /// list this network last reported.
    Pushed(Box<State>),
}

/// Runs one cycle for `iface`, fetching the state.
pub fn sync(
    ctx: &Context,
    iface: &InterfaceName,
    mode: SyncMode,
) -> Result<SyncReport, ClientError> {
    sync_from(ctx, iface, mode, Source::Fetch, &mut None)
}

/// Runs one cycle for `iface` with the state from `source`. `reported` is the NAT candidate
/// list this network last reported (kept by the caller between cycles, updated here).
///
/// It reads what the cycle needs, lets [`plan`] decide, and carries the plan out.
pub fn sync_from(
    ctx: &Context,
    iface: &InterfaceName,
    mode: SyncMode,
    source: Source,
    reported: &mut Option<Vec<Endpoint>>,
) -> Result<SyncReport, ClientError> {
    let mut config = files::load_config(&ctx.paths, iface)?;
    let mut report = SyncReport::new(iface);
    if !interface::is_up(ctx, iface)? {
        match mode {
            SyncMode::Fetch => {
                return Err(ClientError::NotUp {
                    iface: iface.clone(),
                })
            }
            SyncMode::Up => {
                interface::bring_up(ctx, iface, &config, None)?;
                report.brought_up = true;
            }
        }
    }
    if let Some(invitation_key) = files::load_pending_redeem(&ctx.paths, iface)? {
        // An install whose redemption's answer was lost: find out and finish first.
        crate::install::settle_redeem(ctx, iface, &config, &invitation_key)?;
    }
    let mut device = ctx
        .backend
        .get(iface)
        .map_err(ClientError::interface(iface, "read"))?;
    let own_key = &config.interface.private_key;
    if device.private_key.as_ref() != Some(own_key) {
        // E.g. an install stopped between redeeming and swapping keys: with any other key
        // the server would never answer.
        tracing::warn!(%iface, "the interface's private key is not the one in the config; setting the config's");
        ctx.backend
            .apply(iface, &DeviceUpdate::new().set_private_key(own_key.clone()))
            .map_err(ClientError::interface(iface, "set the private key of"))?;
        device.private_key = Some(own_key.clone());
        device.public_key = Some(own_key.public_key());
        report.key_repaired = true;
    }
    let (cache, cache_unusable) = open_cache(ctx, iface, &mut report);
    let cache_age = files::cache_age(&ctx.paths, iface, ctx.clock.wall());
    let mesh = config.interface.address.trunc();

    let api = ctx.api(&config);
    let (answer, unreachable) = match source {
        Source::Pushed(state) => (ServerAnswer::Pushed(*state), None),
        Source::Fetch => match api.state() {
            Ok(state) => (ServerAnswer::Fetched(state), None),
            Err(source) if source.is_unreachable() => (ServerAnswer::Unreachable, Some(source)),
            Err(source) => {
                return Err(ClientError::Api {
                    iface: iface.clone(),
                    action: "fetch the network state",
                    source: Box::new(source),
                })
            }
        },
    };
    if let ServerAnswer::Pushed(state) | ServerAnswer::Fetched(state) = &answer {
        report.server_moved = follow_server_move(ctx, iface, &mut config, &state.peers)?;
    }
    // The ruleset travels with the state; the plan does not need it.
    let ruleset = match &answer {
        ServerAnswer::Pushed(state) | ServerAnswer::Fetched(state) => state.policy.clone(),
        ServerAnswer::Unreachable => None,
    };
    let mut record = files::load_routes(&ctx.paths, iface);
    let record_before = record.clone();
    // Routes: the server's view, or without the server the last one it sent.
    let view = match &answer {
        ServerAnswer::Pushed(state) | ServerAnswer::Fetched(state) => state.routes.clone(),
        ServerAnswer::Unreachable => record.view.clone(),
    };
    if let Some(source) = &unreachable {
        if !report.brought_up {
            // Debug only: the daemon logs an outage once, the CLI prints the report.
            tracing::debug!(%iface, "server unreachable, keeping the interface as it is: {source}");
            // The last ruleset stays enforced (and comes back if someone removed it), with
            // the gateway duties it had.
            let gateway = gateway_duties(ctx, iface, &config, view.as_ref(), record.exit.is_some());
            let duties = crate::policy::Duties {
                gateway: &gateway,
                changed: false,
            };
            report.policy = Some(crate::policy::enforce(ctx, iface, false, None, duties));
            return Ok(report);
        }
    }
    let answered = unreachable.is_none();
    let local_addresses = if answered && !ctx.nat.no_candidates {
        (ctx.local_addresses)()
    } else {
        Vec::new()
    };
    let uses_routes = view.as_ref().is_some_and(|v| !v.grants.is_empty())
        && (config.routes.accept || config.routes.exit_node.is_some());
    let host = if uses_routes {
        ctx.links.host_networks(iface)
    } else {
        crate::interface::HostNetworks::default()
    };
    // Gateways that stopped answering, judged from the interface's receive counters.
    let down = match &view {
        Some(view) if uses_routes => {
            let peers = match &answer {
                ServerAnswer::Fetched(state) | ServerAnswer::Pushed(state) => &state.peers,
                ServerAnswer::Unreachable => &cache.peers,
            };
            let ids: std::collections::HashSet<_> = view.grants.iter().map(|g| g.gateway).collect();
            let keyed: Vec<(wiremesh_shared::PeerId, wireguard_control::PublicKey)> = peers
                .iter()
                .filter(|p| ids.contains(&p.id))
                .map(|p| (p.id, p.public_key))
                .collect();
            let keys: Vec<_> = keyed.iter().map(|(_, k)| *k).collect();
            let dead = ctx
                .liveness
                .observe(iface, &device, &keys, ctx.clock.monotonic());
            keyed
                .into_iter()
                .filter(|(_, k)| dead.contains(k))
                .map(|(id, _)| id)
                .collect()
        }
        _ => std::collections::HashSet::new(),
    };
    let inputs = Inputs {
        config: &config,
        cache: &cache,
        cache_unusable,
        cache_age,
        max_cache_age: ctx.network.max_cache_age,
        server: answer,
        device: &device,
        brought_up: report.brought_up,
        nat: &ctx.nat,
        local_addresses: &local_addresses,
        last_reported: reported.as_deref(),
        resolve: &|endpoint| ctx.resolve_peer_endpoint(endpoint, &mesh),
        routing: Routing {
            view: view.as_ref(),
            settings: &config.routes,
            host_nets: &host.nets,
            default_gateways: &host.default_gateways,
            down: &down,
            previous: &record.chosen,
        },
    };
    let mut plan = match plan(inputs, ctx.clock.wall()) {
        Ok(plan) => plan,
        Err(PlanError::UnreachableNoCache) if cache_unusable => {
            // Say what is wrong with the cache rather than that there is none.
            return Err(report
                .cache_error
                .take()
                .expect("an unusable cache has its error"));
        }
        Err(PlanError::UnreachableNoCache) => {
            return Err(ClientError::UnreachableNoCache {
                iface: iface.clone(),
                cache: ctx.paths.cache_file(iface),
                source: Box::new(unreachable.expect("only an unreachable server plans no cache")),
            })
        }
    };
    let selection = plan.routes.take();
    let probe = std::mem::take(&mut plan.probe);
    if let Some(ip) = plan.exit_node_unknown {
        tracing::warn!(%iface, "the exit node {ip} the config names is none of this host's peers (or is disabled): traffic goes out as usual");
    }
    let (mut report, traversal) = apply(ctx, iface, &api, plan, report, reported, unreachable)?;
    // After the peers (their allowed IPs carry the routes): the routes through gateways.
    let mut outcome = crate::routing::RoutesOutcome::default();
    if let Some(selection) = &selection {
        crate::routing::install(ctx, iface, selection, &mut record, &mut outcome);
    }
    for addr in &probe {
        ctx.links.probe(*addr);
    }
    outcome.probed = probe;
    // After the peers: a host never filters traffic of peers it does not have yet, and a
    // failure here never keeps the peers from being applied. Before the NAT traversal, which
    // may wait for handshakes for seconds: a rule change must not wait behind it. As a
    // gateway, the table (source NAT, the forward filter) is in place before forwarding is
    // turned on, and forwarding is off again before the table loses them.
    let answered = report.server_reachable;
    let gateway = gateway_duties(ctx, iface, &config, view.as_ref(), record.exit.is_some());
    let duties = crate::policy::Duties {
        gateway: &gateway,
        changed: gateway
            != crate::routing::gateway_of(
                record_before.view.as_ref(),
                &config.routes,
                record_before.exit.is_some(),
            ),
    };
    if !gateway.has_forward_chain() {
        crate::routing::stop_forwarding(ctx, iface, &mut record, &mut outcome);
    }
    if !gateway.forwards() {
        crate::routing::docker_user(ctx, iface, &[], &mut record, &mut outcome);
    }
    let enforcement = crate::policy::enforce(ctx, iface, answered, ruleset.as_ref(), duties);
    if gateway.has_forward_chain() {
        if matches!(enforcement, crate::policy::Enforcement::Applied { .. }) {
            crate::routing::docker_user(ctx, iface, &gateway.nets, &mut record, &mut outcome);
            crate::routing::start_forwarding(ctx, iface, &gateway, &mut record, &mut outcome);
        } else {
            tracing::error!(%iface, "not forwarding for the mesh: the firewall table with the gateway's source NAT and forward filter is not in place");
            outcome
                .errors
                .push("forward for the mesh: the firewall table is not in place".to_owned());
            crate::routing::stop_forwarding(ctx, iface, &mut record, &mut outcome);
            crate::routing::docker_user(ctx, iface, &[], &mut record, &mut outcome);
        }
    }
    if answered {
        record.view = view;
    }
    if record != record_before {
        if let Err(error) = files::save_routes(&ctx.paths, iface, &record) {
            tracing::error!(%iface, "{error}; what this host changed for routes is not remembered");
            outcome.errors.push(error.to_string());
        }
    }
    report.routes = outcome;
    if answered && ruleset.is_some() {
        crate::policy::report(ctx, iface, &api, &enforcement);
    }
    report.policy = Some(enforcement);
    if let Some(traversal) = traversal {
        let working: Vec<&Peer> = traversal.peers.iter().collect();
        match traverse(ctx, iface, &working, traversal.applied_at, &traversal.mesh) {
            Ok(outcome) => report.nat = Some(outcome),
            Err(error) => tracing::warn!(%iface, "NAT traversal stopped: {error}"),
        }
    }
    Ok(report)
}

/// The gateway duties this host is to carry out: none while enforcement is off (the duties
/// need the table's source NAT and forward filter).
fn gateway_duties(
    ctx: &Context,
    iface: &InterfaceName,
    config: &wiremesh_shared::config::ClientConfig,
    view: Option<&wiremesh_shared::routes::RouteView>,
    exit: bool,
) -> wiremesh_firewall::Gateway {
    let gateway = crate::routing::gateway_of(view, &config.routes, exit);
    if (gateway.has_forward_chain() || gateway.exit_mark.is_some()) && !ctx.policy.enforce {
        if gateway.forwards() {
            tracing::warn!(%iface, "this host is a gateway, but with --no-firewall it does not forward for the mesh (forwarding needs the firewall table's source NAT and forward filter)");
        }
        if !gateway.hub.is_empty() {
            tracing::warn!(%iface, "this host is the hub of devices, but with --no-firewall it does not forward for them (the hub applies the ACL and the policy for them)");
        }
        return wiremesh_firewall::Gateway::NONE;
    }
    gateway
}

/// The NAT traversal a sync leaves to its end: the peers to try, and when the interface was
/// updated.
struct PendingTraversal {
    peers: Vec<Peer>,
    applied_at: std::time::Instant,
    mesh: IpNet,
}

/// Carries out `plan`: the interface, the hosts file, the cache, the candidates; returns the
/// NAT traversal still to run.
fn apply(
    ctx: &Context,
    iface: &InterfaceName,
    api: &ApiClient,
    plan: Plan,
    mut report: SyncReport,
    reported: &mut Option<Vec<Endpoint>>,
    unreachable: Option<ApiError>,
) -> Result<(SyncReport, Option<PendingTraversal>), ClientError> {
    report.server_reachable = plan.peers_from == PeersFrom::Server;
    if let Some(source) = unreachable {
        tracing::warn!(%iface, "server unreachable, starting from the peer cache: {source}");
    }
    for violation in &plan.pinning_violations {
        tracing::error!(%iface, "{violation}");
    }
    report.pinning_violations = plan.pinning_violations;
    if !plan.held_back.is_empty() {
        let names: Vec<String> = plan
            .held_back
            .iter()
            .map(|p| format!("{} ({})", p.name, p.ip))
            .collect();
        match plan.stale_cache {
            Some(age) => {
                tracing::warn!(%iface, "the server last confirmed the peer cache {}, longer ago than --max-cache-age allows: only the server is on the interface until it answers; held back {} peer(s): {}", ago(age), names.len(), names.join(", "))
            }
            None => {
                tracing::error!(%iface, "held back {} peer(s) whose keys cannot be checked without the peer cache: {}", names.len(), names.join(", "))
            }
        }
    }
    report.held_back = plan.held_back.len();
    report.stale_cache = plan.stale_cache;
    if plan.dropped_endpoints > 0 {
        let dropped = plan.dropped_endpoints;
        tracing::debug!(%iface, dropped, "ignored endpoints inside the mesh network");
    }
    report.added = plan.counts.added;
    report.modified = plan.counts.modified;
    report.removed = plan.counts.removed;
    if !plan.device.is_empty() {
        ctx.backend
            .apply(iface, &plan.device)
            .map_err(ClientError::interface(iface, "update the peers of"))?;
    }
    let applied_at = ctx.clock.monotonic();
    if report.changed() {
        tracing::info!(%iface, added = report.added, modified = report.modified, removed = report.removed, "peers updated");
    } else {
        tracing::debug!(%iface, "peers already up to date");
    }

    if let Some(hosts) = &plan.hosts {
        report.hosts_written = write_hosts(ctx, iface, hosts);
    }
    if let Some(cache) = &plan.cache {
        match files::save_cache(&ctx.paths, iface, cache) {
            Ok(_) => report.cache_saved = true,
            Err(error) => {
                tracing::error!(%iface, "{error}; key pins of new peers are not remembered")
            }
        }
    }
    if let Some(candidates) = plan.report_candidates {
        report.candidates_reported = report_candidates(iface, api, &candidates);
        *reported = report.candidates_reported.map(|_| candidates);
    }

    let traversal = (!plan.traverse.is_empty()).then_some(PendingTraversal {
        peers: plan.traverse,
        applied_at,
        mesh: plan.mesh,
    });
    Ok((report, traversal))
}

/// One network's outcome in [`up_all`].
pub type NetworkResult = (InterfaceName, Result<SyncReport, ClientError>);

/// Runs [`sync`] in [`SyncMode::Up`] for `only`, or for every installed network (an empty
/// list when there is none). One network's failure does not stop the others.
pub fn up_all(
    ctx: &Context,
    only: Option<&InterfaceName>,
) -> Result<Vec<NetworkResult>, ClientError> {
    let networks = match only {
        Some(iface) => vec![iface.clone()],
        None => ctx
            .paths
            .installed()
            .map_err(ClientError::io("list networks in", &ctx.paths.config_dir))?,
    };
    Ok(networks
        .into_iter()
        .map(|iface| {
            let result = sync(ctx, &iface, SyncMode::Up);
            (iface, result)
        })
        .collect())
}

/// Loads the peer cache: an empty one when there is none yet; when it exists but cannot be
/// read or parsed, an empty one and `true` (its pins are unknown), with the error in the
/// report. The file is left where it is for the operator (`wiremesh reset-cache`).
fn open_cache(ctx: &Context, iface: &InterfaceName, report: &mut SyncReport) -> (PeerCache, bool) {
    match files::load_cache(&ctx.paths, iface) {
        Ok(cache) => (cache.unwrap_or_default(), false),
        Err(error) => {
            tracing::error!(%iface, "{error}");
            report.cache_error = Some(error);
            (PeerCache::default(), true)
        }
    }
}

/// `age` for a person: "8 days ago".
fn ago(age: Duration) -> String {
    crate::show::render::humanize_since(Some(UNIX_EPOCH), UNIX_EPOCH + age)
}

/// Writes the hosts file section; problems are warnings. Returns whether it was rewritten.
fn write_hosts(ctx: &Context, iface: &InterfaceName, entries: &BTreeSet<(IpAddr, String)>) -> bool {
    let Some(path) = ctx.hosts_path() else {
        return false;
    };
    let result = hostsfile::Tag::wiremesh(iface.as_str()).and_then(|tag| {
        let mut hosts = hostsfile::HostsBuilder::new(tag);
        for (ip, name) in entries {
            let hostname =
                hostsfile::peer_hostname(name, iface.as_str(), ctx.hosts.suffix.as_deref());
            if let Err(error) = hosts.add_hostname(*ip, hostname) {
                tracing::warn!(%iface, "skipping a peer in the hosts file: {error}");
            }
        }
        hosts.write_to(path)
    });
    match result {
        Ok(written) => written == hostsfile::Written::Changed,
        Err(error) => {
            tracing::warn!(%iface, "failed to update the hosts file {}: {error}", path.display());
            false
        }
    }
}

/// `PUT /v1/user/candidates`; failures are warnings. Returns how many were reported.
fn report_candidates(
    iface: &InterfaceName,
    api: &ApiClient,
    candidates: &[Endpoint],
) -> Option<usize> {
    match api.set_candidates(candidates) {
        Ok(()) => Some(candidates.len()),
        Err(error) if error.status() == Some(404) => {
            tracing::warn!(%iface, "the server does not take NAT candidates (an older server?)");
            None
        }
        Err(error) => {
            tracing::warn!(%iface, "failed to report NAT candidates: {error}");
            None
        }
    }
}

/// The server announced a new public endpoint (`wiremesh-server set-endpoint`: the server
/// peer's endpoint in the state differs from the config's): records it in the config, so that
/// the next start uses it even when the old one is gone by then, and points the interface at
/// it now. WireGuard keeps a peer's endpoint while handshakes succeed (and the diff never
/// touches a connected peer's), so without this an established tunnel would stay on the old
/// endpoint until it went dead. Returns the new endpoint when it moved.
fn follow_server_move(
    ctx: &Context,
    iface: &InterfaceName,
    config: &mut ClientConfig,
    peers: &[Peer],
) -> Result<Option<Endpoint>, ClientError> {
    let Some(server) = peers
        .iter()
        .find(|p| p.public_key == config.server.public_key)
    else {
        return Ok(None);
    };
    let Some(announced) = &server.endpoint else {
        return Ok(None);
    };
    if announced.is_unspecified() || *announced == config.server.external_endpoint {
        return Ok(None);
    }
    let old = std::mem::replace(&mut config.server.external_endpoint, announced.clone());
    files::save_config(&ctx.paths, iface, config)?;
    tracing::info!(%iface, from = %old, to = %announced, "the server moved: its new endpoint is in the config");
    match (ctx.resolve)(announced) {
        Some(addr) => {
            let mut update = PeerUpdate::new(config.server.public_key).set_endpoint(addr);
            update.update_only = true;
            ctx.backend
                .apply(iface, &DeviceUpdate::new().add_peer(update))
                .map_err(ClientError::interface(
                    iface,
                    "point at the server's new endpoint on",
                ))?;
        }
        None => tracing::warn!(
            %iface,
            endpoint = %announced,
            "failed to resolve the server's new endpoint; the tunnel stays on the old one for now"
        ),
    }
    Ok(Some(announced.clone()))
}
