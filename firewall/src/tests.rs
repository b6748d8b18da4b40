//! Tests that need no kernel: the transaction's shape, and that the composed table, run by the
//! image evaluator, means what the compiled ruleset means.

use std::net::IpAddr;

use ipnet::IpNet;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wiremesh_shared::policy::{
    Allow, HostRole, HostRuleset, Packet, PortRange, Protocol, Transport,
};
use wiremesh_shared::RuleId;

use super::*;
use crate::image::VerdictImage;

fn sample() -> HostRuleset {
    HostRuleset {
        role: HostRole::Peer,
        restricted: vec![
            "10.1.0.0/16".parse().unwrap(),
            "fd00:1::/64".parse().unwrap(),
        ],
        allows: vec![
            Allow {
                rule: RuleId(1),
                source: "10.1.2.0/24".parse().unwrap(),
                protocol: Protocol::Tcp,
                ports: vec![
                    PortRange::single(22).unwrap(),
                    PortRange::new(8000, 8080).unwrap(),
                ],
                destination: None,
            },
            Allow {
                rule: RuleId(2),
                source: "10.1.3.4/32".parse().unwrap(),
                protocol: Protocol::Udp,
                ports: vec![PortRange::single(53).unwrap()],
                destination: None,
            },
            Allow {
                rule: RuleId(3),
                source: "fd00:1::/64".parse().unwrap(),
                protocol: Protocol::Icmp,
                ports: Vec::new(),
                destination: None,
            },
            Allow {
                rule: RuleId(4),
                source: "fd00:1::5/128".parse().unwrap(),
                protocol: Protocol::Any,
                ports: Vec::new(),
                destination: None,
            },
        ],
    }
}

#[test]
fn the_transaction_replaces_one_table_and_nothing_else() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let json: serde_json::Value =
        serde_json::from_str(&firewall.transaction_json(&sample())).unwrap();
    let commands = json["nftables"].as_array().unwrap();
    // add, delete, add the table first: an atomic replace whether or not it existed.
    assert_eq!(commands[0]["add"]["table"]["name"], "wiremesh_wm0");
    assert_eq!(commands[1]["delete"]["table"]["name"], "wiremesh_wm0");
    assert_eq!(commands[2]["add"]["table"]["name"], "wiremesh_wm0");
    for command in commands {
        let (verb, object) = command.as_object().unwrap().iter().next().unwrap();
        assert!(verb == "add" || verb == "delete", "{command}");
        let object = object.as_object().unwrap().values().next().unwrap();
        assert_eq!(object["family"], "inet", "{command}");
        let table = object.get("table").or(object.get("name")).unwrap();
        assert_eq!(table, "wiremesh_wm0", "{command}");
    }
    let text = json.to_string();
    assert!(!text.contains("flush"), "never flushes: {text}");
    assert!(text.contains(r#""hook":"prerouting""#));
}

#[test]
fn the_image_of_the_transaction_evaluates_like_the_ruleset() {
    let ruleset = sample();
    let firewall = Firewall::new(Nft::system(), "wm0");
    let image = firewall.expected_image(&ruleset);
    let cases: [(&str, Transport, bool); 9] = [
        ("10.1.2.9", Transport::Tcp { port: 22 }, true),
        ("10.1.2.9", Transport::Tcp { port: 8081 }, false),
        ("10.1.2.9", Transport::Icmp { kind: 8 }, false),
        ("10.1.2.9", Transport::Icmp { kind: 3 }, true),
        ("10.1.3.4", Transport::Udp { port: 53 }, true),
        ("10.2.0.1", Transport::Udp { port: 9 }, true),
        ("fd00:1::9", Transport::Icmp { kind: 129 }, true),
        ("fd00:1::9", Transport::Tcp { port: 22 }, false),
        ("fd00:1::5", Transport::Other { protocol: 47 }, true),
    ];
    for (src, transport, expected) in cases {
        let packet = Packet {
            src: src.parse().unwrap(),
            dst: "10.9.9.9".parse().unwrap(),
            transport,
        };
        assert_eq!(ruleset.allows(&packet), expected, "{packet:?}");
        assert_eq!(
            image.accepts("wm0", &packet).unwrap(),
            expected,
            "{packet:?}"
        );
        // Packets on other interfaces are not this table's business.
        assert!(image.accepts("eth0", &packet).unwrap());
    }
}

#[test]
fn foreign_statements_are_drift() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let mut json: serde_json::Value =
        serde_json::from_str(&firewall.transaction_json(&sample())).unwrap();
    let commands = json["nftables"].as_array_mut().unwrap();
    let rule = commands
        .iter_mut()
        .rev()
        .find(|c| c["add"].get("rule").is_some())
        .unwrap();
    rule["add"]["rule"]["expr"].as_array_mut().unwrap().insert(
        0,
        serde_json::json!({"counter": {"packets": 0, "bytes": 0}}),
    );
    let batch: nftables::schema::Nftables = serde_json::from_value(json).unwrap();
    let objects: Vec<_> = batch
        .objects
        .iter()
        .filter_map(|o| match o {
            nftables::schema::NfObject::CmdObject(nftables::schema::NfCmd::Add(object)) => {
                Some(object.clone())
            }
            _ => None,
        })
        .collect();
    let err = TableImage::of("wiremesh_wm0", &objects).unwrap_err();
    assert!(err.to_string().contains("never writes"), "{err}");
}

fn arb_net(v6: bool) -> impl Strategy<Value = IpNet> {
    (0u8..4, 0u8..4, prop::sample::select(vec![8u8, 16, 24, 32])).prop_map(move |(a, b, len)| {
        if v6 {
            IpNet::new(
                format!("fd00:{a}:{b}::1").parse::<IpAddr>().unwrap(),
                len * 4,
            )
            .unwrap()
            .trunc()
        } else {
            IpNet::new(format!("10.{a}.{b}.1").parse::<IpAddr>().unwrap(), len)
                .unwrap()
                .trunc()
        }
    })
}

fn arb_ruleset() -> impl Strategy<Value = HostRuleset> {
    let allow = (
        any::<bool>(),
        0usize..4,
        prop::collection::vec((1u16..100, 0u16..20), 0..3),
    )
        .prop_flat_map(|(v6, protocol, ports)| {
            (arb_net(v6), Just(protocol), Just(ports)).prop_map(|(source, protocol, ports)| {
                let protocol =
                    [Protocol::Tcp, Protocol::Udp, Protocol::Icmp, Protocol::Any][protocol];
                let ports = if protocol.has_ports() {
                    wiremesh_shared::policy::normalize_ports(
                        ports
                            .iter()
                            .map(|&(a, w)| PortRange::new(a, a + w).unwrap())
                            .collect(),
                    )
                } else {
                    Vec::new()
                };
                Allow {
                    rule: RuleId(1),
                    source,
                    protocol,
                    ports,
                    destination: None,
                }
            })
        });
    (
        prop::collection::vec(prop_oneof![arb_net(false), arb_net(true)], 0..4),
        prop::collection::vec(allow, 0..6),
        any::<bool>(),
    )
        .prop_map(|(restricted, allows, server)| {
            // Restricted prefixes never nest in a compiled ruleset.
            let restricted = restricted
                .iter()
                .filter(|n| !restricted.iter().any(|o| o != *n && o.contains(*n)))
                .copied()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            HostRuleset {
                role: if server {
                    HostRole::Server { api_port: 51820 }
                } else {
                    HostRole::Peer
                },
                restricted,
                allows,
            }
        })
}

#[test]
fn composed_tables_agree_with_their_rulesets() {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let config = Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let sources: Vec<IpAddr> = [
        "10.0.0.1",
        "10.1.1.1",
        "10.2.3.1",
        "10.3.3.9",
        "fd00:1:1::1",
        "fd00:0:2::1",
        "fd00:3:3::7",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let mut transports = vec![Transport::Other { protocol: 47 }];
    for port in [1, 5, 20, 50, 99, 110, 51820] {
        transports.push(Transport::Tcp { port });
        transports.push(Transport::Udp { port });
    }
    for kind in [2, 3, 8, 128, 135] {
        transports.push(Transport::Icmp { kind });
    }
    runner
        .run(&arb_ruleset(), |ruleset| {
            let image = Firewall::new(Nft::system(), "wm0").expected_image(&ruleset);
            for &src in &sources {
                for &transport in &transports {
                    let packet = Packet {
                        src,
                        dst: src,
                        transport,
                    };
                    prop_assert_eq!(
                        ruleset.allows(&packet),
                        image.accepts("wm0", &packet).unwrap(),
                        "{:?}",
                        packet
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

fn gateway() -> Gateway {
    Gateway {
        nets: vec![
            "192.168.10.0/24".parse().unwrap(),
            "0.0.0.0/0".parse().unwrap(),
            "fd10:10::/64".parse().unwrap(),
        ],
        snat: true,
        exit_mark: None,
        hub: Hub::NONE,
    }
}

#[test]
fn a_gateway_masquerades_mesh_traffic_toward_its_routes_and_filters_the_same() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let json: serde_json::Value =
        serde_json::from_str(&firewall.transaction_json_of(&sample(), &gateway())).unwrap();
    let text = json.to_string();
    assert!(text.contains(r#""hook":"postrouting""#), "{text}");
    assert!(text.contains(r#""type":"nat""#), "{text}");
    assert!(text.contains(r#""masquerade":null"#), "{text}");
    assert!(
        text.contains("@routes4") && text.contains("@routes6"),
        "{text}"
    );

    let with = firewall.expected_image_of(&sample(), &gateway());
    let without = firewall.expected_image(&sample());
    assert_ne!(with, without);
    assert_eq!(with.sets["routes4"].elements.len(), 2);
    assert_eq!(with.sets["routes6"].elements.len(), 1);
    assert!(with.chains["postrouting"].base.as_ref().unwrap().nat);
    // Routed traffic meets the same policy chain; the forward chain drops the rest.
    let jumps = with.chains["prerouting"]
        .rules
        .iter()
        .filter(|r| r.verdict == VerdictImage::Jump("mesh".to_owned()))
        .count();
    assert_eq!(jumps, 3);
    assert_eq!(
        with.chains["forward"].base.as_ref().unwrap().hook,
        "forward"
    );
    assert!(with.chains["forward"]
        .rules
        .iter()
        .all(|r| r.verdict == VerdictImage::Drop));
    // The masquerading chain changes nothing about what the host accepts.
    for packet in [
        Packet {
            src: "10.1.2.3".parse().unwrap(),
            dst: "10.1.0.1".parse().unwrap(),
            transport: Transport::Tcp { port: 80 },
        },
        Packet {
            src: "10.1.2.3".parse().unwrap(),
            dst: "10.1.0.1".parse().unwrap(),
            transport: Transport::Tcp { port: 22 },
        },
    ] {
        assert_eq!(
            with.accepts("wm0", &packet).unwrap(),
            without.accepts("wm0", &packet).unwrap()
        );
    }
    // Without source NAT (a routed site): the route sets and the forward filter, no
    // masquerading; without routes: nothing of a gateway at all.
    let routed = Gateway {
        snat: false,
        ..gateway()
    };
    let routed_image = firewall.expected_image_of(&sample(), &routed);
    assert!(!routed_image.chains.contains_key("postrouting"));
    assert_eq!(routed_image.chains["forward"].rules.len(), 2);
    assert_eq!(routed_image.sets["routes4"].elements.len(), 2);
    let idle = Gateway {
        nets: Vec::new(),
        snat: true,
        exit_mark: None,
        hub: Hub::NONE,
    };
    assert_eq!(firewall.expected_image_of(&sample(), &idle), without);
}

#[test]
fn a_host_using_an_exit_node_keeps_the_tunnels_mark_on_replies() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let exit = Gateway {
        exit_mark: Some(0x776d),
        hub: Hub::NONE,
        ..Gateway::NONE
    };
    let image = firewall.expected_image_of(&sample(), &exit);
    let without = firewall.expected_image(&sample());
    let restore = &image.chains["exitmark_in"];
    assert_eq!(restore.base.as_ref().unwrap().hook, "prerouting");
    assert_eq!(restore.rules[0].verdict, VerdictImage::RestoreMark);
    assert!(restore.rules[0]
        .conditions
        .contains(&crate::image::Condition::CtMark(0x776d)));
    let save = &image.chains["exitmark_out"];
    assert_eq!(save.base.as_ref().unwrap().hook, "output");
    assert_eq!(save.rules[0].verdict, VerdictImage::SaveMark);
    // No gateway duties come with it, and what the host accepts is unchanged.
    assert!(!image.chains.contains_key("forward") && !image.sets.contains_key("routes4"));
    let packet = Packet {
        src: "10.1.2.3".parse().unwrap(),
        dst: "10.1.0.1".parse().unwrap(),
        transport: Transport::Udp { port: 53 },
    };
    assert_eq!(
        image.accepts("wm0", &packet).unwrap(),
        without.accepts("wm0", &packet).unwrap()
    );
}

#[test]
fn a_rule_toward_a_route_opens_that_network_and_not_the_gateway() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let mut ruleset = sample();
    ruleset.allows.push(Allow {
        rule: RuleId(9),
        source: "10.1.2.0/24".parse().unwrap(),
        protocol: Protocol::Tcp,
        ports: vec![PortRange::single(80).unwrap()],
        destination: Some("192.168.10.0/24".parse().unwrap()),
    });
    let text = firewall.transaction_json_of(&ruleset, &gateway());
    assert!(
        text.contains(r#""daddr""#) && text.contains("192.168.10.0"),
        "{text}"
    );
    // Toward the gateway itself, port 80 stays closed to the restricted sender.
    let image = firewall.expected_image_of(&ruleset, &gateway());
    let to_gateway = Packet {
        src: "10.1.2.3".parse().unwrap(),
        dst: "10.1.0.1".parse().unwrap(),
        transport: Transport::Tcp { port: 80 },
    };
    assert!(!image.accepts("wm0", &to_gateway).unwrap());
    assert!(!ruleset.allows(&to_gateway));
    // The model lets it through toward the route.
    let to_route = Packet {
        dst: "192.168.10.5".parse().unwrap(),
        ..to_gateway
    };
    assert!(ruleset.allows(&to_route));
}

fn tcp_only(restricted: &str, source: &str, port: u16) -> HostRuleset {
    HostRuleset {
        role: HostRole::Peer,
        restricted: vec![restricted.parse().unwrap()],
        allows: vec![Allow {
            rule: RuleId(9),
            source: source.parse().unwrap(),
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(port).unwrap()],
            destination: None,
        }],
    }
}

/// A hub with one phone (10.80.200.2, seeing developers and the server) that accepts ssh
/// from developers, and a developer (10.80.64.2) that accepts port 80 from phones.
fn hub() -> Hub {
    Hub {
        devices: vec![HubDevice {
            ip: "10.80.200.2".parse().unwrap(),
            sees: vec![
                "10.80.0.1/32".parse().unwrap(),
                "10.80.64.0/24".parse().unwrap(),
                "10.80.200.0/24".parse().unwrap(),
            ],
            ruleset: 0,
            full_tunnel: false,
        }],
        rulesets: vec![
            tcp_only("10.80.64.0/24", "10.80.64.0/24", 22),
            tcp_only("10.80.200.0/24", "10.80.200.0/24", 80),
        ],
        guarded: vec![("10.80.64.2/32".parse().unwrap(), 1)],
    }
}

#[test]
fn a_hub_judges_device_traffic_both_ways_and_nothing_bounces_through_it() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let gateway = Gateway {
        hub: hub(),
        ..Gateway::NONE
    };
    let image = firewall.expected_image_of(&sample(), &gateway);
    let tcp = |src: &str, dst: &str, port| Packet {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        transport: Transport::Tcp { port },
    };
    let cases = [
        // Toward the phone: its own ruleset, and only from what it sees.
        (tcp("10.80.64.2", "10.80.200.2", 22), true),
        (tcp("10.80.64.2", "10.80.200.2", 23), false),
        (tcp("10.80.128.2", "10.80.200.2", 22), false),
        // From the phone: the receiver's ruleset, and only toward what it sees.
        (tcp("10.80.200.2", "10.80.64.2", 80), true),
        (tcp("10.80.200.2", "10.80.64.2", 81), false),
        (tcp("10.80.200.2", "10.80.128.2", 80), false),
        // Seen but guarded by no ruleset of the hub (not a host the phone may reach).
        (tcp("10.80.200.2", "10.80.64.3", 80), false),
        // A peer bouncing through the hub to another peer.
        (tcp("10.80.64.2", "10.80.64.3", 80), false),
    ];
    for (packet, expected) in cases {
        assert_eq!(
            image.forwards("wm0", &packet).unwrap(),
            expected,
            "{packet:?}"
        );
        // Another interface's traffic is none of this table's business.
        assert!(image.forwards("eth0", &packet).unwrap(), "{packet:?}");
    }
    // What the host itself accepts is unchanged.
    let without = firewall.expected_image(&sample());
    for packet in [
        tcp("10.1.2.3", "10.80.0.1", 22),
        tcp("10.1.9.9", "10.80.0.1", 22),
    ] {
        assert_eq!(
            image.accepts("wm0", &packet).unwrap(),
            without.accepts("wm0", &packet).unwrap()
        );
    }
    // No hub: nothing forwarded is judged at all.
    assert!(without
        .forwards("wm0", &tcp("10.80.64.2", "10.80.64.3", 80))
        .unwrap());
    // What was sent reduces to the same image the JSON transaction spells.
    let json = firewall.transaction_json_of(&sample(), &gateway);
    assert!(
        json.contains("dev0_sees4") && json.contains("pol1_restricted4"),
        "{json}"
    );
}

#[test]
fn a_hub_is_the_exit_node_of_its_full_tunnel_devices() {
    let firewall = Firewall::new(Nft::system(), "wm0");
    let mut exit = hub();
    exit.devices[0].full_tunnel = true;
    let with = Gateway {
        hub: exit,
        ..Gateway::NONE
    };
    let image = firewall.expected_image_of(&sample(), &with);
    assert!(image.chains["postrouting"].base.as_ref().unwrap().nat);
    assert_eq!(
        image.sets["exits4"].elements,
        ["10.80.200.2/32".parse().unwrap()].into()
    );
    let json = firewall.transaction_json_of(&sample(), &with);
    assert!(json.contains(r#""masquerade":null"#), "{json}");
    // Without a full-tunnel device nothing is masqueraded.
    let plain = Gateway {
        hub: hub(),
        ..Gateway::NONE
    };
    let image = firewall.expected_image_of(&sample(), &plain);
    assert!(!image.chains.contains_key("postrouting"));
    assert!(!image.sets.contains_key("exits4"));
}
