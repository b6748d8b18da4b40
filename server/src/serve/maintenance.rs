//! The maintenance loop beside the API.
//!
//! Every 250 ms: pick up changes other processes (the admin CLI) committed to the database,
//! which also brings the interface in line with them, and finish due key swaps. Every 10 s
//! ([`housekeeping_interval`]: longer beyond 20,000 peers; first at once): delete expired
//! invitations, re-synchronise the interface (repairing anything changed behind the server's
//! back) and record the endpoints it observed and the handshakes of ephemeral peers, from one
//! read of the interface, delete ephemeral peers offline past their window, and rewrite the
//! hosts file section. The server's own firewall table
//! follows the policy within a tick of any change, and is checked against it (and repaired)
//! at each housekeeping. All of it is blocking work and runs on the blocking pool;
//! errors are logged (each distinct one once) and never stop the loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hostsfile::{peer_hostname, HostsBuilder, Tag, Written};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use wireguard_control::InterfaceName;

use wiremesh_firewall::{Firewall, Gateway, Hub, Nft, TableState};
use wiremesh_shared::policy::HostRuleset;
use wiremesh_shared::wire::PolicyReport;

use super::HostsFile;
use crate::forwarding::Forwarding;
use crate::service::Service;

/// How often other processes' commits are picked up.
pub const RELOAD_INTERVAL: Duration = Duration::from_millis(250);
/// How often the slower housekeeping runs, at least.
pub const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(10);
/// Peers per second of housekeeping interval beyond [`HOUSEKEEPING_INTERVAL`]: reading and
/// diffing the interface costs in proportion to its peers, so large networks space it out to
/// keep the idle server's CPU flat (25 s at 50,000 peers).
const PEERS_PER_HOUSEKEEPING_SECOND: usize = 2_000;

/// The housekeeping interval for a network of `peers`.
pub fn housekeeping_interval(peers: usize) -> Duration {
    HOUSEKEEPING_INTERVAL.max(Duration::from_secs(
        (peers / PEERS_PER_HOUSEKEEPING_SECOND) as u64,
    ))
}

/// Runs until `stop` turns true (or its sender is gone).
pub async fn run(
    service: Arc<Service>,
    iface: InterfaceName,
    hosts: Option<HostsFile>,
    firewall: (bool, Forwarding),
    mut stop: watch::Receiver<bool>,
) {
    let (enabled, forwarding) = firewall;
    let firewall = ServerFirewall::new(&iface, enabled, forwarding);
    let mut ticks = tokio::time::interval(RELOAD_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut state = Some(LoopState {
        service,
        iface,
        hosts,
        firewall,
        next_housekeeping: Instant::now(),
        last_errors: Default::default(),
    });
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
                continue;
            }
        }
        if *stop.borrow() {
            break;
        }
        let Some(mut current) = state.take() else {
            break;
        };
        match tokio::task::spawn_blocking(move || {
            current.tick();
            current
        })
        .await
        {
            Ok(current) => state = Some(current),
            Err(error) => {
                tracing::error!("maintenance stopped: a tick panicked: {error}");
                break;
            }
        }
    }
}

/// The loop's state, moved onto the blocking pool for each tick.
struct LoopState {
    service: Arc<Service>,
    iface: InterfaceName,
    hosts: Option<HostsFile>,
    firewall: ServerFirewall,
    next_housekeeping: Instant,
    /// The last error of each task, so a persistent failure is logged once, not four times a
    /// second.
    last_errors: [Option<String>; Task::COUNT],
}

#[derive(Debug, Clone, Copy)]
enum Task {
    Reload,
    Sweep,
    Interface,
    Hosts,
    Firewall,
    Ephemeral,
}

impl Task {
    const COUNT: usize = 6;
}

/// The server's own interface table (`inet wiremesh_<iface>`): its ruleset, and its duties
/// as the hub of devices, follow the model. Forwarding is on while it hosts devices.
struct ServerFirewall {
    /// `None` once enforcement is off and any table was removed.
    table: Option<Firewall>,
    /// `false` (`--no-firewall`): the first tick removes the table and stops.
    enabled: bool,
    /// The revision whose ruleset was last programmed, and that ruleset and hub.
    applied: Option<(u64, HostRuleset, Hub)>,
    forwarding: Forwarding,
}

impl ServerFirewall {
    fn new(iface: &InterfaceName, enabled: bool, forwarding: Forwarding) -> Self {
        Self {
            table: Some(Firewall::new(Nft::system(), iface.as_str())),
            enabled,
            applied: None,
            forwarding,
        }
    }

    /// Forwarding on while the table judges devices' traffic, back to what it was otherwise.
    fn follow_forwarding(&self, hub: &Hub, v6: bool) -> Result<(), String> {
        if hub.is_empty() || !self.enabled {
            if self.forwarding.is_recorded() {
                let off = self
                    .forwarding
                    .restore()
                    .map_err(|e| format!("failed to put IP forwarding back: {e}"))?;
                if !off.is_empty() {
                    tracing::info!("no devices to forward for: IP forwarding is off again");
                }
            }
            return Ok(());
        }
        let turned = self
            .forwarding
            .turn_on(v6)
            .map_err(|e| format!("failed to turn IP forwarding on for the devices: {e}"))?;
        if turned {
            let family = if v6 { "IPv6" } else { "IPv4" };
            tracing::info!("{family} forwarding turned on: the server is the hub of devices");
        }
        Ok(())
    }

    /// Brings the table in line with the model: at once when the ruleset changed, and by
    /// reading the table back (`check`) when asked to.
    fn follow(&mut self, service: &Service, check: bool) -> Result<(), String> {
        let Some(table) = &self.table else {
            return Ok(());
        };
        if !self.enabled {
            let removed = table
                .remove()
                .map_err(|e| format!("failed to remove the firewall table: {e}"))?;
            if removed {
                tracing::warn!("--no-firewall: removed the server's firewall table; the policy is not enforced on the server");
            }
            if !service.model().server_hub().is_empty() {
                tracing::warn!("--no-firewall: the server does not forward for its devices; they reach only the server");
            }
            self.table = None;
            self.follow_forwarding(&Hub::NONE, false)?;
            return service
                .record_own_enforcement(PolicyReport::Off)
                .map_err(|e| format!("failed to record the server's enforcement: {e}"));
        }
        let model = service.model();
        let revision = model.revision();
        let unchanged = self
            .applied
            .as_ref()
            .is_some_and(|(r, _, _)| *r == revision);
        if unchanged && !check {
            return Ok(());
        }
        let Some(ruleset) = service.server_ruleset() else {
            return Ok(());
        };
        let hub = model.server_hub();
        let v6 = model.server_peer().is_some_and(|p| p.ip.is_ipv6());
        let gateway = Gateway {
            hub,
            ..Gateway::NONE
        };
        let fail = |e: wiremesh_firewall::NftError| {
            format!("failed to program the server's firewall table: {e}; the policy is NOT enforced on the server")
        };
        let same = self
            .applied
            .as_ref()
            .is_some_and(|(_, r, h)| *r == ruleset && *h == gateway.hub);
        if same && !check {
            self.applied = Some((revision, ruleset, gateway.hub));
            return Ok(());
        }
        let digest = ruleset.digest();
        let found = match table.ensure_with(&ruleset, &gateway) {
            Ok(found) => found,
            Err(error) => {
                let _ = service.record_own_enforcement(PolicyReport::Failed {
                    digest,
                    error: error.to_string(),
                });
                return Err(fail(error));
            }
        };
        match found {
            TableState::InSync => {}
            _ if !same => tracing::info!(restricted = ruleset.restricted.len(), allows = ruleset.allows.len(), "server firewall table programmed"),
            TableState::Missing => tracing::warn!("the server's firewall table was missing; programmed it again"),
            TableState::Drifted(why) => tracing::warn!("the server's firewall table was changed behind its back ({why}); programmed it again"),
        }
        let forwarded = self.follow_forwarding(&gateway.hub, v6);
        if !gateway.hub.is_empty() && !same {
            tracing::info!(
                devices = gateway.hub.devices.len(),
                "the server forwards for its devices"
            );
        }
        self.applied = Some((revision, ruleset, gateway.hub));
        forwarded?;
        service
            .record_own_enforcement(PolicyReport::Enforced { digest })
            .map_err(|e| format!("failed to record the server's enforcement: {e}"))
    }
}

impl LoopState {
    fn tick(&mut self) {
        let reloaded = self.service.reload_if_changed();
        self.report(
            Task::Reload,
            reloaded.map_err(|e| format!("failed to reload the database: {e}")),
        );
        self.service.finish_due_key_swaps();
        let housekeeping = Instant::now() >= self.next_housekeeping;
        let followed = self.firewall.follow(&self.service, housekeeping);
        self.report(Task::Firewall, followed);
        if !housekeeping {
            return;
        }
        let peers = self.service.model().peers().len();
        self.next_housekeeping = Instant::now() + housekeeping_interval(peers);
        let swept = self.service.sweep_expired_invites();
        self.report(
            Task::Sweep,
            swept.map_err(|e| format!("failed to remove expired invitations: {e}")),
        );
        // One read of the interface serves the repair, the observed endpoints and the
        // handshakes of ephemeral peers.
        let maintained = self.service.maintain_interface();
        if let Ok((sync, _)) = &maintained {
            if !sync.is_empty() {
                tracing::info!(?sync, "interface peers repaired");
            }
        }
        self.report(
            Task::Interface,
            maintained.map_err(|e| format!("failed to read or update the interface: {e}")),
        );
        let ephemeral = self.service.sweep_ephemeral();
        self.report(
            Task::Ephemeral,
            ephemeral.map_err(|e| format!("failed to delete offline ephemeral peers: {e}")),
        );
        if let Some(hosts) = &self.hosts {
            let written = write_hosts(&self.service, &self.iface, hosts);
            self.report(Task::Hosts, written);
        }
    }

    /// Logs an error the first time it occurs, and the recovery after one.
    fn report<T>(&mut self, task: Task, result: Result<T, String>) {
        let slot = &mut self.last_errors[task as usize];
        match result {
            Ok(_) => {
                if slot.take().is_some() {
                    tracing::info!(?task, "recovered");
                }
            }
            Err(message) => {
                if slot.as_deref() != Some(message.as_str()) {
                    tracing::warn!("{message}");
                    *slot = Some(message);
                }
            }
        }
    }
}

/// Every enabled, redeemed peer into the `wiremesh <iface>` section of the hosts file.
fn write_hosts(service: &Service, iface: &InterfaceName, hosts: &HostsFile) -> Result<(), String> {
    let fail = |error: hostsfile::Error| {
        format!(
            "failed to update hosts file {}: {error}",
            hosts.path.display()
        )
    };
    let mut builder = HostsBuilder::new(Tag::wiremesh(iface.as_str()).map_err(fail)?);
    let model = service.model();
    for peer in model
        .peers()
        .iter()
        .filter(|p| !p.is_disabled && p.is_redeemed)
    {
        let name = peer_hostname(peer.name.as_str(), iface.as_str(), hosts.suffix.as_deref());
        builder.add_hostname(peer.ip, name).map_err(fail)?;
    }
    if builder.write_to(&hosts.path).map_err(fail)? == Written::Changed {
        tracing::info!(path = %hosts.path.display(), "hosts file updated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn housekeeping_spaces_out_only_for_large_networks() {
        assert_eq!(housekeeping_interval(0), HOUSEKEEPING_INTERVAL);
        assert_eq!(housekeeping_interval(20_000), HOUSEKEEPING_INTERVAL);
        assert_eq!(housekeeping_interval(50_000), Duration::from_secs(25));
    }
}
