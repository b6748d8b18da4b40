//! Sending the queries: one fresh UDP socket per query, a deadline per query, fallback to the
//! next resolver of the same family, and both families on two threads at once.

use std::fs::File;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::message::{build_query, parse_reply};
use crate::resolver::{Family, Resolver, DEFAULT_RESOLVERS};

/// How long each query waits for its reply unless told otherwise (innernet's value).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Large enough for any UDP DNS reply without EDNS (512 bytes) and then some.
const RECEIVE_BUFFER: usize = 4096;

/// Asks `resolver` once and waits at most `timeout` for a valid reply.
///
/// A datagram with another message id is skipped (a late reply to an earlier query must not
/// end this one); if only such datagrams arrive the error is [`Error::IdMismatch`]. Any other
/// invalid reply ends the query with its error.
pub fn query(resolver: &Resolver, timeout: Duration) -> Result<IpAddr, Error> {
    let server = resolver.addr;
    let id = random_id()?;
    let packet = build_query(resolver, id)?;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)
        .and_then(|socket| socket.connect(server).map(|()| socket))
        .map_err(|source| Error::Socket { server, source })?;
    let deadline = Instant::now() + timeout;
    socket
        .send(&packet)
        .map_err(|source| Error::Send { server, source })?;

    let mut skipped = None;
    let timed_out = |skipped: Option<Error>| skipped.unwrap_or(Error::Timeout { server, timeout });
    let mut buffer = [0u8; RECEIVE_BUFFER];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out(skipped));
        }
        socket
            .set_read_timeout(Some(remaining))
            .map_err(|source| Error::Socket { server, source })?;
        match socket.recv(&mut buffer) {
            Ok(len) => match parse_reply(resolver, id, buffer.get(..len).unwrap_or_default()) {
                Err(err @ Error::IdMismatch { .. }) => skipped = Some(err),
                result => return result,
            },
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out(skipped));
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(Error::Receive { server, source }),
        }
    }
}

/// A random message id, so off-path replies are hard to forge.
fn random_id() -> Result<u16, Error> {
    let mut bytes = [0u8; 2];
    File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut bytes))
        .map_err(|source| Error::Random { source })?;
    Ok(u16::from_ne_bytes(bytes))
}

/// A public address finder: a resolver list and a per-query timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIp {
    resolvers: Vec<Resolver>,
    timeout: Duration,
}

impl Default for PublicIp {
    fn default() -> Self {
        PublicIp::new()
    }
}

impl PublicIp {
    /// [`DEFAULT_RESOLVERS`] with [`DEFAULT_TIMEOUT`].
    pub fn new() -> Self {
        PublicIp::with_resolvers(DEFAULT_RESOLVERS.iter().cloned())
    }

    /// Asks these resolvers instead, in this order within each family.
    pub fn with_resolvers(resolvers: impl IntoIterator<Item = Resolver>) -> Self {
        PublicIp {
            resolvers: resolvers.into_iter().collect(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Waits at most `timeout` for each query's reply.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The resolvers, in the order they are tried.
    pub fn resolvers(&self) -> &[Resolver] {
        &self.resolvers
    }

    /// The per-query timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The public address of `family`: the first valid answer from that family's resolvers,
    /// asked one after the other.
    pub fn get(&self, family: Family) -> Result<IpAddr, Error> {
        let mut errors = Vec::new();
        for resolver in self.resolvers.iter().filter(|r| r.family() == family) {
            match query(resolver, self.timeout) {
                Ok(addr) => return Ok(addr),
                Err(err) => errors.push(err),
            }
        }
        if errors.is_empty() {
            Err(Error::NoResolver { family })
        } else {
            Err(Error::AllFailed { family, errors })
        }
    }

    /// The public IPv4 address.
    pub fn get_v4(&self) -> Result<Ipv4Addr, Error> {
        match self.get(Family::V4)? {
            IpAddr::V4(addr) => Ok(addr),
            // `query` checks the family; kept as an error rather than a panic.
            addr @ IpAddr::V6(_) => Err(self.wrong_family(addr, Family::V4)),
        }
    }

    /// The public IPv6 address.
    pub fn get_v6(&self) -> Result<Ipv6Addr, Error> {
        match self.get(Family::V6)? {
            IpAddr::V6(addr) => Ok(addr),
            addr @ IpAddr::V4(_) => Err(self.wrong_family(addr, Family::V6)),
        }
    }

    fn wrong_family(&self, addr: IpAddr, expected: Family) -> Error {
        let server = self
            .resolvers
            .first()
            .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |r| r.addr);
        Error::WrongFamily {
            server,
            addr,
            expected,
        }
    }

    /// Both addresses, with the reason for each one that is missing; the two families are
    /// looked up concurrently, so this takes as long as the slower of the two.
    pub fn lookup_both(&self) -> (Result<Ipv4Addr, Error>, Result<Ipv6Addr, Error>) {
        thread::scope(|scope| {
            let v6 = thread::Builder::new()
                .name("publicip-v6".to_owned())
                .spawn_scoped(scope, || self.get_v6());
            let v4 = self.get_v4();
            let v6 = match v6 {
                // A panic in the lookup is a bug: pass it on rather than hide it.
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
                // No thread to spare: ask one family after the other.
                Err(_) => self.get_v6(),
            };
            (v4, v6)
        })
    }

    /// Both addresses, `None` where unknown; see [`PublicIp::lookup_both`].
    pub fn get_both(&self) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        let (v4, v6) = self.lookup_both();
        (v4.ok(), v6.ok())
    }

    /// One address: `prefer`'s family if it is known, else the other family's.
    pub fn get_any(&self, prefer: Family) -> Option<IpAddr> {
        let (v4, v6) = self.get_both();
        let (v4, v6) = (v4.map(IpAddr::V4), v6.map(IpAddr::V6));
        match prefer {
            Family::V4 => v4.or(v6),
            Family::V6 => v6.or(v4),
        }
    }
}
