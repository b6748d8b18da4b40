//! `install`: joining a network with an invitation (compat §2.3), without stranding the user.
//!
//! Order, so that every failure leaves either nothing or a working install:
//! 1. parse the invitation (a malformed one is a clear error, the file untouched);
//! 2. refuse if the config or the interface exists already;
//! 3. resolve the server's external endpoint;
//! 4. bring the interface up with the invitation's temporary key and the server as its one
//!    peer;
//! 5. generate the permanent key and write the config with it (0600, exclusive create), and
//!    the invitation's key to `<iface>.redeem`, *before* redeeming — once the server has the
//!    new key, the only copy of the private key must already be on disk (innernet writes it
//!    afterwards, and a failure in between left users with a used invitation and no key,
//!    innernet #133);
//! 6. redeem. If the server answers no, or no connection was ever made (so the server never
//!    saw the request), both files are removed, the interface brought down and the
//!    invitation left as it was. If the request went out and no answer came back, the server
//!    may have taken it: both files are kept ([`ClientError::RedeemUnsettled`]) and the next
//!    `install` of the same invitation, or `up`, settles it ([`settle_redeem`]);
//! 7. put the new key on the interface, forget the invitation's key, wait for the server's
//!    key swap, and sync up to three times. Sync failures are only warnings: the config is
//!    saved, so `wiremesh up <iface>` (or the daemon) finishes the job later;
//! 8. delete the invitation when asked to.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wireguard_control::{DeviceUpdate, InterfaceName, PrivateKey, PublicKey};
use wiremesh_shared::config::{ClientConfig, InvitationConfig};

use crate::api::ApiError;
use crate::backends::recordable;
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
        // The same invitation again after its redemption's answer was lost: settle that one.
        let pending = files::load_pending_redeem(&ctx.paths, &iface)?;
        if pending.as_ref() == Some(&invitation.interface.private_key) {
            let config = files::load_config(&ctx.paths, &iface)?;
            settle_redeem(ctx, &iface, &config, &invitation.interface.private_key)?;
            return Ok(finish(ctx, iface, config_path, invitation_path, options));
        }
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
    let mut config = ClientConfig::from_invitation(invitation, private_key.clone());
    interface::bring_up(ctx, &iface, &config, Some(&temporary_key))?;
    // Every later command and the daemon use the implementation the interface now runs on.
    config.interface.backend = recordable(ctx.backend.kind_of(&iface));

    let config_path = match files::create_config(&ctx.paths, &iface, &config) {
        Ok(path) => path,
        Err(error) => {
            // Not ours to remove: it may be another install's config.
            take_down(ctx, &iface);
            return Err(error);
        }
    };
    if let Err(error) = files::save_pending_redeem(&ctx.paths, &iface, &temporary_key) {
        discard(ctx, &iface);
        return Err(error);
    }
    match redeem(ctx, &iface, &config, public_key) {
        Ok(()) => {}
        Err(source) if source.never_sent() || source.status().is_some() => {
            // Never seen, or answered no: nothing was redeemed, so nothing is kept.
            discard(ctx, &iface);
            return Err(ClientError::Redeem {
                iface,
                source: Box::new(source),
            });
        }
        Err(source) => {
            take_down(ctx, &iface);
            return Err(ClientError::RedeemUnsettled {
                iface,
                config: config_path,
                source: Box::new(source),
            });
        }
    }
    tracing::info!(%iface, "invitation redeemed; the permanent key is in {}", config_path.display());
    forget_invitation_key(ctx, &iface);

    let swap = DeviceUpdate::new().set_private_key(private_key);
    if let Err(error) = ctx.backend.apply(&iface, &swap) {
        // The config holds the right key: rebuilding the interface from it fixes this.
        tracing::warn!(%iface, "failed to set the new private key ({error}); recreating the interface from the config");
        take_down(ctx, &iface);
    }
    std::thread::sleep(ctx.timings.key_swap_wait);
    Ok(finish(ctx, iface, config_path, invitation_path, options))
}

/// Redeems the invitation for `new_key` through the interface as it is, trying again while
/// no connection could be made (the server cannot have seen those attempts).
fn redeem(
    ctx: &Context,
    iface: &InterfaceName,
    config: &ClientConfig,
    new_key: PublicKey,
) -> Result<(), ApiError> {
    // A first connection through a tunnel that is seconds old can fail on a busy host.
    let api = ctx.api(config);
    let mut redeemed = api.redeem(new_key);
    for _ in 1..REDEEM_ATTEMPTS {
        match &redeemed {
            Err(error) if error.never_sent() => {
                tracing::warn!(%iface, "could not connect to the server to redeem the invitation; trying again");
                redeemed = api.redeem(new_key);
            }
            _ => break,
        }
    }
    redeemed
}

/// Finishes a redemption whose answer was lost (`<iface>.redeem` holds `invitation_key`):
/// if the server accepts the config's key, the redemption happened; if not, it is tried
/// again with the invitation's key. The server keeps the invitation's key on its interface
/// for a few seconds after redeeming, so a refusal or an unreachable server is followed by
/// one more try of the new key after that delay. On success the interface is up with the
/// config's key and `<iface>.redeem` is gone; on failure both files stay.
pub fn settle_redeem(
    ctx: &Context,
    iface: &InterfaceName,
    config: &ClientConfig,
    invitation_key: &PrivateKey,
) -> Result<(), ClientError> {
    let config_path = ctx.paths.config_file(iface);
    let own_key = &config.interface.private_key;
    if interface::is_up(ctx, iface)? {
        set_key(ctx, iface, own_key)?;
    } else {
        interface::bring_up(ctx, iface, config, None)?;
    }
    let api = ctx.api(config);
    let accepted = |api: &crate::api::ApiClient| api.state().is_ok();
    if !accepted(&api) {
        tracing::info!(%iface, "the server does not accept the new key yet; redeeming the invitation again");
        set_key(ctx, iface, invitation_key)?;
        let outcome = redeem(ctx, iface, config, own_key.public_key());
        set_key(ctx, iface, own_key)?;
        match outcome {
            Ok(()) => std::thread::sleep(ctx.timings.key_swap_wait),
            // Refused (most likely redeemed already, by the attempt whose answer was lost)
            // or no tunnel with the invitation's key (swapped already): the new key decides.
            Err(source) if source.never_sent() || source.status().is_some() => {
                std::thread::sleep(ctx.timings.key_swap_wait);
                if !accepted(&api) {
                    let refused = source.status().is_some();
                    let source = Box::new(source);
                    let config = config_path;
                    let iface = iface.clone();
                    return Err(if refused {
                        ClientError::RedeemRefused {
                            iface,
                            config,
                            source,
                        }
                    } else {
                        ClientError::RedeemUnsettled {
                            iface,
                            config,
                            source,
                        }
                    });
                }
            }
            Err(source) => {
                return Err(ClientError::RedeemUnsettled {
                    iface: iface.clone(),
                    config: config_path,
                    source: Box::new(source),
                })
            }
        }
    }
    tracing::info!(%iface, "the invitation's redemption is settled; the key in {} is in use", config_path.display());
    forget_invitation_key(ctx, iface);
    Ok(())
}

fn set_key(ctx: &Context, iface: &InterfaceName, key: &PrivateKey) -> Result<(), ClientError> {
    ctx.backend
        .apply(iface, &DeviceUpdate::new().set_private_key(key.clone()))
        .map_err(ClientError::interface(iface, "set the private key of"))
}

/// Removes `<iface>.redeem` once the redemption is known to have happened. A file left
/// behind only makes the next `up` check again, so a failure is a warning.
fn forget_invitation_key(ctx: &Context, iface: &InterfaceName) {
    if let Err(error) = files::remove_pending_redeem(&ctx.paths, iface) {
        tracing::warn!(%iface, "{error}");
    }
}

/// The rest of an install once the redemption is settled: the first syncs, and the
/// invitation file deleted when asked to.
fn finish(
    ctx: &Context,
    iface: InterfaceName,
    config_path: PathBuf,
    invitation_path: Option<&Path>,
    options: &InstallOptions,
) -> InstallReport {
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
    report
}

/// Removes what a failed install created: `<iface>.redeem`, the config, the interface.
fn discard(ctx: &Context, iface: &InterfaceName) {
    for removed in [
        files::remove_pending_redeem(&ctx.paths, iface),
        files::remove_config(&ctx.paths, iface),
    ] {
        if let Err(error) = removed {
            tracing::warn!(%iface, "{error}");
        }
    }
    take_down(ctx, iface);
}

/// Deletes the interface after a failed install; problems are only logged.
fn take_down(ctx: &Context, iface: &InterfaceName) {
    if let Err(error) = ctx.backend.delete(iface) {
        tracing::warn!(%iface, "failed to remove the interface again: {error}");
    }
}
