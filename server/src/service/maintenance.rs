//! Maintenance: expired invitations, due key swaps, endpoints observed on the interface,
//! and bringing the interface in line with the model.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::SystemTime;

use wireguard_control::PublicKey;
use wiremesh_shared::diff::{device_update, diff_hub_peers};
use wiremesh_shared::wire::Peer;
use wiremesh_shared::PeerId;

use super::{desired_interface_peers, hub_extras, lock, DeviceSync, DeviceWork, Service};
use crate::changes::compare;
use crate::error::Result;
use crate::model::PendingKeySwap;

impl Service {
    /// Deletes invitations that expired unredeemed (see [`Service::invite_expired_at`]);
    /// their keys leave the interface too.
    pub fn sweep_expired_invites(&self) -> Result<Vec<Peer>> {
        let now = self.clock.now();
        let model = self.model();
        let expired: Vec<PeerId> = model
            .peers()
            .iter()
            .filter(|peer| !peer.is_redeemed)
            .filter(|peer| {
                peer.invite_expires
                    .is_some_and(|expires| self.invite_expired_at(peer.id, expires, now))
            })
            .map(|peer| peer.id)
            .collect();
        // Forget the deadlines of invitations that are gone or redeemed.
        lock(&self.invite_deadlines).retain(|id, _| {
            model
                .peer(*id)
                .is_some_and(|peer| !peer.is_redeemed && peer.invite_expires.is_some())
        });
        drop(model);
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|model, store| {
            let removed = store.delete_expired_invites(&expired)?;
            if removed.is_empty() {
                return Ok((removed, None));
            }
            for peer in &removed {
                tracing::info!(peer = %peer.name, ip = %peer.ip, "expired invitation removed");
            }
            let next =
                model.edited(|data| data.peers.retain(|p| !removed.iter().any(|r| r.id == p.id)));
            Ok((removed, Some(next)))
        })
    }

    /// Whether the invitation of peer `id`, which expires at `expires` on the wall clock,
    /// has expired at `now` (the wall clock's reading). It has when its time has come on the
    /// wall clock (innernet's rule), or when as much time as it had left when this server
    /// first looked has passed on the monotonic clock: a wall clock stepped back (by NTP, by
    /// hand) must not prolong an invitation. A clock stepped forward ends it early, as it
    /// would for innernet.
    pub(super) fn invite_expired_at(
        &self,
        id: PeerId,
        expires: SystemTime,
        now: SystemTime,
    ) -> bool {
        if expires < now {
            return true;
        }
        let instant = self.clock.instant();
        let left = expires.duration_since(now).unwrap_or_default();
        let mut deadlines = lock(&self.invite_deadlines);
        let entry = deadlines.entry(id).or_insert((expires, instant + left));
        if entry.0 != expires {
            // The expiry was edited: it counts from now.
            *entry = (expires, instant + left);
        }
        instant > entry.1
    }

    /// Starts the monotonic deadline of every invitation this server has not met yet (at
    /// start, and when another process added some), so that a wall clock set back before
    /// the next sweep cannot prolong them.
    pub(super) fn note_invitations(&self) {
        let now = self.clock.now();
        let model = self.model();
        for peer in model.peers().iter().filter(|peer| !peer.is_redeemed) {
            if let Some(expires) = peer.invite_expires {
                self.invite_expired_at(peer.id, expires, now);
            }
        }
    }

    /// Drops key swaps whose delay has passed, so the next device sync installs new keys.
    pub fn finish_due_key_swaps(&self) -> bool {
        let now = self.clock.instant();
        let (changed, work) = {
            let _store = lock(&self.writer);
            let model = self.model();
            let due = model.pending_swaps().values().any(|swap| swap.due <= now);
            if due {
                let pending: HashMap<PeerId, PendingKeySwap> = model
                    .pending_swaps()
                    .iter()
                    .filter(|(_, swap)| swap.due > now)
                    .map(|(k, v)| (*k, *v))
                    .collect();
                (
                    true,
                    self.publish_planned(&model, model.with_pending_swaps(pending)),
                )
            } else {
                (false, DeviceWork::None)
            }
        };
        self.finish_device_work(work);
        changed
    }

    /// Reads the endpoints the server's interface observed for each peer (compat §1.9).
    pub fn observe_endpoints(&self) -> Result<bool, wireguard_control::Error> {
        let Some(device) = &self.device else {
            return Ok(false);
        };
        let info = device.backend.get(&device.name)?;
        Ok(self.record_observed(&info.peers))
    }

    /// Records the endpoints in `peers` (as read from the interface); whether any changed.
    /// They are saved with the peers they change, so that a restarted server still knows
    /// what its clients were told.
    fn record_observed(&self, peers: &[wireguard_control::PeerInfo]) -> bool {
        let mut store = lock(&self.writer);
        let model = self.model();
        let mut observed: HashMap<PublicKey, SocketAddr> = model.observed().clone();
        for peer in peers {
            if let Some(endpoint) = peer.config.endpoint {
                observed.insert(peer.config.public_key, endpoint);
            }
        }
        // Forget keys no peer has any more (innernet's map only grows).
        let known: HashSet<&PublicKey> = model.peers().iter().map(|p| &p.public_key).collect();
        observed.retain(|key, _| known.contains(key));
        drop(known);
        if &observed == model.observed() {
            return false;
        }
        let mut saved: Vec<(PublicKey, Option<SocketAddr>)> = observed
            .iter()
            .filter(|(key, endpoint)| model.observed().get(key) != Some(endpoint))
            .map(|(key, endpoint)| (*key, Some(*endpoint)))
            .collect();
        saved.extend(
            model
                .observed()
                .keys()
                .filter(|key| !observed.contains_key(key))
                .map(|key| (*key, None)),
        );
        let next = model.with_observed(observed);
        let comparison = compare(&model, &next);
        match store.record_change(&comparison.touched, false, &saved) {
            Ok(revision) => {
                self.publish(next.at_revision(revision));
                true
            }
            Err(error) => {
                // Observations are hints: the next read of the interface tries again.
                tracing::warn!("failed to record observed endpoints: {error}");
                false
            }
        }
    }

    /// Housekeeping's interface work with a single read of the interface (which is what
    /// costs at 50,000 peers): [`Service::sync_device`], then recording the endpoints that
    /// read observed, as [`Service::observe_endpoints`] does.
    pub fn maintain_interface(&self) -> Result<(DeviceSync, bool), wireguard_control::Error> {
        let (sync, peers) = self.sync_device_reading()?;
        self.saw_handshakes(&peers);
        let observed = self.record_observed(&peers);
        Ok((sync, observed))
    }

    /// Brings the server's interface in line with the model: every enabled peer (invitations
    /// with their temporary key) with exactly its address as allowed IP; nothing else.
    pub fn sync_device(&self) -> Result<DeviceSync, wireguard_control::Error> {
        self.sync_device_reading().map(|(sync, _)| sync)
    }

    /// [`Service::sync_device`], also returning the peers as read before the update.
    fn sync_device_reading(
        &self,
    ) -> Result<(DeviceSync, Vec<wireguard_control::PeerInfo>), wireguard_control::Error> {
        let Some(device) = &self.device else {
            return Ok((DeviceSync::default(), Vec::new()));
        };
        let _guard = lock(&self.device_lock);
        let model = self.model();
        let info = device.backend.get(&device.name)?;
        let desired = desired_interface_peers(&model);
        let (routes, preshared) = hub_extras(&model);
        let changes = diff_hub_peers(
            &desired,
            &info.peers,
            info.public_key.as_ref(),
            self.clock.now(),
            |_| None,
            &routes,
            &preshared,
        );
        let sync = DeviceSync::of(&changes);
        let update = device_update(&changes);
        if !update.is_empty() {
            device.backend.apply(&device.name, &update)?;
            tracing::debug!(?sync, "server interface updated");
        }
        drop(changes);
        Ok((sync, info.peers))
    }

    pub(super) fn sync_device_logged(&self) {
        if let Err(error) = self.sync_device() {
            // The change is committed; the next periodic sync retries.
            tracing::error!("failed to update the server's WireGuard interface: {error}");
        }
    }
}

/// One peer as the server's interface sees it right now (the automation API's `status`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PeerStatus {
    pub id: PeerId,
    pub name: String,
    #[schema(value_type = String)]
    pub ip: std::net::IpAddr,
    pub device: bool,
    pub disabled: bool,
    /// Whether the peer is on the server's interface (enabled peers whose hub is the server).
    pub on_interface: bool,
    /// Where its packets last came from.
    #[schema(value_type = Option<String>)]
    pub endpoint: Option<SocketAddr>,
    /// UNIX seconds; `None`: never.
    pub last_handshake: Option<u64>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl Service {
    /// Every peer (the server's own excepted) with what the server's interface says about it.
    pub fn interface_status(&self) -> Result<Vec<PeerStatus>, wireguard_control::Error> {
        let peers = match &self.device {
            Some(device) => device.backend.get(&device.name)?.peers,
            None => Vec::new(),
        };
        let by_key: HashMap<&PublicKey, &wireguard_control::PeerInfo> =
            peers.iter().map(|p| (&p.config.public_key, p)).collect();
        let model = self.model();
        let server = model.roles().server_peer;
        Ok(model
            .peers()
            .iter()
            .filter(|p| p.id != server)
            .map(|p| {
                let info = by_key.get(&p.public_key);
                PeerStatus {
                    id: p.id,
                    name: p.name.to_string(),
                    ip: p.ip,
                    device: model.is_device(p.id),
                    disabled: p.is_disabled,
                    on_interface: info.is_some(),
                    endpoint: info.and_then(|i| i.config.endpoint),
                    last_handshake: info
                        .and_then(|i| i.stats.last_handshake_time)
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_secs()),
                    rx_bytes: info.map_or(0, |i| i.stats.rx_bytes),
                    tx_bytes: info.map_or(0, |i| i.stats.tx_bytes),
                }
            })
            .collect())
    }
}
