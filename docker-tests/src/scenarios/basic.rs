//! Scenarios 1–5: bootstrap, administration from a peer, the ACL, disable/enable and the
//! invitation lifecycle.

use std::time::Duration;

use anyhow::{bail, ensure, Result};

use super::in_world;
use super::mesh::{invitation_key, Family, Mesh, Peer};
use crate::harness::{wait_until, Settings, World};

/// How long a change may take to reach a daemon syncing every 2 s.
const SYNC: Duration = Duration::from_secs(15);
/// How long two peers that joined at the same moment may take to reach each other: each
/// may first try the other's invitation key, and WireGuard retries a handshake only every
/// 5 s, a few times over on a loaded two-core CI machine (latency is the benchmark's
/// business).
const FIRST_CONTACT: Duration = Duration::from_secs(30);

/// Server, `humans`, an admin peer installed and running its daemon.
fn bootstrapped(world: &mut World, family: Family) -> Result<(Mesh, Peer)> {
    let mesh = Mesh::start(world, family)?;
    let invitation = mesh.invite("admin", "humans", true, "30d")?;
    let host = world.public_host("admin")?;
    let iface = world.iface("a");
    let admin = mesh.install(&host, &invitation, &iface)?;
    ensure!(
        !invitation.exists(),
        "--delete-invite left the invitation behind"
    );
    Ok((mesh, admin))
}

/// Scenario 1: `new`, `add-cidr humans`, `add-peer` admin, `serve`, admin `install`,
/// `list --tree`. The install recorded the userspace backend, so `list` needs no
/// `--backend`.
pub fn bootstrap(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "bootstrap", |world| {
        let (mesh, admin) = bootstrapped(world, family)?;
        let config_file = admin
            .host
            .config_dir("wiremesh")
            .join(format!("{}.conf", admin.iface));
        let config = std::fs::read_to_string(&config_file)?;
        ensure!(
            config.contains("\nbackend = \"userspace\"\n"),
            "install did not record its backend in {}",
            config_file.display()
        );
        let tree = admin
            .host
            .client(&["list", "--tree", &admin.iface])?
            .ok()?
            .stdout;
        for expected in ["humans", "admin", "innernet-server"] {
            ensure!(
                tree.contains(expected),
                "`list --tree` lacks {expected}:\n{tree}"
            );
        }
        let server_ip = mesh.server_ip()?;
        admin.host.ping_within(server_ip, SYNC)?;
        Ok(())
    })
}

/// Admin adds `robots` and invites two peers from its own host; both install at the same
/// time and ping each other.
pub(super) fn with_robots(world: &mut World, family: Family) -> Result<(Mesh, Peer, Peer, Peer)> {
    let (mesh, admin) = bootstrapped(world, family)?;
    let a = |args: &[&str]| -> Result<()> {
        let mut full = vec!["--backend", "userspace"];
        full.extend_from_slice(args);
        admin.host.client(&full)?.ok()?;
        Ok(())
    };
    a(&[
        "add-cidr",
        &admin.iface,
        "--name",
        "robots",
        "--cidr",
        &family.child(2),
        "--parent",
        &mesh.net,
        "--yes",
    ])?;
    let mut invitations = Vec::new();
    for name in ["robot1", "robot2"] {
        let path = admin.host.path(&format!("{name}.toml"));
        a(&[
            "add-peer",
            &admin.iface,
            "--name",
            name,
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
        invitations.push(path);
    }
    let hosts = [world.public_host("robot1")?, world.public_host("robot2")?];
    let ifaces = [world.iface("r1"), world.iface("r2")];
    // Both redeem at the same moment.
    let results: Vec<Result<Peer>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (mesh, host, invitation, iface) =
                    (&mesh, &hosts[i], &invitations[i], &ifaces[i]);
                scope.spawn(move || mesh.install(host, invitation, iface))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| bail!("install thread panicked"))
            })
            .collect()
    });
    let mut robots = results.into_iter().collect::<Result<Vec<Peer>>>()?;
    let robot2 = robots.pop().expect("two robots");
    let robot1 = robots.pop().expect("two robots");
    Ok((mesh, admin, robot1, robot2))
}

/// Scenario 2: administration from a peer; simultaneous installs; ping across.
pub fn admin_from_peer(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "admin", |world| {
        let (mesh, _admin, robot1, robot2) = with_robots(world, family)?;
        robot1.host.ping_within(robot2.ip, FIRST_CONTACT)?;
        robot2.host.ping_within(robot1.ip, SYNC)?;
        robot1.host.ping_within(mesh.server_ip()?, SYNC)?;
        Ok(())
    })
}

/// Scenario 3: robots cannot reach humans until `add-association`, and not after
/// `delete-association`.
pub fn acl(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "acl", |world| {
        let (_mesh, admin, robot1, robot2) = with_robots(world, family)?;
        let admin_cmd = |args: &[&str]| -> Result<()> {
            let mut full = vec!["--backend", "userspace"];
            full.extend_from_slice(args);
            admin.host.client(&full)?.ok()?;
            Ok(())
        };
        // Give the daemons a sync to settle, then check isolation.
        std::thread::sleep(Duration::from_secs(4));
        ensure!(
            !robot1.sees(&admin)?,
            "robot1 has admin's key before any association"
        );
        ensure!(
            !admin.sees(&robot1)?,
            "admin has robot1's key before any association"
        );
        ensure!(
            !robot1.host.ping(admin.ip)?,
            "robot1 reached admin without an association"
        );
        for peer in [&admin, &robot1, &robot2] {
            peer.interface_matches_server_view()?;
        }

        admin_cmd(&["add-association", &admin.iface, "humans", "robots", "--yes"])?;
        wait_until("robot1 and admin see each other", SYNC, || {
            Ok(robot1.sees(&admin)? && admin.sees(&robot1)?)
        })?;
        robot1.host.ping_within(admin.ip, SYNC)?;
        for peer in [&admin, &robot1, &robot2] {
            wait_until(
                &format!("{}'s interface matches the server's view", peer.host.name),
                SYNC,
                || peer.interface_matches_server_view().map(|()| true),
            )?;
        }

        admin_cmd(&[
            "delete-association",
            &admin.iface,
            "humans",
            "robots",
            "--yes",
        ])?;
        wait_until("robot1 loses admin again", SYNC, || {
            Ok(!robot1.sees(&admin)? && !admin.sees(&robot1)?)
        })?;
        ensure!(
            !robot1.host.ping(admin.ip)?,
            "robot1 still reaches admin after delete-association"
        );
        Ok(())
    })
}

/// Scenario 4: a disabled peer disappears everywhere and is cut off from the server;
/// enabling restores it.
pub fn disable_enable(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "disable", |world| {
        let (_mesh, admin, robot1, robot2) = with_robots(world, family)?;
        let admin_cmd = |args: &[&str]| -> Result<()> {
            let mut full = vec!["--backend", "userspace"];
            full.extend_from_slice(args);
            admin.host.client(&full)?.ok()?;
            Ok(())
        };
        wait_until("robot2 sees robot1", SYNC, || robot2.sees(&robot1))?;
        admin_cmd(&["disable-peer", &admin.iface, "--name", "robot1", "--yes"])?;
        wait_until("robot1 vanishes from robot2", SYNC, || {
            Ok(!robot2.sees(&robot1)?)
        })?;
        ensure!(
            !robot2.host.ping(robot1.ip)?,
            "robot2 still reaches the disabled robot1"
        );
        // The server removed robot1's key from its interface at once, so robot1's API calls
        // no longer even reach it (the in-process API tests show the 401 a disabled caller
        // gets when it does reach the server).
        let fetch = robot1
            .host
            .client(&["--backend", "userspace", "fetch", &robot1.iface])?;
        ensure!(
            fetch.text().contains("unreachable") || fetch.text().contains("401"),
            "a disabled peer's fetch should fail to get the network state:\n{}",
            fetch.text()
        );
        ensure!(
            !robot1.host.ping(_mesh.server_ip()?)?,
            "the disabled robot1 still reaches the server"
        );

        admin_cmd(&["enable-peer", &admin.iface, "--name", "robot1", "--yes"])?;
        wait_until("robot1 is back on robot2", SYNC, || robot2.sees(&robot1))?;
        robot2.host.ping_within(robot1.ip, SYNC)?;
        Ok(())
    })
}

/// Scenario 5: used, expired and corrupted invitations.
pub fn invitations(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "invites", |world| {
        let (mesh, _admin) = bootstrapped(world, family)?;
        let host = world.public_host("guest")?;

        // A used invitation cannot be redeemed again.
        let used = mesh.invite("guest1", "humans", false, "30d")?;
        let copy = host.path("guest1-copy.toml");
        std::fs::copy(&used, &copy)?;
        let iface1 = world.iface("g1");
        mesh.install(&host, &used, &iface1)?;
        let other = world.public_host("thief")?;
        let iface2 = world.iface("g2");
        let again = other
            .client(&[
                "--backend",
                "userspace",
                "install",
                "--name",
                &iface2,
                &copy.to_string_lossy(),
            ])?
            .failed()?;
        ensure!(
            again.text().contains("already redeemed"),
            "reusing an invitation should be refused clearly:\n{}",
            again.text()
        );
        ensure!(copy.exists(), "a refused invitation must be left in place");

        // An expired invitation is refused, and its name and IP become free again.
        let expiring = mesh.invite("late", "humans", false, "1s")?;
        let (_, late_ip) = invitation_key(&expiring)?;
        std::thread::sleep(Duration::from_secs(2));
        let iface3 = world.iface("g3");
        let late = other
            .client(&[
                "--backend",
                "userspace",
                "install",
                "--name",
                &iface3,
                &expiring.to_string_lossy(),
            ])?
            .failed()?;
        ensure!(
            late.text().contains("expired"),
            "an expired invitation should be refused clearly:\n{}",
            late.text()
        );
        let ip = late_ip.to_string();
        wait_until(
            "the expired invitation's name and IP are free again",
            Duration::from_secs(30),
            || {
                let path = mesh.server.path("late-again.toml");
                let _ = std::fs::remove_file(&path);
                Ok(mesh
                    .server
                    .server(&[
                        "add-peer",
                        &mesh.net,
                        "--name",
                        "late",
                        "--cidr",
                        "humans",
                        "--admin",
                        "false",
                        "--ip",
                        &ip,
                        "--save-config",
                        &path.to_string_lossy(),
                        "--invite-expires",
                        "30m",
                        "--yes",
                    ])?
                    .success)
            },
        )?;

        // A corrupted invitation gives a clear error and is left alone.
        let corrupt = host.path("corrupt.toml");
        std::fs::write(
            &corrupt,
            "[interface]\nnetwork-name = \"x\"\naddress = \"not an address\"\n",
        )?;
        let before = std::fs::read(&corrupt)?;
        let iface4 = world.iface("g4");
        let bad = host
            .client(&[
                "--backend",
                "userspace",
                "install",
                "--name",
                &iface4,
                &corrupt.to_string_lossy(),
            ])?
            .failed()?;
        ensure!(
            bad.text().contains("invitation"),
            "unclear error for a corrupt invitation:\n{}",
            bad.text()
        );
        ensure!(
            std::fs::read(&corrupt)? == before,
            "a corrupt invitation must be left untouched"
        );
        Ok(())
    })
}
