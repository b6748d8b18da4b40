//! The file formats: invitations, client and server configs (TOML) and the client's peer cache
//! (JSON), all readable and writable by innernet 2.0.0 too (compat §2.1, §3.1, §3.2).
//!
//! TOML keys are kebab-case and unknown keys are ignored. Every value is validated while
//! parsing (keys, addresses, endpoints), and an error names the line and key it came from but
//! never repeats a private key. This module only turns text into values and back; reading and
//! writing files, and their permissions, is the caller's job.
//!
//! Submodules: [`client`] (invitation, client config), [`server`] (server config), [`cache`]
//! (peer cache); `write` is the small TOML writer behind every `to_toml_string`.

use std::fmt;
use std::net::SocketAddr;

use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wireguard_control::{BackendKind, PrivateKey, PublicKey};

use crate::endpoint::Endpoint;
use crate::names::shorten;
use crate::wire::base64_key;

pub mod cache;
pub mod client;
pub mod invite;
pub mod server;
mod write;

pub use cache::PeerCache;
pub use client::{ClientConfig, InvitationConfig, RouteSettings};
pub use invite::{new_invitation, InviteSpec};
pub use server::ServerConfig;

/// Which kind of file a [`ConfigError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigKind {
    Invitation,
    ClientConfig,
    ServerConfig,
    PeerCache,
}

impl fmt::Display for ConfigKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigKind::Invitation => "invitation",
            ConfigKind::ClientConfig => "client config",
            ConfigKind::ServerConfig => "server config",
            ConfigKind::PeerCache => "peer cache",
        })
    }
}

/// Why a file could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not a valid file of this kind; `message` says where and why.
    #[error("failed to parse {kind}: {message}")]
    Parse { kind: ConfigKind, message: String },
    /// The value could not be encoded (e.g. a timestamp before 1970 in the peer cache).
    #[error("failed to encode {kind}: {message}")]
    Encode { kind: ConfigKind, message: String },
}

/// The `[interface]` table of invitations and client configs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InterfaceInfo {
    /// The network's name, the default interface name on install.
    pub network_name: String,
    /// The peer's own IP with the root network's prefix length, e.g. `10.66.2.3/16`.
    pub address: IpNet,
    #[serde(with = "base64_key")]
    pub private_key: PrivateKey,
    /// WireGuard listen port; `None` means a random one (always `None` in invitations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    /// The WireGuard implementation the interface was installed with (`kernel` or
    /// `userspace`), so that later commands and the daemon use the same one without being
    /// told. wiremesh's own key: innernet ignores it, and configs without it (written by
    /// innernet or an older wiremesh) leave the choice to what runs on the host. Never in
    /// invitations.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "backend_name"
    )]
    pub backend: Option<BackendKind>,
}

/// `backend = "kernel" | "userspace"`; any other value (the test-only fake included) is an
/// error that names the choices.
mod backend_name {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use wireguard_control::BackendKind;

    pub fn serialize<S: Serializer>(value: &Option<BackendKind>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(kind) => s.serialize_str(&kind.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BackendKind>, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(Some).map_err(D::Error::custom)
    }
}

/// The `[server]` table: how to reach the coordination server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServerInfo {
    #[serde(with = "base64_key")]
    pub public_key: PublicKey,
    /// Where the server's WireGuard listens on the outside.
    pub external_endpoint: Endpoint,
    /// The server's WireGuard IP and API port inside the network.
    pub internal_endpoint: SocketAddr,
}

impl InterfaceInfo {
    fn write(&self, out: &mut write::TomlWriter) {
        out.table("interface");
        out.string("network-name", &self.network_name);
        out.string("address", &self.address.to_string());
        out.string("private-key", &self.private_key.to_base64());
        if let Some(port) = self.listen_port {
            out.integer("listen-port", port.into());
        }
        if let Some(backend) = self.backend {
            out.string("backend", &backend.to_string());
        }
    }
}

impl ServerInfo {
    fn write(&self, out: &mut write::TomlWriter) {
        out.table("server");
        out.string("public-key", &self.public_key.to_base64());
        out.string("external-endpoint", &self.external_endpoint.to_string());
        out.string("internal-endpoint", &self.internal_endpoint.to_string());
    }
}

/// The largest invitation or config accepted, in bytes. Real ones are a few hundred bytes
/// (a client config with an endpoint override for each of 10,000 peers is about 500 KB);
/// the TOML parser needs up to about a hundred times a file's size in memory on deeply
/// nested input, so a file handed over by someone else is refused above this.
pub const MAX_TOML_BYTES: usize = 1024 * 1024;

/// Parses TOML into `T`, turning toml's error into one that never echoes a line's value.
fn parse_toml<T: DeserializeOwned>(kind: ConfigKind, text: &str) -> Result<T, ConfigError> {
    if text.len() > MAX_TOML_BYTES {
        return Err(ConfigError::Parse {
            kind,
            message: format!(
                "the file is {} bytes, more than the {MAX_TOML_BYTES} allowed",
                text.len()
            ),
        });
    }
    toml::from_str(text).map_err(|error| ConfigError::Parse {
        kind,
        message: describe_toml_error(text, &error),
    })
}

/// `line 3, key "private-key": invalid private key …`. toml's own rendering quotes the whole
/// source line, which would put a (mistyped) private key into logs; this names the key only.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    // A span over the whole document (a missing table, a failed whole-file check) points at
    // no line in particular.
    let span = error
        .span()
        .filter(|span| !(span.start == 0 && (span.end == 0 || span.end >= text.len())));
    let Some(before) = span.and_then(|span| text.get(..span.start)) else {
        return message.to_owned();
    };
    let line_idx = before.matches('\n').count();
    let line = text.lines().nth(line_idx).unwrap_or_default();
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches(['"', '\'']))
        .filter(|key| !key.is_empty());
    match key {
        Some(key) => format!("line {}, key {:?}: {message}", line_idx + 1, shorten(key)),
        None => format!("line {}: {message}", line_idx + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` lists fragments the error message must contain.
    fn check(input: &str, expected: &[&str]) {
        let message = client::ClientConfig::from_toml_str(input)
            .unwrap_err()
            .to_string();
        for fragment in expected {
            assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
        }
        assert!(
            !message.contains("SECRETSECRET"),
            "{message:?} repeats the private key"
        );
    }

    const GOOD_SERVER: &str =
        "[server]\npublic-key = \"i/c82isZ8Dgl8rCA4UN0+rr2Zlo9T/3OLeSpaZFDHg4=\"\n\
        external-endpoint = \"192.0.2.1:51820\"\ninternal-endpoint = \"10.66.0.1:51820\"\n";

    fn with_interface(interface: &str) -> String {
        format!("[interface]\n{interface}\n{GOOD_SERVER}")
    }

    #[test]
    fn errors_name_line_and_key() {
        let key_ok = "private-key = \"wCDKMwDGrAhY0W/Uy6bNRY2Eiq0aa+mhRKTg7C8BWkM=\"";
        let name = "network-name = \"evilcorp\"";
        let addr = "address = \"10.66.1.1/16\"";
        check(
            &with_interface(&format!("{name}\n{addr}\nprivate-key = \"SECRETSECRET\"")),
            &[
                "client config",
                "line 4",
                "\"private-key\"",
                "invalid private key",
            ],
        );
        check(
            &with_interface(&format!("{name}\naddress = \"10.66.1.1\"\n{key_ok}")),
            &["line 3", "\"address\""],
        );
        check(
            &with_interface(&format!("{name}\n{addr}\n{key_ok}\nlisten-port = 70000")),
            &["line 5", "\"listen-port\""],
        );
        check(
            &with_interface(&format!("{name}\n{addr}")),
            &["missing field `private-key`"],
        );
        check(
            &GOOD_SERVER.replace("192.0.2.1:51820", "bad host:1"),
            &["\"external-endpoint\"", "invalid endpoint \"bad host:1\""],
        );
        check(
            &GOOD_SERVER.replace("10.66.0.1:51820", "10.66.0.1"),
            &["\"internal-endpoint\""],
        );
        check(
            &GOOD_SERVER.replace("i/c82isZ8", "i/c82isZ"),
            &["\"public-key\"", "invalid public key"],
        );
        check("[interface\n", &["line 1"]);
    }
}
