//! Scenario 18-device: a phone that cannot run wiremesh joins through the server. The
//! server's admin adds a `phones` CIDR that sees `robots`, and `add-device --psk --qr`
//! writes a wg-quick configuration and its QR code (which decodes to exactly the file). A
//! namespace with no wiremesh binary brings it up with `wg-quick` and `wireguard-go`:
//! - the phone reaches robot1 and robot1 sees the phone's own address (no source NAT);
//!   it reaches neither admin (humans do not see phones) nor anything admin has;
//! - the policy applies at the hub both ways: "phones may open tcp/8080 on robots" closes
//!   8081, and "robots may open tcp/80 on phones" closes the phone's 81 to robot2, although
//!   the phone enforces nothing itself;
//! - unrelated changes (a CIDR the phone does not see, a new peer) leave its configuration
//!   current and working;
//! - disabling the device cuts it off within the propagation time.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};

use super::basic::with_robots;
use super::in_world;
use super::mesh::Family;
use crate::harness::{wait_until, Host};

/// Generous: a loaded two-core CI machine is slow; latency is the benchmark's business.
const SETTLE: Duration = Duration::from_secs(30);

/// The text a QR code image (PNG) holds.
pub fn decode_qr(png_bytes: &[u8]) -> Result<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().context("not a PNG")?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| anyhow!("PNG too large"))?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).context("unreadable PNG")?;
    ensure!(
        info.color_type == png::ColorType::Grayscale && info.bit_depth == png::BitDepth::Eight,
        "expected an 8-bit greyscale PNG, got {:?} {:?}",
        info.color_type,
        info.bit_depth
    );
    let (width, height) = (info.width as usize, info.height as usize);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    let grids = image.detect_grids();
    let [grid] = grids.as_slice() else {
        bail!("expected one QR code in the image, found {}", grids.len());
    };
    let (_, text) = grid.decode().map_err(|e| anyhow!("QR code: {e:?}"))?;
    Ok(text)
}

/// The address of a wg-quick configuration's `Address` line.
fn address_of(config: &str) -> Result<IpAddr> {
    let line = config
        .lines()
        .find_map(|l| l.strip_prefix("Address = "))
        .context("the configuration has no Address")?;
    let ip = line.split('/').next().unwrap_or_default();
    ip.parse()
        .with_context(|| format!("bad Address line {line:?}"))
}

fn mode(path: &Path) -> Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

pub fn device_through_server(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "device", |world| {
        let (mesh, admin, robot1, robot2) = with_robots(world, family)?;
        let server =
            |args: &[&str]| -> Result<String> { Ok(mesh.server.server(args)?.ok()?.stdout) };
        mesh.add_cidr("phones", 3)?;
        server(&["add-association", &mesh.net, "phones", "robots", "--yes"])?;
        let _robot_ports = robot1.host.spawn(
            "ports",
            Host::self_argv(&["ports", "who:8080", "who:8081"])?,
            false,
        )?;

        let phone = world.public_host("phone")?;
        let iface = world.iface("p");
        let config_path = mesh.server.path(&format!("{iface}.conf"));
        let config_arg = config_path.to_string_lossy().into_owned();
        let printed = server(&[
            "add-device",
            &mesh.net,
            "--name",
            "phone",
            "--cidr",
            "phones",
            "--auto-ip",
            "--psk",
            "--qr",
            "--save-config",
            &config_arg,
            "--yes",
        ])?;
        let config = std::fs::read_to_string(&config_path)?;
        let png_path = config_path.with_extension("png");
        ensure!(
            decode_qr(&std::fs::read(&png_path)?)? == config,
            "the QR code does not hold the configuration file"
        );
        ensure!(
            printed.contains('█') && printed.contains("private key"),
            "add-device printed no QR code or no word about the key:\n{printed}"
        );
        for path in [&config_path, &png_path] {
            ensure!(mode(path)? == 0o600, "{} is not mode 0600", path.display());
        }
        ensure!(
            config.contains("PresharedKey = ") && config.contains("PersistentKeepalive = 25"),
            "{config}"
        );
        let phone_ip = address_of(&config)?;

        // The phone: plain wg-quick and wireguard-go, nothing of wiremesh.
        let _phone_ports = phone_up(&phone, &config_arg)?;
        reached_as_itself(&phone, phone_ip, robot1.ip, "robot1")?;
        wait_until("robot2 reaches the phone", SETTLE, || {
            robot2.host.reaches("tcp", phone_ip, 80)
        })?;
        ensure!(
            robot2.host.reaches("tcp", phone_ip, 81)? && phone.reaches("tcp", robot1.ip, 8081)?,
            "before any rule every port should answer"
        );
        ensure!(
            !phone.reaches("tcp", admin.ip, 80)? && !admin.host.reaches("tcp", phone_ip, 80)?,
            "the phone and admin reach each other, but humans do not see phones"
        );
        let listed = server(&["list", &mesh.net])?;
        ensure!(
            listed.contains("phone") && listed.contains("device via") && !listed.contains("stale"),
            "the server's list does not show the device:\n{listed}"
        );

        // The policy at the hub, both ways.
        for (from, to, port) in [("phones", "robots", "8080"), ("robots", "phones", "80")] {
            server(&[
                "add-rule", &mesh.net, "--from", from, "--to", to, "--proto", "tcp", "--ports",
                port, "--yes",
            ])?;
        }
        wait_until(
            "robot2 no longer reaches the phone's port 81",
            SETTLE,
            || Ok(!robot2.host.reaches("tcp", phone_ip, 81)?),
        )?;
        wait_until(
            "the phone no longer reaches robot1's port 8081",
            SETTLE,
            || Ok(!phone.reaches("tcp", robot1.ip, 8081)?),
        )?;
        ensure!(
            robot2.host.reaches("tcp", phone_ip, 80)? && phone.reaches("tcp", robot1.ip, 8080)?,
            "the allowed ports closed too"
        );
        let table = format!("wiremesh_{}", mesh.net);
        let rules = mesh
            .server
            .ok(&["nft", "list", "table", "inet", &table])?
            .stdout;
        ensure!(
            rules.contains("jump hub") && rules.contains("hook forward"),
            "the server's table does not judge the device's traffic:\n{rules}"
        );

        // Unrelated changes leave the configuration current.
        mesh.add_cidr("others", 4)?;
        mesh.invite("late", "humans", false, "1d")?;
        let listed = server(&["list", &mesh.net])?;
        ensure!(
            !listed.contains("stale"),
            "an unrelated change made the phone stale:\n{listed}"
        );
        ensure!(
            phone.reaches("tcp", robot1.ip, 8080)?,
            "the phone lost robot1 after unrelated changes"
        );

        // Disabled: cut off within the propagation time.
        let disabled = std::time::Instant::now();
        server(&["disable-peer", &mesh.net, "--name", "phone", "--yes"])?;
        wait_until("the disabled phone is cut off", SETTLE, || {
            Ok(!phone.reaches("tcp", robot1.ip, 8080)?)
        })?;
        println!(
            "the disabled phone was cut off {:.1} s after disable-peer",
            disabled.elapsed().as_secs_f64()
        );
        wait_until("robot2 drops the route to the phone", SETTLE, || {
            Ok(!robot2
                .host
                .ok(&["wg", "show", &robot2.iface, "allowed-ips"])?
                .stdout
                .contains(&phone_ip.to_string()))
        })?;
        phone.ok(&["wg-quick", "down", &config_arg])?;
        Ok(())
    })
}

/// Brings the phone's configuration up with wg-quick and wireguard-go (nothing of
/// wiremesh), and serves `who` on its ports 80 and 81.
fn phone_up(phone: &Host, config: &str) -> Result<crate::harness::Daemon> {
    phone.ok(&[
        "env",
        "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go",
        "wg-quick",
        "up",
        config,
    ])?;
    phone.spawn(
        "ports",
        Host::self_argv(&["ports", "who:80", "who:81"])?,
        false,
    )
}

/// Waits until the phone (`phone_ip`) reaches port 8080 of `target`, which must see the
/// phone's own address (no source NAT on the way).
fn reached_as_itself(phone: &Host, phone_ip: IpAddr, target: IpAddr, who_: &str) -> Result<()> {
    wait_until(&format!("the phone reaches {who_}"), SETTLE, || {
        phone.reaches("tcp", target, 8080)
    })?;
    let seen = who(phone, target, 8080)?;
    ensure!(
        seen.as_deref() == Some(phone_ip.to_string().as_str()),
        "{who_} should see the phone's own address {phone_ip}, it saw {seen:?}"
    );
    Ok(())
}

/// What a `who` port at `target` says about a connection from `host` (`None`: no answer).
fn who(host: &Host, target: IpAddr, port: u16) -> Result<Option<String>> {
    let argv = Host::self_argv(&["probe", "who", &target.to_string(), &port.to_string()])?;
    let ran = host.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(ran.success.then(|| ran.stdout.trim().to_owned()))
}

/// Scenario 18-device-hub: the same phone joins through robot1, a wiremesh peer with a
/// public endpoint of its own, instead of the server, and sends everything through it
/// (`--full-tunnel`: robot1 is its exit node). It reaches robot2 through robot1 with its own
/// address, robot1 itself, and not admin; a host beyond robot1 (which knows nothing of the
/// mesh) sees robot1's address; a rule toward phones closes a port at the hub; disabling the
/// device cuts it off and robot1, a hub no more, turns forwarding off again.
pub fn device_through_gateway(settings: &crate::harness::Settings, family: Family) -> Result<()> {
    in_world(settings, "devhub", |world| {
        let (mesh, admin, robot1, robot2) = with_robots(world, family)?;
        let server =
            |args: &[&str]| -> Result<String> { Ok(mesh.server.server(args)?.ok()?.stdout) };
        mesh.add_cidr("phones", 3)?;
        server(&["add-association", &mesh.net, "phones", "robots", "--yes"])?;
        let _robot_ports =
            robot2
                .host
                .spawn("ports", Host::self_argv(&["ports", "who:8080"])?, false)?;
        // A hub needs an endpoint that stays: a fixed port, announced.
        let port = "51900";
        super::routes::client(
            &robot1,
            &[
                "set-listen-port",
                &robot1.iface,
                "--listen-port",
                port,
                "--yes",
            ],
        )?;
        let public = robot1
            .host
            .address
            .context("robot1 has no public address")?;
        let endpoint = format!("{public}:{port}");
        super::routes::client(
            &robot1,
            &[
                "override-endpoint",
                &robot1.iface,
                "--endpoint",
                &endpoint,
                "--yes",
            ],
        )?;
        let forwarding = |host: &Host| -> Result<String> {
            let switch = match family {
                Family::V4 => "net.ipv4.ip_forward",
                Family::V6 => "net.ipv6.conf.all.forwarding",
            };
            Ok(host.ok(&["sysctl", "-n", switch])?.stdout.trim().to_owned())
        };
        ensure!(forwarding(&robot1.host)? == "0", "robot1 forwards already");

        let phone = world.public_host("phone")?;
        let iface = world.iface("p");
        let config_path = mesh.server.path(&format!("{iface}.conf"));
        let config_arg = config_path.to_string_lossy().into_owned();
        // robot1's daemon reports that it can be a hub, and its endpoint, on its next sync.
        wait_until("robot1 can be the phone's hub", SETTLE, || {
            let ran = mesh.server.server(&[
                "add-device",
                &mesh.net,
                "--name",
                "phone",
                "--cidr",
                "phones",
                "--auto-ip",
                "--psk",
                "--hub",
                "robot1",
                "--full-tunnel",
                "--save-config",
                &config_arg,
                "--yes",
            ])?;
            Ok(ran.success)
        })?;
        let config = std::fs::read_to_string(&config_path)?;
        ensure!(
            config.contains(&format!("Endpoint = {endpoint}"))
                && config.contains("AllowedIPs = 0.0.0.0/0, ::/0"),
            "the configuration does not send everything to robot1:\n{config}"
        );
        // Beyond robot1: a host that knows nothing of the mesh.
        let far = world.lan_host(
            "far",
            &robot1.host,
            "wan1",
            "203.0.113.1/24".parse()?,
            "203.0.113.5/24".parse()?,
        )?;
        let _far_ports = far.spawn("who", Host::self_argv(&["ports", "who:80"])?, false)?;
        let far_ip: IpAddr = "203.0.113.5".parse()?;
        let phone_ip = address_of(&config)?;
        let _phone_ports = phone_up(&phone, &config_arg)?;
        reached_as_itself(&phone, phone_ip, robot2.ip, "robot2 (through robot1)")?;
        ensure!(
            phone.ping(robot1.ip)?,
            "the phone does not reach its hub itself"
        );
        wait_until(
            "the phone reaches the far host through robot1",
            SETTLE,
            || Ok(who(&phone, far_ip, 80)?.is_some()),
        )?;
        let seen = who(&phone, far_ip, 80)?;
        ensure!(
            seen.as_deref() == Some("203.0.113.1"),
            "the far host should see robot1's address (the exit node masquerades), it saw {seen:?}"
        );
        wait_until("robot2 reaches the phone", SETTLE, || {
            robot2.host.reaches("tcp", phone_ip, 81)
        })?;
        ensure!(
            !phone.reaches("tcp", admin.ip, 80)? && !admin.host.reaches("tcp", phone_ip, 80)?,
            "the phone and admin reach each other, but humans do not see phones"
        );
        ensure!(
            forwarding(&robot1.host)? == "1",
            "robot1 hosts a device without forwarding"
        );
        // The hub names its device; robot2 lists the device's address under its hub.
        let hub_view = super::routes::client(&robot1, &["show", &robot1.iface])?;
        ensure!(
            hub_view.contains("phone"),
            "robot1's show does not name its device:\n{hub_view}"
        );
        let tree = super::routes::client(&robot2, &["list", "--tree", &robot2.iface])?;
        ensure!(
            tree.contains(&phone_ip.to_string()) && tree.contains("device"),
            "robot2's tree does not show the device under its hub:\n{tree}"
        );
        let table = format!("wiremesh_{}", robot1.iface);
        let rules = robot1
            .host
            .ok(&["nft", "list", "table", "inet", &table])?
            .stdout;
        ensure!(
            rules.contains("jump hub"),
            "robot1's table does not judge the device's traffic:\n{rules}"
        );

        server(&[
            "add-rule", &mesh.net, "--from", "robots", "--to", "phones", "--proto", "tcp",
            "--ports", "80", "--yes",
        ])?;
        wait_until(
            "robot2 no longer reaches the phone's port 81",
            SETTLE,
            || Ok(!robot2.host.reaches("tcp", phone_ip, 81)?),
        )?;
        ensure!(
            robot2.host.reaches("tcp", phone_ip, 80)?,
            "the allowed port closed too"
        );

        let disabled = std::time::Instant::now();
        server(&["disable-peer", &mesh.net, "--name", "phone", "--yes"])?;
        wait_until("the disabled phone is cut off", SETTLE, || {
            Ok(!phone.reaches("tcp", robot2.ip, 8080)?)
        })?;
        println!(
            "the disabled phone was cut off {:.1} s after disable-peer",
            disabled.elapsed().as_secs_f64()
        );
        wait_until(
            "robot1 stops forwarding with no device left",
            SETTLE,
            || Ok(forwarding(&robot1.host)? == "0"),
        )?;
        phone.ok(&["wg-quick", "down", &config_arg])?;
        Ok(())
    })
}
