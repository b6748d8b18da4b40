//! The fetch cycle against a live server: peers appearing, leaving and changing visibility,
//! local endpoint overrides and NAT candidate reporting.

use std::fs;

use wiremesh::files;
use wiremesh::ClientError;
use wiremesh_shared::config::PeerCache;
use wiremesh_shared::Endpoint;

use crate::support::testnet::*;

#[test]
fn a_peer_added_on_the_server_appears_after_one_sync() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (client, _) = net.join("laptop", &humans);
        let (bob, _) = net.add_peer("bob", &humans);
        assert!(!client.has_peer(&bob.public_key));

        let report = client.sync().unwrap();
        assert!(report.server_reachable && !report.brought_up);
        assert_eq!((report.added, report.modified, report.removed), (1, 0, 0));
        let on_device = client.device().peer(&bob.public_key).cloned().unwrap();
        assert_eq!(on_device.config.allowed_ips, [host_net(bob.ip)]);
        assert_eq!(
            on_device.config.endpoint,
            bob.endpoint.as_ref().unwrap().to_socket_addr()
        );
        assert_eq!(on_device.config.persistent_keepalive_interval, Some(25));
        assert!(report.hosts_written);
        assert!(client
            .hosts()
            .contains(&format!("{} bob.testnet.wg\n", bob.ip)));

        // A second sync changes nothing and leaves the hosts file alone.
        let updates_before = client.backend.applied_updates(&client.iface).len();
        let report = client.sync().unwrap();
        assert!(!report.changed(), "{report:?}");
        assert!(!report.hosts_written);
        let updates_after = client.backend.applied_updates(&client.iface).len();
        // Only NAT traversal may touch the device (it re-sets endpoints of unconnected peers).
        assert!(
            client.backend.applied_updates(&client.iface)[updates_before..updates_after]
                .iter()
                .all(|u| u.peers.iter().all(|p| p.update_only))
        );
    }
}

#[test]
fn a_disabled_peer_is_removed_and_stays_pinned_in_the_cache() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let (bob, _) = net.add_peer("bob", &humans);
        let (client, _) = net.join("laptop", &humans);
        assert!(client.has_peer(&bob.public_key));

        net.service.set_disabled(bob.id, true).unwrap();
        let report = client.sync().unwrap();
        assert_eq!((report.added, report.removed), (0, 1));
        assert!(!client.has_peer(&bob.public_key));
        assert!(!client.hosts().contains("bob."), "{}", client.hosts());
        let cache = files::load_cache(&client.ctx.paths, &client.iface)
            .unwrap()
            .unwrap();
        let cached_bob = cache.peers.iter().find(|p| p.ip == bob.ip).unwrap();
        assert!(cached_bob.is_disabled, "kept in the cache, marked disabled");

        net.service.set_disabled(bob.id, false).unwrap();
        let report = client.sync().unwrap();
        assert_eq!(report.added, 1);
        assert!(client.has_peer(&bob.public_key));
    }
}

#[test]
fn associations_add_and_remove_peers() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let robots = net.robots();
        let (bot, _) = net.add_peer("bot", &robots);
        let (client, _) = net.join("laptop", &humans);
        assert!(!client.has_peer(&bot.public_key));

        let association = net.associate(&humans, &robots);
        let report = client.sync().unwrap();
        assert_eq!(report.added, 1);
        assert_eq!(
            client
                .device()
                .peer(&bot.public_key)
                .unwrap()
                .config
                .allowed_ips,
            [host_net(bot.ip)]
        );

        net.service.delete_association(association.id).unwrap();
        let report = client.sync().unwrap();
        assert_eq!(report.removed, 1);
        assert!(!client.has_peer(&bot.public_key));
        assert_eq!(client.peer_keys().len(), 1, "only the server is left");
    }
}

#[test]
fn local_endpoint_overrides_replace_the_servers_endpoint() {
    let net = TestNet::new(Family::V4);
    let humans = net.humans();
    let (bob, _) = net.add_peer("bob", &humans);
    let (client, _) = net.join("laptop", &humans);

    let mut config = files::load_config(&client.ctx.paths, &client.iface).unwrap();
    let relay: Endpoint = "198.51.100.99:4444".parse().unwrap();
    config.peer_endpoint_overrides.insert(bob.ip, relay.clone());
    let path = files::save_config(&client.ctx.paths, &client.iface, &config).unwrap();
    assert_eq!(
        fs::metadata(&path)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .unwrap(),
        0o600
    );

    let report = client.sync().unwrap();
    assert_eq!(report.modified, 1);
    assert_eq!(
        client
            .device()
            .peer(&bob.public_key)
            .unwrap()
            .config
            .endpoint,
        relay.to_socket_addr()
    );
    assert!(
        report.nat.is_none(),
        "overridden peers are not traversed: {report:?}"
    );
    // The cache keeps what the server said.
    let cache = files::load_cache(&client.ctx.paths, &client.iface)
        .unwrap()
        .unwrap();
    assert_eq!(
        cache
            .peers
            .iter()
            .find(|p| p.ip == bob.ip)
            .unwrap()
            .endpoint,
        bob.endpoint
    );
}

#[test]
fn nat_candidates_are_reported_to_the_server() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let (client, report) = net.join("laptop", &net.humans());
        let port = client.device().listen_port.unwrap();
        assert_eq!(report.sync.unwrap().candidates_reported, Some(2));
        let laptop = net.service.model().peer_by_name("laptop").cloned().unwrap();
        let expected: Vec<Endpoint> = [
            format!("198.51.100.7:{port}"),
            format!("[2606:4700::7]:{port}"),
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(laptop.candidates, expected);

        // Exclusions apply; with candidates off the list is cleared.
        let mut client = client;
        client.ctx.nat.exclude = vec!["2606:4700::/32".parse().unwrap()];
        assert_eq!(client.sync().unwrap().candidates_reported, Some(1));
        assert_eq!(net.peer("laptop").candidates, expected[..1]);
        client.ctx.nat.no_candidates = true;
        assert_eq!(client.sync().unwrap().candidates_reported, Some(0));
        assert!(net.peer("laptop").candidates.is_empty());
    }
}

#[test]
fn fetch_needs_the_interface_up_and_down_needs_it_too() {
    let net = TestNet::new(Family::V4);
    let (client, _) = net.join("laptop", &net.humans());
    wiremesh::interface::down(&client.ctx, &client.iface).unwrap();
    let error = client.sync().unwrap_err();
    assert!(matches!(error, ClientError::NotUp { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "interface testnet is not up: run `wiremesh up testnet`"
    );
    let error = wiremesh::interface::down(&client.ctx, &client.iface).unwrap_err();
    assert!(
        matches!(error, ClientError::AlreadyDown { .. }),
        "{error:?}"
    );

    // `up` brings it back with everything, hosts file included.
    fs::write(&client.hosts_path, "127.0.0.1 localhost\n").unwrap();
    let report = client.up().unwrap();
    assert!(report.brought_up && report.server_reachable && report.hosts_written);
    assert_eq!(client.peer_keys().len(), 1);
    let config = files::load_config(&client.ctx.paths, &client.iface).unwrap();
    assert_eq!(
        client.device().private_key,
        Some(config.interface.private_key)
    );

    // Not installed at all.
    let other = net.client(net.pick("10.66.1.200", "fd00:66::1:0:0:200"));
    let error = other.up().unwrap_err();
    assert!(
        matches!(error, ClientError::NotInstalled { .. }),
        "{error:?}"
    );
    let results = wiremesh::sync::up_all(&other.ctx, None).unwrap();
    assert!(results.is_empty());
    let results = wiremesh::sync::up_all(&client.ctx, None).unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].1.is_ok());
}

#[test]
fn cache_file_matches_what_was_applied() {
    let net = TestNet::new(Family::V6);
    let humans = net.humans();
    let (client, _) = net.join("laptop", &humans);
    let (bob, _) = net.add_peer("bob", &humans);
    client.sync().unwrap();
    let text = fs::read_to_string(client.cache_path()).unwrap();
    assert!(text.starts_with("{\n  \"version\": \"1\""), "{text}");
    let cache = PeerCache::from_json_str(&text).unwrap();
    assert!(cache.peers.iter().any(|p| p.public_key == bob.public_key));
    assert_eq!(cache.cidrs.len(), net.service.cidrs().len());
}
