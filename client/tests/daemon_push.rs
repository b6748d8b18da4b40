//! `up --daemon` against a server that pushes changes (`/v2`): with an interval of an hour, a
//! change still reaches the interface — only the long poll can have brought it.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use wiremesh::daemon::run_daemon;

fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pushed_changes_arrive_without_waiting_for_the_interval() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (client, _) = net.join("laptop", &humans);
        let stop = Arc::new(AtomicBool::new(false));
        let daemon = {
            let (ctx, stop) = (client.ctx.clone(), stop.clone());
            std::thread::spawn(move || run_daemon(&ctx, None, Duration::from_secs(3600), &stop))
        };
        wait_for("the daemon's long poll to wait on the server", || {
            net.service.waiting() > 0
        });

        let (bob, _) = net.add_peer("bob", &humans);
        wait_for("bob to be pushed to the laptop", || {
            client.has_peer(&bob.public_key)
        });
        net.service.set_disabled(bob.id, true).unwrap();
        wait_for("bob's removal to be pushed", || {
            !client.has_peer(&bob.public_key)
        });

        stop.store(true, Ordering::Relaxed);
        let summary = daemon.join().unwrap();
        assert!(summary.reachable_cycles >= 3, "{summary:?}");
    }
}
