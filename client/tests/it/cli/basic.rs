//! The `wiremesh` binary without a server: help, usage errors without a terminal, install and
//! fetch failures, completions and the systemd units.

use std::fs;
use std::path::Path;

use wiremesh_shared::config::InvitationConfig;

use crate::support::cli::{check, sample_config, Host};

/// An interface name no other host uses (no UAPI socket of that name exists).
fn iface_name() -> String {
    format!("wmb{}", std::process::id() % 1_000_000)
}

/// A host with a network installed (config only).
fn installed() -> Host {
    let host = Host::new(&iface_name());
    host.write_config(&sample_config("10.66.2.3/16"));
    host
}

#[test]
fn help_lists_every_subcommand() {
    let host = Host::new(&iface_name());
    let help = check(&host.run(&["--help"]), 0, &[]);
    for subcommand in [
        "install",
        "show",
        "up",
        "fetch",
        "down",
        "uninstall",
        "add-peer",
        "rename-peer",
        "disable-peer",
        "enable-peer",
        "list-peers",
        "add-cidr",
        "rename-cidr",
        "delete-cidr",
        "list-cidrs",
        "add-association",
        "delete-association",
        "list-associations",
        "set-listen-port",
        "override-endpoint",
        "override-peer-endpoint",
        "completions",
    ] {
        let listed = help
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{subcommand} ")));
        assert!(listed, "{subcommand} missing:\n{help}");
    }
    assert!(
        !help.contains("api-address"),
        "the test-only flag stays hidden:\n{help}"
    );
    // innernet's aliases work too.
    check(&host.run(&["redeem", "--help"]), 0, &[]);
    check(&host.run(&["list", "--help"]), 0, &[]);
    let up_help = check(&host.run(&["up", "--help"]), 0, &[]);
    for flag in [
        "--daemon",
        "--interval",
        "--hosts-path",
        "--no-write-hosts",
        "--host-suffix",
    ] {
        assert!(up_help.contains(flag), "{flag}:\n{up_help}");
    }
    for flag in [
        "--no-nat-traversal",
        "--exclude-nat-candidates",
        "--no-nat-candidates",
    ] {
        assert!(up_help.contains(flag), "{flag}:\n{up_help}");
    }
}

#[test]
fn missing_values_without_a_terminal_are_usage_errors() {
    let host = installed();
    check(&host.run_line("set-listen-port @"), 2, &["--listen-port"]);
    check(&host.run_line("set-listen-port @ -l 51999"), 2, &["--yes"]);
    check(
        &host.run_line("override-endpoint @ --yes"),
        2,
        &["--endpoint"],
    );
    check(
        &host.run_line("override-peer-endpoint @ -u --yes"),
        2,
        &["--name"],
    );
    let line = "add-peer @ --cidr robots --auto-ip --yes";
    check(&host.run_line(line), 2, &["--name"]);
    let line = "add-peer @ --name x --auto-ip --admin false --save-config x.toml --yes";
    check(&host.run_line(line), 2, &["--cidr"]);
    let line = "add-peer @ --name x --cidr robots --admin false --save-config x.toml --yes";
    check(&host.run_line(line), 2, &["--ip (or --auto-ip)"]);
    let line = "add-cidr @ --name x --parent evilcorp --yes";
    check(&host.run_line(line), 2, &["--cidr"]);
    check(
        &host.run_line("rename-peer @ --new-name y --yes"),
        2,
        &["--name"],
    );
    check(&host.run_line("uninstall @"), 2, &["--yes"]);
    // clap's own usage errors exit 2 as well.
    check(&host.run_line("install"), 2, &["INVITE"]);
    check(&host.run_line("set-listen-port @ -l 1 -u"), 2, &["--unset"]);
    check(&host.run_line("up --interval soon"), 2, &["--interval"]);
    // Nothing changed on the way.
    assert_eq!(host.config().interface.listen_port, None);
    assert!(host.config_path().exists());
}

#[test]
fn install_without_a_name_needs_one_of_the_name_flags() {
    let host = Host::new(&iface_name());
    let sample = sample_config("10.66.2.9/16");
    let invitation = InvitationConfig {
        interface: sample.interface,
        server: sample.server,
    };
    let path = host.path("invite.toml");
    fs::write(&path, invitation.to_toml_string()).unwrap();
    let line = format!("install {}", path.display());
    check(&host.run_line(&line), 2, &["--name", "--default-name"]);
    assert!(path.exists());
}

#[test]
fn install_reads_the_invitation_from_standard_input() {
    let host = Host::new(&iface_name());
    // Malformed on stdin: named as standard input, nothing written.
    let text = "[interface]\nnetwork-name = \"evilcorp\"\naddress = \"not an address\"\n";
    let output = host.run_with_stdin(&["install", "-", "--default-name"], Some(text));
    check(&output, 1, &["failed to parse", "-", "address"]);
    assert!(fs::read_dir(host.config_dir())
        .map(|entries| entries.count() == 0)
        .unwrap_or(true));
    // There is no file to delete, and no terminal to ask for a name on.
    let sample = sample_config("10.66.2.9/16");
    let invitation = InvitationConfig {
        interface: sample.interface,
        server: sample.server,
    };
    let toml = invitation.to_toml_string();
    let output = host.run_with_stdin(&["install", "-", "--delete-invite"], Some(&toml));
    check(&output, 2, &["--delete-invite", "standard input"]);
    let output = host.run_with_stdin(&["install", "-"], Some(&toml));
    check(&output, 2, &["--name", "--default-name"]);
}

#[test]
fn install_of_a_malformed_invitation_fails_cleanly() {
    let host = Host::new(&iface_name());
    let path = host.path("broken.toml");
    let text = "[interface]\nnetwork-name = \"evilcorp\"\naddress = \"not an address\"\n";
    fs::write(&path, text).unwrap();
    let line = format!("install {} --default-name --delete-invite", path.display());
    let output = host.run_line(&line);
    check(
        &output,
        1,
        &["error: ", "failed to parse", "broken.toml", "address"],
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        text,
        "the invitation is untouched"
    );
    let configs = fs::read_dir(host.config_dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(configs, 0, "nothing installed");
}

#[test]
fn fetch_of_a_network_that_is_not_installed_says_what_to_do() {
    let host = Host::new(&iface_name());
    let fragments = ["error: ", &host.iface, "does not exist", "wiremesh install"];
    check(&host.run_line("fetch @"), 1, &fragments);
    check(&host.run_line("list-cidrs @"), 1, &["wiremesh install"]);
    check(&host.run_line("up @"), 1, &["wiremesh install"]);
    check(
        &host.run_line("add-association @ a b"),
        1,
        &["wiremesh install"],
    );
}

#[test]
fn an_unprivileged_user_is_told_to_use_sudo() {
    // As root, run the binary as `nobody` (setpriv, util-linux) against root's private files.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to drop to another user");
        return;
    }
    let host = installed();
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_wiremesh"))
        .arg("-c")
        .arg(host.config_dir())
        .arg("-d")
        .arg(host.data_dir())
        .args(["--backend", "userspace", "up", &host.iface])
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run setpriv");
    check(
        &output,
        1,
        &[
            "error: ",
            "Permission denied",
            "hint: permission denied",
            "sudo",
        ],
    );
}

#[test]
fn fetch_and_show_of_a_network_that_is_down() {
    let host = installed();
    let advice = format!("wiremesh up {}", host.iface);
    check(&host.run_line("fetch @"), 1, &["is not up", &advice]);
    check(&host.run_line("show @"), 1, &["is not up"]);
}

#[test]
fn completions_for_the_common_shells() {
    let host = Host::new(&iface_name());
    for shell in ["bash", "zsh", "fish"] {
        let text = check(&host.run(&["completions", shell]), 0, &[]);
        assert!(text.contains("override-peer-endpoint"), "{shell}: {text}");
    }
    check(&host.run(&["completions", "tcsh"]), 2, &["tcsh"]);
}

#[test]
fn systemd_units_match_the_spec() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let service = fs::read_to_string(dir.join("wiremesh@.service")).unwrap();
    for line in [
        "Description=wiremesh client daemon for %I",
        "After=network-online.target nss-lookup.target",
        "Wants=network-online.target nss-lookup.target",
        "PartOf=wiremesh.target",
        "StartLimitIntervalSec=0",
        "Type=simple",
        "ExecStart=/usr/bin/wiremesh up %i --daemon --interval 60",
        "Restart=always",
        "RestartSec=10",
        "WantedBy=multi-user.target",
    ] {
        assert!(service.lines().any(|l| l == line), "missing {line:?}");
    }
    let unit_section = service.split("[Service]").next().unwrap();
    assert!(
        unit_section.contains("StartLimitIntervalSec=0"),
        "belongs in [Unit]"
    );
    let target = fs::read_to_string(dir.join("wiremesh.target")).unwrap();
    assert!(target.starts_with("[Unit]\nDescription="), "{target}");
    assert!(!target.contains("[Install]"));
}
