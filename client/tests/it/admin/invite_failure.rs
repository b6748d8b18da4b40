//! `Admin::add_peer` when the server refuses the new peer after every local check passed:
//! the invitation file created before the request is removed again. The server here is a
//! tiny canned HTTP responder that answers the two lists and refuses the POST.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{InterfaceName, PrivateKey};
use wiremesh::admin::{AddPeerOptions, Admin, AdminError};
use wiremesh::{files, Context, Paths};
use wiremesh_shared::config::{ClientConfig, InterfaceInfo, ServerInfo};

/// Serves `GET /v1/admin/cidrs` and `GET /v1/admin/peers` from `cidrs` and `peers` and
/// answers `POST /v1/admin/peers` with 500; returns after the POST, with the requests seen
/// and whether `watch` existed when the POST arrived.
fn canned_server(
    watch: PathBuf,

    listener: TcpListener,
    cidrs: String,
    peers: String,
) -> thread::JoinHandle<(Vec<String>, bool)> {
    thread::spawn(move || {
        let mut seen = Vec::new();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let request = request_line.trim().rsplit_once(' ').unwrap().0.to_owned();
            let (status, body) = match request.as_str() {
                "GET /v1/admin/cidrs" => ("200 OK", cidrs.clone()),
                "GET /v1/admin/peers" => ("200 OK", peers.clone()),
                _ => ("500 Internal Server Error", String::new()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            // Looked at before answering: once the client has the 500 it removes the file.
            let exists = watch.exists();
            stream.write_all(response.as_bytes()).unwrap();
            let done = request.starts_with("POST");
            seen.push(request);
            if done {
                return (seen, exists);
            }
        }
        (seen, false)
    })
}

#[test]
fn a_refused_post_removes_the_empty_invitation() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut ctx = Context::new(
        Paths::new(dir.path().join("etc"), dir.path().join("var")),
        Arc::new(FakeBackend::new()),
    );
    ctx.api_override = Some(listener.local_addr().unwrap());
    ctx.policy.firewall = Arc::new(wiremesh::policy::RecordingFirewall::default());
    let server_key = PrivateKey::generate().public_key();
    let iface: InterfaceName = "evilcorp".parse().unwrap();
    let config = ClientConfig {
        interface: InterfaceInfo {
            network_name: "evilcorp".to_owned(),
            address: "10.66.1.2/16".parse().unwrap(),
            private_key: PrivateKey::generate(),
            listen_port: None,
            backend: None,
        },
        server: ServerInfo {
            public_key: server_key,
            external_endpoint: "203.0.113.1:51820".parse().unwrap(),
            internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
        },
        peer_endpoint_overrides: Default::default(),
        routes: Default::default(),
    };
    files::create_config(&ctx.paths, &iface, &config).unwrap();
    let cidrs = r#"[
        {"id": 1, "name": "evilcorp", "cidr": "10.66.0.0/16", "parent": null},
        {"id": 2, "name": "innernet-server", "cidr": "10.66.0.1/32", "parent": 1},
        {"id": 3, "name": "robots", "cidr": "10.66.2.0/24", "parent": 1}
    ]"#;
    let peers = format!(
        r#"[{{"id": 1, "name": "innernet-server", "ip": "10.66.0.1", "cidr_id": 2,
            "public_key": "{}", "endpoint": "203.0.113.1:51820",
            "persistent_keepalive_interval": 25, "is_admin": true, "is_disabled": false,
            "is_redeemed": true, "invite_expires": null, "candidates": []}}]"#,
        server_key.to_base64()
    );
    let save_path = dir.path().join("newbie.toml");
    let server = canned_server(save_path.clone(), listener, cidrs.to_owned(), peers);

    let options = AddPeerOptions {
        name: "newbie".parse().unwrap(),
        cidr: "robots".to_owned(),
        ip: None,
        admin: false,
        invite_expires: "1d".parse().unwrap(),
        save_path: save_path.clone(),
        ephemeral: None,
    };
    let admin = Admin::open(&ctx, &iface).unwrap();
    let error = admin.add_peer(&options).unwrap_err();
    assert!(matches!(&error, AdminError::Api { .. }), "{error:?}");
    assert!(error.to_string().contains("HTTP 500"), "{error}");
    assert!(!save_path.exists(), "the empty invitation was removed");
    let (seen, existed_during_post) = server.join().unwrap();
    assert!(existed_during_post, "the file is created before the peer");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("POST /v1/admin/peers")
    );
}
