//! HTTP-level behaviour: innernet's routing quirks (compat §1.4), body rules (§1.6), 404 and
//! 500 bodies, concurrent writers, and one test over a real TCP socket with `serve`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use wiremesh_server::http::{router, serve, Limits, SERVER_KEY_HEADER};
use wiremesh_server::service::{Service, ServiceOptions, SystemClock};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_shared::fixture::Family;
use wiremesh_shared::wire::{Peer, MAX_BODY_BYTES};

use crate::support::api::*;

#[tokio::test]
async fn routing_quirks() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let unknown = h.addr("10.80.200.200", "fd00:1337::9999:0:0:1");
        let cases: &[(Method, &str, u16, u16)] = &[
            // (method, path, as admin, as developer1)
            (Method::GET, "/v1/user/state/extra", 200, 200),
            (Method::GET, "/v1/user/state/", 200, 200),
            (Method::GET, "/v1/user/state?peers=all", 200, 200),
            (Method::GET, "/v1/user/capabilities/x/y", 200, 200),
            (Method::GET, "/v1/admin/peers/", 404, 401),
            (Method::POST, "/v1/admin/peers/", 404, 401),
            (Method::PUT, "/v1/admin/peers/abc", 404, 401),
            (Method::DELETE, "/v1/admin/peers/1.5", 404, 401),
            (
                Method::DELETE,
                "/v1/admin/peers/99999999999999999999",
                404,
                401,
            ),
            (Method::PATCH, "/v1/admin/peers/3", 404, 401),
            (Method::GET, "/v1/admin/peers/3", 404, 401),
            (Method::PUT, "/v1/admin/associations/1", 404, 401),
            (Method::GET, "/v1/admin/nothing", 404, 401),
            (Method::GET, "/v1/admin", 404, 401),
            (Method::GET, "/v1/user/nothing", 404, 404),
            (Method::POST, "/v1/user/state", 404, 404),
            (Method::GET, "/v1/user/redeem", 404, 404),
            (Method::HEAD, "/v1/user/state", 404, 404),
            (Method::GET, "/v1/user", 404, 404),
            (Method::GET, "/v1/", 404, 404),
            (Method::GET, "/v1", 404, 404),
            (Method::GET, "/v1/other/state", 404, 404),
            // wiremesh's /v2 has only `GET /v2/user/state` (see api_v2.rs).
            (Method::GET, "/v2/user/other", 404, 404),
            (Method::GET, "/v3/user/state", 404, 404),
            (Method::GET, "/foo", 404, 404),
            (Method::GET, "/", 404, 404),
            (Method::GET, "//v1/user/state", 404, 404),
        ];
        for (method, path, as_admin, as_user) in cases {
            for (caller, expected) in [(ADMIN_PEER, as_admin), (DEVELOPER1, as_user)] {
                let r = h.req(caller, method.clone(), path).send().await;
                assert_eq!(
                    r.status.as_u16(),
                    *expected,
                    "{family:?} {method} {path} as {caller}: {}",
                    r.text()
                );
                if *expected == 404 && *method != Method::HEAD {
                    assert_eq!(r.error(), "no such route");
                }
            }
            // Without a session, only paths outside /v1 and /v2 are 404s.
            let outside = !path.starts_with("/v1") && !path.starts_with("/v2");
            let r = h
                .req_from(unknown, method.clone(), path)
                .no_key()
                .send()
                .await;
            assert_eq!(
                r.status.as_u16(),
                if outside { 404 } else { 401 },
                "{method} {path} without a session"
            );
        }
    }
}

#[tokio::test]
async fn body_limits() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let put = || h.req(DEVELOPER1, Method::PUT, "/v1/user/candidates");
        let before = h.reopen();
        let r = put().chunked(r#"["192.168.1.20:51820"]"#).send().await;
        assert_eq!(
            r.expect(400).error(),
            "the request body needs a Content-Length header"
        );
        let r = put()
            .chunked(r#"["192.168.1.20:51820"]"#)
            .header("content-length", "twelve")
            .send()
            .await;
        assert_eq!(
            r.expect(400).error(),
            "the Content-Length header is not a number"
        );
        let over = format!(
            "{:<width$}",
            r#"["192.168.1.20:51820"]"#,
            width = MAX_BODY_BYTES + 1
        );
        assert_eq!(over.len(), 16385);
        let r = put().raw(over).send().await;
        assert_eq!(
            r.expect(400).error(),
            "the request body is 16385 bytes long, at most 16384 are allowed"
        );
        assert_eq!(h.reopen(), before, "nothing stored");

        let exact = format!(
            "{:<width$}",
            r#"["192.168.1.20:51820"]"#,
            width = MAX_BODY_BYTES
        );
        put().raw(exact).send().await.expect(204);
        let stored = h
            .reopen()
            .peers
            .into_iter()
            .find(|p| p.id == DEVELOPER1)
            .expect("peer");
        assert_eq!(stored.candidates.len(), 1);
        // A route without a body does not need a Content-Length.
        h.req(DEVELOPER1, Method::GET, "/v1/user/state")
            .chunked("ignored")
            .send()
            .await
            .expect(200);
    }
}

/// Without a connection address (a router not served through `serve`) the request fails
/// with 500 and a body that says only "internal error".
#[tokio::test]
async fn internal_errors_say_little() {
    let h = Harness::new(Family::V4);
    let request = Request::builder()
        .uri("/v1/user/capabilities")
        .header(SERVER_KEY_HEADER, server_key().to_base64())
        .body(Body::empty())
        .expect("request");
    let response = h.router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(&body[..], br#"{"error":"internal error"}"#);
}

/// 50 admins' requests racing for one address (or one name): exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates() {
    for same_name in [false, true] {
        let h = Arc::new(Harness::new(Family::V4));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50u8 {
            let h = h.clone();
            tasks.spawn(async move {
                let (name, ip) = if same_name {
                    (
                        "racer".to_owned(),
                        h.addr(&format!("10.80.64.{}", 10 + i), ""),
                    )
                } else {
                    (format!("racer{i}"), h.addr("10.80.64.10", ""))
                };
                let contents = h.contents(&name, ip, DEVELOPER, new_key(100 + i));
                let body = serde_json::to_value(contents).expect("json");
                h.req(ADMIN_PEER, Method::POST, "/v1/admin/peers")
                    .json(body)
                    .send()
                    .await
            });
        }
        let mut created = Vec::new();
        let mut refused = 0;
        while let Some(result) = tasks.join_next().await {
            let r = result.expect("task");
            match r.status.as_u16() {
                201 => created.push(r.json::<Peer>()),
                400 => {
                    let expected = if same_name {
                        "a peer named \"racer\" already exists"
                    } else {
                        "10.80.64.10 is already taken by another peer"
                    };
                    assert_eq!(r.error(), expected);
                    refused += 1;
                }
                other => panic!("unexpected {other}: {}", r.text()),
            }
        }
        assert_eq!((created.len(), refused), (1, 49));
        let db = h.reopen();
        assert_eq!(db.peers.len(), 7);
        assert_eq!(db.peers[6].id, created[0].id);
    }
}

/// `serve` on a real socket: the caller is the TCP source address, and the server stops
/// when the shutdown signal fires.
#[tokio::test]
async fn real_socket() {
    // A network on the loopback range, so that 127.0.0.1 is a peer (the server's own).
    let dir = tempfile::tempdir().expect("temp dir");
    let server_key = new_key(7);
    let store = SqliteStore::create(
        &dir.path().join("loop.db"),
        NewNetwork {
            name: "loop".to_owned(),
            root: "127.0.0.0/8".parse().expect("net"),
            infra_name: "innernet-server".to_owned(),
            server_name: "innernet-server".parse().expect("name"),
            server_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            server_key,
            external_endpoint: "155.155.155.155:54321".parse().expect("endpoint"),
        },
    )
    .expect("create database");
    let service = Service::new(
        Box::new(store),
        None,
        Arc::new(SystemClock),
        ServiceOptions::default(),
    )
    .expect("service");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        router(Arc::new(service), server_key),
        Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let key = server_key.to_base64();
    let get = format!(
        "GET /v1/user/capabilities HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {key}\r\nConnection: close\r\n\r\n"
    );
    let response = exchange(addr, &get).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{response}"
    );
    assert!(
        response.contains(r#""unspecified_ip_in_override_endpoint":true"#),
        "{response}"
    );

    let wrong = get.replace(&key, &new_key(8).to_base64());
    let response = exchange(addr, &wrong).await;
    assert!(
        response.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{response}"
    );
    assert!(
        response
            .ends_with(r#"{"error":"the X-Innernet-Server-Key header does not name this server"}"#),
        "{response}"
    );

    let chunked = format!(
        "PUT /v1/user/candidates HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {key}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n[]\r\n0\r\n\r\n"
    );
    let response = exchange(addr, &chunked).await;
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{response}"
    );
    let body = r#"["192.168.1.20:51820"]"#;
    let put = format!(
        "PUT /v1/user/candidates HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let response = exchange(addr, &put).await;
    assert!(
        response.starts_with("HTTP/1.1 204 No Content\r\n"),
        "{response}"
    );

    stop.send(()).expect("server still running");
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stopped")
        .expect("task");
    result.expect("serve returned cleanly");
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

async fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    String::from_utf8(response).expect("utf-8")
}

/// Bodies that are not JSON at all, and unknown fields (ignored, as innernet does).
#[tokio::test]
async fn malformed_and_extended_bodies() {
    let h = Harness::new(Family::V4);
    for raw in ["", "{", "null", "[]", "\u{0}"] {
        let before = h.reopen();
        let r = h
            .req(ADMIN_PEER, Method::POST, "/v1/admin/associations")
            .raw(raw)
            .send()
            .await;
        assert!(
            r.expect(400).error().starts_with("invalid request body: "),
            "{raw:?}: {}",
            r.text()
        );
        assert_eq!(h.reopen(), before);
    }
    let body = json!({"cidr_id_1": 3, "cidr_id_2": 4, "comment": "unknown fields are ignored"});
    // Content-Type is not checked either.
    let r = h
        .req(ADMIN_PEER, Method::POST, "/v1/admin/associations")
        .header("content-type", "text/plain")
        .json(body);
    r.send().await.expect(201);
}
