//! Enforcing the network's port and protocol policy on this host.
//!
//! The server compiles this host's ruleset and sends it with the state (`policy` in `/v1`
//! and `/v2` answers); every sync makes the interface's own nftables table
//! (`inet wiremesh_<iface>`, through `wiremesh-firewall`) hold exactly that ruleset,
//! repairing it when someone flushed or edited it, and tells the server what it enforces
//! (`POST /v2/user/report`) whenever that changes. When the server is unreachable the last
//! ruleset applied (kept in `<data-dir>/<iface>.policy.json`) stays enforced, and is applied
//! again when the interface comes up without the server. A server that sends no ruleset
//! (innernet, or a wiremesh server before policies) means nothing to enforce: the table is
//! removed. `down` and `uninstall` remove the table.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use wireguard_control::InterfaceName;
use wiremesh_firewall::{Firewall, Gateway, Nft, NftError, TableState};
use wiremesh_shared::policy::HostRuleset;
use wiremesh_shared::wire::{ClientReport, PolicyReport, DEVICES_FEATURE, POLICY_FEATURE};

use crate::api::ApiClient;
use crate::context::Context;
use crate::files;

/// The nftables tables of mesh interfaces.
pub trait FirewallControl: Send + Sync + fmt::Debug {
    /// Compares the interface's table with `ruleset` and the host's gateway duties.
    fn check(
        &self,
        iface: &InterfaceName,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError>;
    /// Makes the table hold `ruleset` and the gateway duties; returns what it found before.
    fn ensure(
        &self,
        iface: &InterfaceName,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError>;
    /// Removes the table; returns whether there was one.
    fn remove(&self, iface: &InterfaceName) -> Result<bool, NftError>;
    /// Makes Docker's `DOCKER-USER` chains hold exactly wiremesh's rules for a gateway
    /// forwarding to `nets` (none: removes them); returns whether any chain holds rules of
    /// ours now (see [`crate::docker`]).
    fn docker_user(&self, iface: &InterfaceName, nets: &[ipnet::IpNet]) -> Result<bool, String>;
}

/// The kernel's nftables through Debian's `nft`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nftables;

impl Nftables {
    fn table(iface: &InterfaceName) -> Firewall {
        Firewall::new(Nft::system(), iface.as_str())
    }
}

impl FirewallControl for Nftables {
    fn check(
        &self,
        iface: &InterfaceName,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError> {
        Self::table(iface).check_with(ruleset, gateway)
    }

    fn ensure(
        &self,
        iface: &InterfaceName,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError> {
        Self::table(iface).ensure_with(ruleset, gateway)
    }

    fn remove(&self, iface: &InterfaceName) -> Result<bool, NftError> {
        Self::table(iface).remove()
    }

    fn docker_user(&self, iface: &InterfaceName, nets: &[ipnet::IpNet]) -> Result<bool, String> {
        let mut placed = false;
        for v6 in [false, true] {
            let wanted = crate::docker::rules(iface, nets, v6);
            match crate::docker::ensure(iface, v6, &wanted)? {
                crate::docker::DockerUser::Absent => {}
                crate::docker::DockerUser::InPlace { changed } => {
                    if changed {
                        tracing::info!(%iface, v6, rules = wanted.len(), "Docker's DOCKER-USER chain updated");
                    }
                    placed |= !wanted.is_empty();
                }
            }
        }
        Ok(placed)
    }
}

/// A firewall in memory, for tests on the fake WireGuard backend: it records each table's
/// ruleset and can be told to fail.
#[derive(Debug, Default)]
pub struct RecordingFirewall {
    tables: Mutex<HashMap<InterfaceName, (HostRuleset, Gateway)>>,
    docker_user: Mutex<HashMap<InterfaceName, Vec<ipnet::IpNet>>>,
    failure: Mutex<Option<String>>,
}

impl RecordingFirewall {
    /// The ruleset the table of `iface` holds, if there is one.
    pub fn table(&self, iface: &InterfaceName) -> Option<HostRuleset> {
        lock(&self.tables).get(iface).map(|(r, _)| r.clone())
    }

    /// The networks wiremesh's `DOCKER-USER` rules for `iface` accept, if there are any.
    pub fn docker_user_rules(&self, iface: &InterfaceName) -> Option<Vec<ipnet::IpNet>> {
        lock(&self.docker_user).get(iface).cloned()
    }

    /// The gateway duties the table of `iface` holds, if there is one.
    pub fn gateway(&self, iface: &InterfaceName) -> Option<Gateway> {
        lock(&self.tables).get(iface).map(|(_, g)| g.clone())
    }

    /// Drops a table behind wiremesh's back (someone ran `nft delete table`).
    pub fn drop_table(&self, iface: &InterfaceName) {
        lock(&self.tables).remove(iface);
    }

    /// Makes every later change fail with `error` (`None`: succeed again).
    pub fn fail_with(&self, error: Option<&str>) {
        *lock(&self.failure) = error.map(str::to_owned);
    }
}

impl FirewallControl for RecordingFirewall {
    fn check(
        &self,
        iface: &InterfaceName,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError> {
        Ok(match lock(&self.tables).get(iface) {
            None => TableState::Missing,
            Some((held, duties)) if held == ruleset && duties == gateway => TableState::InSync,
            Some(_) => TableState::Drifted("another ruleset".to_owned()),
        })
    }

    fn ensure(
        &self,
        iface: &InterfaceName,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError> {
        if let Some(error) = lock(&self.failure).clone() {
            return Err(NftError::Refused(error));
        }
        let state = self.check(iface, ruleset, gateway)?;
        lock(&self.tables).insert(iface.clone(), (ruleset.clone(), gateway.clone()));
        Ok(state)
    }

    fn remove(&self, iface: &InterfaceName) -> Result<bool, NftError> {
        Ok(lock(&self.tables).remove(iface).is_some())
    }

    fn docker_user(&self, iface: &InterfaceName, nets: &[ipnet::IpNet]) -> Result<bool, String> {
        if nets.is_empty() {
            lock(&self.docker_user).remove(iface);
        } else {
            lock(&self.docker_user).insert(iface.clone(), nets.to_vec());
        }
        Ok(!nets.is_empty())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one sync did about the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enforcement {
    /// The table holds the ruleset (`repaired`: it was missing or edited and was replaced;
    /// `changed`: the ruleset itself is new).
    Applied {
        digest: String,
        repaired: bool,
        changed: bool,
    },
    /// Programming the table failed.
    Failed { digest: String, error: String },
    /// Enforcement is turned off on this host (any table was removed).
    Off,
    /// The server sends no ruleset (innernet, or a wiremesh server without policies); any
    /// table left from before was removed.
    NotOffered,
    /// The server was unreachable; the last ruleset applied stays (or was applied again).
    Kept,
}

impl Enforcement {
    /// What the server is told.
    fn report(&self) -> Option<PolicyReport> {
        match self {
            Enforcement::Applied { digest, .. } => Some(PolicyReport::Enforced {
                digest: digest.clone(),
            }),
            Enforcement::Failed { digest, error } => Some(PolicyReport::Failed {
                digest: digest.clone(),
                error: error.clone(),
            }),
            Enforcement::Off => Some(PolicyReport::Off),
            Enforcement::NotOffered | Enforcement::Kept => None,
        }
    }
}

/// The gateway duties a table is to hold, and whether they differ from last time (a table
/// that differs because of them was not changed behind wiremesh's back).
#[derive(Debug, Clone, Copy)]
pub struct Duties<'a> {
    pub gateway: &'a Gateway,
    pub changed: bool,
}

impl Duties<'_> {
    /// No gateway duties, as before.
    pub const NONE: Duties<'static> = Duties {
        gateway: &Gateway::NONE,
        changed: false,
    };
}

/// Makes the interface's table match what the server sent (`answered`: the server answered
/// this cycle; `ruleset`: what it sent; `duties`: what this host forwards as a gateway).
pub fn enforce(
    ctx: &Context,
    iface: &InterfaceName,
    answered: bool,
    ruleset: Option<&HostRuleset>,
    duties: Duties<'_>,
) -> Enforcement {
    let gateway = duties.gateway;
    let firewall = &ctx.policy.firewall;
    if !ctx.policy.enforce {
        match firewall.remove(iface) {
            Ok(true) => {
                tracing::warn!(%iface, "enforcement of the network's policy is turned off (--no-firewall): removed the firewall table")
            }
            // Without nft there is no table of ours.
            Ok(false) | Err(NftError::Missing) => {}
            Err(error) => tracing::error!(%iface, "failed to remove the firewall table: {error}"),
        }
        return Enforcement::Off;
    }
    let ruleset = match (answered, ruleset) {
        (true, Some(ruleset)) => ruleset.clone(),
        (true, None) => {
            match firewall.remove(iface) {
                Ok(true) => {
                    tracing::info!(%iface, "the server sends no port and protocol policy: removed the firewall table")
                }
                // Without nft there is no table of ours (and an innernet server's hosts need
                // none).
                Ok(false) | Err(NftError::Missing) => {}
                Err(error) => {
                    tracing::error!(%iface, "failed to remove the firewall table: {error}")
                }
            }
            if let Err(error) = files::remove_policy(&ctx.paths, iface) {
                tracing::warn!(%iface, "{error}");
            }
            return Enforcement::NotOffered;
        }
        (false, _) => {
            if let Some(saved) = files::load_policy(&ctx.paths, iface) {
                match firewall.ensure(iface, &saved, gateway) {
                    Ok(TableState::InSync) => {}
                    Ok(_) => {
                        tracing::warn!(%iface, "server unreachable: applied the last ruleset it sent again")
                    }
                    Err(error) => {
                        tracing::error!(%iface, "failed to apply the last ruleset the server sent: {error}")
                    }
                }
            }
            return Enforcement::Kept;
        }
    };
    let digest = ruleset.digest();
    let ruleset_changed = files::load_policy(&ctx.paths, iface).as_ref() != Some(&ruleset);
    let changed = ruleset_changed || duties.changed;
    match firewall.ensure(iface, &ruleset, gateway) {
        Ok(found) => {
            let repaired = match &found {
                TableState::InSync => false,
                TableState::Missing if changed => false,
                TableState::Missing => {
                    tracing::warn!(%iface, "the firewall table was missing; programmed it again");
                    true
                }
                TableState::Drifted(why) => {
                    if !changed {
                        tracing::warn!(%iface, "the firewall table was changed behind wiremesh's back ({why}); programmed it again");
                    }
                    !changed
                }
            };
            if changed {
                tracing::info!(%iface, digest, restricted = ruleset.restricted.len(), allows = ruleset.allows.len(), routes = gateway.nets.len(), snat = gateway.masquerades(), "firewall table programmed");
            }
            if ruleset_changed {
                if let Err(error) = files::save_policy(&ctx.paths, iface, &ruleset) {
                    tracing::warn!(%iface, "{error}");
                }
            }
            Enforcement::Applied {
                digest,
                repaired,
                changed,
            }
        }
        Err(error) => {
            tracing::error!(%iface, "failed to program the firewall table: {error}; the network's port and protocol policy is NOT enforced on this host");
            Enforcement::Failed {
                digest,
                error: error.to_string(),
            }
        }
    }
}

/// Tells the server what this host enforces, when that changed since this process last
/// told it (a failure is logged; the next sync tries again).
pub fn report(ctx: &Context, iface: &InterfaceName, api: &ApiClient, enforcement: &Enforcement) {
    let Some(policy) = enforcement.report() else {
        return;
    };
    let report = ClientReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        features: vec![POLICY_FEATURE.to_owned(), DEVICES_FEATURE.to_owned()],
        policy,
    };
    if lock(&ctx.policy.reported).get(iface) == Some(&report) {
        return;
    }
    match api.report(&report) {
        Ok(()) => {
            lock(&ctx.policy.reported).insert(iface.clone(), report);
        }
        Err(error) => {
            tracing::warn!(%iface, "failed to tell the server what this host enforces: {error}")
        }
    }
}

/// Removes the interface's table (for `down` and `uninstall`); returns whether there was one.
pub fn remove(ctx: &Context, iface: &InterfaceName) -> Result<bool, NftError> {
    ctx.policy.firewall.remove(iface)
}
