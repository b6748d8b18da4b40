//! Running the built `wiremesh-server` binary in tests: temporary config and data
//! directories, standard input closed (no terminal, so every prompt must come from a flag).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BINARY: &str = env!("CARGO_BIN_EXE_wiremesh-server");

/// One server's directories.
pub struct Server {
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("lib")
    }

    pub fn config_file(&self, network: &str) -> PathBuf {
        self.config_dir().join(format!("{network}.conf"))
    }

    pub fn database_file(&self, network: &str) -> PathBuf {
        self.data_dir().join(format!("{network}.db"))
    }

    /// A path inside the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with `-c`/`-d` set, stdin closed, `RUST_LOG` unset.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .arg("-c")
            .arg(self.config_dir())
            .arg("-d")
            .arg(self.data_dir())
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("failed to run {BINARY}: {e}"))
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a command that must exit with `code`; returns its stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: stdout {}, stderr {stderr}",
            String::from_utf8_lossy(&output.stdout)
        );
        stderr
    }

    /// `new` fully by flags.
    pub fn new_network(&self, network: &str, cidr: &str) -> String {
        self.ok(&[
            "new",
            "--network-name",
            network,
            "--network-cidr",
            cidr,
            "--external-endpoint",
            "192.0.2.1:51820",
            "--listen-port",
            "51820",
        ])
    }

    pub fn list(&self, network: &str) -> String {
        self.ok(&["list", network])
    }
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Asserts that `text` contains every fragment.
pub fn assert_contains(text: &str, fragments: &[&str]) {
    for fragment in fragments {
        assert!(text.contains(fragment), "{text:?} lacks {fragment:?}");
    }
}
