//! The peer admin commands end to end (`add-peer`, `rename-peer`, `disable-peer`,
//! `enable-peer`, `list-peers`): the `wiremesh` binary, pointed with `--api-address` at the
//! in-process server's listener for an admin peer. The server's model is checked after
//! every command.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;

use ipnet::IpNet;
use wireguard_control::{Backend, DeviceUpdate, PeerUpdate};
use wiremesh_shared::config::InvitationConfig;

use crate::support::admin::{
    cidr, host_for, root_name, setup, Family, TestNet, NETWORK, SERVER_PORT,
};
use crate::support::cli::check;

#[test]
fn add_cidr_then_add_peer_writes_a_private_invitation() {
    for family in Family::BOTH {
        let (net, host) = setup(family);
        let network = family.pick("10.66.3.0/24", "fd00:66::3:0:0:0/80");
        let root = root_name(&net);
        let line = format!("add-cidr @ --name printers --cidr {network} --parent {root} --yes");
        let out = check(&host.run_line(&line), 0, &[]);
        assert!(out.contains("CIDR printers"), "{out}");
        let printers = cidr(&net, "printers").expect("CIDR created");
        assert_eq!(printers.cidr, network.parse::<IpNet>().unwrap());
        assert_eq!(printers.parent, cidr(&net, &root).map(|c| c.id));

        let save = host.path("newbie.toml");
        let line = format!(
            "add-peer @ --name newbie --cidr printers --auto-ip --admin false \
             --save-config {} --invite-expires 30m --yes",
            save.display()
        );
        let out = check(&host.run_line(&line), 0, &[]);
        assert!(out.contains("wiremesh install"), "{out}");

        let mode = fs::metadata(&save).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = fs::read_to_string(&save).unwrap();
        let invitation = InvitationConfig::from_toml_str(&text).unwrap();
        let newbie = net.peer("newbie");
        assert_eq!(newbie.cidr_id, printers.id);
        assert!(!newbie.is_redeemed && !newbie.is_admin && !newbie.is_disabled);
        assert!(newbie.invite_expires.is_some());
        assert_eq!(
            newbie.public_key,
            invitation.interface.private_key.public_key()
        );
        assert_eq!(invitation.interface.address.addr(), newbie.ip);
        assert!(printers.cidr.contains(&newbie.ip));
        let prefix = invitation.interface.address.prefix_len();
        assert_eq!(
            prefix,
            net.root.prefix_len(),
            "the root's prefix, not the leaf's"
        );
        assert_eq!(invitation.interface.network_name, NETWORK);
        let server = &invitation.server;
        assert_eq!(server.public_key, net.server_public_key());
        let internal = SocketAddr::new(net.server_ip, SERVER_PORT);
        assert_eq!(
            server.internal_endpoint, internal,
            "the real one, not --api-address"
        );
        assert_eq!(server.external_endpoint, net.external_endpoint);

        // An explicit --ip is honoured, and --invite-expires has a default.
        let ip: IpAddr = family
            .pick("10.66.3.77", "fd00:66::3:0:0:77")
            .parse()
            .unwrap();
        let save = host.path("second.toml");
        let line = format!(
            "add-peer @ --name second --cidr printers --ip {ip} --admin true --save-config {} --yes",
            save.display()
        );
        check(&host.run_line(&line), 0, &[]);
        assert_eq!(net.peer("second").ip, ip);
        assert!(net.peer("second").is_admin);
    }
}

#[test]
fn add_peer_refusals_leave_no_file_and_no_peer() {
    let (net, host) = setup(Family::V4);
    let n_peers = net.service.admin_peers().len();
    let taken = host.path("taken.toml");
    fs::write(&taken, "keep me").unwrap();
    let fresh = host.path("fresh.toml");
    let add = |name: &str, cidr: &str, save: &std::path::Path, ip: &str| {
        let ip = if ip.is_empty() {
            "--auto-ip".to_owned()
        } else {
            format!("--ip {ip}")
        };
        let line = format!(
            "add-peer @ --name {name} --cidr {cidr} {ip} --admin false --save-config {} --yes",
            save.display()
        );
        host.run_line(&line)
    };
    check(
        &add("x1", "robots", &taken, ""),
        1,
        &["exists already", "--save-config"],
    );
    assert_eq!(fs::read_to_string(&taken).unwrap(), "keep me");
    check(
        &add("worker", "robots", &fresh, ""),
        1,
        &["a peer named \"worker\" already exists"],
    );
    check(
        &add("x2", "nowhere", &fresh, ""),
        1,
        &["no CIDR named \"nowhere\"", "list-cidrs"],
    );
    check(
        &add("x3", "innernet-server", &fresh, ""),
        1,
        &["reserved for the server"],
    );
    check(&add("x4", &root_name(&net), &fresh, ""), 1, &["leaf"]);
    check(
        &add("x5", "robots", &fresh, "10.66.1.200"),
        1,
        &["not inside CIDR"],
    );
    let worker_ip = net.peer("worker").ip.to_string();
    check(
        &add("x6", "robots", &fresh, &worker_ip),
        1,
        &["already taken"],
    );
    assert!(!fresh.exists());
    assert_eq!(net.service.admin_peers().len(), n_peers);
}

#[test]
fn rename_disable_enable_peer() {
    let (net, host) = setup(Family::V4);
    // The server's interface has seen `worker` at some address; GET /admin/peers injects it.
    let worker = net.peer("worker");
    let seen: SocketAddr = "198.51.100.20:40000".parse().unwrap();
    let observed = PeerUpdate::new(worker.public_key)
        .set_endpoint(seen)
        .update_only();
    let update = DeviceUpdate::new().add_peer(observed);
    net.server_backend
        .apply(&net.server_iface, &update)
        .unwrap();
    net.service.observe_endpoints().unwrap();
    let injected = net
        .service
        .admin_peers()
        .into_iter()
        .find(|p| p.id == worker.id)
        .unwrap();
    assert_eq!(
        injected.endpoint,
        Some(seen.into()),
        "precondition: the endpoint is injected"
    );

    check(
        &host.run_line("rename-peer @ --name worker --new-name builder --yes"),
        0,
        &[],
    );
    assert_eq!(
        net.service.model().peer(worker.id).unwrap().name.as_str(),
        "builder"
    );
    let output = host.run_line("rename-peer @ --name worker --new-name x --yes");
    check(&output, 1, &["no peer named \"worker\"", "list-peers"]);
    let output = host.run_line("rename-peer @ --name builder --new-name boss --yes");
    check(&output, 1, &["already exists"]);

    check(
        &host.run_line("disable-peer @ --name builder --yes"),
        0,
        &[],
    );
    let stored = net.peer("builder");
    assert!(stored.is_disabled);
    assert_eq!(
        stored.endpoint, None,
        "the observed endpoint did not become an override"
    );
    assert!(stored.candidates.is_empty());
    let out = check(
        &host.run_line("disable-peer @ --name builder --yes"),
        0,
        &[],
    );
    assert!(out.contains("no change"), "{out}");

    check(&host.run_line("enable-peer @ --name builder --yes"), 0, &[]);
    let stored = net.peer("builder");
    assert!(!stored.is_disabled);
    assert_eq!(stored.endpoint, None);
    // The server offers `PATCH`: each change named only its field, nothing was `PUT` whole.
    let id = worker.id;
    assert_eq!(net.requests(&format!("PATCH /v2/admin/peers/{id}")), 3);
    assert_eq!(net.requests(&format!("PUT /v1/admin/peers/{id}")), 0);

    // Not a terminal: aligned columns, no colour.
    let out = check(&host.run_line("list-peers @"), 0, &[]);
    assert!(
        out.contains(&format!("{}  builder          robots\n", stored.ip)),
        "{out}"
    );
    assert!(
        out.contains("  boss             humans           [admin]\n"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "{out}");

    let out = check(&host.run_line("list-peers @ --json"), 0, &[]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("list-peers --json");
    let builder = json["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .find(|p| p["name"] == "builder")
        .expect("builder listed");
    assert_eq!(builder["cidr"], "robots");
    assert_eq!(builder["ip"], stored.ip.to_string());
    assert_eq!(builder["is_disabled"], false);
    assert_eq!(builder["invite"], "redeemed");
    assert_eq!(builder["public_key"], stored.public_key.to_base64());
}

#[test]
fn a_non_admin_peer_is_told_why_it_was_refused() {
    let net = TestNet::new(Family::V4);
    let (peer, key) = net.add_peer("pleb", &net.humans());
    let host = host_for(&net, &peer, &key);
    check(
        &host.run_line("list-associations @"),
        1,
        &["HTTP 401", "non-admin"],
    );
    let line = "add-cidr @ --name x --cidr 10.66.9.0/24 --parent testnet --yes";
    check(&host.run_line(line), 1, &["HTTP 401"]);
    assert!(cidr(&net, "x").is_none());
}

#[test]
fn an_unreachable_server_is_reported() {
    let (net, host) = setup(Family::V4);
    net.stop_listener(net.peer("boss").ip);
    check(
        &host.run_line("list-peers @"),
        1,
        &["failed to reach the server"],
    );
}
