//! The `wiremesh doctor` binary on a host without a running interface (a healthy network is
//! covered on the fake backend by the `doctor` area and end to end by scenario 11): exit
//! status 1 with the failed checks and their advice, as text and as JSON; 2 for usage errors.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::cli::{check, sample_config, Host};

/// An interface name no other host uses (no UAPI socket of that name exists).
fn iface_name() -> String {
    format!("wmd{}", std::process::id() % 1_000_000)
}

fn installed() -> Host {
    let host = Host::new(&iface_name());
    host.write_config(&sample_config("10.66.2.3/16"));
    fs::set_permissions(host.config_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    host
}

/// The check called `name` in a `doctor --json` document.
fn json_check<'a>(document: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {document:#}"))
}

#[test]
fn help_lists_doctor() {
    let host = Host::new(&iface_name());
    let help = check(&host.run(&["--help"]), 0, &[]);
    assert!(
        help.contains("doctor") && help.contains("Check this host's networks"),
        "{help}"
    );
    let doctor_help = check(&host.run(&["doctor", "--help"]), 0, &[]);
    assert!(doctor_help.contains("--json"), "{doctor_help}");
}

#[test]
fn a_readable_config_fails_with_advice_in_json() {
    let host = installed();
    fs::set_permissions(host.config_path(), fs::Permissions::from_mode(0o644)).unwrap();
    let stdout = check(
        &host.run_line("doctor --json @"),
        1,
        &["error: 2 checks failed"],
    );
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["ok"], false);
    let config = json_check(&document, "config");
    assert_eq!(config["interface"], host.iface.as_str());
    assert_eq!(config["status"], "fail");
    let advice = format!("run `chmod 600 {}`", host.config_path().display());
    assert_eq!(config["advice"], advice.as_str());
    let interface = json_check(&document, "interface");
    assert_eq!(interface["status"], "fail");
    let up = format!("run `wiremesh --backend userspace up {}`", host.iface);
    assert_eq!(interface["advice"], up.as_str());
    let config_dir = json_check(&document, "config-dir");
    assert_eq!(config_dir["status"], "pass");
    assert_eq!(config_dir["interface"], serde_json::Value::Null);
    assert_eq!(config_dir["advice"], serde_json::Value::Null);

    // Fixed as advised, only the interface is left.
    fs::set_permissions(host.config_path(), fs::Permissions::from_mode(0o600)).unwrap();
    let stdout = check(&host.run_line("doctor @"), 1, &["error: 1 check failed"]);
    assert!(stdout.contains("\nPASS config:"), "{stdout}");
    assert!(stdout.contains("\nFAIL interface:"), "{stdout}");
    assert!(stdout.contains(&format!("→ {up}")), "{stdout}");
    assert!(
        !stdout.contains('\x1b'),
        "no colour without a terminal: {stdout}"
    );
}

#[test]
fn nothing_installed_is_a_failure_with_advice() {
    let host = Host::new(&iface_name());
    let stdout = check(&host.run(&["doctor"]), 1, &["error: 1 check failed"]);
    assert!(
        stdout.starts_with("FAIL config-dir:") && stdout.contains("no network is installed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("→ join a network with `wiremesh install <invitation>`"),
        "{stdout}"
    );

    fs::create_dir_all(host.config_dir()).unwrap();
    fs::set_permissions(host.config_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    let stdout = check(&host.run(&["doctor", "--json"]), 1, &[]);
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let installed = json_check(&document, "installed");
    assert_eq!(installed["status"], "fail");
}

#[test]
fn usage_errors_exit_2() {
    let host = Host::new(&iface_name());
    check(&host.run(&["doctor", "a", "b"]), 2, &[]);
    check(&host.run(&["doctor", "--colour"]), 2, &[]);
    check(&host.run(&["doctor", "not/a/name"]), 2, &[]);
}
