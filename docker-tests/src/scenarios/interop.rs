//! Scenario 9: interoperability with innernet 2.0.0 (crates.io `innernet`, `innernet-server`)
//! in both directions, including admin commands where innernet supports them.

use std::time::Duration;

use anyhow::{ensure, Context as _, Result};

use super::in_world;
use super::mesh::{install, Family, Mesh, Peer, LISTEN_PORT};
use crate::harness::{wait_until, Daemon, Host, Settings};

const SYNC: Duration = Duration::from_secs(20);
/// How often the harness runs innernet's `install` when its one connection times out.
const INSTALL_ATTEMPTS: u32 = 5;

/// innernet 2.0.0 connects to the server the moment it has brought its interface up. An
/// IPv6 address stays tentative until the kernel has finished configuring it after the link
/// comes up (duplicate address detection, about half a second, on a userspace
/// implementation's TUN device; some milliseconds without). A connection made meanwhile
/// gets `::1` or a link-local address as its source, which the server's WireGuard drops,
/// keeps it for every retransmission, and innernet's only attempt times out. Measured on
/// this suite's machine: 6 of 9 install attempts without the workaround below, 3 of 17 with
/// it. The operator guide's workaround for hosts that run innernet: no duplicate address
/// detection on interfaces created from now on (`all.accept_dad` is 0 in a new namespace,
/// so `default` decides). wiremesh adds its own addresses with `IFA_F_NODAD`, and its
/// client retries a first connection that never got through.
fn no_dad_for_new_interfaces(host: &Host) -> Result<()> {
    host.ok(&["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])?;
    Ok(())
}

/// innernet's client only sees a userspace interface on Linux when a `.name` file exists
/// next to the socket (compat §10.2); write it the way wireguard-go would on macOS.
fn write_name_file(iface: &str) -> Result<()> {
    for dir in ["/var/run/wireguard", "/run/wireguard"] {
        if std::path::Path::new(dir).is_dir() {
            std::fs::write(format!("{dir}/{iface}.name"), format!("{iface}\n"))?;
            return Ok(());
        }
    }
    anyhow::bail!("no userspace WireGuard socket directory")
}

/// Runs the innernet client on `host` with the userspace backend and its own directories.
pub fn innernet(host: &Host, args: &[&str]) -> Result<crate::harness::Ran> {
    let mut full = vec!["--backend", "userspace"];
    full.extend_from_slice(args);
    let argv = host.tool_argv("innernet", &full);
    host.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Installs an invitation with the innernet client and keeps it syncing every 2 s.
fn innernet_install(host: &Host, invitation: &std::path::Path, iface: &str) -> Result<Peer> {
    innernet_install_with_interval(host, invitation, iface, "2")
}

/// Installs an invitation with the innernet client and keeps it syncing every `interval`
/// seconds.
pub fn innernet_install_with_interval(
    host: &Host,
    invitation: &std::path::Path,
    iface: &str,
    interval: &str,
) -> Result<Peer> {
    no_dad_for_new_interfaces(host)?;
    // Under load (three worlds at once on two cores) the kernel's address work runs late,
    // and in one CI run all five attempts below got a wrong source. While innernet
    // installs, the harness holds the peer's IPv6 address on `lo` as well (valid at once:
    // no DAD on loopback), so source selection finds it whatever state innernet's own copy
    // is in; the packets still leave through innernet's tunnel, which routes the network.
    // It is removed before the daemon starts, so everything after tests innernet's host
    // as innernet configured it.
    let address = invitation_address(invitation)?;
    let aid = match address {
        std::net::IpAddr::V6(_) => Some(format!("{address}/128")),
        std::net::IpAddr::V4(_) => None,
    };
    if let Some(aid) = &aid {
        host.ok(&["ip", "-6", "addr", "add", aid, "dev", "lo", "nodad"])?;
    }
    let installed = innernet_install_attempts(host, invitation, iface);
    if let Some(aid) = &aid {
        host.ok(&["ip", "-6", "addr", "del", aid, "dev", "lo"])?;
    }
    installed?;
    write_name_file(iface)?;
    let daemon = innernet_daemon(host, iface, interval)?;
    let config = host.config_dir("innernet").join(format!("{iface}.conf"));
    let text = host.read(&config)?;
    let parsed = wiremesh_shared::config::ClientConfig::from_toml_str(&text)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Peer {
        host: host.clone(),
        iface: iface.to_owned(),
        ip: parsed.interface.address.addr(),
        daemon: Some(daemon),
    })
}

/// The tunnel address an invitation gives its peer.
fn invitation_address(invitation: &std::path::Path) -> Result<std::net::IpAddr> {
    let text = std::fs::read_to_string(invitation)
        .with_context(|| format!("reading {}", invitation.display()))?;
    let parsed = wiremesh_shared::config::ClientConfig::from_toml_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", invitation.display()))?;
    Ok(parsed.interface.address.addr())
}

/// Runs innernet's `install` until it succeeds, retrying (a bounded number of times) only
/// a connection to the server that timed out.
fn innernet_install_attempts(host: &Host, invitation: &std::path::Path, iface: &str) -> Result<()> {
    let hosts = host.hosts_file().to_string_lossy().into_owned();
    // innernet 2.0.0 makes one attempt to reach the server through the tunnel it has just
    // created, and gives up (leaving the invitation unredeemed) if that connection times
    // out, which the race described at `no_dad_for_new_interfaces` still causes now and
    // then. An operator runs it again (the operator guide says so); so does the harness,
    // for that failure only, a bounded number of times, saying so.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let ran = innernet(
            host,
            &[
                "install",
                "--name",
                iface,
                "--delete-invite",
                "--hosts-path",
                &hosts,
                &invitation.to_string_lossy(),
            ],
        )?;
        if ran.success {
            break;
        }
        let retryable = ran.text().contains("timed out") && invitation.exists();
        if !retryable || attempt == INSTALL_ATTEMPTS {
            ran.ok()?;
        }
        eprintln!("innernet install timed out reaching the server (attempt {attempt}); retrying");
        // innernet took its interface down on the way out; the userspace implementation exits
        // a moment later, and the name is free only then.
        wait_until(
            "innernet's interface is gone",
            Duration::from_secs(10),
            || Ok(!host.run(&["ip", "link", "show", iface])?.success),
        )?;
    }
    Ok(())
}

/// `innernet up <iface> --daemon --interval <interval>` under a supervisor.
pub fn innernet_daemon(host: &Host, iface: &str, interval: &str) -> Result<Daemon> {
    let hosts = host.hosts_file().to_string_lossy().into_owned();
    let argv = host.tool_argv(
        "innernet",
        &[
            "--backend",
            "userspace",
            "up",
            iface,
            "--daemon",
            "--interval",
            interval,
            "--hosts-path",
            &hosts,
        ],
    );
    host.spawn(&format!("innernet-{iface}"), argv, true)
}

/// An innernet 2.0.0 client joins a wiremesh server, pings wiremesh peers, and administers
/// the network through wiremesh's `/v1`.
pub fn innernet_client_on_wiremesh_server(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "interop-a", |world| {
        let mesh = Mesh::start(world, family)?;
        let wm_invite = mesh.invite("wmpeer", "humans", false, "30d")?;
        let wm_host = world.public_host("wmpeer")?;
        let wm_iface = world.iface("w");
        let wm_peer = mesh.install(&wm_host, &wm_invite, &wm_iface)?;

        let in_invite = mesh.invite("inpeer", "humans", true, "30d")?;
        // innernet makes a single attempt: let `serve` put the invitation on its interface
        // first (it picks up CLI changes within 250 ms).
        mesh.wait_for_invitation(&in_invite)?;
        let in_host = world.public_host("inpeer")?;
        let in_iface = world.iface("i");
        let in_peer = innernet_install(&in_host, &in_invite, &in_iface)?;

        wait_until("the innernet peer sees the wiremesh peer", SYNC, || {
            in_peer.sees(&wm_peer)
        })?;
        wait_until("the wiremesh peer sees the innernet peer", SYNC, || {
            wm_peer.sees(&in_peer)
        })?;
        in_peer.host.ping_within(wm_peer.ip, SYNC)?;
        wm_peer.host.ping_within(in_peer.ip, SYNC)?;
        in_peer.host.ping_within(mesh.server_ip()?, SYNC)?;

        // innernet's admin commands against wiremesh's /v1.
        innernet(
            &in_host,
            &[
                "add-cidr",
                &in_iface,
                "--name",
                "robots",
                "--cidr",
                &family.child(2),
                "--parent",
                &mesh.net,
                "--yes",
            ],
        )?
        .ok()?;
        let robot_invite = in_host.path("robot.toml");
        innernet(
            &in_host,
            &[
                "add-peer",
                &in_iface,
                "--name",
                "robot",
                "--cidr",
                "robots",
                "--admin",
                "false",
                "--auto-ip",
                "--save-config",
                &robot_invite.to_string_lossy(),
                "--invite-expires",
                "30d",
                "--yes",
            ],
        )?
        .ok()?;
        let robot_host = world.public_host("robot")?;
        let robot_iface = world.iface("r");
        let robot = mesh.install(&robot_host, &robot_invite, &robot_iface)?;
        innernet(
            &in_host,
            &["add-association", &in_iface, "humans", "robots", "--yes"],
        )?
        .ok()?;
        wait_until("the robot sees the innernet peer", SYNC, || {
            robot.sees(&in_peer)
        })?;
        robot.host.ping_within(in_peer.ip, SYNC)?;
        let listing = innernet(&in_host, &["list-associations", &in_iface])?
            .ok()?
            .stdout;
        ensure!(
            listing.contains("humans") && listing.contains("robots"),
            "innernet list-associations:\n{listing}"
        );
        innernet(
            &in_host,
            &["disable-peer", &in_iface, "--name", "robot", "--yes"],
        )?
        .ok()?;
        wait_until("the disabled robot leaves the wiremesh peer", SYNC, || {
            Ok(!wm_peer.sees(&robot)?)
        })?;
        let server_list = mesh.server.server(&["list", &mesh.net])?.ok()?.stdout;
        ensure!(
            server_list.contains("robot"),
            "server list lacks robot:\n{server_list}"
        );
        Ok(())
    })
}

/// A wiremesh client joins an innernet 2.0.0 server, pings, and administers it.
pub fn wiremesh_client_on_innernet_server(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "interop-b", |world| {
        let server = world.public_host("inserver")?;
        no_dad_for_new_interfaces(&server)?;
        let net = world.iface("s");
        let endpoint = format!(
            "{}:{LISTEN_PORT}",
            server.address.context("server address")?
        );
        let tool = |args: &[&str]| -> Result<crate::harness::Ran> {
            let argv = server.tool_argv("innernet-server", args);
            server.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())
        };
        tool(&[
            "new",
            "--network-name",
            &net,
            "--network-cidr",
            family.root(),
            "--external-endpoint",
            &endpoint,
            "--listen-port",
            LISTEN_PORT,
        ])?
        .ok()?;
        tool(&[
            "add-cidr",
            &net,
            "--name",
            "humans",
            "--cidr",
            &family.child(1),
            "--parent",
            &net,
            "--yes",
        ])?
        .ok()?;
        let admin_invite = server.path("admin.toml");
        tool(&[
            "add-peer",
            &net,
            "--name",
            "admin",
            "--cidr",
            "humans",
            "--admin",
            "true",
            "--auto-ip",
            "--save-config",
            &admin_invite.to_string_lossy(),
            "--invite-expires",
            "30d",
            "--yes",
        ])?
        .ok()?;
        let argv = server.tool_argv(
            "innernet-server",
            &["serve", &net, "--backend", "userspace", "--no-write-hosts"],
        );
        let _serve = server.spawn("innernet-serve", argv, true)?;
        // Up means its API listens (without the workaround above, innernet-server exits when
        // its address is still tentative, and its supervisor starts it again).
        wait_until("innernet-server is up", SYNC, || {
            Ok(server.run(&["wg", "show", &net])?.success
                && !server
                    .run(&["ss", "-Hltn", &format!("sport = :{LISTEN_PORT}")])?
                    .stdout
                    .trim()
                    .is_empty())
        })?;

        let admin_host = world.public_host("wmadmin")?;
        let admin_iface = world.iface("a");
        let admin = install(&admin_host, &admin_invite, &admin_iface)?;
        let server_ip: ipnet::IpNet = family.root().parse()?;
        let server_ip = wiremesh_shared::alloc::first_free_ip(&server_ip, &Default::default())?;
        admin.host.ping_within(server_ip, SYNC)?;

        // wiremesh's admin commands against innernet-server.
        let wm = |args: &[&str]| -> Result<()> {
            let mut full = vec!["--backend", "userspace"];
            full.extend_from_slice(args);
            admin_host.client(&full)?.ok()?;
            Ok(())
        };
        wm(&[
            "add-cidr",
            &admin_iface,
            "--name",
            "robots",
            "--cidr",
            &family.child(2),
            "--parent",
            &net,
            "--yes",
        ])?;
        let robot_invite = admin_host.path("robot.toml");
        wm(&[
            "add-peer",
            &admin_iface,
            "--name",
            "robot",
            "--cidr",
            "robots",
            "--admin",
            "false",
            "--auto-ip",
            "--save-config",
            &robot_invite.to_string_lossy(),
            "--invite-expires",
            "30d",
            "--yes",
        ])?;
        wm(&["add-association", &admin_iface, "humans", "robots", "--yes"])?;
        let robot_host = world.public_host("wmrobot")?;
        let robot_iface = world.iface("r");
        let robot = install(&robot_host, &robot_invite, &robot_iface)?;
        wait_until("admin and robot see each other", SYNC, || {
            Ok(admin.sees(&robot)? && robot.sees(&admin)?)
        })?;
        robot.host.ping_within(admin.ip, SYNC)?;
        admin.host.ping_within(robot.ip, SYNC)?;
        let listing = admin_host
            .client(&["--backend", "userspace", "list-associations", &admin_iface])?
            .ok()?
            .stdout;
        ensure!(
            listing.contains("humans") && listing.contains("robots"),
            "list-associations:\n{listing}"
        );
        wm(&["disable-peer", &admin_iface, "--name", "robot", "--yes"])?;
        wait_until("the disabled robot leaves admin", SYNC, || {
            Ok(!admin.sees(&robot)?)
        })?;
        Ok(())
    })
}
