//! Scenario 16-docker: the policy on a Docker host. robot1 runs a real Docker engine of its
//! own (Debian's `docker.io`) with a container published on the host's ports 8080 and 8081.
//! Without rules every visible peer reaches both. With "humans may open tcp/8080 on robots"
//! and `robots` isolated, admin (humans) reaches 8080 and not 8081, and robot2 (robots)
//! reaches neither: Docker's own chains do not let anything past the policy. Over IPv4 the
//! published ports are destination-NATed to the container; over IPv6 (Docker 20.10 writes no
//! ip6tables rules by default) `docker-proxy` takes them on the input path; both are
//! covered. Docker's tables are never touched: `DOCKER-USER` is as Docker made it, and `down`
//! removes wiremesh's table and nothing of Docker's.

use std::time::Duration;

use anyhow::{ensure, Context as _, Result};

use super::basic::with_robots;
use super::in_world;
use super::mesh::Family;
use super::routes::client;
use crate::harness::engine::Engine;
use crate::harness::wait_until;

/// Generous: a loaded two-core CI machine is slow; latency is the benchmark's business.
const SETTLE: Duration = Duration::from_secs(30);

pub fn docker_host(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "docker", |world| {
        let (_mesh, admin, robot1, robot2) = with_robots(world, family)?;
        let admin_cmd = |args: &[&str]| -> Result<String> {
            let mut full = vec!["--backend", "userspace"];
            full.extend_from_slice(args);
            Ok(admin.host.client(&full)?.ok()?.stdout)
        };
        admin_cmd(&["add-association", &admin.iface, "humans", "robots", "--yes"])?;

        let mut engine = Engine::start(&robot1.host)?;
        engine.import_busybox("wiremesh-e2e-busybox:1")?;
        engine.run_detached(&[
            "--name",
            "web",
            "-p",
            "8080:80",
            "-p",
            "8081:80",
            "wiremesh-e2e-busybox:1",
            "/bin/busybox",
            "nc",
            "-ll",
            "-p",
            "80",
            "-e",
            "/ok",
        ])?;
        let docker_user_before = robot1.host.ok(&DOCKER_USER)?.stdout;
        let target = robot1.ip;
        for (who, host) in [("admin", &admin.host), ("robot2", &robot2.host)] {
            for port in [8080, 8081] {
                wait_until(
                    &format!("{who} reaches the container on robot1:{port}"),
                    SETTLE,
                    || host.reaches("tcp", target, port),
                )?;
            }
        }

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
            "8080",
            "--yes",
        ])?;
        admin_cmd(&["isolate-cidr", &admin.iface, "robots", "--yes"])?;
        wait_until("port 8081 closes to admin", SETTLE, || {
            Ok(!admin.host.reaches("tcp", target, 8081)?)
        })?;
        wait_until("port 8080 closes to robot2", SETTLE, || {
            Ok(!robot2.host.reaches("tcp", target, 8080)?)
        })?;
        ensure!(
            admin.host.reaches("tcp", target, 8080)?,
            "the allowed published port does not answer admin"
        );
        ensure!(
            !robot2.host.reaches("tcp", target, 8081)?,
            "robot2 reached port 8081 of an isolated CIDR"
        );
        let table = format!("wiremesh_{}", robot1.iface);
        let listed = robot1
            .host
            .ok(&["nft", "list", "table", "inet", &table])?
            .stdout;
        ensure!(
            listed.contains("hook prerouting priority") && listed.contains("tcp dport 8080 accept"),
            "robot1's table is not what the policy says:\n{listed}"
        );
        let docker_user_now = robot1.host.ok(&DOCKER_USER)?.stdout;
        ensure!(
            docker_user_now == docker_user_before,
            "DOCKER-USER changed:\nbefore:\n{docker_user_before}\nnow:\n{docker_user_now}"
        );

        // Deleting the rule and lifting the isolation opens both ports again.
        admin_cmd(&["delete-rule", &admin.iface, "1", "--yes"])?;
        admin_cmd(&["isolate-cidr", &admin.iface, "robots", "--off", "--yes"])?;
        wait_until("port 8081 opens to robot2 again", SETTLE, || {
            robot2.host.reaches("tcp", target, 8081)
        })?;

        // `down` removes wiremesh's table and leaves Docker's alone.
        let mut robot1 = robot1;
        if let Some(daemon) = robot1.daemon.take() {
            daemon.stop();
        }
        robot1
            .host
            .client(&["--backend", "userspace", "down", &robot1.iface])?
            .ok()?;
        let tables = robot1.host.ok(&["nft", "list", "tables"])?.stdout;
        ensure!(
            !tables.contains("wiremesh_") && tables.contains("table ip nat"),
            "after down the tables are:\n{tables}"
        );
        ensure!(
            robot1.host.ok(&DOCKER_USER)?.stdout == docker_user_before,
            "down changed DOCKER-USER"
        );
        drop(engine);
        Ok(())
    })
}

/// Lists Docker's `DOCKER-USER` chain without its counters (Docker 20.10 creates the IPv6 one only with ip6tables
/// on; the IPv4 one always).
const DOCKER_USER: [&str; 7] = ["nft", "-s", "list", "chain", "ip", "filter", "DOCKER-USER"];

/// Scenario 17-docker-networks: robot1 runs a real Docker engine with a container on a
/// bridge network (the default one over IPv4; over IPv6 a network with an IPv6 subnet) and
/// advertises its Docker networks as routes (`--docker-networks`). admin, which accepts
/// routes, reaches the container at its own address (no published port) on ports 80 and
/// 81; with "humans may open tcp/80 toward the route" (IPv4; over IPv6 "… on robots", the
/// gateway's CIDR, whose rules guard what it routes) and `robots` isolated it reaches 80
/// and not 81. Over IPv4, Docker's FORWARD policy is DROP:
/// wiremesh's marked rules in `DOCKER-USER` let the mesh through, and `down` takes them
/// out again, leaving the chain as Docker made it.
pub fn docker_networks(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "dockernet", |world| {
        let (_mesh, admin, robot1, _robot2) = with_robots(world, family)?;
        client(
            &admin,
            &["add-association", &admin.iface, "humans", "robots", "--yes"],
        )?;

        let mut engine = Engine::start(&robot1.host)?;
        engine.import_busybox("wiremesh-e2e-busybox:1")?;
        let mut run = vec!["--name", "web"];
        if family == Family::V6 {
            engine.docker(&[
                "network",
                "create",
                "--ipv6",
                "--subnet",
                "fd99:77::/64",
                "--subnet",
                "172.31.78.0/24",
                "v6net",
            ])?;
            run.extend(["--network", "v6net"]);
        }
        run.extend([
            "wiremesh-e2e-busybox:1",
            "/bin/busybox",
            "sh",
            "-c",
            "/bin/busybox nc -ll -p 81 -e /ok & exec /bin/busybox nc -ll -p 80 -e /ok",
        ]);
        engine.run_detached(&run)?;
        let format = if family == Family::V6 {
            "{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}"
        } else {
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        };
        let address = engine.docker(&["inspect", "-f", format, "web"])?;
        let target: std::net::IpAddr = address
            .trim()
            .parse()
            .with_context(|| format!("the container's address {address:?}"))?;
        let docker_user_before = robot1.host.run(&DOCKER_USER)?.stdout;

        robot1.host.set_env("DOCKER_HOST", &engine.docker_host());
        let offered = client(
            &robot1,
            &["advertise-routes", &robot1.iface, "--docker-networks"],
        )?;
        let subnet = if family == Family::V6 {
            "fd99:77::/64"
        } else {
            "172.31.77.0/24"
        };
        ensure!(offered.contains(subnet), "offered:\n{offered}");
        client(
            &admin,
            &["approve-routes", &admin.iface, "--peer", "robot1"],
        )?;
        client(&admin, &["accept-routes", &admin.iface])?;
        for port in [80, 81] {
            wait_until(
                &format!("admin reaches the container {target}:{port}"),
                SETTLE,
                || admin.host.reaches("tcp", target, port),
            )?;
        }
        if family == Family::V4 {
            let listed = robot1.host.ok(&["iptables", "-S", "DOCKER-USER"])?.stdout;
            ensure!(
                listed.contains(&format!("-i {} ", robot1.iface))
                    && listed.contains(&format!("wiremesh:{}", robot1.iface)),
                "DOCKER-USER lacks wiremesh's rules:\n{listed}"
            );
        }

        // Over IPv4 the rule names the route itself; over IPv6 the gateway's CIDR, whose
        // rules guard what the gateway routes too.
        let to = if family == Family::V4 {
            format!("route:{subnet}")
        } else {
            "robots".to_owned()
        };
        client(
            &admin,
            &[
                "add-rule",
                &admin.iface,
                "--from",
                "humans",
                "--to",
                &to,
                "--proto",
                "tcp",
                "--ports",
                "80",
                "--yes",
            ],
        )?;
        client(&admin, &["isolate-cidr", &admin.iface, "robots", "--yes"])?;
        wait_until("port 81 of the container closes to admin", SETTLE, || {
            Ok(!admin.host.reaches("tcp", target, 81)?)
        })?;
        ensure!(
            admin.host.reaches("tcp", target, 80)?,
            "the allowed port of the container does not answer admin"
        );

        let mut robot1 = robot1;
        if let Some(daemon) = robot1.daemon.take() {
            daemon.stop();
        }
        robot1
            .host
            .client(&["--backend", "userspace", "down", &robot1.iface])?
            .ok()?;
        let docker_user_after = robot1.host.run(&DOCKER_USER)?.stdout;
        ensure!(
            docker_user_after == docker_user_before,
            "down left DOCKER-USER changed:\nbefore:\n{docker_user_before}\nafter:\n{docker_user_after}"
        );
        drop(engine);
        Ok(())
    })
}
