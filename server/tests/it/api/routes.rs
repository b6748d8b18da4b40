//! The route routes over the in-process router: a gateway offers, an admin approves (or an
//! auto-approval does), the peers that see the gateway receive the routes in their `/v2`
//! answers (and long polls wake), offers that break the rules are refused with a message and
//! change nothing, and a withdrawn offer leaves every answer.

use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use wiremesh_shared::fixture::Family;
use wiremesh_shared::routes::{Route, RouteBook, RouteKind, RouteView};
use wiremesh_shared::wire::{StateDelta, ROUTES_FEATURE};
use wiremesh_shared::PeerId;

use crate::support::api::*;

async fn full_state(h: &Harness, peer: PeerId) -> StateDelta {
    h.req(peer, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json()
}

async fn routes_of(h: &Harness, peer: PeerId) -> RouteView {
    full_state(h, peer)
        .await
        .routes
        .expect("a full answer carries the routes")
}

/// A LAN behind a gateway, in the family of the harness.
fn lan(h: &Harness) -> &'static str {
    match h.family {
        Family::V4 => "192.168.10.0/24",
        Family::V6 => "fd10:10::/64",
    }
}

#[tokio::test]
async fn an_offer_is_approved_and_reaches_the_peers_that_see_the_gateway() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let capabilities: serde_json::Value = h
            .req(DEVELOPER2, Method::GET, "/v1/user/capabilities")
            .send()
            .await
            .expect(200)
            .json();
        assert!(capabilities.to_string().contains(ROUTES_FEATURE));

        let offered: Vec<Route> = h
            .req(DEVELOPER1, Method::PUT, "/v2/user/routes")
            .json(json!({"routes": [lan(&h)], "exit": true}))
            .send()
            .await
            .expect(200)
            .json();
        assert_eq!(offered.len(), 2);
        assert!(offered.iter().all(|r| !r.approved));
        assert_eq!(offered[1].contents.kind, RouteKind::Exit);
        // Not approved: nobody receives them; the gateway sees its own offer waiting.
        assert!(routes_of(&h, DEVELOPER2).await.grants.is_empty());
        assert_eq!(routes_of(&h, DEVELOPER1).await.offered, offered);

        // Only admins approve.
        h.req(DEVELOPER2, Method::PUT, "/v2/admin/peers/3/routes/approval")
            .json(json!({"approved": true}))
            .send()
            .await
            .expect(401);
        let before = full_state(&h, DEVELOPER2).await;
        let path = format!(
            "/v2/user/state?epoch={}&revision={}&wait=30",
            before.epoch, before.revision
        );
        let poll = h.req(DEVELOPER2, Method::GET, &path).send();
        let approve = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            h.req(ADMIN_PEER, Method::PUT, "/v2/admin/peers/3/routes/approval")
                .json(json!({"approved": true}))
                .send()
                .await
        };
        let (woken, approved) = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(poll, approve)
        })
        .await
        .expect("the approval wakes the poll");
        let approved: Vec<Route> = approved.expect(200).json();
        assert!(approved.iter().all(|r| r.approved));
        let woken: StateDelta = woken.expect(200).json();
        let grants = woken.routes.expect("the new routes").grants;
        assert_eq!(grants.len(), 2, "{grants:?}");
        assert!(grants.iter().all(|g| g.gateway == DEVELOPER1));

        // user1 does not see developer1 until an association says so.
        assert!(routes_of(&h, USER1).await.grants.is_empty());
        h.req(ADMIN_PEER, Method::POST, "/v1/admin/associations")
            .json(json!({"cidr_id_1": USER.0, "cidr_id_2": DEVELOPER.0}))
            .send()
            .await
            .expect(201);
        assert_eq!(routes_of(&h, USER1).await.grants.len(), 2);

        // The /v1 state carries them too (innernet clients ignore the field).
        let v1: serde_json::Value = h
            .req(USER1, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(200)
            .json();
        assert_eq!(v1["routes"]["grants"].as_array().unwrap().len(), 2);

        // A second gateway for the very same network is fine; an overlapping one is not.
        h.req(DEVELOPER2, Method::PUT, "/v2/user/routes")
            .json(json!({"routes": [lan(&h)]}))
            .send()
            .await
            .expect(200);
        let wider = match family {
            Family::V4 => "192.168.0.0/16",
            Family::V6 => "fd10::/16",
        };
        let refused = h
            .req(USER1, Method::PUT, "/v2/user/routes")
            .json(json!({"routes": [wider]}))
            .send()
            .await
            .expect(400)
            .error();
        assert!(refused.contains("developer1"), "{refused}");

        // Withdrawing leaves every answer.
        h.req(DEVELOPER1, Method::PUT, "/v2/user/routes")
            .json(json!({}))
            .send()
            .await
            .expect(200);
        assert!(routes_of(&h, USER1).await.grants.is_empty());
        assert!(routes_of(&h, DEVELOPER1).await.offered.is_empty());
    }
}

#[tokio::test]
async fn bad_offers_are_refused_with_a_message_and_change_nothing() {
    let h = Harness::new(Family::V4);
    let cases = [
        (json!({"routes": ["fd00:10::/64"]}), "same family"),
        (
            json!({"routes": ["192.168.10.1/24"]}),
            "did you mean 192.168.10.0/24",
        ),
        (json!({"routes": ["0.0.0.0/0"]}), "--exit-node"),
        (json!({"routes": ["10.80.64.0/18"]}), "overlaps the mesh"),
        (
            json!({"routes": ["192.168.0.0/16", "192.168.1.0/24"]}),
            "of the same offer overlap",
        ),
        (json!({"routes": ["not a network"]}), ""),
    ];
    for (body, expected) in cases {
        let error = h
            .req(DEVELOPER1, Method::PUT, "/v2/user/routes")
            .json(body.clone())
            .send()
            .await
            .expect(400)
            .error();
        assert!(error.contains(expected), "{body}: {error}");
    }
    assert!(h.service.route_book().routes.is_empty());
    // Approving a network the gateway does not offer is refused.
    h.req(DEVELOPER1, Method::PUT, "/v2/user/routes")
        .json(json!({"routes": ["192.168.10.0/24"]}))
        .send()
        .await
        .expect(200);
    let error = h
        .req(ADMIN_PEER, Method::PUT, "/v2/admin/peers/3/routes/approval")
        .json(json!({"routes": ["192.168.20.0/24"], "approved": true}))
        .send()
        .await
        .expect(400)
        .error();
    assert!(error.contains("does not offer 192.168.20.0/24"), "{error}");
    // The server peer is no gateway.
    h.req(ADMIN_PEER, Method::PUT, "/v2/admin/peers/1/routes")
        .json(json!({"routes": ["192.168.30.0/24"]}))
        .send()
        .await
        .expect(400);
}

#[tokio::test]
async fn an_auto_approval_approves_offers_inside_its_prefixes() {
    let h = Harness::new(Family::V4);
    h.req(
        ADMIN_PEER,
        Method::PUT,
        &format!("/v2/admin/cidrs/{}/auto-approval", DEVELOPER.0),
    )
    .json(json!({"prefixes": ["192.168.0.0/16"]}))
    .send()
    .await
    .expect(204);
    let offered: Vec<Route> = h
        .req(DEVELOPER1, Method::PUT, "/v2/user/routes")
        .json(json!({"routes": ["192.168.10.0/24", "172.20.0.0/16"], "exit": true}))
        .send()
        .await
        .expect(200)
        .json();
    let approved: Vec<(String, bool)> = offered
        .iter()
        .map(|r| (r.contents.net.to_string(), r.approved))
        .collect();
    assert_eq!(
        approved,
        vec![
            ("172.20.0.0/16".to_owned(), false),
            ("192.168.10.0/24".to_owned(), true),
            ("0.0.0.0/0".to_owned(), false),
        ]
    );
    let book: RouteBook = h
        .req(ADMIN_PEER, Method::GET, "/v2/admin/routes")
        .send()
        .await
        .expect(200)
        .json();
    assert_eq!(book.auto.len(), 1);
    assert_eq!(book.routes.len(), 3);
    // Approval that was given stays when the gateway offers again.
    h.req(ADMIN_PEER, Method::PUT, "/v2/admin/peers/3/routes/approval")
        .json(json!({"routes": ["0.0.0.0/0"], "approved": true}))
        .send()
        .await
        .expect(200);
    let again: Vec<Route> = h
        .req(DEVELOPER1, Method::PUT, "/v2/user/routes")
        .json(json!({"routes": ["192.168.10.0/24"], "exit": true}))
        .send()
        .await
        .expect(200)
        .json();
    assert!(again.iter().all(|r| r.approved), "{again:?}");
    // An auto-approval outside the family is refused.
    h.req(
        ADMIN_PEER,
        Method::PUT,
        &format!("/v2/admin/cidrs/{}/auto-approval", DEVELOPER.0),
    )
    .json(json!({"prefixes": ["fd00::/8"]}))
    .send()
    .await
    .expect(400);
}

#[tokio::test]
async fn a_rule_toward_a_route_opens_it_on_its_gateway_only() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let rule = |net: &str| {
            json!({
                "scope": {"cidr": wiremesh_shared::fixture::ROOT.0},
                "source": {"cidr": wiremesh_shared::fixture::USER.0},
                "destination": {"route": net},
                "protocol": "tcp",
                "ports": [[80, 80]],
            })
        };
        // Nobody offers the network yet: refused, nothing stored.
        let err = h
            .req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
            .json(rule(lan(&h)))
            .send()
            .await
            .expect(400)
            .error();
        assert!(err.contains("no gateway offers this network"), "{err}");

        h.req(DEVELOPER1, Method::PUT, "/v2/user/routes")
            .json(json!({"routes": [lan(&h)]}))
            .send()
            .await
            .expect(200);
        h.req(ADMIN_PEER, Method::PUT, "/v2/admin/peers/3/routes/approval")
            .json(json!({"approved": true}))
            .send()
            .await
            .expect(200);
        h.req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
            .json(rule(lan(&h)))
            .send()
            .await
            .expect(201);

        // The gateway's ruleset opens tcp/80 toward the route only; another peer's has no
        // such line.
        let gateway = full_state(&h, DEVELOPER1).await.policy.expect("a ruleset");
        let toward: Vec<_> = gateway
            .allows
            .iter()
            .filter(|a| a.destination == Some(lan(&h).parse().unwrap()))
            .collect();
        assert_eq!(toward.len(), 1, "{gateway:?}");
        let other = full_state(&h, DEVELOPER2).await.policy.expect("a ruleset");
        assert!(
            other.allows.iter().all(|a| a.destination.is_none()),
            "{other:?}"
        );
        // The listing names the destination as written.
        let listing: serde_json::Value = h
            .req(ADMIN_PEER, Method::GET, "/v2/admin/rules")
            .send()
            .await
            .expect(200)
            .json();
        assert!(
            listing
                .to_string()
                .contains(&format!(r#""route":"{}""#, lan(&h))),
            "{listing}"
        );
    }
}
