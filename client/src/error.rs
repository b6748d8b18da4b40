//! [`ClientError`]: why a client operation (install, sync, up, down, the daemon) failed.
//!
//! Every variant names what it is about — the interface, the file, the server — and its
//! message says what to do next. Expected outcomes ("the server is unreachable but the
//! interface keeps running") are reported as values by the operations, not as errors.

use std::io;
use std::path::PathBuf;

use wireguard_control::{InterfaceName, InterfaceNameError};
use wiremesh_shared::config::ConfigError;
use wiremesh_shared::Endpoint;

use crate::api::ApiError;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A file or directory could not be read, written, created or removed.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A config, invitation or peer cache file is not valid.
    #[error("failed to parse {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },

    /// The peer cache could not be encoded.
    #[error("failed to encode the peer cache {}: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },

    /// The peer cache file exists but is not a valid cache: its key pins are unknown. Sync
    /// cycles apply only peers the interface already holds with the same key and never
    /// rewrite the file, until the operator restores it or sets it aside.
    #[error(
        "failed to parse the peer cache {}: {source}; {}",
        path.display(),
        unusable_cache_advice(iface)
    )]
    CorruptCache {
        iface: InterfaceName,
        path: PathBuf,
        #[source]
        source: ConfigError,
    },

    /// The peer cache file exists but cannot be read (permissions, I/O error); handled like
    /// [`ClientError::CorruptCache`].
    #[error(
        "failed to read the peer cache {}: {source}; {}",
        path.display(),
        unusable_cache_advice(iface)
    )]
    CacheUnreadable {
        iface: InterfaceName,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// No config for this network.
    #[error(
        "failed to load network {iface}: {} does not exist; install it with `wiremesh install <invitation>`",
        path.display()
    )]
    NotInstalled { iface: InterfaceName, path: PathBuf },

    /// `install` found a config for this interface already.
    #[error(
        "failed to install {iface}: {} already exists; pick another name with --name, or \
         uninstall the existing network first",
        path.display()
    )]
    AlreadyInstalled { iface: InterfaceName, path: PathBuf },

    /// `install` found a WireGuard interface of this name already.
    #[error(
        "failed to install {iface}: a WireGuard interface of that name exists already; pick \
         another name with --name, or remove it with `wiremesh down {iface}`"
    )]
    InterfaceExists { iface: InterfaceName },

    /// An operation that needs the interface up found it down.
    #[error("interface {iface} is not up: run `wiremesh up {iface}`")]
    NotUp { iface: InterfaceName },

    /// The interface's nftables table could not be removed.
    #[error("failed to remove the firewall table of {iface} (nftables table inet wiremesh_{iface}): {source}")]
    Firewall {
        iface: InterfaceName,
        #[source]
        source: wiremesh_firewall::NftError,
    },

    /// `down` found no interface to delete.
    #[error("failed to bring down {iface}: no WireGuard interface of that name exists (it is down already)")]
    AlreadyDown { iface: InterfaceName },

    /// A name is not usable as an interface name (e.g. an invitation's network name).
    #[error("failed to use {name:?} as an interface name: {source}; choose one with --name")]
    InterfaceName {
        name: String,
        #[source]
        source: InterfaceNameError,
    },

    /// A WireGuard or link operation failed.
    #[error("failed to {step} WireGuard interface {iface}: {source}")]
    Interface {
        iface: InterfaceName,
        step: &'static str,
        #[source]
        source: wireguard_control::Error,
    },

    /// The server's external endpoint did not resolve to an address.
    #[error(
        "failed to resolve the server endpoint {endpoint} of {iface}: check the host's DNS and \
         the endpoint in the invitation or config"
    )]
    Resolve {
        iface: InterfaceName,
        endpoint: Endpoint,
    },

    /// An API call failed.
    #[error("failed to {action} for {iface}: {source}")]
    Api {
        iface: InterfaceName,
        action: &'static str,
        #[source]
        source: Box<ApiError>,
    },

    /// The server refused or could not take the redemption; nothing was kept on this host.
    #[error(
        "failed to redeem the invitation for {iface}: {source}; {}",
        if source.is_unreachable() {
            "the server did not answer through the invitation's tunnel — either the invitation was \
             already redeemed or has expired (the server then no longer accepts its key), or the \
             server's external endpoint is not reachable over UDP; nothing was installed and the \
             invitation is unchanged"
        } else {
            "the invitation may have expired, been used already, or been revoked — ask an admin \
             for a new one; the invitation file is unchanged and nothing was installed"
        }
    )]
    Redeem {
        iface: InterfaceName,
        #[source]
        source: Box<ApiError>,
    },

    /// The redemption was sent but no answer came back, so the server may have taken it. The
    /// new key (in the config) and the invitation's key (in `<iface>.redeem`) are kept, so the
    /// next `install` or `up` can find out and finish.
    #[error(
        "failed to learn whether the server redeemed the invitation for {iface}: {source}; the \
         new private key is kept in {} — once the server is reachable, run `wiremesh up {iface}` \
         (or the same `wiremesh install` again) to find out and finish the install",
        config.display()
    )]
    RedeemUnsettled {
        iface: InterfaceName,
        config: PathBuf,
        #[source]
        source: Box<ApiError>,
    },

    /// An earlier redemption's outcome was unknown; the server now refuses to redeem again and
    /// does not accept the new key either.
    #[error(
        "failed to finish installing {iface}: the server refused to redeem the invitation again \
         ({source}) and does not accept the key in {} either — the invitation was used with \
         another key, revoked, or has expired; ask an admin for a new invitation and remove this \
         one with `wiremesh uninstall {iface}`",
        config.display()
    )]
    RedeemRefused {
        iface: InterfaceName,
        config: PathBuf,
        #[source]
        source: Box<ApiError>,
    },

    /// `<iface>.redeem` exists but holds no key.
    #[error(
        "failed to read the invitation key in {}: the file holds no valid key; if the network \
         works (`wiremesh fetch`), delete the file, otherwise reinstall with a new invitation",
        path.display()
    )]
    BadRedeemFile { path: PathBuf },

    /// The server could not be reached and there is no cached peer list to start from.
    #[error(
        "failed to start {iface} without the server: {source}; there is no peer cache at {} to \
         start from — check the network and retry (the interface is up with only the server as \
         peer, so a later `wiremesh up {iface}` or the daemon will finish the job)",
        cache.display()
    )]
    UnreachableNoCache {
        iface: InterfaceName,
        cache: PathBuf,
        #[source]
        source: Box<ApiError>,
    },
}

/// What an unusable peer cache means for sync, and the operator's choices.
fn unusable_cache_advice(iface: &InterfaceName) -> String {
    format!(
        "the key pins it holds cannot be checked, so only peers the interface already has with \
         the same key are applied, new or re-keyed peers are held back, and the file is not \
         rewritten — restore it (or fix its permissions), or run `wiremesh reset-cache {iface}` \
         to set it aside and trust the keys the server offers now, as at install"
    )
}

impl From<privatefile::Error> for ClientError {
    fn from(error: privatefile::Error) -> Self {
        match error {
            privatefile::Error::Io {
                action,
                path,
                source,
            } => ClientError::Io {
                action,
                path,
                source,
            },
            privatefile::Error::Exists { path } => ClientError::Io {
                action: "create",
                path,
                source: io::Error::from(io::ErrorKind::AlreadyExists),
            },
        }
    }
}

impl ClientError {
    /// Whether the failure is "could not talk to the server" (worth retrying soon) rather than
    /// a refusal or a local problem.
    pub fn is_unreachable(&self) -> bool {
        match self {
            ClientError::Api { source, .. }
            | ClientError::Redeem { source, .. }
            | ClientError::UnreachableNoCache { source, .. } => source.is_unreachable(),
            ClientError::RedeemUnsettled { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| ClientError::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn interface<'a>(
        iface: &'a InterfaceName,
        step: &'static str,
    ) -> impl FnOnce(wireguard_control::Error) -> Self + 'a {
        move |source| ClientError::Interface {
            iface: iface.clone(),
            step,
            source,
        }
    }
}
