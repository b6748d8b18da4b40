//! `up --daemon`: keep every installed network (or one) in sync until told to stop.
//!
//! Unlike innernet, which exits on the first error and relies on systemd to restart it, the
//! daemon never exits on an error:
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
use wiremesh_shared::endpoint::Endpoint;

use crate::context::Context;
use crate::error::ClientError;
use crate::sync::{sync_from, Source, SyncMode, SyncReport};
use crate::watch::{self, Watcher};

/// Default time between two cycles (innernet's `--interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// First retry delay after the server was unreachable.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest sleep between two looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// What the daemon did before it was stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonSummary {
    /// Rounds over the networks (a round syncs the networks that are due).
    pub rounds: u64,
    /// Cycles in which the server answered.
    pub reachable_cycles: u64,
    /// Cycles that found the server unreachable.
    pub unreachable_cycles: u64,
    /// Cycles that failed for another reason.
    pub failed_cycles: u64,
}

/// When a network is next due and how long its next unreachable-retry waits.
#[derive(Debug, Clone)]
struct Schedule {
    due: Instant,
    backoff: Duration,
    /// The NAT candidates this network last reported.
    candidates: Option<Vec<Endpoint>>,
}

/// Syncs `only` (or every installed network, looked up again every round) every `interval`
/// until `stop` is set. Never returns early on errors.
pub fn run_daemon(
    ctx: &Context,
    only: Option<&InterfaceName>,
    interval: Duration,
    stop: &AtomicBool,
) -> DaemonSummary {
    let first_backoff = FIRST_BACKOFF.min(interval);
    let mut summary = DaemonSummary::default();
    let mut schedules: HashMap<InterfaceName, Schedule> = HashMap::new();
    // Networks whose server is currently unreachable (so the outage is logged once).
    let mut outages: BTreeSet<InterfaceName> = BTreeSet::new();
    let mut warned_empty = false;
    // Change watchers (`/v2` long polls) of networks whose server pushes changes.
    let mut watchers: HashMap<InterfaceName, Watcher> = HashMap::new();
    // Networks whose watcher was tried before their first sync.
    let mut early_watch_tried: BTreeSet<InterfaceName> = BTreeSet::new();
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
        summary.rounds += 1;
        let networks = networks(ctx, only);
        if networks.is_empty() && !warned_empty {
            tracing::warn!(
                "no networks installed in {}; waiting for one",
                ctx.paths.config_dir.display()
            );
            warned_empty = true;
        }
        schedules.retain(|iface, _| networks.contains(iface));
        watchers.retain(|iface, watcher| {
            let keep = networks.contains(iface);
            if !keep {
                watcher.stop();
            }
            keep
        });
        interrupt.store(false, Ordering::Relaxed);
        for (iface, watcher) in &watchers {
            if watcher.take_due() {
                if let Some(schedule) = schedules.get_mut(iface) {
                    schedule.due = Instant::now();
                }
            }
        }
        for iface in networks {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let schedule = schedules.entry(iface.clone()).or_insert(Schedule {
                due: Instant::now(),
                backoff: first_backoff,
                candidates: None,
            });
            if schedule.due > Instant::now() {
                continue;
            }
            // A network whose interface is already up (the daemon started right after
            // `install`, or restarted) gets its watcher before its first sync, so a change
            // made meanwhile cuts that sync's NAT traversal short instead of waiting for it.
            if use_push
                && !watchers.contains_key(&iface)
                && early_watch_tried.insert(iface.clone())
                && crate::interface::is_up(ctx, &iface).unwrap_or(false)
            {
                if let Some(watcher) = watch::start(ctx, &iface) {
                    watchers.insert(iface.clone(), watcher);
                }
            }
            let source = match watchers.get(&iface).and_then(Watcher::state) {
                Some(state) => Source::Pushed(state),
                None => Source::Fetch,
            };
            let reachable = match sync_from(
                ctx,
                &iface,
                SyncMode::Up,
                source,
                &mut schedule.candidates,
            ) {
                Ok(report) => {
                    log_report(&report);
                    Some(report.server_reachable)
                }
                Err(error) if error.is_unreachable() => Some(false),
                Err(error) => {
                    summary.failed_cycles += 1;
                    tracing::error!(%iface, "sync failed: {error}; retrying in {}s", interval.as_secs_f64());
                    None
                }
            };
            let wait = match reachable {
                Some(false) => {
                    summary.unreachable_cycles += 1;
                    if outages.insert(iface.clone()) {
                        tracing::warn!(%iface, "server unreachable, keeping the interface as it is; retrying");
                    }
                    let wait = schedule.backoff;
                    schedule.backoff = (schedule.backoff * 2).min(interval);
                    wait
                }
                Some(true) => {
                    summary.reachable_cycles += 1;
                    if outages.remove(&iface) {
                        tracing::info!(%iface, "server reachable again");
                    }
                    if use_push && !watchers.contains_key(&iface) {
                        if let Some(watcher) = watch::start(ctx, &iface) {
                            watchers.insert(iface.clone(), watcher);
                        }
                    }
                    schedule.backoff = first_backoff;
                    interval
                }
                None => interval,
            };
            schedule.due = Instant::now() + wait;
        }
        let next = schedules
            .values()
            .map(|s| s.due)
            .min()
            .unwrap_or_else(|| Instant::now() + interval);
        let pushed = || watchers.values().any(Watcher::is_due);
        sleep_until_unless_stopped(next, stop, pushed);
    }
    for watcher in watchers.values() {
        watcher.stop();
    }
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
    if report.changed() || report.brought_up || !report.pinning_violations.is_empty() {
        tracing::info!(iface = %report.iface, "{}", report.summary());
    } else {
        tracing::debug!(iface = %report.iface, "{}", report.summary());
    }
}

/// Sleeps until `end`, waking early when `stop` is set or `pushed` says a change arrived.
fn sleep_until_unless_stopped(end: Instant, stop: &AtomicBool, pushed: impl Fn() -> bool) {
    loop {
        if stop.load(Ordering::Relaxed) || pushed() {
            return;
        }
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep(STOP_CHECK.min(end - now));
    }
}
