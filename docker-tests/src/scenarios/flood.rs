//! Scenario 12: a hostile peer floods the API with thousands of half-sent requests while the
//! server runs with systemd's default soft descriptor limit (1024). The server raises the
//! limit, refuses the flood's connections beyond the per-peer cap, closes the ones it accepted
//! when their head does not arrive in time, and meanwhile another peer installs its
//! invitation and a third fetches its state as quickly as ever.

use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context as _, Result};

use super::in_world;
use super::mesh::{Family, Mesh, LISTEN_PORT};
use crate::harness::{wait_until, Settings};

/// Half-open requests the flood keeps up at once: more than the 1024 descriptors the server
/// is started with.
const FLOOD_CONNECTIONS: &str = "1500";
/// How long the flood lasts.
const FLOOD_SECONDS: &str = "25";
/// The soft:hard descriptor limits `serve` is started with.
const DESCRIPTORS: &str = "1024:16384";
/// The most a fetch may take during the flood, and the longest wait for the other steps.
const NORMAL: Duration = Duration::from_secs(20);
/// The server's head timeout, and the slack a connection may stay open beyond it (the flood
/// notices closes only between its rounds).
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
const SLACK: Duration = Duration::from_secs(5);

pub fn flood(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "flood", |world| {
        let mut mesh = Mesh::start(world, family)?;
        // Start `serve` again the way systemd would without the unit's LimitNOFILE.
        mesh.serve.stop();
        let argv = {
            let mut argv = vec!["prlimit".to_owned(), format!("--nofile={DESCRIPTORS}")];
            argv.extend(mesh.server.tool_argv(
                "wiremesh-server",
                &[
                    "serve",
                    &mesh.net,
                    "--backend",
                    "userspace",
                    "--no-write-hosts",
                    "--no-api-socket",
                ],
            ));
            argv
        };
        mesh.serve = mesh.server.spawn("serve-limited", argv, true)?;
        mesh.wait_serving()?;
        wait_until("serve logs its descriptor limit", NORMAL, || {
            Ok(mesh
                .serve
                .log_text()
                .contains("descriptor limit 16384 (raised from 1024)"))
        })?;
        let pid = mesh.serve.pid().context("serve has no pid")?;
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
        let open_files = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .context("no descriptor limit in /proc/<pid>/limits")?;
        ensure!(
            open_files.split_whitespace().nth(3) == Some("16384"),
            "serve's soft descriptor limit was not raised: {open_files}"
        );

        let alpha_invitation = mesh.invite("alpha", "humans", false, "30d")?;
        let charlie_invitation = mesh.invite("charlie", "humans", false, "30d")?;
        let bravo_invitation = mesh.invite("bravo", "humans", false, "30d")?;
        let host = world.public_host("alpha")?;
        let alpha = mesh.install(&host, &alpha_invitation, &world.iface("a"))?;
        // charlie's install, before the flood, is the measure of normal time.
        let host = world.public_host("charlie")?;
        let started = Instant::now();
        let charlie = mesh.install(&host, &charlie_invitation, &world.iface("c"))?;
        let normal_install = started.elapsed();
        let bravo_host = world.public_host("bravo")?;
        mesh.wait_for_invitation(&bravo_invitation)?;

        // alpha floods.
        let server_api = std::net::SocketAddr::new(mesh.server_ip()?, LISTEN_PORT.parse()?);
        let flood_argv = vec![
            std::env::current_exe()?.to_string_lossy().into_owned(),
            "flood".to_owned(),
            server_api.to_string(),
            FLOOD_CONNECTIONS.to_owned(),
            FLOOD_SECONDS.to_owned(),
        ];
        let flood = alpha.host.spawn("flood", flood_argv, false)?;
        wait_until("the flood is under way", NORMAL, || {
            Ok(flood.log_text().contains("flood: holding"))
        })?;

        // Meanwhile bravo installs and charlie fetches, in normal time.
        let started = Instant::now();
        let bravo = mesh.install(&bravo_host, &bravo_invitation, &world.iface("b"))?;
        let install_took = started.elapsed();
        // Its API requests take milliseconds; what the install adds during the flood is NAT
        // traversal towards alpha, whose WireGuard is busy carrying the flood.
        ensure!(
            install_took < normal_install + NORMAL,
            "bravo's install took {install_took:?} during the flood, charlie's {normal_install:?} \
             before it"
        );
        let started = Instant::now();
        charlie
            .host
            .client(&["--backend", "userspace", "fetch", &charlie.iface])?
            .ok()?;
        let fetch_took = started.elapsed();
        ensure!(
            fetch_took < NORMAL,
            "charlie's fetch took {fetch_took:?} during the flood"
        );
        wait_until("charlie sees bravo", NORMAL, || charlie.sees(&bravo))?;
        ensure!(
            !flood.log_text().contains("flood: stopped"),
            "the flood ended before the installs were tried; lengthen it"
        );

        // The flood ends; every one of its connections was closed by the server.
        wait_until("the flood reports", Duration::from_secs(90), || {
            Ok(flood.log_text().contains("flood: opened"))
        })?;
        let report = flood.log_text();
        let summary = report
            .lines()
            .find(|line| line.starts_with("flood: opened"))
            .ok_or_else(|| anyhow!("no summary in the flood's output:\n{report}"))?;
        let number = |label: &str| -> Result<u64> {
            let rest = summary
                .split(label)
                .nth(1)
                .ok_or_else(|| anyhow!("no '{label}' in: {summary}"))?;
            Ok(rest
                .trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or_default()
                .parse()?)
        };
        let opened = number("opened")?;
        ensure!(opened >= 1500, "the flood opened only {opened}: {summary}");
        ensure!(
            number("still open")? == 0,
            "the server left flood connections open: {summary}"
        );
        ensure!(
            number("refused with 429")? > 0,
            "no connection was refused with 429: {summary}"
        );
        let longest = Duration::from_millis(number("longest open")?);
        ensure!(
            longest <= HEAD_TIMEOUT + SLACK,
            "a half-sent request stayed open for {longest:?}: {summary}"
        );
        let log = mesh.serve.log_text();
        ensure!(
            log.contains(&format!("refused a connection from {}", alpha.ip)),
            "serve did not log the refusals"
        );
        ensure!(mesh.serve.running(), "serve died during the flood");
        println!(
            "    {summary}; during it bravo installed in {:.1} s (charlie before it: {:.1} s) \
             and charlie fetched in {} ms",
            install_took.as_secs_f64(),
            normal_install.as_secs_f64(),
            fetch_took.as_millis()
        );

        // The flooding peer itself is served again once it stops.
        alpha
            .host
            .client(&["--backend", "userspace", "fetch", &alpha.iface])?
            .ok()?;
        Ok(())
    })
}
