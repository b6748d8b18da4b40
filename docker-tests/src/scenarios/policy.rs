//! Scenario 16: the port and protocol policy on real hosts. `humans` (admin) and `robots`
//! (robot1, robot2) are associated; robot1 serves tcp/22, tcp/80 and udp/53. A rule "humans
//! may open tcp/22 and udp/53 on robots" makes port 80 unreachable from admin while ssh and
//! DNS answer, IPv4 pings stop and IPv6 pings go on (echo requests are essential ICMPv6);
//! robot2, in robots itself, still reaches everything. A flushed table is repaired by the
//! next sync; deleting the rules restores everything; isolating the whole network never cuts
//! anyone off from the server; `down` leaves no table behind.

use std::time::Duration;

use anyhow::{ensure, Result};

use super::basic::with_robots;
use super::in_world;
use super::mesh::Family;
use crate::harness::{wait_until, Host, Settings};

/// Generous: a loaded two-core CI machine is slow; latency is the benchmark's business.
const SETTLE: Duration = Duration::from_secs(30);

pub fn policy(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "policy", |world| {
        let (mesh, admin, robot1, robot2) = with_robots(world, family)?;
        let admin_cmd = |args: &[&str]| -> Result<String> {
            let mut full = vec!["--backend", "userspace"];
            full.extend_from_slice(args);
            Ok(admin.host.client(&full)?.ok()?.stdout)
        };
        admin_cmd(&["add-association", &admin.iface, "humans", "robots", "--yes"])?;
        let ports = Host::self_argv(&["ports", "tcp:22", "tcp:80", "udp:53"])?;
        let _ports = robot1.host.spawn("ports", ports, false)?;
        let target = robot1.ip;
        wait_until("admin reaches robot1's port 80", SETTLE, || {
            admin.host.reaches("tcp", target, 80)
        })?;

        let plan = admin_cmd(&[
            "add-rule",
            &admin.iface,
            "--from",
            "humans",
            "--to",
            "robots",
            "--proto",
            "tcp",
            "--ports",
            "22",
            "--plan",
        ])?;
        ensure!(
            plan.contains("humans -> robot1, robot2: everything => tcp 22"),
            "the plan does not say who loses access:\n{plan}"
        );
        admin_cmd(&[
            "add-rule",
            &admin.iface,
            "--from",
            "humans",
            "--to",
            "robots",
            "--proto",
            "tcp",
            "--ports",
            "22",
            "--yes",
        ])?;
        admin_cmd(&[
            "add-rule",
            &admin.iface,
            "--from",
            "humans",
            "--to",
            "robots",
            "--proto",
            "udp",
            "--ports",
            "53",
            "--yes",
        ])?;
        wait_until("port 80 closes to admin", SETTLE, || {
            Ok(!admin.host.reaches("tcp", target, 80)?)
        })?;
        ensure!(
            admin.host.reaches("tcp", target, 22)?,
            "ssh's port does not answer admin"
        );
        ensure!(
            admin.host.reaches("udp", target, 53)?,
            "the DNS port does not answer admin"
        );
        ensure!(
            robot2.host.reaches("tcp", target, 80)?,
            "robot2 lost port 80 of its own CIDR"
        );
        match family {
            Family::V4 => ensure!(
                !admin.host.ping(target)?,
                "an IPv4 ping passed without a rule"
            ),
            Family::V6 => ensure!(
                admin.host.ping(target)?,
                "an IPv6 ping (essential ICMPv6) was dropped"
            ),
        }
        let table = format!("wiremesh_{}", robot1.iface);
        let listed = robot1
            .host
            .run(&["nft", "list", "table", "inet", &table])?
            .ok()?
            .stdout;
        ensure!(
            listed.contains("tcp dport 22 accept"),
            "robot1's table lacks the rule:\n{listed}"
        );
        let mut listing = String::new();
        let enforced = wait_until(
            "the server lists every receiver as enforcing",
            SETTLE,
            || {
                listing = admin_cmd(&["list-rules", &admin.iface])?;
                Ok(listing.contains("3 enforced, 0 stale, 0 not enforced"))
            },
        );
        ensure!(enforced.is_ok(), "list-rules says:\n{listing}");
        let explained = admin_cmd(&[
            "explain",
            &admin.iface,
            "admin",
            &format!("{}:80", "robot1"),
        ])?;
        ensure!(
            explained.contains("denied"),
            "explain does not deny port 80:\n{explained}"
        );

        // Someone flushes the table: the next sync puts the rules back.
        robot1
            .host
            .run(&["nft", "flush", "table", "inet", &table])?
            .ok()?;
        ensure!(
            admin.host.reaches("tcp", target, 80)?,
            "a flushed table still filtered"
        );
        wait_until("robot1 repairs its table", SETTLE, || {
            Ok(!admin.host.reaches("tcp", target, 80)?)
        })?;

        // Isolating the whole network cuts peers off from each other, never from the server.
        admin_cmd(&["isolate-cidr", &admin.iface, &mesh.net, "--yes"])?;
        wait_until("robot2 loses port 80 of robot1", SETTLE, || {
            Ok(!robot2.host.reaches("tcp", target, 80)?)
        })?;
        let server_ip = mesh.server_ip()?;
        robot1.host.ping_within(server_ip, SETTLE)?;
        robot1
            .host
            .client(&["--backend", "userspace", "fetch", &robot1.iface])?
            .ok()?;
        admin_cmd(&["isolate-cidr", &admin.iface, &mesh.net, "--off", "--yes"])?;

        // Deleting the rules restores today's behaviour.
        admin_cmd(&["delete-rule", &admin.iface, "1", "--yes"])?;
        admin_cmd(&["delete-rule", &admin.iface, "2", "--yes"])?;
        wait_until("port 80 opens again", SETTLE, || {
            admin.host.reaches("tcp", target, 80)
        })?;
        admin.host.ping_within(target, SETTLE)?;

        // `down` leaves no table behind.
        let mut robot1 = robot1;
        if let Some(daemon) = robot1.daemon.take() {
            daemon.stop();
        }
        robot1
            .host
            .client(&["--backend", "userspace", "down", &robot1.iface])?
            .ok()?;
        let tables = robot1.host.run(&["nft", "list", "tables"])?.ok()?.stdout;
        ensure!(
            !tables.contains("wiremesh_"),
            "down left a table behind:\n{tables}"
        );
        Ok(())
    })
}
