//! Tests of the ACL: the scenarios of compat §5/§11.2 and a property test against a naive
//! reference, for IPv4 and IPv6.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::*;
use crate::fixture::*;
use ipnet::IpNet;

fn check(fx: &Fixture, viewer: PeerId, expected: &[PeerId]) {
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(
        fx.visible_ids(viewer),
        expected,
        "viewer {viewer} ({:?})",
        fx.family
    );
}

#[test]
fn peers_see_own_cidr_and_the_server() {
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        check(&fx, DEVELOPER1, &[SERVER, DEVELOPER1, DEVELOPER2]);
        check(&fx, USER1, &[SERVER, USER1, USER2]);
        // Admin status gives no extra visibility in the state.
        check(&fx, ADMIN_PEER, &[SERVER, ADMIN_PEER]);
        // The server sees only its own infra CIDR unless associated.
        check(&fx, SERVER, &[SERVER]);
    }
}

#[test]
fn associations_work_both_ways_and_through_ancestors() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        let f = family;
        let experimental = fx.add_cidr(
            "experimental",
            f.pick("10.81.0.0/16", "fd00:1337::4:0:0:0/80"),
            Some(ROOT),
        );
        let sub = fx.add_cidr(
            "sub",
            f.pick("10.81.0.0/17", "fd00:1337::4:0:0:0/81"),
            Some(experimental),
        );
        let experiment_peer = fx.add_peer(
            "experiment-peer",
            f.pick("10.81.0.1", "fd00:1337::4:0:0:1"),
            sub,
        );
        // Before any association the sub peer sees only itself and the server.
        check(&fx, experiment_peer, &[SERVER, experiment_peer]);
        fx.associate(DEVELOPER, experimental);
        fx.associate(INFRA, experimental);
        // Compat §11.2 scenario 7: both sides see each other through the parent's association.
        check(
            &fx,
            DEVELOPER1,
            &[SERVER, DEVELOPER1, DEVELOPER2, experiment_peer],
        );
        check(
            &fx,
            experiment_peer,
            &[SERVER, DEVELOPER1, DEVELOPER2, experiment_peer],
        );
        // The infra association makes the server see the experimental subtree.
        check(&fx, SERVER, &[SERVER, experiment_peer]);
    }
}

#[test]
fn association_with_root_sees_everything() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        fx.associate(ROOT, USER);
        check(
            &fx,
            USER1,
            &[SERVER, ADMIN_PEER, DEVELOPER1, DEVELOPER2, USER1, USER2],
        );
        // Every peer under the root is now associated with USER through its ancestor.
        check(
            &fx,
            DEVELOPER1,
            &[SERVER, DEVELOPER1, DEVELOPER2, USER1, USER2],
        );
    }
}

#[test]
fn disabled_and_unredeemed_peers_are_invisible() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        fx.peer_mut(DEVELOPER2).contents.is_disabled = true;
        check(&fx, DEVELOPER1, &[SERVER, DEVELOPER1]);
        fx.peer_mut(DEVELOPER2).contents.is_disabled = false;
        fx.peer_mut(DEVELOPER2).contents.is_redeemed = false;
        check(&fx, DEVELOPER1, &[SERVER, DEVELOPER1]);
        // A viewer that is itself unredeemed still gets the others (the API decides auth).
        check(&fx, DEVELOPER2, &[SERVER, DEVELOPER1]);
    }
}

#[test]
fn infra_cidr_is_a_role_not_an_id() {
    let mut fx = Fixture::new(Family::V4);
    // Pretend the infra CIDR had another id: the server peer in it stays visible to all
    // only through the role.
    fx.roles = NetworkRoles {
        infra_cidr: ADMIN,
        server_peer: ADMIN_PEER,
    };
    check(&fx, DEVELOPER1, &[ADMIN_PEER, DEVELOPER1, DEVELOPER2]);
}

/// The naive reference: walk *up* from every candidate peer's CIDR and look for a seed.
fn naive_visible(fx: &Fixture, viewer: PeerId) -> Vec<PeerId> {
    let parent_of = |id: CidrId| fx.cidrs.iter().find(|c| c.id == id).and_then(|c| c.parent);
    let ancestors = |id: CidrId| {
        let mut out = vec![id];
        let mut current = id;
        while let Some(parent) = parent_of(current) {
            out.push(parent);
            current = parent;
        }
        out
    };
    let viewer_cidr = fx.peer(viewer).cidr_id;
    let viewer_ancestors = ancestors(viewer_cidr);
    let mut seeds: HashSet<CidrId> = [viewer_cidr, fx.roles.infra_cidr].into_iter().collect();
    for a in &fx.associations {
        if viewer_ancestors.contains(&a.cidr_id_1) {
            seeds.insert(a.cidr_id_2);
        }
        if viewer_ancestors.contains(&a.cidr_id_2) {
            seeds.insert(a.cidr_id_1);
        }
    }
    let mut out: Vec<PeerId> = fx
        .peers
        .iter()
        .filter(|p| p.is_redeemed && !p.is_disabled)
        .filter(|p| ancestors(p.cidr_id).iter().any(|c| seeds.contains(c)))
        .map(|p| p.id)
        .collect();
    out.sort();
    out
}

/// A random tree of up to 14 CIDRs (each child a /+4 subnet of its parent, depth ≤ 5),
/// random peers with random flags and random associations.
fn arb_network(family: Family) -> impl Strategy<Value = Fixture> {
    let parents = prop::collection::vec(any::<prop::sample::Index>(), 1..14);
    let peers = prop::collection::vec(
        (any::<prop::sample::Index>(), any::<bool>(), any::<bool>()),
        0..30,
    );
    let assocs = prop::collection::vec(
        (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        0..8,
    );
    (parents, peers, assocs).prop_map(move |(parents, peers, assocs)| {
        let mut fx = Fixture::empty(family);
        let root: IpNet = family.pick("10.0.0.0/8", "fd00::/48").parse().unwrap();
        fx.add_cidr("root", &root.to_string(), None);
        let mut depth = vec![0usize];
        let mut n_children = vec![0u32];
        for (i, pick) in parents.iter().enumerate() {
            let eligible: Vec<usize> = (0..depth.len())
                .filter(|&c| depth[c] < 5 && n_children[c] < 16)
                .collect();
            let parent = eligible[pick.index(eligible.len())];
            let parent_net = fx.cidrs[parent].cidr;
            let child_net = parent_net
                .subnets(parent_net.prefix_len() + 4)
                .unwrap()
                .nth(n_children[parent] as usize)
                .unwrap();
            n_children[parent] += 1;
            depth.push(depth[parent] + 1);
            n_children.push(0);
            fx.add_cidr(
                &format!("c{i}"),
                &child_net.to_string(),
                Some(fx.cidrs[parent].id),
            );
        }
        // Role: the second CIDR plays infra.
        fx.roles = NetworkRoles {
            infra_cidr: fx.cidrs[1.min(fx.cidrs.len() - 1)].id,
            server_peer: PeerId(1),
        };
        for (i, (cidr, disabled, redeemed)) in peers.iter().enumerate() {
            let cidr = &fx.cidrs[cidr.index(fx.cidrs.len())];
            let ip = cidr.cidr.hosts().nth(i % 3).unwrap_or(cidr.cidr.network());
            let (name, cidr_id) = (format!("p{i}"), cidr.id);
            let id = fx.add_peer(&name, &ip.to_string(), cidr_id);
            fx.peer_mut(id).contents.is_disabled = *disabled;
            fx.peer_mut(id).contents.is_redeemed = *redeemed;
        }
        for (a, b) in assocs {
            let (a, b) = (
                fx.cidrs[a.index(fx.cidrs.len())].id,
                fx.cidrs[b.index(fx.cidrs.len())].id,
            );
            fx.associate(a, b);
        }
        fx
    })
}

#[test]
fn acl_matches_naive_reference() {
    for family in Family::BOTH {
        let config = Config {
            cases: 400,
            failure_persistence: None,
            ..Config::default()
        };
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]);
        let mut runner = TestRunner::new_with_rng(config, rng);
        runner
            .run(&arb_network(family), |fx| {
                for peer in &fx.peers {
                    prop_assert_eq!(fx.visible_ids(peer.id), naive_visible(&fx, peer.id));
                }
                Ok(())
            })
            .unwrap();
    }
}
