//! IP allocation inside a leaf CIDR: which addresses are assignable, and the first free one.
//!
//! An address is assignable when it lies in the CIDR and is not the network address, nor
//! (IPv4) the broadcast address — except in IPv4 /31 and /32 and IPv6 /127 and /128, where
//! every address is a host address (compat §1.10).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Why an address cannot be given to a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    #[error("CIDR {cidr} is full: every assignable address is taken")]
    Full { cidr: IpNet },
    #[error("{ip} is not inside CIDR {cidr}")]
    OutsideCidr { ip: IpAddr, cidr: IpNet },
    #[error("{ip} is the network address of {cidr}, not a host address")]
    NetworkAddress { ip: IpAddr, cidr: IpNet },
    #[error("{ip} is the broadcast address of {cidr}, not a host address")]
    BroadcastAddress { ip: IpAddr, cidr: IpNet },
    #[error("{ip} is already taken by another peer")]
    InUse { ip: IpAddr },
    #[error(
        "{ip} belonged to a deleted peer: clients remember which key they saw at an address, \
         so it is never given to another key"
    )]
    Consumed { ip: IpAddr },
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(value: u128, like: &IpNet) -> IpAddr {
    match like {
        // Callers only pass values inside an IPv4 network, so the cast never truncates.
        IpNet::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
        IpNet::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Checks that `ip` is a host address of `cidr` (ignoring whether it is used).
pub fn check_assignable(cidr: &IpNet, ip: IpAddr) -> Result<(), AllocError> {
    let net = cidr.trunc();
    if !net.contains(&ip) {
        return Err(AllocError::OutsideCidr { ip, cidr: *cidr });
    }
    let point_to_point = match net {
        IpNet::V4(v4) => v4.prefix_len() >= 31,
        IpNet::V6(v6) => v6.prefix_len() >= 127,
    };
    if point_to_point {
        return Ok(());
    }
    if ip == net.network() {
        return Err(AllocError::NetworkAddress { ip, cidr: *cidr });
    }
    if matches!(net, IpNet::V4(_)) && ip == net.broadcast() {
        return Err(AllocError::BroadcastAddress { ip, cidr: *cidr });
    }
    Ok(())
}

/// Checks that `ip` may be given to a new peer in `cidr`, given the addresses in use.
pub fn check_peer_ip(cidr: &IpNet, ip: IpAddr, used: &HashSet<IpAddr>) -> Result<(), AllocError> {
    check_assignable(cidr, ip)?;
    if used.contains(&ip) {
        return Err(AllocError::InUse { ip });
    }
    Ok(())
}

/// The lowest assignable address of `cidr` that is not in `used`.
///
/// Runs in O(|used ∩ cidr|): the first free address is at most that many steps from the
/// start, so even an IPv6 /64 is cheap.
pub fn first_free_ip(cidr: &IpNet, used: &HashSet<IpAddr>) -> Result<IpAddr, AllocError> {
    let net = cidr.trunc();
    let first = to_u128(net.network());
    let last = to_u128(net.broadcast());
    let mut candidate = first;
    loop {
        let ip = from_u128(candidate, &net);
        if check_assignable(&net, ip).is_ok() && !used.contains(&ip) {
            return Ok(ip);
        }
        if candidate == last {
            return Err(AllocError::Full { cidr: *cidr });
        }
        candidate += 1;
    }
}

#[cfg(test)]
#[path = "alloc_tests.rs"]
mod tests;
