//! Interface plumbing through rtnetlink: addresses, MTU and link state, routes (added,
//! listed by link, deleted; the default gateways; default routes in a table of their own),
//! policy routing rules, link lookup and deletion, and the list of local addresses. Works
//! on any link, not only WireGuard ones.
//!
//! Every function is blocking and opens its own netlink socket (see `netlink-request`).
//! A missing link is [`Error::NotFound`]; other kernel refusals are [`Error::Netlink`] with
//! the errno inside.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_request::request_route;

use crate::{Error, InterfaceName, Result};

/// Whether [`add_route`] added the route or found it there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAdded {
    Added,
    AlreadyExisted,
}

/// One address configured on a local link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddress {
    /// Name of the link carrying the address.
    pub iface: String,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// The link is administratively up (`IFF_UP`).
    pub link_up: bool,
    /// The link is a loopback device (`IFF_LOOPBACK`).
    pub loopback: bool,
    /// The address has global scope (not link-local, host or site scope).
    pub universe_scope: bool,
}

/// Maps a failed exchange about `iface`: no such device becomes [`Error::NotFound`].
pub(crate) fn netlink_error<'a>(
    iface: &'a InterfaceName,
    action: &'static str,
) -> impl FnOnce(netlink_request::Error) -> Error + 'a {
    move |source| {
        if source.is_no_device() {
            Error::NotFound {
                iface: iface.clone(),
            }
        } else {
            Error::Netlink {
                iface: iface.clone(),
                action,
                source,
            }
        }
    }
}

/// The link called `iface`, or `None` when there is none.
pub(crate) fn find_link(iface: &InterfaceName) -> Result<Option<LinkMessage>> {
    let mut query = LinkMessage::default();
    query
        .attributes
        .push(LinkAttribute::IfName(iface.as_str().to_owned()));
    match request_route(RouteNetlinkMessage::GetLink(query), 0) {
        Ok(answers) => Ok(answers.into_iter().find_map(|answer| match answer {
            RouteNetlinkMessage::NewLink(link) => Some(link),
            _ => None,
        })),
        Err(source) if source.is_no_device() => Ok(None),
        Err(source) => Err(Error::Netlink {
            iface: iface.clone(),
            action: "look up link",
            source,
        }),
    }
}

/// The link kind (`IFLA_INFO_KIND`) of a link, if it reports one.
pub(crate) fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}

/// The name (`IFLA_IFNAME`) of a link, if it reports one.
pub(crate) fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::IfName(name) => Some(name.as_str()),
        _ => None,
    })
}

fn link_index(iface: &InterfaceName) -> Result<u32> {
    match find_link(iface)? {
        Some(link) => Ok(link.header.index),
        None => Err(Error::NotFound {
            iface: iface.clone(),
        }),
    }
}

/// Sets `addr` (address and prefix) on `iface`, replacing it if present (RTM_NEWADDR with
/// CREATE|REPLACE, scope universe).
pub fn set_address(iface: &InterfaceName, addr: IpNet) -> Result<()> {
    let index = link_index(iface)?;
    request_route(
        RouteNetlinkMessage::NewAddress(address_message(index, addr)),
        NLM_F_CREATE | NLM_F_REPLACE,
    )
    .map_err(netlink_error(iface, "set address on"))?;
    Ok(())
}

/// Brings `iface` up and sets its MTU.
pub fn set_up(iface: &InterfaceName, mtu: u32) -> Result<()> {
    let mut link = LinkMessage::default();
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    link.attributes
        .push(LinkAttribute::IfName(iface.as_str().to_owned()));
    link.attributes.push(LinkAttribute::Mtu(mtu));
    request_route(RouteNetlinkMessage::SetLink(link), 0)
        .map_err(netlink_error(iface, "bring up"))?;
    Ok(())
}

/// Routes `cidr` through `iface` (main table, proto boot, scope link, unicast).
/// A route that exists already is [`RouteAdded::AlreadyExisted`], not an error.
pub fn add_route(iface: &InterfaceName, cidr: IpNet) -> Result<RouteAdded> {
    let index = link_index(iface)?;
    match request_route(
        RouteNetlinkMessage::NewRoute(route_message(index, cidr)),
        NLM_F_CREATE | NLM_F_EXCL,
    ) {
        Ok(_) => Ok(RouteAdded::Added),
        Err(source) if source.is_exists() => Ok(RouteAdded::AlreadyExisted),
        Err(source) => Err(netlink_error(iface, "add route through")(source)),
    }
}

/// Deletes the route to `cidr` through `iface` that [`add_route`] adds; returns whether
/// there was one. Routes of other links to the same network are left alone.
pub fn delete_route(iface: &InterfaceName, cidr: IpNet) -> Result<bool> {
    let index = link_index(iface)?;
    match request_route(RouteNetlinkMessage::DelRoute(route_message(index, cidr)), 0) {
        Ok(_) => Ok(true),
        Err(source) if source.is_not_found() && !source.is_no_device() => Ok(false),
        Err(source) => Err(netlink_error(iface, "delete a route through")(source)),
    }
}

/// The networks the main table routes through `iface`, in the kernel's order (IPv4 and
/// IPv6).
pub fn routes_via(iface: &InterfaceName) -> Result<Vec<IpNet>> {
    let index = link_index(iface)?;
    let mut out = Vec::new();
    for route in main_routes().map_err(netlink_error(iface, "list the routes through"))? {
        let via = route.attributes.contains(&RouteAttribute::Oif(index));
        if via {
            if let Some(net) = destination(&route) {
                out.push(net);
            }
        }
    }
    Ok(out)
}

/// The gateways of the main table's default routes (IPv4 and IPv6).
pub fn default_gateways() -> Result<Vec<IpAddr>> {
    let routes = main_routes().map_err(|source| Error::NetlinkList {
        action: "list routes",
        source,
    })?;
    Ok(routes
        .iter()
        .filter(|r| r.header.destination_prefix_length == 0)
        .filter_map(|r| {
            r.attributes.iter().find_map(|a| match a {
                RouteAttribute::Gateway(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
                RouteAttribute::Gateway(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
                _ => None,
            })
        })
        .collect())
}

/// Every unicast route of the main table, both families.
fn main_routes() -> std::result::Result<Vec<RouteMessage>, netlink_request::Error> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut query = RouteMessage::default();
        query.header.address_family = family;
        for answer in request_route(RouteNetlinkMessage::GetRoute(query), NLM_F_DUMP)? {
            if let RouteNetlinkMessage::NewRoute(route) = answer {
                if route.header.table == RouteHeader::RT_TABLE_MAIN
                    && route.header.kind == RouteType::Unicast
                {
                    out.push(route);
                }
            }
        }
    }
    Ok(out)
}

/// A route's destination network (the default route when it names none).
fn destination(route: &RouteMessage) -> Option<IpNet> {
    let len = route.header.destination_prefix_length;
    let addr = route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    });
    let addr = match (addr, route.header.address_family) {
        (Some(addr), _) => addr,
        (None, AddressFamily::Inet) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        (None, _) => return None,
    };
    IpNet::new(addr, len).ok()
}

/// A policy routing rule (`ip rule`), of the two kinds an exit node needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRule {
    /// `lookup main suppress_prefixlength 0`: the main table, except its default routes.
    /// Put in front, it keeps local, LAN and more specific routes in use.
    MainWithoutDefault { v6: bool, priority: u32 },
    /// `not fwmark MARK lookup TABLE`: everything not marked goes by `table`.
    UnmarkedToTable {
        v6: bool,
        priority: u32,
        mark: u32,
        table: u32,
    },
}

/// Adds `rule`; returns `false` when the very same rule exists already.
pub fn add_rule(rule: &PolicyRule) -> Result<bool> {
    match request_route(
        RouteNetlinkMessage::NewRule(rule_message(rule)),
        NLM_F_CREATE | NLM_F_EXCL,
    ) {
        Ok(_) => Ok(true),
        Err(source) if source.is_exists() => Ok(false),
        Err(source) => Err(Error::NetlinkList {
            action: "add a routing rule",
            source,
        }),
    }
}

/// Deletes `rule`; returns whether there was one.
pub fn delete_rule(rule: &PolicyRule) -> Result<bool> {
    match request_route(RouteNetlinkMessage::DelRule(rule_message(rule)), 0) {
        Ok(_) => Ok(true),
        Err(source) if source.is_not_found() => Ok(false),
        Err(source) => Err(Error::NetlinkList {
            action: "delete a routing rule",
            source,
        }),
    }
}

/// Routes everything of a family through `iface` in routing table `table` (a default
/// route, scope link). A route that exists already is [`RouteAdded::AlreadyExisted`].
pub fn add_default_route_in(iface: &InterfaceName, v6: bool, table: u32) -> Result<RouteAdded> {
    let index = link_index(iface)?;
    match request_route(
        RouteNetlinkMessage::NewRoute(table_default_route(index, v6, table)),
        NLM_F_CREATE | NLM_F_EXCL,
    ) {
        Ok(_) => Ok(RouteAdded::Added),
        Err(source) if source.is_exists() => Ok(RouteAdded::AlreadyExisted),
        Err(source) => Err(netlink_error(iface, "add the default route through")(
            source,
        )),
    }
}

/// Deletes the default route [`add_default_route_in`] adds; returns whether there was one.
/// A missing link means there is none (the kernel removed it with the link).
pub fn delete_default_route_in(iface: &InterfaceName, v6: bool, table: u32) -> Result<bool> {
    let index = match link_index(iface) {
        Ok(index) => index,
        Err(Error::NotFound { .. }) => return Ok(false),
        Err(error) => return Err(error),
    };
    match request_route(
        RouteNetlinkMessage::DelRoute(table_default_route(index, v6, table)),
        0,
    ) {
        Ok(_) => Ok(true),
        Err(source) if source.is_not_found() && !source.is_no_device() => Ok(false),
        Err(source) => Err(netlink_error(iface, "delete the default route through")(
            source,
        )),
    }
}

/// Whether `rule` exists (the kernel's rule list of its family, compared by priority,
/// table, mark and kind).
pub fn has_rule(rule: &PolicyRule) -> Result<bool> {
    let wanted = rule_message(rule);
    let mut query = RuleMessage::default();
    query.header.family = wanted.header.family;
    let answers =
        request_route(RouteNetlinkMessage::GetRule(query), NLM_F_DUMP).map_err(|source| {
            Error::NetlinkList {
                action: "list routing rules",
                source,
            }
        })?;
    let key = |m: &RuleMessage| {
        let mut attrs: Vec<String> = m
            .attributes
            .iter()
            .filter(|a| {
                // The kernel lists an unset prefix-length suppression as u32::MAX.
                matches!(
                    a,
                    RuleAttribute::Priority(_) | RuleAttribute::Table(_) | RuleAttribute::FwMark(_)
                ) || matches!(a, RuleAttribute::SuppressPrefixLen(n) if *n != u32::MAX)
            })
            .map(|a| format!("{a:?}"))
            .collect();
        attrs.sort();
        (m.header.flags.contains(RuleFlags::Invert), attrs)
    };
    let wanted = key(&wanted);
    Ok(answers.into_iter().any(|answer| match answer {
        RouteNetlinkMessage::NewRule(found) => key(&found) == wanted,
        _ => false,
    }))
}

/// Whether table `table` holds the default route through `iface` that
/// [`add_default_route_in`] adds.
pub fn has_default_route_in(iface: &InterfaceName, v6: bool, table: u32) -> Result<bool> {
    let index = link_index(iface)?;
    let mut query = RouteMessage::default();
    query.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let answers = request_route(RouteNetlinkMessage::GetRoute(query), NLM_F_DUMP)
        .map_err(netlink_error(iface, "list the routes through"))?;
    Ok(answers.into_iter().any(|answer| match answer {
        RouteNetlinkMessage::NewRoute(route) => {
            route.header.destination_prefix_length == 0
                && route.attributes.contains(&RouteAttribute::Table(table))
                && route.attributes.contains(&RouteAttribute::Oif(index))
        }
        _ => false,
    }))
}

/// RTM_NEWRULE body for `rule`. Tables above 255 travel in an attribute, the header's
/// table left unspecified (as `ip rule` does).
fn rule_message(rule: &PolicyRule) -> RuleMessage {
    let mut message = RuleMessage::default();
    message.header.action = RuleAction::ToTable;
    let (v6, priority, table) = match *rule {
        PolicyRule::MainWithoutDefault { v6, priority } => {
            message.attributes.push(RuleAttribute::SuppressPrefixLen(0));
            (v6, priority, u32::from(RouteHeader::RT_TABLE_MAIN))
        }
        PolicyRule::UnmarkedToTable {
            v6,
            priority,
            mark,
            table,
        } => {
            message.header.flags = RuleFlags::Invert;
            message.attributes.push(RuleAttribute::FwMark(mark));
            message.attributes.push(RuleAttribute::FwMask(u32::MAX));
            (v6, priority, table)
        }
    };
    message.header.family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    message.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    message.attributes.push(RuleAttribute::Table(table));
    message.attributes.push(RuleAttribute::Priority(priority));
    message
}

/// RTM_NEWROUTE body for the default route of a family through link `index` in `table`.
fn table_default_route(index: u32, v6: bool, table: u32) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    message.header.destination_prefix_length = 0;
    message.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = RouteScope::Link;
    message.header.kind = RouteType::Unicast;
    message.attributes.push(RouteAttribute::Table(table));
    message.attributes.push(RouteAttribute::Oif(index));
    message
}

/// Deletes the link `iface`, whatever its kind.
pub fn delete_link(iface: &InterfaceName) -> Result<()> {
    let mut link = LinkMessage::default();
    link.attributes
        .push(LinkAttribute::IfName(iface.as_str().to_owned()));
    request_route(RouteNetlinkMessage::DelLink(link), 0).map_err(netlink_error(iface, "delete"))?;
    Ok(())
}

/// Whether a link called `iface` exists, whatever its kind.
pub fn link_exists(iface: &InterfaceName) -> Result<bool> {
    Ok(find_link(iface)?.is_some())
}

/// Every address on every link of this network namespace.
pub fn local_addresses() -> Result<Vec<LocalAddress>> {
    let list_err = |action| move |source| Error::NetlinkList { action, source };
    let links = request_route(
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        NLM_F_DUMP,
    )
    .map_err(list_err("list links"))?;
    let links: HashMap<u32, (String, LinkFlags)> = links
        .into_iter()
        .filter_map(|answer| match answer {
            RouteNetlinkMessage::NewLink(link) => {
                let name = link_name(&link)?.to_owned();
                Some((link.header.index, (name, link.header.flags)))
            }
            _ => None,
        })
        .collect();
    let addresses = request_route(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        NLM_F_DUMP,
    )
    .map_err(list_err("list addresses"))?;
    Ok(addresses
        .into_iter()
        .filter_map(|answer| match answer {
            RouteNetlinkMessage::NewAddress(address) => {
                let (name, flags) = links.get(&address.header.index)?;
                local_address(&address, name, *flags)
            }
            _ => None,
        })
        .collect())
}

fn local_address(address: &AddressMessage, iface: &str, flags: LinkFlags) -> Option<LocalAddress> {
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
    // links (and the same as IFA_LOCAL elsewhere). IPv6 usually sends only IFA_ADDRESS.
    let find = |want_local: bool| {
        address.attributes.iter().find_map(|attr| match attr {
            AddressAttribute::Local(ip) if want_local => Some(*ip),
            AddressAttribute::Address(ip) if !want_local => Some(*ip),
            _ => None,
        })
    };
    let addr = find(true).or_else(|| find(false))?;
    Some(LocalAddress {
        iface: iface.to_owned(),
        addr,
        prefix_len: address.header.prefix_len,
        link_up: flags.contains(LinkFlags::Up),
        loopback: flags.contains(LinkFlags::Loopback),
        universe_scope: address.header.scope == AddressScope::Universe,
    })
}

/// RTM_NEWADDR body: IPv4 carries both IFA_LOCAL and IFA_ADDRESS, IPv6 only IFA_ADDRESS,
/// flagged `IFA_F_NODAD`. A WireGuard interface has no link layer on which another host
/// could hold the address, and duplicate address detection would leave it tentative for
/// a second or so after the link comes up (the kernel's own WireGuard links skip it; a
/// userspace implementation's TUN device may not). A connection made meanwhile leaves
/// from `::1` or a link-local address, which no peer accepts, and never recovers.
fn address_message(index: u32, addr: IpNet) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.family = family(&addr);
    message.header.prefix_len = addr.prefix_len();
    message.header.scope = AddressScope::Universe;
    message.header.index = index;
    let ip = addr.addr();
    if ip.is_ipv4() {
        message.attributes.push(AddressAttribute::Local(ip));
    } else {
        message.header.flags = AddressHeaderFlags::Nodad;
    }
    message.attributes.push(AddressAttribute::Address(ip));
    message
}

/// RTM_NEWROUTE body for `cidr` (host bits cleared) through link `index`.
fn route_message(index: u32, cidr: IpNet) -> RouteMessage {
    let cidr = cidr.trunc();
    let mut message = RouteMessage::default();
    message.header.address_family = family(&cidr);
    message.header.destination_prefix_length = cidr.prefix_len();
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = RouteScope::Link;
    message.header.kind = RouteType::Unicast;
    message
        .attributes
        .push(RouteAttribute::Destination(RouteAddress::from(
            cidr.network(),
        )));
    message.attributes.push(RouteAttribute::Oif(index));
    message
}

fn family(net: &IpNet) -> AddressFamily {
    match net {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().expect("test CIDR")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn check_address(addr: &str, family: AddressFamily, attributes: Vec<AddressAttribute>) {
        let message = address_message(7, net(addr));
        let nodad = family == AddressFamily::Inet6;
        assert_eq!(
            message.header.flags.contains(AddressHeaderFlags::Nodad),
            nodad,
            "{addr}"
        );
        assert_eq!(message.header.family, family, "{addr}");
        assert_eq!(message.header.prefix_len, net(addr).prefix_len(), "{addr}");
        assert_eq!(message.header.scope, AddressScope::Universe, "{addr}");
        assert_eq!(message.header.index, 7, "{addr}");
        assert_eq!(message.attributes, attributes, "{addr}");
    }

    #[test]
    fn builds_address_messages() {
        use AddressAttribute::{Address, Local};
        check_address(
            "10.42.0.1/16",
            AddressFamily::Inet,
            vec![Local(ip("10.42.0.1")), Address(ip("10.42.0.1"))],
        );
        check_address(
            "fd00:42::1/64",
            AddressFamily::Inet6,
            vec![Address(ip("fd00:42::1"))],
        );
    }

    fn check_route(cidr: &str, family: AddressFamily, destination: &str) {
        let message = route_message(3, net(cidr));
        let header = &message.header;
        assert_eq!(header.address_family, family, "{cidr}");
        assert_eq!(
            header.destination_prefix_length,
            net(cidr).prefix_len(),
            "{cidr}"
        );
        assert_eq!(header.table, RouteHeader::RT_TABLE_MAIN, "{cidr}");
        assert_eq!(header.protocol, RouteProtocol::Boot, "{cidr}");
        assert_eq!(header.scope, RouteScope::Link, "{cidr}");
        assert_eq!(header.kind, RouteType::Unicast, "{cidr}");
        assert_eq!(
            message.attributes,
            vec![
                RouteAttribute::Destination(RouteAddress::from(ip(destination))),
                RouteAttribute::Oif(3)
            ],
            "{cidr}"
        );
    }

    #[test]
    fn builds_route_messages() {
        check_route("10.42.0.0/16", AddressFamily::Inet, "10.42.0.0");
        // host bits are cleared: the kernel refuses a destination with them set
        check_route("10.42.7.9/16", AddressFamily::Inet, "10.42.0.0");
        check_route("fd00:42::1/48", AddressFamily::Inet6, "fd00:42::");
    }

    #[test]
    fn picks_local_over_peer_address() {
        let mut message = AddressMessage::default();
        message.header.prefix_len = 32;
        message.header.scope = AddressScope::Link;
        message
            .attributes
            .push(AddressAttribute::Address(ip("10.0.0.2")));
        message
            .attributes
            .push(AddressAttribute::Local(ip("10.0.0.1")));
        let found = local_address(&message, "tun0", LinkFlags::Up).expect("has an address");
        assert_eq!(found.addr, ip("10.0.0.1"));
        assert!(found.link_up && !found.loopback && !found.universe_scope);
        assert_eq!(
            local_address(&AddressMessage::default(), "x", LinkFlags::empty()),
            None
        );
    }

    /// Needs no privilege: every process may read its namespace's addresses.
    #[test]
    fn lists_loopback_address() {
        let addresses = local_addresses().expect("address dump");
        let loopback = addresses
            .iter()
            .find(|a| a.addr == ip("127.0.0.1"))
            .expect("127.0.0.1 is configured");
        assert_eq!(loopback.iface, "lo");
        assert!(loopback.loopback);
        assert_eq!(loopback.prefix_len, 8);
    }

    #[test]
    fn missing_link_is_not_found() {
        let iface: InterfaceName = "wmnx-absent1".parse().expect("valid name");
        assert!(!link_exists(&iface).expect("lookup works without root"));
        assert!(matches!(
            set_address(&iface, net("10.9.9.9/32")),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            add_route(&iface, net("10.9.0.0/16")),
            Err(Error::NotFound { .. })
        ));
    }
}
