//! The fetch cycle when things go wrong: an unreachable server (interface up, and at boot),
//! a server offering a re-keyed peer, and a corrupt peer cache.

use std::fs;

use wireguard_control::{Backend, DeviceUpdate, PeerUpdate, PrivateKey};
use wiremesh::files;
use wiremesh::ClientError;
use wiremesh_shared::config::PeerCache;

use crate::support::testnet::*;

#[test]
fn unreachable_server_leaves_a_running_interface_untouched() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (bob, _) = net.add_peer("bob", &humans);
        let (client, _) = net.join("laptop", &humans);
        net.service.set_disabled(bob.id, true).unwrap();
        let (carol, _) = net.add_peer("carol", &humans);
        net.stop_listener(client.ip);

        let device_before = client.device();
        let updates_before = client.backend.applied_updates(&client.iface).len();
        let hosts_before = client.hosts();
        let cache_before = fs::read(client.cache_path()).unwrap();
        let report = client.sync().unwrap();
        assert!(!report.server_reachable && !report.brought_up, "{report:?}");
        assert!(!report.changed());
        assert_eq!(client.device(), device_before);
        assert_eq!(
            client.backend.applied_updates(&client.iface).len(),
            updates_before,
            "no update at all"
        );
        assert_eq!(client.hosts(), hosts_before);
        assert_eq!(fs::read(client.cache_path()).unwrap(), cache_before);
        assert!(client.has_peer(&bob.public_key) && !client.has_peer(&carol.public_key));
        assert!(
            report.summary().contains("server unreachable"),
            "{}",
            report.summary()
        );

        // Once the server is back, the changes arrive.
        net.restart_listener(client.ip);
        let report = client.sync().unwrap();
        assert!(report.server_reachable);
        assert!(!client.has_peer(&bob.public_key) && client.has_peer(&carol.public_key));
    }
}

#[test]
fn unreachable_server_at_boot_starts_from_the_cache_without_disabled_peers() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (bob, _) = net.add_peer("bob", &humans);
        let (carol, _) = net.add_peer("carol", &humans);
        let (client, _) = net.join("laptop", &humans);
        net.service.set_disabled(carol.id, true).unwrap();
        client.sync().unwrap();
        let cache = files::load_cache(&client.ctx.paths, &client.iface)
            .unwrap()
            .unwrap();
        assert!(cache
            .peers
            .iter()
            .any(|p| p.ip == carol.ip && p.is_disabled));

        // Reboot: the interface is gone, the server unreachable.
        client.backend.delete(&client.iface).unwrap();
        fs::write(&client.hosts_path, "127.0.0.1 localhost\n").unwrap();
        net.stop_listener(client.ip);
        let report = client.up().unwrap();
        assert!(report.brought_up && !report.server_reachable, "{report:?}");
        assert!(!report.cache_saved);
        assert!(client.has_peer(&bob.public_key));
        assert!(
            !client.has_peer(&carol.public_key),
            "a disabled cached peer must not come back"
        );
        assert_eq!(
            client
                .device()
                .peer(&bob.public_key)
                .unwrap()
                .config
                .allowed_ips,
            [host_net(bob.ip)]
        );
        let hosts = client.hosts();
        assert!(
            hosts.contains("bob.testnet.wg") && !hosts.contains("carol."),
            "{hosts}"
        );

        // Without a cache there is nothing to start from.
        client.backend.delete(&client.iface).unwrap();
        fs::remove_file(client.cache_path()).unwrap();
        let error = client.up().unwrap_err();
        assert!(
            matches!(error, ClientError::UnreachableNoCache { .. }),
            "{error:?}"
        );
        assert!(error.is_unreachable());
        assert!(error.to_string().contains("no peer cache"), "{error}");
    }
}

#[test]
fn a_rekeyed_peer_is_refused_and_the_others_applied() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (bob, _) = net.add_peer("bob", &humans);
        let (client, _) = net.join("laptop", &humans);

        // Simulate a server that re-keyed bob: the client pinned (and runs) another key for
        // bob's address than the one the server now offers.
        let pinned = PrivateKey::generate().public_key();
        let mut cache = files::load_cache(&client.ctx.paths, &client.iface)
            .unwrap()
            .unwrap();
        cache
            .peers
            .iter_mut()
            .find(|p| p.ip == bob.ip)
            .unwrap()
            .contents
            .public_key = pinned;
        files::save_cache(&client.ctx.paths, &client.iface, &cache).unwrap();
        let swap = DeviceUpdate::new().remove_peer(bob.public_key).add_peer(
            PeerUpdate::new(pinned)
                .replace_allowed_ips([host_net(bob.ip)])
                .set_persistent_keepalive_interval(25),
        );
        client.backend.apply(&client.iface, &swap).unwrap();
        let (dave, _) = net.add_peer("dave", &humans);

        let report = client.sync().unwrap();
        assert_eq!(report.pinning_violations.len(), 1, "{report:?}");
        let violation = &report.pinning_violations[0];
        assert_eq!((violation.ip, violation.name.as_str()), (bob.ip, "bob"));
        assert_eq!(
            (violation.pinned, violation.offered),
            (pinned, bob.public_key)
        );
        assert!(violation.to_string().contains("\"bob\""), "{violation}");
        assert!(
            report.summary().contains("refused by key pinning"),
            "{}",
            report.summary()
        );
        // bob stays as pinned; dave arrives.
        assert!(client.has_peer(&pinned) && !client.has_peer(&bob.public_key));
        assert_eq!(
            client.device().peer(&pinned).unwrap().config.allowed_ips,
            [host_net(bob.ip)]
        );
        assert!(client.has_peer(&dave.public_key));
        assert_eq!(report.added, 1);
        let cache = files::load_cache(&client.ctx.paths, &client.iface)
            .unwrap()
            .unwrap();
        assert_eq!(
            cache
                .peers
                .iter()
                .find(|p| p.ip == bob.ip)
                .unwrap()
                .public_key,
            pinned,
            "the pin survives"
        );
    }
}

#[test]
fn a_corrupt_cache_is_reported_moved_aside_and_refetched() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (bob, _) = net.add_peer("bob", &humans);
    let (client, _) = net.join("laptop", &humans);
    fs::write(client.cache_path(), "{ this is not json").unwrap();

    let error = files::load_cache(&client.ctx.paths, &client.iface).unwrap_err();
    assert!(
        matches!(error, ClientError::CorruptCache { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&client.cache_path().display().to_string()),
        "{error}"
    );

    let report = client.sync().unwrap();
    let Some(ClientError::CorruptCache {
        path,
        moved_to: Some(moved_to),
        ..
    }) = &report.cache_error
    else {
        panic!("expected a corrupt-cache error in {report:?}");
    };
    assert_eq!(path, &client.cache_path());
    assert_eq!(fs::read_to_string(moved_to).unwrap(), "{ this is not json");
    let message = report.cache_error.as_ref().unwrap().to_string();
    assert!(
        message.contains(&client.cache_path().display().to_string()) && message.contains("fresh"),
        "{message}"
    );
    assert!(report.server_reachable && report.cache_saved);
    let cache =
        PeerCache::from_json_str(&fs::read_to_string(client.cache_path()).unwrap()).unwrap();
    assert!(cache.peers.iter().any(|p| p.public_key == bob.public_key));
    assert!(client.has_peer(&bob.public_key));

    // The next cycle is clean.
    assert!(client.sync().unwrap().cache_error.is_none());
}
