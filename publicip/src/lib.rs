//! Discover this host's public IPv4 and IPv6 address by asking well-known DNS resolvers who
//! is calling.
//!
//! Each [`Resolver`] entry is one query: OpenDNS answers `myip.opendns.com` (type A or AAAA)
//! with the caller's address, Cloudflare answers `whoami.cloudflare` (TXT, class CH) with it
//! as text, Quad9 answers `whatismyip.on.quad9.net` like OpenDNS. [`DEFAULT_RESOLVERS`] holds
//! them in the order they are tried; [`PublicIp::with_resolvers`] replaces the list (tests
//! point it at a fake server on 127.0.0.1).
//!
//! ```no_run
//! use std::time::Duration;
//! let (v4, v6) = publicip::get_both(Duration::from_millis(500));
//! println!("ipv4: {v4:?}, ipv6: {v6:?}");
//! ```
//!
//! What it is not: a DNS resolver or client library. It sends one UDP datagram per query from
//! a fresh socket and accepts only a reply that exactly fits the question; there is no TCP
//! retry, no caching and no async runtime (the two families are queried on two threads).
//!
//! Modules:
//! - [`resolver`]: the query table ([`Resolver`], [`DEFAULT_RESOLVERS`]) and [`Family`].
//! - [`message`]: building the query and validating the reply with hickory-proto; pure, no IO.
//! - [`lookup`]: sockets, timeouts, fallback between resolvers, both families at once.
//! - [`error`]: the crate's [`Error`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub mod error;
pub mod lookup;
pub mod message;
pub mod resolver;

pub use error::Error;
pub use lookup::{query, PublicIp, DEFAULT_TIMEOUT};
pub use resolver::{Family, QueryClass, QueryType, Resolver, DEFAULT_RESOLVERS};

/// The public IPv4 address, asking [`DEFAULT_RESOLVERS`] in turn, each within `timeout`.
pub fn get_v4(timeout: Duration) -> Result<Ipv4Addr, Error> {
    PublicIp::new().with_timeout(timeout).get_v4()
}

/// The public IPv6 address, asking [`DEFAULT_RESOLVERS`] in turn, each within `timeout`.
pub fn get_v6(timeout: Duration) -> Result<Ipv6Addr, Error> {
    PublicIp::new().with_timeout(timeout).get_v6()
}

/// Both public addresses, looked up concurrently; `None` where none could be found.
pub fn get_both(timeout: Duration) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    PublicIp::new().with_timeout(timeout).get_both()
}

/// One public address, `prefer`'s family if known, else the other one.
pub fn get_any(prefer: Family, timeout: Duration) -> Option<IpAddr> {
    PublicIp::new().with_timeout(timeout).get_any(prefer)
}
