//! Sections 1 and 5: the same synthetic network served by wiremesh-server and innernet-server
//! 2.0.0 side by side; server CPU and bytes per full-state request of a peer that sees
//! everything, and the servers' resident memory.
//!
//! Both databases are created by their server's own `new`, then filled through innernet's
//! schema (compat §4), which wiremesh's database shares: 50 CIDRs of /20 under a /12 root with
//! 25 associations between them, the peers spread evenly over them (each redeemed, with an
//! endpoint and two NAT candidates), and a `viewers` CIDR associated with the root, holding
//! the one peer that asks. The endpoints are in TEST-NET-2, which no namespace routes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context as _, Result};
use ipnet::Ipv4Net;
use wireguard_control::PrivateKey;

use super::probe::{cpu_time, memory_mib, HttpFigures};
use crate::harness::{wait_until, Host, World};

/// How long each server is watched doing nothing after the requests.
const IDLE: Duration = Duration::from_secs(30);

/// How many CIDRs hold the peers.
pub const CIDRS: u32 = 50;

/// One server's figures for one network size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerFigures {
    pub server: &'static str,
    pub peers: usize,
    /// Server CPU per full-state request asked again at the same revision, milliseconds.
    pub cpu_ms_warm: f64,
    /// Server CPU per full-state request right after a change (a new revision), milliseconds.
    pub cpu_ms_cold: f64,
    /// Wall time per request as the asking peer saw it, milliseconds.
    pub latency_ms: f64,
    pub response_bytes: usize,
    /// Bytes through the tunnel (WireGuard's count on the asking peer) per request.
    pub tunnel_bytes: u64,
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
    /// Server CPU while nobody asks anything, as a share of one core.
    pub idle_cpu_percent: f64,
}

/// The /20 block `index` of `root` (/12).
fn block(root: Ipv4Net, index: u32) -> Ipv4Net {
    let base = u32::from(root.network()) + (index << 12);
    Ipv4Net::new(Ipv4Addr::from(base), 20).expect("valid prefix")
}

/// Fills a freshly created network database; returns the viewer's address.
pub fn fill(db: &Path, root: Ipv4Net, peers: usize, viewer: &PrivateKey) -> Result<Ipv4Addr> {
    let mut conn =
        rusqlite::Connection::open(db).with_context(|| format!("open {}", db.display()))?;
    conn.pragma_update(None, "foreign_keys", 1)?;
    let tx = conn.transaction()?;
    // Block 0 holds the server's infra CIDR; the peers' CIDRs are blocks 1..=50, the
    // viewers' block 51.
    let mut cidr_ids = Vec::new();
    for i in 1..=CIDRS + 1 {
        let net = block(root, i);
        let name = if i == CIDRS + 1 {
            "viewers".to_owned()
        } else {
            format!("c{i}")
        };
        tx.execute(
            "INSERT INTO cidrs (name, ip, prefix, parent) VALUES (?1, ?2, 20, 1)",
            rusqlite::params![name, net.network().to_string()],
        )?;
        cidr_ids.push(tx.last_insert_rowid());
    }
    let viewers = *cidr_ids.last().expect("viewers");
    tx.execute(
        "INSERT INTO associations (cidr_id_1, cidr_id_2) VALUES (?1, 1)",
        [viewers],
    )?;
    for pair in cidr_ids[..CIDRS as usize].chunks(2) {
        tx.execute(
            "INSERT INTO associations (cidr_id_1, cidr_id_2) VALUES (?1, ?2)",
            [pair[0], pair[1]],
        )?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO peers (name, ip, cidr_id, public_key, endpoint, is_admin, is_disabled, \
         is_redeemed, invite_expires, candidates) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 1, NULL, ?6)",
    )?;
    for k in 0..peers {
        let c = k % CIDRS as usize;
        let host = 1 + (k / CIDRS as usize) as u32;
        let ip = Ipv4Addr::from(u32::from(block(root, c as u32 + 1).network()) + host);
        let key = PrivateKey::generate().public_key().to_base64();
        let endpoint = format!("198.51.100.{}:{}", 1 + k % 250, 40000 + k % 20000);
        let candidates = format!(
            "[\"192.168.{}.{}:51820\",\"198.51.100.{}:51820\"]",
            k % 250,
            1 + k % 253,
            1 + k % 250
        );
        insert.execute(rusqlite::params![
            format!("peer-{k}"),
            ip.to_string(),
            cidr_ids[c],
            key,
            endpoint,
            candidates
        ])?;
    }
    drop(insert);
    let viewer_ip = Ipv4Addr::from(u32::from(block(root, CIDRS + 1).network()) + 1);
    tx.execute(
        "INSERT INTO peers (name, ip, cidr_id, public_key, endpoint, is_admin, is_disabled, \
         is_redeemed, invite_expires, candidates) VALUES ('viewer', ?1, ?2, ?3, NULL, 1, 0, 1, NULL, NULL)",
        rusqlite::params![
            viewer_ip.to_string(),
            viewers,
            viewer.public_key().to_base64()
        ],
    )?;
    tx.commit()?;
    Ok(viewer_ip)
}

/// One of the two servers.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub program: &'static str,
    pub label: &'static str,
    pub port: u16,
}

pub const WIREMESH: Kind = Kind {
    program: "wiremesh-server",
    label: "wiremesh",
    port: 51820,
};
pub const INNERNET: Kind = Kind {
    program: "innernet-server",
    label: "innernet",
    port: 51821,
};

fn run_tool(host: &Host, program: &str, args: &[&str]) -> Result<()> {
    let argv = host.tool_argv(program, args);
    host.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?
        .ok()?;
    Ok(())
}

/// Creates, fills and serves a network of `peers` on `server`, brings up a plain WireGuard
/// interface for the viewer on `viewer`, measures, and stops the server again.
pub fn measure(
    world: &World,
    server: &Host,
    viewer: &Host,
    kind: Kind,
    root: Ipv4Net,
    peers: usize,
) -> Result<ServerFigures> {
    let requests = requests_for(peers);
    let net = world.iface(&kind.label[..1]);
    let server_addr = server.address.context("server address")?;
    let endpoint = format!("{server_addr}:{}", kind.port);
    let port = kind.port.to_string();
    run_tool(
        server,
        kind.program,
        &[
            "new",
            "--network-name",
            &net,
            "--network-cidr",
            &root.to_string(),
            "--external-endpoint",
            &endpoint,
            "--listen-port",
            &port,
        ],
    )?;
    let viewer_key = PrivateKey::generate();
    let db = server.data_dir(kind.program).join(format!("{net}.db"));
    let viewer_ip = fill(&db, root, peers, &viewer_key)?;
    let argv = server.tool_argv(kind.program, &crate::serve_args(&net, kind.program));
    let serve = server.spawn(&format!("serve-{net}"), argv, false)?;
    let pid = serve.pid().context("serve has no pid")?;

    // The viewer: a plain userspace interface with the server as its only peer.
    let server_config =
        std::fs::read_to_string(server.config_dir(kind.program).join(format!("{net}.conf")))?;
    let server_config = wiremesh_shared::config::ServerConfig::from_toml_str(&server_config)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let server_public = server_config.private_key.public_key().to_base64();
    let server_ip = Ipv4Addr::from(u32::from(root.network()) + 1);
    let vif = world.iface(&format!("v{}", &kind.label[..1]));
    let key_file = viewer.path(&format!("{vif}.key"));
    std::fs::write(&key_file, viewer_key.to_base64())?;
    let userspace = world.shared.userspace.clone();
    viewer.ok(&[&userspace, &vif])?;
    viewer.ok(&[
        "wg",
        "set",
        &vif,
        "private-key",
        &key_file.to_string_lossy(),
        "peer",
        &server_public,
        "endpoint",
        &endpoint,
        "allowed-ips",
        &root.to_string(),
        "persistent-keepalive",
        "25",
    ])?;
    viewer.ok(&[
        "ip",
        "addr",
        "add",
        &format!("{viewer_ip}/{}", root.prefix_len()),
        "dev",
        &vif,
    ])?;
    viewer.ok(&["ip", "link", "set", &vif, "up"])?;

    let api = SocketAddr::new(IpAddr::V4(server_ip), kind.port).to_string();
    let get = |count: usize| -> Result<HttpFigures> {
        let argv = [
            world
                .shared
                .bin_dir
                .join("wiremesh-bench")
                .to_string_lossy()
                .into_owned(),
            "http-get".into(),
            api.clone(),
            "/v1/user/state".into(),
            server_public.clone(),
            count.to_string(),
        ];
        let ran = viewer.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?;
        ensure!(ran.success, "{}", ran.text());
        Ok(serde_json::from_str(ran.stdout.trim())?)
    };
    wait_until(
        &format!("{} answers with {peers} peers", kind.label),
        Duration::from_secs(180),
        || Ok(get(1).is_ok()),
    )?;
    get(2)?; // warm up
    let transfer = || -> Result<u64> {
        let dump = viewer.ok(&["wg", "show", &vif, "transfer"])?.stdout;
        Ok(dump
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse::<u64>().ok())
            .sum())
    };
    let (cpu_before, bytes_before) = (cpu_time(pid)?, transfer()?);
    let figures = get(requests)?;
    let (cpu_after, bytes_after) = (cpu_time(pid)?, transfer()?);
    // Cold: before each request the viewer reports another NAT candidate, a change that
    // every state answer shows; only the GET is inside the CPU reading.
    let bench = world
        .shared
        .bin_dir
        .join("wiremesh-bench")
        .to_string_lossy()
        .into_owned();
    let rounds = requests.clamp(5, 100);
    let settle = Duration::from_millis(100 + peers as u64 / 50);
    let mut cold = Duration::ZERO;
    for round in 0..rounds {
        let body = format!("[\"192.168.{}.{}:51820\"]", round / 250, 1 + round % 250);
        let put = [
            bench.as_str(),
            "http-put",
            &api,
            "/v1/user/candidates",
            &server_public,
            &body,
        ];
        let ran = viewer.run(&put)?;
        ensure!(ran.success, "{}", ran.text());
        // Whatever the server does after the change (in the background) settles first.
        std::thread::sleep(settle);
        let before = cpu_time(pid)?;
        get(1)?;
        cold += cpu_time(pid)? - before;
    }
    let (rss, peak) = memory_mib(pid)?;
    std::thread::sleep(settle);
    let idle_from = cpu_time(pid)?;
    std::thread::sleep(IDLE);
    let idle_cpu_percent = (cpu_time(pid)? - idle_from).as_secs_f64() * 100.0 / IDLE.as_secs_f64();
    serve.stop();
    let _ = viewer.run(&["ip", "link", "del", &vif]);
    Ok(ServerFigures {
        server: kind.label,
        peers,
        cpu_ms_warm: (cpu_after - cpu_before).as_secs_f64() * 1000.0 / requests as f64,
        cpu_ms_cold: cold.as_secs_f64() * 1000.0 / rounds as f64,
        latency_ms: figures.mean_ms,
        response_bytes: figures.response_bytes,
        tunnel_bytes: (bytes_after - bytes_before) / requests as u64,
        rss_mib: rss,
        peak_rss_mib: peak,
        idle_cpu_percent,
    })
}

/// How many requests to average over for a network of `peers` (enough CPU time for the
/// 10 ms tick of `/proc/<pid>/stat`).
pub fn requests_for(peers: usize) -> usize {
    match peers {
        0..=500 => 400,
        501..=5000 => 100,
        5001..=20000 => 20,
        _ => 6,
    }
}
