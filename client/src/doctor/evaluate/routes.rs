//! The `routes` check: on a gateway, is forwarding on for the families it routes; on a
//! host using an exit node, is the policy routing in place; which granted routes are
//! refused. (The gateway's source NAT and forward filter are part of the `firewall` check:
//! its table is compared with the duties.)

use ipnet::IpNet;
use wireguard_control::InterfaceName;

use super::Finding;

/// What `doctor` learned about one network's routes (from the record of the last sync and
/// the host).
#[derive(Debug, Default)]
pub struct RoutesFacts {
    /// The networks this host forwards to as a gateway.
    pub duties: Vec<IpNet>,
    /// Per family the duties need (`true`: IPv6), whether forwarding is on.
    pub forwarding: Vec<(bool, Result<bool, String>)>,
    /// Routes this host goes through other peers for.
    pub active: usize,
    /// Granted routes this host refuses.
    pub refused: Vec<IpNet>,
    /// The exit node in use, if any, and what is in place of its policy routing.
    pub exit: Option<ExitFacts>,
}

#[derive(Debug)]
pub struct ExitFacts {
    pub v6: bool,
    /// The tunnel's UDP carries the mark.
    pub marked: bool,
    /// The exit table's default route and both rules are there.
    pub routing: Result<bool, String>,
    /// `src_valid_mark` (IPv4 only).
    pub src_valid_mark: Option<Result<bool, String>>,
}

/// The verdict of the `routes` check; `None` when the network has nothing to do with routes.
pub fn routes(iface: &InterfaceName, facts: &RoutesFacts) -> Option<Finding> {
    if facts.duties.is_empty()
        && facts.exit.is_none()
        && facts.active == 0
        && facts.refused.is_empty()
    {
        return None;
    }
    let repair = Some(format!(
        "run `wiremesh fetch {iface}` (or let the daemon sync), which puts it back"
    ));
    let mut good = Vec::new();
    for (v6, on) in &facts.forwarding {
        let family = if *v6 { "IPv6" } else { "IPv4" };
        match on {
            Ok(true) => good.push(format!("{family} forwarding on")),
            Ok(false) => {
                return Some(Finding::fail(
                    format!("this host is a gateway for {} but {family} forwarding is off: mesh traffic to its routes is dropped", list(&facts.duties)),
                    repair,
                ))
            }
            Err(error) => {
                return Some(Finding::fail(
                    format!("cannot read whether {family} forwarding is on: {error}"),
                    Some("run doctor as root".to_owned()),
                ))
            }
        }
    }
    if let Some(exit) = &facts.exit {
        if !exit.marked {
            return Some(Finding::fail(
                "an exit node is in use but the tunnel's packets carry no firewall mark: they would loop into the tunnel",
                repair,
            ));
        }
        match &exit.routing {
            Ok(true) => good.push("the exit node's table and rules in place".to_owned()),
            Ok(false) => {
                return Some(Finding::fail(
                    "an exit node is chosen but its routing table or rules are missing: traffic does not go through it",
                    repair,
                ))
            }
            Err(error) => {
                return Some(Finding::fail(
                    format!("cannot read the routing rules: {error}"),
                    Some("run doctor as root".to_owned()),
                ))
            }
        }
        match &exit.src_valid_mark {
            Some(Ok(false)) => {
                return Some(Finding::warn(
                    "net.ipv4.conf.all.src_valid_mark is off: with strict rp_filter, replies from endpoints beyond the host's networks are dropped",
                    repair,
                ))
            }
            Some(Err(error)) => {
                return Some(Finding::warn(
                    format!("cannot read net.ipv4.conf.all.src_valid_mark: {error}"),
                    None,
                ))
            }
            _ => {}
        }
    }
    if facts.active > 0 {
        good.push(format!("{} route(s) through gateways", facts.active));
    }
    if !facts.refused.is_empty() {
        return Some(Finding::warn(
            format!(
                "refusing granted route(s) {}: each would cover this host's own network, its default gateway or a tunnel endpoint{}",
                list(&facts.refused),
                if good.is_empty() { String::new() } else { format!(" ({})", good.join(", ")) }
            ),
            Some("`wiremesh fetch` logs why; an admin can withdraw or change the route".to_owned()),
        ));
    }
    Some(Finding::pass(good.join(", ")))
}

fn list(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn iface() -> InterfaceName {
        "evilcorp".parse().unwrap()
    }

    #[test]
    fn nothing_about_routes_means_no_check() {
        assert!(routes(&iface(), &RoutesFacts::default()).is_none());
    }

    #[test]
    fn a_gateway_needs_forwarding_and_an_exit_node_its_rules() {
        let lan: IpNet = "192.168.10.0/24".parse().unwrap();
        let gateway = |on| RoutesFacts {
            duties: vec![lan],
            forwarding: vec![(false, Ok(on))],
            ..RoutesFacts::default()
        };
        let ok = routes(&iface(), &gateway(true)).unwrap();
        assert_eq!(ok.status, Status::Pass, "{}", ok.detail);
        let off = routes(&iface(), &gateway(false)).unwrap();
        assert_eq!(off.status, Status::Fail);
        assert!(
            off.detail.contains("IPv4 forwarding is off"),
            "{}",
            off.detail
        );

        let exit = |marked, routing| RoutesFacts {
            exit: Some(ExitFacts {
                v6: false,
                marked,
                routing: Ok(routing),
                src_valid_mark: Some(Ok(true)),
            }),
            ..RoutesFacts::default()
        };
        assert_eq!(
            routes(&iface(), &exit(true, true)).unwrap().status,
            Status::Pass
        );
        assert_eq!(
            routes(&iface(), &exit(false, true)).unwrap().status,
            Status::Fail
        );
        let missing = routes(&iface(), &exit(true, false)).unwrap();
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.advice.unwrap().contains("wiremesh fetch evilcorp"));

        let refused = RoutesFacts {
            refused: vec![lan],
            ..RoutesFacts::default()
        };
        assert_eq!(routes(&iface(), &refused).unwrap().status, Status::Warn);
    }
}
