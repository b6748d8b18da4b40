//! What a table means, independent of how nftables spells it: sets, chains and rules reduced
//! to the few conditions this crate writes, and an evaluator that runs a packet through them.
//!
//! The same reduction is applied to the transaction this crate sends and to what `nft -j
//! list table` prints afterwards, so comparing the two images tells whether the kernel holds
//! what was programmed (drift), whatever spelling nftables chose for it. Anything this crate
//! never writes (a counter, a log statement, an unknown match) is an error: a table that
//! holds it has been edited by someone else.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use nftables::expr::{Expression, FibFlag, FibResult, MetaKey, NamedExpression, Payload, SetItem};
use nftables::schema::{NfListObject, SetType, SetTypeValue};
use nftables::stmt::{Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use wiremesh_shared::policy::{Packet, Transport};

use crate::names::{icmp_type_number, l4proto_number, L4_ICMP, L4_ICMPV6, L4_TCP, L4_UDP};

/// Why a table could not be reduced to an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the table holds something wiremesh never writes: {0}")]
pub struct ImageError(pub String);

fn unexpected(what: impl std::fmt::Debug) -> ImageError {
    let text = format!("{what:?}");
    let cut: String = text.chars().take(160).collect();
    ImageError(cut)
}

/// A table's meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableImage {
    pub sets: BTreeMap<String, SetImage>,
    pub chains: BTreeMap<String, ChainImage>,
}

/// An address set: its family and prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetImage {
    pub v6: bool,
    pub elements: BTreeSet<IpNet>,
}

/// A chain: its hook (for a base chain) and rules in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainImage {
    pub base: Option<BaseChain>,
    pub rules: Vec<RuleImage>,
}

/// How a base chain is hooked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    pub hook: String,
    pub priority: i32,
    pub accept_by_default: bool,
    /// A `nat` chain rather than a `filter` one.
    pub nat: bool,
}

/// A rule: all conditions must hold for the verdict to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleImage {
    pub conditions: BTreeSet<Condition>,
    pub verdict: VerdictImage,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum VerdictImage {
    Accept,
    Drop,
    Jump(String),
    Masquerade,
    /// `meta mark set ct mark` (not a verdict: the packet goes on).
    RestoreMark,
    /// `ct mark set meta mark` (not a verdict: the packet goes on).
    SaveMark,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    InputInterface(String),
    /// `oifname` equal (or, `negated`, not equal) to a name.
    OutputInterface {
        name: String,
        negated: bool,
    },
    /// `ip daddr` / `ip6 daddr` in (or, `negated`, outside) a prefix or set.
    Destination {
        v6: bool,
        negated: bool,
        target: AddressTarget,
    },
    /// `fib daddr type local`: the packet is addressed to one of the host's own addresses.
    LocalDestination,
    /// `ct mark N`.
    CtMark(u32),
    /// `meta mark N`.
    Mark(u32),
    ConntrackState(BTreeSet<String>),
    Protocol(u8),
    Source {
        v6: bool,
        negated: bool,
        target: AddressTarget,
    },
    DestinationPort {
        protocol: u8,
        ranges: Vec<(u16, u16)>,
    },
    IcmpType {
        v6: bool,
        kinds: BTreeSet<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressTarget {
    Net(IpNet),
    Set(String),
}

impl TableImage {
    /// Reduces the objects of table `inet <table>` among `objects` (a listing or a
    /// transaction's added objects).
    pub fn of<'o, 'a: 'o>(
        table: &str,
        objects: impl IntoIterator<Item = &'o NfListObject<'a>>,
    ) -> Result<TableImage, ImageError> {
        let mut image = TableImage::default();
        let ours = |family: &NfFamily, name: &str| *family == NfFamily::INet && name == table;
        for object in objects {
            match object {
                NfListObject::Set(set) if ours(&set.family, &set.table) => {
                    let v6 = match &set.set_type {
                        SetTypeValue::Single(SetType::Ipv4Addr) => false,
                        SetTypeValue::Single(SetType::Ipv6Addr) => true,
                        other => return Err(unexpected(other)),
                    };
                    let mut elements = BTreeSet::new();
                    for element in set.elem.iter().flat_map(|e| e.iter()) {
                        elements.insert(address(element)?);
                    }
                    image
                        .sets
                        .insert(set.name.to_string(), SetImage { v6, elements });
                }
                NfListObject::Chain(chain) if ours(&chain.family, &chain.table) => {
                    let base = match (&chain.hook, chain._type.as_ref()) {
                        (None, None) => None,
                        (Some(hook), Some(kind @ (NfChainType::Filter | NfChainType::NAT))) => {
                            Some(BaseChain {
                                hook: hook_name(hook)?,
                                priority: chain.prio.unwrap_or(0),
                                accept_by_default: !matches!(
                                    chain.policy,
                                    Some(NfChainPolicy::Drop)
                                ),
                                nat: *kind == NfChainType::NAT,
                            })
                        }
                        other => return Err(unexpected(other)),
                    };
                    image.chains.entry(chain.name.to_string()).or_default().base = base;
                }
                NfListObject::Rule(rule) if ours(&rule.family, &rule.table) => {
                    let reduced = rule_image(&rule.expr)?;
                    image
                        .chains
                        .entry(rule.chain.to_string())
                        .or_default()
                        .rules
                        .push(reduced);
                }
                _ => {}
            }
        }
        Ok(image)
    }

    /// Whether a packet opening a connection through `iface` to this host (one of its own
    /// addresses, possibly forwarded on to a container) passes the table. A packet is
    /// accepted when no base chain on its way in (prerouting and input) drops it.
    pub fn accepts(&self, iface: &str, packet: &Packet) -> Result<bool, ImageError> {
        self.passes(&Way::Local { iface }, packet)
    }

    /// Whether a packet opening a connection that arrives on `iface` and is forwarded back out
    /// of it (a hub's device traffic, or a peer trying to bounce through the host) passes the
    /// table: no base chain on its way (prerouting and forward) drops it.
    pub fn forwards(&self, iface: &str, packet: &Packet) -> Result<bool, ImageError> {
        self.passes(&Way::Through { iface }, packet)
    }

    fn passes(&self, way: &Way<'_>, packet: &Packet) -> Result<bool, ImageError> {
        let second = match way {
            Way::Local { .. } => "input",
            Way::Through { .. } => "forward",
        };
        let mut bases: Vec<(&String, &ChainImage)> = self
            .chains
            .iter()
            .filter(|(_, c)| {
                c.base
                    .as_ref()
                    .is_some_and(|b| !b.nat && (b.hook == "prerouting" || b.hook == second))
            })
            .collect();
        bases.sort_by_key(|(_, c)| {
            c.base
                .as_ref()
                .map(|b| (b.hook != "prerouting", b.priority))
        });
        for (name, chain) in bases {
            let accept_by_default = chain.base.as_ref().is_some_and(|b| b.accept_by_default);
            let verdict = self.run(name, way, packet, 0)?;
            let accepted = verdict.map_or(accept_by_default, |v| v == VerdictImage::Accept);
            if !accepted {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs a chain; `None` when it ends without a verdict (the caller goes on).
    fn run(
        &self,
        chain: &str,
        way: &Way<'_>,
        packet: &Packet,
        depth: usize,
    ) -> Result<Option<VerdictImage>, ImageError> {
        if depth > 16 {
            return Err(ImageError(format!(
                "jumps nest deeper than 16 at chain {chain}"
            )));
        }
        let Some(image) = self.chains.get(chain) else {
            return Err(ImageError(format!("a jump to a missing chain {chain}")));
        };
        for rule in &image.rules {
            let mut all = true;
            for condition in &rule.conditions {
                if !self.holds(condition, way, packet)? {
                    all = false;
                    break;
                }
            }
            if !all {
                continue;
            }
            match &rule.verdict {
                VerdictImage::Jump(target) => {
                    if let Some(verdict) = self.run(target, way, packet, depth + 1)? {
                        return Ok(Some(verdict));
                    }
                }
                // Marking is no verdict: the packet goes on to the next rule.
                VerdictImage::RestoreMark | VerdictImage::SaveMark => {}
                verdict => return Ok(Some(verdict.clone())),
            }
        }
        Ok(None)
    }

    fn holds(
        &self,
        condition: &Condition,
        way: &Way<'_>,
        packet: &Packet,
    ) -> Result<bool, ImageError> {
        let (iface, through) = match *way {
            Way::Local { iface } => (iface, false),
            Way::Through { iface } => (iface, true),
        };
        let v6 = packet.src.is_ipv6();
        let l4 = match packet.transport {
            Transport::Tcp { .. } => L4_TCP,
            Transport::Udp { .. } => L4_UDP,
            Transport::Icmp { .. } if v6 => L4_ICMPV6,
            Transport::Icmp { .. } => L4_ICMP,
            Transport::Other { protocol } => protocol,
        };
        Ok(match condition {
            Condition::InputInterface(name) => name == iface,
            // A packet to the host itself has no output interface and is addressed to no
            // route; one forwarded leaves through the interface it came in on.
            Condition::OutputInterface { name, negated } => through && (name == iface) != *negated,
            Condition::Destination {
                v6: family,
                negated,
                target,
            } => {
                if !through || *family != v6 {
                    return Ok(false);
                }
                self.inside(target, packet.dst, v6)? != *negated
            }
            Condition::LocalDestination => !through,
            // Every packet evaluated here opens a connection, unmarked.
            Condition::CtMark(_) | Condition::Mark(_) => false,
            // Every packet evaluated here opens a connection.
            Condition::ConntrackState(states) => states.contains("new"),
            Condition::Protocol(p) => *p == l4,
            Condition::Source {
                v6: family,
                negated,
                target,
            } => {
                if *family != v6 {
                    // `ip saddr` carries an implicit "is IPv4" that fails for IPv6, negated or not.
                    return Ok(false);
                }
                self.inside(target, packet.src, v6)? != *negated
            }
            Condition::DestinationPort { protocol, ranges } => {
                let port = match packet.transport {
                    Transport::Tcp { port } | Transport::Udp { port } => port,
                    _ => return Ok(false),
                };
                *protocol == l4 && ranges.iter().any(|(a, b)| (*a..=*b).contains(&port))
            }
            Condition::IcmpType { v6: family, kinds } => match packet.transport {
                Transport::Icmp { kind } => *family == v6 && kinds.contains(&kind),
                _ => false,
            },
        })
    }
}

/// Which way a packet evaluated by [`TableImage::accepts`] or [`TableImage::forwards`] goes.
enum Way<'a> {
    /// Arriving on `iface`, for the host itself.
    Local { iface: &'a str },
    /// Arriving on `iface` and forwarded back out of it.
    Through { iface: &'a str },
}

impl TableImage {
    /// Whether `address` is in a prefix or a set of the table.
    fn inside(
        &self,
        target: &AddressTarget,
        address: IpAddr,
        v6: bool,
    ) -> Result<bool, ImageError> {
        Ok(match target {
            AddressTarget::Net(net) => net.contains(&address),
            AddressTarget::Set(name) => {
                let set = self
                    .sets
                    .get(name)
                    .ok_or_else(|| ImageError(format!("a reference to a missing set {name}")))?;
                set.v6 == v6 && set.elements.iter().any(|n| n.contains(&address))
            }
        })
    }
}

fn hook_name(hook: &NfHook) -> Result<String, ImageError> {
    Ok(match hook {
        NfHook::Input => "input",
        NfHook::Forward => "forward",
        NfHook::Output => "output",
        NfHook::Prerouting => "prerouting",
        NfHook::Postrouting => "postrouting",
        other => return Err(unexpected(other)),
    }
    .to_owned())
}

/// An address or prefix, as a set element or a match's right side.
fn address(expr: &Expression<'_>) -> Result<IpNet, ImageError> {
    match expr {
        Expression::String(s) => s
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| unexpected(expr)),
        Expression::Named(NamedExpression::Prefix(prefix)) => {
            let Expression::String(addr) = prefix.addr.as_ref() else {
                return Err(unexpected(expr));
            };
            let addr: IpAddr = addr.parse().map_err(|_| unexpected(expr))?;
            let len = u8::try_from(prefix.len).map_err(|_| unexpected(expr))?;
            IpNet::new(addr, len).map_err(|_| unexpected(expr))
        }
        Expression::Named(NamedExpression::Elem(elem)) => address(&elem.val),
        _ => Err(unexpected(expr)),
    }
}

fn number(expr: &Expression<'_>) -> Result<u16, ImageError> {
    match expr {
        Expression::Number(n) => u16::try_from(*n).map_err(|_| unexpected(expr)),
        _ => Err(unexpected(expr)),
    }
}

fn mark_number(expr: &Expression<'_>) -> Result<u32, ImageError> {
    match expr {
        Expression::Number(n) => Ok(*n),
        _ => Err(unexpected(expr)),
    }
}

/// The items of a match's right side: one value, an anonymous set or a list.
fn items<'e>(expr: &'e Expression<'e>) -> Vec<&'e Expression<'e>> {
    match expr {
        Expression::Named(NamedExpression::Set(items)) => items
            .iter()
            .filter_map(|item| match item {
                SetItem::Element(e) => Some(e),
                _ => None,
            })
            .collect(),
        Expression::List(list) => list.iter().collect(),
        one => vec![one],
    }
}

fn port_ranges(expr: &Expression<'_>) -> Result<Vec<(u16, u16)>, ImageError> {
    let mut out = Vec::new();
    for item in items(expr) {
        match item {
            Expression::Range(range) => {
                out.push((number(&range.range[0])?, number(&range.range[1])?))
            }
            other => {
                let port = number(other)?;
                out.push((port, port));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn rule_image(statements: &[Statement<'_>]) -> Result<RuleImage, ImageError> {
    let mut conditions = BTreeSet::new();
    let mut verdict = None;
    for statement in statements {
        if verdict.is_some() {
            return Err(unexpected(statement));
        }
        match statement {
            Statement::Accept(_) => verdict = Some(VerdictImage::Accept),
            Statement::Drop(_) => verdict = Some(VerdictImage::Drop),
            Statement::Masquerade(None) => verdict = Some(VerdictImage::Masquerade),
            Statement::Mangle(mangle) => {
                verdict = Some(match (mark_of(&mangle.key), mark_of(&mangle.value)) {
                    (Some(Marked::Packet), Some(Marked::Conntrack)) => VerdictImage::RestoreMark,
                    (Some(Marked::Conntrack), Some(Marked::Packet)) => VerdictImage::SaveMark,
                    _ => return Err(unexpected(statement)),
                })
            }
            Statement::Jump(target) => {
                verdict = Some(VerdictImage::Jump(target.target.to_string()))
            }
            Statement::Match(m) => {
                for condition in match_conditions(&m.left, m.op, &m.right)? {
                    conditions.insert(condition);
                }
            }
            other => return Err(unexpected(other)),
        }
    }
    let verdict = verdict.ok_or_else(|| ImageError("a rule without a verdict".to_owned()))?;
    Ok(RuleImage {
        conditions,
        verdict,
    })
}

/// Which mark an expression names.
enum Marked {
    Packet,
    Conntrack,
}

fn mark_of(expr: &Expression<'_>) -> Option<Marked> {
    match expr {
        Expression::Named(NamedExpression::Meta(meta)) if meta.key == MetaKey::Mark => {
            Some(Marked::Packet)
        }
        Expression::Named(NamedExpression::CT(ct)) if ct.key == "mark" && ct.dir.is_none() => {
            Some(Marked::Conntrack)
        }
        _ => None,
    }
}

/// The conditions one match means (a port or ICMP type match implies its protocol).
fn match_conditions(
    left: &Expression<'_>,
    op: Operator,
    right: &Expression<'_>,
) -> Result<Vec<Condition>, ImageError> {
    let equal = matches!(op, Operator::EQ | Operator::IN);
    let strings = |expr: &Expression<'_>| -> Result<Vec<String>, ImageError> {
        items(expr)
            .into_iter()
            .map(|e| match e {
                Expression::String(s) => Ok(s.to_string()),
                other => Err(unexpected(other)),
            })
            .collect()
    };
    let Expression::Named(named) = left else {
        return Err(unexpected(left));
    };
    Ok(match named {
        NamedExpression::Meta(meta) if equal && meta.key == MetaKey::Iifname => {
            let [name] = strings(right)?.try_into().map_err(|_| unexpected(right))?;
            vec![Condition::InputInterface(name)]
        }
        NamedExpression::Meta(meta) if meta.key == MetaKey::Oifname => {
            let negated = match op {
                Operator::EQ => false,
                Operator::NEQ => true,
                other => return Err(unexpected(other)),
            };
            let [name] = strings(right)?.try_into().map_err(|_| unexpected(right))?;
            vec![Condition::OutputInterface { name, negated }]
        }
        NamedExpression::Meta(meta) if equal && meta.key == MetaKey::L4proto => {
            let proto = match right {
                Expression::Number(n) => u8::try_from(*n).map_err(|_| unexpected(right))?,
                Expression::String(s) => l4proto_number(s).ok_or_else(|| unexpected(right))?,
                other => return Err(unexpected(other)),
            };
            vec![Condition::Protocol(proto)]
        }
        NamedExpression::Fib(fib)
            if equal
                && fib.result == FibResult::Type
                && fib.flags.len() == 1
                && fib.flags.contains(&FibFlag::Daddr)
                && strings(right)?.as_slice() == ["local"] =>
        {
            vec![Condition::LocalDestination]
        }
        NamedExpression::CT(ct) if equal && ct.key == "mark" && ct.dir.is_none() => {
            vec![Condition::CtMark(mark_number(right)?)]
        }
        NamedExpression::Meta(meta) if equal && meta.key == MetaKey::Mark => {
            vec![Condition::Mark(mark_number(right)?)]
        }
        NamedExpression::CT(ct) if equal && ct.key == "state" && ct.dir.is_none() => {
            vec![Condition::ConntrackState(
                strings(right)?.into_iter().collect(),
            )]
        }
        NamedExpression::Payload(Payload::PayloadField(field)) => {
            match (field.protocol.as_ref(), field.field.as_ref()) {
                (family @ ("ip" | "ip6"), side @ ("saddr" | "daddr")) => {
                    let negated = match op {
                        Operator::EQ => false,
                        Operator::NEQ => true,
                        other => return Err(unexpected(other)),
                    };
                    let target = match right {
                        Expression::String(s) if s.starts_with('@') => {
                            AddressTarget::Set(s[1..].to_owned())
                        }
                        other => AddressTarget::Net(address(other)?),
                    };
                    let v6 = family == "ip6";
                    vec![if side == "saddr" {
                        Condition::Source {
                            v6,
                            negated,
                            target,
                        }
                    } else {
                        Condition::Destination {
                            v6,
                            negated,
                            target,
                        }
                    }]
                }
                (proto @ ("tcp" | "udp"), "dport") if equal => {
                    let protocol = if proto == "tcp" { L4_TCP } else { L4_UDP };
                    vec![
                        Condition::Protocol(protocol),
                        Condition::DestinationPort {
                            protocol,
                            ranges: port_ranges(right)?,
                        },
                    ]
                }
                (family @ ("icmp" | "icmpv6"), "type") if equal => {
                    let v6 = family == "icmpv6";
                    let mut kinds = BTreeSet::new();
                    for item in items(right) {
                        kinds.insert(match item {
                            Expression::String(s) => {
                                icmp_type_number(v6, s).ok_or_else(|| unexpected(item))?
                            }
                            other => u8::try_from(number(other)?).map_err(|_| unexpected(other))?,
                        });
                    }
                    vec![
                        Condition::Protocol(if v6 { L4_ICMPV6 } else { L4_ICMP }),
                        Condition::IcmpType { v6, kinds },
                    ]
                }
                _ => return Err(unexpected(field)),
            }
        }
        other => return Err(unexpected(other)),
    })
}
