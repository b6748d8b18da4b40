//! Against the kernel: tables programmed inside a network namespace of the test's own, read
//! back with `nft -j list table` and evaluated against the policy's definition. Needs root,
//! `ip` and Debian's `nft` (the README's test command installs them); without them the tests
//! say why and pass, and with `WIREMESH_REQUIRE_PRIVILEGED=1` they fail instead.

use std::process::Command;

use wiremesh_firewall::{Firewall, Gateway, Nft, TableState};
use wiremesh_shared::fixture::*;
use wiremesh_shared::policy::*;
use wiremesh_shared::RuleId;

/// Whether these tests can run here; otherwise says why (or panics under
/// `WIREMESH_REQUIRE_PRIVILEGED=1`).
fn privileged(test: &str) -> bool {
    let on_path = |program: &str| {
        std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
            .unwrap_or(false)
    };
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root");
    }
    if !on_path("ip") {
        missing.push("the `ip` command (iproute2)");
    }
    if !on_path("nft") {
        missing.push("the `nft` command (nftables)");
    }
    if missing.is_empty() {
        return true;
    }
    let reason = format!("{test}: skipped, this machine lacks {}", missing.join(", "));
    if std::env::var("WIREMESH_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("{reason} (WIREMESH_REQUIRE_PRIVILEGED=1 forbids skipping)");
    }
    eprintln!("{reason}");
    false
}

/// A network namespace that is deleted when the test ends, whether it passes or not.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        let name = format!("wmfw-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "delete", &name])
            .stderr(std::process::Stdio::null())
            .status();
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip");
        assert!(status.success(), "ip netns add {name}");
        Self(name)
    }

    fn nft(&self, args: &[&str]) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.0, "nft"])
            .args(args)
            .output()
            .expect("run nft");
        assert!(
            output.status.success(),
            "nft {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn policy(association: wiremesh_shared::AssociationId) -> Policy {
    let rule = |id, source, destination, protocol, ports: &str| Rule {
        id: RuleId(id),
        contents: RuleContents {
            scope: Scope::Association(association),
            source,
            destination,
            protocol,
            ports: if ports.is_empty() {
                Vec::new()
            } else {
                parse_ports(ports).unwrap()
            },
            note: None,
        },
    };
    Policy {
        rules: vec![
            rule(
                1,
                Source::Cidr(USER),
                Destination::Cidr(DEVELOPER),
                Protocol::Tcp,
                "22",
            ),
            rule(
                2,
                Source::Cidr(USER),
                Destination::Cidr(DEVELOPER),
                Protocol::Udp,
                "53,5300-5310",
            ),
            rule(
                3,
                Source::Peer(USER2),
                Destination::Peer(DEVELOPER2),
                Protocol::Any,
                "",
            ),
            rule(4, Source::Any, Destination::Cidr(USER), Protocol::Icmp, ""),
        ],
        isolated: vec![DEVELOPER],
    }
}

fn transports() -> Vec<Transport> {
    let mut out = vec![Transport::Other { protocol: 47 }];
    for port in [21, 22, 23, 53, 80, 5305, 51820] {
        out.push(Transport::Tcp { port });
        out.push(Transport::Udp { port });
    }
    for kind in [0, 2, 3, 8, 11, 128, 129, 134, 135, 137] {
        out.push(Transport::Icmp { kind });
    }
    out
}

#[test]
fn what_the_kernel_holds_is_what_the_policy_says() {
    if !privileged("what_the_kernel_holds_is_what_the_policy_says") {
        return;
    }
    for family in Family::BOTH {
        let ns = Netns::new(&format!("{family:?}").to_lowercase());
        let mut fx = Fixture::new(family);
        let association = fx.associate(USER, DEVELOPER);
        let policy = policy(association);
        for host_id in [DEVELOPER1, DEVELOPER2, USER1, SERVER] {
            let host = fx.peer(host_id).clone();
            let role = if host_id == SERVER {
                HostRole::Server { api_port: 51820 }
            } else {
                HostRole::Peer
            };
            let ruleset = compile(&fx.view(), &policy, &host, role);
            let firewall = Firewall::new(Nft::in_netns(&ns.0), "wmt0");
            firewall.apply(&ruleset).unwrap();
            assert_eq!(
                firewall.check(&ruleset).unwrap(),
                TableState::InSync,
                "{family:?} {host_id}"
            );
            let image = firewall
                .read()
                .unwrap()
                .expect("a table")
                .expect("an image");
            for src in fx.peers.iter().map(|p| p.ip) {
                for transport in transports() {
                    let packet = Packet {
                        src,
                        dst: host.ip,
                        transport,
                    };
                    let verdict = decide(&fx.view(), &policy, &host, role, &packet);
                    assert_eq!(
                        image.accepts("wmt0", &packet).unwrap(),
                        verdict.allowed(),
                        "{family:?}: host {host_id}, {packet:?}: the policy says {verdict:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn drift_is_seen_and_repaired_and_removal_is_clean() {
    if !privileged("drift_is_seen_and_repaired_and_removal_is_clean") {
        return;
    }
    let ns = Netns::new("drift");
    let mut fx = Fixture::new(Family::V4);
    let association = fx.associate(USER, DEVELOPER);
    let policy = policy(association);
    let ruleset = compile(&fx.view(), &policy, fx.peer(DEVELOPER1), HostRole::Peer);
    // Someone else's table, and another network's, must survive everything below.
    ns.nft(&["add", "table", "inet", "other"]);
    ns.nft(&[
        "add",
        "chain",
        "inet",
        "other",
        "c",
        "{ type filter hook input priority 10; policy accept; }",
    ]);
    ns.nft(&[
        "add", "rule", "inet", "other", "c", "tcp", "dport", "9", "drop",
    ]);
    let other_before = ns.nft(&["-j", "list", "table", "inet", "other"]);
    let neighbour = Firewall::new(Nft::in_netns(&ns.0), "wmt1");
    let open = HostRuleset::open(HostRole::Peer);
    neighbour.apply(&open).unwrap();

    let firewall = Firewall::new(Nft::in_netns(&ns.0), "wmt0");
    assert_eq!(firewall.check(&ruleset).unwrap(), TableState::Missing);
    assert_eq!(firewall.ensure(&ruleset).unwrap(), TableState::Missing);
    assert_eq!(firewall.check(&ruleset).unwrap(), TableState::InSync);
    // A replace over an existing table is as good as the first.
    firewall.apply(&ruleset).unwrap();
    assert_eq!(firewall.check(&ruleset).unwrap(), TableState::InSync);

    ns.nft(&["flush", "table", "inet", "wiremesh_wmt0"]);
    assert!(matches!(
        firewall.check(&ruleset).unwrap(),
        TableState::Drifted(_)
    ));
    assert!(matches!(
        firewall.ensure(&ruleset).unwrap(),
        TableState::Drifted(_)
    ));
    assert_eq!(firewall.check(&ruleset).unwrap(), TableState::InSync);

    ns.nft(&["add", "rule", "inet", "wiremesh_wmt0", "mesh", "counter"]);
    let TableState::Drifted(why) = firewall.check(&ruleset).unwrap() else {
        panic!("an added rule is drift")
    };
    assert!(why.contains("never writes"), "{why}");
    firewall.ensure(&ruleset).unwrap();

    ns.nft(&[
        "delete",
        "element",
        "inet",
        "wiremesh_wmt0",
        "restricted4",
        "{ 10.80.128.0/17 }",
    ]);
    let TableState::Drifted(why) = firewall.check(&ruleset).unwrap() else {
        panic!("a deleted element is drift")
    };
    assert!(why.contains("restricted4"), "{why}");
    firewall.ensure(&ruleset).unwrap();

    // A new policy replaces the old one.
    let looser = compile(
        &fx.view(),
        &Policy::default(),
        fx.peer(DEVELOPER1),
        HostRole::Peer,
    );
    firewall.apply(&looser).unwrap();
    assert_eq!(firewall.check(&looser).unwrap(), TableState::InSync);
    assert!(matches!(
        firewall.check(&ruleset).unwrap(),
        TableState::Drifted(_)
    ));

    assert!(firewall.remove().unwrap());
    assert!(!firewall.remove().unwrap());
    assert_eq!(firewall.check(&ruleset).unwrap(), TableState::Missing);
    assert_eq!(neighbour.check(&open).unwrap(), TableState::InSync);
    assert_eq!(
        ns.nft(&["-j", "list", "table", "inet", "other"]),
        other_before
    );
    assert!(neighbour.remove().unwrap());
    let tables = ns.nft(&["list", "tables"]);
    assert_eq!(tables.trim(), "table inet other");
}

/// A gateway's masquerading chain goes in with the table, reads back as programmed, is seen
/// as drift when missing, and leaves with the duties.
#[test]
fn a_gateway_masquerades_toward_its_routes() {
    if !privileged("a_gateway_masquerades_toward_its_routes") {
        return;
    }
    let ns = Netns::new("gw");
    let open = HostRuleset::open(HostRole::Peer);
    let gateway = Gateway {
        nets: vec![
            "192.168.10.0/24".parse().unwrap(),
            "fd10:10::/64".parse().unwrap(),
        ],
        snat: true,
        exit_mark: None,
        hub: wiremesh_firewall::Hub::NONE,
    };
    let firewall = Firewall::new(Nft::in_netns(&ns.0), "wmt0");
    firewall.apply_with(&open, &gateway).unwrap();
    assert_eq!(
        firewall.check_with(&open, &gateway).unwrap(),
        TableState::InSync
    );
    let listed = ns.nft(&["list", "table", "inet", "wiremesh_wmt0"]);
    assert!(
        listed.contains("type nat hook postrouting priority srcnat")
            && listed.contains("iifname \"wmt0\" oifname != \"wmt0\" ip daddr @routes4 masquerade")
            && listed.contains("192.168.10.0/24")
            && listed.contains("type filter hook forward priority filter")
            && listed.contains("iifname \"wmt0\" ip daddr != @routes4 drop")
            && listed.contains("iifname \"wmt0\" ip6 daddr != @routes6 drop")
            && listed.contains("iifname \"wmt0\" ip daddr @routes4 jump mesh"),
        "{listed}"
    );
    // A routed site (no source NAT): the forward filter without the masquerading chain.
    let routed = Gateway {
        snat: false,
        ..gateway.clone()
    };
    firewall.apply_with(&open, &routed).unwrap();
    let listed = ns.nft(&["list", "table", "inet", "wiremesh_wmt0"]);
    assert!(
        !listed.contains("masquerade") && listed.contains("ip daddr != @routes4 drop"),
        "{listed}"
    );
    assert_eq!(
        firewall.check_with(&open, &routed).unwrap(),
        TableState::InSync
    );
    firewall.apply_with(&open, &gateway).unwrap();
    // Without the duties the same table is drift; applying without them removes the chain.
    assert!(matches!(
        firewall.check(&open).unwrap(),
        TableState::Drifted(_)
    ));
    ns.nft(&["flush", "chain", "inet", "wiremesh_wmt0", "postrouting"]);
    assert!(matches!(
        firewall.ensure_with(&open, &gateway).unwrap(),
        TableState::Drifted(_)
    ));
    assert_eq!(
        firewall.check_with(&open, &gateway).unwrap(),
        TableState::InSync
    );
    // An exit node's user: the mark chains, read back in sync.
    let exit = Gateway {
        exit_mark: Some(0x776d),
        hub: wiremesh_firewall::Hub::NONE,
        ..Gateway::NONE
    };
    firewall.apply_with(&open, &exit).unwrap();
    let listed = ns.nft(&["list", "table", "inet", "wiremesh_wmt0"]);
    assert!(
        listed.contains("meta l4proto udp ct mark 0x0000776d meta mark set ct mark")
            && listed.contains("meta l4proto udp meta mark 0x0000776d ct mark set meta mark"),
        "{listed}"
    );
    assert_eq!(
        firewall.check_with(&open, &exit).unwrap(),
        TableState::InSync
    );
    firewall.apply(&open).unwrap();
    let listed = ns.nft(&["list", "table", "inet", "wiremesh_wmt0"]);
    assert!(
        !listed.contains("masquerade") && !listed.contains("forward") && !listed.contains("mark"),
        "{listed}"
    );
    assert!(firewall.remove().unwrap());
}

/// A hub's chains and sets go in with the table and read back as programmed (a set or a
/// chain that nftables spells its own way would show as drift at every check).
#[test]
fn a_hubs_device_chains_read_back_as_programmed() {
    if !privileged("a_hubs_device_chains_read_back_as_programmed") {
        return;
    }
    let ns = Netns::new("hub");
    let ruleset = |restricted: &str, source: &str, port: u16| HostRuleset {
        role: HostRole::Peer,
        restricted: vec![restricted.parse().unwrap()],
        allows: vec![wiremesh_shared::policy::Allow {
            rule: wiremesh_shared::RuleId(9),
            source: source.parse().unwrap(),
            protocol: wiremesh_shared::policy::Protocol::Tcp,
            ports: vec![wiremesh_shared::policy::PortRange::single(port).unwrap()],
            destination: None,
        }],
    };
    for v6 in [false, true] {
        let pick = |v4: &str, v6_text: &str| {
            if v6 {
                v6_text.to_owned()
            } else {
                v4.to_owned()
            }
        };
        let hub = wiremesh_firewall::Hub {
            devices: vec![wiremesh_firewall::HubDevice {
                ip: pick("10.80.200.2", "fd00:1337::c8:0:0:2").parse().unwrap(),
                sees: vec![
                    pick("10.80.64.0/24", "fd00:1337::2:0:0:0/80")
                        .parse()
                        .unwrap(),
                    pick("10.80.200.0/24", "fd00:1337::c8:0:0:0/80")
                        .parse()
                        .unwrap(),
                ],
                ruleset: 0,
                full_tunnel: true,
            }],
            rulesets: vec![
                ruleset(
                    &pick("10.80.64.0/24", "fd00:1337::2:0:0:0/80"),
                    &pick("10.80.64.0/24", "fd00:1337::2:0:0:0/80"),
                    22,
                ),
                HostRuleset::open(HostRole::Peer),
            ],
            guarded: vec![(
                pick("10.80.64.0/24", "fd00:1337::2:0:0:0/80")
                    .parse()
                    .unwrap(),
                1,
            )],
        };
        let gateway = Gateway {
            hub,
            ..Gateway::NONE
        };
        let open = HostRuleset::open(HostRole::Peer);
        let firewall = Firewall::new(Nft::in_netns(&ns.0), "wmt0");
        firewall.apply_with(&open, &gateway).unwrap();
        assert_eq!(
            firewall.check_with(&open, &gateway).unwrap(),
            TableState::InSync,
            "v6: {v6}"
        );
        let listed = ns.nft(&["list", "table", "inet", "wiremesh_wmt0"]);
        assert!(
            listed.contains("iifname \"wmt0\" oifname \"wmt0\" jump hub")
                && listed.contains("jump pol0")
                && listed.contains("jump pol1")
                && listed.contains("saddr @exits")
                && listed.contains("masquerade"),
            "{listed}"
        );
        // Without devices the hub's chains go.
        firewall.apply_with(&open, &Gateway::NONE).unwrap();
        let listed = ns.nft(&["list", "table", "inet", "wiremesh_wmt0"]);
        assert!(
            !listed.contains("hub") && !listed.contains("forward"),
            "{listed}"
        );
    }
}
