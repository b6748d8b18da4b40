//! Several worlds at once: each scenario runs in a child `wiremesh-e2e --exact NAME`
//! process (its own namespaces, interfaces and work directory: every name carries the
//! child's process id), whose output is printed whole when it ends, so that blocks never
//! interleave.
//!
//! Most of a scenario's time is spent waiting (for a handshake, a long poll, a timeout),
//! so worlds overlap well even on two cores. The scenarios whose point is timing under
//! stress (a flood, a lossy underlay, killed processes, jumping clocks, gateway failover)
//! run afterwards, one at a time, so that a neighbour's load never decides their outcome.
//!
//! On SIGINT/SIGTERM no further child starts, and the running ones get SIGTERM and are
//! waited for: each removes its own world.

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, Result};

use crate::harness;
use crate::scenarios::{self, Scenario};

/// The process ids of the children running now.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The interrupt hook: SIGTERM to every running child, then wait (at most a minute) for
/// them to clean up their worlds and exit.
fn stop_children() {
    let pids: Vec<u32> = CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for pid in &pids {
        // SAFETY: kill(2) on a child of ours (still registered, so not yet reaped).
        unsafe { libc::kill(*pid as i32, libc::SIGTERM) };
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while Instant::now() < deadline
        && !CHILDREN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// What one child reported.
struct Outcome {
    name: &'static str,
    ok: bool,
    output: String,
    seconds: f64,
}

/// Runs `selected` with up to `jobs` children at once (those that must run alone
/// afterwards, one by one); returns how many passed and the names that failed.
pub fn run(selected: &[&Scenario], jobs: usize, keep: bool) -> Result<(usize, Vec<&'static str>)> {
    let exe = std::env::current_exe().context("find the suite's own executable")?;
    harness::on_interrupt(stop_children);
    let (alone, pooled): (Vec<&'static str>, Vec<&'static str>) = selected
        .iter()
        .map(|s| s.name)
        .partition(|name| scenarios::runs_alone(name));
    println!(
        "running {} scenarios {jobs} at a time, then {} alone",
        pooled.len(),
        alone.len()
    );
    let mut passed = 0;
    let mut failed = Vec::new();
    for (batch, width) in [(pooled, jobs), (alone, 1)] {
        let queue = Arc::new(Mutex::new(VecDeque::from(batch)));
        let (tx, rx) = mpsc::channel();
        let mut workers = Vec::new();
        for _ in 0..width {
            let (queue, tx, exe) = (queue.clone(), tx.clone(), exe.clone());
            workers.push(std::thread::spawn(move || loop {
                if harness::interrupted() {
                    break;
                }
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let Some(name) = next else { break };
                let outcome = run_child(&exe, name, keep);
                if tx.send(outcome).is_err() {
                    break;
                }
            }));
        }
        drop(tx);
        for outcome in rx {
            print!("{}", outcome.output);
            if outcome.ok {
                passed += 1;
            } else {
                println!(
                    "--- FAIL {} (child failed after {:.1} s)",
                    outcome.name, outcome.seconds
                );
                failed.push(outcome.name);
            }
        }
        for worker in workers {
            let _ = worker.join();
        }
    }
    Ok((passed, failed))
}

/// Runs one scenario in a child process and collects what it printed, without the child's
/// own summary lines.
fn run_child(exe: &std::path::Path, name: &'static str, keep: bool) -> Outcome {
    let start = Instant::now();
    let mut command = Command::new(exe);
    command.arg("--exact").arg(name);
    if keep {
        command.arg("--keep");
    }
    command.env_remove("WIREMESH_E2E_JOBS");
    command.stdin(Stdio::null());
    command.stdout(Stdio::piped());
    command.stderr(Stdio::piped());
    let result = command.spawn().and_then(|child| {
        let pid = child.id();
        CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
        let output = child.wait_with_output();
        CHILDREN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| *p != pid);
        output
    });
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Err(e) => Outcome {
            name,
            ok: false,
            output: format!("=== {name}\ncould not start {}: {e}\n", exe.display()),
            seconds,
        },
        Ok(out) => {
            let mut text = String::new();
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let summary = line.starts_with("suite took ")
                    || line.starts_with("failed: ")
                    || (line.ends_with(" failed") && line.contains(" passed, "));
                if !summary {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            while text.ends_with("\n\n") {
                text.pop();
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !stderr.trim().is_empty() {
                text.push_str(&stderr);
                if !stderr.ends_with('\n') {
                    text.push('\n');
                }
            }
            Outcome {
                name,
                ok: out.status.success(),
                output: text,
                seconds,
            }
        }
    }
}
