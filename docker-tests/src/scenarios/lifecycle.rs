//! Scenario 19: the end of a peer's life. A peer deleted while another host is offline never
//! comes back on that host (its daemon starts again from a cache that still holds it), the
//! deleted peer's address stays consumed, `wiremesh uninstall` deregisters its host, and an
//! ephemeral peer stays while online past its window, and goes once offline that long.

use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context as _, Result};

use super::basic::with_robots;
use super::in_world;
use super::mesh::{start_daemon, start_serve_with, Family, Mesh, LISTEN_PORT};
use crate::harness::{wait_until, Settings};

const SYNC: Duration = Duration::from_secs(20);

pub fn delete_and_deregister(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "lifecycle", |world| {
        let (mesh, admin, robot1, mut robot2) = with_robots(world, family)?;
        // An ephemeral peer with the shortest window, online while the rest happens.
        let invitation = mesh.server.path("robot3.toml");
        let added = mesh
            .server
            .server(&[
                "add-peer",
                &mesh.net,
                "--name",
                "robot3",
                "--cidr",
                "robots",
                "--admin",
                "false",
                "--auto-ip",
                "--save-config",
                &invitation.to_string_lossy(),
                "--invite-expires",
                "1d",
                "--ephemeral",
                "1m",
                "--yes",
            ])?
            .ok()?;
        ensure!(
            added.text().contains("ephemeral"),
            "add-peer should say the peer is ephemeral:\n{}",
            added.text()
        );
        mesh.wait_for_invitation(&invitation)?;
        let host3 = world.public_host("robot3")?;
        let iface3 = world.iface("r3");
        let mut robot3 = mesh.install(&host3, &invitation, &iface3)?;
        let robot3_online = Instant::now();
        let robot3_key = robot3.public_key()?;
        wait_until("robot2 sees robot1", SYNC, || robot2.sees(&robot1))?;
        let robot1_key = robot1.public_key()?;
        let robot2_key = robot2.public_key()?;

        // robot2 goes offline, still holding robot1 in its interface and its cache.
        if let Some(daemon) = robot2.daemon.take() {
            daemon.stop();
        }
        // The admin peer deletes it through the API (the server CLI's `delete-peer` is the
        // same service call; the CLI tests cover it).
        let deleted = admin
            .host
            .client(&[
                "--backend",
                "userspace",
                "delete-peer",
                &admin.iface,
                "--name",
                "robot1",
                "--yes",
            ])?
            .ok()?;
        ensure!(
            deleted.text().contains("stays reserved"),
            "delete-peer should say the address stays reserved:\n{}",
            deleted.text()
        );
        wait_until("robot1 leaves the server's interface", SYNC, || {
            Ok(!mesh.server.wg_peer_keys(&mesh.net)?.contains(&robot1_key))
        })?;
        wait_until("robot1 leaves the admin's interface", SYNC, || {
            Ok(!admin.sees(&robot1)?)
        })?;
        ensure!(
            robot2.sees(&robot1)?,
            "the offline robot2 should still hold robot1"
        );

        // Back online: the daemon starts from its cache, then learns of the deletion.
        robot2.daemon = Some(start_daemon(&robot2.host, &robot2.iface)?);
        wait_until("robot1 leaves robot2", SYNC, || Ok(!robot2.sees(&robot1)?))?;
        // ... and never comes back: not several syncs later, and not from the cache, which
        // keeps robot1's pin (its address stays robot1's key's) but marks it disabled, so a
        // start without the server leaves it out too.
        std::thread::sleep(Duration::from_secs(6));
        ensure!(!robot2.sees(&robot1)?, "robot1 came back on robot2");
        let cache_path = robot2
            .host
            .data_dir("wiremesh")
            .join(format!("{}.json", robot2.iface));
        let cache =
            wiremesh_shared::config::PeerCache::from_json_str(&robot2.host.read(&cache_path)?)
                .map_err(|e| anyhow!("{e}"))?;
        let pinned = cache
            .peers
            .iter()
            .find(|p| p.public_key.to_base64() == robot1_key);
        ensure!(
            pinned.is_some_and(|p| p.is_disabled),
            "robot2's peer cache should keep robot1's pin, disabled: {pinned:?}"
        );
        robot2.interface_matches_server_view()?;

        // The address is never given to another peer.
        let reuse = mesh
            .server
            .server(&[
                "add-peer",
                &mesh.net,
                "--name",
                "robot1",
                "--cidr",
                "robots",
                "--ip",
                &robot1.ip.to_string(),
                "--admin",
                "false",
                "--save-config",
                &mesh.server.path("again.toml").to_string_lossy(),
                "--invite-expires",
                "1d",
                "--yes",
            ])?
            .failed()?;
        ensure!(
            reuse.text().contains("belonged to a deleted peer"),
            "reusing a deleted peer's address should be refused clearly:\n{}",
            reuse.text()
        );

        // robot2 uninstalls and deregisters itself.
        if let Some(daemon) = robot2.daemon.take() {
            daemon.stop();
        }
        let uninstalled = robot2
            .host
            .client(&[
                "--backend",
                "userspace",
                "uninstall",
                &robot2.iface,
                "--yes",
            ])?
            .ok()?;
        ensure!(
            uninstalled
                .text()
                .contains("deregistered: the server deletes this peer"),
            "uninstall should say it deregistered:\n{}",
            uninstalled.text()
        );
        wait_until("robot2 leaves the server's interface", SYNC, || {
            Ok(!mesh.server.wg_peer_keys(&mesh.net)?.contains(&robot2_key))
        })?;
        wait_until("robot2 leaves the admin's interface", SYNC, || {
            Ok(!admin.sees_key(&robot2_key)?)
        })?;
        let listing = mesh.server.server(&["list", &mesh.net])?.ok()?;
        ensure!(
            !listing.text().contains("robot2"),
            "the server still lists robot2:\n{}",
            listing.text()
        );

        // The ephemeral robot3, online for longer than its window (and a housekeeping
        // round), is still there ...
        let window = Duration::from_secs(60);
        std::thread::sleep(
            (window + Duration::from_secs(15)).saturating_sub(robot3_online.elapsed()),
        );
        ensure!(
            mesh.server.wg_peer_keys(&mesh.net)?.contains(&robot3_key),
            "the server deleted the ephemeral robot3 while it was online"
        );
        // ... and goes once it has been offline that long.
        if let Some(daemon) = robot3.daemon.take() {
            daemon.stop();
        }
        robot3
            .host
            .client(&["--backend", "userspace", "down", &robot3.iface])?
            .ok()?;
        let offline = Instant::now();
        wait_until(
            "the server deletes the offline ephemeral robot3",
            window + Duration::from_secs(40),
            || Ok(!mesh.server.wg_peer_keys(&mesh.net)?.contains(&robot3_key)),
        )?;
        println!(
            "ephemeral robot3 (window 60 s) deleted {:.0} s after going offline",
            offline.elapsed().as_secs_f64()
        );
        let listing = mesh.server.server(&["list", &mesh.net])?.ok()?;
        ensure!(
            !listing.text().contains("robot3"),
            "the server still lists robot3:\n{}",
            listing.text()
        );
        Ok(())
    })
}

/// Scenario 19: moving the server. Its namespace gets a second address; `set-endpoint`
/// announces it; every online daemon records it in its config and sends there without a
/// restart; the old address goes away and the mesh carries on (a change still reaches every
/// host, a host that restarts its interface comes up on the new endpoint).
pub fn server_move(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "move", |world| {
        let (mesh, admin, robot1, mut robot2) = with_robots(world, family)?;
        wait_until("robot2 sees robot1", SYNC, || robot2.sees(&robot1))?;
        let old_ip = mesh.server.address.context("the server has no address")?;
        let new_ip = "192.0.2.250";
        mesh.server.ok(&[
            "ip",
            "address",
            "add",
            &format!("{new_ip}/24"),
            "dev",
            "eth0",
        ])?;
        let new_endpoint = format!("{new_ip}:{LISTEN_PORT}");
        let moved = mesh
            .server
            .server(&["set-endpoint", &mesh.net, &new_endpoint, "--yes"])?
            .ok()?;
        ensure!(
            moved.text().contains("public endpoint moved"),
            "set-endpoint should say it moved:\n{}",
            moved.text()
        );
        let server_key = mesh
            .server
            .ok(&["wg", "show", &mesh.net, "public-key"])?
            .stdout
            .trim()
            .to_owned();
        let started = Instant::now();
        for peer in [&admin, &robot1, &robot2] {
            let config = peer
                .host
                .config_dir("wiremesh")
                .join(format!("{}.conf", peer.iface));
            wait_until(
                &format!("{} records and uses the new endpoint", peer.host.name),
                SYNC,
                || {
                    let recorded = peer.host.read(&config)?.contains(&new_endpoint);
                    let endpoints = peer.host.ok(&["wg", "show", &peer.iface, "endpoints"])?;
                    let used = endpoints
                        .stdout
                        .lines()
                        .any(|l| l.starts_with(&server_key) && l.ends_with(&new_endpoint));
                    Ok(recorded && used)
                },
            )?;
        }
        println!(
            "every daemon followed the server to {new_endpoint} within {:.1} s",
            started.elapsed().as_secs_f64()
        );

        // The old address goes away; the mesh carries on through the new one. (Without
        // promote_secondaries, deleting the first address of a subnet deletes the others.)
        mesh.server
            .ok(&["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"])?;
        mesh.server.ok(&[
            "ip",
            "address",
            "del",
            &format!("{old_ip}/24"),
            "dev",
            "eth0",
        ])?;
        let server_ip = mesh.server_ip()?;
        robot1.host.ping_within(server_ip, SYNC)?;
        robot2.host.ping_within(server_ip, SYNC)?;
        mesh.server
            .server(&["disable-peer", &mesh.net, "--name", "robot1", "--yes"])?
            .ok()?;
        wait_until("robot2 hears of robot1's disabling", SYNC, || {
            Ok(!robot2.sees(&robot1)?)
        })?;
        // A host that brings its interface up again comes up on the new endpoint.
        if let Some(daemon) = robot2.daemon.take() {
            daemon.stop();
        }
        robot2
            .host
            .client(&["--backend", "userspace", "down", &robot2.iface])?
            .ok()?;
        robot2.daemon = Some(start_daemon(&robot2.host, &robot2.iface)?);
        wait_until("robot2's interface is back", SYNC, || {
            Ok(robot2.host.run(&["wg", "show", &robot2.iface])?.success)
        })?;
        robot2.host.ping_within(server_ip, SYNC)?;
        let endpoints = robot2
            .host
            .ok(&["wg", "show", &robot2.iface, "endpoints"])?;
        ensure!(
            endpoints.stdout.contains(&new_endpoint),
            "robot2 came back up without the new endpoint:\n{}",
            endpoints.stdout
        );
        Ok(())
    })
}

/// The automation API against a running server, with the operator's tools (`curl`,
/// `openssl`): a token from the CLI; over TLS from another machine, a new peer and its
/// invitation, which that machine installs and pings through; over the Unix socket, the peer
/// disabled and enabled again, which reaches another host's interface both times; plain
/// HTTP and an untrusted certificate refused; every change in the audit log as the token's.
pub fn automation(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "automation", |world| {
        let mut mesh = Mesh::start(world, family)?;
        let server_addr = mesh.server.address.context("server has no address")?;
        let alice_invite = mesh.invite("alice", "humans", false, "1d")?;
        let alice_host = world.public_host("alice")?;
        let alice = mesh.install(&alice_host, &alice_invite, &world.iface("a"))?;

        // The TLS listener, with a certificate made as an operator would.
        let cert = mesh.server.path("api.crt").to_string_lossy().into_owned();
        let key = mesh.server.path("api.key").to_string_lossy().into_owned();
        mesh.server.ok(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=wiremesh-api",
            "-addext",
            "subjectAltName=DNS:wiremesh-api",
            "-keyout",
            &key,
            "-out",
            &cert,
        ])?;
        let listen = std::net::SocketAddr::new(server_addr, 8443).to_string();
        mesh.serve.stop();
        mesh.serve = start_serve_with(
            &mesh.server,
            &mesh.net,
            &[
                "--api-listen",
                &listen,
                "--api-tls-cert",
                &cert,
                "--api-tls-key",
                &key,
            ],
        )?;
        let token = mesh
            .server
            .server(&[
                "create-token",
                &mesh.net,
                "--name",
                "ci",
                "--scope",
                "peers",
                "--scope",
                "read",
                "--expires",
                "1h",
            ])?
            .ok()?
            .stdout
            .trim()
            .to_owned();
        ensure!(token.starts_with("wmt_"), "create-token printed {token:?}");

        // From the robot's machine, over TLS, trusting the certificate it was given.
        let robot_host = world.public_host("robot")?;
        let ca = robot_host.path("ca.pem");
        std::fs::copy(&cert, &ca)?;
        let ca = ca.to_string_lossy().into_owned();
        let resolve = format!("wiremesh-api:8443:{server_addr}");
        let auth = format!("Authorization: Bearer {token}");
        let tls = |method: &str, path: &str, body: Option<&str>| -> Result<crate::harness::Ran> {
            let url = format!("https://wiremesh-api:8443{path}");
            let mut argv = vec![
                "curl",
                "-sS",
                "--fail-with-body",
                "--max-time",
                "10",
                "--cacert",
                &ca,
                "--resolve",
                &resolve,
                "-H",
                &auth,
                "-X",
                method,
            ];
            if let Some(body) = body {
                argv.extend(["-H", "Content-Type: application/json", "-d", body]);
            }
            argv.push(&url);
            robot_host.run(&argv)
        };
        wait_until("the TLS listener answers", SYNC, || {
            Ok(tls("GET", "/api/v1/network", None)?.success)
        })?;
        let cidrs: serde_json::Value =
            serde_json::from_str(&tls("GET", "/api/v1/cidrs", None)?.ok()?.stdout)?;
        let humans = cidrs
            .as_array()
            .and_then(|all| all.iter().find(|c| c["name"] == "humans"))
            .and_then(|c| c["id"].as_i64())
            .context("no CIDR humans")?;
        let body = serde_json::json!({"name": "robot", "cidr_id": humans, "invite_expires": "1h"})
            .to_string();
        let created: serde_json::Value =
            serde_json::from_str(&tls("POST", "/api/v1/peers", Some(&body))?.ok()?.stdout)?;
        let robot_id = created["peer"]["id"].as_i64().context("no peer id")?;
        let invitation = robot_host.path("robot.toml");
        std::fs::write(
            &invitation,
            created["invitation"].as_str().context("no invitation")?,
        )?;
        let robot = mesh.install(&robot_host, &invitation, &world.iface("r"))?;
        robot.host.ping_within(mesh.server_ip()?, SYNC)?;
        wait_until("alice sees the robot", SYNC, || alice.sees(&robot))?;
        alice.host.ping_within(robot.ip, SYNC)?;

        // Refused: plain HTTP on the TLS port, a certificate the client does not trust, a
        // token without the scope.
        let plain = format!("http://{listen}/api/v1/network");
        let ran = robot_host.run(&["curl", "-sS", "--max-time", "5", "-H", &auth, &plain])?;
        ensure!(
            !ran.success || !ran.stdout.contains("\"name\""),
            "plain HTTP was answered: {}",
            ran.text()
        );
        let untrusted = robot_host.run(&[
            "curl",
            "-sS",
            "--max-time",
            "5",
            "--resolve",
            &resolve,
            "-H",
            &auth,
            "https://wiremesh-api:8443/api/v1/network",
        ])?;
        ensure!(!untrusted.success, "an untrusted certificate was accepted");
        let refused = tls("POST", "/api/v1/cidrs", Some("{}"))?;
        ensure!(
            !refused.success && refused.stdout.contains("lacks the scope"),
            "a peers token made a CIDR: {}",
            refused.text()
        );

        // On the server's host, over the Unix socket: the robot off and on again, as
        // alice's interface shows.
        let socket = mesh.server.path("api.sock").to_string_lossy().into_owned();
        let local = |path: &str| -> Result<()> {
            let url = format!("http://localhost{path}");
            mesh.server
                .ok(&[
                    "curl",
                    "-sS",
                    "--fail-with-body",
                    "--unix-socket",
                    &socket,
                    "-H",
                    &auth,
                    "-X",
                    "POST",
                    &url,
                ])
                .map(|_| ())
        };
        local(&format!("/api/v1/peers/{robot_id}/disable"))?;
        wait_until("the disabled robot leaves alice", SYNC, || {
            Ok(!alice.sees(&robot)?)
        })?;
        local(&format!("/api/v1/peers/{robot_id}/enable"))?;
        wait_until("the enabled robot is back on alice", SYNC, || {
            alice.sees(&robot)
        })?;
        alice.host.ping_within(robot.ip, SYNC)?;

        let audit = mesh.server.server(&["audit", &mesh.net])?.ok()?.stdout;
        for action in ["peer.create", "peer.update"] {
            ensure!(
                audit
                    .lines()
                    .any(|line| line.contains("token ci") && line.contains(action)),
                "the audit log lacks {action} by token ci:\n{audit}"
            );
        }
        Ok(())
    })
}
