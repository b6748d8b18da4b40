//! The fetch cycle when things go wrong: an unreachable server (interface up, and at boot),
//! a server offering a re-keyed peer, and a corrupt peer cache.

use std::fs;
use std::time::{Duration, SystemTime};

use wireguard_control::{Backend, DeviceUpdate, PeerUpdate, PrivateKey};
use wiremesh::files;
use wiremesh::ClientError;
use wiremesh_shared::wire::Peer;

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

/// The resurrection rule: a host that was away while a peer was disabled, and then boots
/// while the server is unreachable, must not bring that peer back from its stale cache. A
/// cache the server last confirmed more than `--max-cache-age` (7 days by default) ago
/// brings up the server peer alone; once the server answers, everything else follows.
#[test]
fn a_stale_cache_at_boot_without_the_server_brings_up_only_the_server() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (bob, _) = net.add_peer("bob", &humans);
        let (client, _) = net.join("laptop", &humans);
        client.sync().unwrap();
        assert!(client.has_peer(&bob.public_key));
        let server_key = files::load_config(&client.ctx.paths, &client.iface)
            .unwrap()
            .server
            .public_key;

        // Away for eight days, during which bob was disabled; back while the server is down.
        net.service.set_disabled(bob.id, true).unwrap();
        let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 86_400);
        fs::File::options()
            .write(true)
            .open(client.cache_path())
            .and_then(|cache| cache.set_modified(eight_days_ago))
            .unwrap();
        client.backend.delete(&client.iface).unwrap();
        net.stop_listener(client.ip);
        let report = client.up().unwrap();
        assert!(report.brought_up && !report.server_reachable, "{report:?}");
        assert_eq!(report.held_back, 1, "{report:?}");
        assert!(report.stale_cache.is_some(), "{report:?}");
        assert!(
            report.summary().contains(
                "1 peer(s) held back: the server last confirmed the peer cache 8 days ago"
            ),
            "{}",
            report.summary()
        );
        assert!(!client.has_peer(&bob.public_key), "bob must not come back");
        assert!(client.has_peer(&server_key));
        assert!(!client.hosts().contains("bob."), "{}", client.hosts());

        // A cache within the limit is used whole (the documented trade-off).
        client.backend.delete(&client.iface).unwrap();
        let report = client.up().unwrap();
        assert!(!report.server_reachable && report.stale_cache.is_some());
        let six_days_ago = SystemTime::now() - Duration::from_secs(6 * 86_400);
        fs::File::options()
            .write(true)
            .open(client.cache_path())
            .and_then(|cache| cache.set_modified(six_days_ago))
            .unwrap();
        client.backend.delete(&client.iface).unwrap();
        let report = client.up().unwrap();
        assert!(
            report.stale_cache.is_none() && report.held_back == 0,
            "{report:?}"
        );
        assert!(
            client.has_peer(&bob.public_key),
            "within the limit the cache is trusted"
        );

        // The server answers again: bob goes, and the cache is confirmed (rewritten) now.
        net.restart_listener(client.ip);
        let report = client.sync().unwrap();
        assert!(report.server_reachable, "{report:?}");
        assert!(!client.has_peer(&bob.public_key));
        let age = SystemTime::now()
            .duration_since(
                fs::metadata(client.cache_path())
                    .unwrap()
                    .modified()
                    .unwrap(),
            )
            .unwrap_or_default();
        assert!(age < Duration::from_secs(60), "{age:?}");
    }
}

#[test]
fn a_rekeyed_peer_is_refused_and_the_others_applied() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (bob, _) = net.add_peer("bob", &humans);
        let (client, _) = net.join("laptop", &humans);

        let pinned = pin_another_key(&client, &bob);
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

/// Simulates a server that re-keyed `peer` behind the client's back: the client pinned (and
/// runs) another key for its address than the one the server offers. Returns that key.
fn pin_another_key(client: &TestClient, peer: &Peer) -> wireguard_control::PublicKey {
    let pinned = PrivateKey::generate().public_key();
    let mut cache = files::load_cache(&client.ctx.paths, &client.iface)
        .unwrap()
        .unwrap();
    cache
        .peers
        .iter_mut()
        .find(|p| p.ip == peer.ip)
        .unwrap()
        .contents
        .public_key = pinned;
    files::save_cache(&client.ctx.paths, &client.iface, &cache).unwrap();
    let swap = DeviceUpdate::new().remove_peer(peer.public_key).add_peer(
        PeerUpdate::new(pinned)
            .replace_allowed_ips([host_net(peer.ip)])
            .set_persistent_keepalive_interval(25),
    );
    client.backend.apply(&client.iface, &swap).unwrap();
    pinned
}

/// A peer cache that does not parse, or cannot be read, never downgrades pinning: peers the
/// interface already holds with the same key are still applied, a re-keyed or new peer is
/// held back and reported, the file is left as it is, and the error says what to do. After
/// `reset-cache` (the cache set aside) the next sync trusts the server, as at install.
#[test]
fn an_unusable_cache_holds_back_what_it_cannot_check() {
    for unusable in ["corrupt", "unreadable"] {
        let net = TestNet::new(Family::V4);
        let humans = net.humans();
        let (alice, _) = net.add_peer("alice", &humans);
        let (bob, _) = net.add_peer("bob", &humans);
        let (client, _) = net.join("laptop", &humans);
        let pinned = pin_another_key(&client, &bob);
        let (carol, _) = net.add_peer("carol", &humans);
        let cache_path = client.cache_path();
        if unusable == "corrupt" {
            fs::write(&cache_path, "{ this is not json").unwrap();
        } else {
            // Root reads any file, so a directory stands in for an unreadable one.
            fs::remove_file(&cache_path).unwrap();
            fs::create_dir(&cache_path).unwrap();
        }
        let error = files::load_cache(&client.ctx.paths, &client.iface).unwrap_err();
        match unusable {
            "corrupt" => assert!(
                matches!(error, ClientError::CorruptCache { .. }),
                "{error:?}"
            ),
            _ => assert!(
                matches!(error, ClientError::CacheUnreadable { .. }),
                "{error:?}"
            ),
        }

        let report = client.sync().unwrap();
        assert!(report.server_reachable, "{report:?}");
        let message = report.cache_error.as_ref().expect("reported").to_string();
        assert!(
            message.contains(&cache_path.display().to_string())
                && message.contains("wiremesh reset-cache testnet"),
            "{message}"
        );
        assert_eq!(
            report.held_back, 2,
            "bob re-keyed and carol new: {report:?}"
        );
        assert!(
            report.summary().contains("2 peer(s) held back"),
            "{}",
            report.summary()
        );
        assert!(
            client.has_peer(&alice.public_key),
            "alice is on the interface with her key"
        );
        assert!(
            !client.has_peer(&bob.public_key),
            "the re-keyed offer is refused"
        );
        assert!(
            !client.has_peer(&carol.public_key),
            "a new peer waits for the operator"
        );
        assert!(!report.cache_saved);
        match unusable {
            "corrupt" => assert_eq!(
                fs::read_to_string(&cache_path).unwrap(),
                "{ this is not json"
            ),
            _ => assert!(cache_path.is_dir()),
        }
        // Every cycle says so again until the operator decides.
        assert_eq!(client.sync().unwrap().held_back, 2);

        if unusable == "unreadable" {
            fs::remove_dir(&cache_path).unwrap();
        } else {
            let aside = files::set_cache_aside(&client.ctx.paths, &client.iface)
                .unwrap()
                .expect("moved");
            assert_eq!(fs::read_to_string(aside).unwrap(), "{ this is not json");
        }
        let report = client.sync().unwrap();
        assert!(
            report.cache_error.is_none() && report.cache_saved,
            "{report:?}"
        );
        assert_eq!(report.held_back, 0);
        assert!(client.has_peer(&bob.public_key) && !client.has_peer(&pinned));
        assert!(client.has_peer(&carol.public_key));
    }
}

/// A peer's endpoint that is a name resolving into the mesh network is not used (the tunnel
/// would carry itself), like a literal address there; one resolving outside it is.
#[test]
fn an_endpoint_name_resolving_into_the_mesh_is_not_used() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (bob, _) = net.add_peer("bob", &humans);
    let (carol, _) = net.add_peer("carol", &humans);
    for (peer, name) in [
        (&bob, "inside.example:51820"),
        (&carol, "outside.example:51820"),
    ] {
        net.service
            .set_endpoint(
                peer,
                wiremesh_shared::wire::EndpointContents::Set(name.parse().unwrap()),
            )
            .unwrap();
    }
    let invitation = net.invite("laptop", &humans);
    let mut client = net.client(invitation.peer.ip);
    client.ctx.resolve =
        std::sync::Arc::new(|endpoint: &wiremesh_shared::Endpoint| {
            match endpoint.host().to_string().as_str() {
                "inside.example" => Some("10.66.0.9:51820".parse().unwrap()),
                "outside.example" => Some("192.0.2.99:51820".parse().unwrap()),
                _ => endpoint.to_socket_addr(),
            }
        });
    wiremesh::install::install(&client.ctx, &invitation.path, &Default::default()).unwrap();
    let device = client.device();
    assert_eq!(device.peer(&bob.public_key).unwrap().config.endpoint, None);
    assert_eq!(
        device.peer(&carol.public_key).unwrap().config.endpoint,
        Some("192.0.2.99:51820".parse().unwrap())
    );
}

/// Whether the hosts file needs writing is decided against the file, not the cache: a write
/// that failed is done by the next sync even when no peer changed.
#[test]
fn a_hosts_file_that_could_not_be_written_is_written_by_the_next_sync() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    net.add_peer("bob", &humans);
    let invitation = net.invite("laptop", &humans);
    let mut client = net.client(invitation.peer.ip);
    let later = client.ctx.paths.config_dir.with_file_name("etc-later");
    let hosts = later.join("hosts");
    client.ctx.hosts.path = Some(hosts.clone());
    wiremesh::install::install(&client.ctx, &invitation.path, &Default::default()).unwrap();
    assert!(!hosts.exists(), "its directory does not exist yet");

    fs::create_dir(&later).unwrap();
    let report = client.sync().unwrap();
    assert!(!report.changed());
    assert!(report.hosts_written, "{report:?}");
    assert!(fs::read_to_string(&hosts)
        .unwrap()
        .contains("bob.testnet.wg"));
    assert!(!client.sync().unwrap().hosts_written, "then left alone");
}
