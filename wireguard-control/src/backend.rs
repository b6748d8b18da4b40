//! The [`Backend`] trait and its implementations: kernel (netlink), userspace (UAPI) and fake.

use crate::{BackendKind, Device, DeviceUpdate, InterfaceName, Result};

pub mod embedded;
pub mod fake;
pub mod kernel;
pub mod userspace;

/// Whether [`Backend::create`] made a new interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    AlreadyExisted,
}

/// Control of WireGuard interfaces through one implementation.
///
/// Every method is blocking; async callers run them on a blocking thread.
pub trait Backend: Send + Sync {
    /// Which implementation this is.
    fn kind(&self) -> BackendKind;

    /// Which implementation drives (or would create) `iface`: [`Backend::kind`], except for
    /// a backend that chooses an implementation per interface.
    fn kind_of(&self, _iface: &InterfaceName) -> BackendKind {
        self.kind()
    }

    /// Names of the WireGuard interfaces this backend currently drives.
    fn list(&self) -> Result<Vec<InterfaceName>>;

    /// Whether the interface exists for this backend.
    fn exists(&self, iface: &InterfaceName) -> Result<bool> {
        Ok(self.list()?.contains(iface))
    }

    /// Creates the interface (link down, no key) unless it exists already.
    fn create(&self, iface: &InterfaceName) -> Result<Created>;

    /// Reads the whole interface: keys, port, fwmark and every peer with its stats.
    /// [`crate::Error::NotFound`] when it does not exist.
    fn get(&self, iface: &InterfaceName) -> Result<Device>;

    /// Applies `update` to an existing interface ([`crate::Error::NotFound`] otherwise).
    /// Never creates the interface implicitly.
    fn apply(&self, iface: &InterfaceName, update: &DeviceUpdate) -> Result<()>;

    /// Deletes the interface. [`crate::Error::NotFound`] when it does not exist.
    fn delete(&self, iface: &InterfaceName) -> Result<()>;
}
