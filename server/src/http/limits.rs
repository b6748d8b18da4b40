//! The limits that keep one peer (or a crowd of them) from starving the others: how many
//! connections the server holds at once, how many of them one tunnel address may hold, how
//! many long polls one peer may keep open, and how long a request may take to arrive.
//!
//! Counting is done with [`PerKey`] (a capped count per tunnel address or peer, released when
//! the slot is dropped) and refusals are logged through [`RefusalLog`] (at most one line per
//! key every [`REFUSAL_LOG_INTERVAL`], so a flood cannot flood the log too).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Descriptors kept out of the connection cap for everything else the server opens: the
/// database and its journal files, netlink and UAPI sockets, the hosts file and its temporary
/// copy, the runtime's own descriptors, and connections being refused.
pub const DESCRIPTOR_RESERVE: u64 = 256;
/// How long a client may take to send a request's head (request line and headers); the same
/// time closes a keep-alive connection on which no new request starts.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send a request body (at most `MAX_BODY_BYTES`).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing a response may stall (the client reads nothing) before the connection is
/// closed.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on one tunnel address's connections. A daemon needs two (its long poll and a
/// sync), a person running commands beside it a few more.
pub const DEFAULT_CONNECTIONS_PER_PEER: usize = 16;
/// Default cap on one peer's `/v2` long polls (a daemon keeps one per network).
pub const DEFAULT_POLLS_PER_PEER: usize = 4;
/// The least connection cap that makes sense.
pub const MIN_CONNECTIONS: usize = 16;
/// Refusals of one key are logged at most this often.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The API server's limits (see the operator guide, "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once, all peers together; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Connections one tunnel address may hold; more are answered 429 and closed.
    pub max_connections_per_peer: usize,
    /// `/v2` long polls one peer may keep open; more are answered 429.
    pub max_polls_per_peer: usize,
    pub head_timeout: Duration,
    pub write_stall_timeout: Duration,
}

impl Default for Limits {
    /// The limits for systemd's default soft descriptor limit of 1024.
    fn default() -> Self {
        Self::for_descriptors(1024)
    }
}

impl Limits {
    /// The default limits for a process allowed `descriptors` open descriptors.
    pub fn for_descriptors(descriptors: u64) -> Self {
        let room = usize::try_from(descriptors.saturating_sub(DESCRIPTOR_RESERVE))
            .unwrap_or(usize::MAX)
            .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS);
        Self {
            max_connections: room,
            max_connections_per_peer: DEFAULT_CONNECTIONS_PER_PEER,
            max_polls_per_peer: DEFAULT_POLLS_PER_PEER,
            head_timeout: HEAD_TIMEOUT,
            write_stall_timeout: WRITE_STALL_TIMEOUT,
        }
    }

    /// Whether these limits fit a process allowed `descriptors` open descriptors; the error
    /// says what to change.
    pub fn check(&self, descriptors: u64) -> Result<(), String> {
        let room = descriptors.saturating_sub(DESCRIPTOR_RESERVE);
        if room < MIN_CONNECTIONS as u64 {
            return Err(format!(
                "the descriptor limit is {descriptors}: too low to serve (at least {} needed); \
                 raise LimitNOFILE in the service unit or `ulimit -n`",
                DESCRIPTOR_RESERVE + MIN_CONNECTIONS as u64
            ));
        }
        if self.max_connections as u64 > room {
            return Err(format!(
                "--max-connections {} does not fit the descriptor limit of {descriptors} \
                 (at most {room}: {DESCRIPTOR_RESERVE} are kept for the database, netlink and \
                 the hosts file); raise LimitNOFILE or lower --max-connections",
                self.max_connections
            ));
        }
        if self.max_connections < MIN_CONNECTIONS || self.max_connections > MAX_CONNECTIONS {
            return Err(format!(
                "--max-connections must be between {MIN_CONNECTIONS} and {MAX_CONNECTIONS}"
            ));
        }
        if self.max_connections_per_peer == 0 || self.max_polls_per_peer == 0 {
            return Err("the per-peer caps must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// The largest connection cap (a semaphore's permits are counted in a `u32` when all are
/// taken back at shutdown).
pub const MAX_CONNECTIONS: usize = 1 << 24;

/// A count per key with a cap.
#[derive(Debug)]
pub struct PerKey<K: Eq + Hash + Copy> {
    counts: Arc<Mutex<HashMap<K, usize>>>,
    cap: usize,
}

/// One counted slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot<K: Eq + Hash + Copy> {
    key: K,
    counts: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Eq + Hash + Copy> PerKey<K> {
    pub fn new(cap: usize) -> Self {
        Self {
            counts: Arc::default(),
            cap,
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// A slot for `key`, or `None` when it already holds `cap`.
    pub fn try_acquire(&self, key: K) -> Option<Slot<K>> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key).or_default();
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            key,
            counts: self.counts.clone(),
        })
    }

    /// Slots `key` holds now.
    pub fn held(&self, key: K) -> usize {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(&key).copied().unwrap_or(0)
    }

    /// Keys holding at least one slot (zero when nothing is held: counts leave no entries).
    pub fn keys(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<K: Eq + Hash + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Decides which refusals are logged: the first of a key, then at most one every
/// [`REFUSAL_LOG_INTERVAL`], saying how many went unlogged in between.
#[derive(Debug)]
pub struct RefusalLog<K: Eq + Hash + Copy> {
    last: Mutex<HashMap<K, (Instant, u64)>>,
}

impl<K: Eq + Hash + Copy> Default for RefusalLog<K> {
    fn default() -> Self {
        Self {
            last: Mutex::default(),
        }
    }
}

/// Keys remembered before old entries are forgotten.
const REFUSAL_LOG_KEYS: usize = 4096;

impl<K: Eq + Hash + Copy> RefusalLog<K> {
    /// `Some(unlogged)` when this refusal is to be logged, with the number of refusals of the
    /// key that were not logged since the last line; `None` when it is to be counted only.
    pub fn should_log(&self, key: K) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.len() >= REFUSAL_LOG_KEYS {
            last.retain(|_, (at, _)| now.duration_since(*at) < REFUSAL_LOG_INTERVAL);
        }
        match last.get_mut(&key) {
            Some((at, unlogged)) if now.duration_since(*at) < REFUSAL_LOG_INTERVAL => {
                *unlogged += 1;
                None
            }
            Some((at, unlogged)) => {
                let count = std::mem::take(unlogged);
                *at = now;
                Some(count)
            }
            None => {
                last.insert(key, (now, 0));
                Some(0)
            }
        }
    }
}

/// " (N more since the last message)" when N > 0.
pub fn unlogged_suffix(unlogged: u64) -> String {
    if unlogged == 0 {
        String::new()
    } else {
        format!(" ({unlogged} more since the last such message)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_key_counts_release_on_drop_and_leave_nothing() {
        let counts = PerKey::new(2);
        let a1 = counts.try_acquire('a').unwrap();
        let a2 = counts.try_acquire('a').unwrap();
        assert!(counts.try_acquire('a').is_none(), "a third slot is refused");
        let b = counts
            .try_acquire('b')
            .expect("another key is not affected");
        assert_eq!((counts.held('a'), counts.held('b')), (2, 1));
        drop(a1);
        let a3 = counts
            .try_acquire('a')
            .expect("a released slot is free again");
        drop((a2, a3, b));
        assert_eq!(counts.keys(), 0);
    }

    #[test]
    fn refusals_are_logged_once_per_interval() {
        let log = RefusalLog::default();
        assert_eq!(log.should_log(1), Some(0));
        assert_eq!(log.should_log(1), None);
        assert_eq!(log.should_log(1), None);
        assert_eq!(log.should_log(2), Some(0), "keys are independent");
        log.last.lock().unwrap().get_mut(&1).unwrap().0 -= REFUSAL_LOG_INTERVAL;
        assert_eq!(
            log.should_log(1),
            Some(2),
            "the next line counts the unlogged"
        );
        assert_eq!(unlogged_suffix(0), "");
        assert!(unlogged_suffix(2).contains("2 more"));
    }

    #[test]
    fn limits_fit_the_descriptor_limit() {
        let limits = Limits::for_descriptors(1024);
        assert_eq!(limits.max_connections, 768);
        assert!(limits.check(1024).is_ok());
        assert!(limits
            .check(512)
            .unwrap_err()
            .contains("--max-connections 768"));
        assert!(Limits::for_descriptors(100)
            .check(100)
            .unwrap_err()
            .contains("too low"));
        assert_eq!(
            Limits::for_descriptors(65536).max_connections,
            65536 - DESCRIPTOR_RESERVE as usize
        );
        let zero = Limits {
            max_polls_per_peer: 0,
            ..Limits::default()
        };
        assert!(zero.check(1024).is_err());
    }
}
