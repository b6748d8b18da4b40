//! Who may call what: every route × every kind of caller (compat §1.3, §1.5), for IPv4 and
//! IPv6, plus the header and source-address rules of compat §11.2 scenarios 2, 3 and 6.

use axum::http::Method;
use serde_json::{json, Value};
use wiremesh_shared::fixture::{key_for, Family};
use wiremesh_shared::PeerId;

use crate::support::api::*;

/// The kinds of caller a request can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    WrongKey,
    MissingKey,
    GarbageKey,
    ShortKey,
    NonAsciiKey,
    UnknownIp,
    Disabled,
    ExpiredInvite,
    User,
    Admin,
    /// Last: a successful redeem turns it into a user.
    Invite,
}

const CALLERS: [Caller; 11] = [
    Caller::WrongKey,
    Caller::MissingKey,
    Caller::GarbageKey,
    Caller::ShortKey,
    Caller::NonAsciiKey,
    Caller::UnknownIp,
    Caller::Disabled,
    Caller::ExpiredInvite,
    Caller::User,
    Caller::Admin,
    Caller::Invite,
];

/// Which sessions a route accepts.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// Any valid session, even an expired invitation's.
    Session,
    /// An enabled invitation not yet redeemed and not expired.
    Redeemable,
    User,
    Admin,
}

fn expected(needs: Needs, caller: Caller, success: u16) -> u16 {
    let allowed = match needs {
        Needs::Session => matches!(
            caller,
            Caller::Admin | Caller::User | Caller::Invite | Caller::ExpiredInvite
        ),
        Needs::Redeemable => caller == Caller::Invite,
        Needs::User => matches!(caller, Caller::Admin | Caller::User),
        Needs::Admin => caller == Caller::Admin,
    };
    if allowed {
        success
    } else {
        401
    }
}

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    needs: Needs,
    success: u16,
}

fn rows(h: &Harness) -> Vec<Row> {
    let row = |method: Method, path: &str, body: Option<Value>, needs, success| Row {
        method,
        path: path.to_owned(),
        body,
        needs,
        success,
    };
    let developer2 = h.fixture.peer(DEVELOPER2);
    let mut renamed = serde_json::to_value(&developer2.contents).expect("peer json");
    renamed["name"] = json!("developer2b");
    let new_peer = h.contents(
        "newpeer",
        h.addr("10.80.64.10", "fd00:1337::2:0:0:10"),
        DEVELOPER,
        new_key(201),
    );
    let experimental = h.family.pick("10.81.0.0/16", "fd00:1337:0:0:4000::/66");
    let developer_net = h.fixture.cidr(DEVELOPER).cidr.to_string();
    vec![
        row(Method::GET, "/v1/user/state", None, Needs::User, 200),
        row(
            Method::GET,
            "/v1/user/capabilities",
            None,
            Needs::Session,
            200,
        ),
        row(
            Method::POST,
            "/v1/user/redeem",
            Some(json!({"public_key": new_key(200).to_base64()})),
            Needs::Redeemable,
            204,
        ),
        row(
            Method::PUT,
            "/v1/user/endpoint",
            Some(json!({"option": "Set", "content": "198.51.100.7:51820"})),
            Needs::User,
            204,
        ),
        row(
            Method::PUT,
            "/v1/user/candidates",
            Some(json!(["192.168.1.20:51820"])),
            Needs::User,
            204,
        ),
        row(Method::GET, "/v1/admin/peers", None, Needs::Admin, 200),
        row(
            Method::POST,
            "/v1/admin/peers",
            Some(serde_json::to_value(&new_peer).expect("json")),
            Needs::Admin,
            201,
        ),
        row(
            Method::PUT,
            &format!("/v1/admin/peers/{}", DEVELOPER2),
            Some(renamed),
            Needs::Admin,
            204,
        ),
        row(
            Method::DELETE,
            &format!("/v1/admin/peers/{}", DEVELOPER2),
            None,
            Needs::Admin,
            204,
        ),
        row(Method::GET, "/v1/admin/cidrs", None, Needs::Admin, 200),
        row(
            Method::POST,
            "/v1/admin/cidrs",
            Some(json!({"name": "experimental", "cidr": experimental, "parent": ROOT.0})),
            Needs::Admin,
            201,
        ),
        row(
            Method::PUT,
            &format!("/v1/admin/cidrs/{}", DEVELOPER),
            Some(json!({"name": "devs", "cidr": developer_net, "parent": ROOT.0})),
            Needs::Admin,
            204,
        ),
        row(
            Method::DELETE,
            "/v1/admin/cidrs/999",
            None,
            Needs::Admin,
            204,
        ),
        row(
            Method::GET,
            "/v1/admin/associations",
            None,
            Needs::Admin,
            200,
        ),
        row(
            Method::POST,
            "/v1/admin/associations",
            Some(json!({"cidr_id_1": ADMIN.0, "cidr_id_2": DEVELOPER.0})),
            Needs::Admin,
            201,
        ),
        row(
            Method::DELETE,
            "/v1/admin/associations/999",
            None,
            Needs::Admin,
            204,
        ),
    ]
}

/// The harness plus one peer of each extra kind.
struct Callers {
    h: Harness,
    invite: PeerId,
    expired: PeerId,
    disabled: PeerId,
}

fn setup(family: Family) -> Callers {
    let h = Harness::new(family);
    let invite = h
        .add_invite(
            "invitee",
            h.addr("10.80.128.10", "fd00:1337::8000:0:0:10"),
            new_key(210),
            100,
        )
        .id;
    let expired = h
        .add_invite(
            "expired",
            h.addr("10.80.128.11", "fd00:1337::8000:0:0:11"),
            new_key(211),
            -100,
        )
        .id;
    let contents = h.contents(
        "gone",
        h.addr("10.80.128.12", "fd00:1337::8000:0:0:12"),
        USER,
        new_key(212),
    );
    let disabled = h.service.create_peer(contents).expect("create peer").id;
    h.service.set_disabled(disabled, true).expect("disable");
    Callers {
        h,
        invite,
        expired,
        disabled,
    }
}

async fn call(c: &Callers, row: &Row, caller: Caller) -> Resp {
    let h = &c.h;
    let by = |id: PeerId| h.ip(id);
    let source = match caller {
        Caller::UnknownIp => h.addr("10.80.200.200", "fd00:1337::9999:0:0:1"),
        Caller::Disabled => by(c.disabled),
        Caller::ExpiredInvite => by(c.expired),
        Caller::Invite => by(c.invite),
        Caller::User => h.ip(DEVELOPER1),
        _ => h.ip(ADMIN_PEER),
    };
    let mut req = h.req_from(source, row.method.clone(), &row.path);
    req = match caller {
        Caller::WrongKey => req.key(key_for(ADMIN_PEER).to_base64()),
        Caller::MissingKey => req.no_key(),
        Caller::GarbageKey => req.key("!!!"),
        Caller::ShortKey => req.key("AAAAAAAA"),
        Caller::NonAsciiKey => req.key(b"\xc3\xa9AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        _ => req,
    };
    if let Some(body) = &row.body {
        req = req.json(body.clone());
    }
    req.send().await
}

#[tokio::test]
async fn every_route_for_every_caller() {
    let mut checked = 0;
    for family in Family::BOTH {
        let n_rows = rows(&Harness::new(family)).len();
        assert_eq!(n_rows, 16, "the route table of compat §1.5");
        for index in 0..n_rows {
            // A fresh network per route, so one route's success cannot affect another's.
            let callers = setup(family);
            let row = rows(&callers.h).swap_remove(index);
            for caller in CALLERS {
                let response = call(&callers, &row, caller).await;
                let want = expected(row.needs, caller, row.success);
                assert_eq!(
                    response.status.as_u16(),
                    want,
                    "{family:?} {caller:?} {} {}: {}",
                    row.method,
                    row.path,
                    response.text()
                );
                if want == 401 {
                    assert!(!response.error().is_empty());
                } else if row.success == 200
                    || (row.success == 201 && !row.path.ends_with("associations"))
                {
                    assert_eq!(response.content_type(), "application/json");
                } else {
                    assert!(
                        response.body.is_empty(),
                        "{} {} has a body",
                        row.method,
                        row.path
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 16 * CALLERS.len());
}

#[tokio::test]
async fn server_key_messages() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let get = || h.req(ADMIN_PEER, Method::GET, "/v1/user/state");
        let cases: [(Resp, &str); 5] = [
            (
                get().no_key().send().await,
                "missing X-Innernet-Server-Key header",
            ),
            (
                get().key("!!!").send().await,
                "the X-Innernet-Server-Key header is not a base64 WireGuard key",
            ),
            (
                get().key(b"\xff").send().await,
                "the X-Innernet-Server-Key header is not ASCII",
            ),
            (
                get().key(key_for(DEVELOPER1).to_base64()).send().await,
                "the X-Innernet-Server-Key header does not name this server",
            ),
            (
                get().key(&server_key().to_base64()[..43]).send().await,
                "the X-Innernet-Server-Key header is not a base64 WireGuard key",
            ),
        ];
        for (response, message) in cases {
            response.expect(401);
            assert_eq!(response.error(), message);
        }
    }
}

/// Scenario 2: proxy headers naming the admin's address do not make an unknown caller admin.
#[tokio::test]
async fn forwarded_headers_are_ignored() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let admin = h.ip(ADMIN_PEER).to_string();
        let unknown = h.addr("10.80.200.200", "fd00:1337::9999:0:0:1");
        for (name, value) in [
            ("forwarded", format!("for=\"{admin}\"")),
            ("x-forwarded-for", admin.clone()),
            ("x-real-ip", admin.clone()),
        ] {
            let response = h
                .req_from(unknown, Method::GET, "/v1/admin/peers")
                .header(name, &value)
                .send()
                .await;
            response.expect(401);
            assert_eq!(
                response.error(),
                "unauthorized: no peer has this source address"
            );
        }
        // And a user cannot claim to be the admin either.
        let response = h
            .req(DEVELOPER1, Method::GET, "/v1/admin/peers")
            .header("x-forwarded-for", &admin)
            .send()
            .await;
        response.expect(401);
        assert_eq!(response.error(), "unauthorized: this peer is not an admin");
    }
}

/// Scenarios 3 and 6, and the session rules for disabled and unredeemed callers.
#[tokio::test]
async fn session_messages() {
    for family in Family::BOTH {
        let c = setup(family);
        let h = &c.h;
        let state = |ip| h.req_from(ip, Method::GET, "/v1/user/state");
        let r = state(h.addr("10.80.200.200", "fd00:1337::9999:0:0:1"))
            .send()
            .await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: no peer has this source address"
        );
        let r = state(h.ip(c.disabled)).send().await;
        assert_eq!(r.expect(401).error(), "unauthorized: this peer is disabled");
        let r = state(h.ip(c.invite)).send().await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: this peer has not redeemed its invitation yet"
        );
        let r = h
            .req(ADMIN_PEER, Method::POST, "/v1/user/redeem")
            .json(json!({"public_key": new_key(9).to_base64()}))
            .send()
            .await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: this invitation was already redeemed"
        );
        let r = h
            .req_from(h.ip(c.expired), Method::POST, "/v1/user/redeem")
            .json(json!({"public_key": new_key(9).to_base64()}))
            .send()
            .await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: this invitation has expired"
        );
        // An IPv4-mapped IPv6 source is the IPv4 peer.
        if family == Family::V4 {
            let mapped = match h.ip(DEVELOPER1) {
                std::net::IpAddr::V4(v4) => std::net::IpAddr::V6(v4.to_ipv6_mapped()),
                v6 => v6,
            };
            state(mapped).send().await.expect(200);
        }
    }
}
