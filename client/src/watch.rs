//! Push for the daemon: a thread per network long-polls `/v2/user/state` on servers that
//! advertise `v2-state`, keeps the network's state up to date by applying the answers
//! ([`StateDelta::apply_to`]), and marks the network due when the server reports a change
//! this peer can see, so the daemon applies it within moments instead of at its next interval.
//!
//! While the watcher is connected its state *is* the server's state for this peer (the server
//! would have answered otherwise), so the daemon syncs from it without fetching anything:
//! only the changes cross the wire, and nothing at all while nothing changes. The first
//! answer is the full state; a server whose history differs (another epoch: a restored
//! backup, a database innernet opened) or that cannot tell what changed since the revision
//! gets the full state again; a plain restart does not. After an error the watcher withdraws its
//! state until it is back in step, and the daemon falls back to fetching `/v1` state.
//! A server without `/v2` (innernet) answers 404 and the watcher ends, leaving the daemon to
//! its interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wireguard_control::InterfaceName;
use wiremesh_shared::wire::State;

use crate::context::Context;
use crate::files;

/// How long the server may hold one long poll (below the server's limit of
/// [`wiremesh_shared::wire::MAX_WAIT_SECS`]).
pub const WAIT_SECS: u64 = 55;
/// Below this sync interval polling is as fast as pushing; no watcher is started.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Longest pause after the server could not be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the watcher shares with the daemon.
#[derive(Debug, Default)]
struct Shared {
    /// The server's state for this peer, while the watcher is in step with it.
    state: Option<State>,
    /// A change arrived that the daemon has not synced yet.
    due: bool,
}

/// A running watcher; dropping the handle does not stop it, [`Watcher::stop`] does.
#[derive(Debug, Clone)]
pub struct Watcher {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl Watcher {
    /// Asks the watcher to end after its current request (at most [`WAIT_SECS`] later).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a sync is due, clearing the flag.
    pub fn take_due(&self) -> bool {
        std::mem::take(&mut self.lock().due)
    }

    /// Whether a sync is due, leaving the flag as it is.
    pub fn is_due(&self) -> bool {
        self.lock().due
    }

    /// The server's current state for this peer, when the watcher is in step with the server.
    pub fn state(&self) -> Option<State> {
        self.lock().state.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts a watcher for `iface` when its server advertises `v2-state`; `None` otherwise (or
/// when the config cannot be read or the server not asked).
pub fn start(ctx: &Context, iface: &InterfaceName) -> Option<Watcher> {
    let config = files::load_config(&ctx.paths, iface).ok()?;
    let capabilities = ctx.api(&config).capabilities().ok()?;
    let supported = capabilities.wiremesh.is_some_and(|w| {
        w.features
            .iter()
            .any(|f| f == wiremesh_shared::wire::V2_STATE_FEATURE)
    });
    if !supported {
        return None;
    }
    let watcher = Watcher {
        shared: Arc::default(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let (ctx, iface, thread_watcher) = (ctx.clone(), iface.clone(), watcher.clone());
    let spawned = std::thread::Builder::new()
        .name(format!("watch-{iface}"))
        .spawn(move || run(&ctx, &iface, &thread_watcher));
    match spawned {
        Ok(_) => {
            tracing::info!("the server pushes changes (/v2); applying them as they happen");
            Some(watcher)
        }
        Err(error) => {
            tracing::warn!("failed to start the change watcher: {error}; polling only");
            None
        }
    }
}

fn run(ctx: &Context, iface: &InterfaceName, watcher: &Watcher) {
    // The state at `position`, as built from the answers so far.
    let mut state = State::default();
    let mut position: Option<(u64, u64)> = None;
    let mut backoff = Duration::from_secs(1);
    while !watcher.stop.load(Ordering::Relaxed) {
        let Ok(config) = files::load_config(&ctx.paths, iface) else {
            tracing::debug!(%iface, "the network is no longer installed; the change watcher ends");
            break;
        };
        let api = ctx.api_with_timeout(
            &config,
            Duration::from_secs(WAIT_SECS) + ctx.timings.api_timeout,
        );
        match api.state_delta(position, WAIT_SECS) {
            Ok(delta) => {
                backoff = Duration::from_secs(1);
                position = Some((delta.epoch, delta.revision));
                let changed = !delta.is_empty();
                if changed {
                    tracing::debug!(%iface, revision = delta.revision, full = delta.full, peers = delta.peers.len(), removed = delta.removed.len(), "change pushed");
                    delta.apply_to(&mut state);
                }
                let mut shared = watcher.lock();
                // The first answer after starting or an error may hold a change made since
                // the daemon last synced, so it counts as one.
                if changed || shared.state.is_none() {
                    shared.state = Some(state.clone());
                    shared.due = true;
                    if let Some(interrupt) = &ctx.interrupt {
                        interrupt.store(true, Ordering::Relaxed);
                    }
                }
            }
            Err(error) if error.status() == Some(404) => {
                tracing::info!(%iface, "the server has no /v2 any more; polling only");
                break;
            }
            Err(error) => {
                tracing::debug!(%iface, "change watcher: {error}; retrying in {}s", backoff.as_secs());
                // Out of step until the next answer: the daemon fetches for itself meanwhile.
                watcher.lock().state = None;
                sleep_unless_stopped(backoff, &watcher.stop);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    watcher.lock().state = None;
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let end = std::time::Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
}
