//! Tests of IP allocation: table cases and a property test against a naive scan.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn used(list: &[&str]) -> HashSet<IpAddr> {
    list.iter().map(|s| ip(s)).collect()
}

fn check(cidr: &str, taken: &[&str], expected: Result<&str, AllocError>) {
    let got = first_free_ip(&net(cidr), &used(taken));
    assert_eq!(got, expected.map(ip), "{cidr} with {taken:?}");
}

#[test]
fn first_free_skips_network_broadcast_and_used() {
    check("10.66.1.0/24", &[], Ok("10.66.1.1"));
    check("10.66.1.0/24", &["10.66.1.1", "10.66.1.2"], Ok("10.66.1.3"));
    check("10.66.1.0/24", &["10.66.1.2"], Ok("10.66.1.1"));
    check("10.66.1.0/30", &["10.66.1.1"], Ok("10.66.1.2"));
    check(
        "10.66.1.0/30",
        &["10.66.1.1", "10.66.1.2"],
        Err(AllocError::Full {
            cidr: net("10.66.1.0/30"),
        }),
    );
    check("10.66.1.0/31", &[], Ok("10.66.1.0"));
    check("10.66.1.0/31", &["10.66.1.0"], Ok("10.66.1.1"));
    check("10.80.0.1/32", &[], Ok("10.80.0.1"));
    check(
        "10.80.0.1/32",
        &["10.80.0.1"],
        Err(AllocError::Full {
            cidr: net("10.80.0.1/32"),
        }),
    );
    check("fd00:1337::/64", &[], Ok("fd00:1337::1"));
    check(
        "fd00:1337::/126",
        &["fd00:1337::1", "fd00:1337::2"],
        Ok("fd00:1337::3"),
    );
    check(
        "fd00:1337::/126",
        &["fd00:1337::1", "fd00:1337::2", "fd00:1337::3"],
        Err(AllocError::Full {
            cidr: net("fd00:1337::/126"),
        }),
    );
    check("fd00:1337::/127", &[], Ok("fd00:1337::"));
    check(
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
        &["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"],
        Ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    );
    check(
        "255.255.255.254/31",
        &["255.255.255.254", "255.255.255.255"],
        Err(AllocError::Full {
            cidr: net("255.255.255.254/31"),
        }),
    );
    // Addresses used outside the CIDR do not matter.
    check("10.66.2.0/24", &["10.66.1.1"], Ok("10.66.2.1"));
}

#[test]
fn checks_explicit_addresses() {
    let c = net("10.66.1.0/24");
    assert_eq!(check_peer_ip(&c, ip("10.66.1.5"), &used(&[])), Ok(()));
    assert!(matches!(
        check_peer_ip(&c, ip("10.66.2.5"), &used(&[])),
        Err(AllocError::OutsideCidr { .. })
    ));
    assert!(matches!(
        check_peer_ip(&c, ip("10.66.1.0"), &used(&[])),
        Err(AllocError::NetworkAddress { .. })
    ));
    assert!(matches!(
        check_peer_ip(&c, ip("10.66.1.255"), &used(&[])),
        Err(AllocError::BroadcastAddress { .. })
    ));
    assert!(matches!(
        check_peer_ip(&c, ip("10.66.1.5"), &used(&["10.66.1.5"])),
        Err(AllocError::InUse { .. })
    ));
    assert!(matches!(
        check_peer_ip(&c, ip("fd00::1"), &used(&[])),
        Err(AllocError::OutsideCidr { .. })
    ));
    let v6 = net("fd00:1337::/64");
    assert!(matches!(
        check_peer_ip(&v6, ip("fd00:1337::"), &used(&[])),
        Err(AllocError::NetworkAddress { .. })
    ));
    // IPv6 has no broadcast address.
    assert_eq!(
        check_peer_ip(&v6, ip("fd00:1337::ffff:ffff:ffff:ffff"), &used(&[])),
        Ok(())
    );
    let full = AllocError::Full {
        cidr: net("10.66.1.0/30"),
    };
    assert_eq!(
        full.to_string(),
        "CIDR 10.66.1.0/30 is full: every assignable address is taken"
    );
}

/// The naive reference: scan every address of the network in order, with the
/// assignability rule spelled out in compat §1.10.
fn naive_first_free(cidr: &IpNet, taken: &HashSet<IpAddr>) -> Option<IpAddr> {
    let hosts: Vec<IpAddr> = match cidr.trunc() {
        IpNet::V4(v4) => {
            let (lo, hi) = (u32::from(v4.network()), u32::from(v4.broadcast()));
            (lo..=hi)
                .filter(|&a| v4.prefix_len() >= 31 || (a != lo && a != hi))
                .map(|a| IpAddr::V4(a.into()))
                .collect()
        }
        IpNet::V6(v6) => {
            let (lo, hi) = (u128::from(v6.network()), u128::from(v6.broadcast()));
            (lo..=hi)
                .filter(|&a| v6.prefix_len() >= 127 || a != lo)
                .map(|a| IpAddr::V6(a.into()))
                .collect()
        }
    };
    hosts.into_iter().find(|a| !taken.contains(a))
}

fn arb_case(v6: bool) -> impl Strategy<Value = (IpNet, HashSet<IpAddr>)> {
    let prefix = if v6 { 120u8..=128 } else { 24u8..=32 };
    (
        any::<u128>(),
        prefix,
        prop::collection::vec(any::<u16>(), 0..300),
    )
        .prop_map(move |(base, prefix, offsets)| {
            let net = if v6 {
                IpNet::V6(
                    ipnet::Ipv6Net::new(Ipv6Addr::from(base), prefix)
                        .unwrap()
                        .trunc(),
                )
            } else {
                IpNet::V4(
                    ipnet::Ipv4Net::new(Ipv4Addr::from(base as u32), prefix)
                        .unwrap()
                        .trunc(),
                )
            };
            let size = 1u128 << (if v6 { 128 } else { 32 } - prefix as u32);
            let start = to_u128(net.network());
            let taken = offsets
                .iter()
                .map(|&o| from_u128(start + (o as u128 % size), &net))
                .collect();
            (net, taken)
        })
}

#[test]
fn allocation_matches_naive_scan() {
    for v6 in [false, true] {
        let config = Config {
            cases: 500,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
        runner
            .run(&arb_case(v6), |(net, taken)| {
                let got = first_free_ip(&net, &taken).ok();
                prop_assert_eq!(got, naive_first_free(&net, &taken));
                if let Some(ip) = got {
                    prop_assert_eq!(check_peer_ip(&net, ip, &taken), Ok(()));
                }
                Ok(())
            })
            .unwrap();
    }
}
