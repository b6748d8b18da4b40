//! `wiremesh-bench fleet`: N simulated daemons in one process against the real
//! `wiremesh-server serve` (issue 14), and innernet-server 2.0.0 for the same N.
//!
//! Layout, per size and server: a `server` namespace with the server (its `wireguard-go`
//! interface) and a `fleet` namespace, both on the world's switch. The server's database is
//! created by its own `new` and given, through innernet's schema, an `admins` CIDR associated
//! with the root (holding the fleet's admin), eight CIDRs associated pairwise (the fleet's
//! peers, spread evenly, so every daemon sees everyone), and a `late` CIDR associated with
//! nothing (the hidden peer; associating it with the root is one of the changes). Everything
//! else goes through the API: the fleet process (`fleet-agent`, [`agent`]) runs in the fleet
//! namespace with one TUN for all its addresses ([`tunnel`]), creates the N peers through the
//! admin's tunnel, and runs the daemons ([`daemon`]) over the kernel's TCP.

pub mod agent;
mod daemon;
mod http;
mod report;
mod tunnel;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use ipnet::Ipv4Net;
use wireguard_control::PrivateKey;

use crate::harness::{Settings, World};
use agent::AgentConfig;
use report::SideFigures;

/// How many CIDRs hold the fleet's peers.
const PEER_CIDRS: u32 = 8;
const ROOT: &str = "10.80.0.0/12";

struct Options {
    sizes: Vec<usize>,
    quiet_secs: u64,
    json: PathBuf,
    innernet: bool,
    storms: bool,
    keep_logs: bool,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        sizes: vec![1000, 5000, 10_000],
        quiet_secs: 60,
        json: PathBuf::from("fleet-results.json"),
        innernet: true,
        storms: true,
        keep_logs: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => {
                options.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()?
            }
            "--quiet-secs" => options.quiet_secs = value()?.parse()?,
            "--json" => options.json = value()?.into(),
            "--skip-innernet" => options.innernet = false,
            "--skip-storms" => options.storms = false,
            "--keep-logs" => options.keep_logs = true,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

/// The /20 block `index` of the /12 root.
fn block(root: Ipv4Net, index: u32) -> Ipv4Net {
    let base = u32::from(root.network()) + (index << 12);
    Ipv4Net::new(Ipv4Addr::from(base), 20).expect("valid prefix")
}

/// What [`prepare`] put into a new database.
struct Prepared {
    root_id: i64,
    admin_ip: Ipv4Addr,
    peer_cidrs: Vec<(i64, Ipv4Net)>,
    late: (i64, Ipv4Net),
}

/// Adds the CIDRs, associations and the admin peer to a database made by `new`.
fn prepare(db: &Path, root: Ipv4Net, admin: &PrivateKey) -> Result<Prepared> {
    let mut conn =
        rusqlite::Connection::open(db).with_context(|| format!("open {}", db.display()))?;
    conn.pragma_update(None, "foreign_keys", 1)?;
    let tx = conn.transaction()?;
    let root_id: i64 = tx.query_row("SELECT id FROM cidrs WHERE parent IS NULL", [], |r| {
        r.get(0)
    })?;
    let add_cidr = |name: &str, net: Ipv4Net| -> Result<i64> {
        tx.execute(
            "INSERT INTO cidrs (name, ip, prefix, parent) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![name, net.network().to_string(), net.prefix_len(), root_id],
        )?;
        Ok(tx.last_insert_rowid())
    };
    let admins = add_cidr("admins", block(root, 1))?;
    let mut peer_cidrs = Vec::new();
    for i in 1..=PEER_CIDRS {
        let net = block(root, 1 + i);
        peer_cidrs.push((add_cidr(&format!("c{i}"), net)?, net));
    }
    let late_net = block(root, PEER_CIDRS + 2);
    let late = (add_cidr("late", late_net)?, late_net);
    let associate = |a: i64, b: i64| -> Result<()> {
        tx.execute(
            "INSERT INTO associations (cidr_id_1, cidr_id_2) VALUES (?1, ?2)",
            [a, b],
        )?;
        Ok(())
    };
    associate(admins, root_id)?;
    for (i, (a, _)) in peer_cidrs.iter().enumerate() {
        for (b, _) in &peer_cidrs[i + 1..] {
            associate(*a, *b)?;
        }
    }
    let admin_ip = Ipv4Addr::from(u32::from(block(root, 1).network()) + 1);
    tx.execute(
        "INSERT INTO peers (name, ip, cidr_id, public_key, endpoint, is_admin, is_disabled, \
         is_redeemed, invite_expires, candidates) VALUES ('admin', ?1, ?2, ?3, NULL, 1, 0, 1, NULL, NULL)",
        rusqlite::params![admin_ip.to_string(), admins, admin.public_key().to_base64()],
    )?;
    tx.commit()?;
    Ok(Prepared {
        root_id,
        admin_ip,
        peer_cidrs,
        late,
    })
}

/// The descriptor limit for the server and the fleet: the systemd unit's `LimitNOFILE=65536`,
/// or this machine's hard limit when that is lower (raising it needs CAP_SYS_RESOURCE).
fn nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 65536;
    }
    limit.rlim_max.min(65536)
}

/// One server at one size: a fresh world, the network, the fleet process; its figures.
fn run_side(
    settings: &Settings,
    program: &str,
    peers: usize,
    options: &Options,
) -> Result<SideFigures> {
    let label = if program == "wiremesh-server" {
        "wiremesh"
    } else {
        "innernet"
    };
    let mut world = World::new(settings, &format!("fleet-{label}-{peers}"))?;
    let result = run_side_in(&mut world, program, label, peers, options);
    if result.is_err() {
        eprintln!("{}", world.report());
    }
    result
}

fn run_side_in(
    world: &mut World,
    program: &str,
    label: &str,
    peers: usize,
    options: &Options,
) -> Result<SideFigures> {
    let server = world.public_host("server")?;
    let fleet = world.public_host("fleet")?;
    let net = world.iface(&label[..1]);
    let root: Ipv4Net = ROOT.parse()?;
    let port = 51820u16;
    let server_addr = server.address.context("server address")?;
    let endpoint = SocketAddr::new(server_addr, port);
    let argv = server.tool_argv(
        program,
        &[
            "new",
            "--network-name",
            &net,
            "--network-cidr",
            ROOT,
            "--external-endpoint",
            &endpoint.to_string(),
            "--listen-port",
            &port.to_string(),
        ],
    );
    server
        .run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?
        .ok()?;
    let admin = PrivateKey::generate();
    let db = server.data_dir(program).join(format!("{net}.db"));
    let prepared = prepare(&db, root, &admin)?;
    let config_text =
        std::fs::read_to_string(server.config_dir(program).join(format!("{net}.conf")))?;
    let server_config = wiremesh_shared::config::ServerConfig::from_toml_str(&config_text)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let server_ip = Ipv4Addr::from(u32::from(root.network()) + 1);
    let serve_argv = server.tool_argv(program, &crate::serve_args(&net, program));
    let config = AgentConfig {
        kind: label.to_owned(),
        peers,
        server_ns: server.id.clone(),
        serve_argv,
        serve_env: vec![
            (
                "WG_USERSPACE_IMPLEMENTATION".into(),
                world.shared.userspace.clone(),
            ),
            ("RUST_LOG".into(), "warn".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        serve_log: world.shared.dir.join(format!("server-serve-{label}.log")),
        server_key: server_config.private_key.public_key().to_base64(),
        endpoint,
        api: SocketAddr::new(IpAddr::V4(server_ip), port),
        admin_private: admin.to_base64(),
        admin_ip: prepared.admin_ip,
        peer_cidrs: prepared.peer_cidrs,
        late_cidr: prepared.late,
        root_id: prepared.root_id,
        quiet_secs: options.quiet_secs,
        storms: options.storms,
        nofile: nofile_limit(),
        results: fleet.path(&format!("results-{label}.json")),
    };
    let config_path = fleet.path(&format!("agent-{label}.json"));
    std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)?;
    let nofile = config.nofile;
    let bench = world.shared.bin_dir.join("wiremesh-bench");
    let argv = vec![
        "prlimit".to_owned(),
        format!("--nofile={nofile}:{nofile}"),
        bench.to_string_lossy().into_owned(),
        "fleet-agent".to_owned(),
        config_path.to_string_lossy().into_owned(),
    ];
    let agent = fleet.spawn(&format!("agent-{label}"), argv, false)?;
    eprintln!(
        "fleet: {label} with {peers} peers; progress in {}",
        agent.log.display()
    );
    while agent.running() {
        std::thread::sleep(Duration::from_millis(500));
    }
    let figures = std::fs::read_to_string(&config.results).with_context(|| {
        let log = agent.log_text();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        format!(
            "the fleet agent ended without results:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })?;
    Ok(serde_json::from_str(&figures)?)
}

/// `wiremesh-bench fleet [--sizes 1000,5000,10000] [--quiet-secs 60]
/// [--json fleet-results.json] [--skip-innernet] [--skip-storms] [--keep-logs]`.
/// `--skip-storms` leaves out the association change and the restart storm, the two that send
/// every daemon a full state (N × the state's size through userspace WireGuard).
pub fn fleet_command(args: &[String], settings: &Settings) -> Result<()> {
    let options = options(args)?;
    let mut results = Vec::new();
    for &peers in &options.sizes {
        let innernet = if options.innernet {
            Some(run_side(settings, "innernet-server", peers, &options)?)
        } else {
            None
        };
        let wiremesh = run_side(settings, "wiremesh-server", peers, &options)?;
        let targets = report::print(&wiremesh, innernet.as_ref());
        results.push(serde_json::json!({
            "peers": peers,
            "wiremesh": wiremesh,
            "innernet": innernet,
            "targets": targets,
        }));
        // Written after every size, so a later failure keeps the earlier figures.
        std::fs::write(&options.json, serde_json::to_string_pretty(&results)?)?;
    }
    println!("\nwrote {}", options.json.display());
    if options.keep_logs {
        println!("logs kept in {}", settings.work_dir.display());
    }
    Ok(())
}
