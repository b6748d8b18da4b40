//! One simulated daemon, behaving towards the server as the wiremesh daemon's change watcher
//! does: the full state once (`/v2/user/state` without a position), its NAT candidates
//! reported once, then `/v2` long polls (`wait=55`, a 65 s timeout) from the last answer's
//! epoch and revision; after an error it keeps its position and retries with backoff (1 s,
//! doubling, at most 30 s) on a new connection.
//!
//! It does not keep the state it is sent. It follows only what the benchmark asks about: two
//! marker peers (present or not, by their public key in an answer's peers and their id in its
//! `removed`), when it first saw each change, and counts of answers, full states and bytes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memchr::memmem::Finder;
use tokio::sync::Semaphore;

use super::http::{self, Conn};

/// How long the server may hold a long poll, and the client's timeout for it (as the daemon).
const WAIT_SECS: u64 = 55;
const TIMEOUT: Duration = Duration::from_secs(65);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Changes each daemon watches for.
pub const NEWCOMER_SEEN: usize = 0;
pub const HIDDEN_SEEN: usize = 1;
pub const NEWCOMER_GONE: usize = 2;

/// What every daemon shares with the controller.
pub struct Fleet {
    pub server: SocketAddr,
    pub server_key: String,
    pub base: Instant,
    /// Marker peers: (id, public key) of the newcomer and of the hidden peer.
    pub newcomer: (i64, String),
    pub hidden: (i64, String),
    pub stop: AtomicBool,
    /// Nanoseconds since `base` when the restarted server was started (0: no restart yet).
    pub restart_mark: AtomicU64,
    /// Limits how many daemons fetch their first full state at once (a fleet coming up).
    pub joining: Semaphore,
    pub daemons: Vec<DaemonStats>,
    /// The first few errors, for the log.
    pub error_samples: std::sync::Mutex<Vec<String>>,
}

impl Fleet {
    pub fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    fn error(&self, stats: &DaemonStats, what: impl FnOnce() -> String) {
        stats.errors.fetch_add(1, Ordering::Relaxed);
        let mut samples = self.error_samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() < 20 {
            samples.push(format!("{:.1} s: {}", self.now() as f64 / 1e9, what()));
        }
    }
}

#[derive(Debug, Default)]
pub struct DaemonStats {
    pub answers: AtomicU64,
    pub fulls: AtomicU64,
    pub errors: AtomicU64,
    pub http_bytes: AtomicU64,
    /// Requests sent again at once on a new connection because the server had closed the
    /// kept-alive one (not errors).
    pub stale_retries: AtomicU64,
    /// Nanoseconds since the fleet's base; 0 = not yet.
    pub joined: AtomicU64,
    pub seen: [AtomicU64; 3],
    /// After a restart: when a request was first sent on a connection to the new server, and
    /// when the first answer from it arrived (and whether that answer was a full state).
    pub resent: AtomicU64,
    pub answered_after_restart: AtomicU64,
    pub full_after_restart: AtomicBool,
}

/// Daemon `index`'s NAT candidates, as a JSON array.
pub fn candidates(index: usize) -> String {
    format!(
        "[\"192.168.{}.{}:51820\"]",
        (index / 250) % 250,
        1 + index % 250
    )
}

struct Position {
    epoch: u64,
    revision: u64,
}

/// Runs daemon `index` (address `local`) until the fleet stops.
pub async fn run(fleet: Arc<Fleet>, index: usize, local: Ipv4Addr) {
    let me = &fleet.daemons[index];
    let markers = [
        Finder::new(fleet.newcomer.1.as_bytes()).into_owned(),
        Finder::new(fleet.hidden.1.as_bytes()).into_owned(),
    ];
    // The connection, when it was opened, and whether it has carried an answer already.
    let mut conn: Option<(Conn, u64)> = None;
    let mut reused = false;
    let mut position: Option<Position> = None;
    let mut backoff = Duration::from_secs(1);
    let mut candidates_reported = false;
    let mut newcomer_present = false;
    let mut hidden_present = false;
    let mut permit = None;
    while !fleet.stop.load(Ordering::Relaxed) {
        if position.is_none() && permit.is_none() {
            permit = fleet.joining.acquire().await.ok();
        }
        let (stream, opened) = match &mut conn {
            Some(c) => c,
            None => match http::connect(local, fleet.server).await {
                Ok(c) => {
                    reused = false;
                    conn.insert((c, fleet.now()))
                }
                Err(e) => {
                    fleet.error(me, || format!("daemon {index}: connect: {e:#}"));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        let opened = *opened;
        let path = match &position {
            None => "/v2/user/state?wait=0".to_owned(),
            Some(p) => format!(
                "/v2/user/state?epoch={}&revision={}&wait={WAIT_SECS}",
                p.epoch, p.revision
            ),
        };
        let mark = fleet.restart_mark.load(Ordering::Relaxed);
        let after_restart = mark != 0 && opened >= mark;
        if after_restart && me.resent.load(Ordering::Relaxed) == 0 {
            me.resent.store(fleet.now(), Ordering::Relaxed);
        }
        let asked = tokio::time::timeout(
            TIMEOUT,
            http::request(stream, "GET", &path, &fleet.server_key, b"", &markers),
        )
        .await;
        let answer = match asked {
            Ok(Ok(answer)) if answer.status == 200 => answer,
            Ok(Err(e)) if reused && e.is::<http::ClosedBeforeAnswer>() => {
                me.stale_retries.fetch_add(1, Ordering::Relaxed);
                conn = None;
                continue;
            }
            other => {
                match &other {
                    Ok(Ok(answer)) => {
                        me.http_bytes.fetch_add(answer.bytes, Ordering::Relaxed);
                        fleet.error(me, || format!("daemon {index}: status {}", answer.status));
                    }
                    Ok(Err(e)) => fleet.error(me, || format!("daemon {index}: {e:#}")),
                    Err(_) => fleet.error(me, || format!("daemon {index}: timed out")),
                }
                if after_restart && me.answered_after_restart.load(Ordering::Relaxed) == 0 {
                    me.resent.store(0, Ordering::Relaxed);
                }
                conn = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        reused = true;
        let now = fleet.now();
        me.answers.fetch_add(1, Ordering::Relaxed);
        me.http_bytes.fetch_add(answer.bytes, Ordering::Relaxed);
        let (Some(epoch), Some(revision)) = (
            http::number_field(&answer.head, "epoch"),
            http::number_field(&answer.head, "revision"),
        ) else {
            fleet.error(me, || format!("daemon {index}: no epoch or revision"));
            conn = None;
            continue;
        };
        let full = http::flag_field(&answer.head, "full");
        if full {
            me.fulls.fetch_add(1, Ordering::Relaxed);
            newcomer_present = answer.hits & 1 != 0;
            hidden_present = answer.hits & 2 != 0;
        } else {
            let removed = http::removed_ids(answer.body().unwrap_or(&answer.tail));
            if answer.hits & 1 != 0 {
                newcomer_present = true;
            } else if removed.contains(&fleet.newcomer.0) {
                newcomer_present = false;
            }
            if answer.hits & 2 != 0 {
                hidden_present = true;
            } else if removed.contains(&fleet.hidden.0) {
                hidden_present = false;
            }
        }
        let record = |slot: usize| {
            let _ = me.seen[slot].compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        };
        if newcomer_present {
            record(NEWCOMER_SEEN);
        } else if me.seen[NEWCOMER_SEEN].load(Ordering::Relaxed) != 0 {
            record(NEWCOMER_GONE);
        }
        if hidden_present {
            record(HIDDEN_SEEN);
        }
        if after_restart && me.answered_after_restart.load(Ordering::Relaxed) == 0 {
            me.full_after_restart.store(full, Ordering::Relaxed);
            me.answered_after_restart.store(now, Ordering::Relaxed);
        }
        position = Some(Position { epoch, revision });
        let close = answer.close;
        if !candidates_reported {
            let body = candidates(index);
            let put = tokio::time::timeout(
                TIMEOUT,
                http::request(
                    stream,
                    "PUT",
                    "/v1/user/candidates",
                    &fleet.server_key,
                    body.as_bytes(),
                    &[],
                ),
            )
            .await;
            match put {
                Ok(Ok(a)) if a.status / 100 == 2 => {
                    me.http_bytes.fetch_add(a.bytes, Ordering::Relaxed);
                    candidates_reported = true;
                    me.joined.store(fleet.now(), Ordering::Relaxed);
                    permit = None;
                }
                Ok(Err(e)) if e.is::<http::ClosedBeforeAnswer>() => {
                    me.stale_retries.fetch_add(1, Ordering::Relaxed);
                    conn = None;
                    continue;
                }
                other => {
                    let what = match other {
                        Ok(Ok(a)) => format!("status {}", a.status),
                        Ok(Err(e)) => format!("{e:#}"),
                        Err(_) => "timed out".to_owned(),
                    };
                    fleet.error(me, || format!("daemon {index}: candidates: {what}"));
                    conn = None;
                    continue;
                }
            }
        }
        if close {
            conn = None;
        }
    }
    drop(permit);
}
