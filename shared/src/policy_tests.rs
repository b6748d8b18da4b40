//! Tests of the policy: the definition on the seeded network, rule checks, port parsing, and a
//! property test that the compiled ruleset of every host agrees with [`decide`].

use std::net::IpAddr;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::*;
use crate::acl::NetworkRoles;
use crate::fixture::*;

const API_PORT: u16 = 51820;

fn rule(
    id: i64,
    scope: Scope,
    source: Source,
    destination: Destination,
    protocol: Protocol,
    ports: &str,
) -> Rule {
    Rule {
        id: RuleId(id),
        contents: RuleContents {
            scope,
            source,
            destination,
            protocol,
            ports: if ports.is_empty() {
                Vec::new()
            } else {
                parse_ports(ports).unwrap()
            },
            note: None,
        },
    }
}

fn tcp(src: &Peer, dst: &Peer, port: u16) -> Packet {
    Packet {
        src: src.ip,
        dst: dst.ip,
        transport: Transport::Tcp { port },
    }
}

fn with_transport(src: &Peer, dst: &Peer, transport: Transport) -> Packet {
    Packet {
        src: src.ip,
        dst: dst.ip,
        transport,
    }
}

/// Checks `decide` and the compiled ruleset together, so every scenario also tests `compile`.
fn passes(fx: &Fixture, policy: &Policy, packet: &Packet) -> bool {
    let host = fx.peers.iter().find(|p| p.ip == packet.dst).expect("host");
    let role = if host.id == SERVER {
        HostRole::Server { api_port: API_PORT }
    } else {
        HostRole::Peer
    };
    let verdict = decide(&fx.view(), policy, host, role, packet);
    let compiled = compile(&fx.view(), policy, host, role);
    assert_eq!(
        verdict.allowed(),
        compiled.allows(packet),
        "decide said {verdict:?}, the compiled ruleset {compiled:?} disagrees for {packet:?}"
    );
    verdict.allowed()
}

/// The seeded network with `developer` and `user` associated; returns it and the association.
fn associated(family: Family) -> (Fixture, AssociationId) {
    let mut fx = Fixture::new(family);
    let association = fx.associate(USER, DEVELOPER);
    (fx, association)
}

#[test]
fn without_rules_everything_passes() {
    for family in Family::BOTH {
        let (fx, _) = associated(family);
        let policy = Policy::default();
        let (u, d) = (fx.peer(USER1), fx.peer(DEVELOPER1));
        for port in [22, 80, 65535] {
            assert!(passes(&fx, &policy, &tcp(u, d, port)));
            assert!(passes(&fx, &policy, &tcp(d, u, port)));
        }
        assert!(compile(&fx.view(), &policy, d, HostRole::Peer).is_open());
    }
}

#[test]
fn an_association_rule_narrows_that_association_only() {
    for family in Family::BOTH {
        let (fx, association) = associated(family);
        let policy = Policy {
            rules: vec![
                rule(
                    1,
                    Scope::Association(association),
                    Source::Cidr(USER),
                    Destination::Cidr(DEVELOPER),
                    Protocol::Tcp,
                    "22",
                ),
                rule(
                    2,
                    Scope::Association(association),
                    Source::Any,
                    Destination::Cidr(DEVELOPER),
                    Protocol::Udp,
                    "53",
                ),
            ],
            isolated: Vec::new(),
        };
        let (u, d1, d2) = (fx.peer(USER1), fx.peer(DEVELOPER1), fx.peer(DEVELOPER2));
        assert!(passes(&fx, &policy, &tcp(u, d1, 22)));
        assert!(!passes(&fx, &policy, &tcp(u, d1, 80)));
        assert!(passes(
            &fx,
            &policy,
            &with_transport(u, d1, Transport::Udp { port: 53 })
        ));
        assert!(!passes(
            &fx,
            &policy,
            &with_transport(u, d1, Transport::Udp { port: 54 })
        ));
        // The other direction of the association is restricted too, and no rule opens it.
        assert!(!passes(&fx, &policy, &tcp(d1, u, 22)));
        // Members of developer still reach each other freely: their CIDR has no rules.
        assert!(passes(&fx, &policy, &tcp(d1, d2, 80)));
        let verdict = decide(&fx.view(), &policy, d1, HostRole::Peer, &tcp(u, d1, 22));
        assert_eq!(verdict, Verdict::Rule(RuleId(1)));
        let verdict = decide(&fx.view(), &policy, d1, HostRole::Peer, &tcp(u, d1, 80));
        assert_eq!(
            verdict,
            Verdict::Denied {
                restricted: vec![Scope::Association(association)]
            }
        );
    }
}

#[test]
fn ping_follows_the_rules_on_ipv4_and_always_passes_on_ipv6() {
    for family in Family::BOTH {
        let (fx, association) = associated(family);
        let policy = Policy {
            rules: vec![rule(
                1,
                Scope::Association(association),
                Source::Cidr(USER),
                Destination::Cidr(DEVELOPER),
                Protocol::Tcp,
                "22",
            )],
            isolated: Vec::new(),
        };
        let (u, d) = (fx.peer(USER1), fx.peer(DEVELOPER1));
        let echo = match family {
            Family::V4 => 8,
            Family::V6 => 128,
        };
        let ping = with_transport(u, d, Transport::Icmp { kind: echo });
        assert_eq!(
            passes(&fx, &policy, &ping),
            family == Family::V6,
            "{family:?}"
        );
        // Errors that keep connections working always pass.
        let too_big = match family {
            Family::V4 => 3,
            Family::V6 => 2,
        };
        assert!(passes(
            &fx,
            &policy,
            &with_transport(u, d, Transport::Icmp { kind: too_big })
        ));
        // Neighbour discovery too, on IPv6.
        if family == Family::V6 {
            for kind in [133, 134, 135, 136] {
                assert!(passes(
                    &fx,
                    &policy,
                    &with_transport(u, d, Transport::Icmp { kind })
                ));
            }
        }
        // An ICMP rule opens ping.
        let mut policy = policy;
        policy.rules.push(rule(
            2,
            Scope::Association(association),
            Source::Any,
            Destination::Cidr(DEVELOPER),
            Protocol::Icmp,
            "",
        ));
        assert!(passes(&fx, &policy, &ping));
    }
}

#[test]
fn isolation_closes_a_cidr_to_its_own_members_until_a_rule_opens_it() {
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        let (d1, d2) = (fx.peer(DEVELOPER1), fx.peer(DEVELOPER2));
        let mut policy = Policy {
            rules: Vec::new(),
            isolated: vec![DEVELOPER],
        };
        assert!(!passes(&fx, &policy, &tcp(d1, d2, 22)));
        assert!(!passes(&fx, &policy, &tcp(d2, d1, 22)));
        policy.rules.push(rule(
            7,
            Scope::Cidr(DEVELOPER),
            Source::Peer(DEVELOPER1),
            Destination::Peer(DEVELOPER2),
            Protocol::Tcp,
            "22",
        ));
        assert!(passes(&fx, &policy, &tcp(d1, d2, 22)));
        assert!(!passes(&fx, &policy, &tcp(d2, d1, 22)));
        assert!(!passes(&fx, &policy, &tcp(d1, d2, 23)));
        // The server talks to them over the root scope, which is not restricted.
        let server = fx.peer(SERVER);
        assert!(passes(&fx, &policy, &tcp(server, d1, 9000)));
    }
}

#[test]
fn root_rules_are_network_wide_and_the_server_keeps_its_api_port() {
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        let policy = Policy {
            rules: vec![rule(
                1,
                Scope::Cidr(ROOT),
                Source::Cidr(ADMIN),
                Destination::Cidr(ROOT),
                Protocol::Tcp,
                "22",
            )],
            isolated: Vec::new(),
        };
        let (admin, u, d, server) = (
            fx.peer(ADMIN_PEER),
            fx.peer(USER1),
            fx.peer(DEVELOPER1),
            fx.peer(SERVER),
        );
        assert!(passes(&fx, &policy, &tcp(admin, d, 22)));
        assert!(!passes(&fx, &policy, &tcp(u, d, 22)));
        assert!(!passes(&fx, &policy, &tcp(u, fx.peer(USER2), 80)));
        // No rule can cut anyone off from the server's API, or from pinging it.
        assert!(passes(&fx, &policy, &tcp(u, server, API_PORT)));
        assert!(!passes(&fx, &policy, &tcp(u, server, 22)));
        assert!(passes(&fx, &policy, &tcp(admin, server, 22)));
        let echo = match family {
            Family::V4 => 8,
            Family::V6 => 128,
        };
        assert!(passes(
            &fx,
            &policy,
            &with_transport(u, server, Transport::Icmp { kind: echo })
        ));
    }
}

#[test]
fn compiled_sets_grow_with_rules_not_peers() {
    let (mut fx, association) = associated(Family::V4);
    for i in 0..200 {
        fx.add_peer(
            &format!("user-extra{i}"),
            &format!("10.80.130.{}", i + 1),
            USER,
        );
    }
    let policy = Policy {
        rules: vec![rule(
            1,
            Scope::Association(association),
            Source::Cidr(USER),
            Destination::Cidr(DEVELOPER),
            Protocol::Tcp,
            "22,80",
        )],
        isolated: vec![DEVELOPER],
    };
    let compiled = compile(&fx.view(), &policy, fx.peer(DEVELOPER1), HostRole::Peer);
    assert_eq!(
        compiled.restricted,
        vec![
            "10.80.64.0/24".parse::<IpNet>().unwrap(),
            "10.80.128.0/17".parse().unwrap()
        ]
    );
    assert_eq!(compiled.allows.len(), 1);
    assert_eq!(
        compiled.allows[0].source,
        "10.80.128.0/17".parse::<IpNet>().unwrap()
    );
}

#[test]
fn nested_restricted_prefixes_collapse() {
    let fx = Fixture::new(Family::V4);
    let policy = Policy {
        rules: Vec::new(),
        isolated: vec![ROOT, DEVELOPER],
    };
    let compiled = compile(&fx.view(), &policy, fx.peer(DEVELOPER1), HostRole::Peer);
    assert_eq!(
        compiled.restricted,
        vec!["10.80.0.0/15".parse::<IpNet>().unwrap()]
    );
}

#[test]
fn digest_changes_with_the_ruleset_only() {
    let (fx, association) = associated(Family::V4);
    let host = fx.peer(DEVELOPER1);
    let mut policy = Policy {
        rules: vec![rule(
            1,
            Scope::Association(association),
            Source::Any,
            Destination::Cidr(DEVELOPER),
            Protocol::Tcp,
            "22",
        )],
        isolated: Vec::new(),
    };
    let a = compile(&fx.view(), &policy, host, HostRole::Peer).digest();
    assert_eq!(a.len(), 24);
    assert_eq!(
        a,
        compile(&fx.view(), &policy, host, HostRole::Peer).digest()
    );
    policy.rules[0].contents.note = Some("only a note".into());
    assert_eq!(
        a,
        compile(&fx.view(), &policy, host, HostRole::Peer).digest()
    );
    policy.rules[0].contents.ports = parse_ports("22,23").unwrap();
    assert_ne!(
        a,
        compile(&fx.view(), &policy, host, HostRole::Peer).digest()
    );
}

#[test]
fn ports_parse_and_normalize() {
    let ranges = parse_ports("443, 22,8000-8080,8081,21").unwrap();
    assert_eq!(format_ports(&ranges), "21-22,443,8000-8081");
    for (bad, why) in [
        ("", "empty"),
        ("0", "port 0"),
        ("22-21", "lower port"),
        ("65536", "1 to 65535"),
        ("ssh", "1 to 65535"),
        ("22,", "1 to 65535"),
        ("1-2-3", "1 to 65535"),
    ] {
        let err = parse_ports(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
    let many: Vec<String> = (1..=65).map(|p| (p * 2).to_string()).collect();
    assert!(parse_ports(&many.join(",")).is_err());
    assert_eq!("ICMPv6".parse::<Protocol>().unwrap(), Protocol::Icmp);
    assert!("sctp"
        .parse::<Protocol>()
        .unwrap_err()
        .to_string()
        .contains("tcp, udp, icmp or any"));
}

#[test]
fn rules_are_checked_against_the_network() {
    let (fx, association) = associated(Family::V4);
    let mut policy = Policy::default();
    let ok = rule(
        1,
        Scope::Association(association),
        Source::Cidr(USER),
        Destination::Peer(DEVELOPER1),
        Protocol::Tcp,
        "22",
    )
    .contents;
    check_new_rule(&fx.view(), &policy, &ok).unwrap();
    // The other direction of an association is as good.
    let reverse = RuleContents {
        source: Source::Peer(DEVELOPER2),
        destination: Destination::Cidr(USER),
        ..ok.clone()
    };
    check_new_rule(&fx.view(), &policy, &reverse).unwrap();
    policy.rules.push(Rule {
        id: RuleId(1),
        contents: ok.clone(),
    });
    let err = |contents: RuleContents| {
        check_new_rule(&fx.view(), &policy, &contents)
            .unwrap_err()
            .to_string()
    };
    // Same rule again, even with a different note or port order.
    assert!(err(RuleContents {
        note: Some("again".into()),
        ..ok.clone()
    })
    .contains("identical rule already exists (rule 1)"));
    assert!(err(RuleContents {
        source: Source::Cidr(ADMIN),
        ..ok.clone()
    })
    .contains("source"));
    assert!(err(RuleContents {
        destination: Destination::Cidr(ADMIN),
        ..ok.clone()
    })
    .contains("destination"));
    assert!(err(RuleContents {
        source: Source::Cidr(DEVELOPER),
        ..ok.clone()
    })
    .contains("one side and the destination on the other"));
    assert!(err(RuleContents {
        protocol: Protocol::Icmp,
        ..ok.clone()
    })
    .contains("cannot name ports"));
    assert!(err(RuleContents {
        scope: Scope::Association(AssociationId(99)),
        ..ok.clone()
    })
    .contains("association id 99 does not exist"));
    assert!(err(RuleContents {
        source: Source::Peer(PeerId(99)),
        ..ok.clone()
    })
    .contains("peer id 99"));
    assert!(err(RuleContents {
        destination: Destination::Cidr(CidrId(99)),
        ..ok.clone()
    })
    .contains("CIDR id 99"));
    assert!(err(RuleContents {
        note: Some("a\nb".into()),
        protocol: Protocol::Udp,
        ..ok.clone()
    })
    .contains("note"));
    // A CIDR's rules stay among its members.
    let inside = rule(
        2,
        Scope::Cidr(DEVELOPER),
        Source::Any,
        Destination::Peer(DEVELOPER2),
        Protocol::Any,
        "",
    )
    .contents;
    check_new_rule(&fx.view(), &policy, &inside).unwrap();
    assert!(err(RuleContents {
        destination: Destination::Cidr(USER),
        ..inside.clone()
    })
    .contains("among its own members"));
}

#[test]
fn rules_have_a_stable_json_shape() {
    let r = rule(
        3,
        Scope::Association(AssociationId(2)),
        Source::Any,
        Destination::Peer(PeerId(4)),
        Protocol::Tcp,
        "22,8000-8080",
    );
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(
        json,
        r#"{"id":3,"scope":{"association":2},"source":"any","destination":{"peer":4},"protocol":"tcp","ports":[[22,22],[8000,8080]],"note":null}"#
    );
    assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), r);
    // Bad ports on the wire are refused while parsing.
    let bad = json.replace("[22,22]", "[0,22]");
    assert!(serde_json::from_str::<Rule>(&bad)
        .unwrap_err()
        .to_string()
        .contains("port 0"));
}

// --- property test ------------------------------------------------------------------------

/// A random valid network: a tree of CIDRs (children are /+4 subnets), peers in leaves only
/// with distinct addresses, random associations.
fn arb_network(family: Family) -> impl Strategy<Value = Fixture> {
    let parents = prop::collection::vec(any::<prop::sample::Index>(), 1..12);
    let peers = prop::collection::vec(any::<prop::sample::Index>(), 1..20);
    let assocs = prop::collection::vec(
        (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        0..6,
    );
    (parents, peers, assocs).prop_map(move |(parents, peers, assocs)| {
        let mut fx = Fixture::empty(family);
        fx.add_cidr("root", family.pick("10.0.0.0/8", "fd00::/48"), None);
        let mut n_children = vec![0usize];
        let mut depth = vec![0usize];
        for (i, pick) in parents.iter().enumerate() {
            let eligible: Vec<usize> = (0..fx.cidrs.len())
                .filter(|&c| depth[c] < 4 && n_children[c] < 16)
                .collect();
            let parent = eligible[pick.index(eligible.len())];
            let net = fx.cidrs[parent].cidr;
            let child = net
                .subnets(net.prefix_len() + 4)
                .unwrap()
                .nth(n_children[parent])
                .unwrap();
            n_children[parent] += 1;
            depth.push(depth[parent] + 1);
            n_children.push(0);
            let parent_id = fx.cidrs[parent].id;
            fx.add_cidr(&format!("c{i}"), &child.to_string(), Some(parent_id));
        }
        fx.roles = NetworkRoles {
            infra_cidr: fx.cidrs[1].id,
            server_peer: PeerId(1),
        };
        let leaves: Vec<usize> = (0..fx.cidrs.len())
            .filter(|&c| n_children[c] == 0)
            .collect();
        let mut used = vec![0usize; fx.cidrs.len()];
        for (i, pick) in peers.iter().enumerate() {
            let leaf = leaves[pick.index(leaves.len())];
            used[leaf] += 1;
            let ip = fx.cidrs[leaf].cidr.hosts().nth(used[leaf]).unwrap();
            let cidr_id = fx.cidrs[leaf].id;
            fx.add_peer(&format!("p{i}"), &ip.to_string(), cidr_id);
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

const PORTS: [u16; 6] = [1, 22, 53, 80, 8080, 65535];

/// A rule's random choices: scope kind and pick, source kind and pick, destination kind and
/// pick, protocol, port ranges (as indexes into [`PORTS`]).
type RuleParts = (
    u8,
    prop::sample::Index,
    u8,
    prop::sample::Index,
    u8,
    prop::sample::Index,
    u8,
    Vec<(u8, u8)>,
);

fn arb_rule_parts() -> impl Strategy<Value = RuleParts> {
    (
        0..2u8,
        any::<prop::sample::Index>(),
        0..3u8,
        any::<prop::sample::Index>(),
        0..2u8,
        any::<prop::sample::Index>(),
        0..4u8,
        prop::collection::vec((0..6u8, 0..6u8), 0..3),
    )
}

fn build_rule(fx: &Fixture, id: i64, parts: &RuleParts) -> Rule {
    let (scope_kind, scope, source_kind, source, dest_kind, dest, protocol, ports) = parts;
    let scope = if *scope_kind == 0 && !fx.associations.is_empty() {
        Scope::Association(fx.associations[scope.index(fx.associations.len())].id)
    } else {
        Scope::Cidr(fx.cidrs[scope.index(fx.cidrs.len())].id)
    };
    let source = match source_kind {
        0 => Source::Any,
        1 => Source::Cidr(fx.cidrs[source.index(fx.cidrs.len())].id),
        _ => Source::Peer(fx.peers[source.index(fx.peers.len())].id),
    };
    let destination = match dest_kind {
        0 => Destination::Cidr(fx.cidrs[dest.index(fx.cidrs.len())].id),
        _ => Destination::Peer(fx.peers[dest.index(fx.peers.len())].id),
    };
    let protocol =
        [Protocol::Tcp, Protocol::Udp, Protocol::Icmp, Protocol::Any][*protocol as usize];
    let ports = if protocol.has_ports() {
        normalize_ports(
            ports
                .iter()
                .map(|&(a, b)| {
                    let (a, b) = (PORTS[a as usize], PORTS[b as usize]);
                    PortRange::new(a.min(b), a.max(b)).unwrap()
                })
                .collect(),
        )
    } else {
        Vec::new()
    };
    Rule {
        id: RuleId(id),
        contents: RuleContents {
            scope,
            source,
            destination,
            protocol,
            ports,
            note: None,
        },
    }
}

/// Source addresses worth trying: every peer's, other addresses inside each CIDR, an address
/// outside the network and one of the other family.
fn candidate_sources(fx: &Fixture) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = fx.peers.iter().map(|p| p.ip).collect();
    for cidr in &fx.cidrs {
        out.extend(cidr.cidr.hosts().nth(200));
    }
    out.push(fx.family.pick("192.168.1.1", "fd99::1").parse().unwrap());
    out.push(fx.family.pick("fd00::7", "10.0.0.7").parse().unwrap());
    out
}

fn transports() -> Vec<Transport> {
    let mut out = Vec::new();
    for port in [21, 22, 53, 80, 8081, 65535] {
        out.push(Transport::Tcp { port });
    }
    for port in [1, 53, 54] {
        out.push(Transport::Udp { port });
    }
    for kind in [2, 3, 8, 128, 135] {
        out.push(Transport::Icmp { kind });
    }
    out.push(Transport::Other { protocol: 47 });
    out
}

#[test]
fn compiled_rulesets_agree_with_the_definition() {
    for family in Family::BOTH {
        let config = Config {
            cases: 40,
            failure_persistence: None,
            ..Config::default()
        };
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[16; 32]);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let strategy = (
            arb_network(family),
            prop::collection::vec(arb_rule_parts(), 0..8),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            any::<bool>(),
        );
        runner
            .run(&strategy, |(fx, rule_parts, isolated, server_is_host)| {
                let rules: Vec<Rule> = rule_parts
                    .iter()
                    .enumerate()
                    .map(|(i, parts)| build_rule(&fx, i as i64 + 1, parts))
                    .collect();
                let isolated = isolated
                    .iter()
                    .map(|i| fx.cidrs[i.index(fx.cidrs.len())].id)
                    .collect();
                let policy = Policy { rules, isolated };
                let sources = candidate_sources(&fx);
                let transports = transports();
                for host in &fx.peers {
                    let role = if server_is_host && host.id == PeerId(1) {
                        HostRole::Server { api_port: 8080 }
                    } else {
                        HostRole::Peer
                    };
                    let compiled = compile(&fx.view(), &policy, host, role);
                    for &src in &sources {
                        for &transport in &transports {
                            let packet = Packet {
                                src,
                                dst: host.ip,
                                transport,
                            };
                            let verdict = decide(&fx.view(), &policy, host, role, &packet);
                            prop_assert_eq!(
                                verdict.allowed(),
                                compiled.allows(&packet),
                                "host {} packet {:?}: {:?} vs {:?}",
                                host.name.as_str(),
                                packet,
                                verdict,
                                compiled
                            );
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}

// --- command-line spellings ---------------------------------------------------------------

#[test]
fn parties_resolve_by_name_and_scopes_are_inferred() {
    use super::spec::*;
    let (mut fx, association) = associated(Family::V4);
    let party = |text: &str| text.parse::<Party>().unwrap();
    assert_eq!(
        source(&party("any"), &fx.cidrs, &fx.peers).unwrap(),
        Source::Any
    );
    assert_eq!(
        source(&party("user"), &fx.cidrs, &fx.peers).unwrap(),
        Source::Cidr(USER)
    );
    assert_eq!(
        source(&party("peer:user1"), &fx.cidrs, &fx.peers).unwrap(),
        Source::Peer(USER1)
    );
    assert_eq!(
        destination(&party("developer2"), &fx.cidrs, &fx.peers).unwrap(),
        Destination::Peer(DEVELOPER2)
    );
    assert!(destination(&party("any"), &fx.cidrs, &fx.peers)
        .unwrap_err()
        .to_string()
        .contains("CIDR or a peer"));
    assert!(source(&party("nobody"), &fx.cidrs, &fx.peers)
        .unwrap_err()
        .to_string()
        .contains("no CIDR or peer is named \"nobody\""));
    assert!("cidr:".parse::<Party>().is_err());
    assert!("host:x".parse::<Party>().is_err());
    // A name both a CIDR and a peer carry needs its prefix.
    fx.add_peer("admin", "10.80.1.9", ADMIN);
    let err = source(&party("admin"), &fx.cidrs, &fx.peers)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cidr:admin or peer:admin"), "{err}");

    let view = fx.view();
    assert_eq!(
        infer_scope(&view, Source::Cidr(USER), Destination::Peer(DEVELOPER1)).unwrap(),
        Scope::Association(association)
    );
    assert_eq!(
        infer_scope(&view, Source::Any, Destination::Cidr(USER)).unwrap(),
        Scope::Association(association)
    );
    // Without an association: the smallest CIDR holding both.
    assert_eq!(
        infer_scope(
            &view,
            Source::Peer(DEVELOPER1),
            Destination::Peer(DEVELOPER2)
        )
        .unwrap(),
        Scope::Cidr(DEVELOPER)
    );
    assert_eq!(
        infer_scope(&view, Source::Cidr(ADMIN), Destination::Cidr(USER)).unwrap(),
        Scope::Cidr(ROOT)
    );
    // Two fitting associations: ask.
    fx.associate(ROOT, DEVELOPER);
    let err = infer_scope(&fx.view(), Source::Cidr(USER), Destination::Cidr(DEVELOPER))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("user,developer") && err.contains("--association"),
        "{err}"
    );
}

#[test]
fn probes_parse() {
    use super::spec::Probe;
    let probe = |text: &str| text.parse::<Probe>();
    let ok = |text: &str, target: &str, protocol, port| {
        assert_eq!(
            probe(text).unwrap(),
            Probe {
                target: target.into(),
                protocol,
                port
            },
            "{text}"
        );
    };
    ok("alice", "alice", Protocol::Icmp, None);
    ok("alice:22", "alice", Protocol::Tcp, Some(22));
    ok("alice:53/udp", "alice", Protocol::Udp, Some(53));
    ok("10.66.2.5:8080/tcp", "10.66.2.5", Protocol::Tcp, Some(8080));
    ok("fd00::5", "fd00::5", Protocol::Icmp, None);
    ok("[fd00::5]:22", "fd00::5", Protocol::Tcp, Some(22));
    ok("bob/icmp", "bob", Protocol::Icmp, None);
    for (bad, why) in [
        ("alice:0", "1 to 65535"),
        ("alice/tcp", "needs a port"),
        ("alice:22/icmp", "no ports"),
        ("alice:22/any", "one protocol"),
        ("alice:22/sctp", "unknown protocol"),
        ("[fd00::5", "closing"),
        (":22", "empty"),
    ] {
        let err = probe(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
}
