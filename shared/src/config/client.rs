//! Invitation files and the client's per-network config (compat §2.1, §3.1).
//!
//! An invitation is a client config with a temporary private key, no listen port and no
//! endpoint overrides, behind a comment header. Redeeming it produces a [`ClientConfig`] with a
//! fresh private key ([`ClientConfig::from_invitation`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use wireguard_control::PrivateKey;

use super::write::TomlWriter;
use super::{parse_toml, ConfigError, ConfigKind, InterfaceInfo, ServerInfo};
use crate::endpoint::Endpoint;

/// The comment block at the top of every invitation we write.
const INVITATION_HEADER: &str = "\
This file invites one host into a wiremesh network (innernet-compatible).

To join, run:      wiremesh install <this file>
innernet clients:  innernet install <this file>

It holds a private key: keep it secret and delete it once used.
Do not edit it; it works once, until its invitation expires.";

/// An invitation file, as written by `add-peer` and read by `install`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationConfig {
    /// The invitee's interface; `private_key` is temporary and `listen_port` is `None`.
    pub interface: InterfaceInfo,
    pub server: ServerInfo,
}

impl InvitationConfig {
    /// The file's text: a comment header, then `[interface]` and `[server]`.
    pub fn to_toml_string(&self) -> String {
        let mut out = TomlWriter::default();
        out.comments(INVITATION_HEADER);
        self.interface.write(&mut out);
        self.server.write(&mut out);
        out.finish()
    }

    /// Parses an invitation (comment lines and unknown keys are ignored).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        parse_toml(ConfigKind::Invitation, text)
    }
}

/// `<config-dir>/<iface>.conf` on a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClientConfig {
    pub interface: InterfaceInfo,
    pub server: ServerInfo,
    /// Endpoints to use for given peers instead of what the server reports, keyed by peer IP.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peer_endpoint_overrides: BTreeMap<IpAddr, Endpoint>,
    /// What this host does with routes beyond the mesh (wiremesh's own table: innernet
    /// ignores it).
    #[serde(default, skip_serializing_if = "RouteSettings::is_default")]
    pub routes: RouteSettings,
}

/// The `[routes]` table of a client config: which routes this host uses, and how it
/// forwards as a gateway. Left out of the file while everything is at its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RouteSettings {
    /// Use the subnet routes gateways offer (`wiremesh accept-routes`); off by default, so a
    /// host is never rerouted without being told.
    #[serde(default)]
    pub accept: bool,
    /// Send all traffic through this peer, named by its mesh address (`wiremesh
    /// set-exit-node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_node: Option<IpAddr>,
    /// As a gateway, masquerade mesh traffic toward the routes this host offers (on by
    /// default; off for routed sites whose hosts know the way back to the mesh).
    #[serde(default = "yes")]
    pub snat: bool,
}

fn yes() -> bool {
    true
}

impl Default for RouteSettings {
    fn default() -> Self {
        Self {
            accept: false,
            exit_node: None,
            snat: true,
        }
    }
}

impl RouteSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl ClientConfig {
    /// The config after redeeming `invitation` with the permanent `private_key`.
    pub fn from_invitation(invitation: InvitationConfig, private_key: PrivateKey) -> Self {
        let InvitationConfig { interface, server } = invitation;
        Self {
            interface: InterfaceInfo {
                private_key,
                listen_port: None,
                backend: None,
                ..interface
            },
            server,
            peer_endpoint_overrides: BTreeMap::new(),
            routes: RouteSettings::default(),
        }
    }

    /// The file's text; `[peer-endpoint-overrides]` only when there are any.
    pub fn to_toml_string(&self) -> String {
        let mut out = TomlWriter::default();
        self.interface.write(&mut out);
        self.server.write(&mut out);
        if !self.peer_endpoint_overrides.is_empty() {
            out.table("peer-endpoint-overrides");
            for (ip, endpoint) in &self.peer_endpoint_overrides {
                out.quoted_key_string(&ip.to_string(), &endpoint.to_string());
            }
        }
        if !self.routes.is_default() {
            let routes = &self.routes;
            out.table("routes");
            out.boolean("accept", routes.accept);
            if let Some(exit) = routes.exit_node {
                out.string("exit-node", &exit.to_string());
            }
            out.boolean("snat", routes.snat);
        }
        out.finish()
    }

    /// Parses a client config (unknown keys are ignored).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        parse_toml(ConfigKind::ClientConfig, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wireguard_control::BackendKind;

    const INVITATION: &str = "\
# any comment
[interface]
network-name = \"evilcorp\"
address = \"10.66.2.3/16\"
private-key = \"qE5lI7FlFjTz2krRiYS4+NCHvSe2yWxtykB6ItJGk3A=\"
unknown-key = 1

[server]
public-key = \"i/c82isZ8Dgl8rCA4UN0+rr2Zlo9T/3OLeSpaZFDHg4=\"
external-endpoint = \"VPN.example.com:51820\"
internal-endpoint = \"10.66.0.1:51820\"

[unknown-table]
x = 1
";

    #[test]
    fn invitation_round_trip_and_header() {
        let invitation = InvitationConfig::from_toml_str(INVITATION).unwrap();
        assert_eq!(invitation.interface.address.to_string(), "10.66.2.3/16");
        assert_eq!(
            invitation.server.external_endpoint.to_string(),
            "vpn.example.com:51820"
        );
        let text = invitation.to_toml_string();
        assert!(
            text.starts_with("# This file invites one host into a wiremesh network"),
            "{text}"
        );
        assert!(text.contains("innernet install <this file>"), "{text}");
        assert!(
            text.contains("\n[interface]\nnetwork-name = \"evilcorp\"\n"),
            "{text}"
        );
        assert!(!text.contains("listen-port"), "{text}");
        assert_eq!(InvitationConfig::from_toml_str(&text).unwrap(), invitation);
    }

    #[test]
    fn client_config_from_invitation_and_overrides() {
        let invitation = InvitationConfig::from_toml_str(INVITATION).unwrap();
        let key = PrivateKey::from_base64("wCDKMwDGrAhY0W/Uy6bNRY2Eiq0aa+mhRKTg7C8BWkM=").unwrap();
        let mut config = ClientConfig::from_invitation(invitation.clone(), key.clone());
        assert_eq!(config.interface.private_key, key);
        assert_eq!(config.server, invitation.server);
        let text = config.to_toml_string();
        assert!(!text.contains("peer-endpoint-overrides"), "{text}");
        assert_eq!(ClientConfig::from_toml_str(&text).unwrap(), config);

        config.interface.listen_port = Some(51821);
        for (ip, endpoint) in [
            ("10.66.2.5", "192.0.2.10:51820"),
            ("fd00::5", "[2001:db8::1]:7"),
        ] {
            config
                .peer_endpoint_overrides
                .insert(ip.parse().unwrap(), endpoint.parse().unwrap());
        }
        let text = config.to_toml_string();
        assert!(text.contains("listen-port = 51821\n"), "{text}");
        assert!(text.contains("[peer-endpoint-overrides]\n\"10.66.2.5\" = \"192.0.2.10:51820\"\n"));
        assert_eq!(ClientConfig::from_toml_str(&text).unwrap(), config);
        // serde's own TOML encoding agrees.
        let via_serde = toml::to_string(&config).unwrap();
        assert_eq!(ClientConfig::from_toml_str(&via_serde).unwrap(), config);
    }

    #[test]
    fn the_backend_is_recorded_and_checked() {
        let invitation = InvitationConfig::from_toml_str(INVITATION).unwrap();
        let key = PrivateKey::from_base64("wCDKMwDGrAhY0W/Uy6bNRY2Eiq0aa+mhRKTg7C8BWkM=").unwrap();
        let mut config = ClientConfig::from_invitation(invitation, key);
        assert_eq!(config.interface.backend, None);
        assert!(!config.to_toml_string().contains("backend"));
        config.interface.backend = Some(BackendKind::Userspace);
        let text = config.to_toml_string();
        assert!(text.contains("\nbackend = \"userspace\"\n"), "{text}");
        assert_eq!(ClientConfig::from_toml_str(&text).unwrap(), config);
        let via_serde = toml::to_string(&config).unwrap();
        assert_eq!(ClientConfig::from_toml_str(&via_serde).unwrap(), config);
        for bad in ["fake", "wireguard-go", ""] {
            let text = INVITATION.replace(
                "unknown-key = 1",
                &format!("unknown-key = 1\nbackend = \"{bad}\""),
            );
            let message = ClientConfig::from_toml_str(&text).unwrap_err().to_string();
            assert!(
                message.contains("backend") && message.contains("\"kernel\" or \"userspace\""),
                "{message}"
            );
        }
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let padding = "#".repeat(crate::config::MAX_TOML_BYTES);
        let text = format!("{INVITATION}{padding}\n");
        let message = InvitationConfig::from_toml_str(&text)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("failed to parse invitation: the file is 1048")
                && message.ends_with("bytes, more than the 1048576 allowed"),
            "{message}"
        );
        let message = ClientConfig::from_toml_str(&text).unwrap_err().to_string();
        assert!(
            message.contains("more than the 1048576 allowed"),
            "{message}"
        );
    }

    #[test]
    fn bad_override_key_is_rejected() {
        let text =
            format!("{INVITATION}\n[peer-endpoint-overrides]\n\"not-an-ip\" = \"1.2.3.4:5\"\n");
        let message = ClientConfig::from_toml_str(&text).unwrap_err().to_string();
        assert!(message.contains("invalid IP address"), "{message}");
    }
}
