//! Local edits through the `wiremesh` binary on a network whose interface is down:
//! `set-listen-port` and `override-peer-endpoint` rewrite the config (which stays 0600 and
//! parses), `override-endpoint` refuses without a listen port, and `list-cidrs` and
//! `show --json` read what is there.

use wiremesh_shared::config::{ClientConfig, PeerCache};
use wiremesh_shared::wire::{Cidr, CidrContents, Peer, PeerContents};
use wiremesh_shared::{CidrId, PeerId, PublicKey};

use crate::support::cli::{check, sample_config, Host};

/// A host with a network installed (config and peer cache) whose interface is down.
fn installed() -> (Host, ClientConfig) {
    let host = Host::new(&format!("wml{}", std::process::id() % 1_000_000));
    let config = sample_config("10.66.2.3/16");
    host.write_config(&config);
    let cidr = |id, name: &str, net: &str, parent: Option<i64>| Cidr {
        id: CidrId(id),
        contents: CidrContents {
            name: name.to_owned(),
            cidr: net.parse().unwrap(),
            parent: parent.map(CidrId),
        },
    };
    let peer = |id: i64, name: &str, ip: &str, cidr_id| Peer {
        id: PeerId(id),
        contents: PeerContents {
            name: name.parse().unwrap(),
            ip: ip.parse().unwrap(),
            cidr_id: CidrId(cidr_id),
            public_key: PublicKey::from_bytes([id as u8; 32]),
            endpoint: None,
            persistent_keepalive_interval: Some(25),
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        },
    };
    host.write_cache(&PeerCache {
        peers: vec![
            peer(1, "innernet-server", "10.66.0.1", 2),
            peer(4, "build-box", "10.66.2.4", 3),
            Peer {
                contents: PeerContents {
                    public_key: config.interface.private_key.public_key(),
                    ..peer(5, "me", "10.66.2.3", 3).contents
                },
                id: PeerId(5),
            },
        ],
        cidrs: vec![
            cidr(1, "evilcorp", "10.66.0.0/16", None),
            cidr(3, "robots", "10.66.2.0/24", Some(1)),
            cidr(2, "innernet-server", "10.66.0.1/32", Some(1)),
        ],
    });
    (host, config)
}

#[test]
fn set_listen_port_rewrites_the_config() {
    let (host, before) = installed();
    let out = check(&host.run_line("set-listen-port @ -l 51999 --yes"), 0, &[]);
    assert!(
        out.contains("to 51999") && out.contains("interface is down"),
        "{out}"
    );
    let after = host.config();
    assert_eq!(after.interface.listen_port, Some(51999));
    assert_eq!(after.interface.private_key, before.interface.private_key);
    assert_eq!(after.server, before.server);
    assert_eq!(host.config_mode(), 0o600);

    let out = check(
        &host.run_line("set-listen-port @ --listen-port 51999 --yes"),
        0,
        &[],
    );
    assert!(out.contains("no change"), "{out}");

    check(&host.run_line("set-listen-port @ -u --yes"), 0, &[]);
    assert_eq!(host.config().interface.listen_port, None);
    let text = std::fs::read_to_string(host.config_path()).unwrap();
    assert!(!text.contains("listen-port"), "{text}");
    assert_eq!(host.config_mode(), 0o600);
}

#[test]
fn override_peer_endpoint_rewrites_the_config() {
    let (host, _) = installed();
    let set = "override-peer-endpoint @ --name build-box -e 192.0.2.10:51820 --yes";
    check(&host.run_line(set), 0, &[]);
    let overrides: Vec<(String, String)> = host
        .config()
        .peer_endpoint_overrides
        .iter()
        .map(|(ip, endpoint)| (ip.to_string(), endpoint.to_string()))
        .collect();
    assert_eq!(
        overrides,
        [("10.66.2.4".to_owned(), "192.0.2.10:51820".to_owned())]
    );
    assert_eq!(host.config_mode(), 0o600);
    let text = std::fs::read_to_string(host.config_path()).unwrap();
    let table = "[peer-endpoint-overrides]\n\"10.66.2.4\" = \"192.0.2.10:51820\"";
    assert!(text.contains(table), "{text}");

    let out = check(&host.run_line(set), 0, &[]);
    assert!(out.contains("no change"), "{out}");

    let unknown = "override-peer-endpoint @ --name nobody -e 192.0.2.1:1 --yes";
    check(
        &host.run_line(unknown),
        1,
        &["no peer named \"nobody\"", "wiremesh show"],
    );
    let own = "override-peer-endpoint @ --name me -e 192.0.2.1:1 --yes";
    check(
        &host.run_line(own),
        1,
        &["this host itself", "override-endpoint"],
    );

    check(
        &host.run_line("override-peer-endpoint @ --name build-box --unset --yes"),
        0,
        &[],
    );
    assert!(host.config().peer_endpoint_overrides.is_empty());
    assert_eq!(host.config_mode(), 0o600);
}

#[test]
fn override_endpoint_needs_a_listen_port() {
    let (host, _) = installed();
    let line = "override-endpoint @ -e 198.51.100.7:51820 --yes";
    check(
        &host.run_line(line),
        1,
        &["no fixed listen port", "set-listen-port"],
    );
}

#[test]
fn list_cidrs_reads_the_cache() {
    let (host, _) = installed();
    let out = check(&host.run_line("list-cidrs @"), 0, &[]);
    assert_eq!(
        out,
        "10.66.0.0/16 evilcorp\n10.66.0.1/32 innernet-server\n10.66.2.0/24 robots\n"
    );
    let out = check(&host.run_line("list-cidrs @ --tree"), 0, &[]);
    let tree = "10.66.0.0/16 evilcorp\n  10.66.0.1/32 innernet-server\n  10.66.2.0/24 robots\n";
    assert_eq!(out, tree);
    let out = check(&host.run_line("list-cidrs @ --json"), 0, &[]);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listed: Vec<(String, String, u64)> = value["cidrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            (
                name,
                c["cidr"].as_str().unwrap().to_owned(),
                c["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("evilcorp", "10.66.0.0/16", 0),
        ("innernet-server", "10.66.0.1/32", 1),
        ("robots", "10.66.2.0/24", 1),
    ]
    .map(|(n, c, d)| (n.to_owned(), c.to_owned(), d));
    assert_eq!(listed, expected);
    assert_eq!(value["cidrs"][1]["parent"], "evilcorp");
    check(&host.run_line("list-cidrs @ --json --tree"), 2, &["--tree"]);
}

#[test]
fn show_json_leaves_out_networks_that_are_down() {
    let (host, _) = installed();
    let out = check(&host.run_line("show --json"), 0, &[]);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let interfaces = value["interfaces"].as_array().unwrap();
    assert!(
        !interfaces.iter().any(|i| i["name"] == host.iface.as_str()),
        "{value}"
    );
}
