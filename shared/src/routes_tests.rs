use super::*;
use crate::fixture::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn route(id: i64, gateway: PeerId, n: &str, approved: bool) -> Route {
    Route {
        id: RouteId(id),
        contents: RouteContents {
            gateway,
            net: net(n),
            kind: if net(n).prefix_len() == 0 {
                RouteKind::Exit
            } else {
                RouteKind::Subnet
            },
        },
        approved,
    }
}

fn grant(id: i64, gateway: PeerId, n: &str) -> RouteGrant {
    let r = route(id, gateway, n, true);
    RouteGrant {
        id: r.id,
        gateway,
        net: r.contents.net,
        kind: r.contents.kind,
    }
}

#[test]
fn an_offer_is_checked_on_its_own() {
    let mesh = net("10.80.0.0/15");
    let ok = check_offer(&mesh, &[net("192.168.10.0/24"), net("172.31.0.0/16")], true).unwrap();
    assert_eq!(
        ok,
        vec![
            RouteContentsDraft {
                net: net("172.31.0.0/16"),
                kind: RouteKind::Subnet
            },
            RouteContentsDraft {
                net: net("192.168.10.0/24"),
                kind: RouteKind::Subnet
            },
            RouteContentsDraft {
                net: net("0.0.0.0/0"),
                kind: RouteKind::Exit
            },
        ]
    );
    let v6 = check_offer(&net("fd00:1337::/64"), &[], true).unwrap();
    assert_eq!(v6[0].net, net("::/0"));

    let cases: Vec<(Vec<IpNet>, bool, &str)> = vec![
        (vec![], false, "at least one route"),
        (vec![net("fd00:10::/64")], false, "same family"),
        (
            vec![net("192.168.10.1/24")],
            false,
            "did you mean 192.168.10.0/24",
        ),
        (vec![net("0.0.0.0/0")], false, "--exit-node"),
        (vec![net("10.81.0.0/16")], false, "overlaps the mesh"),
        (vec![net("10.0.0.0/8")], false, "overlaps the mesh"),
        (
            vec![net("192.168.0.0/16"), net("192.168.10.0/24")],
            false,
            "of the same offer overlap",
        ),
        (
            (0..65u32)
                .map(|i| IpNet::new(IpAddr::from([172, 16, i as u8, 0]), 24).unwrap())
                .collect(),
            false,
            "at most 64",
        ),
    ];
    for (subnets, exit, expected) in cases {
        let error = check_offer(&mesh, &subnets, exit).unwrap_err().to_string();
        assert!(error.contains(expected), "{subnets:?}: {error}");
    }
}

#[test]
fn approved_routes_of_other_gateways_may_not_overlap_unless_identical() {
    let name = |id: PeerId| format!("peer{id}");
    let stored = vec![
        route(1, DEVELOPER1, "192.168.10.0/24", true),
        route(2, DEVELOPER1, "172.20.0.0/16", false),
        route(3, DEVELOPER1, "0.0.0.0/0", true),
    ];
    let candidate = |n: &str| RouteContents {
        gateway: DEVELOPER2,
        net: net(n),
        kind: RouteKind::Subnet,
    };
    // The very same network: a failover pair.
    check_approval(&candidate("192.168.10.0/24"), &stored, name).unwrap();
    // Overlapping an offer that is not approved is fine (approving that one later is not).
    check_approval(&candidate("172.20.1.0/24"), &stored, name).unwrap();
    let error = check_approval(&candidate("192.168.0.0/16"), &stored, name)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("192.168.10.0/24") && error.contains("peer3"),
        "{error}"
    );
    // Exit nodes never conflict.
    let exit = RouteContents {
        gateway: DEVELOPER2,
        net: net("0.0.0.0/0"),
        kind: RouteKind::Exit,
    };
    check_approval(&exit, &stored, name).unwrap();
}

#[test]
fn auto_approval_covers_the_cidr_subtree_and_its_prefixes() {
    let mut fx = Fixture::new(Family::V4);
    let team = fx.add_cidr("team", "10.80.64.128/25", Some(DEVELOPER));
    let _ = team;
    let approvals = vec![AutoApproval {
        cidr: DEVELOPER,
        prefixes: vec![net("192.168.0.0/16")],
        exit: false,
    }];
    let tree = CidrTree::new(&fx.cidrs);
    let subnet = |n: &str| RouteContentsDraft {
        net: net(n),
        kind: RouteKind::Subnet,
    };
    let exit = RouteContentsDraft {
        net: net("0.0.0.0/0"),
        kind: RouteKind::Exit,
    };
    assert!(auto_approved(
        &tree,
        &approvals,
        DEVELOPER,
        &subnet("192.168.10.0/24")
    ));
    assert!(auto_approved(
        &tree,
        &approvals,
        team,
        &subnet("192.168.0.0/16")
    ));
    assert!(!auto_approved(
        &tree,
        &approvals,
        DEVELOPER,
        &subnet("172.16.0.0/24")
    ));
    assert!(!auto_approved(
        &tree,
        &approvals,
        USER,
        &subnet("192.168.10.0/24")
    ));
    assert!(!auto_approved(&tree, &approvals, DEVELOPER, &exit));
    let with_exit = vec![AutoApproval {
        cidr: ROOT,
        prefixes: vec![],
        exit: true,
    }];
    assert!(auto_approved(&tree, &with_exit, USER, &exit));
    assert!(!auto_approved(
        &tree,
        &with_exit,
        USER,
        &subnet("192.168.10.0/24")
    ));
}

#[test]
fn routes_go_to_the_peers_that_see_the_gateway() {
    let mut fx = Fixture::new(Family::V4);
    let routes = vec![
        route(1, DEVELOPER1, "192.168.10.0/24", true),
        route(2, DEVELOPER1, "172.20.0.0/16", false),
        route(3, USER1, "192.168.20.0/24", true),
    ];
    let ids = |grants: Vec<RouteGrant>| grants.iter().map(|g| g.id.0).collect::<Vec<_>>();
    // developer2 sees developer1 (same CIDR), not user1; the unapproved offer is not sent.
    assert_eq!(
        ids(grants_for(&fx.view(), fx.peer(DEVELOPER2), &routes)),
        vec![1]
    );
    // A gateway does not receive its own routes.
    assert!(grants_for(&fx.view(), fx.peer(DEVELOPER1), &routes).is_empty());
    // An association brings the other side's gateways.
    fx.associate(DEVELOPER, USER);
    assert_eq!(
        ids(grants_for(&fx.view(), fx.peer(DEVELOPER2), &routes)),
        vec![1, 3]
    );
    // A disabled gateway's grants stay (enabling it again is a peer change, not a
    // structural one); the client ignores grants of gateways that are not its peers.
    fx.peer_mut(DEVELOPER1).contents.is_disabled = true;
    let grants = grants_for(&fx.view(), fx.peer(DEVELOPER2), &routes);
    assert_eq!(ids(grants.clone()), vec![1, 3]);
    let present: HashSet<PeerId> = crate::acl::visible_peers(&fx.view(), fx.peer(DEVELOPER2))
        .iter()
        .map(|p| p.id)
        .collect();
    let options = RouteOptions {
        accept_routes: true,
        exit_node: None,
    };
    let selection = select(
        &grants,
        &present,
        &options,
        &LocalFacts::default(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    assert_eq!(selection.subnet_routes(), vec![net("192.168.20.0/24")]);
}

/// Every gateway of these tests is among the client's peers.
fn all() -> HashSet<PeerId> {
    [DEVELOPER1, DEVELOPER2, USER1].into_iter().collect()
}

fn facts() -> LocalFacts {
    LocalFacts {
        local_nets: vec![net("192.168.1.0/24")],
        default_gateways: vec![ip("192.168.1.1")],
        endpoints: vec![
            ("the server".to_owned(), ip("203.0.113.7")),
            ("developer1".to_owned(), ip("198.51.100.20")),
        ],
    }
}

#[test]
fn subnet_routes_need_accept_routes_and_never_swallow_the_host() {
    let grants = vec![
        grant(1, DEVELOPER1, "192.168.10.0/24"),
        grant(2, DEVELOPER1, "192.168.0.0/16"),
        grant(3, DEVELOPER1, "203.0.113.0/24"),
        grant(4, DEVELOPER1, "198.51.100.0/24"),
        grant(5, DEVELOPER1, "0.0.0.0/0"),
    ];
    let none = select(
        &grants,
        &all(),
        &RouteOptions::default(),
        &facts(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    assert!(none.active.is_empty());
    assert_eq!(none.unused.len(), 5);

    let options = RouteOptions {
        accept_routes: true,
        exit_node: None,
    };
    let chosen = select(
        &grants,
        &all(),
        &options,
        &facts(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    assert_eq!(chosen.subnet_routes(), vec![net("192.168.10.0/24")]);
    assert_eq!(chosen.allowed_ips(DEVELOPER1), vec![net("192.168.10.0/24")]);
    let refused: Vec<String> = chosen
        .refused
        .iter()
        .map(|(g, why)| format!("{} {why}", g.net))
        .collect();
    assert_eq!(
        refused,
        vec![
            "192.168.0.0/16 it covers this host's own network 192.168.1.0/24",
            "203.0.113.0/24 it holds the server's endpoint 203.0.113.7, so the tunnel's own packets would loop into it",
            "198.51.100.0/24 it holds developer1's endpoint 198.51.100.20, so the tunnel's own packets would loop into it",
        ]
    );
    // The exit route is not used unless chosen.
    assert_eq!(chosen.unused, vec![grant(5, DEVELOPER1, "0.0.0.0/0")]);
    assert!(chosen.exit().is_none());
}

#[test]
fn a_default_gateway_inside_a_route_refuses_it() {
    let facts = LocalFacts {
        local_nets: vec![],
        default_gateways: vec![ip("10.0.0.1")],
        endpoints: vec![],
    };
    let options = RouteOptions {
        accept_routes: true,
        exit_node: None,
    };
    let chosen = select(
        &[grant(1, DEVELOPER1, "10.0.0.0/24")],
        &all(),
        &options,
        &facts,
        &HashSet::new(),
        &BTreeMap::new(),
    );
    assert!(chosen.active.is_empty());
    assert_eq!(
        chosen.refused[0].1,
        Refusal::CoversDefaultGateway(ip("10.0.0.1"))
    );
}

#[test]
fn the_exit_node_is_used_only_when_chosen_and_is_exempt_from_the_loop_checks() {
    let grants = vec![
        grant(1, DEVELOPER1, "0.0.0.0/0"),
        grant(2, DEVELOPER2, "0.0.0.0/0"),
    ];
    let options = RouteOptions {
        accept_routes: false,
        exit_node: Some(DEVELOPER2),
    };
    let chosen = select(
        &grants,
        &all(),
        &options,
        &facts(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    let exit = chosen.exit().unwrap();
    assert_eq!((exit.gateway, exit.net), (DEVELOPER2, net("0.0.0.0/0")));
    assert_eq!(chosen.allowed_ips(DEVELOPER2), vec![net("0.0.0.0/0")]);
    assert!(chosen.allowed_ips(DEVELOPER1).is_empty());
    assert!(chosen.subnet_routes().is_empty());
    assert_eq!(chosen.exit_node_missing, None);

    let gone = select(
        &grants[..1],
        &all(),
        &options,
        &facts(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    assert!(gone.exit().is_none());
    assert_eq!(gone.exit_node_missing, Some(DEVELOPER2));
}

#[test]
fn two_gateways_for_one_route_fail_over_and_do_not_flap() {
    let grants = vec![
        grant(1, DEVELOPER2, "192.168.10.0/24"),
        grant(2, DEVELOPER1, "192.168.10.0/24"),
    ];
    let options = RouteOptions {
        accept_routes: true,
        exit_node: None,
    };
    let pick = |down: &[PeerId], previous: Option<PeerId>| {
        let previous: BTreeMap<IpNet, PeerId> = previous
            .map(|p| (net("192.168.10.0/24"), p))
            .into_iter()
            .collect();
        let selection = select(
            &grants,
            &all(),
            &options,
            &facts(),
            &down.iter().copied().collect(),
            &previous,
        );
        assert_eq!(selection.active.len(), 1, "{selection:?}");
        let active = &selection.active[0];
        (active.gateway, active.standby.clone())
    };
    // First time: the lowest id.
    assert_eq!(pick(&[], None), (DEVELOPER1, vec![DEVELOPER2]));
    // The chosen one goes down: the other takes over.
    assert_eq!(
        pick(&[DEVELOPER1], Some(DEVELOPER1)),
        (DEVELOPER2, vec![DEVELOPER1])
    );
    // It comes back: no flapping back while the other is up.
    assert_eq!(pick(&[], Some(DEVELOPER2)), (DEVELOPER2, vec![DEVELOPER1]));
    // Both down: keep what we had.
    assert_eq!(
        pick(&[DEVELOPER1, DEVELOPER2], Some(DEVELOPER2)),
        (DEVELOPER2, vec![DEVELOPER1])
    );
    // The previous gateway no longer offers it: choose among those that do.
    let only_one = select(
        &grants[..1],
        &all(),
        &options,
        &facts(),
        &HashSet::new(),
        &[(net("192.168.10.0/24"), DEVELOPER1)].into_iter().collect(),
    );
    assert_eq!(only_one.active[0].gateway, DEVELOPER2);
}

#[test]
fn a_withdrawn_route_leaves_the_selection() {
    let options = RouteOptions {
        accept_routes: true,
        exit_node: None,
    };
    let before = select(
        &[
            grant(1, DEVELOPER1, "192.168.10.0/24"),
            grant(2, DEVELOPER1, "192.168.20.0/24"),
        ],
        &all(),
        &options,
        &facts(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    let after = select(
        &[grant(2, DEVELOPER1, "192.168.20.0/24")],
        &all(),
        &options,
        &facts(),
        &HashSet::new(),
        &BTreeMap::new(),
    );
    assert_eq!(before.subnet_routes().len(), 2);
    assert_eq!(after.subnet_routes(), vec![net("192.168.20.0/24")]);
    assert_eq!(after.allowed_ips(DEVELOPER1), vec![net("192.168.20.0/24")]);
}
