//! A host of the suite: run a command on it, read its output, start a daemon on it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::{Daemon, Shared};

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Ran {
    pub argv: Vec<String>,
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn from_output(argv: Vec<String>, output: Output) -> Self {
        Ran {
            argv,
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Fails with everything the command printed unless it succeeded.
    pub fn ok(self) -> Result<Ran> {
        if !self.success {
            bail!(
                "{:?} failed (exit {:?}):\n{}{}",
                self.argv,
                self.code,
                self.stdout,
                self.stderr
            );
        }
        Ok(self)
    }

    /// Fails unless the command failed, returning what it said.
    pub fn failed(self) -> Result<Ran> {
        if self.success {
            bail!(
                "{:?} succeeded but was expected to fail:\n{}",
                self.argv,
                self.stdout
            );
        }
        Ok(self)
    }

    /// stdout and stderr together.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// One host: its own network stack and its own directory for config, data and logs.
#[derive(Clone)]
pub struct Host {
    pub name: String,
    /// The driver's name of the host (the namespace).
    pub id: String,
    /// The host's address on the network it is plugged into, once it has one.
    pub address: Option<IpAddr>,
    pub dir: PathBuf,
    pub(super) shared: Arc<Shared>,
    /// Environment variables set with [`Host::set_env`], shared by every clone.
    pub(super) extra_env: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Host {
    fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert(
            "WG_USERSPACE_IMPLEMENTATION".into(),
            self.shared.userspace.clone(),
        );
        // WIREMESH_E2E_LOG (e.g. `debug`) sets the daemons' log filter; `info` otherwise.
        let filter = std::env::var("WIREMESH_E2E_LOG").unwrap_or_else(|_| "info".into());
        env.insert("RUST_LOG".into(), filter);
        env.insert("NO_COLOR".into(), "1".into());
        env.extend(
            self.extra_env
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        );
        env
    }

    /// Sets an environment variable for every program started on this host from now on
    /// (one-shot commands and daemons; a supervisor keeps what its daemon started with).
    pub fn set_env(&self, key: &str, value: &str) {
        self.extra_env
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), value.to_owned());
    }

    /// Runs a command on the host.
    pub fn run(&self, argv: &[&str]) -> Result<Ran> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let output = self.shared.driver.output(&self.id, &argv, &self.env())?;
        Ok(Ran::from_output(argv, output))
    }

    /// Runs a command and fails unless it succeeds.
    pub fn ok(&self, argv: &[&str]) -> Result<Ran> {
        self.run(argv)?
            .ok()
            .with_context(|| format!("on host {}", self.name))
    }

    /// The path of a program: wiremesh's own from the build directory, others (innernet's
    /// binaries for the interoperability scenarios) from `PATH`.
    fn program_path(&self, program: &str) -> String {
        if program.starts_with("wiremesh") {
            return self
                .shared
                .bin_dir
                .join(program)
                .to_string_lossy()
                .into_owned();
        }
        std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(program))
                    .find(|p| p.is_file())
            })
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.to_owned())
    }

    pub fn config_dir(&self, program: &str) -> PathBuf {
        self.dir.join(program).join("etc")
    }

    pub fn data_dir(&self, program: &str) -> PathBuf {
        self.dir.join(program).join("lib")
    }

    pub fn hosts_file(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    /// The argv of a wiremesh-family program with this host's directories and the
    /// userspace backend.
    pub fn tool_argv(&self, program: &str, args: &[&str]) -> Vec<String> {
        // innernet's tools do not create missing parent directories; wiremesh's do, and it
        // does not hurt them to find the directories there (mode 0700, as both create them).
        for dir in [self.config_dir(program), self.data_dir(program)] {
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let mut argv = vec![
            self.program_path(program),
            "-c".to_owned(),
            self.config_dir(program).to_string_lossy().into_owned(),
            "-d".to_owned(),
            self.data_dir(program).to_string_lossy().into_owned(),
        ];
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    /// Runs `wiremesh-server` (with this host's directories).
    pub fn server(&self, args: &[&str]) -> Result<Ran> {
        let argv = self.tool_argv("wiremesh-server", args);
        self.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Runs `wiremesh` (with this host's directories).
    pub fn client(&self, args: &[&str]) -> Result<Ran> {
        let argv = self.tool_argv("wiremesh", args);
        self.run(&argv.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Starts a daemon; its output goes to `<run dir>/<host>-<label>.log`. With `restart`,
    /// it is restarted a second after it exits, like systemd's `Restart=always`.
    pub fn spawn(&self, label: &str, argv: Vec<String>, restart: bool) -> Result<Daemon> {
        let log = self.shared.dir.join(format!("{}-{label}.log", self.name));
        let child = self
            .shared
            .driver
            .spawn(&self.id, &argv, &self.env(), &log)?;
        let daemon = Daemon {
            label: format!("{}/{label}", self.name),
            log,
            state: Arc::new(Mutex::new(super::DaemonState {
                child: Some(child),
                stopped: false,
            })),
        };
        if restart {
            let (driver, id, env, state, log) = (
                self.shared.driver.clone(),
                self.id.clone(),
                self.env(),
                daemon.state.clone(),
                daemon.log.clone(),
            );
            std::thread::spawn(move || supervise(driver, id, argv, env, state, log));
        }
        self.shared
            .daemons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(daemon.clone());
        Ok(daemon)
    }

    /// `wg show <iface> dump` on this host.
    pub fn wg_dump(&self, iface: &str) -> Result<String> {
        Ok(self.ok(&["wg", "show", iface, "dump"])?.stdout)
    }

    /// Public keys of the peers on `iface`.
    pub fn wg_peer_keys(&self, iface: &str) -> Result<Vec<String>> {
        let dump = self.wg_dump(iface)?;
        Ok(dump
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next().map(str::to_owned))
            .collect())
    }

    /// Whether `target` answers one ping within 2 s.
    pub fn ping(&self, target: IpAddr) -> Result<bool> {
        let target = target.to_string();
        Ok(self.run(&["ping", "-c", "1", "-W", "2", &target])?.success)
    }

    /// The argv of this test binary itself (its `ports` and `probe` helpers), run here.
    pub fn self_argv(args: &[&str]) -> Result<Vec<String>> {
        let mut argv = vec![std::env::current_exe()?.to_string_lossy().into_owned()];
        argv.extend(args.iter().map(|s| s.to_string()));
        Ok(argv)
    }

    /// Whether a new `proto` (tcp or udp) connection to `target:port` gets through and is
    /// answered (the target runs `wiremesh-e2e ports`).
    pub fn reaches(&self, proto: &str, target: IpAddr, port: u16) -> Result<bool> {
        let argv = Self::self_argv(&["probe", proto, &target.to_string(), &port.to_string()])?;
        Ok(self
            .run(&argv.iter().map(String::as_str).collect::<Vec<_>>())?
            .success)
    }

    /// Pings until it works or `timeout` passes.
    pub fn ping_within(&self, target: IpAddr, timeout: Duration) -> Result<()> {
        wait_until(&format!("{} pings {target}", self.name), timeout, || {
            self.ping(target)
        })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn read(&self, path: &Path) -> Result<String> {
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
    }
}

fn supervise(
    driver: Arc<dyn super::driver::Driver>,
    id: String,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    state: Arc<Mutex<super::DaemonState>>,
    log: PathBuf,
) {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
        if guard.stopped {
            return;
        }
        let exited = matches!(
            guard.child.as_mut().map(Child::try_wait),
            Some(Ok(Some(_))) | None
        );
        if exited {
            drop(guard);
            std::thread::sleep(Duration::from_secs(1));
            let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
            if guard.stopped {
                return;
            }
            if let Ok(child) = driver.spawn(&id, &argv, &env, &log) {
                guard.child = Some(child);
            }
        }
    }
}

/// Polls `check` every 200 ms until it returns true or `timeout` passes.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match check() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > timeout {
            match last_error {
                Some(e) => {
                    bail!("timed out after {timeout:?} waiting until {what} (last error: {e:#})")
                }
                None => bail!("timed out after {timeout:?} waiting until {what}"),
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
