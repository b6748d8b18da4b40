//! Table tests of the tunnel verdicts in [`super`], on injected devices, answers and times.

use std::path::PathBuf;
use std::time::Duration;

use wireguard_control::{PeerConfig, PeerInfo, PeerStats, PrivateKey};
use wiremesh_shared::config::{InterfaceInfo, ServerInfo};
use wiremesh_shared::wire::WiremeshCapabilities;

use super::*;
use crate::doctor::evaluate::tests::{assert_finding, iface, now};
use crate::doctor::Status;

// ---- handshakes ----------------------------------------------------------------------------

fn check_handshake(
    is_server: bool,
    endpoint: bool,
    secs_ago: Option<i64>,
    status: Status,
    detail: &str,
    advice: Option<&str>,
) {
    let peer = HandshakePeer {
        label: if is_server {
            "server (10.66.0.1)"
        } else {
            "laptop (10.66.1.2)"
        }
        .to_owned(),
        is_server,
        ip: Some(
            if is_server { "10.66.0.1" } else { "10.66.1.2" }
                .parse()
                .unwrap(),
        ),
        endpoint: endpoint.then(|| "192.0.2.1:51820".parse().unwrap()),
        last_handshake: secs_ago.map(|secs| {
            if secs >= 0 {
                now() - Duration::from_secs(secs as u64)
            } else {
                now() + Duration::from_secs(secs.unsigned_abs())
            }
        }),
    };
    assert_finding(&handshake(&peer, now()), status, detail, advice);
}

#[test]
fn handshakes_by_age_and_role() {
    use Status::*;
    check_handshake(
        false,
        true,
        Some(12),
        Pass,
        "laptop (10.66.1.2): 12 seconds ago",
        None,
    );
    check_handshake(false, true, Some(180), Pass, "3 minutes ago", None);
    check_handshake(false, true, Some(-30), Pass, "just now", None); // clock skew
    check_handshake(
        false,
        true,
        Some(181),
        Warn,
        "last handshake 3 minutes ago (over 180 s)",
        Some("`ping 10.66.1.2`"),
    );
    check_handshake(
        false,
        true,
        None,
        Warn,
        "no handshake yet (endpoint 192.0.2.1:51820)",
        Some("ping"),
    );
    check_handshake(
        false,
        false,
        None,
        Warn,
        "no handshake yet, and no endpoint known",
        Some("ping"),
    );
    check_handshake(
        true,
        true,
        Some(20),
        Pass,
        "server (10.66.0.1): 20 seconds ago",
        None,
    );
    check_handshake(
        true,
        true,
        Some(600),
        Warn,
        "10 minutes ago",
        Some("UDP still reaches 192.0.2.1:51820"),
    );
    check_handshake(
        true,
        true,
        None,
        Fail,
        "server (10.66.0.1): no handshake ever",
        Some("UDP reaches the server's endpoint 192.0.2.1:51820"),
    );
    check_handshake(
        true,
        false,
        None,
        Fail,
        "no handshake ever",
        Some("has no endpoint"),
    );
}

// ---- server --------------------------------------------------------------------------------

fn address() -> SocketAddr {
    "10.66.0.1:51820".parse().unwrap()
}

#[test]
fn server_answers_and_refusals() {
    let wiremesh = Ok(ServerCapabilities {
        unspecified_ip_in_override_endpoint: true,
        wiremesh: Some(WiremeshCapabilities {
            version: "0.1.0".to_owned(),
            features: vec!["v2-state".to_owned()],
        }),
    });
    assert_finding(
        &server(address(), false, &wiremesh),
        Status::Pass,
        "wiremesh server 0.1.0 answers at 10.66.0.1:51820; features: v2-state",
        None,
    );
    assert_finding(
        &server(address(), true, &Ok(ServerCapabilities::default())),
        Status::Pass,
        "answers at 10.66.0.1:51820 (--api-address) (innernet server, no push)",
        None,
    );
    let status = |status: u16| ApiError::Status {
        method: "GET",
        path: "/v1/user/capabilities".to_owned(),
        status,
        message: None,
    };
    assert_finding(
        &server(address(), false, &Err(status(401))),
        Status::Fail,
        "the server does not know this peer as enabled: it may be disabled, or its invitation \
         expired or was never redeemed",
        Some("enable it"),
    );
    assert_finding(
        &server(address(), false, &Err(status(500))),
        Status::Fail,
        "HTTP 500",
        Some("the server's log"),
    );
    assert_finding(
        &server(address(), false, &Err(status(403))),
        Status::Fail,
        "HTTP 403",
        None,
    );
    let unreachable = |detail: &str| {
        Err(ApiError::Unreachable {
            server: address(),
            method: "GET",
            path: "/v1/user/capabilities".to_owned(),
            detail: detail.to_owned(),
            not_connected: false,
        })
    };
    assert_finding(
        &server(address(), false, &unreachable("timeout: global")),
        Status::Fail,
        "no answer through the tunnel from 10.66.0.1:51820 (timeout: global)",
        Some(
            "is `wiremesh-server serve` running, and is this peer's key on the server's interface?",
        ),
    );
    let refused = server(
        address(),
        false,
        &unreachable("io: Connection refused (os error 111)"),
    );
    assert_finding(
        &refused,
        Status::Fail,
        "answers through the tunnel, but nothing listens at 10.66.0.1:51820",
        Some("is `wiremesh-server serve` running?"),
    );
    assert!(!refused.advice.unwrap().contains("key"));
}

// ---- interface -----------------------------------------------------------------------------

fn config(listen_port: Option<u16>) -> ClientConfig {
    ClientConfig {
        interface: InterfaceInfo {
            network_name: "meshb".to_owned(),
            address: "10.66.2.3/16".parse().unwrap(),
            private_key: PrivateKey::from_bytes([1; 32]),
            listen_port,
            backend: None,
        },
        server: ServerInfo {
            public_key: PublicKey::from_bytes([2; 32]),
            external_endpoint: "192.0.2.1:51820".parse().unwrap(),
            internal_endpoint: address(),
        },
        peer_endpoint_overrides: Default::default(),
        routes: Default::default(),
    }
}

fn device(key: Option<PublicKey>, port: Option<u16>, server_peer: bool) -> Device {
    let peers = if server_peer {
        vec![PeerInfo {
            config: PeerConfig::new(PublicKey::from_bytes([2; 32])),
            stats: PeerStats::default(),
        }]
    } else {
        Vec::new()
    };
    Device {
        name: iface(),
        private_key: None,
        public_key: key,
        listen_port: port,
        fwmark: None,
        peers,
        backend: BackendKind::Kernel,
    }
}

/// A config, a device, the link's addresses, and the expected status and detail fragment.
type InterfaceCase<'a> = (
    ClientConfig,
    Device,
    Result<&'a [IpNet], &'a str>,
    Status,
    &'a str,
);

#[test]
fn interface_matching_its_config() {
    let own = PrivateKey::from_bytes([1; 32]).public_key();
    let other = PublicKey::from_bytes([9; 32]);
    let right: Vec<IpNet> = vec!["10.66.2.3/16".parse().unwrap()];
    let wrong: Vec<IpNet> = vec!["10.66.2.3/24".parse().unwrap()];
    let restart = "`wiremesh down meshb`, then `wiremesh up meshb`";
    let cases: Vec<InterfaceCase> = vec![
        (
            config(None),
            device(Some(own), Some(40000), true),
            Ok(&right),
            Status::Pass,
            "interface meshb is up (kernel): key ",
        ),
        (
            config(None),
            device(Some(own), Some(40000), true),
            Ok(&right),
            Status::Pass,
            "address 10.66.2.3/16, listen port 40000 (random)",
        ),
        (
            config(Some(51820)),
            device(Some(own), Some(51820), true),
            Ok(&right),
            Status::Pass,
            "listen port 51820",
        ),
        (
            config(Some(51820)),
            device(Some(own), Some(40000), true),
            Ok(&right),
            Status::Fail,
            "it listens on port 40000, the config says 51820",
        ),
        (
            config(None),
            device(Some(other), Some(40000), true),
            Ok(&right),
            Status::Fail,
            "does not match its config: its public key is CQkJCQkJCQ…",
        ),
        (
            config(None),
            device(None, Some(40000), true),
            Ok(&right),
            Status::Fail,
            "it has no private key",
        ),
        (
            config(None),
            device(Some(own), Some(40000), false),
            Ok(&right),
            Status::Fail,
            "the server's key AgICAgICAg… is not among its peers",
        ),
        (
            config(None),
            device(Some(own), Some(40000), true),
            Ok(&wrong),
            Status::Fail,
            "its addresses are 10.66.2.3/24, the config says 10.66.2.3/16",
        ),
        (
            config(None),
            device(Some(own), Some(40000), true),
            Ok(&[]),
            Status::Fail,
            "its addresses are none",
        ),
        (
            config(None),
            device(Some(own), Some(40000), true),
            Err("netlink refused"),
            Status::Warn,
            "its addresses could not be read: netlink refused",
        ),
    ];
    for (config, device, addresses, status, detail) in cases {
        let finding = interface(&iface(), &config, &device, addresses);
        let advice = (status == Status::Fail).then_some(restart);
        assert_finding(&finding, status, detail, advice);
    }
}

#[test]
fn interface_down_names_the_command_for_the_backend() {
    let socket = PathBuf::from("/var/run/wireguard/meshb.sock");
    let cases = [
        (
            BackendKind::Kernel,
            None,
            "interface meshb is not up",
            "run `wiremesh up meshb`",
        ),
        (
            BackendKind::Userspace,
            None,
            "interface meshb is not up",
            "run `wiremesh --backend userspace up meshb`",
        ),
        (
            BackendKind::Kernel,
            Some(socket.as_path()),
            "but a userspace implementation answers on /var/run/wireguard/meshb.sock",
            "`wiremesh --backend userspace doctor`",
        ),
    ];
    for (backend, socket, detail, advice) in cases {
        let finding = interface_down(&iface(), backend, socket);
        assert_finding(&finding, Status::Fail, detail, Some(advice));
    }
}

#[test]
fn implementations() {
    let socket = PathBuf::from("/var/run/wireguard/meshb.sock");
    let kernel = |loaded| Implementation::Kernel {
        module_loaded: loaded,
        userspace_socket: None,
    };
    let userspace = |exists| Implementation::Userspace {
        program: "wireguard-go".to_owned(),
        socket: socket.clone(),
        socket_exists: exists,
    };
    let cases = [
        (
            kernel(true),
            false,
            Status::Pass,
            "kernel module wireguard",
            None,
        ),
        (kernel(false), true, Status::Pass, "built in", None),
        (
            kernel(false),
            false,
            Status::Warn,
            "not loaded",
            Some("`modprobe wireguard`"),
        ),
        (
            userspace(true),
            true,
            Status::Pass,
            "userspace implementation wireguard-go, UAPI socket /var/run/wireguard/meshb.sock",
            None,
        ),
        (
            userspace(false),
            false,
            Status::Fail,
            "no userspace implementation answers on /var/run/wireguard/meshb.sock",
            Some("(it starts wireguard-go)"),
        ),
        (Implementation::Fake, true, Status::Pass, "fake", None),
    ];
    for (found, up, status, detail, advice) in cases {
        assert_finding(
            &implementation(&iface(), &found, up),
            status,
            detail,
            advice,
        );
    }
}
