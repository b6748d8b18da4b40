//! Routes beyond the mesh on clients: a gateway whose routes are approved gets the duties
//! in its firewall table and turns forwarding on (remembering what it found); a client that
//! accepts routes puts them on its interface and into the gateway's allowed IPs; a disabled
//! gateway or a withdrawn route takes them away again; a route over the client's own LAN is
//! refused; `down` puts forwarding back.

use ipnet::IpNet;
use wiremesh::interface::{self, Switch};
use wiremesh_firewall::Gateway;
use wiremesh_shared::config::RouteSettings;

use crate::support::testnet::*;

fn lan(net: &TestNet) -> IpNet {
    net.pick("192.168.10.0/24", "fd10:10::/64")
}

/// Changes the `[routes]` table of `client`'s config.
fn change_routes(client: &TestClient, change: impl FnOnce(&mut RouteSettings)) {
    let mut config = wiremesh::files::load_config(&client.ctx.paths, &client.iface).unwrap();
    change(&mut config.routes);
    wiremesh::files::save_config(&client.ctx.paths, &client.iface, &config).unwrap();
}

fn accept_routes(client: &TestClient) {
    change_routes(client, |routes| routes.accept = true);
}

fn forwarding(client: &TestClient, v6: bool) -> bool {
    client
        .links
        .switches
        .lock()
        .unwrap()
        .contains(&Switch::Forwarding { v6 })
}

fn allowed_ips_of(client: &TestClient, peer: &TestClient) -> Vec<IpNet> {
    let key = wiremesh::files::load_config(&peer.ctx.paths, &peer.iface)
        .unwrap()
        .interface
        .private_key
        .public_key();
    let mut ips = client
        .device()
        .peer(&key)
        .expect("the gateway is on the interface")
        .config
        .allowed_ips
        .clone();
    ips.sort();
    ips
}

#[test]
fn a_gateways_routes_reach_accepting_clients_and_leave_with_it() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let v6 = matches!(family, Family::V6);
        let (humans, robots) = (net.humans(), net.robots());
        net.associate(&humans, &robots);
        let (gateway, _) = net.join("gateway", &robots);
        let (user, _) = net.join("user", &humans);
        let gateway_id = net.peer("gateway").id;
        let lan = lan(&net);
        net.service.offer_routes(gateway_id, &[lan], false).unwrap();

        // Offered, not approved: no duties, nothing to use.
        gateway.sync().unwrap();
        assert_eq!(
            gateway.firewall.gateway(&gateway.iface),
            Some(Gateway::NONE)
        );
        assert!(!forwarding(&gateway, v6));

        net.service.approve_routes(gateway_id, &[], true).unwrap();
        let report = gateway.sync().unwrap();
        assert_eq!(
            gateway.firewall.gateway(&gateway.iface),
            Some(Gateway {
                nets: vec![lan],
                snat: true,
                exit_mark: None,
                hub: wiremesh_firewall::Hub::NONE,
            })
        );
        assert!(forwarding(&gateway, v6), "{}", report.summary());
        assert_eq!(
            gateway.firewall.docker_user_rules(&gateway.iface),
            Some(vec![lan]),
            "Docker's DOCKER-USER lets the mesh through to the routes"
        );
        assert!(!forwarding(&gateway, !v6), "only the family it routes");
        assert!(report.summary().contains("forwarding to 1 network(s)"));

        // A client that does not accept routes is not rerouted.
        let report = user.sync().unwrap();
        assert!(!user.links.routes_via(&user.iface).contains(&lan));
        assert_eq!(
            allowed_ips_of(&user, &gateway).len(),
            1,
            "{}",
            report.summary()
        );

        accept_routes(&user);
        let report = user.sync().unwrap();
        assert!(user.links.routes_via(&user.iface).contains(&lan));
        assert!(allowed_ips_of(&user, &gateway).contains(&lan));
        assert!(report.summary().contains("1 route(s) through gateways"));
        // `show --tree` / `--json` tell the route's state, on both sides.
        let views = wiremesh::show::collect(&user.ctx, None).unwrap();
        let now = user.ctx.clock.wall();
        let tree = wiremesh::show::render::render_tree(&views, now);
        assert!(
            tree.contains(&format!("route {lan} (subnet): active")),
            "{tree}"
        );
        let json = wiremesh::show::render::render_json(&views, now);
        assert!(json.contains(r#""state": "active""#), "{json}");
        let views = wiremesh::show::collect(&gateway.ctx, None).unwrap();
        let own = views[0].peers.iter().find(|p| p.is_self).unwrap();
        assert_eq!(own.routes.len(), 1);
        assert_eq!((own.routes[0].net, own.routes[0].state), (lan, "approved"));

        // The gateway is disabled: the route leaves the interface with it.
        net.service.set_disabled(gateway_id, true).unwrap();
        user.sync().unwrap();
        assert!(!user.links.routes_via(&user.iface).contains(&lan));
        // Enabled again: back.
        net.service.set_disabled(gateway_id, false).unwrap();
        user.sync().unwrap();
        assert!(user.links.routes_via(&user.iface).contains(&lan));
        assert!(allowed_ips_of(&user, &gateway).contains(&lan));

        // Withdrawn: the client drops the route, the gateway its duties and forwarding.
        net.service.withdraw_routes(gateway_id).unwrap();
        user.sync().unwrap();
        assert!(!user.links.routes_via(&user.iface).contains(&lan));
        assert_eq!(allowed_ips_of(&user, &gateway).len(), 1);
        gateway.sync().unwrap();
        assert_eq!(
            gateway.firewall.gateway(&gateway.iface),
            Some(Gateway::NONE)
        );
        assert!(!forwarding(&gateway, v6));
        assert_eq!(gateway.firewall.docker_user_rules(&gateway.iface), None);
        // The mesh route was never touched.
        let mesh_route = user
            .links
            .routes_via(&user.iface)
            .into_iter()
            .filter(|n| n.prefix_len() < n.max_prefix_len())
            .count();
        assert_eq!(mesh_route, 1);
    }
}

#[test]
fn down_puts_forwarding_back_and_a_route_over_the_lan_is_refused() {
    let net = TestNet::new(Family::V4);
    let (humans, robots) = (net.humans(), net.robots());
    net.associate(&humans, &robots);
    let (gateway, _) = net.join("gateway", &robots);
    let (user, _) = net.join("user", &humans);
    let gateway_id = net.peer("gateway").id;
    let lan = lan(&net);
    net.service.offer_routes(gateway_id, &[lan], false).unwrap();
    net.service.approve_routes(gateway_id, &[], true).unwrap();
    gateway.sync().unwrap();
    assert!(forwarding(&gateway, false));

    interface::down(&gateway.ctx, &gateway.iface).unwrap();
    assert!(!forwarding(&gateway, false), "forwarding was off before");
    assert_eq!(gateway.firewall.gateway(&gateway.iface), None);

    // Forwarding that was on before stays on after `down`.
    gateway
        .links
        .switches
        .lock()
        .unwrap()
        .insert(Switch::Forwarding { v6: false });
    gateway.up().unwrap();
    interface::down(&gateway.ctx, &gateway.iface).unwrap();
    assert!(forwarding(&gateway, false));

    // The user's own LAN is the gateway's route: refused, nothing installed.
    accept_routes(&user);
    user.links.host.lock().unwrap().nets = vec!["192.168.10.0/23".parse().unwrap()];
    let report = user.sync().unwrap();
    assert!(!user.links.routes_via(&user.iface).contains(&lan));
    assert!(
        report.summary().contains("1 route(s) refused"),
        "{}",
        report.summary()
    );
}

#[test]
fn an_exit_node_is_used_only_when_chosen_and_undone_when_not() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let v6 = matches!(family, Family::V6);
        let (humans, robots) = (net.humans(), net.robots());
        net.associate(&humans, &robots);
        let (exit, _) = net.join("exit", &robots);
        let (user, _) = net.join("user", &humans);
        let exit_peer = net.peer("exit");
        net.service.offer_routes(exit_peer.id, &[], true).unwrap();
        net.service.approve_routes(exit_peer.id, &[], true).unwrap();
        let default: IpNet = net.pick("0.0.0.0/0", "::/0");

        // The exit node forwards everything (and masquerades it).
        exit.sync().unwrap();
        let duties = exit.firewall.gateway(&exit.iface).unwrap();
        assert_eq!(duties.nets, vec![default]);
        assert!(duties.snat && duties.exit_mark.is_none());
        assert!(forwarding(&exit, v6));

        // Granted, but not chosen: nothing changes on the user.
        user.sync().unwrap();
        assert!(user.device().fwmark.is_none());
        assert!(user.links.exit.lock().unwrap().is_empty());
        assert!(!allowed_ips_of(&user, &exit).contains(&default));

        let set_exit =
            |ip: Option<std::net::IpAddr>| change_routes(&user, |routes| routes.exit_node = ip);
        set_exit(Some(exit_peer.ip));
        let report = user.sync().unwrap();
        assert_eq!(
            user.device().fwmark,
            Some(interface::EXIT_MARK),
            "{}",
            report.summary()
        );
        assert!(user.links.exit.lock().unwrap().contains(&v6));
        assert!(allowed_ips_of(&user, &exit).contains(&default));
        assert_eq!(
            user.firewall.gateway(&user.iface).unwrap().exit_mark,
            Some(interface::EXIT_MARK)
        );
        let valid_mark = user
            .links
            .switches
            .lock()
            .unwrap()
            .contains(&Switch::SrcValidMark);
        assert_eq!(valid_mark, !v6, "src_valid_mark matters for IPv4 only");

        // Not chosen any more: all of it undone.
        set_exit(None);
        user.sync().unwrap();
        assert!(user.device().fwmark.is_none());
        assert!(user.links.exit.lock().unwrap().is_empty());
        assert!(!allowed_ips_of(&user, &exit).contains(&default));
        assert_eq!(user.firewall.gateway(&user.iface), Some(Gateway::NONE));
        assert!(user.links.switches.lock().unwrap().is_empty());

        // `down` with the exit node in use undoes it too.
        set_exit(Some(exit_peer.ip));
        user.sync().unwrap();
        assert!(user.links.exit.lock().unwrap().contains(&v6));
        interface::down(&user.ctx, &user.iface).unwrap();
        assert!(user.links.exit.lock().unwrap().is_empty());
        assert!(user.links.switches.lock().unwrap().is_empty());
    }
}
