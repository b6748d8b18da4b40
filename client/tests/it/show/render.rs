//! Snapshots of `show` (plain, `--short`, `--tree`, `--json`) and `list-cidrs` from
//! hand-built views with a fixed "now", and table tests of the humanising functions.

use std::time::{Duration, SystemTime};

use wiremesh::show::{
    humanize_bytes, humanize_since, render_cidrs_plain, render_cidrs_tree, render_json,
    render_plain, render_short, render_tree, InterfaceView, PeerView, RenderOptions,
};
use wiremesh_shared::wire::{Cidr, CidrContents};
use wiremesh_shared::{CidrId, PublicKey};

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn ago(secs: u64) -> Option<SystemTime> {
    Some(now() - Duration::from_secs(secs))
}

fn key(n: u8) -> PublicKey {
    PublicKey::from_bytes([n; 32])
}

fn cidr(id: i64, name: &str, net: &str, parent: Option<i64>) -> Cidr {
    Cidr {
        id: CidrId(id),
        contents: CidrContents {
            name: name.to_owned(),
            cidr: net.parse().unwrap(),
            parent: parent.map(CidrId),
        },
    }
}

fn peer(name: Option<&str>, ip: &str, cidr: Option<(i64, &str)>, key_byte: u8) -> PeerView {
    PeerView {
        name: name.map(|n| n.parse().unwrap()),
        ip: Some(ip.parse().unwrap()),
        cidr_id: cidr.map(|(id, _)| CidrId(id)),
        cidr: cidr.map(|(_, name)| name.to_owned()),
        public_key: key(key_byte),
        endpoint: None,
        endpoint_overridden: false,
        last_handshake: None,
        rx_bytes: 0,
        tx_bytes: 0,
        is_self: false,
        routes: Vec::new(),
    }
}

fn network() -> Vec<InterfaceView> {
    let mut me = peer(Some("laptop"), "10.66.2.3", Some((3, "robots")), 1);
    me.is_self = true;
    me.endpoint = Some("198.51.100.7:51820".parse().unwrap());
    let mut server = peer(
        Some("innernet-server"),
        "10.66.0.1",
        Some((2, "innernet-server")),
        2,
    );
    server.endpoint = Some("203.0.113.1:51820".parse().unwrap());
    server.last_handshake = ago(12);
    server.rx_bytes = 1240;
    server.tx_bytes = 3_560_000;
    let mut build = peer(Some("build-box"), "10.66.2.4", Some((3, "robots")), 3);
    build.endpoint = Some("192.0.2.10:51820".parse().unwrap());
    build.endpoint_overridden = true;
    build.last_handshake = ago(3 * 60 + 5);
    build.rx_bytes = 512;
    build.tx_bytes = 2048;
    let printer = peer(Some("printer"), "10.66.3.1", Some((4, "things")), 4);
    let stranger = peer(None, "10.66.9.9", None, 5);
    vec![InterfaceView {
        name: "evilcorp".parse().unwrap(),
        network: "evilcorp".to_owned(),
        address: "10.66.2.3/16".parse().unwrap(),
        listen_port: Some(51821),
        public_key: key(1),
        peers: vec![me, build, server, printer, stranger],
        cidrs: vec![
            cidr(1, "evilcorp", "10.66.0.0/16", None),
            cidr(2, "innernet-server", "10.66.0.1/32", Some(1)),
            cidr(4, "things", "10.66.3.0/24", Some(1)),
            cidr(3, "robots", "10.66.2.0/24", Some(1)),
        ],
    }]
}

/// Compares a rendering with its snapshot, showing both in full on a mismatch.
fn check(actual: &str, expected: &str) {
    assert!(
        actual == expected,
        "rendering differs.\n--- actual ---\n{actual}\n--- expected ---\n{expected}"
    );
}

#[test]
fn plain() {
    let k1 = &key(1).to_base64()[..10];
    let k2 = &key(2).to_base64()[..10];
    let k3 = &key(3).to_base64()[..10];
    let k4 = &key(4).to_base64()[..10];
    let k5 = &key(5).to_base64()[..10];
    let expected = format!(
        "\
network: evilcorp
  interface: evilcorp
  address: 10.66.2.3/16
  listening port: 51821
  public key: {k1}…

  peer: laptop (you)
    ip: 10.66.2.3
    cidr: robots

  peer: build-box ({k3}…)
    ip: 10.66.2.4
    cidr: robots
    endpoint: 192.0.2.10:51820 (endpoint overridden locally)
    last handshake: 3 minutes ago
    transfer: 512 B received, 2.00 KiB sent

  peer: innernet-server ({k2}…)
    ip: 10.66.0.1
    cidr: innernet-server
    endpoint: 203.0.113.1:51820
    last handshake: 12 seconds ago
    transfer: 1.21 KiB received, 3.40 MiB sent

  peer: printer ({k4}…)
    ip: 10.66.3.1
    cidr: things
    last handshake: never
    transfer: 0 B received, 0 B sent

  peer: (unknown peer) ({k5}…)
    ip: 10.66.9.9
    last handshake: never
    transfer: 0 B received, 0 B sent
"
    );
    check(
        &render_plain(&network(), now(), RenderOptions::default()),
        &expected,
    );
}

#[test]
fn plain_full_keys() {
    let text = render_plain(
        &network(),
        now(),
        RenderOptions {
            full_keys: true,
            ..RenderOptions::default()
        },
    );
    assert!(
        text.contains(&format!("  public key: {}\n", key(1).to_base64())),
        "{text}"
    );
    assert!(
        text.contains(&format!("  peer: printer ({})\n", key(4).to_base64())),
        "{text}"
    );
}

#[test]
fn short() {
    let expected = "\
evilcorp (10.66.2.3/16, interface evilcorp)
  ● laptop 10.66.2.3 (you)
  ○ build-box 10.66.2.4 (handshake 3 minutes ago)
  ● innernet-server 10.66.0.1 (handshake 12 seconds ago)
  ○ printer 10.66.3.1 (handshake never)
  ○ (unknown peer) 10.66.9.9 (handshake never)
";
    check(&render_short(&network(), now()), expected);
}

#[test]
fn tree() {
    let expected = "\
evilcorp (10.66.2.3/16, interface evilcorp)
  10.66.0.0/16 evilcorp
    10.66.0.1/32 innernet-server
      ● innernet-server 10.66.0.1 (handshake 12 seconds ago)
    10.66.2.0/24 robots
      ● laptop 10.66.2.3 (you)
      ○ build-box 10.66.2.4 (handshake 3 minutes ago)
    10.66.3.0/24 things
      ○ printer 10.66.3.1 (handshake never)
  (peers of no known CIDR)
    ○ (unknown peer) 10.66.9.9 (handshake never)
";
    check(&render_tree(&network(), now()), expected);
}

#[test]
fn json() {
    let k = |n| key(n).to_base64();
    let expected = serde_json::json!({
        "interfaces": [{
            "name": "evilcorp",
            "network": "evilcorp",
            "listen_port": 51821,
            "public_key": k(1),
            "address": "10.66.2.3/16",
            "peers": [
                {"name": "laptop", "ip": "10.66.2.3", "cidr": "robots", "public_key": k(1),
                 "endpoint": "198.51.100.7:51820", "endpoint_overridden": false,
                 "last_handshake_secs_ago": null, "rx_bytes": 0, "tx_bytes": 0, "is_self": true},
                {"name": "build-box", "ip": "10.66.2.4", "cidr": "robots", "public_key": k(3),
                 "endpoint": "192.0.2.10:51820", "endpoint_overridden": true,
                 "last_handshake_secs_ago": 185, "rx_bytes": 512, "tx_bytes": 2048, "is_self": false},
                {"name": "innernet-server", "ip": "10.66.0.1", "cidr": "innernet-server", "public_key": k(2),
                 "endpoint": "203.0.113.1:51820", "endpoint_overridden": false,
                 "last_handshake_secs_ago": 12, "rx_bytes": 1240, "tx_bytes": 3_560_000, "is_self": false},
                {"name": "printer", "ip": "10.66.3.1", "cidr": "things", "public_key": k(4),
                 "endpoint": null, "endpoint_overridden": false,
                 "last_handshake_secs_ago": null, "rx_bytes": 0, "tx_bytes": 0, "is_self": false},
                {"name": null, "ip": "10.66.9.9", "cidr": null, "public_key": k(5),
                 "endpoint": null, "endpoint_overridden": false,
                 "last_handshake_secs_ago": null, "rx_bytes": 0, "tx_bytes": 0, "is_self": false},
            ],
        }],
    });
    let text = render_json(&network(), now());
    assert!(text.ends_with("}\n"), "{text}");
    let actual: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(actual, expected);
    // Field order is part of the documented shape.
    let first_peer = text.find("\"name\": \"laptop\"").unwrap();
    let order = [
        "\"ip\"",
        "\"cidr\"",
        "\"public_key\"",
        "\"endpoint\"",
        "\"endpoint_overridden\"",
        "\"last_handshake_secs_ago\"",
        "\"rx_bytes\"",
        "\"tx_bytes\"",
        "\"is_self\"",
    ];
    let mut at = first_peer;
    for field in order {
        let next = at + text[at..].find(field).unwrap();
        assert!(next > at, "{field} out of order");
        at = next;
    }
}

#[test]
fn empty() {
    check(&render_json(&[], now()), "{\n  \"interfaces\": []\n}\n");
    check(&render_plain(&[], now(), RenderOptions::default()), "");
    check(&render_short(&[], now()), "");
}

#[test]
fn cidr_listings() {
    let cidrs = &network()[0].cidrs;
    check(
        &render_cidrs_plain(cidrs),
        "10.66.0.0/16 evilcorp\n10.66.0.1/32 innernet-server\n10.66.2.0/24 robots\n10.66.3.0/24 things\n",
    );
    check(
        &render_cidrs_tree(cidrs),
        "10.66.0.0/16 evilcorp\n  10.66.0.1/32 innernet-server\n  10.66.2.0/24 robots\n  10.66.3.0/24 things\n",
    );
    // A CIDR whose parent is unknown still shows up, as an extra root.
    let orphan = vec![cidr(7, "lost", "10.99.0.0/24", Some(42))];
    check(&render_cidrs_plain(&orphan), "10.99.0.0/24 lost\n");
}

#[test]
fn humanize_since_table() {
    fn check_since(secs_ago: Option<i64>, expected: &str) {
        let at = secs_ago.map(|s| {
            if s >= 0 {
                now() - Duration::from_secs(s.unsigned_abs())
            } else {
                now() + Duration::from_secs(s.unsigned_abs())
            }
        });
        assert_eq!(humanize_since(at, now()), expected, "{secs_ago:?}");
    }
    check_since(None, "never");
    check_since(Some(0), "just now");
    check_since(Some(-30), "just now");
    check_since(Some(1), "1 second ago");
    check_since(Some(12), "12 seconds ago");
    check_since(Some(59), "59 seconds ago");
    check_since(Some(60), "1 minute ago");
    check_since(Some(185), "3 minutes ago");
    check_since(Some(3599), "59 minutes ago");
    check_since(Some(3600), "1 hour ago");
    check_since(Some(86_399), "23 hours ago");
    check_since(Some(86_400), "1 day ago");
    check_since(Some(40 * 86_400), "40 days ago");
}

#[test]
fn humanize_bytes_table() {
    for (bytes, expected) in [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1.00 KiB"),
        (1536, "1.50 KiB"),
        (1024 * 1024 - 1, "1024.00 KiB"),
        (1024 * 1024, "1.00 MiB"),
        (3_560_000, "3.40 MiB"),
        (5 * 1024 * 1024 * 1024, "5.00 GiB"),
        (1 << 40, "1.00 TiB"),
        (u64::MAX, "16.00 EiB"),
    ] {
        assert_eq!(humanize_bytes(bytes), expected, "{bytes}");
    }
}
