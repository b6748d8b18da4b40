//! `/v1/admin/peers`: compat §11.2 scenarios 12–18 for IPv4 and IPv6, every peer validation
//! rule (status, message, nothing changed), and wiremesh's fixes: keys are validated, the
//! server peer cannot be disabled, and enabling or disabling updates the interface at once.

use axum::http::Method;
use serde_json::{json, Value};
use wiremesh_shared::fixture::{key_for, Family, SERVER};
use wiremesh_shared::wire::Peer;
use wiremesh_shared::PeerId;

use crate::support::api::*;

fn post<'h>(h: &'h Harness, path: &str, body: Value) -> Req<'h> {
    h.req(ADMIN_PEER, Method::POST, path).json(body)
}

fn value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("json")
}

fn count_enabled(h: &Harness) -> usize {
    h.reopen().peers.iter().filter(|p| !p.is_disabled).count()
}

/// Scenario 12: the 201 echoes the request contents, keepalive included, with a new id.
#[tokio::test]
async fn create_peer_echoes_the_request() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let mut contents = h.contents(
            "newpeer",
            h.addr("10.80.64.10", "fd00:1337::2:0:0:10"),
            DEVELOPER,
            new_key(1),
        );
        contents.persistent_keepalive_interval = Some(7);
        contents.is_redeemed = false;
        let r = post(&h, "/v1/admin/peers", value(&contents)).send().await;
        r.expect(201);
        assert_eq!(r.content_type(), "application/json");
        let peer: Peer = r.json();
        assert_eq!(peer.id, PeerId(7));
        assert_eq!(peer.contents, contents);
        assert_eq!(h.reopen().peers.len(), 7);
        assert!(
            h.interface_keys().contains(&new_key(1)),
            "the invitation key can connect at once"
        );
    }
}

/// Scenarios 14 and 15: duplicates and bad addresses are 400s that change nothing.
#[tokio::test]
async fn create_peer_rejections() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let developer_ip = |v4, v6| h.addr(v4, v6);
        let mut cases = vec![
            (
                h.contents(
                    "developer1",
                    developer_ip("10.80.64.10", "fd00:1337::2:0:0:10"),
                    DEVELOPER,
                    new_key(2),
                ),
                "a peer named \"developer1\" already exists".to_owned(),
            ),
            (
                h.contents("fresh", h.ip(DEVELOPER2), DEVELOPER, new_key(2)),
                format!("{} is already taken by another peer", h.ip(DEVELOPER2)),
            ),
            (
                h.contents("fresh", h.ip(USER1), DEVELOPER, new_key(2)),
                format!(
                    "{} is not inside CIDR {}",
                    h.ip(USER1),
                    h.fixture.cidr(DEVELOPER).cidr
                ),
            ),
            (
                h.contents(
                    "fresh",
                    developer_ip("10.80.64.0", "fd00:1337::2:0:0:0"),
                    DEVELOPER,
                    new_key(2),
                ),
                format!(
                    "{} is the network address of {}, not a host address",
                    developer_ip("10.80.64.0", "fd00:1337::2:0:0:0"),
                    h.fixture.cidr(DEVELOPER).cidr
                ),
            ),
        ];
        if family == Family::V4 {
            cases.push((
                h.contents(
                    "fresh",
                    developer_ip("10.80.64.255", ""),
                    DEVELOPER,
                    new_key(2),
                ),
                "10.80.64.255 is the broadcast address of 10.80.64.0/24, not a host address"
                    .to_owned(),
            ));
        }
        for (contents, message) in cases {
            let before = h.reopen();
            let r = post(&h, "/v1/admin/peers", value(&contents)).send().await;
            assert_eq!(r.expect(400).error(), message);
            assert_eq!(h.reopen(), before, "nothing changed");
        }
        // Scenario 13: a name with a space fails to parse.
        let mut bad = value(&h.contents(
            "fresh",
            developer_ip("10.80.64.10", "fd00:1337::2:0:0:10"),
            DEVELOPER,
            new_key(2),
        ));
        bad["name"] = json!("bad name");
        let r = post(&h, "/v1/admin/peers", bad).send().await;
        assert!(
            r.expect(400)
                .error()
                .starts_with("invalid request body: invalid hostname \"bad name\""),
            "{}",
            r.text()
        );
        assert_eq!(h.reopen().peers.len(), 6);
    }
}

/// Scenarios 16 and 17: non-admins are refused; an admin renames and lists.
#[tokio::test]
async fn update_and_list_peers() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let contents = h.contents(
            "newpeer",
            h.addr("10.80.64.10", "fd00:1337::2:0:0:10"),
            DEVELOPER,
            new_key(3),
        );
        let r = h
            .req(DEVELOPER1, Method::POST, "/v1/admin/peers")
            .json(value(&contents))
            .send()
            .await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: this peer is not an admin"
        );
        let mut renamed = h.fixture.peer(DEVELOPER2).contents.clone();
        renamed.name = "developer2b".parse().expect("name");
        let path = format!("/v1/admin/peers/{DEVELOPER2}");
        h.req(DEVELOPER1, Method::PUT, &path)
            .json(value(&renamed))
            .send()
            .await
            .expect(401);
        assert!(h
            .req(ADMIN_PEER, Method::PUT, &path)
            .json(value(&renamed))
            .send()
            .await
            .expect(204)
            .body
            .is_empty());
        let stored = h
            .reopen()
            .peers
            .into_iter()
            .find(|p| p.id == DEVELOPER2)
            .expect("peer");
        assert_eq!(stored.name.as_str(), "developer2b");
        // Only name, endpoint, admin, disabled and candidates are applied.
        let mut sneaky = renamed.clone();
        sneaky.ip = h.addr("10.80.64.99", "fd00:1337::2:0:0:99");
        sneaky.public_key = new_key(4);
        h.req(ADMIN_PEER, Method::PUT, &path)
            .json(value(&sneaky))
            .send()
            .await
            .expect(204);
        let stored = h
            .reopen()
            .peers
            .into_iter()
            .find(|p| p.id == DEVELOPER2)
            .expect("peer");
        assert_eq!(
            (stored.ip, stored.public_key),
            (h.fixture.peer(DEVELOPER2).ip, key_for(DEVELOPER2))
        );
        // The admin path has the same candidate limit as the peer's own.
        let mut crowded = renamed.clone();
        crowded.candidates = (1..=11)
            .map(|n| format!("192.0.2.{n}:51820").parse().expect("candidate"))
            .collect();
        let r = h
            .req(ADMIN_PEER, Method::PUT, &path)
            .json(value(&crowded))
            .send()
            .await;
        assert_eq!(
            r.expect(413).error(),
            "too many candidates: 11, at most 10 allowed"
        );
        let r = h
            .req(ADMIN_PEER, Method::PUT, "/v1/admin/peers/99")
            .json(value(&renamed))
            .send()
            .await;
        assert_eq!(r.expect(404).error(), "peer 99 does not exist");

        let listing: Vec<Peer> = h
            .req(ADMIN_PEER, Method::GET, "/v1/admin/peers")
            .send()
            .await
            .expect(200)
            .json();
        let listed: Vec<PeerId> = listing.iter().map(|p| p.id).collect();
        assert_eq!(
            listed,
            vec![SERVER, ADMIN_PEER, DEVELOPER1, DEVELOPER2, USER1, USER2]
        );
        h.req(DEVELOPER1, Method::GET, "/v1/admin/peers")
            .send()
            .await
            .expect(401);
    }
}

/// Scenario 18 and the fix: DELETE disables, and the peer leaves the interface at once;
/// enabling through PUT brings it back. The server peer cannot be disabled.
#[tokio::test]
async fn disable_and_enable() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let enabled = count_enabled(&h);
        let path = format!("/v1/admin/peers/{DEVELOPER2}");
        let before = h.reopen();
        h.req(DEVELOPER1, Method::DELETE, &path)
            .send()
            .await
            .expect(401);
        assert_eq!(h.reopen(), before);
        assert!(h
            .req(ADMIN_PEER, Method::DELETE, &path)
            .send()
            .await
            .expect(204)
            .body
            .is_empty());
        assert_eq!(count_enabled(&h), enabled - 1);
        assert_eq!(h.reopen().peers.len(), 6, "disabled, not deleted");
        assert!(!h.interface_keys().contains(&key_for(DEVELOPER2)));
        h.req(DEVELOPER2, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(401);
        // Again: still 204.
        h.req(ADMIN_PEER, Method::DELETE, &path)
            .send()
            .await
            .expect(204);
        let r = h
            .req(ADMIN_PEER, Method::DELETE, "/v1/admin/peers/999")
            .send()
            .await;
        assert_eq!(r.expect(404).error(), "peer 999 does not exist");

        let mut contents = h.fixture.peer(DEVELOPER2).contents.clone();
        contents.is_disabled = false;
        h.req(ADMIN_PEER, Method::PUT, &path)
            .json(value(&contents))
            .send()
            .await
            .expect(204);
        assert!(
            h.interface_keys().contains(&key_for(DEVELOPER2)),
            "enabled peers return at once"
        );
        h.req(DEVELOPER2, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(200);

        let before = h.reopen();
        let r = h
            .req(
                ADMIN_PEER,
                Method::DELETE,
                &format!("/v1/admin/peers/{SERVER}"),
            )
            .send()
            .await;
        assert_eq!(
            r.expect(400).error(),
            "the server peer \"innernet-server\" cannot be disabled"
        );
        let mut server = h.fixture.peer(SERVER).contents.clone();
        server.is_disabled = true;
        let r = h
            .req(
                ADMIN_PEER,
                Method::PUT,
                &format!("/v1/admin/peers/{SERVER}"),
            )
            .json(value(&server))
            .send()
            .await;
        assert_eq!(
            r.expect(400).error(),
            "the server peer \"innernet-server\" cannot be disabled"
        );
        assert_eq!(h.reopen(), before);
    }
}

/// `PATCH /v2/admin/peers/{id}` changes only the fields it names. Two admins who both read
/// a peer: one disables it, the other renames it. Through `/v1` the rename's `PUT` of the
/// whole peer as read enables it again (innernet's protocol, kept as it is); through the
/// `PATCH` the disable stands.
#[tokio::test]
async fn patch_changes_only_what_it_names() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let path = format!("/v2/admin/peers/{DEVELOPER2}");
        let capabilities: Value = h
            .req(ADMIN_PEER, Method::GET, "/v1/user/capabilities")
            .send()
            .await
            .expect(200)
            .json();
        assert!(
            capabilities["wiremesh"]["features"]
                .as_array()
                .is_some_and(|features| features.contains(&json!("peer-patch"))),
            "{capabilities}"
        );

        // The lost update through /v1.
        let read_by_second_admin = h.fixture.peer(DEVELOPER2).contents.clone();
        h.req(
            ADMIN_PEER,
            Method::DELETE,
            &format!("/v1/admin/peers/{DEVELOPER2}"),
        )
        .send()
        .await
        .expect(204);
        let mut renamed = read_by_second_admin.clone();
        renamed.name = "renamed-by-put".parse().unwrap();
        h.req(
            ADMIN_PEER,
            Method::PUT,
            &format!("/v1/admin/peers/{DEVELOPER2}"),
        )
        .json(value(&renamed))
        .send()
        .await
        .expect(204);
        let stored = |h: &Harness| {
            h.reopen()
                .peers
                .into_iter()
                .find(|p| p.id == DEVELOPER2)
                .expect("peer")
        };
        assert!(!stored(&h).is_disabled, "the PUT undid the disable");

        // The same through /v2.
        h.req(ADMIN_PEER, Method::PATCH, &path)
            .json(json!({"is_disabled": true}))
            .send()
            .await
            .expect(204);
        assert!(!h.interface_keys().contains(&key_for(DEVELOPER2)));
        h.req(ADMIN_PEER, Method::PATCH, &path)
            .json(json!({"name": "renamed-by-patch"}))
            .send()
            .await
            .expect(204);
        let peer = stored(&h);
        assert!(peer.is_disabled, "the disable stands");
        assert_eq!(peer.name.as_str(), "renamed-by-patch");
        assert_eq!(peer.endpoint, read_by_second_admin.endpoint);
        assert_eq!(peer.is_admin, read_by_second_admin.is_admin);
        h.req(ADMIN_PEER, Method::PATCH, &path)
            .json(json!({"is_disabled": false, "is_admin": true}))
            .send()
            .await
            .expect(204);
        let peer = stored(&h);
        assert!(!peer.is_disabled && peer.is_admin);
        assert_eq!(peer.name.as_str(), "renamed-by-patch");
        assert!(h.interface_keys().contains(&key_for(DEVELOPER2)));

        // Refusals change nothing.
        let before = h.reopen();
        let developer1 = h.fixture.peer(DEVELOPER1).name.to_string();
        for (caller, target, body, status, message) in [
            (
                ADMIN_PEER,
                DEVELOPER2,
                json!({"name": developer1}),
                400,
                format!("a peer named {developer1:?} already exists"),
            ),
            (
                ADMIN_PEER,
                DEVELOPER2,
                json!({"is_diabled": true}),
                400,
                "unknown field `is_diabled`".to_owned(),
            ),
            (
                ADMIN_PEER,
                DEVELOPER2,
                json!({"name": "Not A Hostname!"}),
                400,
                "name".to_owned(),
            ),
            (
                ADMIN_PEER,
                SERVER,
                json!({"is_disabled": true}),
                400,
                "the server peer \"innernet-server\" cannot be disabled".to_owned(),
            ),
            (
                ADMIN_PEER,
                PeerId(999),
                json!({"is_disabled": true}),
                404,
                "peer 999 does not exist".to_owned(),
            ),
            (
                DEVELOPER1,
                DEVELOPER2,
                json!({"is_disabled": true}),
                401,
                "admin".to_owned(),
            ),
        ] {
            let r = h
                .req(caller, Method::PATCH, &format!("/v2/admin/peers/{target}"))
                .json(body.clone())
                .send()
                .await;
            let error = r.expect(status).error();
            assert!(error.contains(&message), "{body}: {error}");
        }
        for bad_path in [
            "/v2/admin/peers/x",
            "/v2/admin/peers",
            "/v2/admin/peers/3/x",
        ] {
            h.req(ADMIN_PEER, Method::PATCH, bad_path)
                .json(json!({"is_disabled": true}))
                .send()
                .await
                .expect(404);
        }
        assert_eq!(h.reopen(), before);
    }
}

fn peer_body(h: &Harness, name: &str, v4: &str, v6: &str, cidr: wiremesh_shared::CidrId) -> Value {
    serde_json::to_value(h.contents(name, h.addr(v4, v6), cidr, new_key(99))).expect("json")
}

#[tokio::test]
async fn peer_rules() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let p = "/v1/admin/peers";
        let good = || peer_body(&h, "fresh", "10.80.64.10", "fd00:1337::2:0:0:10", DEVELOPER);
        let with = |field: &str, v: Value| {
            let mut body = good();
            body[field] = v;
            body
        };
        let admin = ADMIN_PEER;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("public_key", json!("abc")),
            400,
            Msg::Body("invalid public key"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("public_key", json!("A".repeat(44))),
            400,
            Msg::Body("invalid public key"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("name", json!("")),
            400,
            Msg::Body("invalid hostname"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("name", json!("a".repeat(64))),
            400,
            Msg::Body("invalid hostname"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("name", json!("Upper")),
            400,
            Msg::Body("invalid hostname"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("name", json!("-dash")),
            400,
            Msg::Body("invalid hostname"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("ip", json!("not-an-ip")),
            400,
            Msg::Body(""),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("endpoint", json!("nowhere")),
            400,
            Msg::Body("invalid endpoint"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("candidates", json!(["x:y"])),
            400,
            Msg::Body("invalid endpoint"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("is_admin", json!("yes")),
            400,
            Msg::Body(""),
        )
        .await;
        let mut missing = good();
        missing
            .as_object_mut()
            .expect("object")
            .remove("is_redeemed");
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            missing,
            400,
            Msg::Body("missing field `is_redeemed`"),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("cidr_id", json!(99)),
            404,
            Msg::Is("CIDR 99 does not exist".into()),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("cidr_id", json!(INFRA.0)),
            400,
            Msg::Is(
                "the infra CIDR \"innernet-server\" holds only the server; choose another CIDR"
                    .into(),
            ),
        )
        .await;
        check_refused(
            &h,
            admin,
            Method::POST,
            p,
            with("cidr_id", json!(ROOT.0)),
            400,
            Msg::Is("peers can only be added to leaf CIDRs; \"test\" has child CIDRs".into()),
        )
        .await;
        for taken in [key_for(DEVELOPER1), key_for(SERVER)] {
            let body = with("public_key", json!(taken.to_base64()));
            check_refused(
                &h,
                admin,
                Method::POST,
                p,
                body,
                400,
                Msg::Is("a peer with this public key already exists".into()),
            )
            .await;
        }

        let path = format!("/v1/admin/peers/{DEVELOPER2}");
        let mut rename = serde_json::to_value(&h.fixture.peer(DEVELOPER2).contents).expect("json");
        rename["name"] = json!("developer1");
        let taken = Msg::Is("a peer named \"developer1\" already exists".into());
        check_refused(&h, admin, Method::PUT, &path, rename.clone(), 400, taken).await;
        rename["name"] = json!("no spaces");
        check_refused(
            &h,
            admin,
            Method::PUT,
            &path,
            rename.clone(),
            400,
            Msg::Body("invalid hostname"),
        )
        .await;
        rename["name"] = json!("developer2");
        check_refused(
            &h,
            admin,
            Method::PUT,
            "/v1/admin/peers/77",
            rename,
            404,
            Msg::Is("peer 77 does not exist".into()),
        )
        .await;
    }
}
