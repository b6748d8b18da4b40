//! End to end: `serve` inside a fresh network namespace with the userspace backend
//! (wireguard-go), driven by the CLI from outside while it runs. Needs root, TUN, `ip`,
//! `wg` and wireguard-go; skipped with a printed reason where they are missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use wiremesh_shared::config::InvitationConfig;

use crate::support::cli::{assert_contains, Server, BINARY};
use crate::support::netns::{self, NetNs};

/// A running `serve`; killed when dropped (also when the test panics).
struct ServeProcess {
    child: Child,
    log: PathBuf,
}

impl ServeProcess {
    fn start(ns: &NetNs, server: &Server, network: &str, log_name: &str) -> Self {
        let log = server.path(log_name);
        let log_file = fs::File::create(&log).unwrap();
        let hosts = server.path("hosts");
        // `ip netns exec` and `prlimit` exec the binary in place, so the child's pid is the
        // server's. The soft descriptor limit is systemd's default, which `serve` raises.
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "prlimit",
                "--nofile=1024:16384",
                BINARY,
                "-c",
            ])
            .arg(server.config_dir())
            .arg("-d")
            .arg(server.data_dir())
            .args(["serve", network, "--backend", "userspace", "--hosts-path"])
            .arg(&hosts)
            .arg("--api-socket")
            .arg(server.data_dir().join("api.sock"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("failed to start serve");
        Self { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most 15 s) for the exit.
    fn terminate(mut self) -> (ExitStatus, String) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Removes the userspace interface's socket file, which outlives a killed wireguard-go
/// (the socket directory is shared by every namespace).
struct SocketCleanup(PathBuf);

impl Drop for SocketCleanup {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Peers on the interface as `(public key, allowed IPs)`, read with `wg show … dump`.
fn interface_peers(ns: &NetNs, iface: &str) -> Vec<(String, String)> {
    let output = Command::new("ip")
        .args(["netns", "exec", &ns.name, "wg", "show", iface, "dump"])
        .output()
        .unwrap();
    if !output.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Some((fields.first()?.to_string(), fields.get(3)?.to_string()))
        })
        .collect()
}

/// Polls until `want(peers)` holds, for at most `timeout`.
fn wait_for(
    ns: &NetNs,
    iface: &str,
    timeout: Duration,
    serve: &ServeProcess,
    what: &str,
    want: impl Fn(&[(String, String)]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let peers = interface_peers(ns, iface);
        if want(&peers) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {timeout:?}; peers {peers:?}; serve log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn invitation_key(path: &Path) -> String {
    let invitation = InvitationConfig::from_toml_str(&fs::read_to_string(path).unwrap()).unwrap();
    invitation.interface.private_key.public_key().to_base64()
}

#[test]
fn serve_follows_the_cli_and_restarts_into_the_same_state() {
    if !netns::privileged("netns_serve", true) {
        return;
    }
    let network = netns::unique_name("wms");
    let _socket = SocketCleanup(PathBuf::from(format!("/var/run/wireguard/{network}.sock")));
    let ns = NetNs::new("wmsn");
    let server = Server::new();
    server.new_network(&network, "10.77.0.0/16");
    server.ok(&[
        "add-cidr",
        &network,
        "--name",
        "humans",
        "--cidr",
        "10.77.1.0/24",
        "--yes",
    ]);
    let invitation = server.path("alice.toml");
    server.ok(&[
        "add-peer",
        &network,
        "--name",
        "alice",
        "--cidr",
        "humans",
        "--auto-ip",
        "--admin",
        "false",
        "--save-config",
        invitation.to_str().unwrap(),
        "--yes",
    ]);
    let key = invitation_key(&invitation);
    let expected = vec![(key.clone(), "10.77.1.1/32".to_owned())];
    let ten_s = Duration::from_secs(10);

    let serve = ServeProcess::start(&ns, &server, &network, "serve1.log");
    wait_for(
        &ns,
        &network,
        ten_s,
        &serve,
        "the invitation key appearing",
        |peers| peers == expected.as_slice(),
    );
    let limits = fs::read_to_string(format!("/proc/{}/limits", serve.child.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().nth(3),
        Some("16384"),
        "the soft descriptor limit was not raised: {open_files}"
    );
    assert_contains(&serve.log(), &["descriptor limit 16384 (raised from 1024)"]);

    // Changes by the CLI reach the live interface without a restart.
    server.ok(&["disable-peer", &network, "--name", "alice", "--yes"]);
    wait_for(
        &ns,
        &network,
        Duration::from_secs(3),
        &serve,
        "disable",
        |peers| peers.is_empty(),
    );
    server.ok(&["enable-peer", &network, "--name", "alice", "--yes"]);
    wait_for(
        &ns,
        &network,
        Duration::from_secs(3),
        &serve,
        "enable",
        |peers| peers == expected.as_slice(),
    );
    let hosts = server.path("hosts");
    wait_for(&ns, &network, ten_s, &serve, "the hosts file", |_| {
        fs::read_to_string(&hosts)
            .is_ok_and(|text| text.contains(&format!("10.77.0.1 innernet-server.{network}.wg")))
    });

    let (status, log) = serve.terminate();
    assert!(status.success(), "serve exited with {status}:\n{log}");
    assert_contains(
        &log,
        &[
            &format!("serving {network} on 10.77.0.1:51820"),
            "received SIGTERM",
            &format!("stopped serving {network}"),
        ],
    );

    // While the server is stopped: the interface loses its peer behind our back, and the
    // CLI adds one (which must not touch the interface).
    ns.exec(&["wg", "set", &network, "peer", &key, "remove"]);
    let bob_invitation = server.path("bob.toml");
    server.ok(&[
        "add-peer",
        &network,
        "--name",
        "bob",
        "--cidr",
        "humans",
        "--auto-ip",
        "--admin",
        "true",
        "--save-config",
        bob_invitation.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(interface_peers(&ns, &network), Vec::new());
    let mut expected = vec![
        (key, "10.77.1.1/32".to_owned()),
        (invitation_key(&bob_invitation), "10.77.1.2/32".to_owned()),
    ];
    expected.sort();

    // A restart takes over the interface and brings it back in line with the database.
    let serve = ServeProcess::start(&ns, &server, &network, "serve2.log");
    wait_for(
        &ns,
        &network,
        ten_s,
        &serve,
        "both peers on the interface",
        |peers| {
            let mut peers = peers.to_vec();
            peers.sort();
            peers == expected
        },
    );
    let dump = ns.exec(&["wg", "show", &network, "dump"]);
    let interface: Vec<&str> = dump
        .lines()
        .next()
        .unwrap_or_default()
        .split('\t')
        .collect();
    let config = wiremesh_shared::config::ServerConfig::from_toml_str(
        &fs::read_to_string(server.config_file(&network)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        interface.get(1),
        Some(&config.private_key.public_key().to_base64().as_str())
    );
    assert_eq!(interface.get(2), Some(&"51820"));
    let address = ns.exec(&["ip", "-o", "addr", "show", "dev", &network]);
    assert_contains(&address, &["10.77.0.1/16"]);
    let (status, log) = serve.terminate();
    assert!(status.success(), "serve exited with {status}:\n{log}");

    // Nothing is left running: uninstall deletes the interface (wireguard-go exits).
    let uninstall = server
        .command(&["--backend", "userspace", "uninstall", &network, "--yes"])
        .output()
        .unwrap();
    assert!(
        uninstall.status.success(),
        "{}",
        String::from_utf8_lossy(&uninstall.stderr)
    );
    assert!(!Path::new(&format!("/var/run/wireguard/{network}.sock")).exists());
}
