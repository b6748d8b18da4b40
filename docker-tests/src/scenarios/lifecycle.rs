//! Scenario 19: the end of a peer's life. A peer deleted while another host is offline never
//! comes back on that host (its daemon starts again from a cache that still holds it), the
//! deleted peer's address stays consumed, `wiremesh uninstall` deregisters its host, and an
//! ephemeral peer stays while online past its window, and goes once offline that long.

use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Result};

use super::basic::with_robots;
use super::in_world;
use super::mesh::{start_daemon, Family};
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
