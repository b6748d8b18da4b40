//! A Docker engine of a host's own (Debian's `docker.io`), for the Docker scenario.
//!
//! `dockerd` runs inside the host's network namespace with its own data root, exec root,
//! pid file and socket under the host's directory, so it never meets another engine on the
//! machine, and its iptables rules live in the namespace. It keeps the machine's mount
//! namespace (`ip netns exec` would hide the cgroup mounts that `dockerd` needs behind a
//! fresh `/sys`). No registry is reachable, so images are imported from a root filesystem
//! assembled here from Debian's static busybox.
//!
//! Dropping the engine removes its containers and images, stops `dockerd` and deletes its
//! files, whether the scenario passed or not.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, ensure, Context as _, Result};

use super::{wait_until, Daemon, Host};

/// The bridge network Docker gives its containers: outside every address the worlds use.
const BRIDGE: &str = "172.31.77.1/24";

/// A running engine; see the module documentation.
pub struct Engine {
    daemon: Daemon,
    dir: PathBuf,
    socket: PathBuf,
    cli: String,
    containers: Vec<String>,
    images: Vec<String>,
}

/// The first of `candidates` that is a file, or the bare name (left to `PATH`).
fn program(candidates: &[&str], name: &str) -> String {
    candidates
        .iter()
        .find(|p| Path::new(p).is_file())
        .map(|p| p.to_string())
        .unwrap_or_else(|| name.to_owned())
}

impl Engine {
    /// Starts `dockerd` on `host` and waits until it answers.
    pub fn start(host: &Host) -> Result<Engine> {
        let dockerd = program(&["/usr/sbin/dockerd", "/usr/bin/dockerd"], "dockerd");
        ensure!(
            Path::new(&dockerd).is_file(),
            "no dockerd on this machine: install Debian's docker.io (the README's test command does)"
        );
        let dir = host.dir.join("docker");
        for sub in ["data", "exec"] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("create {}", dir.join(sub).display()))?;
        }
        let socket = dir.join("docker.sock");
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        let argv = vec![
            "nsenter".to_owned(),
            format!("--mount=/proc/{}/ns/mnt", std::process::id()),
            "--".to_owned(),
            dockerd,
            "--data-root".to_owned(),
            path(dir.join("data")),
            "--exec-root".to_owned(),
            path(dir.join("exec")),
            "--pidfile".to_owned(),
            path(dir.join("dockerd.pid")),
            "-H".to_owned(),
            format!("unix://{}", socket.display()),
            // Works on every file system the suite may run on (overlay2 does not on overlay).
            "--storage-driver".to_owned(),
            "vfs".to_owned(),
            "--bip".to_owned(),
            BRIDGE.to_owned(),
            "--log-level".to_owned(),
            "warn".to_owned(),
        ];
        let daemon = host.spawn("dockerd", argv, false)?;
        // Debian's CLI matches Debian's engine; another one on PATH may be far newer.
        let cli = program(&["/usr/bin/docker"], "docker");
        let engine = Engine {
            daemon,
            dir,
            socket,
            cli,
            containers: Vec::new(),
            images: Vec::new(),
        };
        wait_until("dockerd answers", Duration::from_secs(60), || {
            Ok(!engine.daemon.running() || engine.docker_raw(&["version"], None)?.status.success())
        })
        .with_context(|| format!("dockerd's log:\n{}", engine.daemon.log_text()))?;
        ensure!(
            engine.daemon.running(),
            "dockerd exited; its log:\n{}",
            engine.daemon.log_text()
        );
        Ok(engine)
    }

    fn docker_raw(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<std::process::Output> {
        let mut command = Command::new(&self.cli);
        command
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = command
            .spawn()
            .with_context(|| format!("run {} {args:?}", self.cli))?;
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin.take().context("docker's stdin")?;
            pipe.write_all(bytes).context("write to docker's stdin")?;
        }
        Ok(child.wait_with_output()?)
    }

    /// Runs the `docker` CLI against this engine; fails with its output unless it succeeds.
    pub fn docker(&self, args: &[&str]) -> Result<String> {
        self.docker_with_input(args, None)
    }

    fn docker_with_input(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String> {
        let output = self.docker_raw(args, stdin)?;
        if !output.status.success() {
            bail!(
                "docker {args:?} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Imports an image named `tag` holding a static busybox (with `/bin/sh`) and `/ok`, a
    /// script printing `ok` (the greeting `wiremesh-e2e probe tcp` waits for).
    pub fn import_busybox(&mut self, tag: &str) -> Result<()> {
        let busybox = program(&["/bin/busybox", "/usr/bin/busybox"], "busybox");
        let bytes = std::fs::read(&busybox)
            .with_context(|| format!("read {busybox}: install Debian's busybox-static"))?;
        ensure!(
            !has_interpreter(&bytes),
            "{busybox} is linked dynamically: install Debian's busybox-static instead of busybox"
        );
        let root = self.dir.join("rootfs");
        std::fs::create_dir_all(root.join("bin"))?;
        std::fs::write(root.join("bin/busybox"), &bytes)?;
        std::fs::write(root.join("ok"), "#!/bin/sh\necho ok\n")?;
        use std::os::unix::fs::PermissionsExt;
        for file in ["bin/busybox", "ok"] {
            std::fs::set_permissions(root.join(file), std::fs::Permissions::from_mode(0o755))?;
        }
        let sh = root.join("bin/sh");
        if !sh.exists() {
            std::os::unix::fs::symlink("busybox", &sh)?;
        }
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["-c", "."])
            .output()
            .context("run tar")?;
        ensure!(
            tar.status.success(),
            "tar of the root filesystem failed: {}",
            String::from_utf8_lossy(&tar.stderr)
        );
        self.docker_with_input(&["import", "-", tag], Some(&tar.stdout))?;
        self.images.push(tag.to_owned());
        Ok(())
    }

    /// `DOCKER_HOST` for this engine, for programs that talk to it (wiremesh's
    /// `--docker-networks`).
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker run -d ARGS...`; the container is removed when the engine is dropped.
    pub fn run_detached(&mut self, args: &[&str]) -> Result<String> {
        let mut full = vec!["run", "-d"];
        full.extend_from_slice(args);
        let id = self.docker(&full)?;
        self.containers.push(id.clone());
        Ok(id)
    }
}

/// Whether a 64-bit little-endian ELF file names a dynamic loader (a `PT_INTERP` header).
fn has_interpreter(elf: &[u8]) -> bool {
    let read = |at: usize, len: usize| -> Option<u64> {
        let bytes = elf.get(at..at + len)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    };
    let (Some(phoff), Some(entsize), Some(count)) = (read(0x20, 8), read(0x36, 2), read(0x38, 2))
    else {
        return false;
    };
    (0..count).any(|i| read((phoff + i * entsize) as usize, 4) == Some(3))
}

impl Drop for Engine {
    fn drop(&mut self) {
        for id in &self.containers {
            let _ = self.docker_raw(&["rm", "-f", id], None);
        }
        for tag in &self.images {
            let _ = self.docker_raw(&["rmi", "-f", tag], None);
        }
        self.daemon.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
