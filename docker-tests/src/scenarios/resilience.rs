//! Scenarios 7 and 8: the server going away, peers rebooting, and the server crashing.

use std::time::Duration;

use anyhow::{ensure, Result};

use super::in_world;
use super::mesh::{start_daemon, start_serve, Family, Mesh, Peer};
use crate::harness::{wait_until, Settings};

const SYNC: Duration = Duration::from_secs(15);

/// Server plus three peers in `humans`, all daemons running and seeing each other.
pub(super) fn three_peers(
    world: &mut crate::harness::World,
    family: Family,
) -> Result<(Mesh, Vec<Peer>)> {
    let mesh = Mesh::start(world, family)?;
    let mut peers = Vec::new();
    for (i, name) in ["alpha", "bravo", "charlie"].into_iter().enumerate() {
        let invitation = mesh.invite(name, "humans", i == 0, "30d")?;
        let host = world.public_host(name)?;
        let iface = world.iface(&name[..1]);
        peers.push(mesh.install(&host, &invitation, &iface)?);
    }
    for a in &peers {
        for b in &peers {
            if a.iface != b.iface {
                wait_until(
                    &format!("{} sees {}", a.host.name, b.host.name),
                    SYNC,
                    || a.sees(b),
                )?;
            }
        }
    }
    Ok((mesh, peers))
}

/// Scenario 7: the server stops; tunnels keep working; a peer invited meanwhile joins after
/// the restart; a rebooted peer comes back from its cache without resurrecting a disabled one.
pub fn server_outage(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "outage", |world| {
        let (mut mesh, peers) = three_peers(world, family)?;
        let (alpha, bravo, charlie) = (&peers[0], &peers[1], &peers[2]);

        // Disable charlie while the server is up, and wait until alpha dropped it.
        mesh.server
            .server(&["disable-peer", &mesh.net, "--name", "charlie", "--yes"])?
            .ok()?;
        wait_until("alpha drops the disabled charlie", SYNC, || {
            Ok(!alpha.sees(charlie)?)
        })?;

        mesh.serve.stop();
        ensure!(!mesh.serve.running(), "serve did not stop");
        // Tunnels between peers do not need the server.
        std::thread::sleep(Duration::from_secs(5));
        alpha.host.ping_within(bravo.ip, SYNC)?;
        bravo.host.ping_within(alpha.ip, SYNC)?;
        for peer in &peers {
            if let Some(daemon) = &peer.daemon {
                ensure!(
                    daemon.running(),
                    "the daemon on {} exited during the outage",
                    peer.host.name
                );
            }
        }

        // An invitation written while the server is down works once it is back.
        let invitation = mesh.invite("delta", "humans", false, "30d")?;

        // Reboot alpha while the server is down: interface gone, daemon restarted.
        if let Some(daemon) = &alpha.daemon {
            daemon.stop();
        }
        alpha
            .host
            .client(&["--backend", "userspace", "down", &alpha.iface])?
            .ok()?;
        let alpha_daemon = start_daemon(&alpha.host, &alpha.iface)?;
        wait_until("alpha is back up from its cache", SYNC, || {
            Ok(alpha.host.run(&["wg", "show", &alpha.iface])?.success)
        })?;
        wait_until("alpha has bravo again", SYNC, || alpha.sees(bravo))?;
        alpha.host.ping_within(bravo.ip, SYNC)?;
        ensure!(
            !alpha.sees(charlie)?,
            "the disabled charlie came back from alpha's cache"
        );
        ensure!(
            alpha_daemon.running(),
            "alpha's daemon exited with the server down"
        );

        mesh.serve = start_serve(&mesh.server, &mesh.net)?;
        mesh.wait_serving()?;
        let host = world.public_host("delta")?;
        let iface = world.iface("d");
        let delta = mesh.install(&host, &invitation, &iface)?;
        for peer in [alpha, bravo] {
            wait_until(&format!("{} sees delta", peer.host.name), SYNC, || {
                peer.sees(&delta)
            })?;
            delta.host.ping_within(peer.ip, SYNC)?;
        }
        ensure!(!alpha.sees(charlie)?, "charlie is still disabled");
        Ok(())
    })
}

/// Scenario 8: `serve` killed with SIGKILL and restarted; the network is identical.
pub fn restart_durability(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "restart", |world| {
        let (mesh, peers) = three_peers(world, family)?;
        mesh.add_cidr("robots", 2)?;
        let pending = mesh.invite("pending", "robots", false, "30d")?;
        // The keys compared below are read from the interface: let `serve` catch up first.
        mesh.wait_for_invitation(&pending)?;
        let listing =
            |m: &Mesh| -> Result<String> { Ok(m.server.server(&["list", &m.net])?.ok()?.stdout) };
        let before = listing(&mesh)?;
        let keys_before = {
            let mut keys = mesh.server.wg_peer_keys(&mesh.net)?;
            keys.sort();
            keys
        };

        mesh.serve.kill();
        // The supervisor restarts it, as systemd would.
        let restarted = start_serve(&mesh.server, &mesh.net)?;
        mesh.wait_serving()?;
        wait_until(
            "the restarted server has every peer on its interface",
            SYNC,
            || {
                let mut keys = mesh.server.wg_peer_keys(&mesh.net)?;
                keys.sort();
                Ok(keys == keys_before)
            },
        )?;
        ensure!(
            listing(&mesh)? == before,
            "the network changed across a SIGKILL restart"
        );
        for peer in &peers {
            peer.host
                .client(&["--backend", "userspace", "fetch", &peer.iface])?
                .ok()?;
        }
        peers[0].host.ping_within(peers[1].ip, SYNC)?;
        drop(restarted);
        Ok(())
    })
}
