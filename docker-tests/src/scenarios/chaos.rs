//! Scenarios 13–15, the fault battery: a lossy underlay, a server killed over and over while
//! an admin works and peers join, and wall clocks that jump.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, ensure, Result};

use super::in_world;
use super::mesh::{start_daemon, Family, Mesh, Peer};
use super::resilience::three_peers;
use crate::harness::{wait_until, Host, Settings};

/// How long every daemon gets to converge on a changed network through a lossy underlay.
const CONVERGE: Duration = Duration::from_secs(90);
const SYNC: Duration = Duration::from_secs(20);

/// Waits until each peer of `sees` has the other on its interface and no peer of
/// `gone` on it, then checks that every interface holds exactly what the server last told
/// it (its peer cache).
fn converged(sees: &[(&Peer, &Peer)], gone: &[&Peer], within: Duration) -> Result<()> {
    let mut everyone: Vec<&Peer> = Vec::new();
    for (a, b) in sees {
        wait_until(
            &format!("{} and {} see each other", a.host.name, b.host.name),
            within,
            || Ok(a.sees(b)? && b.sees(a)?),
        )?;
        for peer in [*a, *b] {
            if !everyone.iter().any(|p| p.iface == peer.iface) {
                everyone.push(peer);
            }
        }
    }
    for peer in &everyone {
        for removed in gone {
            wait_until(
                &format!("{} drops {}", peer.host.name, removed.host.name),
                within,
                || Ok(!peer.sees(removed)?),
            )?;
        }
        peer.interface_matches_server_view()?;
    }
    Ok(())
}

/// `wiremesh install` of `invitation` on `host`, run again until it succeeds (at most
/// `attempts` times): an install cut off by a failure must be finished by the next run of
/// the same command, never stranded. Returns the peer with its daemon, and how many runs
/// failed.
fn install_until_done(
    host: &Host,
    invitation: &Path,
    iface: &str,
    attempts: u32,
) -> Result<(Peer, u32)> {
    let hosts = host.hosts_file().to_string_lossy().into_owned();
    let invitation = invitation.to_string_lossy().into_owned();
    let mut failed = 0;
    loop {
        let ran = host.client(&[
            "--backend",
            "userspace",
            "install",
            "--name",
            iface,
            "--hosts-path",
            &hosts,
            &invitation,
        ])?;
        if ran.success {
            break;
        }
        failed += 1;
        if failed >= attempts {
            ran.ok()?;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let mut peer = Peer::load(host, iface)?;
    peer.daemon = Some(start_daemon(host, iface)?);
    Ok((peer, failed))
}

/// Scenario 13: 20% of the underlay's UDP packets are lost while the network changes (a
/// new CIDR, a peer joining it, an association, a disable, a rename); every daemon
/// converges anyway.
pub fn lossy_underlay(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "lossy", |world| {
        let (mesh, peers) = three_peers(world, family)?;
        let (alpha, bravo, charlie) = (&peers[0], &peers[1], &peers[2]);
        world.set_underlay_loss(20)?;

        let server = |args: &[&str]| -> Result<()> {
            mesh.server.server(args)?.ok()?;
            Ok(())
        };
        mesh.add_cidr("robots", 2)?;
        let invitation = mesh.invite("delta", "robots", false, "30d")?;
        mesh.wait_for_invitation(&invitation)?;
        let host = world.public_host("delta")?;
        let (delta, failed) = install_until_done(&host, &invitation, &world.iface("d"), 5)?;
        if failed > 0 {
            eprintln!("    delta's install through the loss needed {failed} more run(s)");
        }
        server(&["add-association", &mesh.net, "humans", "robots", "--yes"])?;
        server(&["disable-peer", &mesh.net, "--name", "bravo", "--yes"])?;
        server(&[
            "rename-peer",
            &mesh.net,
            "--name",
            "charlie",
            "--new-name",
            "carol",
            "--yes",
        ])?;

        converged(
            &[(alpha, &delta), (charlie, &delta), (alpha, charlie)],
            &[bravo],
            CONVERGE,
        )?;
        wait_until("the rename reaches alpha's hosts file", CONVERGE, || {
            Ok(alpha
                .host
                .read(&alpha.host.hosts_file())?
                .contains("carol."))
        })?;
        let dropped = world.set_underlay_loss(0)?;
        ensure!(dropped > 0, "the loss rule dropped nothing");
        eprintln!("    the underlay lost {dropped} UDP packets");
        alpha.host.ping_within(delta.ip, SYNC)?;
        delta.host.ping_within(charlie.ip, SYNC)?;
        Ok(())
    })
}

/// SIGKILLs `serve` every `every` until `stop` is set (its supervisor restarts it within
/// about a second, as systemd would); counts the kills.
fn kill_storm(mesh: &Mesh, every: Duration, stop: &AtomicBool, kills: &AtomicU32) {
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(every);
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Some(pid) = mesh.serve.pid() {
            // SAFETY: kill(2) of the serve process this harness started.
            if unsafe { libc::kill(pid as i32, libc::SIGKILL) } == 0 {
                kills.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// One admin step through the API from the admin peer, tried until the server acknowledges
/// it. A try whose answer was lost may have been committed: `done_if` names the refusal
/// that says so (the CIDR or peer exists already), which counts as acknowledged too.
fn acknowledged(
    admin: &Peer,
    args: &[&str],
    done_if: Option<&str>,
    refused: &AtomicU32,
) -> Result<()> {
    let mut full = vec!["--backend", "userspace"];
    full.extend_from_slice(args);
    for _ in 0..30 {
        let ran = admin.host.client(&full)?;
        if ran.success || done_if.is_some_and(|fragment| ran.text().contains(fragment)) {
            return Ok(());
        }
        refused.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(700));
    }
    bail!("`wiremesh {}` was never acknowledged", args.join(" "))
}

/// Scenario 14: `serve` is killed with SIGKILL every 1.5 seconds while an admin adds a CIDR,
/// invites peers, associates and disables through the API, and the invited peers install.
/// Every acknowledged change is in the database afterwards, every install is finished (by
/// running the same command again where one was cut off), and every daemon converges.
pub fn kill_storm_scenario(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "storm", |world| {
        let (mesh, peers) = three_peers(world, family)?;
        let (alpha, bravo, charlie) = (&peers[0], &peers[1], &peers[2]);
        let stop = AtomicBool::new(false);
        let kills = AtomicU32::new(0);
        let refused = AtomicU32::new(0);
        let robot_hosts = [world.public_host("robot1")?, world.public_host("robot2")?];
        let robot_ifaces = [world.iface("r1"), world.iface("r2")];

        let outcome = std::thread::scope(|scope| -> Result<(Vec<Peer>, u32)> {
            let killer =
                scope.spawn(|| kill_storm(&mesh, Duration::from_millis(1500), &stop, &kills));
            let work = || -> Result<(Vec<Peer>, u32)> {
                let iface = alpha.iface.as_str();
                let robots_cidr = mesh.family.child(2);
                acknowledged(
                    alpha,
                    &[
                        "add-cidr",
                        iface,
                        "--name",
                        "robots",
                        "--cidr",
                        &robots_cidr,
                        "--parent",
                        &mesh.net,
                        "--yes",
                    ],
                    Some("already exists"),
                    &refused,
                )?;
                let mut robots = Vec::new();
                let mut failed_runs = 0;
                for (i, name) in ["robot1", "robot2"].into_iter().enumerate() {
                    let path = alpha.host.path(&format!("{name}.toml"));
                    // An add-peer whose answer is lost leaves a peer without an invitation
                    // file; a new name then gets a new one.
                    let mut attempt = 0;
                    loop {
                        attempt += 1;
                        let named = format!("{name}-{attempt}");
                        let ran = alpha.host.client(&[
                            "--backend",
                            "userspace",
                            "add-peer",
                            iface,
                            "--name",
                            &named,
                            "--cidr",
                            "robots",
                            "--admin",
                            "false",
                            "--auto-ip",
                            "--save-config",
                            &path.to_string_lossy(),
                            "--invite-expires",
                            "30d",
                            "--yes",
                        ])?;
                        if ran.success {
                            break;
                        }
                        ensure!(
                            attempt < 30,
                            "add-peer {name} never acknowledged:\n{}",
                            ran.text()
                        );
                        std::thread::sleep(Duration::from_millis(700));
                    }
                    let (robot, failed) =
                        install_until_done(&robot_hosts[i], &path, &robot_ifaces[i], 30)?;
                    failed_runs += failed;
                    robots.push(robot);
                }
                acknowledged(
                    alpha,
                    &["add-association", iface, "humans", "robots", "--yes"],
                    Some("already"),
                    &refused,
                )?;
                acknowledged(
                    alpha,
                    &["disable-peer", iface, "--name", "bravo", "--yes"],
                    None,
                    &refused,
                )?;
                Ok((robots, failed_runs))
            };
            let outcome = work();
            stop.store(true, Ordering::SeqCst);
            killer
                .join()
                .map_err(|_| anyhow::anyhow!("the killer thread panicked"))?;
            outcome
        });
        let (robots, failed_runs) = outcome?;
        let kills = kills.load(Ordering::SeqCst);
        let refused = refused.load(Ordering::SeqCst);
        eprintln!(
            "    serve was killed {kills} times; {refused} admin command(s) failed and were \
             run again; {failed_runs} install run(s) were cut off and finished by the next"
        );
        ensure!(kills >= 3, "the storm killed serve only {kills} times");
        mesh.wait_serving()?;

        // Every acknowledged change is there.
        let listing = mesh.server.server(&["list", &mesh.net])?.ok()?.stdout;
        for expected in ["robots", "robot1-", "robot2-"] {
            ensure!(
                listing.contains(expected),
                "`list` lacks {expected}:\n{listing}"
            );
        }
        let associations = mesh
            .server
            .server(&["list-associations", &mesh.net])?
            .ok()?
            .stdout;
        ensure!(
            associations.contains("humans") && associations.contains("robots"),
            "the association was lost:\n{associations}"
        );
        let mut pairs = vec![(alpha, charlie), (&robots[0], &robots[1])];
        for robot in &robots {
            pairs.push((alpha, robot));
            pairs.push((charlie, robot));
        }
        converged(&pairs, &[bravo], CONVERGE)?;
        for robot in &robots {
            robot.host.ping_within(alpha.ip, SYNC)?;
        }
        Ok(())
    })
}

/// Checks that `program` can be preloaded under libfaketime here.
fn faketime_library() -> Result<String> {
    for path in [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ] {
        if Path::new(path).exists() {
            return Ok(path.to_owned());
        }
    }
    bail!("libfaketime is not installed (Debian package libfaketime; scripts/ensure-tools.sh installs it)")
}

/// Scenario 15: the server's and a daemon's wall clocks jump an hour back, and later an hour
/// forward again (libfaketime, driven from a file; the monotonic clock is left alone, as
/// NTP or an operator leaves it). Syncing goes on, a redeemed invitation's key is swapped
/// after the usual delay, and an invitation expires on time by the monotonic clock.
pub fn clock_jumps(settings: &Settings, family: Family) -> Result<()> {
    let library = faketime_library()?;
    in_world(settings, "clock", |world| {
        let mut mesh = Mesh::start(world, family)?;
        let offset = world.dir().join("faketime");
        std::fs::write(&offset, "+0\n")?;
        let faked = |host: &Host| {
            host.set_env("LD_PRELOAD", &library);
            host.set_env("FAKETIME_TIMESTAMP_FILE", &offset.to_string_lossy());
            host.set_env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
            host.set_env("FAKETIME_NO_CACHE", "1");
        };
        // serve runs under the faked clock from now on.
        faked(&mesh.server);
        mesh.serve.stop();
        mesh.serve = super::mesh::start_serve(&mesh.server, &mesh.net)?;
        mesh.wait_serving()?;

        let alpha_host = world.public_host("alpha")?;
        faked(&alpha_host);
        let invitation = mesh.invite("alpha", "humans", true, "30d")?;
        let alpha = mesh.install(&alpha_host, &invitation, &world.iface("a"))?;
        // An invitation that expires in 30 s of real time.
        let short = mesh.invite("short", "humans", false, "30s")?;
        mesh.wait_for_invitation(&short)?;
        let (short_key, _) = super::mesh::invitation_key(&short)?;

        std::fs::write(&offset, "-1h\n")?;
        let jumped = mesh.server.run(&["date", "+%s"])?;
        eprintln!("    the clocks now read {}", jumped.stdout.trim());

        // Syncing goes on: a peer joins and alpha gets it.
        let bravo_invitation = mesh.invite("bravo", "humans", false, "30d")?;
        mesh.wait_for_invitation(&bravo_invitation)?;
        let (bravo_invite_key, _) = super::mesh::invitation_key(&bravo_invitation)?;
        let bravo_host = world.public_host("bravo")?;
        let bravo = mesh.install(&bravo_host, &bravo_invitation, &world.iface("b"))?;
        wait_until("alpha sees bravo with the clock set back", SYNC, || {
            alpha.sees(&bravo)
        })?;
        // The redeemed invitation's key leaves the server within the swap delay.
        wait_until(
            "the server swaps bravo's invitation key with the clock set back",
            Duration::from_secs(10),
            || {
                Ok(!mesh
                    .server
                    .wg_peer_keys(&mesh.net)?
                    .contains(&bravo_invite_key))
            },
        )?;
        // The short invitation expires by the monotonic clock although the wall clock
        // says it has an hour left.
        wait_until(
            "the short invitation expires with the clock set back",
            Duration::from_secs(90),
            || Ok(!mesh.server.wg_peer_keys(&mesh.net)?.contains(&short_key)),
        )?;
        ensure!(
            !mesh
                .server
                .server(&["list", &mesh.net])?
                .ok()?
                .stdout
                .contains("short"),
            "the expired invitation is still listed"
        );

        std::fs::write(&offset, "+0\n")?;
        mesh.server
            .server(&["disable-peer", &mesh.net, "--name", "bravo", "--yes"])?
            .ok()?;
        wait_until(
            "alpha drops bravo after the clock jumped forward",
            SYNC,
            || Ok(!alpha.sees(&bravo)?),
        )?;
        alpha.host.ping_within(mesh.server_ip()?, SYNC)?;
        Ok(())
    })
}
