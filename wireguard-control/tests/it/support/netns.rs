//! The privilege check and network namespaces: [`privileged`], [`NetNs`] and the helpers under
//! them.
//!
//! The server's test binary compiles this file too (for its `netns_serve`, through a `#[path]`),
//! so everything here is used there as well; what only this crate's tests use is in
//! `support.rs`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Returns `true` when privileged tests can run here; otherwise prints the reason (or panics
/// when `WIREMESH_REQUIRE_PRIVILEGED=1`) and returns `false`.
pub fn privileged(test: &str, needs_wireguard_go: bool) -> bool {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".to_owned());
    }
    if !Path::new("/dev/net/tun").exists() {
        missing.push("/dev/net/tun".to_owned());
    }
    if !on_path("ip") {
        missing.push("the `ip` command (iproute2)".to_owned());
    }
    if needs_wireguard_go {
        let program = std::env::var("WG_USERSPACE_IMPLEMENTATION")
            .unwrap_or_else(|_| "wireguard-go".to_owned());
        if !on_path(&program) {
            missing.push(format!("{program} (userspace WireGuard)"));
        }
        if !on_path("wg") {
            missing.push("the `wg` command (wireguard-tools)".to_owned());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let reason = format!("{test}: skipped, this machine lacks {}", missing.join(", "));
    if std::env::var("WIREMESH_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("{reason} (WIREMESH_REQUIRE_PRIVILEGED=1 forbids skipping)");
    }
    eprintln!("{reason}");
    false
}

/// Whether `program` is an executable path or found on `PATH`.
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// A name unique to this process and call, at most 15 bytes with `prefix` of up to 5 bytes.
/// Userspace interface sockets share one directory across namespaces, so names must be unique
/// machine-wide.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    assert!(prefix.len() <= 5);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}{:06x}{:02x}",
        std::process::id() & 0xff_ffff,
        n & 0xff
    )
}

/// Runs a command, panicking with its output when it fails.
pub fn run(args: &[&str]) -> String {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("failed to run {args:?}: {e}"));
    assert!(
        output.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A network namespace that is deleted, with every process in it, when dropped
/// (also when the test panics).
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    pub fn new(prefix: &str) -> Self {
        let name = unique_name(prefix);
        run(&["ip", "netns", "add", &name]);
        run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        NetNs { name }
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run(&full)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
