//! The binary's editing commands on a network's database: CIDRs, peers and invitations,
//! associations, and refusals that must leave the database unchanged.

use std::fs;

use wiremesh_shared::config::{InvitationConfig, ServerConfig};

use crate::support::cli::{assert_contains, mode, Server};

/// Addresses of one test network: the root, CIDRs `humans` and `robots` inside it, the
/// first address of `humans` and another one.
#[derive(Clone, Copy)]
struct Family {
    root: &'static str,
    humans: &'static str,
    robots: &'static str,
    humans_first: &'static str,
    humans_other: &'static str,
}

const V4: Family = Family {
    root: "10.66.0.0/16",
    humans: "10.66.1.0/24",
    robots: "10.66.2.0/24",
    humans_first: "10.66.1.1",
    humans_other: "10.66.1.9",
};

const V6: Family = Family {
    root: "fd00:1337::/64",
    humans: "fd00:1337::1:0/112",
    robots: "fd00:1337::2:0/112",
    humans_first: "fd00:1337::1:1",
    humans_other: "fd00:1337::1:9",
};

struct Net {
    server: Server,
}

fn network(family: Family) -> Net {
    let server = Server::new();
    server.new_network("evilcorp", family.root);
    let net = Net { server };
    net.ok(&[
        "add-cidr",
        "evilcorp",
        "--name",
        "humans",
        "--cidr",
        family.humans,
        "--parent",
        "evilcorp",
        "--yes",
    ]);
    // Without --parent: the closest containing CIDR.
    net.ok(&[
        "add-cidr",
        "evilcorp",
        "--name",
        "robots",
        "--cidr",
        family.robots,
        "--yes",
    ]);
    net
}

impl Net {
    fn ok(&self, args: &[&str]) -> String {
        self.server.ok(args)
    }

    fn list(&self) -> String {
        self.server.list("evilcorp")
    }

    fn add_peer(&self, name: &str, ip: Option<&str>, extra: &[&str]) -> String {
        let path = self.server.path(&format!("{name}.toml"));
        let mut args = vec!["add-peer", "evilcorp", "--name", name, "--cidr", "humans"];
        match ip {
            Some(ip) => args.extend(["--ip", ip]),
            None => args.push("--auto-ip"),
        }
        args.extend([
            "--admin",
            "false",
            "--save-config",
            path.to_str().unwrap(),
            "--yes",
        ]);
        args.extend(extra);
        self.ok(&args)
    }

    fn invitation(&self, name: &str) -> InvitationConfig {
        let path = self.server.path(&format!("{name}.toml"));
        assert_eq!(mode(&path), 0o600);
        InvitationConfig::from_toml_str(&fs::read_to_string(path).unwrap()).unwrap()
    }
}

fn check_peers_and_invitations(family: Family) {
    let net = network(family);
    let prefix = family.root.split('/').nth(1).unwrap();
    net.add_peer("alice", None, &[]);
    net.add_peer(
        "bob",
        Some(family.humans_other),
        &["--invite-expires", "30m"],
    );

    let config = ServerConfig::from_toml_str(
        &fs::read_to_string(net.server.config_file("evilcorp")).unwrap(),
    )
    .unwrap();
    let alice = net.invitation("alice");
    let first_ip = family.humans_first;
    assert_eq!(
        alice.interface.address.to_string(),
        format!("{first_ip}/{prefix}")
    );
    assert_eq!(alice.interface.network_name, "evilcorp");
    assert_eq!(alice.interface.listen_port, None);
    assert_eq!(alice.server.public_key, config.private_key.public_key());
    assert_eq!(
        alice.server.external_endpoint.to_string(),
        "192.0.2.1:51820"
    );
    assert_eq!(
        alice.server.internal_endpoint,
        std::net::SocketAddr::new(config.address, config.listen_port)
    );
    let bob = net.invitation("bob");
    assert_eq!(
        bob.interface.address.to_string(),
        format!("{}/{prefix}", family.humans_other)
    );
    assert_ne!(alice.interface.private_key, bob.interface.private_key);

    let list = net.list();
    assert_contains(
        &list,
        &[
            &format!("    - alice {first_ip} (invite pending)\n"),
            &format!("    - bob {} (invite pending)\n", family.humans_other),
        ],
    );

    // An existing --save-config path: refused before anything is created, file untouched.
    let taken = net.server.path("taken.toml");
    fs::write(&taken, "keep me").unwrap();
    let stderr = net.server.fails(
        &[
            "add-peer",
            "evilcorp",
            "--name",
            "carol",
            "--cidr",
            "humans",
            "--auto-ip",
            "--admin",
            "false",
            "--save-config",
            taken.to_str().unwrap(),
            "--yes",
        ],
        1,
    );
    assert_contains(&stderr, &["already exists"]);
    assert_eq!(fs::read_to_string(&taken).unwrap(), "keep me");
    assert_eq!(net.list(), list);
}

#[test]
fn peers_and_invitations_v4() {
    check_peers_and_invitations(V4);
}

#[test]
fn peers_and_invitations_v6() {
    check_peers_and_invitations(V6);
}

#[test]
fn cidrs_peers_and_associations() {
    let net = network(V4);
    net.add_peer("alice", None, &[]);
    net.ok(&[
        "rename-peer",
        "evilcorp",
        "--name",
        "alice",
        "--new-name",
        "alicia",
        "--yes",
    ]);
    net.ok(&["disable-peer", "evilcorp", "--name", "alicia", "--yes"]);
    assert_contains(
        &net.list(),
        &["- alicia 10.66.1.1 (disabled, invite pending)"],
    );
    let out = net.ok(&["disable-peer", "evilcorp", "--name", "alicia", "--yes"]);
    assert_contains(&out, &["already disabled"]);
    net.ok(&["enable-peer", "evilcorp", "--name", "alicia", "--yes"]);
    assert_contains(&net.list(), &["- alicia 10.66.1.1 (invite pending)"]);

    net.ok(&[
        "add-cidr",
        "evilcorp",
        "--name",
        "bots",
        "--cidr",
        "10.66.2.128/25",
        "--parent",
        "robots",
        "--yes",
    ]);
    net.ok(&[
        "rename-cidr",
        "evilcorp",
        "--name",
        "bots",
        "--new-name",
        "drones",
        "--yes",
    ]);
    assert_contains(
        &net.list(),
        &["  robots 10.66.2.0/24\n    drones 10.66.2.128/25\n"],
    );

    assert_eq!(
        net.ok(&["add-association", "evilcorp", "humans", "drones"]),
        "1: humans <=> drones\n"
    );
    net.ok(&["add-association", "evilcorp", "robots", "humans"]);
    assert_eq!(
        net.ok(&["list-associations", "evilcorp"]),
        "1: humans <=> drones\n2: robots <=> humans\n"
    );
    let stderr = net
        .server
        .fails(&["delete-cidr", "evilcorp", "--name", "drones", "--yes"], 1);
    assert_contains(&stderr, &["association"]);
    net.ok(&[
        "delete-association",
        "evilcorp",
        "drones",
        "humans",
        "--yes",
    ]);
    assert_eq!(
        net.ok(&["list-associations", "evilcorp"]),
        "2: robots <=> humans\n"
    );
    net.ok(&["delete-cidr", "evilcorp", "--name", "drones", "--yes"]);
    assert!(!net.list().contains("drones"));
}

/// Every refusal exits 1 (2 for a value clap refuses) with a clear message and leaves the
/// network as it was.
#[test]
fn bad_inputs_change_nothing() {
    let net = network(V4);
    net.ok(&[
        "add-cidr",
        "evilcorp",
        "--name",
        "tiny",
        "--cidr",
        "10.66.3.0/30",
        "--yes",
    ]);
    let tiny = |name: &str| {
        let path = net.server.path(&format!("{name}.toml"));
        vec![
            "add-peer".to_owned(),
            "evilcorp".into(),
            "--name".into(),
            name.into(),
            "--cidr".into(),
            "tiny".into(),
            "--auto-ip".into(),
            "--admin".into(),
            "false".into(),
            "--save-config".into(),
            path.display().to_string(),
            "--yes".into(),
        ]
    };
    for name in ["t1", "t2"] {
        let args = tiny(name);
        net.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let before = net.list();
    let peer = |name: &str, cidr: &str, expires: &str| -> Vec<String> {
        let path = net.server.path(&format!("{name}.toml"));
        [
            "add-peer",
            "evilcorp",
            "--name",
            name,
            "--cidr",
            cidr,
            "--auto-ip",
            "--admin",
            "false",
            "--save-config",
            path.to_str().unwrap(),
            "--invite-expires",
            expires,
            "--yes",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let cidr = |name: &str, net: &str, parent: &str| -> Vec<String> {
        [
            "add-cidr", "evilcorp", "--name", name, "--cidr", net, "--parent", parent, "--yes",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (cidr("dup", "10.66.1.0/24", "evilcorp"), "already exists"),
        (cidr("part", "10.66.1.128/25", "evilcorp"), "closest CIDR"),
        (cidr("humans", "10.66.9.0/24", "evilcorp"), "already exists"),
        (cidr("hostbits", "10.66.9.1/24", "evilcorp"), "host bits"),
        (cidr("outside", "10.99.0.0/24", "evilcorp"), "not inside"),
        (
            cidr("x", "10.66.9.0/24", "nosuch"),
            "no CIDR named \"nosuch\"",
        ),
        (tiny("t3"), "is full"),
        (peer("carol", "nosuch", "14d"), "no CIDR named \"nosuch\""),
        (peer("carol", "evilcorp", "14d"), "leaf"),
        (peer("carol", "innernet-server", "14d"), "infra"),
        (peer("t1", "humans", "14d"), "already exists"),
        (
            [
                "rename-peer",
                "evilcorp",
                "--name",
                "nobody",
                "--new-name",
                "x",
                "--yes",
            ]
            .map(str::to_owned)
            .to_vec(),
            "no peer named",
        ),
        (
            [
                "rename-peer",
                "evilcorp",
                "--name",
                "t1",
                "--new-name",
                "t2",
                "--yes",
            ]
            .map(str::to_owned)
            .to_vec(),
            "already exists",
        ),
        (
            [
                "disable-peer",
                "evilcorp",
                "--name",
                "innernet-server",
                "--yes",
            ]
            .map(str::to_owned)
            .to_vec(),
            "cannot be disabled",
        ),
        (
            ["delete-cidr", "evilcorp", "--name", "tiny", "--yes"]
                .map(str::to_owned)
                .to_vec(),
            "peer",
        ),
        (
            ["delete-cidr", "evilcorp", "--name", "evilcorp", "--yes"]
                .map(str::to_owned)
                .to_vec(),
            "root",
        ),
        (
            ["add-association", "evilcorp", "humans", "humans"]
                .map(str::to_owned)
                .to_vec(),
            "itself",
        ),
        (
            [
                "delete-association",
                "evilcorp",
                "humans",
                "robots",
                "--yes",
            ]
            .map(str::to_owned)
            .to_vec(),
            "not associated",
        ),
    ];
    // Values clap parses (names, addresses, durations) are usage errors, as in `wiremesh`.
    let usage_cases: Vec<(Vec<String>, &str)> = vec![
        (peer("Carol", "humans", "14d"), "invalid hostname"),
        (peer("carol_1", "humans", "14d"), "invalid hostname"),
        (peer("carol", "humans", "3x"), "invalid duration \"3x\""),
    ];
    let cases = cases
        .into_iter()
        .map(|case| (case, 1))
        .chain(usage_cases.into_iter().map(|case| (case, 2)));
    for ((args, fragment), code) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = net.server.fails(&args, code);
        assert_contains(&stderr, &["error: ", fragment]);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(net.list(), before, "{args:?} changed the network");
    }
    for name in ["carol", "t3", "Carol", "carol_1"] {
        assert!(
            !net.server.path(&format!("{name}.toml")).exists(),
            "{name}.toml left behind"
        );
    }
}

/// The policy commands: a rule is planned (and `--plan` changes nothing), added, listed,
/// explained and deleted; bad rules exit 1 (2 for what clap refuses) and change nothing.
#[test]
fn port_and_protocol_rules() {
    for family in [V4, V6] {
        let net = network(family);
        net.add_peer("alice", None, &[]);
        net.ok(&["add-association", "evilcorp", "humans", "robots"]);
        let before = fs::read(net.server.database_file("evilcorp")).unwrap();
        let plan = net.ok(&[
            "add-rule",
            "evilcorp",
            "--from",
            "humans",
            "--to",
            "robots",
            "--proto",
            "tcp",
            "--ports",
            "22,8000-8080",
            "--note",
            "ssh",
            "--plan",
        ]);
        assert_contains(&plan, &["nobody gains or loses access", "plan only"]);
        assert_eq!(
            fs::read(net.server.database_file("evilcorp")).unwrap(),
            before
        );
        let added = net.ok(&[
            "add-rule",
            "evilcorp",
            "--from",
            "humans",
            "--to",
            "robots",
            "--proto",
            "tcp",
            "--ports",
            "22,8000-8080",
            "--note",
            "ssh",
            "--yes",
        ]);
        assert_contains(
            &added,
            &["rule 1: humans -> robots tcp 22,8000-8080 [humans <=> robots] (ssh)"],
        );
        net.ok(&[
            "add-rule",
            "evilcorp",
            "--from",
            "any",
            "--to",
            "peer:alice",
            "--proto",
            "icmp",
            "--yes",
        ]);
        let listing = net.ok(&["list-rules", "evilcorp"]);
        assert_contains(
            &listing,
            &[
                "1: humans -> robots tcp 22,8000-8080 [humans <=> robots] (ssh)",
                "2: any -> peer:alice icmp [humans <=> robots]",
            ],
        );
        let json: serde_json::Value =
            serde_json::from_str(&net.ok(&["list-rules", "evilcorp", "--json"])).unwrap();
        assert_eq!(json["rules"].as_array().unwrap().len(), 2);

        // explain works on addresses and names alike (alice is still an invitation).
        let robot = if family.root.contains(':') {
            "fd00:1337::2:7"
        } else {
            "10.66.2.7"
        };
        let explained = net.ok(&["explain", "evilcorp", robot, "alice:22"]);
        assert_contains(
            &explained,
            &["denied", "none of them allows it", "does NOT enforce"],
        );
        let explained = net.ok(&["explain", "evilcorp", robot, "alice/icmp"]);
        // An ICMPv6 echo request is essential: always allowed, whatever the rules.
        let why = if family.root.contains(':') {
            "always allowed"
        } else {
            "by rule 2"
        };
        assert_contains(&explained, &["allowed", why]);
        let explained = net.ok(&["explain", "evilcorp", family.humans_other, "alice:22"]);
        assert_contains(&explained, &["allowed", "no rule restricts this pair"]);

        for (args, code, expected) in [
            (&["--proto", "sctp"][..], 2, "unknown protocol"),
            (
                &["--proto", "icmp", "--ports", "22"][..],
                1,
                "cannot name ports",
            ),
            (&["--proto", "tcp", "--ports", "0"][..], 1, "port 0"),
            (
                &["--proto", "tcp", "--within", "nowhere"][..],
                1,
                "no CIDR is named \"nowhere\"",
            ),
        ] {
            let mut full = vec!["add-rule", "evilcorp", "--from", "humans", "--to", "robots"];
            full.extend(args);
            full.push("--yes");
            let stderr = net.server.fails(&full, code);
            assert_contains(&stderr, &[expected]);
        }
        let stderr = net.server.fails(
            &[
                "add-rule", "evilcorp", "--from", "ghosts", "--to", "robots", "--yes",
            ],
            1,
        );
        assert_contains(&stderr, &["no CIDR or peer is named \"ghosts\""]);
        let stderr = net
            .server
            .fails(&["add-rule", "evilcorp", "--to", "robots"], 2);
        assert_contains(&stderr, &["--from"]);
        let stderr = net.server.fails(
            &[
                "delete-association",
                "evilcorp",
                "humans",
                "robots",
                "--yes",
            ],
            1,
        );
        assert_contains(&stderr, &["named by 2 policy rule(s) (rule 1, rule 2)"]);

        net.ok(&["isolate-cidr", "evilcorp", "robots", "--yes"]);
        assert_contains(&net.ok(&["list-rules", "evilcorp"]), &["isolated: robots"]);
        net.ok(&["isolate-cidr", "evilcorp", "robots", "--off", "--yes"]);
        net.ok(&["delete-rule", "evilcorp", "1", "--yes"]);
        net.ok(&["delete-rule", "evilcorp", "2", "--yes"]);
        let stderr = net
            .server
            .fails(&["delete-rule", "evilcorp", "2", "--yes"], 1);
        assert_contains(&stderr, &["rule 2 does not exist"]);
        assert_contains(&net.ok(&["list-rules", "evilcorp"]), &["no rules"]);
        net.ok(&[
            "delete-association",
            "evilcorp",
            "humans",
            "robots",
            "--yes",
        ]);
    }
}

/// The route commands: a peer's offer waits for approval, is approved, listed (text and
/// JSON) and withdrawn; auto-approval approves offers inside its prefixes; bad offers exit 1
/// (2 for what clap refuses) and change nothing.
#[test]
fn routes_through_a_gateway() {
    for (family, lan, wider, foreign) in [
        (V4, "192.168.10.0/24", "192.168.0.0/16", "fd10::/64"),
        (V6, "fd10:10::/64", "fd10::/16", "192.168.10.0/24"),
    ] {
        let net = network(family);
        net.add_peer("alice", None, &[]);
        net.add_peer("bob", None, &[]);
        let offered = net.ok(&[
            "advertise-routes",
            "evilcorp",
            "--peer",
            "alice",
            "--routes",
            lan,
            "--exit-node",
        ]);
        assert_contains(&offered, &["alice offers:", lan, "waiting for approval"]);
        let approved = net.ok(&["approve-routes", "evilcorp", "--peer", "alice"]);
        assert!(!approved.contains("waiting"), "{approved}");
        let listed = net.ok(&["list-routes", "evilcorp"]);
        assert_contains(&listed, &["alice", lan, "(exit node): approved"]);
        let json: serde_json::Value =
            serde_json::from_str(&net.ok(&["list-routes", "evilcorp", "--json"])).unwrap();
        assert_eq!(json["routes"].as_array().unwrap().len(), 2);

        let before = fs::read(net.server.database_file("evilcorp")).unwrap();
        for (args, code, expected) in [
            (
                vec!["--peer", "bob", "--routes", wider],
                1,
                "approved for \"alice\"",
            ),
            (vec!["--peer", "bob", "--routes", foreign], 1, "same family"),
            (
                vec!["--peer", "bob", "--routes", family.root],
                1,
                "overlaps the mesh",
            ),
            (
                vec!["--peer", "nobody", "--routes", lan],
                1,
                "no peer is named",
            ),
            (vec!["--peer", "bob"], 1, "--withdraw"),
            (vec!["--peer", "bob", "--routes", "nonsense"], 2, "invalid"),
        ] {
            let mut full = vec!["advertise-routes", "evilcorp"];
            full.extend(args);
            let stderr = net.server.fails(&full, code);
            assert_contains(&stderr, &[expected]);
        }
        assert_eq!(
            fs::read(net.server.database_file("evilcorp")).unwrap(),
            before,
            "a refused offer changed the database"
        );

        net.ok(&[
            "auto-approve-routes",
            "evilcorp",
            "humans",
            "--routes",
            wider,
        ]);
        let same = net.ok(&[
            "advertise-routes",
            "evilcorp",
            "--peer",
            "bob",
            "--routes",
            lan,
        ]);
        assert!(!same.contains("waiting"), "{same}");
        assert_contains(
            &net.ok(&["list-routes", "evilcorp"]),
            &["auto-approved for humans"],
        );
        net.ok(&["auto-approve-routes", "evilcorp", "humans", "--off"]);
        net.ok(&[
            "advertise-routes",
            "evilcorp",
            "--peer",
            "alice",
            "--withdraw",
        ]);
        net.ok(&[
            "advertise-routes",
            "evilcorp",
            "--peer",
            "bob",
            "--withdraw",
        ]);
        assert_contains(
            &net.ok(&["list-routes", "evilcorp"]),
            &["no routes offered"],
        );
    }
}

/// The address of a wg-quick file's `Address` line.
fn device_address(config: &str) -> String {
    let line = config
        .lines()
        .find_map(|l| l.strip_prefix("Address = "))
        .expect("an Address line");
    line.split('/').next().unwrap().to_owned()
}

#[test]
fn devices_are_added_listed_and_reissued() {
    for family in [V4, V6] {
        let net = network(family);
        let config = net.server.path("phone.conf");
        let config_arg = config.to_str().unwrap().to_owned();
        let added = net.ok(&[
            "add-device",
            "evilcorp",
            "--name",
            "phone",
            "--cidr",
            "humans",
            "--auto-ip",
            "--psk",
            "--qr",
            "--save-config",
            &config_arg,
            "--yes",
        ]);
        assert_contains(&added, &["created device phone", "private key", "█"]);
        assert_eq!(mode(&config), 0o600);
        assert_eq!(mode(&config.with_extension("png")), 0o600);
        let first = fs::read_to_string(&config).unwrap();
        assert_contains(
            &first,
            &["PrivateKey = ", "PresharedKey = ", "AllowedIPs = "],
        );
        assert_eq!(device_address(&first), family.humans_first);
        assert_contains(&net.list(), &["phone", "device via"]);
        let json: serde_json::Value =
            serde_json::from_str(&net.ok(&["list", "evilcorp", "--json"])).unwrap();
        let phone = json["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "phone")
            .unwrap()
            .clone();
        assert_eq!(phone["device"]["key"], "generated");
        assert_eq!(phone["device"]["stale"], false);
        assert_eq!(phone["device"]["preshared_key"], true);

        // Refusals change nothing: a file in the way, a taken name, a bad key, a peer.
        let before = fs::read(net.server.database_file("evilcorp")).unwrap();
        let other = net.server.path("other.conf");
        let other_arg = other.to_str().unwrap().to_owned();
        for (args, expected) in [
            (
                vec!["--name", "tablet", "--save-config", &config_arg],
                "exists",
            ),
            (
                vec!["--name", "phone", "--save-config", &other_arg],
                "phone",
            ),
            (
                vec![
                    "--name",
                    "tablet",
                    "--cidr",
                    "nowhere",
                    "--save-config",
                    &other_arg,
                ],
                "no CIDR",
            ),
        ] {
            let mut full = vec!["add-device", "evilcorp", "--auto-ip", "--yes"];
            if !args.contains(&"--cidr") {
                full.extend(["--cidr", "humans"]);
            }
            full.extend(args);
            let stderr = net.server.fails(&full, 1);
            assert_contains(&stderr, &[expected]);
            assert!(!other.exists(), "a refused device left {}", other.display());
        }
        let stderr = net.server.fails(
            &[
                "add-device",
                "evilcorp",
                "--name",
                "tablet",
                "--cidr",
                "humans",
                "--auto-ip",
                "--public-key",
                "not-a-key",
                "--save-config",
                &other_arg,
                "--yes",
            ],
            2,
        );
        assert_contains(&stderr, &["--public-key"]);
        assert_eq!(
            fs::read(net.server.database_file("evilcorp")).unwrap(),
            before,
            "a refused device changed the database"
        );

        // A device with its own key: the file leaves a line for it, and reissues keep it.
        let key = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
        let tablet = net.server.path("tablet.conf");
        net.ok(&[
            "add-device",
            "evilcorp",
            "--name",
            "tablet",
            "--cidr",
            "robots",
            "--auto-ip",
            "--public-key",
            key,
            "--save-config",
            tablet.to_str().unwrap(),
            "--yes",
        ]);
        let own = fs::read_to_string(&tablet).unwrap();
        assert_contains(&own, &["# PrivateKey = <this device's own private key"]);
        let again = net.server.path("tablet-again.conf");
        let out = net.ok(&[
            "export-device",
            "evilcorp",
            "--name",
            "tablet",
            "--save-config",
            again.to_str().unwrap(),
            "--yes",
        ]);
        assert_contains(&out, &["issued device tablet's configuration again"]);
        assert_eq!(fs::read_to_string(&again).unwrap(), own);

        // A generated key: a new identity, the old one disabled under another name.
        let reissued = net.server.path("phone-2.conf");
        let out = net.ok(&[
            "export-device",
            "evilcorp",
            "--name",
            "phone",
            "--save-config",
            reissued.to_str().unwrap(),
            "--yes",
        ]);
        assert_contains(&out, &["new identity", "phone-retired-"]);
        let second = fs::read_to_string(&reissued).unwrap();
        assert_ne!(device_address(&second), device_address(&first));
        let private = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("PrivateKey = "))
                .unwrap()
                .to_owned()
        };
        assert_ne!(private(&second), private(&first));
        assert_contains(&net.list(), &["phone-retired-", "disabled"]);
        // A disabled device is not reissued; a peer is not a device.
        let retired = net
            .list()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .find(|l| l.starts_with("phone-retired-"))
            .map(|l| l.split(' ').next().unwrap().to_owned())
            .expect("the old identity is listed");
        let stderr = net.server.fails(
            &[
                "export-device",
                "evilcorp",
                "--name",
                &retired,
                "--save-config",
                net.server.path("x.conf").to_str().unwrap(),
                "--yes",
            ],
            1,
        );
        assert_contains(&stderr, &["enable it"]);
        net.add_peer("alice", None, &[]);
        let stderr = net.server.fails(
            &[
                "export-device",
                "evilcorp",
                "--name",
                "alice",
                "--save-config",
                net.server.path("y.conf").to_str().unwrap(),
                "--yes",
            ],
            1,
        );
        assert_contains(&stderr, &["not a device"]);
    }
}

#[test]
fn peers_are_deleted_for_good_and_settings_kept() {
    let net = network(V4);
    // An invitation nobody redeemed: its address is free again.
    net.add_peer("alice", None, &[]);
    let out = net.ok(&["delete-peer", "evilcorp", "--name", "alice", "--yes"]);
    assert_contains(
        &out,
        &["deleted the invitation alice; its address 10.66.1.1 is free"],
    );
    assert!(!net.list().contains("alice"));
    net.add_peer("bob", None, &[]);
    assert_contains(&net.list(), &["- bob 10.66.1.1"]);

    // A device with its own key (redeemed): its address is consumed for good.
    let config = net.server.path("phone.conf");
    net.ok(&[
        "add-device",
        "evilcorp",
        "--name",
        "phone",
        "--cidr",
        "humans",
        "--auto-ip",
        "--public-key",
        "GWs3dkwPXVrbB0C2XbrvJtZgnQUUhJzbi3gNpfNO5XM=",
        "--save-config",
        config.to_str().unwrap(),
        "--yes",
    ]);
    let out = net.ok(&["delete-peer", "evilcorp", "--name", "phone", "--yes"]);
    assert_contains(
        &out,
        &["deleted peer phone; its address 10.66.1.2 stays reserved"],
    );
    assert!(!net.list().contains("phone"));
    let before = fs::read(net.server.database_file("evilcorp")).unwrap();
    let path = net.server.path("again.toml");
    for (args, expected) in [
        (
            vec![
                "add-peer",
                "evilcorp",
                "--name",
                "again",
                "--cidr",
                "humans",
                "--ip",
                "10.66.1.2",
                "--admin",
                "false",
                "--save-config",
                path.to_str().unwrap(),
                "--yes",
            ],
            "10.66.1.2 belonged to a deleted peer",
        ),
        (
            vec![
                "delete-peer",
                "evilcorp",
                "--name",
                "innernet-server",
                "--yes",
            ],
            "cannot be deleted",
        ),
        (
            vec!["delete-peer", "evilcorp", "--name", "nobody", "--yes"],
            "nobody",
        ),
    ] {
        let err = net.server.fails(&args, 1);
        assert_contains(&err, &[expected]);
        assert_eq!(
            fs::read(net.server.database_file("evilcorp")).unwrap(),
            before,
            "{args:?} changed the database"
        );
    }
    assert!(!path.exists());
    // The next free address skips the consumed one.
    net.add_peer("carol", None, &[]);
    assert_contains(&net.list(), &["- carol 10.66.1.3"]);

    assert_contains(
        &net.ok(&["settings", "evilcorp"]),
        &["self-deletion: allowed"],
    );
    net.ok(&["settings", "evilcorp", "--self-deletion", "forbid"]);
    assert_contains(
        &net.ok(&["settings", "evilcorp"]),
        &["self-deletion: forbidden"],
    );

    // Every change above is in the audit log, as this user's; refusals are not.
    let log = net.ok(&["audit", "evilcorp"]);
    assert_contains(
        &log,
        &[
            "cli uid ",
            "peer.create  \"alice\"",
            "peer.delete  peer ",
            "(deleted; the address stays consumed)",
            "device.create",
            "settings  self-deletion forbidden",
        ],
    );
    let json: serde_json::Value =
        serde_json::from_str(&net.ok(&["audit", "evilcorp", "--json", "--limit", "2"])).unwrap();
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["action"], "settings");
    assert!(entries[1]["actor"]
        .as_str()
        .unwrap()
        .starts_with("cli uid "));
    assert!(
        !log.contains("again"),
        "a refused add-peer is not in the log:\n{log}"
    );
}

#[test]
fn set_endpoint_moves_the_server_for_new_invitations_too() {
    let net = network(V4);
    let before = fs::read(net.server.database_file("evilcorp")).unwrap();
    let err = net
        .server
        .fails(&["set-endpoint", "evilcorp", "0.0.0.0:51820", "--yes"], 1);
    assert_contains(&err, &["must name a host"]);
    let err = net
        .server
        .fails(&["set-endpoint", "evilcorp", "not an endpoint", "--yes"], 2);
    assert_contains(&err, &["HOST:PORT"]);
    assert_eq!(
        fs::read(net.server.database_file("evilcorp")).unwrap(),
        before
    );
    let out = net.ok(&["set-endpoint", "evilcorp", "vpn.example.com:51820", "--yes"]);
    assert_contains(
        &out,
        &["public endpoint moved from", "to vpn.example.com:51820"],
    );
    let again = net.ok(&["set-endpoint", "evilcorp", "vpn.example.com:51820", "--yes"]);
    assert_contains(&again, &["nothing changed"]);
    net.add_peer("alice", None, &[]);
    assert_eq!(
        net.invitation("alice").server.external_endpoint.to_string(),
        "vpn.example.com:51820"
    );
}

#[test]
fn tokens_are_made_listed_and_revoked() {
    let net = network(V4);
    let made = net.server.run(&[
        "create-token",
        "evilcorp",
        "--name",
        "provisioner",
        "--scope",
        "devices",
        "--scope",
        "read",
        "--expires",
        "30d",
    ]);
    assert!(made.status.success());
    let token = String::from_utf8(made.stdout).unwrap();
    let token = token.trim();
    assert!(token.starts_with("wmt_1_") && token.len() > 40, "{token}");
    assert_contains(
        &String::from_utf8_lossy(&made.stderr),
        &["shown only this once"],
    );
    let listed = net.ok(&["list-tokens", "evilcorp"]);
    assert_contains(&listed, &["provisioner  scopes read,devices", "expires "]);
    assert!(!listed.contains(&token[6..]), "list-tokens shows a secret");
    let json: serde_json::Value =
        serde_json::from_str(&net.ok(&["list-tokens", "evilcorp", "--json"])).unwrap();
    assert_eq!(json["tokens"][0]["name"], "provisioner");

    // Refusals change nothing.
    let before = fs::read(net.server.database_file("evilcorp")).unwrap();
    let err = net.server.fails(
        &[
            "create-token",
            "evilcorp",
            "--name",
            "x",
            "--scope",
            "everything",
        ],
        2,
    );
    assert_contains(&err, &["unknown scope \"everything\""]);
    let err = net.server.fails(
        &[
            "create-token",
            "evilcorp",
            "--name",
            "provisioner",
            "--scope",
            "read",
        ],
        1,
    );
    assert_contains(&err, &["a token named \"provisioner\" already exists"]);
    let err = net
        .server
        .fails(&["revoke-token", "evilcorp", "--name", "nobody"], 1);
    assert_contains(&err, &["no token named \"nobody\""]);
    assert_eq!(
        fs::read(net.server.database_file("evilcorp")).unwrap(),
        before
    );

    assert_contains(
        &net.ok(&["revoke-token", "evilcorp", "--name", "provisioner"]),
        &["revoked"],
    );
    assert_contains(&net.ok(&["list-tokens", "evilcorp"]), &["revoked "]);
    assert_contains(
        &net.ok(&["audit", "evilcorp"]),
        &[
            "token.create  \"provisioner\", scopes read,devices",
            "token.revoke",
        ],
    );
}

/// An ephemeral peer says so in `list` (its window) and in `list --json` (`ephemeral_secs`);
/// other peers carry neither.
#[test]
fn list_shows_ephemeral_peers() {
    let net = network(V4);
    net.add_peer("runner", None, &["--ephemeral", "10m"]);
    net.add_peer("laptop", None, &[]);
    let tree = net.list();
    let runner = tree.lines().find(|l| l.contains("runner")).unwrap();
    assert!(runner.contains("ephemeral 10m"), "{tree}");
    let laptop = tree.lines().find(|l| l.contains("laptop")).unwrap();
    assert!(!laptop.contains("ephemeral"), "{tree}");
    let json: serde_json::Value =
        serde_json::from_str(&net.ok(&["list", "evilcorp", "--json"])).unwrap();
    let peers = json["peers"].as_array().unwrap();
    let by = |name: &str| peers.iter().find(|p| p["name"] == name).unwrap().clone();
    assert_eq!(by("runner")["ephemeral_secs"], 600);
    assert!(by("laptop").get("ephemeral_secs").is_none());
}
