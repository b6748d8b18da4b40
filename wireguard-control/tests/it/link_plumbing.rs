//! Link plumbing (addresses, MTU and link state, routes, deletion) on real links in a fresh
//! network namespace, checked independently with `ip`. Needs root; skips with a reason
//! otherwise.

use ipnet::IpNet;
use wireguard_control::link::{self, RouteAdded};
use wireguard_control::{Error, InterfaceName};

use crate::support::{self, NetNs};

fn name(text: &str) -> InterfaceName {
    text.parse().expect("valid interface name")
}

fn net(text: &str) -> IpNet {
    text.parse().expect("valid CIDR")
}

const ADDRESS_V4: &str = "10.77.0.1/24";
const ADDRESS_V6: &str = "fd77::1/64";
const ROUTE_V4: &str = "10.78.0.0/16";
const ROUTE_V6: &str = "fd78::/48";

/// Flags between `<` and `>` in `ip link show` output.
fn link_flags(ip_link: &str) -> Vec<String> {
    let start = ip_link.find('<').map_or(0, |i| i + 1);
    let end = ip_link.find('>').unwrap_or(start);
    ip_link[start..end].split(',').map(str::to_owned).collect()
}

/// Creates the link with `create` (an `ip` command run in the namespace), then configures it
/// through this crate and checks the result with `ip`.
fn exercise(test: &str, prefix: &str, iface_name: &str, create: &[&str]) {
    if !support::privileged(test, false) {
        return;
    }
    let ns = NetNs::new(prefix);
    if !ns.try_exec(create) {
        // Some kernels are built without a link type (this one may lack `dummy`); say so.
        eprintln!(
            "{test}: skipped: this kernel cannot create the link ({})",
            create.join(" ")
        );
        return;
    }
    let iface = name(iface_name);

    ns.run(|| {
        assert!(link::link_exists(&iface).expect("lookup"));
        link::set_address(&iface, net(ADDRESS_V4)).expect("set IPv4 address");
        link::set_address(&iface, net(ADDRESS_V6)).expect("set IPv6 address");
        // CREATE|REPLACE: setting the same address again is fine
        link::set_address(&iface, net(ADDRESS_V4)).expect("set IPv4 address again");
        link::set_up(&iface, 1280).expect("set up");
        for route in [ROUTE_V4, ROUTE_V6] {
            assert_eq!(
                link::add_route(&iface, net(route)).expect("add route"),
                RouteAdded::Added
            );
            assert_eq!(
                link::add_route(&iface, net(route)).expect("add route again"),
                RouteAdded::AlreadyExisted,
                "{route}"
            );
        }
        let addresses = link::local_addresses().expect("local addresses");
        for expected in [ADDRESS_V4, ADDRESS_V6] {
            let expected = net(expected);
            let found = addresses
                .iter()
                .find(|a| a.iface == iface_name && a.addr == expected.addr())
                .unwrap_or_else(|| panic!("{expected} missing from {addresses:?}"));
            assert_eq!(found.prefix_len, expected.prefix_len());
            assert!(
                found.link_up && !found.loopback && found.universe_scope,
                "{found:?}"
            );
        }
        let loopback = addresses
            .iter()
            .find(|a| a.iface == "lo")
            .expect("lo has 127.0.0.1");
        assert!(loopback.loopback && loopback.link_up);
    });

    let addr = ns.exec(&["ip", "addr", "show", "dev", iface_name]);
    assert!(addr.contains(&format!("inet {ADDRESS_V4} ")), "{addr}");
    assert!(addr.contains(&format!("inet6 {ADDRESS_V6} ")), "{addr}");
    // No duplicate address detection: usable as a source the moment the link is up (a
    // veth would otherwise keep it tentative for a second or so).
    let inet6 = addr
        .lines()
        .find(|line| line.contains(&format!("inet6 {ADDRESS_V6} ")))
        .unwrap_or_default();
    assert!(
        inet6.contains("nodad") && !inet6.contains("tentative"),
        "{addr}"
    );
    // `-d` shows the type and the protocol even when it is the default "boot"
    let routes = ns.exec(&["ip", "-d", "route", "show", "dev", iface_name]);
    assert!(
        routes.contains(&format!("unicast {ROUTE_V4} proto boot scope link")),
        "{routes}"
    );
    let routes6 = ns.exec(&["ip", "-d", "-6", "route", "show", "dev", iface_name]);
    assert!(
        routes6.contains(&format!("unicast {ROUTE_V6} proto boot")),
        "{routes6}"
    );
    let link_text = ns.exec(&["ip", "link", "show", "dev", iface_name]);
    assert!(link_text.contains("mtu 1280 "), "{link_text}");
    assert!(
        link_flags(&link_text).iter().any(|f| f == "UP"),
        "{link_text}"
    );

    ns.run(|| {
        // Listed back, then deleted (a second delete finds nothing); the link's own
        // connected routes stay.
        let listed = link::routes_via(&iface).expect("routes via");
        for route in [ROUTE_V4, ROUTE_V6] {
            assert!(listed.contains(&net(route)), "{route} not in {listed:?}");
            assert!(link::delete_route(&iface, net(route)).expect("delete route"));
            assert!(!link::delete_route(&iface, net(route)).expect("delete again"));
        }
        let after = link::routes_via(&iface).expect("routes via");
        assert!(!after.contains(&net(ROUTE_V4)) && !after.contains(&net(ROUTE_V6)));
        assert!(after.contains(&net(ADDRESS_V4).trunc()), "{after:?}");
        assert!(link::default_gateways().expect("gateways").is_empty());
    });
    let routes = ns.exec(&["ip", "route", "show", "dev", iface_name]);
    assert!(!routes.contains(ROUTE_V4), "{routes}");

    // An exit node's policy routing: a default route in a table of its own, and the two
    // rules, read back with `ip`; each added once, deleted once.
    const TABLE: u32 = 30573;
    let rules = |v6: bool| {
        [
            link::PolicyRule::MainWithoutDefault { v6, priority: 5290 },
            link::PolicyRule::UnmarkedToTable {
                v6,
                priority: 5291,
                mark: TABLE,
                table: TABLE,
            },
        ]
    };
    ns.run(|| {
        for v6 in [false, true] {
            assert_eq!(
                link::add_default_route_in(&iface, v6, TABLE).expect("table route"),
                RouteAdded::Added
            );
            assert_eq!(
                link::add_default_route_in(&iface, v6, TABLE).expect("table route again"),
                RouteAdded::AlreadyExisted
            );
            for rule in rules(v6) {
                assert!(!link::has_rule(&rule).expect("list rules"), "{rule:?}");
                assert!(link::add_rule(&rule).expect("add rule"), "{rule:?}");
                assert!(!link::add_rule(&rule).expect("add rule again"), "{rule:?}");
                assert!(link::has_rule(&rule).expect("list rules"), "{rule:?}");
            }
            assert!(link::has_default_route_in(&iface, v6, TABLE).expect("list"));
        }
    });
    for family in ["-4", "-6"] {
        let listed = ns.exec(&["ip", family, "rule", "show"]);
        assert!(
            listed.contains("5290:\tfrom all lookup main suppress_prefixlength 0")
                && listed.contains("5291:\tnot from all fwmark 0x776d lookup 30573"),
            "{listed}"
        );
        let table = ns.exec(&["ip", family, "route", "show", "table", "30573"]);
        assert!(
            table.contains(&format!("default dev {iface_name}")),
            "{table}"
        );
    }
    ns.run(|| {
        for v6 in [false, true] {
            for rule in rules(v6) {
                assert!(link::delete_rule(&rule).expect("delete rule"), "{rule:?}");
                assert!(!link::delete_rule(&rule).expect("delete rule again"));
            }
            assert!(link::delete_default_route_in(&iface, v6, TABLE).expect("delete"));
            assert!(!link::has_default_route_in(&iface, v6, TABLE).expect("list"));
            for rule in rules(v6) {
                assert!(!link::has_rule(&rule).expect("list rules"), "{rule:?}");
            }
            assert!(!link::delete_default_route_in(&iface, v6, TABLE).expect("again"));
        }
    });
    for family in ["-4", "-6"] {
        let listed = ns.exec(&["ip", family, "rule", "show"]);
        assert!(
            !listed.contains("5290") && !listed.contains("5291"),
            "{listed}"
        );
    }

    ns.exec(&[
        "ip",
        "route",
        "add",
        "default",
        "via",
        "10.77.0.254",
        "dev",
        iface_name,
    ]);
    ns.run(|| {
        let gateways = link::default_gateways().expect("gateways");
        assert_eq!(
            gateways,
            vec!["10.77.0.254".parse::<std::net::IpAddr>().unwrap()]
        );
    });

    ns.run(|| {
        link::delete_link(&iface).expect("delete");
        assert!(!link::link_exists(&iface).expect("lookup"));
        let not_found = |result: Result<(), Error>, what: &str| {
            assert!(
                matches!(result, Err(Error::NotFound { .. })),
                "{what}: {result:?}"
            );
        };
        not_found(link::delete_link(&iface), "delete again");
        not_found(link::set_up(&iface, 1280), "set_up");
        not_found(link::set_address(&iface, net(ADDRESS_V4)), "set_address");
        not_found(
            link::add_route(&iface, net(ROUTE_V4)).map(|_| ()),
            "add_route",
        );
    });
    let links = ns.exec(&["ip", "link", "show"]);
    assert!(!links.contains(iface_name), "{links}");
}

#[test]
fn dummy_link_plumbing() {
    exercise(
        "dummy_link_plumbing",
        "wmld",
        "wmdum0",
        &["ip", "link", "add", "wmdum0", "type", "dummy"],
    );
}

/// An Ethernet-like software link that every kernel with namespaces has.
#[test]
fn veth_link_plumbing() {
    exercise(
        "veth_link_plumbing",
        "wmlv",
        "wmveth0",
        &[
            "ip", "link", "add", "wmveth0", "type", "veth", "peer", "name", "wmveth1",
        ],
    );
}

#[test]
fn tun_link_plumbing() {
    exercise(
        "tun_link_plumbing",
        "wmlt",
        "wmtun0",
        &["ip", "tuntap", "add", "wmtun0", "mode", "tun"],
    );
}
