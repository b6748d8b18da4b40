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

use anyhow::{ensure, Result};

use super::basic::with_robots;
use super::in_world;
use super::mesh::Family;
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
