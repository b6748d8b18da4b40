//! The port and protocol policy on a client: the ruleset the server compiles reaches the
//! interface's firewall table each sync, a table removed or edited behind the client's back is
//! repaired, what the host enforces reaches the server, failures and `--no-firewall` are
//! reported as not enforced, an unreachable server keeps the last ruleset, `down` removes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wiremesh::interface;
use wiremesh::policy::Enforcement as Done;
use wiremesh_shared::policy::{parse_ports, Destination, Protocol, RuleContents, Scope, Source};
use wiremesh_shared::wire::Enforcement;

use crate::support::testnet::*;

/// humans ↔ robots with "humans may open tcp/22 on robots"; returns the robot client.
fn network_with_rule(net: &TestNet) -> TestClient {
    let (humans, robots) = (net.humans(), net.robots());
    let association = net.associate(&humans, &robots);
    let (robot, _) = net.join("robot", &robots);
    net.service
        .add_rule(
            RuleContents {
                scope: Scope::Association(association.id),
                source: Source::Cidr(humans.id),
                destination: Destination::Cidr(robots.id),
                protocol: Protocol::Tcp,
                ports: parse_ports("22").unwrap(),
                note: None,
            },
            false,
        )
        .unwrap();
    robot
}

fn enforcement_of(net: &TestNet, client: &TestClient) -> Enforcement {
    let peer = net.service.model().peer_by_ip(client.ip).unwrap().id;
    let listing = net.service.policy_listing();
    listing
        .hosts
        .iter()
        .find(|h| h.peer == peer)
        .unwrap()
        .enforcement
        .clone()
}

#[test]
fn the_ruleset_is_programmed_reported_and_repaired() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let robot = network_with_rule(&net);
        let report = robot.sync().unwrap();
        let table = robot.firewall.table(&robot.iface).expect("a table");
        assert_eq!(table.allows.len(), 1, "{table:?}");
        assert_eq!(table.restricted, vec![net.humans().cidr]);
        let expected = net
            .service
            .model()
            .peer_ruleset(net.service.model().peer_by_ip(robot.ip).unwrap());
        assert_eq!(&table, &*expected);
        assert!(
            report.summary().contains("firewall table programmed"),
            "{}",
            report.summary()
        );
        assert_eq!(enforcement_of(&net, &robot), Enforcement::Enforced);

        // Someone deletes the table: the next sync puts it back.
        robot.firewall.drop_table(&robot.iface);
        let report = robot.sync().unwrap();
        assert!(
            matches!(
                report.policy,
                Some(Done::Applied {
                    repaired: true,
                    changed: false,
                    ..
                })
            ),
            "{:?}",
            report.policy
        );
        assert_eq!(
            robot.firewall.table(&robot.iface).as_ref(),
            Some(&*expected)
        );
        // An unchanged report is not sent again.
        let reports = net.requests("POST /v2/user/report");
        robot.sync().unwrap();
        assert_eq!(net.requests("POST /v2/user/report"), reports);

        // The rule goes: the table opens up, and the server knows.
        let rule = net.service.model().policy().rules[0].id;
        net.service.delete_rule(rule, false).unwrap();
        robot.sync().unwrap();
        assert!(robot.firewall.table(&robot.iface).unwrap().is_open());
        assert_eq!(enforcement_of(&net, &robot), Enforcement::Enforced);

        // `down` removes the table.
        interface::down(&robot.ctx, &robot.iface).unwrap();
        assert!(robot.firewall.table(&robot.iface).is_none());
    }
}

#[test]
fn the_ruleset_does_not_wait_behind_a_nat_traversal() {
    let net = TestNet::new(Family::V4);
    let mut robot = network_with_rule(&net);
    // Steps so long that only the interruption below can end this traversal.
    robot.ctx.timings.nat_step = Duration::from_secs(600);
    robot.ctx.timings.nat_budget = Duration::from_secs(3600);
    let interrupt = Arc::new(AtomicBool::new(false));
    robot.ctx.interrupt = Some(interrupt.clone());
    let (alice, _) = net.add_peer("alice", &net.humans());
    net.service
        .set_candidates(&alice, super::nat::candidates(&net, 2))
        .unwrap();

    let robot = &robot;
    std::thread::scope(|scope| {
        let syncing = scope.spawn(|| robot.sync());
        // Generous: the table is programmed right after the peers, before the traversal
        // waits; only the wrong order would leave it missing for the traversal's 600 s.
        let deadline = Instant::now() + Duration::from_secs(60);
        while robot.firewall.table(&robot.iface).is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let programmed = robot.firewall.table(&robot.iface).is_some();
        interrupt.store(true, Ordering::Relaxed);
        let report = syncing.join().unwrap().unwrap();
        assert!(programmed, "the table waited for the NAT traversal");
        let outcome = report.nat.expect("a traversal ran");
        assert!(outcome.interrupted, "{outcome:?}");
        assert!(report.policy.is_some());
    });
}

#[test]
fn failures_and_turning_it_off_are_reported_as_not_enforced() {
    let net = TestNet::new(Family::V4);
    let robot = network_with_rule(&net);
    robot
        .firewall
        .fail_with(Some("nft: Operation not permitted"));
    let report = robot.sync().unwrap();
    assert!(matches!(report.policy, Some(Done::Failed { .. })));
    assert!(
        report.summary().contains("firewall NOT programmed"),
        "{}",
        report.summary()
    );
    let Enforcement::NotEnforced { reason } = enforcement_of(&net, &robot) else {
        panic!("a failure is not enforcement")
    };
    assert!(reason.contains("Operation not permitted"), "{reason}");

    robot.firewall.fail_with(None);
    robot.sync().unwrap();
    assert_eq!(enforcement_of(&net, &robot), Enforcement::Enforced);

    let mut ctx = robot.ctx.clone();
    ctx.policy.enforce = false;
    let report = wiremesh::sync::sync(&ctx, &robot.iface, wiremesh::sync::SyncMode::Fetch).unwrap();
    assert_eq!(report.policy, Some(Done::Off));
    assert!(robot.firewall.table(&robot.iface).is_none());
    let Enforcement::NotEnforced { reason } = enforcement_of(&net, &robot) else {
        panic!("turned off is not enforcement")
    };
    assert!(reason.contains("turned off"), "{reason}");
}

#[test]
fn an_unreachable_server_keeps_the_last_ruleset() {
    let net = TestNet::new(Family::V6);
    let robot = network_with_rule(&net);
    robot.sync().unwrap();
    let applied = robot.firewall.table(&robot.iface).unwrap();
    net.stop_listener(robot.ip);
    robot.firewall.drop_table(&robot.iface);
    let report = robot.sync().unwrap();
    assert!(!report.server_reachable);
    assert_eq!(report.policy, Some(Done::Kept));
    assert_eq!(robot.firewall.table(&robot.iface), Some(applied.clone()));
    // And at boot: down, then up from the cache with the server still away.
    interface::down(&robot.ctx, &robot.iface).unwrap();
    assert!(robot.firewall.table(&robot.iface).is_none());
    let report = robot.up().unwrap();
    assert!(report.brought_up && !report.server_reachable);
    assert_eq!(robot.firewall.table(&robot.iface), Some(applied));
}
