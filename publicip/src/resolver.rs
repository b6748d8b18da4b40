//! The table of DNS queries that reveal the caller's public address.
//!
//! Each entry names the resolver, the question and how the answer carries the address; adding
//! a service is adding a line to [`DEFAULT_RESOLVERS`].

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The other family.
    pub fn other(self) -> Self {
        match self {
            Family::V4 => Family::V6,
            Family::V6 => Family::V4,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        })
    }
}

/// The record type asked for, which decides how the address is read from the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
    /// An IPv4 address record.
    A,
    /// An IPv6 address record.
    Aaaa,
    /// A text record whose text is the address.
    Txt,
}

/// The DNS class asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryClass {
    /// Internet, the usual class.
    In,
    /// Chaos, used by servers for answers about themselves (and Cloudflare's `whoami`).
    Ch,
}

/// One query that reveals the caller's address: where to send it and what to ask.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resolver {
    /// The resolver's UDP address; the query leaves from this address's family.
    pub addr: SocketAddr,
    /// The name asked about, e.g. `myip.opendns.com`.
    pub name: Cow<'static, str>,
    /// The record type asked for.
    pub record_type: QueryType,
    /// The class asked for.
    pub class: QueryClass,
}

impl Resolver {
    /// An entry from its parts; `const` so tables can be static.
    pub const fn new(
        addr: SocketAddr,
        name: &'static str,
        record_type: QueryType,
        class: QueryClass,
    ) -> Self {
        Resolver {
            addr,
            name: Cow::Borrowed(name),
            record_type,
            class,
        }
    }

    /// The family of the address this query discovers: A → IPv4, AAAA → IPv6, and for TXT
    /// the family the query is sent over (the server reports the source it saw).
    pub fn family(&self) -> Family {
        match self.record_type {
            QueryType::A => Family::V4,
            QueryType::Aaaa => Family::V6,
            QueryType::Txt => Family::of(self.addr.ip()),
        }
    }
}

impl fmt::Display for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record_type = match self.record_type {
            QueryType::A => "A",
            QueryType::Aaaa => "AAAA",
            QueryType::Txt => "TXT",
        };
        let class = match self.class {
            QueryClass::In => "IN",
            QueryClass::Ch => "CH",
        };
        write!(f, "{} {class} {record_type} at {}", self.name, self.addr)
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), 53))
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(
        Ipv6Addr::new(a, b, c, d, e, f, g, h),
        53,
        0,
        0,
    ))
}

/// The built-in queries, tried in this order within each family.
pub const DEFAULT_RESOLVERS: &[Resolver] = &[
    // OpenDNS: the address record of myip.opendns.com is the caller's address.
    Resolver::new(
        v4(208, 67, 222, 222),
        "myip.opendns.com",
        QueryType::A,
        QueryClass::In,
    ),
    Resolver::new(
        v6(0x2620, 0x119, 0x35, 0, 0, 0, 0, 0x35),
        "myip.opendns.com",
        QueryType::Aaaa,
        QueryClass::In,
    ),
    // Cloudflare: a CH TXT record whose text is the caller's address.
    Resolver::new(
        v4(1, 1, 1, 1),
        "whoami.cloudflare",
        QueryType::Txt,
        QueryClass::Ch,
    ),
    Resolver::new(
        v6(0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111),
        "whoami.cloudflare",
        QueryType::Txt,
        QueryClass::Ch,
    ),
    // Quad9 (what innernet asks): like OpenDNS.
    Resolver::new(
        v4(9, 9, 9, 9),
        "whatismyip.on.quad9.net",
        QueryType::A,
        QueryClass::In,
    ),
    Resolver::new(
        v6(0x2620, 0xfe, 0, 0, 0, 0, 0, 0xfe),
        "whatismyip.on.quad9.net",
        QueryType::Aaaa,
        QueryClass::In,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_table_families() {
        let families: Vec<(String, Family)> = DEFAULT_RESOLVERS
            .iter()
            .map(|resolver| (resolver.addr.to_string(), resolver.family()))
            .collect();
        let expected = [
            ("208.67.222.222:53", Family::V4),
            ("[2620:119:35::35]:53", Family::V6),
            ("1.1.1.1:53", Family::V4),
            ("[2606:4700:4700::1111]:53", Family::V6),
            ("9.9.9.9:53", Family::V4),
            ("[2620:fe::fe]:53", Family::V6),
        ];
        let expected: Vec<(String, Family)> = expected
            .iter()
            .map(|(addr, family)| (addr.to_string(), *family))
            .collect();
        assert_eq!(families, expected);
        for resolver in DEFAULT_RESOLVERS {
            // Every query is sent over the family it discovers.
            assert_eq!(
                Family::of(resolver.addr.ip()),
                resolver.family(),
                "{resolver}"
            );
        }
    }

    #[test]
    fn display() {
        assert_eq!(
            DEFAULT_RESOLVERS[2].to_string(),
            "whoami.cloudflare CH TXT at 1.1.1.1:53"
        );
        assert_eq!(Family::V6.to_string(), "ipv6");
        assert_eq!(Family::V4.other(), Family::V6);
    }
}
