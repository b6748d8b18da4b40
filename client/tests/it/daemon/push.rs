//! `up --daemon` against a server that pushes changes (`/v2`): with an interval of an hour, a
//! change still reaches the interface — only the long poll can have brought it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wiremesh::daemon::{run_daemon, DaemonSummary};

use crate::support::testnet::*;

fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `client`'s daemon with an hourly interval and waits until its long poll waits on
/// the server; set the flag to stop it.
fn hourly_daemon(
    net: &TestNet,
    client: &TestClient,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<DaemonSummary>) {
    let stop = Arc::new(AtomicBool::new(false));
    let reported = net.requests("PUT /v1/user/candidates");
    let daemon = {
        let (ctx, stop) = (client.ctx.clone(), stop.clone());
        std::thread::spawn(move || run_daemon(&ctx, None, Duration::from_secs(3600), &stop))
    };
    wait_for("the daemon's long poll to wait on the server", || {
        net.service.waiting() > 0
    });
    // The watcher starts before the first cycle ends; that cycle's candidate report must be
    // in before a test counts requests.
    wait_for("the daemon's first cycle to report its candidates", || {
        net.requests("PUT /v1/user/candidates") > reported
    });
    (stop, daemon)
}

#[test]
fn pushed_changes_arrive_without_waiting_for_the_interval() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (client, _) = net.join("laptop", &humans);
        let (stop, daemon) = hourly_daemon(&net, &client);

        let fetched = net.requests("GET /v1/user/state");
        let candidates = net.requests("PUT /v1/user/candidates");

        let (bob, _) = net.add_peer("bob", &humans);
        wait_for("bob to be pushed to the laptop", || {
            client.has_peer(&bob.public_key)
        });
        net.service.set_disabled(bob.id, true).unwrap();
        wait_for("bob's removal to be pushed", || {
            !client.has_peer(&bob.public_key)
        });

        // Both changes came as deltas: applying them fetched no state and, with the host's
        // addresses unchanged, reported no candidates.
        assert_eq!(
            net.requests("GET /v1/user/state"),
            fetched,
            "state was refetched"
        );
        assert_eq!(net.requests("PUT /v1/user/candidates"), candidates);
        assert!(net.requests("GET /v2/user/state") >= 3);

        stop.store(true, Ordering::Relaxed);
        let summary = daemon.join().unwrap();
        assert!(summary.reachable_cycles >= 3, "{summary:?}");
    }
}

#[test]
fn a_watcher_resumes_after_an_outage_and_brings_what_changed_meanwhile() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (client, _) = net.join("laptop", &humans);
    let (stop, daemon) = hourly_daemon(&net, &client);
    // Let the first cycles settle (the daemon's first report may still be pushed back), so
    // nothing is due when the server goes away.
    std::thread::sleep(Duration::from_millis(500));
    wait_for("the long poll to wait again", || net.service.waiting() > 0);
    let laptop_ip = net.peer("laptop").ip;
    net.stop_listener(laptop_ip);
    let (carol, _) = net.add_peer("carol", &humans);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!client.has_peer(&carol.public_key), "the server was down");
    let fetched = net.requests("GET /v1/user/state");
    net.restart_listener(laptop_ip);
    wait_for("carol to arrive once the server is back", || {
        client.has_peer(&carol.public_key)
    });
    assert_eq!(
        net.requests("GET /v1/user/state"),
        fetched,
        "the watcher's resumed long poll brought the change, not a fetch"
    );
    stop.store(true, Ordering::Relaxed);
    daemon.join().unwrap();
}
