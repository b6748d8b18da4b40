//! `up --daemon`: cycles keep running, survive a server outage and stop on the flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wireguard_control::Backend;
use wiremesh::daemon::run_daemon;

use crate::support::testnet::*;

/// Waits up to five seconds for `condition`.
fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_daemon_survives_an_outage_and_stops_on_the_flag() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (client, _) = net.join("laptop", &humans);
        // Start from a down interface, as at boot.
        client.backend.delete(&client.iface).unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let daemon = {
            let (ctx, stop) = (client.ctx.clone(), stop.clone());
            std::thread::spawn(move || run_daemon(&ctx, None, Duration::from_millis(100), &stop))
        };
        wait_for("the interface to come up", || client.is_up());

        let (bob, _) = net.add_peer("bob", &humans);
        wait_for("bob to arrive", || client.has_peer(&bob.public_key));

        // The server goes away: the interface stays as it is, changes wait.
        net.stop_listener(client.ip);
        let (carol, _) = net.add_peer("carol", &humans);
        net.service.set_disabled(bob.id, true).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert!(client.is_up());
        assert!(
            client.has_peer(&bob.public_key),
            "nothing removed while the server is away"
        );
        assert!(!client.has_peer(&carol.public_key));

        // It comes back on the same port: the changes arrive.
        net.restart_listener(client.ip);
        wait_for("carol to arrive", || client.has_peer(&carol.public_key));
        wait_for("bob to leave", || !client.has_peer(&bob.public_key));

        let stopped_at = Instant::now();
        stop.store(true, Ordering::Relaxed);
        let summary = daemon.join().unwrap();
        assert!(
            stopped_at.elapsed() < Duration::from_secs(2),
            "stopping took {:?}",
            stopped_at.elapsed()
        );
        assert!(summary.unreachable_cycles >= 1, "{summary:?}");
        assert!(summary.reachable_cycles >= 2, "{summary:?}");
        assert_eq!(summary.failed_cycles, 0, "{summary:?}");
    }
}

#[test]
fn the_daemon_keeps_going_after_errors_and_without_networks() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (client, _) = net.join("laptop", &humans);
    // A config that does not parse is an error every cycle, never the end of the daemon.
    let broken: wireguard_control::InterfaceName = "broken".parse().unwrap();
    std::fs::write(client.ctx.paths.config_file(&broken), "not toml [").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let daemon = {
        let (ctx, stop) = (client.ctx.clone(), stop.clone());
        std::thread::spawn(move || run_daemon(&ctx, None, Duration::from_millis(50), &stop))
    };
    let (bob, _) = net.add_peer("bob", &humans);
    wait_for("bob to arrive", || client.has_peer(&bob.public_key));
    std::thread::sleep(Duration::from_millis(150));
    stop.store(true, Ordering::Relaxed);
    let summary = daemon.join().unwrap();
    assert!(summary.failed_cycles >= 2, "{summary:?}");
    assert!(summary.reachable_cycles >= 2, "{summary:?}");

    // Nothing installed: it waits instead of exiting.
    let empty = net.client(net.pick("10.66.1.250", "fd00:66::1:0:0:250"));
    let stop = Arc::new(AtomicBool::new(false));
    let daemon = {
        let (ctx, stop) = (empty.ctx.clone(), stop.clone());
        std::thread::spawn(move || run_daemon(&ctx, None, Duration::from_millis(50), &stop))
    };
    std::thread::sleep(Duration::from_millis(150));
    assert!(!daemon.is_finished());
    stop.store(true, Ordering::Relaxed);
    let summary = daemon.join().unwrap();
    assert!(summary.rounds >= 2, "{summary:?}");
    assert_eq!(summary.reachable_cycles + summary.failed_cycles, 0);
}
