//! Two network namespaces joined by a veth pair, each with a userspace WireGuard interface
//! configured through this crate, and a ping through the tunnel from one to the other.
//!
//! Run as root: `cargo run -p wireguard-control --example two_namespaces`. It needs iproute2,
//! ping, `/dev/net/tun` and wireguard-go (or the program named by
//! `WG_USERSPACE_IMPLEMENTATION`).
//!
//! Without arguments the program creates the namespaces and the veth pair with `ip` (the only
//! thing it uses `ip` for), then runs itself inside each namespace as
//! `ip netns exec <ns> <itself> configure --name value ...`. That mode does all WireGuard and
//! interface plumbing with this crate's API: [`UserspaceBackend`] to launch and configure the
//! interface, [`link`] for addresses and link state. The private key reaches it on stdin,
//! never in argv. Everything is removed again at the end, also on error or panic.

use std::collections::HashMap;
use std::error::Error;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::{
    link, Backend, DeviceUpdate, InterfaceName, PeerUpdate, PrivateKey, PublicKey,
};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const LISTEN_PORT: u16 = 51820;
const KEEPALIVE_SECONDS: u16 = 25;
/// How long to wait for the first handshake before pinging anyway.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(15);

/// One end of the setup.
struct Side {
    ns: String,
    veth: String,
    wg: String,
    veth_addr: IpNet,
    tunnel_addr: IpNet,
    key: PrivateKey,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => orchestrate(),
        Some("configure") => configure(&args[1..]),
        Some(other) => Err(format!("unknown mode {other:?}; run without arguments").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("two_namespaces: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up both namespaces, configures each side and pings across the tunnel.
fn orchestrate() -> Result<()> {
    // Interface sockets are shared by all namespaces, so names carry a per-run tag.
    let tag = format!("{:05x}", std::process::id() & 0xf_ffff);
    let side = |letter: char, host: u8| -> Result<Side> {
        Ok(Side {
            ns: format!("wmex{letter}{tag}"),
            veth: format!("wmv{letter}{tag}"),
            wg: format!("wmw{letter}{tag}"),
            veth_addr: format!("10.233.0.{host}/24").parse()?,
            tunnel_addr: format!("10.234.0.{host}/24").parse()?,
            key: PrivateKey::generate(),
        })
    };
    let (a, b) = (side('a', 1)?, side('b', 2)?);
    let _cleanup = Cleanup {
        sides: [(a.ns.clone(), a.wg.clone()), (b.ns.clone(), b.wg.clone())],
    };

    run(&["ip", "netns", "add", &a.ns])?;
    run(&["ip", "netns", "add", &b.ns])?;
    #[rustfmt::skip]
    run(&["ip", "link", "add", &a.veth, "netns", &a.ns, "type", "veth", "peer", "name", &b.veth, "netns", &b.ns])?;
    // Both veth ends first, so that the first handshake finds the other side reachable.
    for (side, other) in [(&a, &b), (&b, &a)] {
        configure_side(side, other, Step::Veth)?;
    }
    for (side, other) in [(&a, &b), (&b, &a)] {
        configure_side(side, other, Step::WireGuard)?;
    }

    // Both sides start a handshake when their interface comes up (keepalive is on); when the
    // two cross, WireGuard settles it with a retry after 5 s. Wait for it before pinging.
    let backend = UserspaceBackend::new();
    let a_wg: InterfaceName = a.wg.parse()?;
    let started = Instant::now();
    while !handshake_done(&backend, &a_wg)? && started.elapsed() < HANDSHAKE_WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "waited {:.1} s for the first handshake",
        started.elapsed().as_secs_f64()
    );

    let target = b.tunnel_addr.addr().to_string();
    println!(
        "pinging {target} ({}) from {} ({}) through WireGuard",
        b.ns,
        a.ns,
        a.tunnel_addr.addr()
    );
    let ping = Command::new("ip")
        .args([
            "netns", "exec", &a.ns, "ping", "-c", "3", "-W", "2", &target,
        ])
        .output()?;
    print!("{}", String::from_utf8_lossy(&ping.stdout));
    eprint!("{}", String::from_utf8_lossy(&ping.stderr));

    // The socket directory is shared, so the devices can be read from here.
    for side in [&a, &b] {
        let device = backend.get(&side.wg.parse()?)?;
        for peer in &device.peers {
            let handshake = match peer.stats.last_handshake_time.map(|at| at.elapsed()) {
                Some(Ok(age)) => format!("last handshake {:.1} s ago", age.as_secs_f64()),
                Some(Err(_)) => "last handshake just now".to_owned(),
                None => "no handshake".to_owned(),
            };
            let (rx, tx) = (peer.stats.rx_bytes, peer.stats.tx_bytes);
            println!(
                "{}: peer {}: {handshake}, received {rx} B, sent {tx} B",
                side.wg, peer.config.public_key
            );
        }
    }
    if !ping.status.success() {
        return Err(format!("ping through the tunnel failed ({})", ping.status).into());
    }
    println!("the tunnel works");
    Ok(())
}

/// Whether the interface's (only) peer has completed a handshake.
fn handshake_done(backend: &UserspaceBackend, wg: &InterfaceName) -> Result<bool> {
    let device = backend.get(wg)?;
    Ok(device
        .peers
        .iter()
        .any(|peer| peer.stats.last_handshake_time.is_some()))
}

/// What one `configure` run does.
#[derive(Clone, Copy)]
enum Step {
    /// Address and link state of the veth end.
    Veth,
    /// The WireGuard interface: launch, key, port, peer, address, link up.
    WireGuard,
}

/// Runs `<itself> configure ...` inside `side`'s namespace, with the private key on stdin.
fn configure_side(side: &Side, other: &Side, step: Step) -> Result<()> {
    let exe = std::env::current_exe()?;
    let exe = exe
        .to_str()
        .ok_or("the path of this program is not UTF-8")?;
    let mut args: Vec<String> = ["netns", "exec", &side.ns, exe, "configure"]
        .map(String::from)
        .into();
    let mut option = |name: &str, value: String| args.extend([format!("--{name}"), value]);
    match step {
        Step::Veth => {
            option("veth", side.veth.clone());
            option("veth-addr", side.veth_addr.to_string());
        }
        Step::WireGuard => {
            option("wg", side.wg.clone());
            option("tunnel-addr", side.tunnel_addr.to_string());
            option("peer-key", other.key.public_key().to_base64());
            option(
                "peer-endpoint",
                SocketAddr::new(other.veth_addr.addr(), LISTEN_PORT).to_string(),
            );
            option(
                "peer-allowed-ip",
                IpNet::from(other.tunnel_addr.addr()).to_string(),
            );
        }
    }
    let mut child = Command::new("ip")
        .args(&args)
        .stdin(Stdio::piped())
        .spawn()?;
    if let (Some(mut stdin), Step::WireGuard) = (child.stdin.take(), step) {
        writeln!(stdin, "{}", side.key.to_base64())?;
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("configuring {} failed ({status})", side.ns).into());
    }
    match step {
        Step::Veth => println!("{}: {} has address {}", side.ns, side.veth, side.veth_addr),
        Step::WireGuard => println!(
            "{}: {} is up with address {}",
            side.ns, side.wg, side.tunnel_addr
        ),
    }
    Ok(())
}

/// Inside a namespace: either the veth address, or the WireGuard interface with its peer and
/// address, depending on the options given.
fn configure(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    let get = |name: &str| {
        options
            .get(name)
            .ok_or_else(|| format!("configure: --{name} is missing"))
    };
    if options.contains_key("veth") {
        let veth: InterfaceName = get("veth")?.parse()?;
        link::set_address(&veth, get("veth-addr")?.parse()?)?;
        link::set_up(&veth, 1500)?;
        return Ok(());
    }
    let wg: InterfaceName = get("wg")?.parse()?;
    let tunnel_addr: IpNet = get("tunnel-addr")?.parse()?;
    let peer_key = PublicKey::from_base64(get("peer-key")?)?;
    let peer_endpoint: SocketAddr = get("peer-endpoint")?.parse()?;
    let peer_allowed_ip: IpNet = get("peer-allowed-ip")?.parse()?;
    let mut key_text = String::new();
    std::io::stdin().take(1024).read_to_string(&mut key_text)?;
    let key = PrivateKey::from_base64(key_text.trim())?;

    let backend = UserspaceBackend::new();
    backend.create(&wg)?;
    let peer = PeerUpdate::new(peer_key)
        .set_endpoint(peer_endpoint)
        .replace_allowed_ips([peer_allowed_ip])
        .set_persistent_keepalive_interval(KEEPALIVE_SECONDS);
    let update = DeviceUpdate::new()
        .set_private_key(key)
        .set_listen_port(LISTEN_PORT)
        .replace_peers()
        .add_peer(peer);
    backend.apply(&wg, &update)?;
    link::set_address(&wg, tunnel_addr)?;
    link::set_up(&wg, 1420)?;
    Ok(())
}

/// `--name value` pairs.
fn parse_options(args: &[String]) -> Result<HashMap<String, String>> {
    let mut options = HashMap::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("configure: expected --name, got {flag:?}"))?;
        let value = rest
            .next()
            .ok_or_else(|| format!("configure: --{name} needs a value"))?;
        options.insert(name.to_owned(), value.clone());
    }
    Ok(options)
}

/// Runs a command, turning failure into an error with its output.
fn run(args: &[&str]) -> Result<()> {
    let output = Command::new(args[0]).args(&args[1..]).output()?;
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(())
}

/// Removes the interfaces, their processes and the namespaces (with the veth pair) on drop.
struct Cleanup {
    /// (namespace, WireGuard interface) per side.
    sides: [(String, String); 2],
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let backend = UserspaceBackend::new();
        for (ns, wg) in &self.sides {
            // Removing the socket makes the implementation exit by itself.
            if let Ok(wg) = wg.parse::<InterfaceName>() {
                let _ = backend.delete(&wg);
            }
            if let Ok(out) = Command::new("ip")
                .args(["netns", "pids", ns])
                .stderr(Stdio::null())
                .output()
            {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}
