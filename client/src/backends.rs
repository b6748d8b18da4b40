//! The host's backend: for each network, the WireGuard implementation that drives (or will
//! drive) its interface, so that no command has to be told again what `install` was told.
//!
//! For an interface, [`HostBackend`] uses, in this order:
//! 1. the implementation named on the command line (`--backend`), when there is one;
//! 2. the implementation the interface is running on now: a userspace interface answers on
//!    its UAPI socket, a kernel one is a WireGuard link;
//! 3. the implementation recorded in the network's config (`backend = …` in `[interface]`,
//!    written by `install` and by `up --backend`);
//! 4. the kernel.
//!
//! A running interface wins over the record, so a command never reports an interface "not
//! up" that is up on the other implementation. Listing without `--backend` lists both.

use std::sync::Arc;

use wireguard_control::backend::kernel::KernelBackend;
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::backend::Created;
use wireguard_control::{Backend, BackendKind, Device, DeviceUpdate, InterfaceName, Result};
use wiremesh_shared::config::ClientConfig;

use crate::context::Paths;
use crate::error::ClientError;
use crate::files;

/// Chooses the kernel or the userspace backend per interface (see the module docs).
pub struct HostBackend {
    kernel: Arc<dyn Backend>,
    userspace: Arc<dyn Backend>,
    forced: Option<BackendKind>,
    paths: Paths,
}

impl HostBackend {
    /// The system's kernel and userspace backends, with the configs under `paths`;
    /// `forced` is the command line's `--backend`.
    pub fn new(paths: Paths, forced: Option<BackendKind>) -> Self {
        Self::with_backends(
            Arc::new(KernelBackend::new()),
            Arc::new(UserspaceBackend::new()),
            paths,
            forced,
        )
    }

    /// The same with given backends (tests use fakes or a private socket directory).
    pub fn with_backends(
        kernel: Arc<dyn Backend>,
        userspace: Arc<dyn Backend>,
        paths: Paths,
        forced: Option<BackendKind>,
    ) -> Self {
        Self {
            kernel,
            userspace,
            forced,
            paths,
        }
    }

    fn by_kind(&self, kind: BackendKind) -> &dyn Backend {
        match kind {
            BackendKind::Userspace => self.userspace.as_ref(),
            _ => self.kernel.as_ref(),
        }
    }

    fn choose(&self, iface: &InterfaceName) -> &dyn Backend {
        self.by_kind(self.choose_kind(iface))
    }

    fn choose_kind(&self, iface: &InterfaceName) -> BackendKind {
        if let Some(kind) = self.forced {
            return kind;
        }
        // An error while looking (a socket directory that cannot be read, netlink refused)
        // is not an answer: the next step decides, and the chosen backend then reports the
        // error itself if it meets it again.
        if matches!(self.userspace.exists(iface), Ok(true)) {
            return BackendKind::Userspace;
        }
        if matches!(self.kernel.exists(iface), Ok(true)) {
            return BackendKind::Kernel;
        }
        recorded(&self.paths, iface).unwrap_or(BackendKind::Kernel)
    }
}

/// The backend recorded in `<config-dir>/<iface>.conf`, if the file says. An unreadable or
/// invalid config records nothing here; the command that needs the config says what is wrong
/// with it.
pub fn recorded(paths: &Paths, iface: &InterfaceName) -> Option<BackendKind> {
    let text = std::fs::read_to_string(paths.config_file(iface)).ok()?;
    ClientConfig::from_toml_str(&text).ok()?.interface.backend
}

impl Backend for HostBackend {
    /// The command line's choice, else the kernel: what a new interface without a record
    /// gets. [`Backend::kind_of`] answers for a given interface.
    fn kind(&self) -> BackendKind {
        self.forced.unwrap_or(BackendKind::Kernel)
    }

    fn kind_of(&self, iface: &InterfaceName) -> BackendKind {
        self.choose_kind(iface)
    }

    fn list(&self) -> Result<Vec<InterfaceName>> {
        if let Some(kind) = self.forced {
            return self.by_kind(kind).list();
        }
        let mut names = self.userspace.list()?;
        for name in self.kernel.list()? {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, iface: &InterfaceName) -> Result<bool> {
        self.choose(iface).exists(iface)
    }

    fn create(&self, iface: &InterfaceName) -> Result<Created> {
        self.choose(iface).create(iface)
    }

    fn get(&self, iface: &InterfaceName) -> Result<Device> {
        self.choose(iface).get(iface)
    }

    fn apply(&self, iface: &InterfaceName, update: &DeviceUpdate) -> Result<()> {
        self.choose(iface).apply(iface, update)
    }

    fn delete(&self, iface: &InterfaceName) -> Result<()> {
        self.choose(iface).delete(iface)
    }
}

/// What a config records for an interface on `kind`: the real implementations only (the
/// test fake is never written down).
pub fn recordable(kind: BackendKind) -> Option<BackendKind> {
    matches!(kind, BackendKind::Kernel | BackendKind::Userspace).then_some(kind)
}

/// Records `kind` as the network's backend in its config, if the config says otherwise
/// (`up --backend`); returns whether it changed the file.
pub fn record(
    paths: &Paths,
    iface: &InterfaceName,
    kind: BackendKind,
) -> Result<bool, ClientError> {
    let mut config = files::load_config(paths, iface)?;
    let wanted = recordable(kind);
    if wanted.is_none() || config.interface.backend == wanted {
        return Ok(false);
    }
    config.interface.backend = wanted;
    files::save_config(paths, iface, &config)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use wireguard_control::backend::fake::FakeBackend;
    use wireguard_control::PrivateKey;
    use wiremesh_shared::config::{InterfaceInfo, ServerInfo};

    use super::*;

    struct Host {
        _dir: tempfile::TempDir,
        paths: Paths,
        kernel: Arc<FakeBackend>,
        userspace: Arc<FakeBackend>,
    }

    impl Host {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let paths = Paths::new(dir.path().join("etc"), dir.path().join("var"));
            Self {
                _dir: dir,
                paths,
                kernel: Arc::new(FakeBackend::new()),
                userspace: Arc::new(FakeBackend::new()),
            }
        }

        fn backend(&self, forced: Option<BackendKind>) -> HostBackend {
            HostBackend::with_backends(
                self.kernel.clone(),
                self.userspace.clone(),
                self.paths.clone(),
                forced,
            )
        }

        fn install(&self, iface: &InterfaceName, backend: Option<BackendKind>) {
            let config = ClientConfig {
                interface: InterfaceInfo {
                    network_name: iface.to_string(),
                    address: "10.66.1.2/16".parse().unwrap(),
                    private_key: PrivateKey::from_bytes([1; 32]),
                    listen_port: None,
                    backend,
                },
                server: ServerInfo {
                    public_key: PrivateKey::from_bytes([2; 32]).public_key(),
                    external_endpoint: "203.0.113.1:51820".parse().unwrap(),
                    internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
                },
                peer_endpoint_overrides: BTreeMap::new(),
                routes: Default::default(),
            };
            files::create_config(&self.paths, iface, &config).unwrap();
        }
    }

    fn name(text: &str) -> InterfaceName {
        text.parse().unwrap()
    }

    #[test]
    fn a_running_interface_is_found_on_its_implementation() {
        let host = Host::new();
        let (user, kern) = (name("wm-user"), name("wm-kern"));
        host.userspace.create(&user).unwrap();
        host.kernel.create(&kern).unwrap();
        // The records say otherwise: what runs wins.
        host.install(&user, Some(BackendKind::Kernel));
        host.install(&kern, Some(BackendKind::Userspace));
        let backend = host.backend(None);
        assert_eq!(backend.kind_of(&user), BackendKind::Userspace);
        assert_eq!(backend.kind_of(&kern), BackendKind::Kernel);
        assert!(backend.exists(&user).unwrap() && backend.exists(&kern).unwrap());
        assert_eq!(backend.list().unwrap(), vec![kern.clone(), user.clone()]);
        backend.delete(&user).unwrap();
        assert!(!host.userspace.exists(&user).unwrap());
        assert!(host.kernel.exists(&kern).unwrap());
    }

    #[test]
    fn a_new_interface_follows_the_record_then_the_kernel() {
        let host = Host::new();
        let (recorded, plain, missing) = (name("wm-rec"), name("wm-plain"), name("wm-none"));
        host.install(&recorded, Some(BackendKind::Userspace));
        host.install(&plain, None);
        let backend = host.backend(None);
        assert_eq!(backend.create(&recorded).unwrap(), Created::New);
        assert_eq!(backend.create(&plain).unwrap(), Created::New);
        assert_eq!(backend.create(&missing).unwrap(), Created::New);
        assert_eq!(host.userspace.list().unwrap(), vec![recorded]);
        assert_eq!(host.kernel.list().unwrap(), vec![missing, plain]);
        assert_eq!(backend.kind(), BackendKind::Kernel);
    }

    #[test]
    fn the_command_line_wins() {
        let host = Host::new();
        let iface = name("wm-user");
        host.userspace.create(&iface).unwrap();
        let backend = host.backend(Some(BackendKind::Kernel));
        assert_eq!(backend.kind(), BackendKind::Kernel);
        assert_eq!(backend.kind_of(&iface), BackendKind::Kernel);
        assert!(!backend.exists(&iface).unwrap());
        assert!(backend.list().unwrap().is_empty());
    }

    #[test]
    fn recording_changes_the_config_only_when_it_differs() {
        let host = Host::new();
        let iface = name("wm-rec");
        host.install(&iface, None);
        assert_eq!(recorded(&host.paths, &iface), None);
        assert!(record(&host.paths, &iface, BackendKind::Userspace).unwrap());
        assert_eq!(recorded(&host.paths, &iface), Some(BackendKind::Userspace));
        assert!(!record(&host.paths, &iface, BackendKind::Userspace).unwrap());
        assert!(!record(&host.paths, &iface, BackendKind::Fake).unwrap());
        assert_eq!(recorded(&host.paths, &iface), Some(BackendKind::Userspace));
        assert!(matches!(
            record(&host.paths, &name("wm-none"), BackendKind::Kernel),
            Err(ClientError::NotInstalled { .. })
        ));
    }
}
