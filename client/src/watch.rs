//! Push for the daemon: a thread per network long-polls `/v2/user/state` on servers that
//! advertise `v2-state`, and raises the network's "due" flag when the server reports a change
//! this peer can see, so the daemon syncs within moments instead of at its next interval.
//!
//! The watcher only triggers syncs; the sync itself still fetches the whole state, so what
//! the interface ends up with is exactly what a poll would give. It keeps the server's epoch
//! and revision across outages and resumes from them; a server without `/v2` (innernet)
//! answers 404 and the watcher ends, leaving the daemon to its interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wireguard_control::InterfaceName;

use crate::context::Context;
use crate::files;

/// How long the server may hold one long poll.
pub const WAIT_SECS: u64 = 30;
/// Below this sync interval polling is as fast as pushing; no watcher is started.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Longest pause after the server could not be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A running watcher; dropping the handle does not stop it, [`Watcher::stop`] does.
#[derive(Debug)]
pub struct Watcher {
    /// Set by the watcher when the network should be synced now; cleared by the daemon.
    pub due: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Watcher {
    /// Asks the watcher to end after its current request (at most [`WAIT_SECS`] later).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a sync is due, clearing the flag.
    pub fn take_due(&self) -> bool {
        self.due.swap(false, Ordering::Relaxed)
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
        due: Arc::new(AtomicBool::new(false)),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let (ctx, iface, due, stop) = (
        ctx.clone(),
        iface.clone(),
        watcher.due.clone(),
        watcher.stop.clone(),
    );
    let spawned = std::thread::Builder::new()
        .name(format!("watch-{iface}"))
        .spawn(move || run(&ctx, &iface, &due, &stop));
    match spawned {
        Ok(_) => {
            tracing::info!("the server pushes changes (/v2); syncing as soon as they happen");
            Some(watcher)
        }
        Err(error) => {
            tracing::warn!("failed to start the change watcher: {error}; polling only");
            None
        }
    }
}

fn run(ctx: &Context, iface: &InterfaceName, due: &AtomicBool, stop: &AtomicBool) {
    let mut position: Option<(u64, u64)> = None;
    let mut backoff = Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        let Ok(config) = files::load_config(&ctx.paths, iface) else {
            tracing::debug!(%iface, "the network is no longer installed; the change watcher ends");
            return;
        };
        let api = ctx.api_with_timeout(
            &config,
            Duration::from_secs(WAIT_SECS) + ctx.timings.api_timeout,
        );
        match api.state_delta(position, WAIT_SECS) {
            Ok(delta) => {
                backoff = Duration::from_secs(1);
                // The first answer (no position yet) is the full state: it may hold a change
                // made since the daemon's last sync, so it counts as one.
                if !delta.is_empty() {
                    due.store(true, Ordering::Relaxed);
                }
                position = Some((delta.epoch, delta.revision));
            }
            Err(error) if error.status() == Some(404) => {
                tracing::info!(%iface, "the server has no /v2 any more; polling only");
                return;
            }
            Err(error) => {
                tracing::debug!(%iface, "change watcher: {error}; retrying in {}s", backoff.as_secs());
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let end = std::time::Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
}
