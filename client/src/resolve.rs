//! Resolving endpoints that name a host, without letting a name stall the sync loop.
//!
//! Endpoints come from the server and so, in the end, from other peers: a peer can set its
//! endpoint to a name under a domain it controls whose servers never answer. The system
//! resolver (`getaddrinfo`) blocks for as long as its own retries take, and every sync cycle
//! resolves every endpoint. So each lookup runs on a worker thread that the cycle waits for
//! only [`LOOKUP_TIMEOUT`]; at most [`MAX_IN_FLIGHT`] lookups run at once (a name that
//! hangs keeps its thread until the system gives up, so threads are bounded too); and every
//! answer is remembered — a failure for [`FAILED_TTL`], an address for [`RESOLVED_TTL`] —
//! so one bad name costs the daemon one timeout every few minutes, not one per cycle.
//!
//! Literal addresses never reach a worker.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wiremesh_shared::Endpoint;

/// How long a cycle waits for one name.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// Lookups running at once; a name asked for beyond this fails at once (and is asked again
/// in a later cycle).
pub const MAX_IN_FLIGHT: usize = 4;
/// How long an address a name resolved to is used before the name is looked up again.
pub const RESOLVED_TTL: Duration = Duration::from_secs(60);
/// How long a name that failed (or timed out) is not looked up again.
pub const FAILED_TTL: Duration = Duration::from_secs(300);
/// Names remembered; beyond this the oldest answers are forgotten.
const MAX_REMEMBERED: usize = 4096;

/// Looks up `host:port` (blocking); the first address, if any.
pub type Lookup = Arc<dyn Fn(&str, u16) -> Option<SocketAddr> + Send + Sync>;

/// A resolver with a timeout, a bound on concurrent lookups and a memory of answers.
pub struct BoundedResolver {
    lookup: Lookup,
    timeout: Duration,
    max_in_flight: usize,
    in_flight: Arc<AtomicUsize>,
    answers: Mutex<HashMap<(String, u16), Answer>>,
}

struct Answer {
    addr: Option<SocketAddr>,
    until: Instant,
}

impl BoundedResolver {
    /// A resolver using the system's `getaddrinfo`, with the module's limits.
    pub fn system() -> Self {
        Self::new(
            Arc::new(|host: &str, port: u16| (host, port).to_socket_addrs().ok()?.next()),
            LOOKUP_TIMEOUT,
            MAX_IN_FLIGHT,
        )
    }

    pub fn new(lookup: Lookup, timeout: Duration, max_in_flight: usize) -> Self {
        Self {
            lookup,
            timeout,
            max_in_flight,
            in_flight: Arc::new(AtomicUsize::new(0)),
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The address `endpoint` stands for: itself when it is literal; for a name, the
    /// remembered answer or a fresh lookup waited for at most the timeout.
    pub fn resolve(&self, endpoint: &Endpoint) -> Option<SocketAddr> {
        if let Some(addr) = endpoint.to_socket_addr() {
            return Some(addr);
        }
        let key = (endpoint.host().to_string(), endpoint.port());
        let now = Instant::now();
        if let Some(answer) = self.answers().get(&key).filter(|a| a.until > now) {
            return answer.addr;
        }
        // Not looked up (too many running): nothing learnt, so nothing to remember.
        let addr = self.look_up(&key.0, key.1)?;
        let ttl = if addr.is_some() {
            RESOLVED_TTL
        } else {
            FAILED_TTL
        };
        let mut answers = self.answers();
        if answers.len() >= MAX_REMEMBERED {
            answers.retain(|_, answer| answer.until > now);
            if answers.len() >= MAX_REMEMBERED {
                answers.clear();
            }
        }
        answers.insert(
            key,
            Answer {
                addr,
                until: now + ttl,
            },
        );
        addr
    }

    fn answers(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u16), Answer>> {
        self.answers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One lookup on a worker thread: `Some(None)` when it fails or takes too long, `None`
    /// when it was not started (too many running, or no thread).
    fn look_up(&self, host: &str, port: u16) -> Option<Option<SocketAddr>> {
        let claimed = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_in_flight).then_some(n + 1)
            });
        if claimed.is_err() {
            tracing::debug!(
                host,
                "not resolving now: too many lookups are still running"
            );
            return None;
        }
        let (send, receive) = mpsc::sync_channel(1);
        let lookup = Arc::clone(&self.lookup);
        let in_flight = Arc::clone(&self.in_flight);
        let owned = host.to_owned();
        let spawned = std::thread::Builder::new()
            .name("wiremesh-resolve".into())
            .spawn(move || {
                let addr = lookup(&owned, port);
                in_flight.fetch_sub(1, Ordering::AcqRel);
                let _ = send.send(addr);
            });
        if spawned.is_err() {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        match receive.recv_timeout(self.timeout) {
            Ok(addr) => Some(addr),
            Err(_) => {
                tracing::warn!(
                    host,
                    "resolving an endpoint's name took longer than {:?}; skipping it",
                    self.timeout
                );
                Some(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    fn endpoint(text: &str) -> Endpoint {
        text.parse().unwrap()
    }

    /// A lookup that counts its calls and answers 192.0.2.1 for `good.example`.
    fn counting() -> (Lookup, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let lookup: Lookup = Arc::new(move |host: &str, port: u16| {
            counted.fetch_add(1, Ordering::SeqCst);
            (host == "good.example").then(|| SocketAddr::from(([192, 0, 2, 1], port)))
        });
        (lookup, calls)
    }

    #[test]
    fn literal_addresses_are_never_looked_up() {
        let (lookup, calls) = counting();
        let resolver = BoundedResolver::new(lookup, Duration::from_secs(1), 4);
        assert_eq!(
            resolver.resolve(&endpoint("198.51.100.1:51820")),
            Some("198.51.100.1:51820".parse().unwrap())
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn answers_and_failures_are_remembered() {
        let (lookup, calls) = counting();
        let resolver = BoundedResolver::new(lookup, Duration::from_secs(5), 4);
        let good = endpoint("good.example:51820");
        let bad = endpoint("bad.example:51820");
        for _ in 0..3 {
            assert_eq!(
                resolver.resolve(&good),
                Some("192.0.2.1:51820".parse().unwrap())
            );
            assert_eq!(resolver.resolve(&bad), None);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one lookup per name");
    }

    /// A name whose lookup never finishes costs one timeout, is then remembered as failed,
    /// and the lookups still running are bounded: beyond the bound a name fails without a
    /// lookup (and without waiting).
    #[test]
    fn a_hanging_name_is_given_up_on_and_lookups_are_bounded() {
        let release = Arc::new(Barrier::new(3));
        let calls = Arc::new(AtomicUsize::new(0));
        let (held, counted) = (Arc::clone(&release), Arc::clone(&calls));
        let lookup: Lookup = Arc::new(move |host: &str, _: u16| {
            counted.fetch_add(1, Ordering::SeqCst);
            if host != "slow3.example" {
                held.wait();
            }
            None
        });
        let resolver = BoundedResolver::new(lookup, Duration::from_millis(20), 2);
        assert_eq!(resolver.resolve(&endpoint("slow1.example:1")), None);
        assert_eq!(resolver.resolve(&endpoint("slow1.example:1")), None);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "remembered as failed");
        assert_eq!(resolver.resolve(&endpoint("slow2.example:1")), None);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Both workers still hang: a third name is not looked up at all, nor remembered.
        assert_eq!(resolver.resolve(&endpoint("slow3.example:1")), None);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "bounded");
        release.wait();
        while resolver.in_flight.load(Ordering::SeqCst) > 0 {
            std::thread::yield_now();
        }
        assert_eq!(resolver.resolve(&endpoint("slow3.example:1")), None);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "looked up once there is room"
        );
        assert_eq!(resolver.resolve(&endpoint("slow3.example:1")), None);
        assert_eq!(calls.load(Ordering::SeqCst), 3, "and remembered as failed");
    }
}
