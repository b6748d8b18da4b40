//! A host's compiled ruleset as one nftables transaction that replaces the interface's table.
//!
//! The table `inet wiremesh_<iface>` holds:
//! - sets `restricted4` and `restricted6`: the prefixes of senders that may only open what a
//!   rule allows;
//! - chain `prerouting` (hook prerouting, priority -150, policy accept): packets arriving on
//!   the interface for one of the host's own addresses jump to `mesh`. The hook and priority
//!   are chosen so that the policy sees a packet before any destination NAT (priority -100):
//!   a port that Docker (or anyone) forwards from the host to a container is judged as the
//!   port the peer asked for, and no chain of Docker's can let it past a drop here;
//! - chain `mesh`: replies and related packets, essential ICMP (and on the server its API
//!   port and pings) are accepted; senders outside the restricted sets are accepted; then one
//!   accept per allow line (one from a rule toward a route also matches that network as the
//!   destination); everything else is dropped.
//!
//! On a gateway ([`Gateway`]) it also holds:
//! - sets `routes4` and `routes6`: the networks the gateway forwards to (an exit node's
//!   default route among them);
//! - two more rules in `prerouting`: packets arriving on the interface for those networks
//!   jump to `mesh` too, so the policy that guards the gateway guards what lies behind it;
//! - chain `forward` (hook forward, priority filter, policy accept): packets from the
//!   interface to anything but those networks are dropped, so a peer cannot use the gateway
//!   to reach networks nobody approved (or to bounce back into the mesh);
//! - chain `postrouting` (hook postrouting, priority srcnat, policy accept): traffic from the
//!   mesh leaving through another interface toward them is masqueraded, so hosts there need
//!   no route back to the mesh.
//!
//! On a host that sends everything through an exit node ([`Gateway::exit_mark`]):
//! - chain `exitmark_out` (hook output, priority mangle): the tunnel's own UDP, which carries
//!   the mark, records it in conntrack;
//! - chain `exitmark_in` (hook prerouting, priority mangle): UDP of those connections gets
//!   the mark back, so the reverse path check (with `src_valid_mark`) looks it up past the
//!   exit node's routing table, and strict `rp_filter` keeps accepting the replies.
//!
//! The transaction adds the table, deletes it and builds it again, so it works whether or not
//! the table exists, and the kernel swaps old for new at once: no packet ever meets a
//! half-built table.

use std::borrow::Cow;
use std::collections::HashSet;

use ipnet::IpNet;
use nftables::batch::Batch;
use nftables::expr::{
    Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix, Range, SetItem, CT,
};
use nftables::schema::{
    Chain, NfListObject, Nftables, Rule, Set, SetFlag, SetType, SetTypeValue, Table,
};
use nftables::stmt::{JumpTarget, Mangle, Match, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use wiremesh_shared::policy::{
    HostRole, HostRuleset, PortRange, Protocol, ESSENTIAL_ICMPV4, ESSENTIAL_ICMPV6,
    ICMPV4_ECHO_REQUEST,
};

use crate::names::{icmp_type_name, L4_ICMP, L4_ICMPV6, L4_TCP, L4_UDP};
use crate::{
    policy_chain, policy_restricted_sets, sees_sets, Gateway, Hub, BASE_CHAIN, BASE_PRIORITY,
    DEVICES4, DEVICES6, EXITS4, EXITS6, FORWARD_CHAIN, FORWARD_PRIORITY, HUB_CHAIN, MARK_IN_CHAIN,
    MARK_OUT_CHAIN, MARK_PRIORITY, MESH_CHAIN, NAT_CHAIN, NAT_PRIORITY, RESTRICTED4, RESTRICTED6,
    ROUTES4, ROUTES6,
};

/// The transaction that replaces the table `table` with `ruleset` for interface `iface`.
pub fn replace_table(
    table: &str,
    iface: &str,
    ruleset: &HostRuleset,
    gateway: &Gateway,
) -> Nftables<'static> {
    let mut batch = Batch::new();
    let t = table_object(table);
    batch.add(t.clone());
    batch.delete(t.clone());
    batch.add(t);
    for objects in table_contents(table, iface, ruleset, gateway) {
        batch.add(objects);
    }
    batch.to_nftables()
}

/// The transaction that removes the table `table`, whether or not it exists.
pub fn remove_table(table: &str) -> Nftables<'static> {
    let mut batch = Batch::new();
    let t = table_object(table);
    batch.add(t.clone());
    batch.delete(t);
    batch.to_nftables()
}

fn table_object(table: &str) -> NfListObject<'static> {
    NfListObject::Table(Table {
        family: NfFamily::INet,
        name: Cow::Owned(table.to_owned()),
        handle: None,
    })
}

/// Everything inside the table, in the order it must be created.
pub(crate) fn table_contents(
    table: &str,
    iface: &str,
    ruleset: &HostRuleset,
    gateway: &Gateway,
) -> Vec<NfListObject<'static>> {
    let table: Cow<'static, str> = Cow::Owned(table.to_owned());
    let mut out = Vec::new();
    let hub = &gateway.hub;
    let hub_sets = hub_sets(hub);
    let mut sets: Vec<(Cow<'static, str>, bool, &Vec<IpNet>)> = vec![
        (Cow::Borrowed(RESTRICTED4), false, &ruleset.restricted),
        (Cow::Borrowed(RESTRICTED6), true, &ruleset.restricted),
    ];
    if gateway.forwards() {
        sets.push((Cow::Borrowed(ROUTES4), false, &gateway.nets));
        sets.push((Cow::Borrowed(ROUTES6), true, &gateway.nets));
    }
    for (name, nets) in &hub_sets {
        sets.push((Cow::Owned(format!("{name}4")), false, nets));
        sets.push((Cow::Owned(format!("{name}6")), true, nets));
    }
    for (name, v6, nets) in sets {
        let elements: Vec<Expression<'static>> = nets
            .iter()
            .filter(|n| matches!(n, IpNet::V6(_)) == v6)
            .map(|n| prefix(*n))
            .collect();
        out.push(NfListObject::Set(Box::new(Set {
            family: NfFamily::INet,
            table: table.clone(),
            name,
            handle: None,
            set_type: SetTypeValue::Single(if v6 {
                SetType::Ipv6Addr
            } else {
                SetType::Ipv4Addr
            }),
            policy: None,
            flags: Some(HashSet::from([SetFlag::Interval])),
            elem: (!elements.is_empty()).then(|| Cow::Owned(elements)),
            timeout: None,
            gc_interval: None,
            size: None,
            comment: None,
        })));
    }
    out.push(NfListObject::Chain(Chain {
        family: NfFamily::INet,
        table: table.clone(),
        name: Cow::Borrowed(MESH_CHAIN),
        ..Chain::default()
    }));
    if !hub.is_empty() {
        let names = std::iter::once(Cow::Borrowed(HUB_CHAIN))
            .chain((0..hub.rulesets.len()).map(|k| Cow::Owned(policy_chain(k))));
        for name in names {
            out.push(NfListObject::Chain(Chain {
                family: NfFamily::INet,
                table: table.clone(),
                name,
                ..Chain::default()
            }));
        }
    }
    out.push(NfListObject::Chain(Chain {
        family: NfFamily::INet,
        table: table.clone(),
        name: Cow::Borrowed(BASE_CHAIN),
        _type: Some(NfChainType::Filter),
        hook: Some(NfHook::Prerouting),
        prio: Some(BASE_PRIORITY),
        policy: Some(NfChainPolicy::Accept),
        ..Chain::default()
    }));
    let rule = |chain: &str, expr: Vec<Statement<'static>>| {
        NfListObject::Rule(Rule {
            family: NfFamily::INet,
            table: table.clone(),
            chain: Cow::Owned(chain.to_owned()),
            expr: Cow::Owned(expr),
            handle: None,
            index: None,
            comment: None,
        })
    };
    out.push(rule(
        BASE_CHAIN,
        vec![
            matches(meta(MetaKey::Iifname), Operator::EQ, string(iface)),
            matches(
                Expression::Named(NamedExpression::Fib(Fib {
                    result: FibResult::Type,
                    flags: HashSet::from([FibFlag::Daddr]),
                })),
                Operator::EQ,
                string("local"),
            ),
            Statement::Jump(JumpTarget {
                target: Cow::Borrowed(MESH_CHAIN),
            }),
        ],
    ));
    if gateway.forwards() {
        for (family, set) in [("ip", ROUTES4), ("ip6", ROUTES6)] {
            out.push(rule(
                BASE_CHAIN,
                vec![
                    matches(meta(MetaKey::Iifname), Operator::EQ, string(iface)),
                    matches(
                        payload(family, "daddr"),
                        Operator::EQ,
                        string(&format!("@{set}")),
                    ),
                    Statement::Jump(JumpTarget {
                        target: Cow::Borrowed(MESH_CHAIN),
                    }),
                ],
            ));
        }
    }
    for expr in mesh_rules(ruleset, [RESTRICTED4, RESTRICTED6]) {
        out.push(rule(MESH_CHAIN, expr));
    }
    if let Some(mark) = gateway.exit_mark {
        for (name, hook, restore) in [
            (MARK_IN_CHAIN, NfHook::Prerouting, true),
            (MARK_OUT_CHAIN, NfHook::Output, false),
        ] {
            out.push(NfListObject::Chain(Chain {
                family: NfFamily::INet,
                table: table.clone(),
                name: Cow::Borrowed(name),
                _type: Some(NfChainType::Filter),
                hook: Some(hook),
                prio: Some(MARK_PRIORITY),
                policy: Some(NfChainPolicy::Accept),
                ..Chain::default()
            }));
            let ct_mark = Expression::Named(NamedExpression::CT(CT {
                key: Cow::Borrowed("mark"),
                family: None,
                dir: None,
            }));
            let meta_mark = meta(MetaKey::Mark);
            let (tested, key, value) = if restore {
                (ct_mark.clone(), meta_mark, ct_mark)
            } else {
                (meta_mark.clone(), ct_mark, meta_mark)
            };
            out.push(rule(
                name,
                vec![
                    matches(meta(MetaKey::L4proto), Operator::EQ, string("udp")),
                    matches(tested, Operator::EQ, Expression::Number(mark)),
                    Statement::Mangle(Mangle { key, value }),
                ],
            ));
        }
    }
    if !hub.is_empty() {
        for (chain, expr) in hub_rules(hub) {
            out.push(rule(&chain, expr));
        }
    }
    if gateway.has_forward_chain() {
        out.push(NfListObject::Chain(Chain {
            family: NfFamily::INet,
            table: table.clone(),
            name: Cow::Borrowed(FORWARD_CHAIN),
            _type: Some(NfChainType::Filter),
            hook: Some(NfHook::Forward),
            prio: Some(FORWARD_PRIORITY),
            policy: Some(NfChainPolicy::Accept),
            ..Chain::default()
        }));
        if !hub.is_empty() {
            // Mesh traffic that comes back out of the interface is the devices' (or a
            // peer trying to bounce through the hub): the hub chain judges it all.
            out.push(rule(
                FORWARD_CHAIN,
                vec![
                    matches(meta(MetaKey::Iifname), Operator::EQ, string(iface)),
                    matches(meta(MetaKey::Oifname), Operator::EQ, string(iface)),
                    Statement::Jump(JumpTarget {
                        target: Cow::Borrowed(HUB_CHAIN),
                    }),
                ],
            ));
        }
        if hub.is_exit() {
            // Full-tunnel devices leave the mesh through the hub, their exit node (a
            // gateway's filter below would drop what is not toward its routes).
            for (family, set) in [("ip", EXITS4), ("ip6", EXITS6)] {
                out.push(rule(
                    FORWARD_CHAIN,
                    vec![
                        matches(meta(MetaKey::Iifname), Operator::EQ, string(iface)),
                        matches(meta(MetaKey::Oifname), Operator::NEQ, string(iface)),
                        matches(
                            payload(family, "saddr"),
                            Operator::EQ,
                            string(&format!("@{set}")),
                        ),
                        Statement::Accept(None),
                    ],
                ));
            }
        }
    }
    if gateway.forwards() {
        // `ip daddr` holds only for IPv4 packets and `ip6 daddr` only for IPv6 ones, negated
        // or not, so each rule judges its own family.
        for (family, set) in [("ip", ROUTES4), ("ip6", ROUTES6)] {
            out.push(rule(
                FORWARD_CHAIN,
                vec![
                    matches(meta(MetaKey::Iifname), Operator::EQ, string(iface)),
                    matches(
                        payload(family, "daddr"),
                        Operator::NEQ,
                        string(&format!("@{set}")),
                    ),
                    Statement::Drop(None),
                ],
            ));
        }
    }
    if gateway.masquerades() {
        out.push(NfListObject::Chain(Chain {
            family: NfFamily::INet,
            table: table.clone(),
            name: Cow::Borrowed(NAT_CHAIN),
            _type: Some(NfChainType::NAT),
            hook: Some(NfHook::Postrouting),
            prio: Some(NAT_PRIORITY),
            policy: Some(NfChainPolicy::Accept),
            ..Chain::default()
        }));
        // Toward a gateway's routes (with source NAT), and whatever a hub's full-tunnel
        // devices send beyond the mesh.
        let routed = gateway.snat && gateway.forwards();
        let exits = gateway.hub.is_exit();
        for (family, field, set, wanted) in [
            ("ip", "daddr", ROUTES4, routed),
            ("ip6", "daddr", ROUTES6, routed),
            ("ip", "saddr", EXITS4, exits),
            ("ip6", "saddr", EXITS6, exits),
        ] {
            if !wanted {
                continue;
            }
            out.push(rule(
                NAT_CHAIN,
                vec![
                    matches(meta(MetaKey::Iifname), Operator::EQ, string(iface)),
                    matches(meta(MetaKey::Oifname), Operator::NEQ, string(iface)),
                    matches(
                        payload(family, field),
                        Operator::EQ,
                        string(&format!("@{set}")),
                    ),
                    Statement::Masquerade(None),
                ],
            ));
        }
    }
    out
}

/// A hub's sets, by name without the family digit (each becomes an IPv4 and an IPv6 set):
/// its devices, what each sees, and each ruleset's restricted senders.
fn hub_sets(hub: &Hub) -> Vec<(String, Vec<IpNet>)> {
    if hub.is_empty() {
        return Vec::new();
    }
    let strip = |name: &str| name[..name.len() - 1].to_owned();
    let mut out = vec![(
        strip(DEVICES4),
        hub.devices.iter().map(|d| IpNet::from(d.ip)).collect(),
    )];
    if hub.is_exit() {
        out.push((
            strip(EXITS4),
            hub.devices
                .iter()
                .filter(|d| d.full_tunnel)
                .map(|d| IpNet::from(d.ip))
                .collect(),
        ));
    }
    for (i, device) in hub.devices.iter().enumerate() {
        out.push((strip(&sees_sets(i)[0]), device.sees.clone()));
    }
    for (k, ruleset) in hub.rulesets.iter().enumerate() {
        out.push((
            strip(&policy_restricted_sets(k)[0]),
            ruleset.restricted.clone(),
        ));
    }
    out
}

/// The rules of a hub's `hub` chain and of its policy chains, by chain.
///
/// `hub`: replies pass; toward a device, a sender it does not see is dropped and the rest is
/// judged by the device's ruleset; from a device, a destination it does not see is dropped
/// and the rest is judged by the destination's ruleset (as the destination would judge it);
/// everything else between mesh addresses is dropped (peers never bounce through a hub).
fn hub_rules(hub: &Hub) -> Vec<(String, Vec<Statement<'static>>)> {
    let ct_ok = matches(
        Expression::Named(NamedExpression::CT(CT {
            key: Cow::Borrowed("state"),
            family: None,
            dir: None,
        })),
        Operator::IN,
        Expression::List(vec![string("established"), string("related")]),
    );
    let jump = |chain: String| {
        Statement::Jump(JumpTarget {
            target: Cow::Owned(chain),
        })
    };
    let set = |name: &str| string(&format!("@{name}"));
    let family = |ip: &std::net::IpAddr| if ip.is_ipv6() { ("ip6", 1) } else { ("ip", 0) };
    let mut out = vec![(HUB_CHAIN.to_owned(), vec![ct_ok, Statement::Accept(None)])];
    for (i, device) in hub.devices.iter().enumerate() {
        let (fam, at) = family(&device.ip);
        let sees = &sees_sets(i)[at];
        let me = prefix(IpNet::from(device.ip));
        out.push((
            HUB_CHAIN.to_owned(),
            vec![
                matches(payload(fam, "daddr"), Operator::EQ, me.clone()),
                matches(payload(fam, "saddr"), Operator::NEQ, set(sees)),
                Statement::Drop(None),
            ],
        ));
        out.push((
            HUB_CHAIN.to_owned(),
            vec![
                matches(payload(fam, "daddr"), Operator::EQ, me),
                jump(policy_chain(device.ruleset)),
            ],
        ));
    }
    for (i, device) in hub.devices.iter().enumerate() {
        let (fam, at) = family(&device.ip);
        out.push((
            HUB_CHAIN.to_owned(),
            vec![
                matches(
                    payload(fam, "saddr"),
                    Operator::EQ,
                    prefix(IpNet::from(device.ip)),
                ),
                matches(payload(fam, "daddr"), Operator::NEQ, set(&sees_sets(i)[at])),
                Statement::Drop(None),
            ],
        ));
    }
    for (net, k) in &hub.guarded {
        let (fam, devices) = if net.addr().is_ipv6() {
            ("ip6", DEVICES6)
        } else {
            ("ip", DEVICES4)
        };
        out.push((
            HUB_CHAIN.to_owned(),
            vec![
                matches(payload(fam, "saddr"), Operator::EQ, set(devices)),
                matches(payload(fam, "daddr"), Operator::EQ, prefix(*net)),
                jump(policy_chain(*k)),
            ],
        ));
    }
    out.push((HUB_CHAIN.to_owned(), vec![Statement::Drop(None)]));
    for (k, ruleset) in hub.rulesets.iter().enumerate() {
        let [r4, r6] = policy_restricted_sets(k);
        for expr in mesh_rules(ruleset, [&r4, &r6]) {
            out.push((policy_chain(k), expr));
        }
    }
    out
}

/// The statements of a policy chain's rules (the `mesh` chain's, or a hub's `pol<k>`), in
/// order; `restricted` names its sets of restricted senders (IPv4, IPv6).
fn mesh_rules(ruleset: &HostRuleset, restricted: [&str; 2]) -> Vec<Vec<Statement<'static>>> {
    let accept = Statement::Accept(None);
    let mut rules = vec![
        vec![
            matches(
                Expression::Named(NamedExpression::CT(CT {
                    key: Cow::Borrowed("state"),
                    family: None,
                    dir: None,
                })),
                Operator::IN,
                Expression::List(vec![string("established"), string("related")]),
            ),
            accept.clone(),
        ],
        vec![icmp_types(true, &ESSENTIAL_ICMPV6), accept.clone()],
        vec![icmp_types(false, &ESSENTIAL_ICMPV4), accept.clone()],
    ];
    if let HostRole::Server { api_port } = ruleset.role {
        rules.push(vec![
            dport(
                L4_TCP,
                &[PortRange::single(api_port).expect("the API port is not 0")],
            ),
            accept.clone(),
        ]);
        rules.push(vec![
            icmp_types(false, &[ICMPV4_ECHO_REQUEST]),
            accept.clone(),
        ]);
    }
    for (family, set) in [("ip", restricted[0]), ("ip6", restricted[1])] {
        rules.push(vec![
            matches(
                payload(family, "saddr"),
                Operator::NEQ,
                string(&format!("@{set}")),
            ),
            accept.clone(),
        ]);
    }
    for allow in &ruleset.allows {
        let v6 = matches!(allow.source, IpNet::V6(_));
        let mut expr = vec![matches(
            payload(if v6 { "ip6" } else { "ip" }, "saddr"),
            Operator::EQ,
            prefix(allow.source),
        )];
        if let Some(toward) = allow.destination {
            // A rule toward one of the gateway's routes opens only that network.
            expr.push(matches(
                payload(if v6 { "ip6" } else { "ip" }, "daddr"),
                Operator::EQ,
                prefix(toward),
            ));
        }
        match allow.protocol {
            Protocol::Any => {}
            Protocol::Icmp => expr.push(l4proto(if v6 { L4_ICMPV6 } else { L4_ICMP })),
            Protocol::Tcp | Protocol::Udp => {
                let proto = if allow.protocol == Protocol::Tcp {
                    L4_TCP
                } else {
                    L4_UDP
                };
                if allow.ports.is_empty() {
                    expr.push(l4proto(proto));
                } else {
                    expr.push(dport(proto, &allow.ports));
                }
            }
        }
        expr.push(accept.clone());
        rules.push(expr);
    }
    rules.push(vec![Statement::Drop(None)]);
    rules
}

fn matches(
    left: Expression<'static>,
    op: Operator,
    right: Expression<'static>,
) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}

fn string(s: &str) -> Expression<'static> {
    Expression::String(Cow::Owned(s.to_owned()))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: Cow::Borrowed(protocol),
            field: Cow::Borrowed(field),
        },
    )))
}

fn prefix(net: IpNet) -> Expression<'static> {
    if net.prefix_len() == net.max_prefix_len() {
        return string(&net.addr().to_string());
    }
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(string(&net.network().to_string())),
        len: u32::from(net.prefix_len()),
    }))
}

fn l4proto(proto: u8) -> Statement<'static> {
    matches(
        meta(MetaKey::L4proto),
        Operator::EQ,
        string(crate::names::l4proto_name(proto)),
    )
}

fn port_item(range: &PortRange) -> Expression<'static> {
    if range.first() == range.last() {
        Expression::Number(u32::from(range.first()))
    } else {
        Expression::Range(Box::new(Range {
            range: [
                Expression::Number(u32::from(range.first())),
                Expression::Number(u32::from(range.last())),
            ],
        }))
    }
}

fn dport(proto: u8, ports: &[PortRange]) -> Statement<'static> {
    let field = payload(if proto == L4_TCP { "tcp" } else { "udp" }, "dport");
    let right = match ports {
        [one] => port_item(one),
        many => Expression::Named(NamedExpression::Set(
            many.iter()
                .map(|r| SetItem::Element(port_item(r)))
                .collect(),
        )),
    };
    matches(field, Operator::EQ, right)
}

fn icmp_types(v6: bool, kinds: &[u8]) -> Statement<'static> {
    let field = payload(if v6 { "icmpv6" } else { "icmp" }, "type");
    let name = |kind: u8| match icmp_type_name(v6, kind) {
        Some(name) => string(name),
        None => Expression::Number(u32::from(kind)),
    };
    let right = match kinds {
        [one] => name(*one),
        many => Expression::Named(NamedExpression::Set(
            many.iter().map(|&k| SetItem::Element(name(k))).collect(),
        )),
    };
    matches(field, Operator::EQ, right)
}
