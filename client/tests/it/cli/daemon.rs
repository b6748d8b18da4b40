//! `up --daemon` stops cleanly on SIGTERM and SIGINT (exit status 0), and a second signal
//! is not needed for that.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::cli::Host;

fn stops_on(signal: libc::c_int) {
    // No network installed: the daemon idles, waiting for one.
    let host = Host::new("unused");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiremesh"))
        .arg("-c")
        .arg(host.config_dir())
        .arg("-d")
        .arg(host.data_dir())
        .args("--backend userspace up --daemon --interval 1".split(' '))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon keeps running"
    );
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: `pid` is our own child, which has not been waited for yet.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the daemon did not stop within 10 s of signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("no networks installed"), "{stderr}");
}

#[test]
fn daemon_stops_on_sigterm() {
    stops_on(libc::SIGTERM);
}

#[test]
fn daemon_stops_on_sigint() {
    stops_on(libc::SIGINT);
}
