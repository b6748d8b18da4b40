//! Starting a userspace implementation as `<program> <iface>` and waiting until its UAPI
//! socket answers.
//!
//! Implementations such as wireguard-go daemonize: the launched process creates the TUN
//! device and the socket, hands both to a detached child and exits 0. Its stdout and stderr
//! are captured (through non-blocking pipes, so a chatty or hung launcher cannot block us) and
//! go into the error message when it fails. `LOG_LEVEL` is not passed on, because with it
//! wireguard-go's daemon would keep writing to those pipes after we close them.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::UserspaceBackend;
use crate::{Error, InterfaceName, Result};

/// How long the launching process may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often to look at the launcher and the socket while waiting.
const POLL: Duration = Duration::from_millis(10);
/// How much of the launcher's output is kept for the error message.
const MAX_OUTPUT: usize = 16 * 1024;

/// Launches the backend's program for `iface` and waits until its socket answers.
pub(super) fn launch(backend: &UserspaceBackend, iface: &InterfaceName) -> Result<()> {
    let launch_error = |reason: String| Error::Launch {
        iface: iface.clone(),
        program: backend.program.clone(),
        reason,
    };
    let mut command = Command::new(&backend.program);
    command
        .arg(iface.as_str())
        // Daemonizing is what lets us wait for the launcher to exit.
        .env_remove("WG_PROCESS_FOREGROUND")
        .env_remove("LOG_LEVEL")
        // Keeps implementations that drop privileges by default working when run as root.
        .env("WG_SUDO", "1")
        .envs(backend.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::ImplementationNotFound {
            program: backend.program.clone(),
            origin: backend.program_origin,
        },
        _ => launch_error(format!("it could not be started: {e}")),
    })?;

    let (status, output) = wait_for_exit(&mut child).map_err(&launch_error)?;
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("it exited with code {code}"),
            None => format!("it was stopped ({status})"),
        };
        return Err(launch_error(format!("{how}: {}", describe_output(&output))));
    }

    let deadline = Instant::now() + backend.start_timeout;
    loop {
        if backend.connect(iface)?.is_some() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(launch_error(format!(
                "it exited successfully but its socket {} did not answer within {:?} ({})",
                backend.socket_path(iface).display(),
                backend.start_timeout,
                describe_output(&output)
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// Waits for the launcher to exit while collecting its output; kills it after
/// [`EXIT_TIMEOUT`].
fn wait_for_exit(child: &mut Child) -> Result<(ExitStatus, Vec<u8>), String> {
    let mut pipes: Vec<Box<dyn ReadFd>> = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        pipes.push(Box::new(stdout));
    }
    if let Some(stderr) = child.stderr.take() {
        pipes.push(Box::new(stderr));
    }
    for pipe in &pipes {
        set_nonblocking(pipe.as_ref())
            .map_err(|e| format!("its output could not be captured: {e}"))?;
    }
    let mut output = Vec::new();
    let deadline = Instant::now() + EXIT_TIMEOUT;
    loop {
        for pipe in &mut pipes {
            drain(pipe.as_mut(), &mut output);
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                for pipe in &mut pipes {
                    drain(pipe.as_mut(), &mut output);
                }
                return Ok((status, output));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "it did not finish starting within {EXIT_TIMEOUT:?} and was killed ({})",
                    describe_output(&output)
                ));
            }
            Err(e) => return Err(format!("waiting for it failed: {e}")),
        }
    }
}

/// A readable pipe end with a file descriptor.
trait ReadFd: Read + AsRawFd {}
impl<T: Read + AsRawFd> ReadFd for T {}

fn set_nonblocking(pipe: &dyn ReadFd) -> io::Result<()> {
    let fd = pipe.as_raw_fd();
    // SAFETY: fcntl on a file descriptor this process owns (the pipe lives as long as `pipe`);
    // F_GETFL/F_SETFL only change its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads whatever is available without blocking, keeping at most [`MAX_OUTPUT`] bytes.
fn drain(pipe: &mut dyn ReadFd, output: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(output.len());
                output.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The launcher's output for an error message: decorative box lines (wireguard-go's banner
/// about the kernel module) dropped, lines joined, length bounded.
fn describe_output(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| !line.starts_with(|c: char| ('\u{2500}'..='\u{257f}').contains(&c)))
        .collect();
    if lines.is_empty() {
        return "it printed nothing".to_owned();
    }
    let joined = lines.join("; ");
    let mut shown: String = joined.chars().take(2000).collect();
    if shown.len() < joined.len() {
        shown.push('…');
    }
    format!("output: {shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(output: &str, expected: &str) {
        assert_eq!(describe_output(output.as_bytes()), expected, "{output:?}");
    }

    #[test]
    fn describes_output() {
        check("", "it printed nothing");
        check("\n  \n", "it printed nothing");
        check("boom\n", "output: boom");
        check(
            "┌───┐\n│ Running wireguard-go is not required │\n└───┘\nERROR: (wgx) Failed to create TUN device: busy\n",
            "output: ERROR: (wgx) Failed to create TUN device: busy",
        );
        check("a\nb\n", "output: a; b");
        assert!(describe_output("x".repeat(5000).as_bytes()).ends_with('…'));
        assert_eq!(
            describe_output(b"\xff\xfe bad utf8"),
            "output: \u{fffd}\u{fffd} bad utf8"
        );
    }
}
