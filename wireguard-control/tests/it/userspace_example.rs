//! Runs the `two_namespaces` example, which pings through a WireGuard tunnel between two
//! namespaces configured with this crate.
//!
//! `cargo test` builds the examples next to the test binaries (`target/<profile>/examples/`);
//! when only this test was built, the example binary is missing and the test says so (and fails
//! under `WIREMESH_REQUIRE_PRIVILEGED=1`).

use std::path::PathBuf;
use std::process::Command;

use crate::support;

/// `target/<profile>/examples/two_namespaces`, found from this test's own path
/// (`target/<profile>/deps/<test>`).
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let binary = profile_dir.join("examples").join("two_namespaces");
    binary.is_file().then_some(binary)
}

#[test]
fn userspace_example_pings_through_the_tunnel() {
    if !support::privileged("userspace_example_pings_through_the_tunnel", true) {
        return;
    }
    let Some(binary) = example_binary() else {
        let reason = "userspace_example_pings_through_the_tunnel: skipped, the example binary is \
                      not built (run `cargo test -p wireguard-control` without a --test filter)";
        if std::env::var("WIREMESH_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
            panic!("{reason}");
        }
        eprintln!("{reason}");
        return;
    };
    let output = Command::new(&binary).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed:\n{stdout}\n{stderr}",
        binary.display()
    );
    assert!(
        stdout.contains("3 packets transmitted") && stdout.contains("the tunnel works"),
        "{stdout}"
    );
}
