//! A new invitation as data: the peer row an inviter creates and the file the invitee gets.
//!
//! Both inviters — `wiremesh-server add-peer` on the database and `wiremesh add-peer` through
//! the admin API — build invitations here, so the two cannot drift apart.

use std::net::IpAddr;
use std::time::SystemTime;

use ipnet::IpNet;
use wireguard_control::PrivateKey;

use super::{InterfaceInfo, InvitationConfig, ServerInfo};
use crate::wire::{PeerContents, PERSISTENT_KEEPALIVE_INTERVAL_SECS};
use crate::{CidrId, Hostname};

/// Everything an inviter decided about a new peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteSpec {
    pub name: Hostname,
    pub ip: IpAddr,
    pub cidr_id: CidrId,
    pub admin: bool,
    pub expires: SystemTime,
    pub network_name: String,
    /// The root CIDR's prefix length: the invitee's address carries it, so the whole network
    /// is on-link (compat §2.1).
    pub root_prefix: u8,
    pub server: ServerInfo,
}

/// The peer row (holding the temporary key's public half, not redeemed) and the invitation
/// file (holding the temporary private key) for `spec`.
pub fn new_invitation(
    spec: InviteSpec,
    temporary_key: PrivateKey,
) -> (PeerContents, InvitationConfig) {
    let contents = PeerContents {
        name: spec.name,
        ip: spec.ip,
        cidr_id: spec.cidr_id,
        public_key: temporary_key.public_key(),
        endpoint: None,
        persistent_keepalive_interval: Some(PERSISTENT_KEEPALIVE_INTERVAL_SECS),
        is_admin: spec.admin,
        is_disabled: false,
        is_redeemed: false,
        invite_expires: Some(spec.expires),
        candidates: Vec::new(),
    };
    // The root and the peer share a family, so the prefix fits; a host route otherwise.
    let address = IpNet::new(spec.ip, spec.root_prefix).unwrap_or(IpNet::from(spec.ip));
    let file = InvitationConfig {
        interface: InterfaceInfo {
            network_name: spec.network_name,
            address,
            private_key: temporary_key,
            listen_port: None,
            backend: None,
        },
        server: spec.server,
    };
    (contents, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_row_and_the_file_from_one_key() {
        let key = PrivateKey::generate();
        let server = ServerInfo {
            public_key: PrivateKey::generate().public_key(),
            external_endpoint: "192.0.2.1:51820".parse().unwrap(),
            internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
        };
        let spec = InviteSpec {
            name: "robot".parse().unwrap(),
            ip: "10.66.2.7".parse().unwrap(),
            cidr_id: CidrId(4),
            admin: false,
            expires: SystemTime::UNIX_EPOCH,
            network_name: "evilcorp".into(),
            root_prefix: 16,
            server: server.clone(),
        };
        let (row, file) = new_invitation(spec, key.clone());
        assert_eq!(row.public_key, key.public_key());
        assert!(!row.is_redeemed && !row.is_disabled);
        assert_eq!(row.invite_expires, Some(SystemTime::UNIX_EPOCH));
        assert_eq!(file.interface.address.to_string(), "10.66.2.7/16");
        assert_eq!(file.interface.private_key, key);
        assert_eq!(file.server, server);
        let text = file.to_toml_string();
        assert_eq!(InvitationConfig::from_toml_str(&text).unwrap(), file);
    }
}
