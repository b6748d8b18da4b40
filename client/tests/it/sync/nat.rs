//! NAT traversal during a sync: candidates tried in order on the (fake) interface, stopping
//! when the peer handshakes, and never running past the time budget.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{InterfaceName, PublicKey};
use wiremesh_shared::Endpoint;

use crate::support::testnet::*;

/// The endpoints set for `key` by NAT traversal steps (update-only peer updates), in order.
fn traversal_endpoints(
    backend: &FakeBackend,
    iface: &InterfaceName,
    key: &PublicKey,
) -> Vec<SocketAddr> {
    backend
        .applied_updates(iface)
        .iter()
        .flat_map(|u| u.peers.iter())
        .filter(|p| &p.public_key == key && p.update_only)
        .filter_map(|p| p.endpoint)
        .collect()
}

pub(super) fn candidates(net: &TestNet, count: u8) -> Vec<Endpoint> {
    (1..=count)
        .map(|i| {
            net.pick(
                &format!("192.168.7.{i}:51820"),
                &format!("[2606:4700:7::{i}]:51820"),
            )
        })
        .collect()
}

#[test]
fn candidates_are_tried_from_the_back_and_the_endpoint_last() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (client, _) = net.join("laptop", &humans);
        let (bob, _) = net.add_peer("bob", &humans);
        let tried = candidates(&net, 3);
        net.service.set_candidates(&bob, tried.clone()).unwrap();

        let report = client.sync().unwrap();
        let outcome = report.nat.expect("traversal ran");
        assert_eq!(outcome.peers, 1);
        assert!(!outcome.budget_exhausted);
        assert_eq!(outcome.connected, 0);
        let endpoint = bob.endpoint.as_ref().unwrap().to_socket_addr().unwrap();
        let expected: Vec<SocketAddr> = [&tried[2], &tried[1], &tried[0]]
            .iter()
            .map(|e| e.to_socket_addr().unwrap())
            .chain([endpoint])
            .collect();
        assert_eq!(
            traversal_endpoints(&client.backend, &client.iface, &bob.public_key),
            expected
        );
        assert_eq!(
            client
                .device()
                .peer(&bob.public_key)
                .unwrap()
                .config
                .endpoint,
            Some(endpoint)
        );
    }
}

#[test]
fn a_handshake_ends_the_traversal() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (client, _) = net.join("laptop", &humans);
    let (bob, _) = net.add_peer("bob", &humans);
    let tried = candidates(&net, 5);
    net.service.set_candidates(&bob, tried.clone()).unwrap();
    let first = tried[4].to_socket_addr().unwrap();

    // A "remote peer" that answers as soon as the first candidate is set.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (backend, iface, key, done) = (
            client.backend.clone(),
            client.iface.clone(),
            bob.public_key,
            done.clone(),
        );
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if traversal_endpoints(&backend, &iface, &key).contains(&first) {
                    backend.set_handshake(&iface, &key, Some(SystemTime::now()));
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let report = client.sync().unwrap();
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();

    let outcome = report.nat.expect("traversal ran");
    assert_eq!((outcome.steps, outcome.connected), (1, 1), "{outcome:?}");
    assert_eq!(
        traversal_endpoints(&client.backend, &client.iface, &bob.public_key),
        [first]
    );
    assert_eq!(
        client
            .device()
            .peer(&bob.public_key)
            .unwrap()
            .config
            .endpoint,
        Some(first),
        "the working one stays"
    );

    // A connected peer is not traversed again.
    let report = client.sync().unwrap();
    assert!(report.nat.is_none(), "{report:?}");
}

#[test]
fn traversal_stays_within_its_budget_and_restores_the_endpoint() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (mut client, _) = net.join("laptop", &humans);
        client.ctx.timings.nat_budget = Duration::from_millis(200);
        let (bob, _) = net.add_peer("bob", &humans);
        net.service
            .set_candidates(&bob, candidates(&net, 10))
            .unwrap();

        let started = Instant::now();
        let report = client.sync().unwrap();
        let took = started.elapsed();
        let outcome = report.nat.expect("traversal ran");
        assert!(outcome.budget_exhausted, "{outcome:?}");
        // Generous slack for loaded machines; the point is "about the budget, not 11 steps".
        assert!(
            outcome.elapsed < Duration::from_millis(200 + 250),
            "{outcome:?}"
        );
        assert!(
            took < Duration::from_secs(2),
            "the whole sync took {took:?}"
        );
        let steps = traversal_endpoints(&client.backend, &client.iface, &bob.public_key);
        assert!(
            (1..10).contains(&outcome.steps),
            "not every candidate was tried: {outcome:?}"
        );
        assert_eq!(
            steps.len(),
            outcome.steps + 1,
            "each step plus the restore: {steps:?}"
        );
        let endpoint = bob.endpoint.as_ref().unwrap().to_socket_addr();
        assert_eq!(
            client
                .device()
                .peer(&bob.public_key)
                .unwrap()
                .config
                .endpoint,
            endpoint,
            "restored"
        );

        // With traversal off nothing is tried.
        client.ctx.nat.no_traversal = true;
        let before = traversal_endpoints(&client.backend, &client.iface, &bob.public_key).len();
        let report = client.sync().unwrap();
        assert!(report.nat.is_none());
        assert_eq!(
            traversal_endpoints(&client.backend, &client.iface, &bob.public_key).len(),
            before
        );
    }
}

#[test]
fn a_pushed_change_interrupts_the_traversal_and_a_later_sync_resumes_it() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (mut client, _) = net.join("laptop", &humans);
    // Steps long enough that only the interruption can end this traversal soon.
    client.ctx.timings.nat_step = Duration::from_secs(600);
    client.ctx.timings.nat_budget = Duration::from_secs(3600);
    let interrupt = Arc::new(AtomicBool::new(true));
    client.ctx.interrupt = Some(interrupt.clone());
    let (bob, _) = net.add_peer("bob", &humans);
    net.service
        .set_candidates(&bob, candidates(&net, 3))
        .unwrap();

    let report = client.sync().unwrap();
    let outcome = report.nat.expect("traversal started");
    assert!(outcome.interrupted, "{outcome:?}");
    assert_eq!(outcome.steps, 0, "{outcome:?}");
    assert!(traversal_endpoints(&client.backend, &client.iface, &bob.public_key).is_empty());

    // Once the change is applied, the next sync tries bob's candidates again.
    interrupt.store(false, Ordering::Relaxed);
    client.ctx.timings.nat_step = Duration::from_millis(20);
    let report = client.sync().unwrap();
    let outcome = report.nat.expect("traversal resumed");
    assert!(!outcome.interrupted);
    assert_eq!(
        outcome.steps, 4,
        "three candidates, then the endpoint: {outcome:?}"
    );
}

/// Fails the second NAT step (an update-only change of endpoints) once.
struct FailingSecondStep {
    inner: FakeBackend,
    steps: std::sync::atomic::AtomicUsize,
}

impl wireguard_control::Backend for FailingSecondStep {
    fn kind(&self) -> wireguard_control::BackendKind {
        self.inner.kind()
    }
    fn list(&self) -> wireguard_control::Result<Vec<InterfaceName>> {
        self.inner.list()
    }
    fn create(
        &self,
        iface: &InterfaceName,
    ) -> wireguard_control::Result<wireguard_control::Created> {
        self.inner.create(iface)
    }
    fn get(&self, iface: &InterfaceName) -> wireguard_control::Result<wireguard_control::Device> {
        self.inner.get(iface)
    }
    fn apply(
        &self,
        iface: &InterfaceName,
        update: &wireguard_control::DeviceUpdate,
    ) -> wireguard_control::Result<()> {
        let step = !update.peers.is_empty() && update.peers.iter().all(|p| p.update_only);
        if step && self.steps.fetch_add(1, Ordering::SeqCst) == 1 {
            self.inner.fail_next_apply(iface, 5);
        }
        self.inner.apply(iface, update)
    }
    fn delete(&self, iface: &InterfaceName) -> wireguard_control::Result<()> {
        self.inner.delete(iface)
    }
}

/// A NAT step that fails still puts the peers' endpoints back: no peer is left on a
/// candidate that was being tried.
#[test]
fn a_failed_step_still_restores_the_endpoints() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (mut client, _) = net.join("laptop", &humans);
    client.ctx.backend = Arc::new(FailingSecondStep {
        inner: client.backend.clone(),
        steps: Default::default(),
    });
    let (bob, _) = net.add_peer("bob", &humans);
    net.service
        .set_candidates(&bob, candidates(&net, 3))
        .unwrap();

    let report = client.sync().unwrap();
    assert!(report.nat.is_none(), "the traversal stopped: {report:?}");
    let steps = traversal_endpoints(&client.backend, &client.iface, &bob.public_key);
    assert_eq!(steps.len(), 2, "one step, then the restore: {steps:?}");
    assert_eq!(
        client
            .device()
            .peer(&bob.public_key)
            .unwrap()
            .config
            .endpoint,
        bob.endpoint.as_ref().unwrap().to_socket_addr(),
        "restored"
    );
}
