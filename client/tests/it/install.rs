//! `install`: redeeming an invitation against a real server over loopback, and every way it
//! must fail without leaving anything behind.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use wireguard_control::Backend;
use wiremesh::install::{install, install_invitation, InstallOptions};
use wiremesh::ClientError;
use wiremesh_shared::config::{ClientConfig, PeerCache};

use crate::support::testnet::*;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_redeems_with_a_new_key_and_syncs() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let humans = net.humans();
        let robots = net.robots();
        let (alice, _) = net.add_peer("alice", &humans);
        let (bot, _) = net.add_peer("bot", &robots);
        let invitation = net.invite("laptop", &humans);
        let client = net.client(invitation.peer.ip);

        let options = InstallOptions {
            name: None,
            delete_invite: false,
        };
        let report = install(&client.ctx, &invitation.path, &options).unwrap();

        // The config holds the new key, privately.
        assert_eq!(report.config_path, client.config_path());
        assert_eq!(mode(&report.config_path), 0o600);
        let config =
            ClientConfig::from_toml_str(&fs::read_to_string(&report.config_path).unwrap()).unwrap();
        assert_ne!(
            config.interface.private_key,
            invitation.config.interface.private_key
        );
        let new_key = config.interface.private_key.public_key();

        // The server has the peer redeemed with that key.
        let laptop = net.peer("laptop");
        assert!(laptop.is_redeemed);
        assert_eq!(laptop.public_key, new_key);

        // The interface runs the new key and has exactly the visible peers.
        let device = client.device();
        assert_eq!(device.public_key, Some(new_key));
        assert_eq!(
            client.peer_keys(),
            keys_of([&net.peer("innernet-server"), &alice])
        );
        assert!(
            !client.has_peer(&bot.public_key),
            "robots are not visible to humans"
        );
        let server = device.peer(&net.server_public_key()).unwrap();
        assert_eq!(server.config.allowed_ips, [host_net(net.server_ip)]);
        assert_eq!(server.config.persistent_keepalive_interval, Some(25));
        assert_eq!(
            server.config.endpoint,
            net.external_endpoint.to_socket_addr()
        );
        let alice_on_device = device.peer(&alice.public_key).unwrap();
        assert_eq!(alice_on_device.config.allowed_ips, [host_net(alice.ip)]);
        assert_eq!(
            alice_on_device.config.endpoint,
            alice.endpoint.as_ref().unwrap().to_socket_addr()
        );
        assert!(
            device.listen_port.is_some(),
            "a random listen port was picked"
        );

        // Address, MTU and route were set.
        let calls = client.links.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            [
                LinkCall::Address(client.iface.clone(), invitation.config.interface.address),
                LinkCall::Up(client.iface.clone(), 1280),
                LinkCall::Route(client.iface.clone(), net.root),
            ]
        );

        // Cache and hosts file were written.
        assert_eq!(mode(&client.cache_path()), 0o600);
        let cache =
            PeerCache::from_json_str(&fs::read_to_string(client.cache_path()).unwrap()).unwrap();
        assert_eq!(
            keys_of(&cache.peers),
            keys_of([&net.peer("innernet-server"), &alice, &laptop])
        );
        let hosts = client.hosts();
        assert!(hosts.starts_with("127.0.0.1 localhost\n"), "{hosts}");
        assert!(
            hosts.contains(&format!("{} alice.testnet.wg\n", alice.ip)),
            "{hosts}"
        );
        assert!(
            hosts.contains(&format!("{} laptop.testnet.wg\n", laptop.ip)),
            "{hosts}"
        );
        assert!(!hosts.contains("bot."), "{hosts}");

        // The invitation stays unless asked to delete it.
        assert!(invitation.path.exists());
        assert!(!report.invitation_deleted);
        assert!(report.sync.as_ref().is_some_and(|s| s.server_reachable));
        assert!(
            report
                .hint()
                .contains("systemctl enable --now wiremesh@testnet"),
            "{}",
            report.hint()
        );

        // With delete_invite it goes.
        let (_other, report) = net.join("desktop", &humans);
        assert!(report.invitation_deleted);
        assert!(!net.dir.path().join("invitations/desktop.toml").exists());
    }
}

#[test]
fn install_under_another_name() {
    let net = TestNet::new(Family::V4);
    let invitation = net.invite("laptop", &net.humans());
    let client = net.client(invitation.peer.ip);
    let name: wireguard_control::InterfaceName = "work0".parse().unwrap();
    let options = InstallOptions {
        name: Some(name.clone()),
        delete_invite: true,
    };
    let report = install(&client.ctx, &invitation.path, &options).unwrap();
    assert_eq!(report.iface, name);
    assert!(client.ctx.paths.config_file(&name).exists());
    assert!(client.backend.exists(&name).unwrap());
    assert!(!client.is_up(), "nothing under the network's own name");
}

#[test]
fn install_of_an_invitation_read_elsewhere() {
    // `wiremesh install -`: the invitation comes from standard input, so there is no file.
    let net = TestNet::new(Family::V4);
    let invitation = net.invite("piped", &net.humans());
    let client = net.client(invitation.peer.ip);
    let text = std::fs::read_to_string(&invitation.path).unwrap();
    std::fs::remove_file(&invitation.path).unwrap();
    let parsed = wiremesh::files::parse_invitation(&text, std::path::Path::new("-")).unwrap();
    let options = InstallOptions {
        name: None,
        delete_invite: true,
    };
    let report = install_invitation(&client.ctx, parsed, None, &options).unwrap();
    assert!(!report.invitation_deleted);
    assert!(report.sync.is_some(), "{:?}", report.sync_error);
    assert!(client.is_up());
    assert!(net.peer("piped").is_redeemed);
}

#[test]
fn malformed_invitation_is_refused_and_left_alone() {
    let net = TestNet::new(Family::V4);
    let invitation = net.invite("laptop", &net.humans());
    let client = net.client(invitation.peer.ip);
    let garbage = "[interface]\nnetwork-name = \"testnet\"\naddress = \"not an address\"\n";
    fs::write(&invitation.path, garbage).unwrap();

    let error = install(&client.ctx, &invitation.path, &InstallOptions::default()).unwrap_err();
    assert!(matches!(error, ClientError::Parse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&invitation.path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("\"address\""), "{message}");
    assert_eq!(fs::read_to_string(&invitation.path).unwrap(), garbage);
    assert!(!client.config_path().exists());
    assert!(client.backend.list().unwrap().is_empty());
    assert!(!net.peer("laptop").is_redeemed);
}

#[test]
fn expired_invitation_leaves_nothing_behind() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let invitation = net.invite_expiring(
            "laptop",
            &net.humans(),
            net.clock.now() + Duration::from_secs(60),
        );
        net.clock.advance(Duration::from_secs(7200));
        let before = fs::read(&invitation.path).unwrap();
        let client = net.client(invitation.peer.ip);

        let error = install(
            &client.ctx,
            &invitation.path,
            &InstallOptions {
                name: None,
                delete_invite: true,
            },
        )
        .unwrap_err();
        assert!(matches!(error, ClientError::Redeem { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("expired"), "{message}");
        assert!(message.contains("401"), "{message}");
        assert!(!client.config_path().exists(), "config removed");
        assert!(!client.is_up(), "interface brought down");
        assert_eq!(
            fs::read(&invitation.path).unwrap(),
            before,
            "invitation untouched"
        );
        assert!(!net.peer("laptop").is_redeemed);
    }
}

#[test]
fn unreachable_server_leaves_nothing_behind() {
    let net = TestNet::new(Family::V6);
    let invitation = net.invite("laptop", &net.humans());
    let client = net.client(invitation.peer.ip);
    net.stop_listener(invitation.peer.ip);

    let error = install(
        &client.ctx,
        &invitation.path,
        &InstallOptions {
            name: None,
            delete_invite: true,
        },
    )
    .unwrap_err();
    assert!(error.is_unreachable(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("did not answer through the invitation's tunnel"),
        "{error}"
    );
    assert!(!client.config_path().exists());
    assert!(!client.is_up());
    assert!(invitation.path.exists());
}

#[test]
fn existing_config_or_interface_is_refused() {
    let net = TestNet::new(Family::V4);
    let invitation = net.invite("laptop", &net.humans());
    let client = net.client(invitation.peer.ip);

    fs::create_dir_all(&client.ctx.paths.config_dir).unwrap();
    fs::write(client.config_path(), "keep me").unwrap();
    let error = install(&client.ctx, &invitation.path, &InstallOptions::default()).unwrap_err();
    assert!(
        matches!(error, ClientError::AlreadyInstalled { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("already exists"), "{error}");
    assert_eq!(fs::read_to_string(client.config_path()).unwrap(), "keep me");
    assert!(!client.is_up());

    fs::remove_file(client.config_path()).unwrap();
    client.backend.create(&client.iface).unwrap();
    let error = install(&client.ctx, &invitation.path, &InstallOptions::default()).unwrap_err();
    assert!(
        matches!(error, ClientError::InterfaceExists { .. }),
        "{error:?}"
    );
    assert!(!client.config_path().exists());
    assert!(!net.peer("laptop").is_redeemed);
}

/// A redemption whose answer never comes back (lost before or after the server took it,
/// innernet #133): the new key stays on disk with the invitation's key beside it, and the
/// next `install` of the same invitation, or `up`, finds out what happened and finishes.
#[test]
fn a_lost_redeem_answer_keeps_the_key_and_the_next_attempt_finishes() {
    for (lose, again) in [
        (Lose::AfterTheServer, "install"),
        (Lose::BeforeTheServer, "install"),
        (Lose::AfterTheServer, "up"),
        (Lose::BeforeTheServer, "up"),
    ] {
        let net = TestNet::new(Family::V4);
        let invitation = net.invite("laptop", &net.humans());
        let mut client = net.client(invitation.peer.ip);
        client.ctx.timings.api_timeout = Duration::from_millis(300);
        net.lose_answers(Some(("POST /v1/user/redeem", lose)));
        let options = InstallOptions {
            name: None,
            delete_invite: true,
        };
        let error = install(&client.ctx, &invitation.path, &options).unwrap_err();
        assert!(
            matches!(error, ClientError::RedeemUnsettled { .. }),
            "{lose:?}: {error:?}"
        );
        assert!(error.to_string().contains("wiremesh up testnet"), "{error}");
        let config =
            ClientConfig::from_toml_str(&fs::read_to_string(client.config_path()).unwrap())
                .unwrap();
        let own_key = config.interface.private_key.public_key();
        let redeem_file = client.ctx.paths.redeem_file(&client.iface);
        assert_eq!(mode(&client.config_path()), 0o600);
        assert_eq!(mode(&redeem_file), 0o600);
        assert!(invitation.path.exists(), "the invitation stays");
        assert!(!client.is_up());
        let laptop = net.peer("laptop");
        match lose {
            Lose::AfterTheServer => {
                assert!(laptop.is_redeemed);
                assert_eq!(
                    laptop.public_key, own_key,
                    "the server has the key kept here"
                );
            }
            Lose::BeforeTheServer => assert!(!laptop.is_redeemed),
        }

        net.lose_answers(None);
        client.ctx.timings.api_timeout = Duration::from_secs(5);
        if again == "install" {
            let report = install(&client.ctx, &invitation.path, &options).unwrap();
            assert!(report.sync.is_some(), "{:?}", report.sync_error);
            assert!(report.invitation_deleted);
        } else {
            let report = client.up().unwrap();
            assert!(report.server_reachable, "{report:?}");
        }
        assert!(!redeem_file.exists(), "settled");
        let laptop = net.peer("laptop");
        assert!(laptop.is_redeemed);
        assert_eq!(laptop.public_key, own_key, "{lose:?}, {again}");
        assert_eq!(client.device().public_key, Some(own_key));
        assert!(client.has_peer(&net.server_public_key()));
    }
}

/// When the server refuses to redeem again and does not take the new key (here the
/// invitation expired while its answer was lost), nothing is deleted and the error says
/// what to do.
#[test]
fn an_unsettled_redeem_that_the_server_refuses_keeps_everything() {
    let net = TestNet::new(Family::V6);
    let invitation = net.invite_expiring(
        "laptop",
        &net.humans(),
        net.clock.now() + Duration::from_secs(60),
    );
    let mut client = net.client(invitation.peer.ip);
    client.ctx.timings.api_timeout = Duration::from_millis(300);
    net.lose_answers(Some(("POST /v1/user/redeem", Lose::BeforeTheServer)));
    let error = install(&client.ctx, &invitation.path, &InstallOptions::default()).unwrap_err();
    assert!(
        matches!(error, ClientError::RedeemUnsettled { .. }),
        "{error:?}"
    );
    net.lose_answers(None);
    net.clock.advance(Duration::from_secs(7200));
    client.ctx.timings.api_timeout = Duration::from_secs(5);

    let error = install(&client.ctx, &invitation.path, &InstallOptions::default()).unwrap_err();
    assert!(
        matches!(error, ClientError::RedeemRefused { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("wiremesh uninstall testnet"), "{message}");
    assert!(client.config_path().exists());
    assert!(client.ctx.paths.redeem_file(&client.iface).exists());
    assert!(invitation.path.exists());
}

/// Another invitation for a network whose redemption is unsettled is refused: only the
/// same invitation may settle it.
#[test]
fn a_different_invitation_does_not_settle_an_unsettled_install() {
    let net = TestNet::new(Family::V4);
    let invitation = net.invite("laptop", &net.humans());
    let other = net.invite("desktop", &net.humans());
    let mut client = net.client(invitation.peer.ip);
    client.ctx.timings.api_timeout = Duration::from_millis(300);
    net.lose_answers(Some(("POST /v1/user/redeem", Lose::AfterTheServer)));
    install(&client.ctx, &invitation.path, &InstallOptions::default()).unwrap_err();
    net.lose_answers(None);
    let error = install(&client.ctx, &other.path, &InstallOptions::default()).unwrap_err();
    assert!(
        matches!(error, ClientError::AlreadyInstalled { .. }),
        "{error:?}"
    );
    assert!(!net.peer("desktop").is_redeemed);
}

/// An interface left with a key other than the config's (an install stopped between
/// redeeming and swapping keys) is given the config's key by the next sync.
#[test]
fn sync_repairs_an_interface_with_the_wrong_private_key() {
    let net = TestNet::new(Family::V4);
    let (client, _) = net.join("laptop", &net.humans());
    let own_key = net.peer("laptop").public_key;
    let stray = wireguard_control::PrivateKey::generate();
    client
        .backend
        .apply(
            &client.iface,
            &wireguard_control::DeviceUpdate::new().set_private_key(stray),
        )
        .unwrap();
    let report = client.sync().unwrap();
    assert!(report.key_repaired, "{report:?}");
    assert!(
        report.summary().contains("private key reset"),
        "{}",
        report.summary()
    );
    assert_eq!(client.device().public_key, Some(own_key));
    let report = client.sync().unwrap();
    assert!(!report.key_repaired, "{report:?}");
}
