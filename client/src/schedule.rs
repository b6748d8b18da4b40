//! When the daemon syncs each network: the interval, the backoff while a server is
//! unreachable, outages logged once, and the counts of [`DaemonSummary`].
//!
//! No IO and no clock: every method takes `now`, so the rules are tested with made-up
//! instants. [`crate::daemon`] asks [`Scheduler::is_due`], runs a cycle, and tells the
//! scheduler how it went with [`Scheduler::record`], which answers when that network is
//! next due.
//!
//! - a reachable server: next due after the interval, backoff reset;
//! - an unreachable server: next due after the backoff, which doubles each time (from one
//!   second, or the interval if that is shorter, up to the interval); the outage is logged
//!   when it starts and when it ends;
//! - any other failure: next due after the interval;
//! - a change pushed by the server ([`Scheduler::make_due`]): due at once.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use wireguard_control::InterfaceName;
use wiremesh_shared::endpoint::Endpoint;

/// First retry delay after the server was unreachable.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

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

/// How one cycle of one network went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleOutcome {
    /// The server answered (or the state was pushed).
    Reachable,
    /// The server could not be reached.
    Unreachable,
    /// The cycle failed for another reason.
    Failed,
}

/// One network's place in the schedule.
#[derive(Debug, Clone)]
struct Entry {
    due: Instant,
    backoff: Duration,
    /// The NAT candidates this network last reported.
    candidates: Option<Vec<Endpoint>>,
}

/// The daemon's scheduling state across rounds.
#[derive(Debug, Clone)]
pub struct Scheduler {
    interval: Duration,
    first_backoff: Duration,
    entries: HashMap<InterfaceName, Entry>,
    /// Networks whose server is currently unreachable (so the outage is logged once).
    outages: BTreeSet<InterfaceName>,
    /// "No networks installed" was logged (once per daemon).
    warned_empty: bool,
    summary: DaemonSummary,
}

impl Scheduler {
    /// A schedule that syncs every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            first_backoff: FIRST_BACKOFF.min(interval),
            entries: HashMap::new(),
            outages: BTreeSet::new(),
            warned_empty: false,
            summary: DaemonSummary::default(),
        }
    }

    /// Starts a round over `networks`: forgets networks that are gone. Returns `true` the
    /// first time the list is empty (the caller says so once).
    pub fn begin_round(&mut self, networks: &[InterfaceName]) -> bool {
        self.summary.rounds += 1;
        self.entries.retain(|iface, _| networks.contains(iface));
        self.outages.retain(|iface| networks.contains(iface));
        let first_empty = networks.is_empty() && !self.warned_empty;
        self.warned_empty |= first_empty;
        first_empty
    }

    /// Whether `iface` is due at `now`; a network not seen before is due at once.
    pub fn is_due(&mut self, iface: &InterfaceName, now: Instant) -> bool {
        self.entry(iface, now).due <= now
    }

    /// Makes a known network due at `now` (a change was pushed).
    pub fn make_due(&mut self, iface: &InterfaceName, now: Instant) {
        if let Some(entry) = self.entries.get_mut(iface) {
            entry.due = now;
        }
    }

    /// Makes a known network due by `at` at the latest.
    pub fn due_by(&mut self, iface: &InterfaceName, at: Instant) {
        if let Some(entry) = self.entries.get_mut(iface) {
            entry.due = entry.due.min(at);
        }
    }

    /// The NAT candidates `iface` last reported, kept for the sync cycle to compare with and
    /// update.
    pub fn candidates(
        &mut self,
        iface: &InterfaceName,
        now: Instant,
    ) -> &mut Option<Vec<Endpoint>> {
        &mut self.entry(iface, now).candidates
    }

    /// Records how a cycle of `iface` ended at `now`; returns when it is next due.
    pub fn record(
        &mut self,
        iface: &InterfaceName,
        outcome: CycleOutcome,
        now: Instant,
    ) -> Instant {
        let (interval, first_backoff) = (self.interval, self.first_backoff);
        let wait = match outcome {
            CycleOutcome::Unreachable => {
                self.summary.unreachable_cycles += 1;
                if self.outages.insert(iface.clone()) {
                    tracing::warn!(%iface, "server unreachable, keeping the interface as it is; retrying");
                }
                let entry = self.entry(iface, now);
                let wait = entry.backoff;
                entry.backoff = (entry.backoff * 2).min(interval);
                wait
            }
            CycleOutcome::Reachable => {
                self.summary.reachable_cycles += 1;
                if self.outages.remove(iface) {
                    tracing::info!(%iface, "server reachable again");
                }
                self.entry(iface, now).backoff = first_backoff;
                interval
            }
            CycleOutcome::Failed => {
                self.summary.failed_cycles += 1;
                interval
            }
        };
        let entry = self.entry(iface, now);
        entry.due = now + wait;
        entry.due
    }

    /// When the next network is due (one interval from `now` when there is none).
    pub fn next_wake(&self, now: Instant) -> Instant {
        self.entries
            .values()
            .map(|entry| entry.due)
            .min()
            .unwrap_or(now + self.interval)
    }

    /// Whether the server of `iface` is in an outage.
    pub fn in_outage(&self, iface: &InterfaceName) -> bool {
        self.outages.contains(iface)
    }

    pub fn summary(&self) -> &DaemonSummary {
        &self.summary
    }

    fn entry(&mut self, iface: &InterfaceName, now: Instant) -> &mut Entry {
        let first_backoff = self.first_backoff;
        self.entries.entry(iface.clone()).or_insert(Entry {
            due: now,
            backoff: first_backoff,
            candidates: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str) -> InterfaceName {
        name.parse().unwrap()
    }

    /// Runs `outcomes` for one network with a 60 s interval, each cycle starting when the
    /// previous one said, and checks the waits in seconds.
    fn check(interval_secs: u64, outcomes: &[CycleOutcome], expected_waits: &[u64]) {
        let start = Instant::now();
        let net = iface("wm0");
        let mut scheduler = Scheduler::new(Duration::from_secs(interval_secs));
        scheduler.begin_round(std::slice::from_ref(&net));
        let mut now = start;
        let mut waits = Vec::new();
        for outcome in outcomes {
            assert!(scheduler.is_due(&net, now));
            let next = scheduler.record(&net, *outcome, now);
            waits.push((next - now).as_secs());
            assert!(
                !scheduler.is_due(&net, now),
                "due again at once after {outcome:?}"
            );
            now = next;
        }
        assert_eq!(waits, expected_waits, "{outcomes:?}");
    }

    #[test]
    fn waits_follow_the_outcomes() {
        use CycleOutcome::*;
        check(60, &[Reachable, Reachable], &[60, 60]);
        check(60, &[Failed, Failed], &[60, 60]);
        // Backoff doubles up to the interval, and resets when the server answers.
        check(60, &[Unreachable; 8], &[1, 2, 4, 8, 16, 32, 60, 60]);
        check(
            60,
            &[Unreachable, Unreachable, Reachable, Unreachable],
            &[1, 2, 60, 1],
        );
        // A failure of another kind neither grows nor resets the backoff.
        check(60, &[Unreachable, Failed, Unreachable], &[1, 60, 2]);
        // An interval shorter than the first backoff caps it.
        check(1, &[Unreachable, Unreachable, Reachable], &[1, 1, 1]);
    }

    #[test]
    fn summary_counts_rounds_and_outcomes() {
        use CycleOutcome::*;
        let now = Instant::now();
        let net = iface("wm0");
        let mut scheduler = Scheduler::new(Duration::from_secs(60));
        for outcome in [Reachable, Unreachable, Failed, Unreachable] {
            scheduler.begin_round(std::slice::from_ref(&net));
            scheduler.record(&net, outcome, now);
        }
        assert_eq!(
            scheduler.summary(),
            &DaemonSummary {
                rounds: 4,
                reachable_cycles: 1,
                unreachable_cycles: 2,
                failed_cycles: 1,
            }
        );
        assert!(scheduler.in_outage(&net));
        scheduler.record(&net, Reachable, now);
        assert!(!scheduler.in_outage(&net));
    }

    #[test]
    fn pushed_changes_make_a_network_due_and_the_earliest_wakes() {
        let now = Instant::now();
        let (a, b) = (iface("wm0"), iface("wm1"));
        let mut scheduler = Scheduler::new(Duration::from_secs(60));
        scheduler.begin_round(&[a.clone(), b.clone()]);
        let next_a = scheduler.record(&a, CycleOutcome::Reachable, now);
        let next_b = scheduler.record(&b, CycleOutcome::Unreachable, now);
        assert_eq!(scheduler.next_wake(now), next_b.min(next_a));
        let later = now + Duration::from_millis(300);
        assert!(!scheduler.is_due(&a, later));
        scheduler.make_due(&a, later);
        assert!(scheduler.is_due(&a, later));
        assert_eq!(scheduler.next_wake(later), later);
    }

    #[test]
    fn gone_networks_are_forgotten_and_empty_is_warned_once() {
        let now = Instant::now();
        let (a, b) = (iface("wm0"), iface("wm1"));
        let mut scheduler = Scheduler::new(Duration::from_secs(60));
        assert!(scheduler.begin_round(&[]));
        assert!(!scheduler.begin_round(&[]));
        scheduler.begin_round(&[a.clone(), b.clone()]);
        scheduler.record(&a, CycleOutcome::Reachable, now);
        scheduler.record(&b, CycleOutcome::Unreachable, now);
        scheduler.begin_round(std::slice::from_ref(&a));
        assert!(!scheduler.in_outage(&b));
        // Only a's entry is left.
        assert_eq!(scheduler.next_wake(now), now + Duration::from_secs(60));
        assert!(!scheduler.begin_round(&[]));
        assert_eq!(scheduler.next_wake(now), now + Duration::from_secs(60));
    }
}
