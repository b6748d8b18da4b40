//! The userspace backend: interfaces driven by wireguard-go (or another implementation of the
//! cross-platform UAPI) through `<socket dir>/<iface>.sock`, which it can also launch.
//!
//! Submodules: [`uapi`] speaks the text protocol over any stream; `launch` starts an
//! implementation and waits for its socket.
//!
//! Interfaces are discovered from the `*.sock` files whose socket accepts a connection (stale
//! files of crashed implementations are skipped). The socket directory is shared by every
//! network namespace of the machine, so [`UserspaceBackend::list`](crate::Backend::list) shows
//! userspace interfaces of all namespaces, and names must be unique machine-wide.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Backend, BackendKind, Created, Device, DeviceUpdate, Error, InterfaceName, Result};

mod launch;
pub mod uapi;

/// Where implementations put their sockets when `/var/run/wireguard` does not exist.
const FALLBACK_SOCKET_DIR: &str = "/run/wireguard";
const PREFERRED_SOCKET_DIR: &str = "/var/run/wireguard";

/// How long [`Backend::delete`] waits for the implementation to let go of the interface.
const DELETE_WAIT: Duration = Duration::from_secs(2);

/// Drives userspace WireGuard implementations through their UAPI sockets.
#[derive(Debug, Clone)]
pub struct UserspaceBackend {
    socket_dir: PathBuf,
    /// The program [`Backend::create`] launches as `<program> <iface>`.
    program: String,
    /// Where `program` came from, for the "not found" message.
    program_origin: &'static str,
    /// Extra environment for the launched program, applied last.
    env: Vec<(OsString, OsString)>,
    /// Bound on every single read or write on a socket, so a hung implementation cannot block
    /// a caller forever.
    io_timeout: Duration,
    /// How long [`Backend::create`] waits for a launched implementation to come up.
    start_timeout: Duration,
}

impl Default for UserspaceBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl UserspaceBackend {
    /// The backend as configured by this host: socket directory `/var/run/wireguard` if it
    /// exists, else `/run/wireguard`; the program from `WG_USERSPACE_IMPLEMENTATION`, else
    /// `WG_QUICK_USERSPACE_IMPLEMENTATION`, else `wireguard-go`.
    pub fn new() -> Self {
        let socket_dir = if Path::new(PREFERRED_SOCKET_DIR).is_dir() {
            PREFERRED_SOCKET_DIR
        } else {
            FALLBACK_SOCKET_DIR
        };
        let from_env = |var: &str| std::env::var(var).ok().filter(|value| !value.is_empty());
        let (program, program_origin) =
            if let Some(program) = from_env("WG_USERSPACE_IMPLEMENTATION") {
                (
                    program,
                    "the environment variable WG_USERSPACE_IMPLEMENTATION",
                )
            } else if let Some(program) = from_env("WG_QUICK_USERSPACE_IMPLEMENTATION") {
                (
                    program,
                    "the environment variable WG_QUICK_USERSPACE_IMPLEMENTATION",
                )
            } else {
                ("wireguard-go".to_owned(), "the built-in default")
            };
        Self {
            socket_dir: socket_dir.into(),
            program,
            program_origin,
            env: Vec::new(),
            io_timeout: Duration::from_secs(10),
            start_timeout: Duration::from_secs(5),
        }
    }

    /// Uses another socket directory (tests).
    pub fn with_socket_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.socket_dir = dir.into();
        self
    }

    /// Launches `program` (a name looked up on `PATH`, or a path) instead.
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self.program_origin = "the program configured by the caller";
        self
    }

    /// Sets an environment variable for the launched program.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Bounds each read and write on a UAPI socket (default 10 s).
    pub fn with_io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// Bounds how long `create` waits for a launched implementation (default 5 s).
    pub fn with_start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    /// `<socket dir>/<iface>.sock`.
    pub fn socket_path(&self, iface: &InterfaceName) -> PathBuf {
        self.socket_dir.join(format!("{iface}.sock"))
    }

    fn name_path(&self, iface: &InterfaceName) -> PathBuf {
        self.socket_dir.join(format!("{iface}.name"))
    }

    /// A connection to the interface's socket with timeouts set, or `None` when no
    /// implementation answers there (no file, or a stale one).
    fn connect(&self, iface: &InterfaceName) -> Result<Option<UnixStream>> {
        let path = self.socket_path(iface);
        let stream = match UnixStream::connect(&path) {
            Ok(stream) => stream,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(source) => {
                return Err(Error::Socket {
                    path,
                    action: "connect to",
                    source,
                })
            }
        };
        stream
            .set_read_timeout(Some(self.io_timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.io_timeout)))
            .map_err(|source| Error::Socket {
                path,
                action: "set timeouts on",
                source,
            })?;
        Ok(Some(stream))
    }

    fn connect_existing(&self, iface: &InterfaceName) -> Result<UnixStream> {
        self.connect(iface)?.ok_or_else(|| Error::NotFound {
            iface: iface.clone(),
        })
    }

    /// Removes a file, treating "already gone" as success.
    fn remove_file(&self, path: PathBuf) -> Result<()> {
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Socket {
                path,
                action: "remove",
                source,
            }),
        }
    }
}

/// Whether a connect error means "nothing listens there".
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

/// Waits until the peer closes `stream` (the implementation exited) or `timeout` passes.
fn wait_for_close(mut stream: UnixStream, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

impl Backend for UserspaceBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Userspace
    }

    fn list(&self) -> Result<Vec<InterfaceName>> {
        let entries = match std::fs::read_dir(&self.socket_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Socket {
                    path: self.socket_dir.clone(),
                    action: "list",
                    source,
                })
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Socket {
                path: self.socket_dir.clone(),
                action: "list",
                source,
            })?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|f| f.strip_suffix(".sock")) else {
                continue;
            };
            let Ok(iface) = name.parse::<InterfaceName>() else {
                continue;
            };
            if self.connect(&iface)?.is_some() {
                names.push(iface);
            }
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, iface: &InterfaceName) -> Result<bool> {
        Ok(self.connect(iface)?.is_some())
    }

    fn create(&self, iface: &InterfaceName) -> Result<Created> {
        if self.connect(iface)?.is_some() {
            return Ok(Created::AlreadyExisted);
        }
        // A socket file nobody answers on is left over from a crashed implementation.
        self.remove_file(self.socket_path(iface))?;
        self.remove_file(self.name_path(iface))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .create(&self.socket_dir)
            .map_err(|source| Error::Socket {
                path: self.socket_dir.clone(),
                action: "create",
                source,
            })?;
        launch::launch(self, iface)?;
        Ok(Created::New)
    }

    fn get(&self, iface: &InterfaceName) -> Result<Device> {
        let stream = self.connect_existing(iface)?;
        uapi::uapi_get(iface, &stream)
    }

    fn apply(&self, iface: &InterfaceName, update: &DeviceUpdate) -> Result<()> {
        let stream = self.connect_existing(iface)?;
        uapi::uapi_set(iface, update, &stream)
    }

    /// Removes the socket (and `.name` file); the implementation notices and exits, taking its
    /// TUN device with it. Waits up to 2 s for that, so that the name can be reused at once.
    fn delete(&self, iface: &InterfaceName) -> Result<()> {
        let live = self.connect(iface)?;
        self.remove_file(self.socket_path(iface))?;
        self.remove_file(self.name_path(iface))?;
        match live {
            Some(stream) => {
                wait_for_close(stream, DELETE_WAIT);
                Ok(())
            }
            None => Err(Error::NotFound {
                iface: iface.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> InterfaceName {
        s.parse().unwrap()
    }

    #[test]
    fn missing_socket_dir_lists_nothing_and_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let backend = UserspaceBackend::new().with_socket_dir(dir.path().join("absent"));
        assert_eq!(backend.list().unwrap(), Vec::<InterfaceName>::new());
        assert!(!backend.exists(&name("wg0")).unwrap());
        assert!(matches!(
            backend.get(&name("wg0")),
            Err(Error::NotFound { .. })
        ));
        let update = DeviceUpdate::new().set_listen_port(1);
        assert!(matches!(
            backend.apply(&name("wg0"), &update),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            backend.delete(&name("wg0")),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn stale_sockets_are_skipped_and_live_ones_listed() {
        let dir = tempfile::tempdir().unwrap();
        let backend = UserspaceBackend::new().with_socket_dir(dir.path());
        let live = std::os::unix::net::UnixListener::bind(dir.path().join("live0.sock")).unwrap();
        drop(std::os::unix::net::UnixListener::bind(dir.path().join("stale0.sock")).unwrap());
        std::fs::write(dir.path().join("other.name"), "other").unwrap();
        std::fs::write(dir.path().join("not a name at all.sock"), "").unwrap();
        assert_eq!(backend.list().unwrap(), vec![name("live0")]);
        assert!(backend.exists(&name("live0")).unwrap());
        assert!(!backend.exists(&name("stale0")).unwrap());
        // Deleting a stale socket cleans it up but reports that the interface was not there.
        assert!(matches!(
            backend.delete(&name("stale0")),
            Err(Error::NotFound { .. })
        ));
        assert!(!dir.path().join("stale0.sock").exists());
        drop(live);
    }

    /// Serves one connection on `<dir>/<name>.sock`: reads a request up to its blank line and
    /// answers `answer` (or nothing, to play a hung implementation).
    fn serve_once(
        dir: &Path,
        name: &str,
        answer: Option<&'static [u8]>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        use std::io::{BufRead, BufReader, Write};
        let listener =
            std::os::unix::net::UnixListener::bind(dir.join(format!("{name}.sock"))).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(&stream);
            let mut request = Vec::new();
            loop {
                let before = request.len();
                if reader.read_until(b'\n', &mut request).unwrap() == 0 {
                    break;
                }
                if request.len() - before == 1 && request.len() > 1 {
                    break;
                }
            }
            match answer {
                Some(answer) => (&stream).write_all(answer).unwrap(),
                None => std::thread::sleep(Duration::from_millis(500)),
            }
            request
        })
    }

    #[test]
    fn apply_sends_set_and_reports_errno() {
        let dir = tempfile::tempdir().unwrap();
        let backend = UserspaceBackend::new().with_socket_dir(dir.path());
        let server = serve_once(dir.path(), "wgset", Some(b"errno=-22\n\n"));
        let update = DeviceUpdate::new().set_listen_port(51820);
        let err = backend.apply(&name("wgset"), &update).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Uapi {
                    operation: "set",
                    errno: -22,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(server.join().unwrap(), b"set=1\nlisten_port=51820\n\n");
    }

    #[test]
    fn a_hung_implementation_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let backend = UserspaceBackend::new()
            .with_socket_dir(dir.path())
            .with_io_timeout(Duration::from_millis(100));
        let server = serve_once(dir.path(), "wghung", None);
        // The timeout is what ends the call (a hang would block this test forever).
        let err = backend.get(&name("wghung")).unwrap_err();
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == io::ErrorKind::TimedOut),
            "{err}"
        );
        assert!(err.to_string().contains("did not answer in time"), "{err}");
        assert_eq!(server.join().unwrap(), b"get=1\n\n");
    }

    #[test]
    fn program_comes_from_the_caller_when_overridden() {
        let backend = UserspaceBackend::new().with_program("/opt/wg-impl");
        assert_eq!(backend.program(), "/opt/wg-impl");
        assert_eq!(
            backend.program_origin,
            "the program configured by the caller"
        );
    }
}
