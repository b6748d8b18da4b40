//! The server's per-network config, `<config-dir>/<iface>.conf` (compat §3.2): flat TOML.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wireguard_control::PrivateKey;

use super::write::TomlWriter;
use super::{parse_toml, ConfigError, ConfigKind};
use crate::wire::base64_key;

/// The server's WireGuard key, port and place in the network.
///
/// Parsing checks that `network_cidr_prefix` fits the address family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", try_from = "ServerConfigFields")]
pub struct ServerConfig {
    #[serde(with = "base64_key")]
    pub private_key: PrivateKey,
    /// The WireGuard UDP port, and the API's TCP port on the WireGuard address.
    pub listen_port: u16,
    /// The server's own WireGuard IP (first host of the root CIDR).
    pub address: IpAddr,
    /// Prefix length of the root CIDR.
    pub network_cidr_prefix: u8,
}

/// The fields as read, before the prefix is checked against the address.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ServerConfigFields {
    #[serde(with = "base64_key")]
    private_key: PrivateKey,
    listen_port: u16,
    address: IpAddr,
    network_cidr_prefix: u8,
}

/// A prefix longer than the address allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network-cidr-prefix {prefix} is too long for address {address}")]
pub struct PrefixTooLong {
    pub address: IpAddr,
    pub prefix: u8,
}

impl TryFrom<ServerConfigFields> for ServerConfig {
    type Error = PrefixTooLong;

    fn try_from(fields: ServerConfigFields) -> Result<Self, Self::Error> {
        let ServerConfigFields {
            private_key,
            listen_port,
            address,
            network_cidr_prefix,
        } = fields;
        if IpNet::new(address, network_cidr_prefix).is_err() {
            return Err(PrefixTooLong {
                address,
                prefix: network_cidr_prefix,
            });
        }
        Ok(Self {
            private_key,
            listen_port,
            address,
            network_cidr_prefix,
        })
    }
}

impl ServerConfig {
    /// The root network: `address/prefix` with the host bits cleared. A prefix too long for
    /// the address (only possible when built by hand) is taken as the full length.
    pub fn network(&self) -> IpNet {
        let max_prefix = match self.address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = self.network_cidr_prefix.min(max_prefix);
        IpNet::new(self.address, prefix)
            .map(|net| net.trunc())
            .unwrap_or(IpNet::from(self.address))
    }

    /// The interface address: `address/prefix`, host bits kept.
    pub fn interface_address(&self) -> IpNet {
        IpNet::new(self.address, self.network_cidr_prefix).unwrap_or(IpNet::from(self.address))
    }

    /// The file's text.
    pub fn to_toml_string(&self) -> String {
        let mut out = TomlWriter::default();
        out.string("private-key", &self.private_key.to_base64());
        out.integer("listen-port", self.listen_port.into());
        out.string("address", &self.address.to_string());
        out.integer("network-cidr-prefix", self.network_cidr_prefix.into());
        out.finish()
    }

    /// Parses a server config (unknown keys are ignored).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        parse_toml(ConfigKind::ServerConfig, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is the network, or a fragment of the error.
    fn check(address: &str, prefix: u32, expected: Result<&str, &str>) {
        let text = format!(
            "private-key = \"8MeFD8VMauy8y3txmWVPafteg3JSowTTztk2+UF6QWo=\"\nlisten-port = 51820\n\
             address = \"{address}\"\nnetwork-cidr-prefix = {prefix}\n"
        );
        match (ServerConfig::from_toml_str(&text), expected) {
            (Ok(config), Ok(network)) => {
                assert_eq!(config.network().to_string(), network);
                assert_eq!(
                    ServerConfig::from_toml_str(&config.to_toml_string()).unwrap(),
                    config
                );
            }
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
            }
            (got, expected) => panic!("{address}/{prefix}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn prefix_and_network() {
        check("10.66.0.1", 16, Ok("10.66.0.0/16"));
        check("10.66.0.1", 32, Ok("10.66.0.1/32"));
        check("10.66.0.1", 0, Ok("0.0.0.0/0"));
        check("fd00:1337::1", 64, Ok("fd00:1337::/64"));
        check(
            "10.66.0.1",
            33,
            Err("network-cidr-prefix 33 is too long for address 10.66.0.1"),
        );
        check("fd00::1", 129, Err("too long"));
        check("10.66.0.1", 256, Err("network-cidr-prefix"));
        check("10.66.0", 16, Err("\"address\""));
    }

    #[test]
    fn hand_built_bad_prefix_does_not_panic() {
        let config = ServerConfig {
            private_key: PrivateKey::from_bytes([1; 32]),
            listen_port: 1,
            address: "10.0.0.1".parse().unwrap(),
            network_cidr_prefix: 99,
        };
        assert_eq!(config.network().to_string(), "10.0.0.1/32");
        assert_eq!(config.interface_address().to_string(), "10.0.0.1/32");
    }
}
