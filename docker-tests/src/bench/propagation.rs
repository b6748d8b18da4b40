//! Sections 2 and 3: ten real client daemons, each in its own namespace, and how long three
//! admin changes take to reach their interfaces; then the cost of a quiet minute.
//!
//! Layout: `humans` (human1, the admin, to human5) and `robots` (robot1 to robot5), not yet
//! associated. The changes, each timed from the moment its command starts until every
//! affected daemon has applied it (read from the interfaces' UAPI sockets every 20 ms):
//! 1. the admin associates humans with robots (all ten must add the other side's five);
//! 2. the admin disables robot1 (the nine others must drop it);
//! 3. a new peer, human6, runs `install` on an eleventh host (all nine enabled peers must add
//!    its redeemed key; the time includes the install's own work up to the redeem).
//!
//! Against wiremesh-server, between 1 and 2: the admin adds a port rule (humans may open
//! tcp/22 on robots), timed until every daemon's nftables table holds it (`nft list table`
//! every 20 ms per host: the robots' allow line, the humans' restriction of robots). Then
//! robot1 offers a route (192.168.90.0/24), the admin approves it and the five humans accept
//! routes; change 2 is also timed until the route is gone from every human's main table
//! (`ip route show` every 20 ms per host): how long a disabled gateway's routes outlive it.
//!
//! The same is run against wiremesh-server (daemons at the default interval; changes are
//! pushed) and against innernet-server 2.0.0 with innernet's own daemons at their default
//! interval and at `--interval 10`. The idle minute counts the server's CPU time and, with
//! nftables counters on the server, the API bytes (TCP inside the tunnel) and all WireGuard
//! bytes (UDP on its port).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::{Backend, InterfaceName};

use super::probe::{cpu_time, p50_max};
use crate::harness::{wait_until, Daemon, Host, Settings, World};
use crate::scenarios::interop::{innernet, innernet_install_with_interval};
use crate::scenarios::mesh::{install_with_interval, Peer};

/// Which server and clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Wiremesh,
    Innernet,
}

impl Side {
    fn server_program(self) -> &'static str {
        match self {
            Side::Wiremesh => "wiremesh-server",
            Side::Innernet => "innernet-server",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Side::Wiremesh => "wiremesh",
            Side::Innernet => "innernet",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeFigures {
    pub change: &'static str,
    pub affected: usize,
    pub p50_s: f64,
    pub max_s: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct IdleFigures {
    pub seconds: f64,
    /// Server CPU as a share of one core.
    pub server_cpu_percent: f64,
    /// API traffic (TCP to and from the API port inside the tunnel, headers included).
    pub api_bytes_per_minute: f64,
    /// Everything on the server's WireGuard port (UDP: handshakes, keepalives, tunnelled data).
    pub wireguard_bytes_per_minute: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PropagationFigures {
    pub server: &'static str,
    pub daemon_interval_s: u64,
    pub daemons: usize,
    pub changes: Vec<ChangeFigures>,
    pub idle: IdleFigures,
}

const PORT: &str = "51820";
const ROOT: &str = "10.70.0.0/16";
/// Time a change may take before the run fails (innernet at its default interval needs up to
/// a minute, plus the time its daemons spend on a fetch).
const CHANGE_TIMEOUT: Duration = Duration::from_secs(150);

/// Public keys on `iface`, read through its UAPI socket.
fn keys(backend: &UserspaceBackend, iface: &str) -> Result<BTreeSet<String>> {
    let name: InterfaceName = iface.parse().map_err(|e| anyhow!("{e}"))?;
    Ok(backend
        .get(&name)?
        .peers
        .iter()
        .map(|p| p.config.public_key.to_base64())
        .collect())
}

/// Seconds from `start` until `done` holds for each peer (read every 20 ms).
fn time_until(
    what: &str,
    peers: &[&Peer],
    start: Instant,
    done: impl Fn(&Peer, &BTreeSet<String>) -> bool,
) -> Result<Vec<f64>> {
    let backend = UserspaceBackend::new();
    let mut times: Vec<Option<f64>> = vec![None; peers.len()];
    while times.iter().any(Option::is_none) {
        if start.elapsed() > CHANGE_TIMEOUT {
            let late: Vec<&str> = peers
                .iter()
                .zip(&times)
                .filter(|(_, t)| t.is_none())
                .map(|(p, _)| p.host.name.as_str())
                .collect();
            bail!("{what}: not applied after {CHANGE_TIMEOUT:?} on {late:?}");
        }
        for (peer, time) in peers.iter().zip(times.iter_mut()) {
            if time.is_none() {
                if let Ok(keys) = keys(&backend, &peer.iface) {
                    if done(peer, &keys) {
                        *time = Some(start.elapsed().as_secs_f64());
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(times.into_iter().flatten().collect())
}

/// Seconds from `start` until `done` holds for each peer's route to `net` (`ip route show
/// NET` read every 20 ms by one thread per peer; `done` gets whether there is one through
/// the peer's mesh interface).
fn time_until_route(
    what: &str,
    peers: &[&Peer],
    start: Instant,
    net: &str,
    done: impl Fn(bool) -> bool + Sync,
) -> Result<Vec<f64>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = peers
            .iter()
            .map(|peer| {
                let done = &done;
                scope.spawn(move || -> Result<f64> {
                    loop {
                        let listed = peer.host.run(&["ip", "-4", "route", "show", net])?;
                        let routed = listed.stdout.contains(&format!("dev {}", peer.iface));
                        if listed.success && done(routed) {
                            return Ok(start.elapsed().as_secs_f64());
                        }
                        if start.elapsed() > CHANGE_TIMEOUT {
                            bail!("{what}: not on {} after {CHANGE_TIMEOUT:?}", peer.host.name);
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("route watcher panicked")))
            .collect()
    })
}

/// Seconds from `start` until `done` holds for each peer's firewall table (its `nft list
/// table` text, read every 20 ms by one thread per peer).
fn time_until_table(
    what: &str,
    peers: &[&Peer],
    start: Instant,
    done: impl Fn(&Peer, &str) -> bool + Sync,
) -> Result<Vec<f64>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = peers
            .iter()
            .map(|peer| {
                let done = &done;
                scope.spawn(move || -> Result<f64> {
                    let table = format!("wiremesh_{}", peer.iface);
                    loop {
                        let listed = peer.host.run(&["nft", "list", "table", "inet", &table])?;
                        if listed.success && done(peer, &listed.stdout) {
                            let seconds = start.elapsed().as_secs_f64();
                            eprintln!("  {what}: {} after {seconds:.2} s", peer.host.name);
                            return Ok(seconds);
                        }
                        if start.elapsed() > CHANGE_TIMEOUT {
                            bail!(
                                "{what}: not in {}'s table after {CHANGE_TIMEOUT:?}",
                                peer.host.name
                            );
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("table watcher panicked")))
            .collect()
    })
}

fn figures(change: &'static str, times: &[f64]) -> ChangeFigures {
    let (p50, max) = p50_max(times);
    ChangeFigures {
        change,
        affected: times.len(),
        p50_s: p50,
        max_s: max,
    }
}

fn tool(host: &Host, program: &str, args: &[&str]) -> Result<()> {
    let argv = host.tool_argv(program, args);
    host.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?
        .ok()?;
    Ok(())
}

/// The admin client's command on the admin's host.
fn admin(side: Side, peer: &Peer, args: &[&str]) -> Result<()> {
    match side {
        Side::Wiremesh => {
            let mut full = vec!["--backend", "userspace"];
            full.extend_from_slice(args);
            peer.host.client(&full)?.ok()?;
        }
        Side::Innernet => {
            innernet(&peer.host, args)?.ok()?;
        }
    }
    Ok(())
}

fn install(
    side: Side,
    host: &Host,
    invitation: &std::path::Path,
    iface: &str,
    interval: &str,
) -> Result<Peer> {
    match side {
        Side::Wiremesh => install_with_interval(host, invitation, iface, interval),
        Side::Innernet => innernet_install_with_interval(host, invitation, iface, interval),
    }
}

/// nftables counters on the server: API (TCP) and WireGuard (UDP) bytes in both directions.
fn start_counters(server: &Host) -> Result<()> {
    let rules = format!(
        "table inet wmbench {{\n\
           chain input {{ type filter hook input priority -5; policy accept; tcp dport {PORT} counter; udp dport {PORT} counter; }}\n\
           chain output {{ type filter hook output priority -5; policy accept; tcp sport {PORT} counter; udp sport {PORT} counter; }}\n\
         }}\n"
    );
    let file = server.path("wmbench.nft");
    std::fs::write(&file, rules)?;
    server.ok(&["nft", "-f", &file.to_string_lossy()])?;
    Ok(())
}

/// (TCP bytes, UDP bytes) counted so far.
fn read_counters(server: &Host) -> Result<(u64, u64)> {
    let json = server
        .ok(&["nft", "-j", "list", "table", "inet", "wmbench"])?
        .stdout;
    let value: serde_json::Value = serde_json::from_str(&json)?;
    let (mut tcp, mut udp) = (0, 0);
    for item in value["nftables"].as_array().context("odd nft output")? {
        let Some(exprs) = item["rule"]["expr"].as_array() else {
            continue;
        };
        let protocol = exprs
            .iter()
            .find_map(|e| e["match"]["left"]["payload"]["protocol"].as_str())
            .unwrap_or("");
        let bytes = exprs
            .iter()
            .find_map(|e| e["counter"]["bytes"].as_u64())
            .unwrap_or(0);
        match protocol {
            "tcp" => tcp += bytes,
            "udp" => udp += bytes,
            _ => {}
        }
    }
    Ok((tcp, udp))
}

/// One run: a fresh world, eleven client hosts, three changes, a quiet minute.
pub fn run(
    settings: &Settings,
    side: Side,
    interval: u64,
    idle: Duration,
) -> Result<PropagationFigures> {
    let mut world = World::new(settings, &format!("bench-{}-{interval}", side.label()))?;
    let result = run_in(&mut world, side, interval, idle);
    if result.is_err() {
        eprintln!("{}", world.report());
    }
    result
}

fn run_in(
    world: &mut World,
    side: Side,
    interval: u64,
    idle: Duration,
) -> Result<PropagationFigures> {
    let interval_arg = interval.to_string();
    let server = world.public_host("server")?;
    let net = world.iface("s");
    let program = side.server_program();
    let endpoint = format!("{}:{PORT}", server.address.context("server address")?);
    tool(
        &server,
        program,
        &[
            "new",
            "--network-name",
            &net,
            "--network-cidr",
            ROOT,
            "--external-endpoint",
            &endpoint,
            "--listen-port",
            PORT,
        ],
    )?;
    for (name, cidr) in [("humans", "10.70.1.0/24"), ("robots", "10.70.2.0/24")] {
        tool(
            &server,
            program,
            &[
                "add-cidr", &net, "--name", name, "--cidr", cidr, "--parent", &net, "--yes",
            ],
        )?;
    }
    let invite = |name: &str, cidr: &str, is_admin: bool| -> Result<std::path::PathBuf> {
        let path = server.path(&format!("{name}.toml"));
        tool(
            &server,
            program,
            &[
                "add-peer",
                &net,
                "--name",
                name,
                "--cidr",
                cidr,
                "--admin",
                if is_admin { "true" } else { "false" },
                "--auto-ip",
                "--save-config",
                &path.to_string_lossy(),
                "--invite-expires",
                "1d",
                "--yes",
            ],
        )?;
        Ok(path)
    };
    let names: Vec<String> = (1..=5)
        .map(|i| format!("human{i}"))
        .chain((1..=5).map(|i| format!("robot{i}")))
        .collect();
    let mut jobs = Vec::new();
    for name in &names {
        let cidr = if name.starts_with("human") {
            "humans"
        } else {
            "robots"
        };
        let invitation = invite(name, cidr, name == "human1")?;
        let host = world.public_host(name)?;
        let iface = world.iface(&name[name.len() - 2..]);
        jobs.push((host, invitation, iface));
    }
    // Every invitation exists before the server starts: innernet-server's CLI cannot put a
    // new peer on a running userspace interface, and wiremesh-server's would take up to
    // 250 ms to notice it.
    let invitation = invite("human6", "humans", false)?;
    let argv = server.tool_argv(program, &crate::serve_args(&net, program));
    let serve: Daemon = server.spawn("serve", argv, false)?;
    wait_until(
        "the server interface is up",
        Duration::from_secs(30),
        || Ok(server.run(&["wg", "show", &net])?.success),
    )?;
    let pid = serve.pid().context("serve pid")?;

    // Installs five at a time.
    let mut peers: Vec<Peer> = Vec::new();
    for chunk in jobs.chunks(5) {
        let installed: Vec<Result<Peer>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(host, invitation, iface)| {
                    let interval = interval_arg.as_str();
                    scope.spawn(move || install(side, host, invitation, iface, interval))
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
        for peer in installed {
            peers.push(peer?);
        }
    }
    let mut own_keys = Vec::new();
    for peer in &peers {
        own_keys.push(peer.public_key()?);
    }
    let (humans, robots) = (0..5, 5..10);
    let all: Vec<&Peer> = peers.iter().collect();
    // Everyone sees its own CIDR first (the daemons' first cycles).
    let key_of =
        |p: &Peer| own_keys[peers.iter().position(|q| q.iface == p.iface).unwrap()].clone();
    let same_cidr = |p: &Peer, keys: &BTreeSet<String>| {
        let i = peers.iter().position(|q| q.iface == p.iface).unwrap();
        let group = if humans.contains(&i) {
            humans.clone()
        } else {
            robots.clone()
        };
        group
            .filter(|&j| j != i)
            .all(|j| keys.contains(&own_keys[j]))
    };
    time_until("initial sync", &all, Instant::now(), same_cidr)?;
    // The daemons' first cycles (NAT traversal of the peers just added) settle.
    std::thread::sleep(Duration::from_secs(8));
    let admin_peer = &peers[0];

    let start = Instant::now();
    admin(
        side,
        admin_peer,
        &[
            "add-association",
            &admin_peer.iface,
            "humans",
            "robots",
            "--yes",
        ],
    )?;
    let associated = time_until("add-association", &all, start, |p, keys| {
        let i = peers.iter().position(|q| q.iface == p.iface).unwrap();
        let other = if humans.contains(&i) {
            robots.clone()
        } else {
            humans.clone()
        };
        other.into_iter().all(|j| keys.contains(&own_keys[j]))
    })?;

    // wiremesh only: a port rule, until every daemon's firewall table holds it (the robots
    // accept tcp/22 from humans; the humans restrict what robots may open).
    let ruled = if side == Side::Wiremesh {
        let start = Instant::now();
        admin(
            side,
            admin_peer,
            &[
                "add-rule",
                &admin_peer.iface,
                "--from",
                "humans",
                "--to",
                "robots",
                "--proto",
                "tcp",
                "--ports",
                "22",
                "--yes",
            ],
        )?;
        Some(time_until_table("add-rule", &all, start, |p, table| {
            let i = peers.iter().position(|q| q.iface == p.iface).unwrap();
            if humans.contains(&i) {
                table.contains("10.70.2.0/24")
            } else {
                table.contains("tcp dport 22 accept")
            }
        })?)
    } else {
        None
    };

    // wiremesh only: robot1 becomes a gateway the humans use.
    const ROUTE: &str = "192.168.90.0/24";
    let human_peers: Vec<&Peer> = peers[humans.clone()].iter().collect();
    if side == Side::Wiremesh {
        let robot = &peers[5];
        admin(
            side,
            robot,
            &["advertise-routes", &robot.iface, "--routes", ROUTE],
        )?;
        admin(
            side,
            admin_peer,
            &["approve-routes", &admin_peer.iface, "--peer", "robot1"],
        )?;
        for human in &human_peers {
            admin(side, human, &["accept-routes", &human.iface])?;
        }
        time_until_route("route granted", &human_peers, Instant::now(), ROUTE, |r| r)?;
    }

    let robot1 = key_of(&peers[5]);
    let others: Vec<&Peer> = peers.iter().filter(|p| p.iface != peers[5].iface).collect();
    let start = Instant::now();
    admin(
        side,
        admin_peer,
        &[
            "disable-peer",
            &admin_peer.iface,
            "--name",
            "robot1",
            "--yes",
        ],
    )?;
    let (disabled, unrouted) = std::thread::scope(|scope| -> Result<_> {
        let routes = (side == Side::Wiremesh).then(|| {
            scope.spawn(|| time_until_route("route removed", &human_peers, start, ROUTE, |r| !r))
        });
        let disabled = time_until("disable-peer", &others, start, |_, keys| {
            !keys.contains(&robot1)
        })?;
        let unrouted = match routes {
            Some(handle) => Some(
                handle
                    .join()
                    .map_err(|_| anyhow!("route watcher panicked"))??,
            ),
            None => None,
        };
        Ok((disabled, unrouted))
    })?;

    let newcomer = world.public_host("human6")?;
    let newcomer_iface = world.iface("n6");
    let backend = UserspaceBackend::new();
    let before: Vec<BTreeSet<String>> = others
        .iter()
        .map(|p| keys(&backend, &p.iface))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    let redeemed = std::thread::scope(|scope| -> Result<Vec<f64>> {
        let installing =
            scope.spawn(|| install(side, &newcomer, &invitation, &newcomer_iface, &interval_arg));
        let times = time_until("a new peer", &others, start, |p, keys| {
            let i = others.iter().position(|q| q.iface == p.iface).unwrap();
            keys.iter().any(|k| !before[i].contains(k))
        });
        installing
            .join()
            .map_err(|_| anyhow!("install thread panicked"))??;
        times
    })?;

    // A quiet minute, once the newcomer's first cycles are over.
    std::thread::sleep(Duration::from_secs(15));
    start_counters(&server)?;
    let (cpu_before, (tcp_before, udp_before)) = (cpu_time(pid)?, read_counters(&server)?);
    let started = Instant::now();
    std::thread::sleep(idle);
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_after, (tcp_after, udp_after)) = (cpu_time(pid)?, read_counters(&server)?);
    let per_minute = |bytes: u64| bytes as f64 * 60.0 / seconds;
    Ok(PropagationFigures {
        server: side.label(),
        daemon_interval_s: interval,
        daemons: peers.len() + 1,
        changes: [
            Some(figures("add-association", &associated)),
            ruled.map(|times| figures("add-rule (firewall tables)", &times)),
            Some(figures("disable-peer", &disabled)),
            unrouted.map(|times| figures("disable-peer: gateway's route removed", &times)),
            Some(figures("new peer redeemed", &redeemed)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        idle: IdleFigures {
            seconds,
            server_cpu_percent: (cpu_after - cpu_before).as_secs_f64() * 100.0 / seconds,
            api_bytes_per_minute: per_minute(tcp_after - tcp_before),
            wireguard_bytes_per_minute: per_minute(udp_after - udp_before),
        },
    })
}
