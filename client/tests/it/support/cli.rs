//! Running the `wiremesh` binary in tests: one [`Host`] per simulated machine, with its own
//! config and data directories, stdin closed (so no prompt can be shown), the userspace
//! backend (no kernel interface is ever looked at) and optionally `--api-address`.

use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;
use wiremesh_shared::config::{ClientConfig, InterfaceInfo, PeerCache, ServerInfo};

/// One simulated machine with one network called `iface`.
pub struct Host {
    pub dir: TempDir,
    pub iface: String,
    /// Passed as `--api-address` when set.
    pub api: Option<SocketAddr>,
}

impl Host {
    pub fn new(iface: &str) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            iface: iface.to_owned(),
            api: None,
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    pub fn config_path(&self) -> PathBuf {
        self.config_dir().join(format!("{}.conf", self.iface))
    }

    /// A path in the host's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the network's config (mode 0600), as `install` leaves it.
    pub fn write_config(&self, config: &ClientConfig) {
        fs::create_dir_all(self.config_dir()).unwrap();
        fs::write(self.config_path(), config.to_toml_string()).unwrap();
        fs::set_permissions(self.config_path(), fs::Permissions::from_mode(0o600)).unwrap();
    }

    pub fn write_cache(&self, cache: &PeerCache) {
        fs::create_dir_all(self.data_dir()).unwrap();
        let path = self.data_dir().join(format!("{}.json", self.iface));
        fs::write(path, cache.to_json_string().unwrap()).unwrap();
    }

    pub fn config(&self) -> ClientConfig {
        ClientConfig::from_toml_str(&fs::read_to_string(self.config_path()).unwrap()).unwrap()
    }

    pub fn config_mode(&self) -> u32 {
        fs::metadata(self.config_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    /// [`Host::run`] with the arguments split at whitespace (test paths have no spaces).
    pub fn run_line(&self, line: &str) -> Output {
        self.run(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Runs `wiremesh -c … -d … --backend userspace [--api-address …] <args>`, with the
    /// network's name substituted for every `@`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    /// [`Host::run`] with `input` on standard input (closed when `None`).
    pub fn run_with_stdin(&self, args: &[&str], input: Option<&str>) -> Output {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "@" { self.iface.as_str() } else { a })
            .collect();
        let mut command = Command::new(env!("CARGO_BIN_EXE_wiremesh"));
        command
            .arg("-c")
            .arg(self.config_dir())
            .arg("-d")
            .arg(self.data_dir())
            .args(["--backend", "userspace"]);
        if let Some(api) = self.api {
            command.args(["--api-address", &api.to_string()]);
        }
        command
            .args(&args)
            .env_remove("WIREMESH_API_ADDRESS")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let Some(input) = input else {
            return command.stdin(Stdio::null()).output().unwrap();
        };
        let mut child = command.stdin(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A command may refuse before it reads its input and exit: the
        // write then fails with a broken pipe, which is not the test's concern.
        match stdin.write_all(input.as_bytes()) {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                panic!("writing the command's standard input: {error}")
            }
            _ => {}
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    }
}

/// Asserts the exit status and that stderr contains every fragment; returns stdout.
/// With `WM_SHOW` set, prints every output (to read the messages).
pub fn check(output: &Output, code: i32, fragments: &[&str]) -> String {
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let err = String::from_utf8_lossy(&output.stderr);
    if std::env::var_os("WM_SHOW").is_some() {
        eprintln!("[{code}] {out}{err}");
    }
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {out}\nstderr: {err}"
    );
    for fragment in fragments {
        assert!(err.contains(fragment), "stderr lacks {fragment:?}:\n{err}");
    }
    out
}

/// The config of a host on network "evilcorp" (10.66.0.0/16) at `address`, with fresh keys,
/// whose server is at 203.0.113.1:51820 (10.66.0.1 inside).
pub fn sample_config(address: &str) -> ClientConfig {
    ClientConfig {
        interface: InterfaceInfo {
            network_name: "evilcorp".to_owned(),
            address: address.parse().unwrap(),
            private_key: wireguard_control::PrivateKey::generate(),
            listen_port: None,
            backend: None,
        },
        server: ServerInfo {
            public_key: wireguard_control::PrivateKey::generate().public_key(),
            external_endpoint: "203.0.113.1:51820".parse().unwrap(),
            internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
        },
        peer_endpoint_overrides: Default::default(),
        routes: Default::default(),
    }
}
