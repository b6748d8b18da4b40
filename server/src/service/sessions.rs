//! Who is calling: the peer behind a tunnel address, and the user and admin checks.

use std::net::IpAddr;

use wiremesh_shared::wire::Peer;

use super::Service;
use crate::error::{Denied, Result, ServiceError};

impl Service {
    /// The peer whose tunnel address sent a request; disabled peers and devices are refused.
    pub fn caller(&self, source: IpAddr) -> Result<Peer> {
        let model = self.model();
        let peer = model
            .peer_by_ip(source.to_canonical())
            .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
        // A device has no business with the API: it is nobody's caller.
        if model.is_device(peer.id) {
            return Err(ServiceError::Denied(Denied::UnknownPeer));
        }
        if peer.is_disabled {
            return Err(ServiceError::Denied(Denied::Disabled));
        }
        if !model.ephemeral().is_empty() {
            self.saw(peer.id);
        }
        Ok(peer.clone())
    }

    /// Checks that `caller` is an enabled, redeemed peer.
    pub fn require_user(caller: &Peer) -> Result<()> {
        if caller.is_disabled {
            Err(ServiceError::Denied(Denied::Disabled))
        } else if !caller.is_redeemed {
            Err(ServiceError::Denied(Denied::NotRedeemed))
        } else {
            Ok(())
        }
    }

    /// Checks that `caller` is an enabled, redeemed admin.
    pub fn require_admin(caller: &Peer) -> Result<()> {
        Self::require_user(caller)?;
        if caller.is_admin {
            Ok(())
        } else {
            Err(ServiceError::Denied(Denied::NotAdmin))
        }
    }
}
