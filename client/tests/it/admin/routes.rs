//! The route commands end to end through the binary against the in-process server: this
//! host offers routes for itself (no admin rights needed for that), an admin approves and
//! lists them, a refused offer says why, `--withdraw` takes everything back.

use crate::support::admin::{setup, Family};
use crate::support::cli::check;

#[test]
fn offer_approve_list_and_withdraw() {
    let (net, host) = setup(Family::V4);
    let out = check(
        &host.run_line("advertise-routes @ --routes 192.168.10.0/24 --exit-node"),
        0,
        &[],
    );
    assert!(
        out.contains("192.168.10.0/24: waiting for approval") && out.contains("approve-routes"),
        "{out}"
    );
    let book = net.service.route_book();
    assert_eq!(book.routes.len(), 2);
    assert!(book.routes.iter().all(|r| !r.approved));

    check(
        &host.run_line("approve-routes @ --peer boss --routes 192.168.10.0/24"),
        0,
        &[],
    );
    let listed = check(&host.run_line("list-routes @"), 0, &[]);
    assert!(
        listed.contains("192.168.10.0/24: approved")
            && listed.contains("0.0.0.0/0 (exit node): waiting for approval"),
        "{listed}"
    );

    let refused = host.run_line("advertise-routes @ --routes 10.66.200.0/24");
    check(&refused, 1, &["overlaps the mesh"]);
    assert_eq!(net.service.route_book().routes.len(), 2);
    check(
        &host.run_line("approve-routes @ --peer nobody"),
        1,
        &["no peer named \"nobody\""],
    );

    check(&host.run_line("advertise-routes @ --withdraw"), 0, &[]);
    assert!(net.service.route_book().routes.is_empty());
}

#[test]
fn route_settings_are_saved_in_the_config() {
    let (net, host) = setup(Family::V4);
    // The interface is down here: the setting waits for it.
    let out = check(&host.run_line("accept-routes @"), 0, &[]);
    assert!(out.contains("applies when it comes up"), "{out}");
    assert!(host.config().routes.accept);
    assert!(std::fs::read_to_string(host.config_path())
        .unwrap()
        .contains("[routes]\naccept = true\n"));

    check(
        &host.run_line("set-exit-node @ nobody"),
        1,
        &["no peer named \"nobody\""],
    );
    assert_eq!(host.config().routes.exit_node, None);
    // Only a peer this host sees can be its exit node.
    check(
        &host.run_line("set-exit-node @ worker"),
        1,
        &["no peer named \"worker\" that this host sees"],
    );
    net.associate(&net.humans(), &net.robots());
    let worker = net.peer("worker");
    check(&host.run_line("set-exit-node @ worker"), 0, &[]);
    assert_eq!(host.config().routes.exit_node, Some(worker.ip));
    check(&host.run_line("set-exit-node @ --off"), 0, &[]);
    assert_eq!(host.config().routes.exit_node, None);

    check(&host.run_line("advertise-routes @ --no-snat"), 0, &[]);
    assert!(!host.config().routes.snat);
    check(
        &host.run_line("advertise-routes @ --no-snat --peer worker"),
        2,
        &["--no-snat"],
    );
    check(&host.run_line("advertise-routes @ --snat"), 0, &[]);
    check(&host.run_line("accept-routes @ --off"), 0, &[]);
    // Everything at its default again: no [routes] table at all (innernet's own layout).
    assert!(!std::fs::read_to_string(host.config_path())
        .unwrap()
        .contains("[routes]"));
}
