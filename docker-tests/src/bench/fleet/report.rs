//! The fleet's figures, their table, and the targets of issue 14 (reported, never asserted).

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ChangeFigures {
    pub change: String,
    pub daemons: usize,
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
    /// Bytes on the fleet's link (both directions) from the command until the last daemon
    /// saw the change.
    pub wire_bytes: u64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct QuietFigures {
    pub seconds: u64,
    pub server_cpu_percent: f64,
    pub rss_mib: f64,
    /// Everything on the fleet's link: WireGuard handshakes, keepalives and tunnelled API.
    pub wire_bytes_per_minute: f64,
    /// HTTP bytes of the daemons (requests and answers, heads included).
    pub api_bytes_per_minute: f64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RestartFigures {
    /// From the stop signal until every daemon held the current state from the new server.
    pub settled_s: f64,
    /// From the stop signal until the new process was started.
    pub server_down_s: f64,
    /// Daemons whose request the new server held as current (no answer needed).
    pub held_as_current: usize,
    /// Daemons that got a full state from the new server although they were current before
    /// the restart (nothing changed in between).
    pub full_states_to_current: usize,
    pub wire_bytes: u64,
    /// CPU time of the new server process until the fleet was back.
    pub server_cpu_s: f64,
    /// Its busiest second, as a share of one core.
    pub peak_cpu_percent: f64,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct InnernetFigures {
    pub requests: usize,
    pub cpu_ms_per_state: f64,
    pub latency_ms: f64,
    pub body_bytes: usize,
    pub wire_bytes_per_state: f64,
    /// N daemons each polling `/v1/user/state` every 60 s (innernet's default).
    pub poll_cpu_percent_of_core: f64,
    pub poll_wire_bytes_per_minute: f64,
}

/// One server at one fleet size.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SideFigures {
    pub server: String,
    pub peers: usize,
    /// Serial `POST /v1/admin/peers` through the tunnel, over the last 1,000 of the fill.
    pub writes_per_s_last_1000: f64,
    pub fill_s: f64,
    /// From starting the daemons until every one had its full state and had reported its
    /// candidates (64 fetching their first state at a time).
    pub join_s: f64,
    pub join_wire_bytes: u64,
    pub join_server_cpu_s: f64,
    pub join_answers: u64,
    pub join_full_states: u64,
    pub join_http_bytes: u64,
    pub quiet: Option<QuietFigures>,
    pub changes: Vec<ChangeFigures>,
    pub restart: Option<RestartFigures>,
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
    pub daemon_errors: u64,
    /// Requests repeated at once because the server had closed a kept-alive connection.
    pub stale_connection_retries: u64,
    pub server_handshake_initiations: u64,
    pub datagrams_dropped: u64,
    pub innernet: Option<InnernetFigures>,
}

fn mb(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.2} GB", bytes / 1e9)
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.0} kB", bytes / 1e3)
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

/// Prints the table of one fleet size; returns the targets as JSON.
pub fn print(wiremesh: &SideFigures, innernet: Option<&SideFigures>) -> serde_json::Value {
    let n = wiremesh.peers;
    println!("\n== fleet of {n} daemons");
    let inn_writes = innernet.map(|i| i.writes_per_s_last_1000);
    println!(
        "1. admin writes (serial POST /v1/admin/peers, last 1,000 of a fill to {n}): wiremesh {:.0}/s{}",
        wiremesh.writes_per_s_last_1000,
        inn_writes
            .map(|w| format!(", innernet {w:.0}/s ({:.1}x)", wiremesh.writes_per_s_last_1000 / w))
            .unwrap_or_default()
    );
    println!(
        "   fleet join: {:.1} s, {} on the wire ({} HTTP, {} answers, {} full states), server CPU {:.1} s",
        wiremesh.join_s,
        mb(wiremesh.join_wire_bytes as f64),
        mb(wiremesh.join_http_bytes as f64),
        wiremesh.join_answers,
        wiremesh.join_full_states,
        wiremesh.join_server_cpu_s
    );
    if let Some(r) = &wiremesh.restart {
        println!(
            "2. restart storm: back after {:.1} s (server down {:.1} s), {} on the wire, {} held as current, {} full states to current daemons, server CPU {:.1} s, peak {:.0}% of a core, peak RSS {:.0} MiB",
            r.settled_s,
            r.server_down_s,
            mb(r.wire_bytes as f64),
            r.held_as_current,
            r.full_states_to_current,
            r.server_cpu_s,
            r.peak_cpu_percent,
            r.peak_rss_mib
        );
    }
    println!("3. propagation to all {n} daemons:");
    println!(
        "   {:<20} {:>8} {:>8} {:>8} {:>10}",
        "change", "p50", "p99", "max", "wire"
    );
    for c in &wiremesh.changes {
        println!(
            "   {:<20} {:>6.2} s {:>6.2} s {:>6.2} s {:>10}",
            c.change,
            c.p50_s,
            c.p99_s,
            c.max_s,
            mb(c.wire_bytes as f64)
        );
    }
    if let Some(q) = &wiremesh.quiet {
        println!(
            "4. quiet {} s with {n} long polls: server CPU {:.3}% of a core, RSS {:.0} MiB, wire {}/min, API {}/min",
            q.seconds,
            q.server_cpu_percent,
            q.rss_mib,
            mb(q.wire_bytes_per_minute),
            mb(q.api_bytes_per_minute)
        );
    }
    if let Some(i) = innernet.and_then(|i| i.innernet.as_ref()) {
        println!(
            "5. innernet-server: {:.1} ms CPU and {} on the wire per full /v1/user/state ({} body); at its 60 s polling by {n} daemons: {:.1}% of a core, {}/min",
            i.cpu_ms_per_state,
            mb(i.wire_bytes_per_state),
            mb(i.body_bytes as f64),
            i.poll_cpu_percent_of_core,
            mb(i.poll_wire_bytes_per_minute)
        );
    }
    println!(
        "   daemon errors {} (+{} requests repeated on a new connection after the server closed an idle one), handshake initiations from the server {}, datagrams dropped {}",
        wiremesh.daemon_errors,
        wiremesh.stale_connection_retries, wiremesh.server_handshake_initiations, wiremesh.datagrams_dropped
    );

    // Targets (issue 14), stated for 10,000; reported at every size.
    let mut targets = serde_json::Map::new();
    let mut line = |name: &str, met: Option<bool>| {
        if let Some(met) = met {
            targets.insert(name.to_owned(), verdict(met).into());
            println!("   target {name}: {}", verdict(met));
        }
    };
    line(
        "admin writes >= 2x innernet",
        inn_writes.map(|w| wiremesh.writes_per_s_last_1000 >= 2.0 * w),
    );
    for c in &wiremesh.changes {
        line(&format!("p99 {} < 1 s", c.change), Some(c.p99_s < 1.0));
    }
    if let Some(r) = &wiremesh.restart {
        line(
            "restart storm settled within 30 s",
            Some(r.settled_s <= 30.0),
        );
        line(
            "no full states to current daemons after a restart",
            Some(r.full_states_to_current == 0),
        );
    }
    if let Some(q) = &wiremesh.quiet {
        line(
            "quiet minute < 1% of a core",
            Some(q.server_cpu_percent < 1.0),
        );
    }
    line(
        "server RSS < 500 MB",
        Some(wiremesh.peak_rss_mib * 1.048_576 < 500.0),
    );
    targets.into()
}
