//! The verdicts about the tunnel: the interface against its config, the WireGuard
//! implementation, the server's answer through the tunnel and each peer's handshake.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::SystemTime;

use ipnet::IpNet;
use wireguard_control::{BackendKind, Device, InterfaceName, PublicKey};
use wiremesh_shared::config::ClientConfig;
use wiremesh_shared::wire::ServerCapabilities;

use super::{is_permission_denied, Finding, SUDO_ADVICE};
use crate::api::ApiError;
use crate::doctor::system::Implementation;
use crate::show::{humanize_since, RECENT_HANDSHAKE};

/// One peer of the interface, as the handshake check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakePeer {
    /// "server (10.66.0.1)", "laptop (10.66.1.2)", or a shortened key.
    pub label: String,
    pub is_server: bool,
    pub ip: Option<IpAddr>,
    pub endpoint: Option<SocketAddr>,
    pub last_handshake: Option<SystemTime>,
}

/// A handshake within [`RECENT_HANDSHAKE`] passes; an older one or none warns, except that
/// the server never having one fails (nothing reaches the server over UDP).
pub fn handshake(peer: &HandshakePeer, now: SystemTime) -> Finding {
    let label = &peer.label;
    let recent = peer.last_handshake.map(|at| {
        now.duration_since(at)
            .map_or(true, |age| age <= RECENT_HANDSHAKE)
    });
    let ago = humanize_since(peer.last_handshake, now);
    match (peer.is_server, recent) {
        (_, Some(true)) => Finding::pass(format!("{label}: {ago}")),
        (true, None) => {
            let advice = match peer.endpoint {
                Some(endpoint) => format!(
                    "check that UDP reaches the server's endpoint {endpoint} (firewall, NAT) and \
                     that `wiremesh-server serve` is running there"
                ),
                None => "the server peer has no endpoint: check that the config's server \
                         external endpoint resolves, then run `wiremesh up` again"
                    .to_owned(),
            };
            Finding::fail(format!("{label}: no handshake ever"), Some(advice))
        }
        (true, Some(false)) => Finding::warn(
            format!(
                "{label}: last handshake {ago} (over {} s)",
                RECENT_HANDSHAKE.as_secs()
            ),
            Some(match peer.endpoint {
                Some(endpoint) => format!("check that UDP still reaches {endpoint}"),
                None => "the server peer has no endpoint any more".to_owned(),
            }),
        ),
        (false, recent) => {
            let detail = match (recent, peer.endpoint) {
                (None, None) => format!("{label}: no handshake yet, and no endpoint known for it"),
                (None, Some(endpoint)) => {
                    format!("{label}: no handshake yet (endpoint {endpoint})")
                }
                _ => format!(
                    "{label}: last handshake {ago} (over {} s)",
                    RECENT_HANDSHAKE.as_secs()
                ),
            };
            let advice = peer
                .ip
                .map(|ip| format!("it may be offline or unreachable: `ping {ip}` tries it"));
            Finding::warn(detail, advice)
        }
    }
}

/// The server's answer to `GET /v1/user/capabilities` through the tunnel (`address` is where
/// it was asked; `overridden` when that is `--api-address`, not the config's).
pub fn server(
    address: SocketAddr,
    overridden: bool,
    answer: &Result<ServerCapabilities, ApiError>,
) -> Finding {
    let at = if overridden {
        format!("{address} (--api-address)")
    } else {
        address.to_string()
    };
    match answer {
        Ok(ServerCapabilities {
            wiremesh: Some(wiremesh),
            ..
        }) => {
            let features = if wiremesh.features.is_empty() {
                "none".to_owned()
            } else {
                wiremesh.features.join(", ")
            };
            Finding::pass(format!(
                "wiremesh server {} answers at {at}; features: {features}",
                wiremesh.version
            ))
        }
        Ok(ServerCapabilities { wiremesh: None, .. }) => Finding::pass(format!(
            "the server answers at {at} (innernet server, no push)"
        )),
        Err(ApiError::Status { status: 401, .. }) => Finding::fail(
            format!(
                "HTTP 401 from {at}: the server does not know this peer as enabled: it may be \
                 disabled, or its invitation expired or was never redeemed"
            ),
            Some(
                "ask an admin to check this peer (`list-peers`): enable it, or invite it again"
                    .to_owned(),
            ),
        ),
        // A refusal came back through the tunnel: the tunnel works, the API does not listen.
        Err(ApiError::Unreachable { detail, .. }) if detail.contains("Connection refused") => {
            Finding::fail(
                format!(
                    "the server's host answers through the tunnel, but nothing listens at {at} \
                     ({detail})"
                ),
                Some("is `wiremesh-server serve` running?".to_owned()),
            )
        }
        Err(ApiError::Unreachable { detail, .. }) => Finding::fail(
            format!("no answer through the tunnel from {at} ({detail})"),
            Some(
                "is `wiremesh-server serve` running, and is this peer's key on the server's \
                 interface?"
                    .to_owned(),
            ),
        ),
        Err(error @ ApiError::Status { status, .. }) => Finding::fail(
            format!("{error}"),
            (*status >= 500).then(|| "the server's log says why".to_owned()),
        ),
        Err(error @ ApiError::BadResponse { .. }) => Finding::fail(
            format!("{error}"),
            Some(
                "is this the network's server? check the [server] section of the config".to_owned(),
            ),
        ),
    }
}

fn short_key(key: &PublicKey) -> String {
    let text = key.to_base64();
    format!("{}…", &text[..10])
}

/// How to bring `iface` up with the backend in use.
fn up_command(iface: &InterfaceName, backend: BackendKind) -> String {
    match backend {
        BackendKind::Userspace => format!("`wiremesh --backend userspace up {iface}`"),
        _ => format!("`wiremesh up {iface}`"),
    }
}

/// The backend does not list the interface. `userspace_socket` is set when the backend is
/// the kernel's but a userspace implementation answers for that name.
pub fn interface_down(
    iface: &InterfaceName,
    backend: BackendKind,
    userspace_socket: Option<&Path>,
) -> Finding {
    match (backend, userspace_socket) {
        (BackendKind::Kernel, Some(socket)) => Finding::fail(
            format!(
                "interface {iface} is not a kernel WireGuard interface, but a userspace \
                 implementation answers on {}",
                socket.display()
            ),
            Some(
                "check it with the userspace backend: `wiremesh --backend userspace doctor`"
                    .to_owned(),
            ),
        ),
        _ => Finding::fail(
            format!("interface {iface} is not up"),
            Some(format!("run {}", up_command(iface, backend))),
        ),
    }
}

/// The backend failed to list or read the interface.
pub fn backend_error(
    iface: &InterfaceName,
    action: &str,
    error: &wireguard_control::Error,
) -> Finding {
    let advice = is_permission_denied(error).then(|| SUDO_ADVICE.to_owned());
    Finding::fail(format!("failed to {action} {iface}: {error}"), advice)
}

/// The interface is up: its key, listen port, address and server peer against the config.
/// `addresses` are the link's addresses (an error text when they could not be read).
pub fn interface(
    iface: &InterfaceName,
    config: &ClientConfig,
    device: &Device,
    addresses: Result<&[IpNet], &str>,
) -> Finding {
    let wanted_key = config.interface.private_key.public_key();
    let wanted_address = config.interface.address;
    let mut problems = Vec::new();
    match device.public_key {
        Some(key) if key == wanted_key => {}
        Some(key) => problems.push(format!(
            "its public key is {}, the config's is {}",
            short_key(&key),
            short_key(&wanted_key)
        )),
        None => problems.push("it has no private key".to_owned()),
    }
    let port = match (config.interface.listen_port, device.listen_port) {
        (Some(wanted), Some(port)) if wanted == port => format!("listen port {port}"),
        (Some(wanted), actual) => {
            let actual = actual.map_or_else(|| "none".to_owned(), |p| p.to_string());
            problems.push(format!(
                "it listens on port {actual}, the config says {wanted}"
            ));
            String::new()
        }
        (None, Some(port)) => format!("listen port {port} (random)"),
        (None, None) => "no listen port".to_owned(),
    };
    if device.peer(&config.server.public_key).is_none() {
        problems.push(format!(
            "the server's key {} is not among its peers",
            short_key(&config.server.public_key)
        ));
    }
    let mut unreadable = None;
    match addresses {
        Ok(addresses) if addresses.contains(&wanted_address) => {}
        Ok(addresses) => {
            let actual = if addresses.is_empty() {
                "none".to_owned()
            } else {
                addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            problems.push(format!(
                "its addresses are {actual}, the config says {wanted_address}"
            ));
        }
        Err(error) => unreadable = Some(error),
    }
    if !problems.is_empty() {
        return Finding::fail(
            format!(
                "interface {iface} does not match its config: {}",
                problems.join("; ")
            ),
            Some(format!(
                "set it up again from the config: `wiremesh down {iface}`, then {}",
                up_command(iface, device.backend)
            )),
        );
    }
    let detail = format!(
        "interface {iface} is up ({}): key {}, address {wanted_address}, {port}",
        device.backend,
        short_key(&wanted_key)
    );
    match unreadable {
        None => Finding::pass(detail),
        Some(error) => Finding::warn(
            format!("{detail}; its addresses could not be read: {error}"),
            None,
        ),
    }
}

/// Which WireGuard implementation drives the interface. `up`: whether the backend lists it.
/// A kernel module that is not loaded only warns: creating the interface loads it.
pub fn implementation(iface: &InterfaceName, found: &Implementation, up: bool) -> Finding {
    match found {
        Implementation::Kernel {
            module_loaded: true,
            ..
        } => Finding::pass("kernel module wireguard (/sys/module/wireguard)"),
        Implementation::Kernel { .. } if up => {
            Finding::pass("kernel WireGuard, built in (no /sys/module/wireguard)")
        }
        // Creating the interface loads the module when the kernel has one: only a warning.
        Implementation::Kernel { .. } => Finding::warn(
            "the wireguard kernel module is not loaded (no /sys/module/wireguard)",
            Some(
                "`modprobe wireguard` tells whether this kernel has it; if not, use a userspace \
                 implementation with `--backend userspace`"
                    .to_owned(),
            ),
        ),
        Implementation::Userspace {
            program,
            socket,
            socket_exists: true,
        } => Finding::pass(format!(
            "userspace implementation {program}, UAPI socket {}",
            socket.display()
        )),
        Implementation::Userspace {
            program, socket, ..
        } => Finding::fail(
            format!(
                "no userspace implementation answers on {}",
                socket.display()
            ),
            Some(format!(
                "run `wiremesh --backend userspace up {iface}` (it starts {program})"
            )),
        ),
        Implementation::Fake => Finding::pass("in-memory fake backend (tests)"),
    }
}

#[cfg(test)]
#[path = "tunnel_tests.rs"]
mod tests;
