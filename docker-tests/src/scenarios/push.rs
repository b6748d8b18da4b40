//! Scenario 10: changes pushed through `/v2`. Every daemon syncs only once an hour, so each
//! change below can only reach the interfaces through the server's long poll; each must be
//! on every affected interface within [`PUSHED`].

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use super::in_world;
use super::mesh::{install_with_interval, Family, Mesh, Peer};
use crate::harness::{wait_until, Settings};

/// A daemon interval no scenario waits out.
const HOURLY: &str = "3600";
/// How long a pushed change may take to reach every affected daemon (the benchmark measures
/// the real figure; this only has to be far below any poll interval).
const PUSHED: Duration = Duration::from_secs(10);

/// Waits until every `(viewer, other, expected)` holds: `viewer` has `other`'s key on its
/// interface exactly when `expected`. Returns how long that took.
fn settle(what: &str, expectations: &[(&Peer, &Peer, bool)]) -> Result<Duration> {
    let start = Instant::now();
    wait_until(what, PUSHED, || {
        for (viewer, other, expected) in expectations {
            if viewer.sees(other)? != *expected {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    Ok(start.elapsed())
}

pub fn pushed_changes(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "push", |world| {
        let mesh = Mesh::start(world, family)?;
        mesh.add_cidr("robots", 2)?;
        let cli = |args: &[&str]| -> Result<()> {
            let mut full = vec![args[0], mesh.net.as_str()];
            full.extend_from_slice(&args[1..]);
            full.push("--yes");
            mesh.server.server(&full)?.ok()?;
            Ok(())
        };
        let mut join = |name: &str, cidr: &str| -> Result<Peer> {
            let invitation = mesh.invite(name, cidr, false, "30d")?;
            let host = world.public_host(name)?;
            let iface = world.iface(&name[name.len() - 2..]);
            install_with_interval(&host, &invitation, &iface, HOURLY)
        };
        let human = join("human1", "humans")?;
        let robot1 = join("robot1", "robots")?;
        let robot2 = join("robot2", "robots")?;
        // The daemons' first cycles (and their first long polls) settle.
        settle(
            "robot1 and robot2 see each other",
            &[(&robot1, &robot2, true), (&robot2, &robot1, true)],
        )?;
        std::thread::sleep(Duration::from_secs(2));
        ensure!(
            !human.sees(&robot1)?,
            "human1 sees robot1 before any association"
        );

        cli(&["add-association", "humans", "robots"])?;
        let associated = settle(
            "add-association is pushed to all three",
            &[
                (&human, &robot1, true),
                (&human, &robot2, true),
                (&robot1, &human, true),
                (&robot2, &human, true),
            ],
        )?;
        human.host.ping_within(robot1.ip, PUSHED)?;

        cli(&["disable-peer", "--name", "robot1"])?;
        let disabled = settle(
            "disable-peer is pushed",
            &[(&human, &robot1, false), (&robot2, &robot1, false)],
        )?;

        let started = Instant::now();
        let robot3 = join("robot3", "robots")?;
        let installed = started.elapsed();
        let redeemed = settle(
            "the new robot3 is pushed",
            &[(&human, &robot3, true), (&robot2, &robot3, true)],
        )?;
        robot2.host.ping_within(robot3.ip, PUSHED)?;
        println!(
            "    pushed: add-association {associated:.1?}, disable-peer {disabled:.1?}, \
             new peer {redeemed:.1?} after its install ({installed:.1?})"
        );
        for peer in [&human, &robot2, &robot3] {
            peer.interface_matches_server_view()?;
        }
        Ok(())
    })
}
