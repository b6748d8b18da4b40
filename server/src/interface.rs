//! Bringing the server's WireGuard interface up and down (compat §6.7).
//!
//! Up: create the interface (an existing one is reused, so a restarted server takes over its
//! own interface), set the private key and listen port, the address `address/prefix`, the
//! MTU and link state, and the route to the whole network. Peers are not added here: the
//! service synchronises them from the database afterwards.

use std::sync::Arc;

use wireguard_control::backend::kernel::KernelBackend;
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::{link, Backend, Created, DeviceUpdate, InterfaceName};
use wiremesh_shared::config::ServerConfig;

/// innernet's default MTU for WireGuard interfaces.
pub const DEFAULT_MTU: u32 = 1280;

/// Which WireGuard implementation drives the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// Linux kernel WireGuard through generic netlink.
    #[default]
    Kernel,
    /// A userspace implementation (wireguard-go, …) through its UAPI socket.
    Userspace,
}

impl BackendChoice {
    /// The backend itself.
    pub fn backend(self) -> Arc<dyn Backend> {
        match self {
            BackendChoice::Kernel => Arc::new(KernelBackend::new()),
            BackendChoice::Userspace => Arc::new(UserspaceBackend::new()),
        }
    }

    /// Both choices, this one first.
    fn this_then_other(self) -> [BackendChoice; 2] {
        match self {
            BackendChoice::Kernel => [BackendChoice::Kernel, BackendChoice::Userspace],
            BackendChoice::Userspace => [BackendChoice::Userspace, BackendChoice::Kernel],
        }
    }
}

/// How the interface is set up besides what the config says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceSettings {
    pub mtu: u32,
    /// Add the route to the whole network (innernet's `--no-routing` turns it off).
    pub routing: bool,
}

impl Default for InterfaceSettings {
    fn default() -> Self {
        Self {
            mtu: DEFAULT_MTU,
            routing: true,
        }
    }
}

/// Why the interface could not be brought up or down.
#[derive(Debug, thiserror::Error)]
#[error("failed to {step} WireGuard interface {iface}: {source}")]
pub struct InterfaceError {
    pub iface: InterfaceName,
    pub step: &'static str,
    #[source]
    pub source: wireguard_control::Error,
}

/// Brings the server's interface up as `config` describes. When a step fails after this
/// call created the interface, the interface is deleted again.
pub fn bring_up(
    backend: &dyn Backend,
    iface: &InterfaceName,
    config: &ServerConfig,
    settings: InterfaceSettings,
) -> Result<Created, InterfaceError> {
    let fail = |step| {
        move |source| InterfaceError {
            iface: iface.clone(),
            step,
            source,
        }
    };
    let created = backend.create(iface).map_err(fail("create"))?;
    let configured = configure(backend, iface, config, settings);
    if configured.is_err() && created == Created::New {
        if let Err(error) = backend.delete(iface) {
            tracing::warn!(%iface, "failed to delete half-configured interface: {error}");
        }
    }
    configured.map_err(|(step, source)| fail(step)(source))?;
    tracing::info!(
        %iface,
        address = %config.interface_address(),
        backend = %backend.kind(),
        reused = created == Created::AlreadyExisted,
        "WireGuard interface up"
    );
    Ok(created)
}

fn configure(
    backend: &dyn Backend,
    iface: &InterfaceName,
    config: &ServerConfig,
    settings: InterfaceSettings,
) -> Result<(), (&'static str, wireguard_control::Error)> {
    let update = DeviceUpdate::new()
        .set_private_key(config.private_key.clone())
        .set_listen_port(config.listen_port);
    backend
        .apply(iface, &update)
        .map_err(|e| ("set the key and port of", e))?;
    link::set_address(iface, config.interface_address()).map_err(|e| ("set the address of", e))?;
    link::set_up(iface, settings.mtu).map_err(|e| ("bring up", e))?;
    if settings.routing {
        link::add_route(iface, config.network())
            .map_err(|e| ("add the network route through", e))?;
    }
    Ok(())
}

/// Deletes the interface `iface` wherever it exists: through `preferred` first, then the
/// other backend (an operator may have served with either). Returns whether one existed.
pub fn bring_down(preferred: BackendChoice, iface: &InterfaceName) -> Result<bool, InterfaceError> {
    let fail = |step| {
        move |source| InterfaceError {
            iface: iface.clone(),
            step,
            source,
        }
    };
    for choice in preferred.this_then_other() {
        let backend = choice.backend();
        if backend.exists(iface).map_err(fail("look up"))? {
            match backend.delete(iface) {
                Ok(()) | Err(wireguard_control::Error::NotFound { .. }) => {}
                Err(source) => return Err(fail("delete")(source)),
            }
            tracing::info!(%iface, backend = %backend.kind(), "WireGuard interface deleted");
            return Ok(true);
        }
    }
    Ok(false)
}
