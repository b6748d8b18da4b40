//! `install`: joining a network with an invitation (compat §2.3), without stranding the user.
//!
//! Order, so that every failure leaves either nothing or a working install:
//! 1. parse the invitation (a malformed one is a clear error, the file untouched);
//! 2. refuse if the config or the interface exists already;
//! 3. resolve the server's external endpoint;
//! 4. bring the interface up with the invitation's temporary key and the server as its one
//!    peer;
//! 5. generate the permanent key and write the config with it (0600, exclusive create)
//!    *before* redeeming — once the server has the new key, the only copy of the private key
//!    must already be on disk (innernet writes it afterwards, and a failure in between left
//!    users with a used invitation and no key, innernet #133);
//! 6. redeem. If the server refuses or cannot be reached, the config is removed, the
//!    interface brought down and the invitation left as it was;
//! 7. put the new key on the interface, wait for the server's key swap, and sync up to three
//!    times. Sync failures are only warnings: the config is saved, so `wiremesh up <iface>`
//!    (or the daemon) finishes the job later;
//! 8. delete the invitation when asked to.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wireguard_control::{DeviceUpdate, InterfaceName, PrivateKey};
use wiremesh_shared::config::{ClientConfig, InvitationConfig};

use crate::context::Context;
use crate::error::ClientError;
use crate::sync::{sync, SyncMode, SyncReport};
use crate::{files, interface};

/// How often install tries to connect to the server to redeem (only connection failures,
/// which the server cannot have seen, are retried).
const REDEEM_ATTEMPTS: usize = 3;

/// How many syncs install tries after redeeming, and how long it waits between them.
const SYNC_ATTEMPTS: usize = 3;
const SYNC_RETRY_WAIT: Duration = Duration::from_secs(1);

/// Choices made before installing (the binary resolves prompts into these).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// The interface name; `None` uses the invitation's network name.
    pub name: Option<InterfaceName>,
    /// Delete the invitation file after a successful redemption.
    pub delete_invite: bool,
}

/// What an install did.
#[derive(Debug)]
pub struct InstallReport {
    pub iface: InterfaceName,
    /// The network's config, holding the permanent private key.
    pub config_path: PathBuf,
    /// The first successful sync; `None` when every attempt failed (the last error is in
    /// `sync_error`; `wiremesh up <iface>` retries).
    pub sync: Option<SyncReport>,
    pub sync_error: Option<ClientError>,
    pub invitation_deleted: bool,
}

impl InstallReport {
    /// What to tell the person who installed: how to keep the network up across reboots.
    pub fn hint(&self) -> String {
        let iface = &self.iface;
        let mut hint = format!(
            "network {iface} installed (config: {}); to start it at boot and keep it updated, run: \
             systemctl enable --now wiremesh@{iface}",
            self.config_path.display()
        );
        if self.sync.is_none() {
            hint.push_str(&format!(
                "\nthe first sync did not complete; run `wiremesh up {iface}` once the server is reachable"
            ));
        }
        hint
    }
}

/// Installs the network invited to by the file at `invitation_path`.
pub fn install(
    ctx: &Context,
    invitation_path: &Path,
    options: &InstallOptions,
) -> Result<InstallReport, ClientError> {
    let invitation = files::load_invitation(invitation_path)?;
    install_invitation(ctx, invitation, Some(invitation_path), options)
}

/// Installs the network of an invitation already read, from the file `invitation_path` if it
/// came from one (`None`: from standard input, which `delete_invite` cannot delete).
pub fn install_invitation(
    ctx: &Context,
    invitation: InvitationConfig,
    invitation_path: Option<&Path>,
    options: &InstallOptions,
) -> Result<InstallReport, ClientError> {
    let iface = match &options.name {
        Some(name) => name.clone(),
        None => {
            let name = &invitation.interface.network_name;
            name.parse().map_err(|source| ClientError::InterfaceName {
                name: name.clone(),
                source,
            })?
        }
    };
    let config_path = ctx.paths.config_file(&iface);
    if config_path.exists() {
        return Err(ClientError::AlreadyInstalled {
            iface,
            path: config_path,
        });
    }
    if interface::is_up(ctx, &iface)? {
        return Err(ClientError::InterfaceExists { iface });
    }
    let endpoint = &invitation.server.external_endpoint;
    if (ctx.resolve)(endpoint).is_none() {
        return Err(ClientError::Resolve {
            iface,
            endpoint: endpoint.clone(),
        });
    }

    let temporary_key = invitation.interface.private_key.clone();
    let private_key = PrivateKey::generate();
    let public_key = private_key.public_key();
    let config = ClientConfig::from_invitation(invitation, private_key.clone());
    interface::bring_up(ctx, &iface, &config, Some(&temporary_key))?;

    let config_path = match files::create_config(&ctx.paths, &iface, &config) {
        Ok(path) => path,
        Err(error) => {
            take_down(ctx, &iface);
            return Err(error);
        }
    };
    // A first connection through a tunnel that is seconds old can fail on a busy host; when
    // no connection was made the server never saw the request, so it is safe to try again.
    let api = ctx.api(&config);
    let mut redeemed = api.redeem(public_key);
    for _ in 1..REDEEM_ATTEMPTS {
        match &redeemed {
            Err(error) if error.never_sent() => {
                tracing::warn!(%iface, "could not connect to the server to redeem the invitation; trying again");
                redeemed = api.redeem(public_key);
            }
            _ => break,
        }
    }
    if let Err(source) = redeemed {
        if let Err(error) = files::remove_config(&ctx.paths, &iface) {
            tracing::warn!(%iface, "{error}");
        }
        take_down(ctx, &iface);
        return Err(ClientError::Redeem {
            iface,
            source: Box::new(source),
        });
    }
    tracing::info!(%iface, "invitation redeemed; the permanent key is in {}", config_path.display());

    let swap = DeviceUpdate::new().set_private_key(private_key);
    if let Err(error) = ctx.backend.apply(&iface, &swap) {
        // The config holds the right key: rebuilding the interface from it fixes this.
        tracing::warn!(%iface, "failed to set the new private key ({error}); recreating the interface from the config");
        take_down(ctx, &iface);
    }
    std::thread::sleep(ctx.timings.key_swap_wait);

    let mut report = InstallReport {
        iface: iface.clone(),
        config_path,
        sync: None,
        sync_error: None,
        invitation_deleted: false,
    };
    for attempt in 1..=SYNC_ATTEMPTS {
        match sync(ctx, &iface, SyncMode::Up) {
            Ok(sync_report) if sync_report.server_reachable => {
                report.sync = Some(sync_report);
                report.sync_error = None;
                break;
            }
            Ok(_) => tracing::warn!(%iface, attempt, "first sync: the server was unreachable"),
            Err(error) => {
                tracing::warn!(%iface, attempt, "first sync failed: {error}");
                report.sync_error = Some(error);
            }
        }
        if attempt < SYNC_ATTEMPTS {
            std::thread::sleep(SYNC_RETRY_WAIT);
        }
    }
    if report.sync.is_none() {
        tracing::warn!(%iface, "the network is installed but not synced yet; run `wiremesh up {iface}` to retry");
    }

    if let Some(invitation_path) = invitation_path.filter(|_| options.delete_invite) {
        match fs::remove_file(invitation_path) {
            Ok(()) => report.invitation_deleted = true,
            Err(error) => tracing::warn!(
                path = %invitation_path.display(),
                "failed to delete the invitation {}: {error}; delete it by hand, it is used up",
                invitation_path.display()
            ),
        }
    }
    Ok(report)
}

/// Deletes the interface after a failed install; problems are only logged.
fn take_down(ctx: &Context, iface: &InterfaceName) {
    if let Err(error) = ctx.backend.delete(iface) {
        tracing::warn!(%iface, "failed to remove the interface again: {error}");
    }
}
