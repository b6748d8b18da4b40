//! `wiremesh-bench fleet-agent <config.json>`: the fleet process, run inside the fleet's
//! namespace. It brings up the TUN and the identities, starts (and restarts) the server under
//! test in the server's namespace, fills the network through the admin's tunnel, runs the
//! simulated daemons and measures; the figures go to the results file named in the config.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};
use tokio::sync::Semaphore;
use wireguard_control::{PrivateKey, PublicKey};

use super::daemon::{self, DaemonStats, Fleet};
use super::http;
use super::report::{ChangeFigures, InnernetFigures, QuietFigures, RestartFigures, SideFigures};
use super::tunnel::Tunnel;
use crate::probe::{cpu_time, memory_mib};

/// What the orchestrator tells the fleet process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AgentConfig {
    /// `wiremesh` or `innernet`.
    pub kind: String,
    pub peers: usize,
    pub server_ns: String,
    /// The server's `serve` command line and environment.
    pub serve_argv: Vec<String>,
    pub serve_env: Vec<(String, String)>,
    pub serve_log: PathBuf,
    pub server_key: String,
    pub endpoint: SocketAddr,
    /// The server's API: its tunnel address and port.
    pub api: SocketAddr,
    pub admin_private: String,
    pub admin_ip: Ipv4Addr,
    /// (id, network) of the CIDRs the fleet's peers are spread over.
    pub peer_cidrs: Vec<(i64, ipnet::Ipv4Net)>,
    /// The CIDR of the hidden peer, not associated with anything yet, and the root's id.
    pub late_cidr: (i64, ipnet::Ipv4Net),
    pub root_id: i64,
    pub quiet_secs: u64,
    /// Whether to run the two changes that send every daemon a full state (the association
    /// and the restart storm): at 10,000 daemons each moves tens of gigabytes.
    pub storms: bool,
    /// The descriptor limit the server is started with (`LimitNOFILE`).
    pub nofile: u64,
    pub results: PathBuf,
}

/// The server process under test, started with the descriptor limit of its systemd unit.
struct Server {
    config: AgentConfig,
    child: Child,
}

impl Server {
    fn start(config: &AgentConfig) -> Result<Server> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&config.serve_log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", &config.server_ns])
            .arg("prlimit")
            .arg(format!("--nofile={0}:{0}", config.nofile))
            .args(&config.serve_argv)
            .envs(config.serve_env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start the server")?;
        Ok(Server {
            config: config.clone(),
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait, as systemd stops it (SIGKILL after 30 s).
    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..300 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) -> Result<()> {
        self.stop();
        *self = Server::start(&self.config)?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn key_bytes(key: &PrivateKey) -> [u8; 32] {
    *key.as_bytes()
}

/// Bytes on the fleet's link (WireGuard's UDP and little else), both directions.
fn wire_bytes() -> u64 {
    ["rx_bytes", "tx_bytes"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("/sys/class/net/eth0/statistics/{f}")).ok())
        .filter_map(|s| s.trim().parse::<u64>().ok())
        .sum()
}

/// The admin's API client: one keep-alive connection, reopened when needed.
struct Admin {
    local: Ipv4Addr,
    api: SocketAddr,
    key: String,
    conn: Option<http::Conn>,
}

impl Admin {
    async fn call(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, Vec<u8>)> {
        let mut last = None;
        for _ in 0..3 {
            if self.conn.is_none() {
                self.conn = Some(http::connect(self.local, self.api).await?);
            }
            let conn = self.conn.as_mut().expect("connected");
            match tokio::time::timeout(
                Duration::from_secs(600),
                http::request(conn, method, path, &self.key, body.as_bytes(), &[]),
            )
            .await
            {
                Ok(Ok(answer)) => {
                    if answer.close {
                        self.conn = None;
                    }
                    let body = answer.body().map(<[u8]>::to_vec).unwrap_or_default();
                    return Ok((answer.status, body));
                }
                // Sent again only when the server closed a kept-alive connection without
                // reading the request; anything else could have been applied already.
                Ok(Err(e)) if e.is::<http::ClosedBeforeAnswer>() => last = Some(e),
                Ok(Err(e)) => {
                    self.conn = None;
                    return Err(e);
                }
                Err(_) => {
                    self.conn = None;
                    bail!("{method} {path}: no answer within 600 s");
                }
            }
            self.conn = None;
        }
        Err(last.expect("tried"))
    }

    /// Makes sure the connection (and the tunnel under it) is open and working, with a
    /// request the server answers from memory, so that a change timed next measures the
    /// server and the fleet rather than a new handshake and TCP connection (a first SYN lost
    /// while the tunnel handshakes costs TCP's one-second retransmission).
    async fn warm(&mut self) -> Result<()> {
        self.ok("GET", "/v1/user/capabilities", "").await.map(drop)
    }

    async fn ok(&mut self, method: &str, path: &str, body: &str) -> Result<Vec<u8>> {
        let (status, answer) = self.call(method, path, body).await?;
        ensure!(
            status / 100 == 2,
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
        Ok(answer)
    }

    /// Creates a peer; returns its id.
    async fn add_peer(
        &mut self,
        name: &str,
        ip: Ipv4Addr,
        cidr: i64,
        key: &str,
        redeemed: bool,
        candidates: &str,
    ) -> Result<i64> {
        let expires = if redeemed {
            "null".to_owned()
        } else {
            let in_a_day = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs()
                + 86_400;
            format!("{{\"secs_since_epoch\":{in_a_day},\"nanos_since_epoch\":0}}")
        };
        let body = format!(
            "{{\"name\":\"{name}\",\"ip\":\"{ip}\",\"cidr_id\":{cidr},\"public_key\":\"{key}\",\
             \"endpoint\":null,\"persistent_keepalive_interval\":null,\"is_admin\":false,\
             \"is_disabled\":false,\"is_redeemed\":{redeemed},\"invite_expires\":{expires},\
             \"candidates\":{candidates}}}"
        );
        let answer = self.ok("POST", "/v1/admin/peers", &body).await?;
        http::number_field(&answer, "id")
            .map(|id| id as i64)
            .with_context(|| format!("no id in {}", String::from_utf8_lossy(&answer)))
    }
}

/// Address of fleet peer `k` (0-based): spread over the peer CIDRs.
fn peer_ip(config: &AgentConfig, k: usize) -> (i64, Ipv4Addr) {
    let (id, net) = config.peer_cidrs[k % config.peer_cidrs.len()];
    let host = 1 + (k / config.peer_cidrs.len()) as u32;
    (id, Ipv4Addr::from(u32::from(net.network()) + host))
}

pub fn agent_command(args: &[String]) -> Result<()> {
    let [config] = args else {
        bail!("usage: wiremesh-bench fleet-agent <config.json>");
    };
    let config: AgentConfig = serde_json::from_str(&std::fs::read_to_string(config)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let figures = runtime.block_on(run(&config))?;
    std::fs::write(&config.results, serde_json::to_string_pretty(&figures)?)?;
    // Daemons still waiting in long polls are simply dropped with the process.
    std::process::exit(0);
}

async fn run(config: &AgentConfig) -> Result<SideFigures> {
    let server_key = PublicKey::from_base64(&config.server_key)?;
    let admin_key = PrivateKey::from_base64(&config.admin_private)?;
    let wiremesh = config.kind == "wiremesh";
    // Identities: the admin, the N daemons, and (wiremesh) the newcomer that redeems later.
    let keys: Vec<PrivateKey> = (0..config.peers).map(|_| PrivateKey::generate()).collect();
    let newcomer_temporary = PrivateKey::generate();
    let newcomer_final = PrivateKey::generate().public_key();
    let hidden_key = PrivateKey::generate().public_key();
    let newcomer_ip = {
        let (_, net) = config.peer_cidrs[0];
        Ipv4Addr::from(u32::from(net.network()) + 4000)
    };
    let mut identities = vec![(key_bytes(&admin_key), config.admin_ip)];
    if wiremesh {
        for (k, key) in keys.iter().enumerate() {
            identities.push((key_bytes(key), peer_ip(config, k).1));
        }
        identities.push((key_bytes(&newcomer_temporary), newcomer_ip));
    }
    let server_ip = match config.api.ip() {
        std::net::IpAddr::V4(ip) => ip,
        _ => bail!("IPv4 only"),
    };
    let tunnel = Tunnel::new(
        &identities,
        *server_key.as_bytes(),
        config.endpoint,
        server_ip,
    )?;
    tunnel.start()?;
    let mut server = Server::start(config)?;
    let mut admin = Admin {
        local: config.admin_ip,
        api: config.api,
        key: config.server_key.clone(),
        conn: None,
    };
    // The server is up once the admin gets its state through the tunnel (innernet-server
    // may exit while its address is tentative; it is started again then).
    let up = Instant::now();
    loop {
        if let Ok((200, _)) = admin.call("GET", "/v1/user/capabilities", "").await {
            break;
        }
        if up.elapsed() > Duration::from_secs(120) {
            bail!("the server did not answer within 120 s");
        }
        if let Ok(Some(_)) = server.child.try_wait() {
            server = Server::start(config)?;
        }
        admin.conn = None;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "fleet: {} answers after {:.1} s",
        config.kind,
        up.elapsed().as_secs_f64()
    );

    // Markers, created before the fleet: a peer in the unassociated CIDR, and the
    // newcomer's invitation.
    let (mut hidden_id, mut newcomer_id) = (0, 0);
    if wiremesh {
        let (late, net) = config.late_cidr;
        hidden_id = admin
            .add_peer(
                "hidden",
                Ipv4Addr::from(u32::from(net.network()) + 1),
                late,
                &hidden_key.to_base64(),
                true,
                "[]",
            )
            .await?;
        newcomer_id = admin
            .add_peer(
                "newcomer",
                newcomer_ip,
                config.peer_cidrs[0].0,
                &newcomer_temporary.public_key().to_base64(),
                false,
                "[]",
            )
            .await?;
    }

    // 1. Admin writes: a serial fill to N.
    let fill_start = Instant::now();
    let mut last_thousand = fill_start;
    for (k, key) in keys.iter().enumerate() {
        if k + 1000 == config.peers {
            last_thousand = Instant::now();
        }
        let (cidr, ip) = peer_ip(config, k);
        admin
            .add_peer(
                &format!("f{k}"),
                ip,
                cidr,
                &key.public_key().to_base64(),
                true,
                &daemon::candidates(k),
            )
            .await
            .with_context(|| format!("fill: peer {k}"))?;
        if (k + 1) % 1000 == 0 {
            eprintln!(
                "fleet: {} peers after {:.1} s",
                k + 1,
                fill_start.elapsed().as_secs_f64()
            );
        }
    }
    let tail = config.peers.min(1000);
    let writes_per_s = tail as f64 / last_thousand.elapsed().as_secs_f64();
    let fill_s = fill_start.elapsed().as_secs_f64();
    eprintln!(
        "fleet: fill of {} in {fill_s:.1} s, {writes_per_s:.0} writes/s over the last {tail}",
        config.peers
    );

    if !wiremesh {
        let innernet = innernet_state(config, &mut admin, server.pid()).await?;
        let (rss, peak) = memory_mib(server.pid())?;
        tunnel.stop();
        return Ok(SideFigures {
            server: config.kind.clone(),
            peers: config.peers,
            writes_per_s_last_1000: writes_per_s,
            fill_s,
            rss_mib: rss,
            peak_rss_mib: peak,
            innernet: Some(innernet),
            ..SideFigures::default()
        });
    }

    // The fleet comes up, 64 daemons fetching their first state at a time. Each peer was
    // created with the candidates its daemon reports, as a fleet that has run before: the
    // reports are unchanged lists and wake nobody (otherwise N reports would each send a delta
    // to every daemon already up).
    let fleet = Arc::new(Fleet {
        server: config.api,
        server_key: config.server_key.clone(),
        base: Instant::now(),
        newcomer: (newcomer_id, newcomer_final.to_base64()),
        hidden: (hidden_id, hidden_key.to_base64()),
        stop: false.into(),
        restart_mark: 0.into(),
        joining: Semaphore::new(64),
        daemons: (0..config.peers).map(|_| DaemonStats::default()).collect(),
        error_samples: Default::default(),
    });
    let join_bytes = wire_bytes();
    let join_cpu = cpu_time(server.pid())?;
    for k in 0..config.peers {
        tokio::spawn(daemon::run(fleet.clone(), k, peer_ip(config, k).1));
    }
    wait_all(&fleet, "joined", Duration::from_secs(1800), |d| {
        d.joined.load(Ordering::Relaxed) != 0
    })
    .await?;
    let join_s = fleet.base.elapsed().as_secs_f64();
    let sum = |f: fn(&DaemonStats) -> u64| -> u64 { fleet.daemons.iter().map(f).sum() };
    let join_answers = sum(|d| d.answers.load(Ordering::Relaxed));
    let join_fulls = sum(|d| d.fulls.load(Ordering::Relaxed));
    let join_http = sum(|d| d.http_bytes.load(Ordering::Relaxed));
    let join_wire = wire_bytes() - join_bytes;
    let join_cpu_s = (cpu_time(server.pid())? - join_cpu).as_secs_f64();
    eprintln!(
        "fleet: {} daemons joined in {join_s:.1} s ({:.2} GB on the wire, {:.2} GB HTTP, {join_answers} answers, {join_fulls} full; server CPU {join_cpu_s:.1} s)",
        config.peers,
        join_wire as f64 / 1e9,
        join_http as f64 / 1e9
    );
    // The last daemons' endpoints, which the server observes every 10 s, reach everyone.
    tokio::time::sleep(Duration::from_secs(15)).await;

    // 4. A quiet stretch.
    let quiet = quiet(config, &fleet, server.pid()).await?;
    eprintln!("fleet: quiet: {quiet:?}");

    // 3. Three changes everyone sees.
    let mut changes = Vec::new();
    let mut newcomer = Admin {
        local: newcomer_ip,
        api: config.api,
        key: config.server_key.clone(),
        conn: None,
    };
    let body = format!("{{\"public_key\":\"{}\"}}", newcomer_final.to_base64());
    newcomer.warm().await?;
    changes.push(
        change(&fleet, "new peer redeemed", daemon::NEWCOMER_SEEN, async {
            newcomer
                .ok("POST", "/v1/user/redeem", &body)
                .await
                .map(drop)
        })
        .await?,
    );
    if config.storms {
        let body = format!(
            "{{\"cidr_id_1\":{},\"cidr_id_2\":{}}}",
            config.late_cidr.0, config.root_id
        );
        admin.warm().await?;
        changes.push(
            change(&fleet, "association added", daemon::HIDDEN_SEEN, async {
                // A request repeated after a closed connection may have been applied.
                match admin.call("POST", "/v1/admin/associations", &body).await? {
                    (201, _) => Ok(()),
                    (400, text) if String::from_utf8_lossy(&text).contains("already exists") => {
                        Ok(())
                    }
                    (status, text) => bail!("{status} {}", String::from_utf8_lossy(&text)),
                }
            })
            .await?,
        );
    }
    let path = format!("/v1/admin/peers/{newcomer_id}");
    admin.warm().await?;
    changes.push(
        change(&fleet, "peer disabled", daemon::NEWCOMER_GONE, async {
            admin.ok("DELETE", &path, "").await.map(drop)
        })
        .await?,
    );
    for c in &changes {
        eprintln!("fleet: {c:?}");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;

    // 2. The restart storm.
    let restart = if config.storms {
        let restart = restart_storm(&fleet, &mut server, &mut admin).await?;
        eprintln!("fleet: restart: {restart:?}");
        Some(restart)
    } else {
        None
    };
    let (rss, peak) = memory_mib(server.pid())?;
    let errors: u64 = fleet
        .daemons
        .iter()
        .map(|d| d.errors.load(Ordering::Relaxed))
        .sum();
    for sample in fleet
        .error_samples
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        eprintln!("fleet: error: {sample}");
    }
    let stale_retries: u64 = fleet
        .daemons
        .iter()
        .map(|d| d.stale_retries.load(Ordering::Relaxed))
        .sum();
    fleet.stop.store(true, Ordering::Relaxed);
    tunnel.stop();
    let counters = &tunnel.counters;
    Ok(SideFigures {
        server: config.kind.clone(),
        peers: config.peers,
        writes_per_s_last_1000: writes_per_s,
        fill_s,
        join_s,
        join_wire_bytes: join_wire,
        join_server_cpu_s: join_cpu_s,
        join_answers,
        join_full_states: join_fulls,
        join_http_bytes: join_http,
        quiet: Some(quiet),
        changes,
        restart,
        rss_mib: rss,
        peak_rss_mib: peak,
        daemon_errors: errors,
        stale_connection_retries: stale_retries,
        server_handshake_initiations: counters.initiations.load(Ordering::Relaxed),
        datagrams_dropped: counters.dropped.load(Ordering::Relaxed),
        innernet: None,
    })
}

/// Waits until `done` holds for every daemon.
async fn wait_all(
    fleet: &Fleet,
    what: &str,
    timeout: Duration,
    done: impl Fn(&DaemonStats) -> bool,
) -> Result<()> {
    let start = Instant::now();
    loop {
        let missing = fleet.daemons.iter().filter(|d| !done(d)).count();
        if missing == 0 {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("{missing} daemons not {what} after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs one admin change and times it to every daemon.
async fn change(
    fleet: &Fleet,
    name: &'static str,
    slot: usize,
    command: impl std::future::Future<Output = Result<()>>,
) -> Result<ChangeFigures> {
    let bytes = wire_bytes();
    let start = fleet.now();
    command.await.with_context(|| name.to_owned())?;
    wait_all(fleet, name, Duration::from_secs(900), |d| {
        d.seen[slot].load(Ordering::Relaxed) >= start
    })
    .await?;
    let mut times: Vec<f64> = fleet
        .daemons
        .iter()
        .map(|d| (d.seen[slot].load(Ordering::Relaxed) - start) as f64 / 1e9)
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(ChangeFigures {
        change: name.to_owned(),
        daemons: times.len(),
        p50_s: at(0.5),
        p99_s: at(0.99),
        max_s: at(1.0),
        wire_bytes: wire_bytes() - bytes,
    })
}

async fn quiet(config: &AgentConfig, fleet: &Fleet, pid: u32) -> Result<QuietFigures> {
    let secs = config.quiet_secs.max(1);
    let http = |f: &Fleet| -> u64 {
        f.daemons
            .iter()
            .map(|d| d.http_bytes.load(Ordering::Relaxed))
            .sum()
    };
    let (cpu, wire, api) = (cpu_time(pid)?, wire_bytes(), http(fleet));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = (cpu_time(pid)? - cpu).as_secs_f64();
    let (rss, _) = memory_mib(pid)?;
    let per_minute = 60.0 / secs as f64;
    Ok(QuietFigures {
        seconds: secs,
        server_cpu_percent: cpu * 100.0 / secs as f64,
        rss_mib: rss,
        wire_bytes_per_minute: (wire_bytes() - wire) as f64 * per_minute,
        api_bytes_per_minute: (http(fleet) - api) as f64 * per_minute,
    })
}

/// The restart storm. A daemon is back when it holds the current state from the new server:
/// at its first answer from it, or, if the new server held its request as current (the first
/// answer is then the delta of a probe change made once every daemon has asked again), at
/// the moment it asked.
async fn restart_storm(
    fleet: &Fleet,
    server: &mut Server,
    admin: &mut Admin,
) -> Result<RestartFigures> {
    for d in &fleet.daemons {
        d.resent.store(0, Ordering::Relaxed);
        d.answered_after_restart.store(0, Ordering::Relaxed);
    }
    let bytes = wire_bytes();
    let start = fleet.now();
    tokio::task::block_in_place(|| server.restart())?;
    let pid = server.pid();
    fleet.restart_mark.store(fleet.now(), Ordering::Relaxed);
    let started = fleet.now();
    let mut samples = vec![(Instant::now(), Duration::ZERO)];
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut probe: Option<u64> = None;
    let mut asked_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        samples.push((Instant::now(), cpu_time(pid).unwrap_or_default()));
        let answered = |d: &DaemonStats| d.answered_after_restart.load(Ordering::Relaxed) != 0;
        if fleet.daemons.iter().all(answered) {
            break;
        }
        if probe.is_none() {
            let asked = fleet
                .daemons
                .iter()
                .all(|d| answered(d) || d.resent.load(Ordering::Relaxed) != 0);
            match (asked, asked_since) {
                (false, _) => asked_since = None,
                (true, None) => asked_since = Some(Instant::now()),
                (true, Some(since)) if since.elapsed() >= Duration::from_secs(1) => {
                    let at = fleet.now();
                    let body = format!("[\"192.168.254.{}:51820\"]", 1 + at % 250);
                    admin.ok("PUT", "/v1/user/candidates", &body).await?;
                    probe = Some(at);
                }
                _ => {}
            }
        }
        if Instant::now() > deadline {
            bail!("the fleet was not back 900 s after the restart");
        }
    }
    let probe = probe.unwrap_or(u64::MAX);
    let back = |d: &DaemonStats| {
        let answered = d.answered_after_restart.load(Ordering::Relaxed);
        if answered >= probe && !d.full_after_restart.load(Ordering::Relaxed) {
            d.resent.load(Ordering::Relaxed)
        } else {
            answered
        }
    };
    let settled = fleet.daemons.iter().map(back).max().unwrap_or(start);
    let held = fleet
        .daemons
        .iter()
        .filter(|d| {
            d.answered_after_restart.load(Ordering::Relaxed) >= probe
                && !d.full_after_restart.load(Ordering::Relaxed)
        })
        .count();
    let fulls = fleet
        .daemons
        .iter()
        .filter(|d| d.full_after_restart.load(Ordering::Relaxed))
        .count();
    // The peak: the busiest second.
    let mut peak: f64 = 0.0;
    for (i, (t, cpu)) in samples.iter().enumerate() {
        if let Some((t2, cpu2)) = samples[i..]
            .iter()
            .find(|(t2, _)| *t2 - *t >= Duration::from_secs(1))
        {
            peak = peak.max((*cpu2 - *cpu).as_secs_f64() / (*t2 - *t).as_secs_f64());
        }
    }
    let (_, peak_rss) = memory_mib(pid)?;
    let cpu_s = samples
        .last()
        .map(|s| s.1)
        .unwrap_or_default()
        .as_secs_f64();
    Ok(RestartFigures {
        settled_s: (settled - start) as f64 / 1e9,
        server_down_s: (started - start) as f64 / 1e9,
        held_as_current: held,
        full_states_to_current: fulls,
        wire_bytes: wire_bytes() - bytes,
        server_cpu_s: cpu_s,
        peak_cpu_percent: peak * 100.0,
        peak_rss_mib: peak_rss,
    })
}

/// Section 5 for innernet-server: its CPU and bytes per full `/v1/user/state` of a member
/// that sees everyone, and what its default 60 s polling by N daemons costs per minute.
async fn innernet_state(
    config: &AgentConfig,
    admin: &mut Admin,
    pid: u32,
) -> Result<InnernetFigures> {
    let requests = match config.peers {
        0..=2000 => 50,
        2001..=6000 => 20,
        _ => 10,
    };
    let mut response = 0;
    for _ in 0..2 {
        response = admin.ok("GET", "/v1/user/state", "").await?.len();
    }
    let (cpu, wire) = (cpu_time(pid)?, wire_bytes());
    let start = Instant::now();
    let mut body_len = 0;
    for _ in 0..requests {
        let conn = match admin.conn.as_mut() {
            Some(c) => c,
            None => admin
                .conn
                .insert(http::connect(admin.local, admin.api).await?),
        };
        let answer = http::request(conn, "GET", "/v1/user/state", &admin.key, b"", &[]).await?;
        ensure!(answer.status == 200, "state: {}", answer.status);
        body_len = answer.body_len;
        if answer.close {
            admin.conn = None;
        }
    }
    let latency = start.elapsed().as_secs_f64() / requests as f64;
    let cpu_s = (cpu_time(pid)? - cpu).as_secs_f64() / requests as f64;
    let wire_per = (wire_bytes() - wire) as f64 / requests as f64;
    let _ = response;
    let n = config.peers as f64;
    Ok(InnernetFigures {
        requests,
        cpu_ms_per_state: cpu_s * 1000.0,
        latency_ms: latency * 1000.0,
        body_bytes: body_len,
        wire_bytes_per_state: wire_per,
        poll_cpu_percent_of_core: n * cpu_s / 60.0 * 100.0,
        poll_wire_bytes_per_minute: n * wire_per,
    })
}
