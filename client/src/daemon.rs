//! `up --daemon`: keep every installed network (or one) in sync until told to stop.
//!
//! Unlike innernet, which exits on the first error and relies on systemd to restart it, the
//! daemon never exits on an error (the timing rules are [`crate::schedule`]'s):
//! - a server that cannot be reached leaves the interface as it is; the network is retried
//!   with exponential backoff (from one second, or the interval if that is shorter, up to the
//!   interval), and the outage is logged once when it starts and once when it ends;
//! - any other error is logged and the network retried at the next interval.
//!
//! The stop flag is checked between networks and while sleeping (at least every 100 ms), so
//! the binary can end the loop from a SIGTERM handler and tests can end it at will.
//!
//! With an interval of [`watch::MIN_INTERVAL`] or more, a network whose server pushes changes
//! (`/v2`) gets a watcher thread; a change it reports makes the network due at once. While the
//! watcher is in step with the server, every cycle of that network (pushed or at the interval)
//! syncs from the watcher's state and fetches nothing; NAT candidates are then reported only
//! when they change. Otherwise the cycle fetches `/v1` state as usual.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wireguard_control::InterfaceName;
use wiremesh_shared::wire::State;

use crate::context::Context;
use crate::error::ClientError;
pub use crate::schedule::DaemonSummary;
use crate::schedule::{CycleOutcome, Scheduler};
use crate::sync::{sync_from, Source, SyncMode, SyncReport};
use crate::watch::{self, Watcher};

/// Default time between two cycles (innernet's `--interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Longest sleep between two looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// The change watchers (`/v2` long polls) of networks whose server pushes changes.
#[derive(Default)]
struct Watchers {
    running: HashMap<InterfaceName, Watcher>,
    /// Networks whose watcher was tried before their first sync.
    tried_early: BTreeSet<InterfaceName>,
}

impl Watchers {
    /// Stops the watchers of networks no longer in `networks`.
    fn retain(&mut self, networks: &[InterfaceName]) {
        self.running.retain(|iface, watcher| {
            let keep = networks.contains(iface);
            if !keep {
                watcher.stop();
            }
            keep
        });
    }

    /// Starts a watcher for `iface` unless one runs.
    fn ensure(&mut self, ctx: &Context, iface: &InterfaceName) {
        if !self.running.contains_key(iface) {
            if let Some(watcher) = watch::start(ctx, iface) {
                self.running.insert(iface.clone(), watcher);
            }
        }
    }

    /// A network whose interface is already up (the daemon started right after `install`,
    /// or restarted) gets its watcher before its first sync, so a change made meanwhile cuts
    /// that sync's NAT traversal short instead of waiting for it. Tried once per network.
    fn start_early(&mut self, ctx: &Context, iface: &InterfaceName) {
        if !self.running.contains_key(iface)
            && self.tried_early.insert(iface.clone())
            && crate::interface::is_up(ctx, iface).unwrap_or(false)
        {
            self.ensure(ctx, iface);
        }
    }

    /// The state of a watcher in step with its server.
    fn state(&self, iface: &InterfaceName) -> Option<State> {
        self.running.get(iface).and_then(Watcher::state)
    }

    fn any_due(&self) -> bool {
        self.running.values().any(Watcher::is_due)
    }

    fn stop_all(&self) {
        for watcher in self.running.values() {
            watcher.stop();
        }
    }
}

/// Syncs `only` (or every installed network, looked up again every round) every `interval`
/// until `stop` is set. Never returns early on errors.
pub fn run_daemon(
    ctx: &Context,
    only: Option<&InterfaceName>,
    interval: Duration,
    stop: &AtomicBool,
) -> DaemonSummary {
    let mut scheduler = Scheduler::new(interval);
    let mut watchers = Watchers::default();
    let use_push = interval >= watch::MIN_INTERVAL;
    // Watchers raise this flag with a change; it cuts NAT traversal short (see `Context`).
    let mut ctx = ctx.clone();
    let interrupt = Arc::new(AtomicBool::new(false));
    if use_push {
        ctx.interrupt = Some(interrupt.clone());
    }
    let ctx = &ctx;
    tracing::info!(interval_secs = interval.as_secs_f64(), "daemon started");
    while !stop.load(Ordering::Relaxed) {
        let networks = networks(ctx, only);
        if scheduler.begin_round(&networks) {
            tracing::warn!(
                "no networks installed in {}; waiting for one",
                ctx.paths.config_dir.display()
            );
        }
        watchers.retain(&networks);
        interrupt.store(false, Ordering::Relaxed);
        for (iface, watcher) in &watchers.running {
            if watcher.take_due() {
                scheduler.make_due(iface, ctx.clock.monotonic());
            }
        }
        for iface in networks {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if !scheduler.is_due(&iface, ctx.clock.monotonic()) {
                continue;
            }
            if use_push {
                watchers.start_early(ctx, &iface);
            }
            let source = match watchers.state(&iface) {
                Some(state) => Source::Pushed(Box::new(state)),
                None => Source::Fetch,
            };
            let candidates = scheduler.candidates(&iface, ctx.clock.monotonic());
            let mut watching = false;
            let outcome = match sync_from(ctx, &iface, SyncMode::Up, source, candidates) {
                Ok(report) if report.server_reachable => {
                    log_report(&report);
                    watching = report.routes.watching;
                    CycleOutcome::Reachable
                }
                Ok(report) => {
                    log_report(&report);
                    watching = report.routes.watching;
                    CycleOutcome::Unreachable
                }
                Err(error) if error.is_unreachable() => CycleOutcome::Unreachable,
                Err(error) => {
                    tracing::error!(%iface, "sync failed: {error}; retrying in {}s", interval.as_secs_f64());
                    CycleOutcome::Failed
                }
            };
            if outcome == CycleOutcome::Reachable && use_push {
                watchers.ensure(ctx, &iface);
            }
            scheduler.record(&iface, outcome, ctx.clock.monotonic());
            if watching {
                // A network with a standby gateway: look at its gateways' liveness often.
                let at = ctx.clock.monotonic() + crate::routing::LIVENESS_CHECK;
                scheduler.due_by(&iface, at);
            }
        }
        let next = scheduler.next_wake(ctx.clock.monotonic());
        sleep_until_unless_stopped(ctx, next, stop, || watchers.any_due());
    }
    watchers.stop_all();
    let summary = scheduler.summary().clone();
    tracing::info!(?summary, "daemon stopped");
    summary
}

/// The networks of this round; a listing failure is logged and means none this round.
fn networks(ctx: &Context, only: Option<&InterfaceName>) -> Vec<InterfaceName> {
    match only {
        Some(iface) => vec![iface.clone()],
        None => match ctx.paths.installed() {
            Ok(list) => list,
            Err(source) => {
                let error = ClientError::Io {
                    action: "list networks in",
                    path: ctx.paths.config_dir.clone(),
                    source,
                };
                tracing::error!("{error}");
                Vec::new()
            }
        },
    }
}

fn log_report(report: &SyncReport) {
    if report.changed()
        || report.brought_up
        || !report.pinning_violations.is_empty()
        || !report.routes.failed_over.is_empty()
    {
        tracing::info!(iface = %report.iface, "{}", report.summary());
    } else {
        tracing::debug!(iface = %report.iface, "{}", report.summary());
    }
}

/// Sleeps until `end`, waking early when `stop` is set or `pushed` says a change arrived.
fn sleep_until_unless_stopped(
    ctx: &Context,
    end: Instant,
    stop: &AtomicBool,
    pushed: impl Fn() -> bool,
) {
    loop {
        if stop.load(Ordering::Relaxed) || pushed() {
            return;
        }
        let now = ctx.clock.monotonic();
        if now >= end {
            return;
        }
        std::thread::sleep(STOP_CHECK.min(end - now));
    }
}
