//! Scenario 17-gateway: a LAN behind a gateway peer. robot1 has a second link into a LAN
//! (a veth pair to a namespace that runs no WireGuard and has no route beyond its own
//! network); it offers the LAN as a route and admin approves it. admin, which accepts
//! routes, reaches the LAN host through robot1, and the LAN host sees robot1's LAN address
//! (source NAT: it has no route back to the mesh); robot2, which does not accept routes, is
//! not rerouted. With `--no-snat` and a route back on the LAN host, the LAN host sees
//! admin's mesh address. Disabling robot1 takes the route off admin; enabling it brings it
//! back. `down` on robot1 puts forwarding back as it was and leaves no table of ours.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{ensure, Result};
use ipnet::IpNet;

use super::basic::with_robots;
use super::in_world;
use super::mesh::{Family, Peer};
use crate::harness::{wait_until, Host};

/// Generous: a loaded two-core CI machine is slow; latency is the benchmark's business.
const SETTLE: Duration = Duration::from_secs(30);

/// The LAN behind robot1: its network, robot1's address on it, the LAN host's.
fn lan(family: Family) -> (&'static str, IpNet, IpNet) {
    match family {
        Family::V4 => (
            "192.168.77.0/24",
            "192.168.77.1/24".parse().expect("valid"),
            "192.168.77.5/24".parse().expect("valid"),
        ),
        Family::V6 => (
            "fd77:77::/64",
            "fd77:77::1/64".parse().expect("valid"),
            "fd77:77::5/64".parse().expect("valid"),
        ),
    }
}

fn forwarding_switch(family: Family) -> &'static str {
    match family {
        Family::V4 => "net.ipv4.ip_forward",
        Family::V6 => "net.ipv6.conf.all.forwarding",
    }
}

/// What the LAN host's `who` port says about a connection from `host` (`None`: no answer).
fn seen_by_lan(host: &Host, target: IpAddr) -> Result<Option<String>> {
    let argv = Host::self_argv(&["probe", "who", &target.to_string(), "80"])?;
    let ran = host.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(ran.success.then(|| ran.stdout.trim().to_owned()))
}

/// Whether `peer`'s main table routes `net` through its mesh interface.
fn routes_through_mesh(peer: &Peer, net: &str) -> Result<bool> {
    // `ip route` lists IPv4 routes unless told otherwise, whatever the prefix given.
    let family = if net.contains(':') { "-6" } else { "-4" };
    let listed = peer.host.ok(&["ip", family, "route", "show", net])?.stdout;
    Ok(listed.contains(&format!("dev {}", peer.iface)))
}

/// `wiremesh --backend userspace ARGS` on `peer`'s host; its output, unless it fails.
pub(super) fn client(peer: &Peer, args: &[&str]) -> Result<String> {
    let mut full = vec!["--backend", "userspace"];
    full.extend_from_slice(args);
    Ok(peer.host.client(&full)?.ok()?.stdout)
}

/// The status (`pass`, `warn`, `fail`) of `doctor`'s `check` for `peer`'s network.
fn doctor_status(peer: &Peer, check: &str) -> Result<String> {
    let ran = peer
        .host
        .client(&["--backend", "userspace", "doctor", &peer.iface, "--json"])?;
    let report: serde_json::Value = serde_json::from_str(&ran.stdout)
        .map_err(|e| anyhow::anyhow!("doctor --json: {e}: {}", ran.text()))?;
    let found = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["check"] == check)
        .map(|c| c["status"].as_str().unwrap_or_default().to_owned());
    found.ok_or_else(|| anyhow::anyhow!("doctor made no {check} check: {}", ran.stdout))
}

pub fn gateway_lan(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "gateway", |world| {
        let (mesh, admin, robot1, robot2) = with_robots(world, family)?;
        client(
            &admin,
            &["add-association", &admin.iface, "humans", "robots", "--yes"],
        )?;

        let (net, router_address, host_address) = lan(family);
        let lan = world.lan_host("lan", &robot1.host, "lan0", router_address, host_address)?;
        let _who = lan.spawn("who", Host::self_argv(&["ports", "who:80"])?, false)?;
        let target = host_address.addr();
        let switch = forwarding_switch(family);
        let forwarding = |host: &Host| -> Result<String> {
            Ok(host.ok(&["sysctl", "-n", switch])?.stdout.trim().to_owned())
        };
        let forwarding_before = forwarding(&robot1.host)?;
        ensure!(
            forwarding_before == "0",
            "a new namespace forwards already ({switch} = {forwarding_before})"
        );
        ensure!(
            seen_by_lan(&admin.host, target)?.is_none(),
            "admin reaches the LAN before any route exists"
        );

        client(
            &robot1,
            &["advertise-routes", &robot1.iface, "--routes", net],
        )?;
        client(
            &admin,
            &["approve-routes", &admin.iface, "--peer", "robot1"],
        )?;
        client(&admin, &["accept-routes", &admin.iface])?;
        ensure!(
            routes_through_mesh(&admin, net)?,
            "admin accepts routes but has no route to {net}"
        );
        wait_until("admin reaches the LAN host through robot1", SETTLE, || {
            Ok(seen_by_lan(&admin.host, target)?.is_some())
        })?;
        let seen = seen_by_lan(&admin.host, target)?;
        ensure!(
            seen.as_deref() == Some(&router_address.addr().to_string()),
            "with source NAT the LAN host should see robot1's LAN address, it saw {seen:?}"
        );
        ensure!(
            forwarding(&robot1.host)? == "1",
            "robot1 forwards without {switch} on?"
        );
        let table = format!("wiremesh_{}", robot1.iface);
        let listed = robot1
            .host
            .ok(&["nft", "list", "table", "inet", &table])?
            .stdout;
        ensure!(
            listed.contains("masquerade") && listed.contains("hook forward"),
            "robot1's table lacks the gateway's duties:\n{listed}"
        );
        ensure!(
            !routes_through_mesh(&robot2, net)?,
            "robot2 does not accept routes but got {net}"
        );
        for (peer, who) in [(&robot1, "robot1 (gateway)"), (&admin, "admin (client)")] {
            let status = doctor_status(peer, "routes")?;
            ensure!(status == "pass", "doctor's routes check on {who}: {status}");
        }
        ensure!(
            seen_by_lan(&robot2.host, target)?.is_none(),
            "robot2 reached the LAN without accepting routes"
        );

        // A routed site: no source NAT, and the LAN host knows the way back to the mesh.
        client(&robot1, &["advertise-routes", &robot1.iface, "--no-snat"])?;
        let via = router_address.addr().to_string();
        lan.ok(&["ip", "route", "add", mesh.family.root(), "via", &via])?;
        let admin_ip = admin.ip.to_string();
        wait_until("the LAN host sees admin's mesh address", SETTLE, || {
            Ok(seen_by_lan(&admin.host, target)?.as_deref() == Some(admin_ip.as_str()))
        })?;
        let listed = robot1
            .host
            .ok(&["nft", "list", "table", "inet", &table])?
            .stdout;
        ensure!(
            !listed.contains("masquerade"),
            "robot1 still masquerades with --no-snat:\n{listed}"
        );

        // Disabling the gateway takes the route off admin; enabling brings it back.
        client(
            &admin,
            &["disable-peer", &admin.iface, "--name", "robot1", "--yes"],
        )?;
        wait_until("admin drops the route with robot1 disabled", SETTLE, || {
            Ok(!routes_through_mesh(&admin, net)?)
        })?;
        client(
            &admin,
            &["enable-peer", &admin.iface, "--name", "robot1", "--yes"],
        )?;
        wait_until("admin routes the LAN again", SETTLE, || {
            routes_through_mesh(&admin, net)
        })?;
        wait_until("admin reaches the LAN host again", SETTLE, || {
            Ok(seen_by_lan(&admin.host, target)?.is_some())
        })?;

        // `down` puts forwarding back and leaves nothing of ours.
        let mut robot1 = robot1;
        if let Some(daemon) = robot1.daemon.take() {
            daemon.stop();
        }
        client(&robot1, &["down", &robot1.iface])?;
        ensure!(
            forwarding(&robot1.host)? == forwarding_before,
            "down left {switch} = {} (it was {forwarding_before})",
            forwarding(&robot1.host)?
        );
        let tables = robot1.host.ok(&["nft", "list", "tables"])?.stdout;
        ensure!(!tables.contains("wiremesh_"), "after down: {tables}");
        // robot1's own LAN route is the kernel's, untouched.
        let family_flag = if net.contains(':') { "-6" } else { "-4" };
        ensure!(
            robot1
                .host
                .ok(&["ip", family_flag, "route", "show", net])?
                .stdout
                .contains("lan0"),
            "down removed robot1's own LAN route"
        );
        Ok(())
    })
}

/// An "internet" behind robot1: its network, robot1's address on it, the far host's.
fn internet(family: Family) -> (IpNet, IpNet) {
    match family {
        Family::V4 => (
            "203.0.113.1/24".parse().expect("valid"),
            "203.0.113.5/24".parse().expect("valid"),
        ),
        Family::V6 => (
            "2001:db8:77::1/64".parse().expect("valid"),
            "2001:db8:77::5/64".parse().expect("valid"),
        ),
    }
}

/// Scenario 17-exit-node: robot1 offers to be an exit node and has a link into an
/// "internet" (a namespace with a host that knows nothing of the mesh). admin chooses robot1
/// as its exit node: it reaches the far host, which sees robot1's address, while the mesh
/// (the server, robot2) keeps working — the tunnel's own packets do not loop into it. The
/// policy routing (two rules, a table) is there while the exit node is used and gone after
/// `set-exit-node --off`, and after `down`.
pub fn exit_node(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "exit", |world| {
        let (mesh, admin, robot1, robot2) = with_robots(world, family)?;
        client(
            &admin,
            &["add-association", &admin.iface, "humans", "robots", "--yes"],
        )?;
        let (router_address, far_address) = internet(family);
        let far = world.lan_host("far", &robot1.host, "wan1", router_address, far_address)?;
        let _who = far.spawn("who", Host::self_argv(&["ports", "who:80"])?, false)?;
        let target = far_address.addr();
        let family_flag = if target.is_ipv6() { "-6" } else { "-4" };
        let rules = |peer: &Peer| -> Result<String> {
            Ok(peer.host.ok(&["ip", family_flag, "rule", "show"])?.stdout)
        };

        client(&robot1, &["advertise-routes", &robot1.iface, "--exit-node"])?;
        client(
            &admin,
            &["approve-routes", &admin.iface, "--peer", "robot1"],
        )?;
        ensure!(
            seen_by_lan(&admin.host, target)?.is_none(),
            "admin reaches the far host without an exit node"
        );
        client(&admin, &["set-exit-node", &admin.iface, "robot1"])?;
        wait_until("admin reaches the far host through robot1", SETTLE, || {
            Ok(seen_by_lan(&admin.host, target)?.is_some())
        })?;
        let seen = seen_by_lan(&admin.host, target)?;
        ensure!(
            seen.as_deref() == Some(&router_address.addr().to_string()),
            "the far host should see robot1's address, it saw {seen:?}"
        );
        let listed = rules(&admin)?;
        ensure!(
            listed.contains("lookup main suppress_prefixlength 0")
                && listed.contains("not from all fwmark 0x776d lookup 30573"),
            "admin's rules:\n{listed}"
        );
        ensure!(
            doctor_status(&admin, "routes")? == "pass",
            "doctor's routes check fails with the exit node in place"
        );
        // A rule removed behind wiremesh's back: doctor says so, the next sync puts it back.
        admin
            .host
            .ok(&["ip", family_flag, "rule", "del", "priority", "5291"])?;
        ensure!(
            doctor_status(&admin, "routes")? == "fail",
            "doctor does not notice the exit node's missing rule"
        );
        client(&admin, &["fetch", &admin.iface])?;
        ensure!(
            rules(&admin)?.contains("not from all fwmark 0x776d lookup 30573"),
            "fetch did not put the rule back"
        );
        // The mesh keeps working: the server and robot2 answer through the tunnel.
        admin.host.ping_within(mesh.server_ip()?, SETTLE)?;
        admin.host.ping_within(robot2.ip, SETTLE)?;
        // robot2 did not choose an exit node: untouched.
        ensure!(
            !rules(&robot2)?.contains("30573"),
            "robot2 got exit routing without choosing it"
        );

        client(&admin, &["set-exit-node", &admin.iface, "--off"])?;
        ensure!(
            !rules(&admin)?.contains("30573"),
            "the rules stay after set-exit-node --off:\n{}",
            rules(&admin)?
        );
        ensure!(
            seen_by_lan(&admin.host, target)?.is_none(),
            "admin still reaches the far host after --off"
        );
        admin.host.ping_within(robot2.ip, SETTLE)?;

        // Chosen again, then `down`: nothing of it stays.
        client(&admin, &["set-exit-node", &admin.iface, "robot1"])?;
        ensure!(rules(&admin)?.contains("30573"), "exit routing not back");
        let mut admin = admin;
        if let Some(daemon) = admin.daemon.take() {
            daemon.stop();
        }
        client(&admin, &["down", &admin.iface])?;
        let listed = rules(&admin)?;
        ensure!(
            !listed.contains("30573") && !listed.contains("suppress_prefixlength"),
            "after down admin's rules are:\n{listed}"
        );
        let tables = admin.host.ok(&["nft", "list", "tables"])?.stdout;
        ensure!(!tables.contains("wiremesh_"), "after down: {tables}");
        Ok(())
    })
}

/// Scenario 17-failover: robot1 and robot2 both route the same LAN (a bridge with a host
/// that runs no WireGuard) and admin accepts routes. admin goes through robot1 (the first
/// by id); then robot1 dies (its uplink goes down, nothing is said to anyone) and traffic
/// resumes through robot2 — the LAN host now sees robot2's address — within the documented
/// time (generous deadline here; the figure is printed).
pub fn failover(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "failover", |world| {
        let (_mesh, admin, robot1, robot2) = with_robots(world, family)?;
        client(
            &admin,
            &["add-association", &admin.iface, "humans", "robots", "--yes"],
        )?;
        let (net, first, host_address) = lan(family);
        let second: IpNet = match family {
            Family::V4 => "192.168.77.2/24".parse()?,
            Family::V6 => "fd77:77::2/64".parse()?,
        };
        let segment = world.lan("lan")?;
        world.plug_into_lan(&segment, &robot1.host, "lan0", first)?;
        world.plug_into_lan(&segment, &robot2.host, "lan0", second)?;
        let lan_host = world.host_on_lan("lanhost", &segment, host_address)?;
        let _who = lan_host.spawn("who", Host::self_argv(&["ports", "who:80"])?, false)?;
        let target = host_address.addr();

        client(
            &robot1,
            &["advertise-routes", &robot1.iface, "--routes", net],
        )?;
        client(
            &robot2,
            &["advertise-routes", &robot2.iface, "--routes", net],
        )?;
        client(
            &admin,
            &["approve-routes", &admin.iface, "--peer", "robot1"],
        )?;
        client(
            &admin,
            &["approve-routes", &admin.iface, "--peer", "robot2"],
        )?;
        client(&admin, &["accept-routes", &admin.iface])?;
        let first_ip = first.addr().to_string();
        let second_ip = second.addr().to_string();
        wait_until("admin reaches the LAN host through robot1", SETTLE, || {
            Ok(seen_by_lan(&admin.host, target)?.as_deref() == Some(first_ip.as_str()))
        })?;

        // robot1 dies: its uplink goes down, so nothing reaches it through the tunnel.
        let started = std::time::Instant::now();
        robot1.host.ok(&["ip", "link", "set", "eth0", "down"])?;
        wait_until(
            "traffic to the LAN resumes through robot2",
            Duration::from_secs(60),
            || Ok(seen_by_lan(&admin.host, target)?.as_deref() == Some(second_ip.as_str())),
        )?;
        let took = started.elapsed();
        println!(
            "    failover: traffic resumed through the second gateway {:.1} s after the first died",
            took.as_secs_f64()
        );
        let summary = admin
            .host
            .ok(&["wg", "show", &admin.iface, "allowed-ips"])?
            .stdout;
        ensure!(
            summary.lines().filter(|l| l.contains(net)).count() == 1,
            "the LAN should be on exactly one gateway:\n{summary}"
        );
        Ok(())
    })
}
