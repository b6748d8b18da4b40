//! Scenario 11: `wiremesh doctor` on a peer installed with `install -` (the invitation on
//! standard input). On a healthy network every check of files,
//! interface, implementation, server and handshakes passes (exit 0); then a config other
//! users can read, a server that is gone and an interface that is down each fail their own
//! check, with advice (exit 1).

use anyhow::{anyhow, ensure, Context as _, Result};
use serde_json::Value;

use super::in_world;
use super::mesh::{install_from_stdin, Family, Mesh, Peer};
use crate::harness::{Ran, Settings};

/// `wiremesh --backend userspace doctor --json <iface>` on the peer: what it printed, and its
/// JSON document.
fn doctor_json(peer: &Peer) -> Result<(Ran, Value)> {
    let ran = peer
        .host
        .client(&["--backend", "userspace", "doctor", "--json", &peer.iface])?;
    let document: Value = serde_json::from_str(&ran.stdout)
        .with_context(|| format!("doctor --json printed no JSON:\n{}", ran.text()))?;
    Ok((ran, document))
}

/// The check called `name` of the document.
fn check<'a>(document: &'a Value, name: &str) -> Result<&'a Value> {
    document["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["check"] == name))
        .ok_or_else(|| anyhow!("no {name} check in {document:#}"))
}

/// Asserts the exit status and the `ok` field (false exactly when the status is 1).
fn expect_exit(ran: &Ran, document: &Value, code: i32) -> Result<()> {
    ensure!(
        ran.code == Some(code),
        "doctor exited with {:?}, expected {code}:\n{}",
        ran.code,
        ran.text()
    );
    ensure!(
        document["ok"] == (code == 0),
        "doctor's \"ok\" disagrees with its exit status {code}:\n{}",
        ran.stdout
    );
    Ok(())
}

/// Asserts that check `name` has `status` and, when given, advice containing `advice`.
fn expect_check(document: &Value, name: &str, status: &str, advice: Option<&str>) -> Result<()> {
    let found = check(document, name)?;
    ensure!(
        found["status"] == status,
        "the {name} check is not {status}: {found:#}"
    );
    if let Some(fragment) = advice {
        let given = found["advice"].as_str().unwrap_or_default();
        ensure!(
            given.contains(fragment),
            "the {name} check's advice lacks {fragment:?}: {found:#}"
        );
    }
    Ok(())
}

pub fn doctor(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "doctor", |world| {
        let mesh = Mesh::start(world, family)?;
        let invitation = mesh.invite("patient", "humans", false, "30d")?;
        let host = world.public_host("patient")?;
        let iface = world.iface("p");
        // Installed with the invitation on standard input (`install -`), which leaves the file.
        let peer = install_from_stdin(&host, &invitation, &iface)?;
        ensure!(invitation.exists(), "install - touched the invitation file");

        // Healthy: install fetched the state through the tunnel, so the server handshook.
        let (ran, document) = doctor_json(&peer)?;
        expect_exit(&ran, &document, 0)?;
        for name in [
            "config-dir",
            "config",
            "cache",
            "interface",
            "implementation",
            "server",
            "handshake",
        ] {
            expect_check(&document, name, "pass", None)?;
        }
        let server = check(&document, "server")?["detail"]
            .as_str()
            .unwrap_or_default();
        ensure!(server.contains("v2-state"), "no push feature: {server}");
        let implementation = check(&document, "implementation")?["detail"]
            .as_str()
            .unwrap_or_default();
        ensure!(
            implementation.contains(&format!("{iface}.sock")),
            "the implementation check names no UAPI socket: {implementation}"
        );
        // rp_filter may only warn (a new network namespace starts with it off).
        ensure!(
            check(&document, "rp_filter")?["status"] != "fail",
            "rp_filter failed"
        );
        let text = peer
            .host
            .client(&["--backend", "userspace", "doctor", &iface])?
            .ok()?
            .stdout;
        let summary = text.lines().last().unwrap_or_default();
        ensure!(
            text.contains("\nPASS server:")
                && (summary.ends_with(" 0 failed") || summary.ends_with("checks passed")),
            "the text report lacks its lines:\n{text}"
        );

        // A config other users can read.
        let config = host.config_dir("wiremesh").join(format!("{iface}.conf"));
        let chmod = |mode: &str| -> Result<()> {
            host.ok(&["chmod", mode, &config.to_string_lossy()])?;
            Ok(())
        };
        chmod("0644")?;
        let (ran, document) = doctor_json(&peer)?;
        chmod("0600")?;
        expect_exit(&ran, &document, 1)?;
        let chmod_advice = format!("chmod 600 {}", config.display());
        expect_check(&document, "config", "fail", Some(&chmod_advice))?;
        expect_check(&document, "server", "pass", None)?;
        ensure!(
            ran.stderr.contains("error: 1 check failed"),
            "stderr: {}",
            ran.stderr
        );

        // The server is gone.
        mesh.serve.stop();
        let (ran, document) = doctor_json(&peer)?;
        expect_exit(&ran, &document, 1)?;
        expect_check(&document, "config", "pass", None)?;
        expect_check(
            &document,
            "server",
            "fail",
            Some("is `wiremesh-server serve` running"),
        )?;

        // The interface is down.
        if let Some(daemon) = &peer.daemon {
            daemon.stop();
        }
        host.client(&["--backend", "userspace", "down", &iface])?
            .ok()?;
        let (ran, document) = doctor_json(&peer)?;
        expect_exit(&ran, &document, 1)?;
        let up = format!("run `wiremesh --backend userspace up {iface}`");
        expect_check(&document, "interface", "fail", Some(&up))?;
        ensure!(
            check(&document, "server").is_err(),
            "the server was checked through an interface that is down"
        );
        Ok(())
    })
}
