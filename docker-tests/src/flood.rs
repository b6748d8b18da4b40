//! `wiremesh-e2e flood ADDR COUNT SECONDS`: a hostile peer, for scenario 12. Run inside a
//! peer's namespace, it keeps `COUNT` connections to the API at `ADDR` open for `SECONDS`,
//! each with half a request sent and nothing more, reopening every connection the server
//! closes. Then it stops reopening and waits (at most [`DRAIN`]) for the server to close the
//! rest, and prints one summary line that the scenario reads:
//!
//! `flood: opened N, refused with 429 R, closed by the server C, still open S, longest open L ms, connect failures F`

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

/// How long the server gets to close what is still open once the flood stops.
const DRAIN: Duration = Duration::from_secs(20);
/// New connections opened per round at most (after the first burst), and the round length.
const REOPEN_PER_ROUND: usize = 200;
const ROUND: Duration = Duration::from_millis(100);
/// What each connection sends: a request head cut off before its end.
const HALF_REQUEST: &[u8] = b"GET /v1/user/state HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Serv";

struct Open {
    stream: TcpStream,
    since: Instant,
    answer: Vec<u8>,
}

#[derive(Default)]
struct Tally {
    opened: u64,
    refused: u64,
    closed: u64,
    connect_failures: u64,
    longest: Duration,
}

pub fn main(args: &[String]) -> Result<()> {
    let [addr, count, seconds] = args else {
        bail!("usage: wiremesh-e2e flood ADDR COUNT SECONDS");
    };
    let addr: SocketAddr = addr.parse().context("ADDR")?;
    let mut count: usize = count.parse().context("COUNT")?;
    let seconds: u64 = seconds.parse().context("SECONDS")?;
    let descriptors = raise_descriptor_limit();
    if count as u64 + 64 > descriptors {
        count = descriptors.saturating_sub(64) as usize;
        println!("flood: only {descriptors} descriptors; flooding with {count} connections");
    }

    let mut open: Vec<Open> = Vec::new();
    let mut tally = Tally::default();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut announced = false;
    while Instant::now() < until {
        let burst = if announced { REOPEN_PER_ROUND } else { count };
        let mut opened = 0;
        while open.len() < count && opened < burst && Instant::now() < until {
            match connect(addr) {
                Ok(stream) => {
                    open.push(Open {
                        stream,
                        since: Instant::now(),
                        answer: Vec::new(),
                    });
                    tally.opened += 1;
                }
                Err(_) => tally.connect_failures += 1,
            }
            opened += 1;
        }
        if !announced {
            announced = true;
            println!("flood: holding {} connections", open.len());
        }
        reap(&mut open, &mut tally);
        std::thread::sleep(ROUND);
    }
    println!("flood: stopped reopening with {} open", open.len());
    let drain_until = Instant::now() + DRAIN;
    while !open.is_empty() && Instant::now() < drain_until {
        reap(&mut open, &mut tally);
        std::thread::sleep(ROUND);
    }
    println!(
        "flood: opened {}, refused with 429 {}, closed by the server {}, still open {}, \
         longest open {} ms, connect failures {}",
        tally.opened,
        tally.refused,
        tally.closed,
        open.len(),
        tally.longest.as_millis(),
        tally.connect_failures
    );
    Ok(())
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    // A refused connection may be closed before this lands: that is fine.
    let _ = stream.write_all(HALF_REQUEST);
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Drops every connection the server closed, counting how.
fn reap(open: &mut Vec<Open>, tally: &mut Tally) {
    let mut buffer = [0u8; 1024];
    open.retain_mut(|connection| loop {
        match connection.stream.read(&mut buffer) {
            Ok(0) => break finished(connection, tally),
            Ok(n) => connection.answer.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break finished(connection, tally),
        }
    });
}

/// Counts a connection the server closed; `false` drops it.
fn finished(connection: &Open, tally: &mut Tally) -> bool {
    tally.closed += 1;
    if connection.answer.starts_with(b"HTTP/1.1 429") {
        tally.refused += 1;
    }
    tally.longest = tally.longest.max(connection.since.elapsed());
    false
}

/// Raises this process's soft descriptor limit to the hard one; returns the soft limit.
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into `limit`; setrlimit reads it.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let hard = limit.rlim_max.min(1 << 20);
        if limit.rlim_cur < hard {
            limit.rlim_cur = hard;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            }
        }
    }
    limit.rlim_cur
}
