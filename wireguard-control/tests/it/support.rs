//! Test support for tests that need root, network namespaces, TUN and a userspace WireGuard.
//!
//! Such tests call [`privileged`] first. Where the machine lacks something they print why and
//! return early; with `WIREMESH_REQUIRE_PRIVILEGED=1` (implied by `CI=true` in `scripts/test.sh`) a missing
//! prerequisite fails the test instead, so CI can never pass by skipping.
//!
//! The check and the namespaces are in `support/netns.rs`, which the server's test binary
//! compiles too (and so must use all of); the [`NetNs`] methods that only this crate's tests
//! use (entering a namespace from a thread, a command that may fail) are here.

mod netns;

use std::process::Command;

pub use netns::{privileged, unique_name, NetNs};

impl NetNs {
    /// Runs `f` on a new thread that has entered this namespace (threads have their own
    /// network namespace; processes spawned from that thread inherit it).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    enter(&path);
                    f()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Like [`NetNs::exec`] but returns success instead of panicking.
    pub fn try_exec(&self, args: &[&str]) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

fn enter(path: &str) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: setns on a valid namespace fd; affects only the calling thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}
