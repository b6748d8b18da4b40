//! `wiremesh-bench`: the scale benchmark of wiremesh against innernet 2.0.0 (issue 6). Run it
//! through `scripts/bench.sh`, which builds everything in release mode first; it needs root,
//! `wireguard-go`, `wg`, `ip`, `nft`, and `innernet`/`innernet-server` 2.0.0 on `PATH`.
//!
//! Usage: `wiremesh-bench [--sizes 100,1000,10000,50000|none] [--idle-secs 60] [--json PATH]
//! [--skip-apply]
//! [--skip-propagation] [--skip-innernet-default] [--skip-innernet-propagation] [--keep-logs]`
//! (`WIREMESH_E2E_LOG=debug` makes the daemons log more). Prints a table per section and writes
//! every figure as JSON (default `bench-results.json`). Targets are reported, never
//! asserted. Internal subcommands run inside namespaces: `http-get`, `apply`, `fleet-agent`.
//!
//! Fleet mode (issue 14): `wiremesh-bench fleet [--sizes 1000,5000,10000] [--quiet-secs 60]
//! [--json fleet-results.json] [--skip-innernet] [--keep-logs]` runs N simulated daemons in
//! one process, each with its own key and tunnel address, doing real WireGuard handshakes
//! (boringtun's `noise::Tunn`, one TUN for all addresses) and real HTTP over the kernel's TCP
//! against `wiremesh-server serve` with its systemd descriptor limit; it reports admin writes,
//! a restart storm, propagation of three changes, a quiet minute, and innernet-server's cost
//! for the same N (see `fleet/mod.rs`).
//!
//! Policy mode (issue 16): `wiremesh-bench policy [--peers 10000] [--rules 1000] [--json
//! policy-results.json]` measures, in process, compiling rulesets, planning a rule change and
//! the size of a host's nftables table (see `policy.rs`).
//!
//! Sections: (1) server CPU and bytes per full-state request, wiremesh-server vs
//! innernet-server on the same network through a real userspace WireGuard tunnel;
//! (2) change propagation to ten daemons; (3) idle cost; (4) client apply of 10,000 peers
//! and the kernel netlink messages for it; (5) server resident memory.

/// The e2e binary's harness and scenarios, compiled from their files: an inline module whose
/// `#[path]` is `src/` finds `harness.rs` and `scenarios.rs` there and their sub-modules in
/// `harness/` and `scenarios/`, as `src/main.rs` does (a `#[path]` naming `harness.rs` itself
/// would look for its sub-modules beside it).
#[path = ".."]
mod e2e {
    #[allow(dead_code)]
    pub mod harness;
    #[allow(dead_code)]
    pub mod scenarios;
}

mod apply;
mod fleet;
mod network;
mod policy;
mod probe;
mod propagation;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use ipnet::Ipv4Net;

use e2e::{harness, scenarios};
use harness::{Settings, World};
use propagation::Side;

/// `serve NET` for `program` (innernet-server or wiremesh-server) as the benchmark runs it:
/// userspace WireGuard, no hosts file, and for wiremesh-server no automation API socket
/// (nothing in this machine's /run).
fn serve_args<'a>(net: &'a str, program: &str) -> Vec<&'a str> {
    let mut args = vec!["serve", net, "--backend", "userspace", "--no-write-hosts"];
    if program == "wiremesh-server" {
        args.push("--no-api-socket");
    }
    args
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

struct Options {
    sizes: Vec<usize>,
    idle: Duration,
    json: PathBuf,
    propagation: bool,
    apply: bool,
    innernet_default: bool,
    innernet_propagation: bool,
    /// Keep the work directory (every daemon's log) instead of removing it.
    keep_logs: bool,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        sizes: vec![100, 1000, 10_000, 50_000],
        idle: Duration::from_secs(60),
        json: PathBuf::from("bench-results.json"),
        propagation: true,
        apply: true,
        innernet_default: true,
        innernet_propagation: true,
        keep_logs: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => {
                let value = value()?;
                options.sizes = if value == "none" {
                    Vec::new()
                } else {
                    value
                        .split(',')
                        .map(|s| s.trim().parse::<usize>())
                        .collect::<Result<_, _>>()?
                }
            }
            "--skip-apply" => options.apply = false,
            "--idle-secs" => options.idle = Duration::from_secs(value()?.parse()?),
            "--json" => options.json = value()?.into(),
            "--skip-propagation" => options.propagation = false,
            "--skip-innernet-default" => options.innernet_default = false,
            "--skip-innernet-propagation" => options.innernet_propagation = false,
            "--keep-logs" => options.keep_logs = true,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("http-get") => return probe::http_get_command(&args[1..]),
        Some("http-put") => return probe::http_put_command(&args[1..]),
        Some("apply") => return apply::apply_command(&args[1..]),
        Some("fleet-agent") => return fleet::agent::agent_command(&args[1..]),
        Some("policy") => return policy::policy_command(&args[1..]),
        _ => {}
    }
    let fleet_mode = args.first().map(String::as_str) == Some("fleet");
    let options = if fleet_mode {
        options(&[])?
    } else {
        options(&args)?
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the benchmark needs root (it creates network namespaces)");
    }
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("executable has no directory")?
        .to_path_buf();
    let userspace =
        std::env::var("WG_USERSPACE_IMPLEMENTATION").unwrap_or_else(|_| "wireguard-go".into());
    let work_dir = std::env::temp_dir().join(format!("wiremesh-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let settings = Settings {
        bin_dir,
        userspace,
        work_dir: work_dir.clone(),
        keep: false,
    };
    harness::install_interrupt_cleanup();
    let innernet_version = std::process::Command::new("innernet-server")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if !innernet_version.contains("2.0.0") {
        bail!("innernet-server 2.0.0 is needed on PATH (found {innernet_version:?}): cargo install innernet innernet-server --version 2.0.0 --locked");
    }
    if fleet_mode {
        let result = fleet::fleet_command(&args[1..], &settings);
        if result.is_ok() && !args.iter().any(|a| a == "--keep-logs") {
            let _ = std::fs::remove_dir_all(&work_dir);
        }
        return result;
    }

    let mut report = serde_json::Map::new();

    // Sections 1 and 5.
    println!("== 1/5. Full-state request of a peer that sees the whole network ({} CIDRs, associations); server memory", network::CIDRS);
    println!("   CPU per request: cold = first request after a change; warm = asked again at the same revision");
    println!(
        "{:>7}  {:<9} {:>11} {:>11} {:>10} {:>11} {:>12} {:>9} {:>10} {:>9}",
        "peers",
        "server",
        "CPU cold",
        "CPU warm",
        "latency",
        "response",
        "tunnel bytes",
        "RSS",
        "peak RSS",
        "idle CPU"
    );
    let mut full_state = Vec::new();
    for &peers in &options.sizes {
        let world = World::new(&settings, &format!("full-{peers}"))?;
        let mut world = world;
        let server = world.public_host("server")?;
        let viewer = world.public_host("viewer")?;
        let requests = network::requests_for(peers);
        let mut pair = Vec::new();
        for (kind, root) in [
            (network::WIREMESH, "10.80.0.0/12"),
            (network::INNERNET, "10.96.0.0/12"),
        ] {
            let root: Ipv4Net = root.parse()?;
            let figures = network::measure(&world, &server, &viewer, kind, root, peers)
                .with_context(|| format!("{} with {peers} peers", kind.label));
            let figures = match figures {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("{}", world.report());
                    return Err(e);
                }
            };
            println!(
                "{:>7}  {:<9} {:>8.2} ms {:>8.2} ms {:>7.1} ms {:>8.0} kB {:>9.0} kB {:>5.1} MiB {:>6.1} MiB {:>8.2}%",
                peers,
                figures.server,
                figures.cpu_ms_cold,
                figures.cpu_ms_warm,
                figures.latency_ms,
                figures.response_bytes as f64 / 1000.0,
                figures.tunnel_bytes as f64 / 1000.0,
                figures.rss_mib,
                figures.peak_rss_mib,
                figures.idle_cpu_percent
            );
            pair.push(figures);
        }
        let cold = pair[1].cpu_ms_cold / pair[0].cpu_ms_cold.max(1e-9);
        let warm = pair[1].cpu_ms_warm / pair[0].cpu_ms_warm.max(1e-9);
        println!(
            "{:>7}  innernet/wiremesh server CPU per request: {cold:.1}x cold, {warm:.1}x warm",
            ""
        );
        full_state.push(serde_json::json!({
            "peers": peers,
            "requests": requests,
            "wiremesh": pair[0],
            "innernet": pair[1],
            "cpu_ratio_innernet_over_wiremesh_cold": cold,
            "cpu_ratio_innernet_over_wiremesh_warm": warm,
        }));
        drop(world);
    }
    report.insert("full_state".into(), full_state.into());

    // Section 4.
    if options.apply {
        println!(
            "\n== 4. Client apply of a 10,000-peer state into a userspace interface (wireguard-go)"
        );
        let apply = {
            let mut world = World::new(&settings, "apply")?;
            let host = world.public_host("client")?;
            let iface = world.iface("ap");
            let bench = settings.bin_dir.join("wiremesh-bench");
            let ran = host.run(&[&bench.to_string_lossy(), "apply", &iface, "10000"])?;
            anyhow::ensure!(ran.success, "apply: {}", ran.text());
            let figures: apply::ApplyFigures = serde_json::from_str(ran.stdout.trim())?;
            figures
        };
        println!(
            "diff {:.1} ms + UAPI set {:.1} ms = {:.1} ms (read back {:.1} ms); 1% changed: {:.1} ms; unchanged diff: {:.1} ms",
            apply.full_diff_ms,
            apply.full_uapi_set_ms,
            apply.full_diff_ms + apply.full_uapi_set_ms,
            apply.read_back_ms,
            apply.one_percent_diff_and_set_ms,
            apply.unchanged_diff_ms
        );
        println!(
            "baseline: `wg setconf` of the same peers into a fresh interface: {:.1} ms",
            apply.wg_setconf_ms
        );
        println!(
            "kernel backend, same update: {} netlink messages, {:.2} MB in total, largest {} B",
            apply.netlink_messages,
            apply.netlink_total_bytes as f64 / 1e6,
            apply.netlink_largest_bytes
        );
        report.insert("apply".into(), serde_json::to_value(&apply)?);
    }

    // Sections 2 and 3.
    if options.propagation {
        println!(
            "\n== 2/3. Change propagation to 10 daemons (+1 newcomer), and a quiet {} s",
            options.idle.as_secs()
        );
        let mut runs = vec![(Side::Wiremesh, 60)];
        if options.innernet_propagation {
            if options.innernet_default {
                runs.push((Side::Innernet, 60));
            }
            runs.push((Side::Innernet, 10));
        }
        let mut propagation = Vec::new();
        println!(
            "{:<9} {:>9}  {:<18} {:>8} {:>9} {:>9}",
            "server", "interval", "change", "affected", "p50", "max"
        );
        for (side, interval) in runs {
            let figures = propagation::run(&settings, side, interval, options.idle)?;
            for change in &figures.changes {
                println!(
                    "{:<9} {:>7} s  {:<18} {:>8} {:>7.2} s {:>7.2} s",
                    figures.server,
                    figures.daemon_interval_s,
                    change.change,
                    change.affected,
                    change.p50_s,
                    change.max_s
                );
            }
            println!(
                "{:<9} {:>7} s  idle: server CPU {:.3}% of a core, API {:.0} B/min, WireGuard {:.0} B/min ({} daemons)",
                figures.server,
                figures.daemon_interval_s,
                figures.idle.server_cpu_percent,
                figures.idle.api_bytes_per_minute,
                figures.idle.wireguard_bytes_per_minute,
                figures.daemons
            );
            propagation.push(serde_json::to_value(&figures)?);
        }
        report.insert("propagation".into(), propagation.into());
    }

    std::fs::write(&options.json, serde_json::to_string_pretty(&report)?)?;
    println!("\nwrote {}", options.json.display());
    if options.keep_logs {
        println!("logs kept in {}", work_dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    Ok(())
}
