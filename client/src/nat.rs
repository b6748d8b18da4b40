//! Running a NAT traversal against the interface (compat §6.4), with a time budget.
//!
//! The order of trials comes from [`wiremesh_shared::nat::NatTraversal`]; this module does the
//! waiting: first until [`Timings::nat_step`] has passed since the interface was updated (so
//! the endpoints just set get their chance; peers that handshake meanwhile end the wait for
//! themselves), then step by step — one candidate per remaining
//! peer, set in one device update, then polling every [`Timings::nat_poll`] for up to one step
//! until the peers handshake. Unlike innernet, the whole run is bounded by
//! [`Timings::nat_budget`] (a sync never blocks the next one for a minute), the initial wait
//! cannot underflow (compat §13.13), and a peer left unconnected when the budget runs
//! out gets its server-reported endpoint back instead of whatever candidate was tried last.
//! In a daemon whose server pushes changes, a waiting change interrupts the run (same
//! restoring), so the change is not held up behind a traversal.
//!
//! [`Timings::nat_step`]: crate::context::Timings::nat_step
//! [`Timings::nat_poll`]: crate::context::Timings::nat_poll
//! [`Timings::nat_budget`]: crate::context::Timings::nat_budget

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use wireguard_control::{DeviceUpdate, InterfaceName, PeerInfo, PeerUpdate, PublicKey};
use wiremesh_shared::diff::RECENT_HANDSHAKE;
use wiremesh_shared::nat::NatTraversal;
use wiremesh_shared::wire::Peer;

use crate::context::Context;
use crate::error::ClientError;

/// What a NAT traversal run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatOutcome {
    /// Peers that needed traversal (not connected, something to try).
    pub peers: usize,
    /// Device updates made, one per step.
    pub steps: usize,
    /// Of `peers`, how many had a recent handshake at the end.
    pub connected: usize,
    /// Whether the budget ran out before every candidate was tried.
    pub budget_exhausted: bool,
    /// Whether it ended early because a pushed change was waiting.
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// Tries the candidates of `peers` (the added or changed peers of a sync, minus locally
/// overridden ones) on `iface`. `applied_at` is when the interface was last updated.
pub fn traverse(
    ctx: &Context,
    iface: &InterfaceName,
    peers: &[&Peer],
    applied_at: Instant,
    mesh: &IpNet,
) -> Result<NatOutcome, ClientError> {
    let start = ctx.clock.monotonic();
    let deadline = start + ctx.timings.nat_budget;
    let mut outcome = NatOutcome::default();
    let mut nat = NatTraversal::new(peers.iter().copied());
    let device_peers = read_peers(ctx, iface)?;
    let now = ctx.clock.wall();
    nat.refresh(&device_peers, now);
    if nat.is_empty() {
        return Ok(outcome);
    }
    // The peers being tried and the endpoint each should keep if nothing works.
    let fallback: HashMap<PublicKey, Option<SocketAddr>> = peers
        .iter()
        .filter(|peer| {
            device_peers.iter().any(|info| {
                info.config.public_key == peer.public_key
                    && !info.handshake_within(RECENT_HANDSHAKE, now)
            })
        })
        .map(|peer| {
            (
                peer.public_key,
                peer.endpoint
                    .as_ref()
                    .and_then(|e| ctx.resolve_peer_endpoint(e, mesh)),
            )
        })
        .collect();
    outcome.peers = nat.len();
    tracing::debug!(%iface, peers = outcome.peers, "NAT traversal started");
    // Whatever happens in the steps, the endpoints are put back afterwards: a step that
    // failed must not leave a peer on a candidate that did not work.
    let stepped = run_steps(
        ctx,
        iface,
        &mut nat,
        &mut outcome,
        applied_at,
        deadline,
        mesh,
    );
    let interrupted = matches!(stepped, Ok(true));
    if interrupted {
        // A pushed change waits; the peers still unconnected are retried by a later sync
        // (they come back as NAT reattempts), from their server-reported endpoints.
        tracing::debug!(%iface, "NAT traversal interrupted by a pushed change");
        outcome.interrupted = true;
    }
    let now = ctx.clock.wall();
    let mut restore = DeviceUpdate::new();
    for info in read_peers(ctx, iface)? {
        let Some(wanted) = fallback.get(&info.config.public_key) else {
            continue;
        };
        if info.handshake_within(RECENT_HANDSHAKE, now) {
            outcome.connected += 1;
        } else if let Some(addr) = wanted.filter(|addr| info.config.endpoint != Some(*addr)) {
            restore = restore.add_peer(
                PeerUpdate::new(info.config.public_key)
                    .update_only()
                    .set_endpoint(addr),
            );
        }
    }
    if !restore.is_empty() {
        ctx.backend
            .apply(iface, &restore)
            .map_err(ClientError::interface(iface, "restore endpoints on"))?;
    }
    stepped?;
    outcome.elapsed = ctx.clock.monotonic().saturating_duration_since(start);
    tracing::debug!(%iface, ?outcome, "NAT traversal finished");
    Ok(outcome)
}

/// The traversal's steps: each sets the next candidate of every peer still unconnected and
/// waits a step for handshakes. Returns whether a pushed change interrupted them.
fn run_steps(
    ctx: &Context,
    iface: &InterfaceName,
    nat: &mut NatTraversal,
    outcome: &mut NatOutcome,
    applied_at: Instant,
    deadline: Instant,
    mesh: &IpNet,
) -> Result<bool, ClientError> {
    // The endpoints just set get their chance first, until a step has passed since the
    // update; peers that connect meanwhile need nothing more.
    let first_end = (applied_at + ctx.timings.nat_step).min(deadline);
    let mut interrupted = wait_for_handshakes(ctx, iface, nat, first_end)?;
    while !interrupted && !nat.is_empty() {
        if ctx.clock.monotonic() >= deadline {
            outcome.budget_exhausted = true;
            break;
        }
        let step = nat.next_step();
        if step.is_empty() {
            break;
        }
        let updates: Vec<PeerUpdate> = step
            .iter()
            .filter_map(|(key, endpoint)| {
                let addr = ctx.resolve_peer_endpoint(endpoint, mesh);
                if addr.is_none() {
                    tracing::debug!(%iface, %endpoint, "skipping a NAT candidate that does not resolve");
                }
                addr.map(|addr| PeerUpdate::new(*key).update_only().set_endpoint(addr))
            })
            .collect();
        if !updates.is_empty() {
            let update = DeviceUpdate::new().add_peers(updates);
            ctx.backend
                .apply(iface, &update)
                .map_err(ClientError::interface(iface, "set NAT candidates on"))?;
            outcome.steps += 1;
        }
        let step_end = (ctx.clock.monotonic() + ctx.timings.nat_step).min(deadline);
        interrupted = wait_for_handshakes(ctx, iface, nat, step_end)?;
    }
    Ok(interrupted)
}

fn read_peers(ctx: &Context, iface: &InterfaceName) -> Result<Vec<PeerInfo>, ClientError> {
    Ok(ctx
        .backend
        .get(iface)
        .map_err(ClientError::interface(iface, "read"))?
        .peers)
}

/// Polls the interface every [`Timings::nat_poll`] until `until` passes, every peer still in
/// `nat` has connected, or the context is interrupted (then `true`).
///
/// [`Timings::nat_poll`]: crate::context::Timings::nat_poll
fn wait_for_handshakes(
    ctx: &Context,
    iface: &InterfaceName,
    nat: &mut NatTraversal,
    until: Instant,
) -> Result<bool, ClientError> {
    loop {
        if ctx.interrupted() {
            return Ok(true);
        }
        let now = ctx.clock.monotonic();
        if now >= until || nat.is_empty() {
            return Ok(false);
        }
        std::thread::sleep(ctx.timings.nat_poll.min(until - now));
        nat.refresh(&read_peers(ctx, iface)?, ctx.clock.wall());
    }
}
