//! `wiremesh-e2e`: the end-to-end suite. Every host is a network namespace running the real
//! `wiremesh-server` / `wiremesh` binaries over userspace WireGuard.
//!
//! Usage: `wiremesh-e2e [--list] [--keep] [--exact] [--jobs N] [FILTER...]` (as root;
//! `docker-tests/run.sh` builds
//! everything first), or `wiremesh-e2e demo` / `wiremesh-e2e demo-down` for the quick start
//! (`scripts/demo.sh`), or `wiremesh-e2e flood ADDR COUNT SECONDS` (scenario 12's hostile
//! peer, run inside a peer's namespace), or `wiremesh-e2e ports SPEC...` / `wiremesh-e2e probe
//! PROTO ADDR PORT` (the policy scenarios' test traffic, see `probe`). Scenarios whose name
//! contains any FILTER run (with `--exact`: whose name is a FILTER); none given runs all.
//! `--jobs N` (or `WIREMESH_E2E_JOBS=N`) runs up to N worlds at once, each in a child process
//! (see `parallel`).
//! Namespaces, links and processes are removed on success, failure and Ctrl-C; on failure
//! the logs of every daemon and the `wg show` of every interface are printed.

mod demo;
mod flood;
mod harness;
mod parallel;
mod probe;
mod scenarios;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};

use harness::Settings;

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn run() -> Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = scenarios::all();
    if args.iter().any(|a| a == "--list") {
        for scenario in &all {
            println!("{}", scenario.name);
        }
        return Ok(true);
    }
    if args.first().map(String::as_str) == Some("flood") {
        flood::main(&args[1..])?;
        return Ok(true);
    }
    if args.first().map(String::as_str) == Some("ports") {
        probe::serve(&args[1..])?;
        return Ok(true);
    }
    if args.first().map(String::as_str) == Some("probe") {
        return probe::probe(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("demo-down") {
        demo::down()?;
        return Ok(true);
    }
    let keep = args.iter().any(|a| a == "--keep");
    let jobs_value = args.iter().position(|a| a == "--jobs").map(|i| i + 1);
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && Some(*i) != jobs_value)
        .map(|(_, a)| a)
        .collect();

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the end-to-end suite needs root (it creates network namespaces)");
    }
    let userspace =
        std::env::var("WG_USERSPACE_IMPLEMENTATION").unwrap_or_else(|_| "wireguard-go".into());
    let missing: Vec<&str> = [userspace.as_str(), "wg", "ip", "nft", "ping"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    if !missing.is_empty() {
        bail!("missing programs: {} (install wireguard-go wireguard-tools iproute2 nftables iputils-ping)", missing.join(", "));
    }
    let bin_dir = match std::env::var_os("WIREMESH_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()?
            .parent()
            .context("executable has no directory")?
            .to_path_buf(),
    };
    for binary in ["wiremesh", "wiremesh-server"] {
        if !bin_dir.join(binary).is_file() {
            bail!(
                "{} not found in {}: build it first (docker-tests/run.sh does)",
                binary,
                bin_dir.display()
            );
        }
    }
    let work_dir = std::env::temp_dir().join(format!("wiremesh-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let settings = Settings {
        bin_dir,
        userspace,
        work_dir: work_dir.clone(),
        keep,
    };
    if args.first().map(String::as_str) == Some("demo") {
        let settings = Settings {
            work_dir: std::env::temp_dir().join("wiremesh-demo"),
            ..settings
        };
        demo::up(&settings)?;
        return Ok(true);
    }
    harness::install_interrupt_cleanup();

    let exact = args.iter().any(|a| a == "--exact");
    let selected: Vec<&scenarios::Scenario> = all
        .iter()
        .filter(|s| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        s.name == f.as_str()
                    } else {
                        s.name.contains(f.as_str())
                    }
                })
        })
        .collect();
    let jobs = jobs(&args)?;
    let suite_start = Instant::now();
    let (passed, failed) = if jobs > 1 && selected.len() > 1 {
        parallel::run(&selected, jobs, keep)?
    } else {
        run_here(&settings, &selected)
    };
    println!("\nsuite took {:.0} s", suite_start.elapsed().as_secs_f64());
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
    } else if !keep {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    println!("{passed} passed, {} failed", failed.len());
    Ok(failed.is_empty())
}

/// How many worlds run at once: `--jobs N`, else `WIREMESH_E2E_JOBS`, else 1.
fn jobs(args: &[String]) -> Result<usize> {
    let given = match args.iter().position(|a| a == "--jobs") {
        Some(i) => Some(args.get(i + 1).context("--jobs needs a number")?.clone()),
        None => std::env::var("WIREMESH_E2E_JOBS").ok(),
    };
    match given {
        None => Ok(1),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => bail!("the number of jobs must be a whole number of at least 1, not {text:?}"),
        },
    }
}

/// Runs scenarios one after the other in this process.
fn run_here(settings: &Settings, selected: &[&scenarios::Scenario]) -> (usize, Vec<&'static str>) {
    let (mut passed, mut failed) = (0, Vec::new());
    for scenario in selected {
        let start = Instant::now();
        println!("=== {}", scenario.name);
        match (scenario.run)(settings) {
            Ok(()) => {
                passed += 1;
                println!(
                    "--- ok   {} ({:.1} s)",
                    scenario.name,
                    start.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                println!(
                    "--- FAIL {} ({:.1} s)\n{e:#}",
                    scenario.name,
                    start.elapsed().as_secs_f64()
                );
                failed.push(scenario.name);
            }
        }
    }
    (passed, failed)
}
