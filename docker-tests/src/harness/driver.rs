//! How a host runs things. Today every host is a network namespace on this machine; a
//! container driver would implement the same trait, and no scenario would change.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context as _, Result};

/// Runs commands "on" a host.
pub trait Driver: Send + Sync {
    /// Creates the host's isolated network stack.
    fn create_host(&self, host: &str) -> Result<()>;
    /// Removes the host, killing everything still running on it.
    fn destroy_host(&self, host: &str);
    /// Runs a command to completion on the host.
    fn output(&self, host: &str, argv: &[String], env: &BTreeMap<String, String>)
        -> Result<Output>;
    /// Starts a long-running command on the host with its output appended to `log`.
    fn spawn(
        &self,
        host: &str,
        argv: &[String],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Child>;
}

/// Hosts as network namespaces (`ip netns`), joined by veth links.
#[derive(Debug, Default)]
pub struct NetnsDriver;

impl NetnsDriver {
    fn command(host: &str, argv: &[String], env: &BTreeMap<String, String>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", host]).args(argv).envs(env);
        command
    }
}

impl Driver for NetnsDriver {
    fn create_host(&self, host: &str) -> Result<()> {
        run_plain(&["ip", "netns", "add", host])?;
        run_plain(&["ip", "-n", host, "link", "set", "lo", "up"])?;
        Ok(())
    }

    fn destroy_host(&self, host: &str) {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", host]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    // SAFETY: kill(2) with a pid read from the namespace; no memory involved.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", host]).status();
    }

    fn output(
        &self,
        host: &str,
        argv: &[String],
        env: &BTreeMap<String, String>,
    ) -> Result<Output> {
        Self::command(host, argv, env)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("failed to run {argv:?} on {host}"))
    }

    fn spawn(
        &self,
        host: &str,
        argv: &[String],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Child> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("open {}", log.display()))?;
        let err = out.try_clone()?;
        Self::command(host, argv, env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("failed to start {argv:?} on {host}"))
    }
}

/// Runs a command in the machine's own namespace, failing with its output.
pub fn run_plain(argv: &[&str]) -> Result<String> {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {argv:?}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{argv:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
