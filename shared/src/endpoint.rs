//! WireGuard endpoints as written in the API and config files: `host:port`.
//!
//! The host is an IPv4 address, a bracketed IPv6 address (`[2001:db8::1]:51820`) or a DNS
//! name, which is lowercased and checked label by label. Parsing splits at the last `:` and
//! takes the port as any `u16` (so `:0` parses, as it does for innernet). Resolving a name is
//! the caller's job: this module does no IO.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::shorten;

/// Longest DNS name, in bytes, without a trailing dot.
const MAX_DOMAIN_LEN: usize = 253;
/// Longest DNS label, in bytes.
const MAX_LABEL_LEN: usize = 63;

/// The host part of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A literal address.
    Ip(IpAddr),
    /// A DNS name, lowercase, to be resolved by whoever connects.
    Domain(String),
}

/// A `host:port` pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    host: Host,
    port: u16,
}

/// What is wrong with the host part of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostProblem {
    #[error("the host is empty")]
    Empty,
    #[error("an IPv6 address must be written in brackets, like [2001:db8::1]:51820")]
    UnbracketedIpv6,
    #[error("the text in brackets is not an IPv6 address")]
    InvalidIpv6,
    #[error("the name is longer than 253 characters")]
    NameTooLong,
    #[error("the name has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel,
    #[error("a label of the name is longer than 63 characters")]
    LabelTooLong,
    #[error("a label of the name starts or ends with a dash")]
    DashAtLabelEdge,
    #[error("the name contains a character other than letters, digits, dashes and dots")]
    InvalidCharacter,
    #[error("the name ends in a numeric label, but it is not a valid IPv4 address")]
    NumericTopLabel,
}

/// Why a string is not an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("invalid endpoint {input:?}: expected host:port, like 203.0.113.9:51820")]
    MissingPort { input: String },
    #[error("invalid endpoint {input:?}: the port must be a number from 0 to 65535")]
    InvalidPort { input: String },
    #[error("invalid endpoint {input:?}: {problem}")]
    InvalidHost { input: String, problem: HostProblem },
}

impl Host {
    /// The address, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            Host::Domain(_) => None,
        }
    }
}

impl fmt::Display for Host {
    /// The bare host: IPv6 without brackets, names as stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Domain(name) => f.write_str(name),
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        Host::Ip(ip)
    }
}

impl Endpoint {
    /// An endpoint from its parts.
    pub fn new(host: Host, port: u16) -> Self {
        Self { host, port }
    }

    /// The host part.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True for `0.0.0.0:PORT` and `[::]:PORT`: "whatever address the server sees, this port".
    pub fn is_unspecified(&self) -> bool {
        matches!(self.host, Host::Ip(ip) if ip.is_unspecified())
    }

    /// The same port on another address.
    pub fn with_host_ip(&self, ip: IpAddr) -> Endpoint {
        Endpoint {
            host: Host::Ip(ip),
            port: self.port,
        }
    }

    /// The socket address, when the host is an address (names need resolving first).
    pub fn to_socket_addr(&self) -> Option<SocketAddr> {
        self.host.ip().map(|ip| SocketAddr::new(ip, self.port))
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Endpoint {
            host: Host::Ip(addr.ip()),
            port: addr.port(),
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let host_error = |problem| EndpointError::InvalidHost {
            input: shorten(input),
            problem,
        };
        let Some((host, port)) = input.rsplit_once(':') else {
            return Err(EndpointError::MissingPort {
                input: shorten(input),
            });
        };
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EndpointError::InvalidPort {
                input: shorten(input),
            });
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| EndpointError::InvalidPort {
                input: shorten(input),
            })?;
        let host = parse_host(host).map_err(host_error)?;
        Ok(Endpoint { host, port })
    }
}

fn parse_host(host: &str) -> Result<Host, HostProblem> {
    if host.is_empty() {
        return Err(HostProblem::Empty);
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(HostProblem::InvalidIpv6)?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(ip.into()))
            .map_err(|_| HostProblem::InvalidIpv6);
    }
    if host.contains(':') {
        return Err(HostProblem::UnbracketedIpv6);
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(ip.into()));
    }
    parse_domain(host).map(Host::Domain)
}

fn parse_domain(name: &str) -> Result<String, HostProblem> {
    if name.len() > MAX_DOMAIN_LEN {
        return Err(HostProblem::NameTooLong);
    }
    // A fully qualified name's trailing dot is accepted and dropped, as resolvers do.
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    for label in name.split('.') {
        if label.is_empty() {
            return Err(HostProblem::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(HostProblem::LabelTooLong);
        }
        if !label
            .bytes()
            // Underscores are not valid in host names, but they exist in the wild (and innernet
            // accepts them); refusing one would make a whole peer list unreadable.
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(HostProblem::InvalidCharacter);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(HostProblem::DashAtLabelEdge);
        }
    }
    // `1.2.3.999` must not become a name: a numeric last label means "this was meant as IPv4".
    let last = name.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostProblem::NumericTopLabel);
    }
    Ok(name)
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            host => write!(f, "{host}:{}", self.port),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is the endpoint's display form, or the error.
    fn check(input: &str, expected: Result<&str, EndpointError>) {
        let got = input.parse::<Endpoint>().map(|e| e.to_string());
        assert_eq!(got, expected.map(str::to_owned), "input {input:?}");
        if let Ok(display) = got {
            let again: Endpoint = display.parse().unwrap();
            assert_eq!(
                again.to_string(),
                display,
                "display of {input:?} parses back"
            );
        }
    }

    fn port_error(input: &str) -> Result<&'static str, EndpointError> {
        Err(EndpointError::InvalidPort {
            input: shorten(input),
        })
    }

    fn host_error(input: &str, problem: HostProblem) -> Result<&'static str, EndpointError> {
        Err(EndpointError::InvalidHost {
            input: shorten(input),
            problem,
        })
    }

    #[test]
    fn parse_and_display() {
        use HostProblem::*;
        let long_label = format!("{}.com:1", "a".repeat(64));
        let long_name = format!("{}com:1", "abcdefghi.".repeat(26));
        check("1.2.3.4:51820", Ok("1.2.3.4:51820"));
        check("0.0.0.0:0", Ok("0.0.0.0:0"));
        check("1.2.3.4:65535", Ok("1.2.3.4:65535"));
        check("1.2.3.4:051820", Ok("1.2.3.4:51820"));
        check("[2001:db8::1]:51820", Ok("[2001:db8::1]:51820"));
        check("[2001:DB8:0::1]:1", Ok("[2001:db8::1]:1"));
        check("[::]:51820", Ok("[::]:51820"));
        check("vpn.example.com:51820", Ok("vpn.example.com:51820"));
        check("VPN.Example.COM:51820", Ok("vpn.example.com:51820"));
        check("localhost:1", Ok("localhost:1"));
        check("a-b.c0:1", Ok("a-b.c0:1"));
        check(
            "1.2.3.4",
            Err(EndpointError::MissingPort {
                input: "1.2.3.4".into(),
            }),
        );
        check("", Err(EndpointError::MissingPort { input: "".into() }));
        check("1.2.3.4:", port_error("1.2.3.4:"));
        check("1.2.3.4:65536", port_error("1.2.3.4:65536"));
        check("1.2.3.4:+80", port_error("1.2.3.4:+80"));
        check("1.2.3.4:http", port_error("1.2.3.4:http"));
        check("1.2.3.4: 80", port_error("1.2.3.4: 80"));
        check(":51820", host_error(":51820", Empty));
        check(
            "2001:db8::1:51820",
            host_error("2001:db8::1:51820", UnbracketedIpv6),
        );
        check(
            "[2001:db8::1:51820",
            host_error("[2001:db8::1:51820", InvalidIpv6),
        );
        check("[1.2.3.4]:1", host_error("[1.2.3.4]:1", InvalidIpv6));
        check("[]:1", host_error("[]:1", InvalidIpv6));
        check("a b:1", host_error("a b:1", InvalidCharacter));
        check(" a:1", host_error(" a:1", InvalidCharacter));
        check("my_host.lan:1", Ok("my_host.lan:1"));
        check("bücher.de:1", host_error("bücher.de:1", InvalidCharacter));
        check("a..b:1", host_error("a..b:1", EmptyLabel));
        check("example.com.:1", Ok("example.com:1"));
        check("example.com..:1", host_error("example.com..:1", EmptyLabel));
        check(".:1", host_error(".:1", EmptyLabel));
        check(".a:1", host_error(".a:1", EmptyLabel));
        check("-a.com:1", host_error("-a.com:1", DashAtLabelEdge));
        check("a-.com:1", host_error("a-.com:1", DashAtLabelEdge));
        check("1.2.3.256:1", host_error("1.2.3.256:1", NumericTopLabel));
        check("1.2.3:1", host_error("1.2.3:1", NumericTopLabel));
        check(&long_label, host_error(&long_label, LabelTooLong));
        check(&long_name, host_error(&long_name, NameTooLong));
    }

    #[test]
    fn accessors() {
        let v4: Endpoint = "0.0.0.0:51820".parse().unwrap();
        assert!(v4.is_unspecified());
        let v6: Endpoint = "[::]:7".parse().unwrap();
        assert!(v6.is_unspecified());
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let moved = v4.with_host_ip(ip);
        assert_eq!(moved.to_string(), "198.51.100.7:51820");
        assert!(!moved.is_unspecified());
        assert_eq!(moved.to_socket_addr(), Some(SocketAddr::new(ip, 51820)));
        assert_eq!(Endpoint::from(SocketAddr::new(ip, 9)).port(), 9);
        let named: Endpoint = "vpn.example.com:1".parse().unwrap();
        assert_eq!(named.host(), &Host::Domain("vpn.example.com".into()));
        assert_eq!(named.to_socket_addr(), None);
        assert!(!named.is_unspecified());
    }

    #[test]
    fn serde_is_the_display_string() {
        let endpoint: Endpoint = serde_json::from_str("\"[2001:db8::20]:51820\"").unwrap();
        assert_eq!(
            serde_json::to_string(&endpoint).unwrap(),
            "\"[2001:db8::20]:51820\""
        );
        let err = serde_json::from_str::<Endpoint>("\"nope\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid endpoint \"nope\""), "{err}");
    }
}
