//! The automation API over a real Unix socket: every route × {no token, wrong token, expired,
//! revoked, insufficient scope, right scope}; refusals and bad bodies change nothing; every
//! write is in the audit log as the token's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremesh_server::http::automation::{router, Automation, ROUTES};
use wiremesh_server::service::devices::NewDevice;
use wiremesh_server::tokens::Scope;
use wiremesh_shared::fixture::Family;
use wiremesh_shared::wire::{AssociationContents, CidrContents};
use wiremesh_shared::PeerId;

use crate::support::api::*;

/// One HTTP/1.1 request over the socket; returns the status and the JSON body (or null).
async fn call(
    socket: &Path,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .expect("connect");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

struct Api {
    h: Harness,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn start() -> Api {
    let h = Harness::new(Family::V4);
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run").join("test.sock");
    let (listener, made) = wiremesh_server::serve::bind_api_socket(&socket).expect("bind");
    assert_eq!(made.as_deref(), socket.parent());
    let app = router(Automation {
        service: Arc::clone(&h.service),
        network: Arc::from("test"),
        internal_endpoint: "10.80.0.1:51820".parse().unwrap(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Api {
        h,
        socket,
        _dir: dir,
    }
}

fn device(name: &str, key: u8) -> NewDevice {
    NewDevice {
        name: name.parse().unwrap(),
        cidr: DEVELOPER,
        ip: None,
        public_key: Some(new_key(key)),
        preshared_key: false,
        hub: None,
        full_tunnel: false,
    }
}

#[tokio::test]
async fn every_route_checks_its_token() {
    let api = start().await;
    let h = &api.h;
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&api.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);

    let kept = h
        .service
        .create_device(device("kept", 20), "test", "test")
        .unwrap();
    let doomed = h
        .service
        .create_device(device("doomed", 21), "test", "test")
        .unwrap();
    let token = |name: &str, scopes: &[Scope], expires: Option<u64>| {
        h.service
            .create_token(name, scopes, expires.map(Duration::from_secs))
            .unwrap()
            .0
    };
    let read = token("reader", &[Scope::Read], None);
    let devices = token("provisioner", &[Scope::Devices], None);
    let peers = token("peer-admin", &[Scope::Peers], None);
    let policy = token("policy-admin", &[Scope::Policy], None);
    let admin = token("ops", &[Scope::Admin], None);
    let expired = token("old", &[Scope::Admin], Some(60));
    let revoked = token("gone", &[Scope::Admin], None);
    h.service.revoke_token("gone").unwrap();
    h.clock.advance(Duration::from_secs(61));
    let wrong = format!("{}x", &admin[..admin.len() - 1]);

    // What the policy routes act on: a CIDR nobody uses, two associations (one for the rules,
    // one to delete), and a rule to delete.
    let spare = h
        .service
        .create_cidr(CidrContents {
            name: "spare".into(),
            cidr: "10.81.0.0/24".parse().unwrap(),
            parent: Some(ROOT),
        })
        .unwrap();
    let ruled = h
        .service
        .create_association(AssociationContents {
            cidr_id_1: USER,
            cidr_id_2: DEVELOPER,
        })
        .unwrap();
    let unruled = h
        .service
        .create_association(AssociationContents {
            cidr_id_1: ADMIN,
            cidr_id_2: USER,
        })
        .unwrap();
    let rule = |protocol: &str, port: u16| {
        json!({
            "scope": {"association": ruled.id.0},
            "source": {"cidr": USER.0},
            "destination": {"cidr": DEVELOPER.0},
            "protocol": protocol,
            "ports": [[port, port]],
        })
    };
    let doomed_rule = h
        .service
        .add_rule(serde_json::from_value(rule("tcp", 22)).unwrap(), false)
        .unwrap();
    let doomed_rule = doomed_rule.rule.expect("the rule").id.0;

    let (kept_id, doomed_id) = (kept.peer.id.0, doomed.peer.id.0);
    // The path and body of each route's successful call.
    let target = |method: &str, route: &str| -> (String, Option<String>) {
        let (id, body): (i64, Option<Value>) = match (method, route) {
            ("POST", "/api/v1/devices") => (
                0,
                Some(
                    json!({"name": "phone", "cidr_id": DEVELOPER.0, "public_key": new_key(22).to_base64()}),
                ),
            ),
            ("DELETE", "/api/v1/devices/{id}") => (doomed_id, None),
            ("PATCH", "/api/v1/devices/{id}") => (kept_id, Some(json!({"name": "kept2"}))),
            (_, r) if r.starts_with("/api/v1/devices/") => (kept_id, None),
            ("POST", "/api/v1/peers") => (
                0,
                Some(json!({"name": "runner", "cidr_id": DEVELOPER.0, "ephemeral": "10m"})),
            ),
            ("DELETE", "/api/v1/peers/{id}") => (USER2.0, None),
            ("PATCH", "/api/v1/peers/{id}") => (DEVELOPER2.0, Some(json!({"name": "dev2"}))),
            ("PUT", "/api/v1/peers/{id}/routes") => {
                (DEVELOPER1.0, Some(json!({"routes": ["192.168.50.0/24"]})))
            }
            ("PUT", "/api/v1/peers/{id}/routes/approval") => {
                (DEVELOPER1.0, Some(json!({"approved": true})))
            }
            (_, r) if r.starts_with("/api/v1/peers/") => (DEVELOPER2.0, None),
            ("POST", "/api/v1/cidrs") => (
                0,
                Some(json!({"name": "extra", "cidr": "10.81.1.0/24", "parent": ROOT.0})),
            ),
            ("PATCH", "/api/v1/cidrs/{id}") => (DEVELOPER.0, Some(json!({"name": "devs"}))),
            ("DELETE", "/api/v1/cidrs/{id}") => (spare.id.0, None),
            ("PUT", "/api/v1/cidrs/{id}/isolation") => {
                (DEVELOPER.0, Some(json!({"isolated": true})))
            }
            ("PUT", "/api/v1/cidrs/{id}/auto-approval") => {
                (USER.0, Some(json!({"prefixes": ["192.168.60.0/24"]})))
            }
            ("POST", "/api/v1/associations") => (
                0,
                Some(json!({"cidr_id_1": ADMIN.0, "cidr_id_2": DEVELOPER.0})),
            ),
            ("DELETE", "/api/v1/associations/{id}") => (unruled.id.0, None),
            ("POST", "/api/v1/rules") => (0, Some(rule("udp", 53))),
            ("DELETE", "/api/v1/rules/{id}") => (doomed_rule, None),
            _ => (0, None),
        };
        (
            route.replace("{id}", &id.to_string()),
            body.map(|b| b.to_string()),
        )
    };
    for &(method, route, scope) in ROUTES {
        let (path, body) = target(method, route);
        let insufficient = match scope {
            Scope::Read => None,
            Scope::Devices => Some(peers.as_str()),
            _ => Some(devices.as_str()),
        };
        let mut refusals = vec![
            (None, 401, "no token"),
            (Some(wrong.as_str()), 401, "unknown or wrong token"),
            (Some(expired.as_str()), 401, "has expired"),
            (Some(revoked.as_str()), 401, "was revoked"),
        ];
        if let Some(token) = insufficient {
            refusals.push((Some(token), 403, "lacks the scope"));
            // A read-only token never writes either.
            refusals.push((Some(read.as_str()), 403, "lacks the scope"));
        }
        for (token, status, message) in refusals {
            let (model, db) = (h.snapshot(), h.reopen());
            let (got, answer) = call(&api.socket, method, &path, token, body.as_deref()).await;
            assert_eq!(got, status, "{method} {path} with {token:?}: {answer}");
            let error = answer["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{method} {path}: {error}");
            assert_eq!(h.snapshot(), model, "{method} {path} changed the model");
            assert_eq!(h.reopen(), db, "{method} {path} changed the database");
        }
        let right = match scope {
            Scope::Read => read.as_str(),
            Scope::Devices => devices.as_str(),
            Scope::Peers => peers.as_str(),
            Scope::Policy => policy.as_str(),
            Scope::Admin => admin.as_str(),
        };
        let (got, answer) = call(&api.socket, method, &path, Some(right), body.as_deref()).await;
        assert!(
            (200..300).contains(&got),
            "{method} {path} with the right scope: {got} {answer}"
        );
        if route == "/api/v1/openapi.json" {
            let served = serde_json::to_string(&answer).unwrap();
            let made: Value =
                serde_json::from_str(&wiremesh_server::http::automation::openapi_json()).unwrap();
            assert_eq!(served, serde_json::to_string(&made).unwrap());
        }
        if (method, route) == ("POST", "/api/v1/peers") {
            let invitation = answer["invitation"].as_str().unwrap_or_default();
            let parsed = wiremesh_shared::config::InvitationConfig::from_toml_str(invitation)
                .expect("the invitation parses");
            assert_eq!(
                parsed.server.internal_endpoint.to_string(),
                "10.80.0.1:51820"
            );
            assert_eq!(answer["peer"]["name"], "runner");
        }
    }

    // What the right tokens did, as themselves in the audit log.
    let log = h.service.audit_log(200).unwrap();
    let by = |action: &str| {
        log.iter()
            .filter(|e| e.action == action)
            .map(|e| e.actor.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(by("peer.delete").first(), Some(&"token provisioner"));
    assert!(by("peer.delete").contains(&"token peer-admin"));
    assert_eq!(by("device.create").first(), Some(&"token provisioner"));
    // The log is newest first; the fixture's own rows come before the tokens' (as `unknown`).
    assert_eq!(by("peer.create").first(), Some(&"token peer-admin"));
    for action in [
        "cidr.create",
        "cidr.rename",
        "cidr.delete",
        "cidr.isolation",
        "association.create",
        "association.delete",
        "rule.create",
        "rule.delete",
        "routes.set",
        "routes.auto-approve",
    ] {
        assert_eq!(by(action).first(), Some(&"token policy-admin"), "{action}");
    }
    // The offer, then its approval.
    let sets = by("routes.set");
    assert_eq!(sets[..2], ["token policy-admin", "token policy-admin"]);
    let model = h.service.model();
    assert_eq!(model.cidr(DEVELOPER).unwrap().name, "devs");
    assert!(model.cidr(spare.id).is_none());
    assert!(model.cidrs().iter().any(|c| c.name == "extra"));
    assert_eq!(model.peer(DEVELOPER2).unwrap().name.as_str(), "dev2");
    assert_eq!(model.peer(PeerId(kept_id)).unwrap().name.as_str(), "kept2");
    assert!(model.peers().iter().any(|p| p.name.as_str() == "runner"));
    assert!(h.service.model().peer(USER2).is_none());
    assert!(h.service.model().peer(PeerId(doomed_id)).is_none());
}

#[tokio::test]
async fn bad_requests_change_nothing() {
    let api = start().await;
    let h = &api.h;
    let (admin, _) = h
        .service
        .create_token("ops", &[Scope::Admin], None)
        .unwrap();
    let device = h
        .service
        .create_device(device("kept", 20), "test", "test")
        .unwrap();
    let cases: Vec<(&str, String, Option<String>, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/devices".into(),
            Some("{not json".into()),
            400,
            "invalid request body",
        ),
        (
            "POST",
            "/api/v1/devices".into(),
            Some(json!({"name": "x", "cidr_id": DEVELOPER.0, "colour": "red"}).to_string()),
            400,
            "unknown field",
        ),
        (
            "POST",
            "/api/v1/devices".into(),
            Some(json!({"name": "Bad Name", "cidr_id": DEVELOPER.0}).to_string()),
            400,
            "invalid hostname",
        ),
        (
            "POST",
            "/api/v1/devices".into(),
            Some(json!({"name": "kept", "cidr_id": DEVELOPER.0}).to_string()),
            400,
            "already exists",
        ),
        ("DELETE", "/api/v1/peers/x".into(), None, 400, "invalid id"),
        (
            "DELETE",
            "/api/v1/peers/99".into(),
            None,
            404,
            "does not exist",
        ),
        (
            "DELETE",
            "/api/v1/peers/1".into(),
            None,
            400,
            "cannot be deleted",
        ),
        (
            "DELETE",
            format!("/api/v1/peers/{}", device.peer.id),
            None,
            400,
            "is a device",
        ),
        (
            "DELETE",
            "/api/v1/devices/4".into(),
            None,
            404,
            "is not a device",
        ),
        ("GET", "/api/v1/audit?limit=many".into(), None, 400, "limit"),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(json!({"name": "x", "cidr_id": 99}).to_string()),
            404,
            "CIDR 99 does not exist",
        ),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(json!({"name": "x", "cidr_id": ROOT.0}).to_string()),
            400,
            "leaf",
        ),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(json!({"name": "x", "cidr_id": DEVELOPER.0, "ephemeral": "10s"}).to_string()),
            400,
            "at least 60 s",
        ),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(
                json!({"name": "x", "cidr_id": DEVELOPER.0, "invite_expires": "soon"}).to_string(),
            ),
            400,
            "invalid request body",
        ),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(json!({"name": "developer1", "cidr_id": DEVELOPER.0}).to_string()),
            400,
            "already",
        ),
        (
            "PATCH",
            "/api/v1/peers/3".into(),
            Some(json!({"name": "Bad Name"}).to_string()),
            400,
            "invalid name",
        ),
        (
            "PATCH",
            "/api/v1/cidrs/99".into(),
            Some(json!({"name": "x"}).to_string()),
            404,
            "CIDR 99 does not exist",
        ),
        (
            "DELETE",
            format!("/api/v1/cidrs/{}", DEVELOPER.0),
            None,
            400,
            "still holds",
        ),
        (
            "POST",
            "/api/v1/cidrs".into(),
            Some(json!({"name": "clash", "cidr": "10.80.64.0/25", "parent": ROOT.0}).to_string()),
            400,
            "as its parent",
        ),
        (
            "DELETE",
            "/api/v1/associations/99".into(),
            None,
            404,
            "association 99 does not exist",
        ),
        (
            "POST",
            "/api/v1/rules".into(),
            Some(json!({"protocol": "sctp"}).to_string()),
            400,
            "invalid request body",
        ),
        (
            "POST",
            "/api/v1/rules?plan=maybe".into(),
            Some("{}".into()),
            400,
            "plan",
        ),
        ("DELETE", "/api/v1/rules/99".into(), None, 404, "99"),
        (
            "PUT",
            "/api/v1/peers/99/routes".into(),
            Some(json!({"routes": ["192.168.50.0/24"]}).to_string()),
            404,
            "peer 99 does not exist",
        ),
        (
            "PUT",
            "/api/v1/peers/3/routes".into(),
            Some(json!({"routes": ["10.80.64.0/24"]}).to_string()),
            400,
            "10.80.64.0/24",
        ),
        ("GET", "/api/v1/nothing".into(), None, 404, "no such route"),
    ];
    for (method, path, body, status, message) in cases {
        let (model, db) = (h.snapshot(), h.reopen());
        let (got, answer) = call(&api.socket, method, &path, Some(&admin), body.as_deref()).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{method} {path}: {error}");
        assert_eq!(h.snapshot(), model, "{method} {path} changed the model");
        assert_eq!(h.reopen(), db, "{method} {path} changed the database");
    }

    // Only an admin token makes an admin peer.
    let (peers_token, _) = h
        .service
        .create_token("peer-admin", &[Scope::Peers], None)
        .unwrap();
    let (model, db) = (h.snapshot(), h.reopen());
    let body = json!({"name": "boss", "cidr_id": DEVELOPER.0, "admin": true}).to_string();
    let (got, answer) = call(
        &api.socket,
        "POST",
        "/api/v1/peers",
        Some(&peers_token),
        Some(&body),
    )
    .await;
    assert_eq!(got, 403, "{answer}");
    assert_eq!((h.snapshot(), h.reopen()), (model, db));
    let (got, answer) = call(
        &api.socket,
        "POST",
        "/api/v1/peers",
        Some(&admin),
        Some(&body),
    )
    .await;
    assert_eq!(got, 201, "{answer}");
    assert_eq!(answer["peer"]["is_admin"], true);

    // A planned rule changes nothing.
    let association = h
        .service
        .create_association(wiremesh_shared::wire::AssociationContents {
            cidr_id_1: USER,
            cidr_id_2: DEVELOPER,
        })
        .unwrap();
    let (model, db) = (h.snapshot(), h.reopen());
    let rule = json!({
        "scope": {"association": association.id.0},
        "source": {"cidr": USER.0},
        "destination": {"cidr": DEVELOPER.0},
        "protocol": "tcp",
        "ports": [[22, 22]],
    })
    .to_string();
    let (got, planned) = call(
        &api.socket,
        "POST",
        "/api/v1/rules?plan=true",
        Some(&admin),
        Some(&rule),
    )
    .await;
    assert_eq!(got, 200, "{planned}");
    assert_eq!(planned["committed"], false);
    assert_eq!((h.snapshot(), h.reopen()), (model, db));

    // What reading returns (the six of the fixture, the admin peer "boss" and the device).
    let (status, network) = call(&api.socket, "GET", "/api/v1/network", Some(&admin), None).await;
    assert_eq!(status, 200);
    assert_eq!(network["peers"], 7);
    assert_eq!(network["devices"], 1);
    let (_, peers) = call(&api.socket, "GET", "/api/v1/peers", Some(&admin), None).await;
    assert_eq!(peers.as_array().unwrap().len(), 7);
    let (_, one) = call(&api.socket, "GET", "/api/v1/peers/3", Some(&admin), None).await;
    assert_eq!(one["name"], "developer1");
    let (status, live) = call(&api.socket, "GET", "/api/v1/status", Some(&admin), None).await;
    assert_eq!(status, 200, "{live}");
    let live = live.as_array().unwrap();
    assert_eq!(live.len(), 7, "every peer but the server: {live:?}");
    let developer1 = live.iter().find(|p| p["name"] == "developer1").unwrap();
    assert_eq!(developer1["on_interface"], true);
    assert_eq!(developer1["last_handshake"], Value::Null);
    let kept = live.iter().find(|p| p["name"] == "kept").unwrap();
    assert_eq!(kept["device"], true);
    let (_, devices) = call(&api.socket, "GET", "/api/v1/devices", Some(&admin), None).await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
    let (status, created) = call(
        &api.socket,
        "POST",
        "/api/v1/devices",
        Some(&admin),
        Some(&json!({"name": "tablet", "cidr_id": DEVELOPER.0}).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let config = created["config"].as_str().unwrap_or_default();
    assert!(config.contains("PrivateKey = "), "{created}");
}

/// The OpenAPI document is made from the handlers the router serves: it has exactly the
/// routes of [`ROUTES`], each with its scope and the error answers, and `doc/openapi.json`
/// is the same document (`WIREMESH_REGENERATE_DOCS=1` rewrites it).
#[test]
fn the_openapi_document_covers_every_route_and_is_committed() {
    let text = wiremesh_server::http::automation::openapi_json();
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let scope = operation["security"][0]["token"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no token scope"))
                .to_owned();
            for status in ["401", "403"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} lacks {status}"
                );
            }
            assert!(
                operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with('2')),
                "{method} {path} has no success answer"
            );
            documented.push((method.to_uppercase(), path.clone(), scope));
        }
    }
    let mut expected: Vec<(String, String, String)> = ROUTES
        .iter()
        .map(|(m, p, s)| (m.to_string(), p.to_string(), s.as_str().to_owned()))
        .collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);
    // Every schema a route names is in the document.
    for name in [
        "PeerEntry",
        "NewPeerRequest",
        "CreatedPeer",
        "IssuedDeviceBody",
        "RuleContents",
        "PolicyChange",
        "RouteBook",
        "PeerStatus",
        "AuditPage",
        "ErrorBody",
        "Hostname",
        "PortRange",
    ] {
        assert!(
            document["components"]["schemas"][name].is_object(),
            "schema {name} missing"
        );
    }

    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../doc/openapi.json");
    if std::env::var_os("WIREMESH_REGENERATE_DOCS").is_some() {
        std::fs::write(&committed, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == text,
        "doc/openapi.json is stale: run WIREMESH_REGENERATE_DOCS=1 cargo test -p wiremesh-server \
         --test it openapi"
    );
}
