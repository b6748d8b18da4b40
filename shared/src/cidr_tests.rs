//! Tests of the CIDR rules: the scenarios of compat §11.2 and a property test against a naive
//! interval-arithmetic reference, for IPv4 and IPv6.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::*;
use crate::fixture::*;

fn contents(name: &str, cidr: &str, parent: Option<CidrId>) -> CidrContents {
    CidrContents {
        name: name.to_owned(),
        cidr: cidr.parse().unwrap(),
        parent,
    }
}

fn check_new(
    fx: &Fixture,
    name: &str,
    v4: &str,
    v6: &str,
    parent: Option<CidrId>,
) -> Result<(), CidrError> {
    check_new_cidr(
        &fx.cidrs,
        &fx.peers,
        &contents(name, fx.family.pick(v4, v6), parent),
    )
}

#[test]
fn accepts_valid_children() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        assert_eq!(
            check_new(
                &fx,
                "experimental",
                "10.81.0.0/16",
                "fd00:1337::4:0:0:0/80",
                Some(ROOT)
            ),
            Ok(())
        );
        let exp = fx.add_cidr(
            "experimental",
            family.pick("10.81.0.0/16", "fd00:1337::4:0:0:0/80"),
            Some(ROOT),
        );
        assert_eq!(
            check_new(
                &fx,
                "sub",
                "10.81.0.0/17",
                "fd00:1337::4:0:0:0/81",
                Some(exp)
            ),
            Ok(())
        );
        // A child covering all of its parent is fine.
        assert_eq!(
            check_new(
                &fx,
                "all",
                "10.81.0.0/16",
                "fd00:1337::4:0:0:0/80",
                Some(exp)
            )
            .unwrap_err(),
            CidrError::DuplicateNetwork {
                cidr: family
                    .pick("10.81.0.0/16", "fd00:1337::4:0:0:0/80")
                    .parse()
                    .unwrap(),
                existing: "experimental".into()
            }
        );
    }
}

#[test]
fn rejects_each_broken_rule() {
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        let err = |name, v4, v6, parent| check_new(&fx, name, v4, v6, parent).unwrap_err();
        assert!(matches!(
            err(
                "developer",
                "10.81.0.0/16",
                "fd00:1337::4:0:0:0/80",
                Some(ROOT)
            ),
            CidrError::DuplicateName { .. }
        ));
        assert!(matches!(
            err("x", "10.80.1.0/24", "fd00:1337::1:0:0:0/80", Some(ROOT)),
            CidrError::DuplicateNetwork { .. }
        ));
        assert!(matches!(
            err("x", "10.81.0.5/16", "fd00:1337::4:0:0:5/80", Some(ROOT)),
            CidrError::HostBitsSet { .. }
        ));
        assert!(matches!(
            err("x", "10.90.0.0/16", "fd00:1338::/64", None),
            CidrError::SecondRoot { .. }
        ));
        assert!(matches!(
            err(
                "x",
                "10.81.0.0/16",
                "fd00:1337::4:0:0:0/80",
                Some(CidrId(99))
            ),
            CidrError::ParentNotFound { .. }
        ));
        assert!(matches!(
            err("x", "10.90.0.0/16", "fd00:1338::/80", Some(ROOT)),
            CidrError::NotInsideParent { .. }
        ));
        // Sibling instead of the closest container (compat §11.2 #19).
        assert!(matches!(
            err("x", "10.80.1.0/25", "fd00:1337::1:0:0:0/81", Some(ROOT)),
            CidrError::NotClosestParent { .. }
        ));
        // The admin CIDR holds a peer, so it cannot get children.
        assert!(matches!(
            err("x", "10.80.1.0/25", "fd00:1337::1:0:0:0/81", Some(ADMIN)),
            CidrError::ParentHasPeers { peers: 1, .. }
        ));
        // Overlapping existing siblings (compat §11.2 #19: 10.80.1.0/21).
        assert!(matches!(
            err("x", "10.80.0.0/21", "fd00:1337::/78", Some(ROOT)),
            CidrError::OverlapsSibling { .. }
        ));
        assert!(matches!(
            err("", "10.81.0.0/16", "fd00:1337::4:0:0:0/80", Some(ROOT)),
            CidrError::BadName { .. }
        ));
        assert!(matches!(
            err("a b", "10.81.0.0/16", "fd00:1337::4:0:0:0/80", Some(ROOT)),
            CidrError::BadName { .. }
        ));
        // Wrong family entirely.
        assert!(matches!(
            err("x", "fd00:9::/64", "10.81.0.0/16", Some(ROOT)),
            CidrError::NotInsideParent { .. }
        ));
    }
}

#[test]
fn error_messages_read_as_advice() {
    let fx = Fixture::new(Family::V4);
    let err = check_new(&fx, "x", "10.81.0.5/16", "", Some(ROOT)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid CIDR 10.81.0.5/16: host bits are set, did you mean 10.81.0.0/16?"
    );
    let err = check_new(&fx, "x", "10.80.1.0/25", "", Some(ROOT)).unwrap_err();
    assert_eq!(err.to_string(), "CIDR 10.80.1.0/25 must have \"admin\" (10.80.1.0/24) as its parent, the closest CIDR containing it");
}

#[test]
fn delete_rules() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        let del = |fx: &Fixture, id| {
            check_delete_cidr(&fx.cidrs, &fx.peers, &fx.associations, &fx.roles, id)
        };
        assert!(matches!(del(&fx, ROOT), Err(CidrError::Protected { .. })));
        assert!(matches!(del(&fx, INFRA), Err(CidrError::Protected { .. })));
        assert!(matches!(
            del(&fx, DEVELOPER),
            Err(CidrError::HasPeers { peers: 2, .. })
        ));
        assert!(matches!(
            del(&fx, CidrId(77)),
            Err(CidrError::NotFound { .. })
        ));
        let exp = fx.add_cidr(
            "experimental",
            family.pick("10.81.0.0/16", "fd00:1337::4:0:0:0/80"),
            Some(ROOT),
        );
        let sub = fx.add_cidr(
            "sub",
            family.pick("10.81.0.0/17", "fd00:1337::4:0:0:0/81"),
            Some(exp),
        );
        assert!(matches!(
            del(&fx, exp),
            Err(CidrError::HasChildren { children: 1, .. })
        ));
        fx.associate(sub, DEVELOPER);
        assert!(matches!(
            del(&fx, sub),
            Err(CidrError::HasAssociations {
                associations: 1,
                ..
            })
        ));
        fx.associations.clear();
        assert_eq!(del(&fx, sub), Ok(()));
    }
}

#[test]
fn tree_queries() {
    let fx = Fixture::new(Family::V6);
    let tree = CidrTree::new(&fx.cidrs);
    assert_eq!(tree.root().unwrap().id, ROOT);
    assert_eq!(tree.children(ROOT), &[INFRA, ADMIN, DEVELOPER, USER]);
    assert_eq!(tree.ancestors_or_self(USER), vec![USER, ROOT]);
    assert_eq!(tree.depth(USER), 1);
    assert_eq!(
        tree.leaves().map(|c| c.id).collect::<Vec<_>>(),
        vec![INFRA, ADMIN, DEVELOPER, USER]
    );
    assert_eq!(tree.descendants_or_self(ROOT).len(), 5);
    // A cycle in corrupt data must not hang.
    let mut broken = fx.cidrs.clone();
    broken[0].contents.parent = Some(USER);
    let tree = CidrTree::new(&broken);
    assert_eq!(tree.ancestors_or_self(USER), vec![USER, ROOT]);
}

// ---- property test against a naive reference built on plain integer intervals ----

fn range(net: &IpNet) -> (u128, u128, bool) {
    let t = net.trunc();
    let (lo, hi) = match (t.network(), t.broadcast()) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
            (u32::from(a) as u128, u32::from(b) as u128)
        }
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => unreachable!(),
    };
    (lo, hi, matches!(net, IpNet::V6(_)))
}

fn inside(outer: &IpNet, inner: &IpNet) -> bool {
    let (olo, ohi, o6) = range(outer);
    let (ilo, ihi, i6) = range(inner);
    o6 == i6 && olo <= ilo && ihi <= ohi
}

fn intersect(a: &IpNet, b: &IpNet) -> bool {
    let (alo, ahi, a6) = range(a);
    let (blo, bhi, b6) = range(b);
    a6 == b6 && alo <= bhi && blo <= ahi
}

fn naive_allowed(fx: &Fixture, new: &CidrContents) -> bool {
    if new.cidr.trunc() != new.cidr || new.name.is_empty() {
        return false;
    }
    if fx
        .cidrs
        .iter()
        .any(|c| c.name == new.name || range(&c.cidr) == range(&new.cidr))
    {
        return false;
    }
    let Some(parent_id) = new.parent else {
        return fx.cidrs.is_empty();
    };
    let Some(parent) = fx.cidrs.iter().find(|c| c.id == parent_id) else {
        return false;
    };
    if !inside(&parent.cidr, &new.cidr) || fx.peers.iter().any(|p| p.cidr_id == parent_id) {
        return false;
    }
    let closest = fx
        .cidrs
        .iter()
        .filter(|c| inside(&c.cidr, &new.cidr))
        .max_by_key(|c| c.cidr.prefix_len())
        .map(|c| c.id);
    if closest != Some(parent_id) {
        return false;
    }
    !fx.cidrs
        .iter()
        .any(|c| c.parent == new.parent && intersect(&c.cidr, &new.cidr))
}

/// Grows a network by proposing random CIDRs near the root; accepted ones are added.
fn grow(family: Family, proposals: &[(u16, u8, u8, bool)]) -> Result<(), TestCaseError> {
    let mut fx = Fixture::empty(family);
    let root = family.pick("10.0.0.0/16", "fd00::/112");
    fx.add_cidr("root", root, None);
    let base = range(&root.parse().unwrap()).0;
    let width = 16u8;
    for (i, &(offset, extra_prefix, parent_pick, with_peer)) in proposals.iter().enumerate() {
        let max = if matches!(family, Family::V4) {
            32
        } else {
            128
        };
        let prefix = (max - width + 1 + extra_prefix % (width - 1)).min(max);
        let addr = base + offset as u128;
        let net: IpNet = match family {
            Family::V4 => IpNet::V4(ipnet::Ipv4Net::new((addr as u32).into(), prefix).unwrap()),
            Family::V6 => IpNet::V6(ipnet::Ipv6Net::new(addr.into(), prefix).unwrap()),
        };
        // Mostly well-formed networks, sometimes with host bits.
        let net = if offset % 7 == 0 { net } else { net.trunc() };
        let parent = fx.cidrs[parent_pick as usize % fx.cidrs.len()].id;
        let new = CidrContents {
            name: format!("c{i}"),
            cidr: net,
            parent: Some(parent),
        };
        let got = check_new_cidr(&fx.cidrs, &fx.peers, &new);
        prop_assert_eq!(
            got.is_ok(),
            naive_allowed(&fx, &new),
            "{:?} -> {:?}",
            new,
            got
        );
        if got.is_ok() {
            let id = fx.add_cidr(&new.name, &net.to_string(), Some(parent));
            if with_peer {
                let ip = net.hosts().next().unwrap_or(net.network());
                fx.add_peer(&format!("p{i}"), &ip.to_string(), id);
            }
        }
    }
    Ok(())
}

#[test]
fn cidr_rules_match_naive_reference() {
    for family in Family::BOTH {
        let config = Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
        let strategy = prop::collection::vec(
            (
                any::<u16>(),
                any::<u8>(),
                any::<u8>(),
                prop::bool::weighted(0.3),
            ),
            1..40,
        );
        runner
            .run(&strategy, |proposals| grow(family, &proposals))
            .unwrap();
    }
}
