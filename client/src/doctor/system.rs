//! What `doctor` reads outside the [`Context`](crate::Context): `rp_filter` sysctls, the
//! wireguard kernel module, userspace UAPI sockets, the interface's addresses and the
//! current user. [`LiveSystem`] reads the real machine; tests implement [`SystemProbe`]
//! with fixed values.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::{Backend, BackendKind, InterfaceName};

use super::evaluate::parse_rp_filter;

/// Which WireGuard implementation serves an interface, as far as the host shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Implementation {
    /// The kernel backend: whether `/sys/module/wireguard` exists (a built-in WireGuard
    /// may lack it), and the UAPI socket of a userspace implementation that answers for the
    /// same name, if one does (a sign that the wrong backend was chosen).
    Kernel {
        module_loaded: bool,
        userspace_socket: Option<PathBuf>,
    },
    /// The userspace backend: the program it launches (`WG_USERSPACE_IMPLEMENTATION`, else
    /// `WG_QUICK_USERSPACE_IMPLEMENTATION`, else `wireguard-go`), the interface's socket and
    /// whether an implementation answers on it.
    Userspace {
        program: String,
        socket: PathBuf,
        socket_exists: bool,
    },
    /// The in-memory fake of the tests.
    Fake,
}

/// The host facts `doctor` needs besides files, the backend and the API.
pub trait SystemProbe {
    /// The effective user id (owners of private files are compared with it).
    fn effective_uid(&self) -> u32;

    /// `net.ipv4.conf.<conf>.rp_filter` of this network namespace (`conf` is `all` or an
    /// interface name), or why it could not be read.
    fn rp_filter(&self, conf: &str) -> Result<u8, String>;

    /// Every interface of this network namespace that has IPv4 settings, but `lo` (the
    /// entries of `/proc/sys/net/ipv4/conf` other than `all`, `default` and `lo`).
    fn interfaces(&self) -> Result<Vec<String>, String>;

    /// The addresses (with prefix) on the interface's link, or why they could not be read.
    fn addresses(&self, iface: &InterfaceName) -> Result<Vec<IpNet>, String>;

    /// The implementation behind `iface` for a backend of this kind.
    fn implementation(&self, backend: BackendKind, iface: &InterfaceName) -> Implementation;
}

/// [`SystemProbe`] of the real machine: `/proc/sys/net/ipv4/conf`, `/sys/module/wireguard`,
/// rtnetlink, and the socket directory and program of [`UserspaceBackend::new`].
#[derive(Debug, Clone)]
pub struct LiveSystem {
    userspace: UserspaceBackend,
}

impl Default for LiveSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveSystem {
    pub fn new() -> Self {
        Self {
            userspace: UserspaceBackend::new(),
        }
    }

    /// The userspace socket of `iface`, and whether an implementation answers on it (a
    /// stale file of a crashed one does not count).
    fn socket(&self, iface: &InterfaceName) -> (PathBuf, bool) {
        let socket = self.userspace.socket_path(iface);
        let answers = self.userspace.exists(iface).unwrap_or(false);
        (socket, answers)
    }
}

impl SystemProbe for LiveSystem {
    fn effective_uid(&self) -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    fn rp_filter(&self, conf: &str) -> Result<u8, String> {
        let path = Path::new("/proc/sys/net/ipv4/conf")
            .join(conf)
            .join("rp_filter");
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("failed to read {}: {error}", path.display()))?;
        parse_rp_filter(&text)
    }

    fn interfaces(&self) -> Result<Vec<String>, String> {
        let dir = Path::new("/proc/sys/net/ipv4/conf");
        let entries = std::fs::read_dir(dir)
            .map_err(|error| format!("failed to read {}: {error}", dir.display()))?;
        let mut names: Vec<String> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !matches!(name.as_str(), "all" | "default" | "lo"))
            .collect();
        names.sort();
        Ok(names)
    }

    fn addresses(&self, iface: &InterfaceName) -> Result<Vec<IpNet>, String> {
        let all = wireguard_control::link::local_addresses().map_err(|e| e.to_string())?;
        Ok(all
            .into_iter()
            .filter(|a| a.iface == iface.as_str())
            .filter_map(|a| IpNet::new(a.addr, a.prefix_len).ok())
            .collect())
    }

    fn implementation(&self, backend: BackendKind, iface: &InterfaceName) -> Implementation {
        let (socket, socket_exists) = self.socket(iface);
        match backend {
            BackendKind::Kernel => Implementation::Kernel {
                module_loaded: Path::new("/sys/module/wireguard").exists(),
                userspace_socket: socket_exists.then_some(socket),
            },
            BackendKind::Userspace => Implementation::Userspace {
                program: self.userspace.program().to_owned(),
                socket,
                socket_exists,
            },
            BackendKind::Fake => Implementation::Fake,
        }
    }
}
