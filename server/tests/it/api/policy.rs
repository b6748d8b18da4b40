//! The policy routes over the in-process router: dry runs change nothing, rules reach the
//! receivers' `/v2` answers (and wake their long polls), bad rules are refused with a message,
//! reports decide enforcement in the listing, `explain` names the rule or the default.

use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use wiremesh_shared::fixture::Family;
use wiremesh_shared::policy::{HostRuleset, Protocol};
use wiremesh_shared::wire::{
    ClientReport, Enforcement, Explanation, PolicyChange, PolicyListing, PolicyReport, StateDelta,
    POLICY_FEATURE,
};
use wiremesh_shared::PeerId;

use crate::support::api::*;

/// Associates user and developer (as admin); returns the association's id.
async fn associate(h: &Harness) -> i64 {
    h.req(ADMIN_PEER, Method::POST, "/v1/admin/associations")
        .json(json!({"cidr_id_1": USER.0, "cidr_id_2": DEVELOPER.0}))
        .send()
        .await
        .expect(201);
    h.service.associations()[0].id.0
}

fn ssh_rule(association: i64) -> serde_json::Value {
    json!({
        "scope": {"association": association},
        "source": {"cidr": USER.0},
        "destination": {"cidr": DEVELOPER.0},
        "protocol": "tcp",
        "ports": [[22, 22]],
        "note": "ssh for users"
    })
}

async fn full_state(h: &Harness, peer: PeerId) -> StateDelta {
    h.req(peer, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json()
}

#[tokio::test]
async fn a_rule_is_planned_committed_and_reaches_its_receivers() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let association = associate(&h).await;
        let before = full_state(&h, DEVELOPER1).await;
        let open = before
            .policy
            .clone()
            .expect("a full answer carries the ruleset");
        assert!(open.is_open());

        // A dry run plans and changes nothing.
        let plan: PolicyChange = h
            .req(ADMIN_PEER, Method::POST, "/v2/admin/rules?plan=true")
            .json(ssh_rule(association))
            .send()
            .await
            .expect(200)
            .json();
        assert!(!plan.committed);
        assert!(plan.rule.is_none());
        assert!(h.service.model().policy().rules.is_empty());
        let line = plan
            .plan
            .iter()
            .find(|c| {
                c.receivers.contains(&DEVELOPER1)
                    && c.sender == wiremesh_shared::policy::access::Sender::Cidr(USER)
            })
            .expect("users lose access to developers");
        assert_eq!(line.before.to_string(), "everything");
        assert_eq!(line.after.to_string(), "tcp 22");
        // Nobody enforces anything yet: the plan warns.
        assert!(
            plan.warnings[0].contains("do not enforce"),
            "{:?}",
            plan.warnings
        );

        // A long poll of a receiver is woken by the rule.
        let path = format!(
            "/v2/user/state?epoch={}&revision={}&wait=30",
            before.epoch, before.revision
        );
        let poll = h.req(DEVELOPER1, Method::GET, &path).send();
        let add = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            h.req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
                .json(ssh_rule(association))
                .send()
                .await
        };
        let (woken, added) =
            tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(poll, add) })
                .await
                .expect("the rule wakes the poll");
        let change: PolicyChange = added.expect(201).json();
        assert!(change.committed);
        let rule = change.rule.expect("the stored rule");
        assert_eq!(rule.contents.protocol, Protocol::Tcp);
        let woken: StateDelta = woken.expect(200).json();
        let ruleset: HostRuleset = woken.policy.expect("the new ruleset");
        assert_eq!(ruleset.allows.len(), 1);
        assert_eq!(ruleset.allows[0].rule, rule.id);
        assert_eq!(ruleset.restricted.len(), 1);

        // The same rule again is refused; deleting it (after a dry run) opens up again.
        let err = h
            .req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
            .json(ssh_rule(association))
            .send()
            .await
            .expect(400)
            .error();
        assert!(err.contains("identical rule already exists"), "{err}");
        let path = format!("/v2/admin/rules/{}", rule.id);
        let dry: PolicyChange = h
            .req(ADMIN_PEER, Method::DELETE, &format!("{path}?plan=true"))
            .send()
            .await
            .expect(200)
            .json();
        assert!(!dry.committed);
        assert_eq!(h.service.model().policy().rules.len(), 1);
        h.req(ADMIN_PEER, Method::DELETE, &path)
            .send()
            .await
            .expect(200);
        assert!(full_state(&h, DEVELOPER1).await.policy.unwrap().is_open());
        h.req(ADMIN_PEER, Method::DELETE, &path)
            .send()
            .await
            .expect(404);
    }
}

#[tokio::test]
async fn bad_rules_get_clear_errors_and_change_nothing() {
    let h = Harness::new(Family::V4);
    let association = associate(&h).await;
    let revision = h.service.model().revision();
    let cases = [
        (json!({"protocol": "sctp"}), "unknown variant"),
        (json!({"protocol": "icmp"}), "cannot name ports"),
        (json!({"ports": [[0, 22]]}), "port 0"),
        (json!({"ports": [[80, 22]]}), "lower port"),
        (json!({"source": {"cidr": ADMIN.0}}), "outside its scope"),
        (
            json!({"scope": {"association": 99}}),
            "association id 99 does not exist",
        ),
        (
            json!({"destination": {"peer": 99}}),
            "peer id 99 does not exist",
        ),
        (json!({"colour": "red"}), "unknown field"),
    ];
    for (patch, expected) in cases {
        let mut body = ssh_rule(association);
        for (key, value) in patch.as_object().unwrap() {
            body[key] = value.clone();
        }
        let err = h
            .req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
            .json(body)
            .send()
            .await
            .expect(400)
            .error();
        assert!(err.contains(expected), "{patch}: {err}");
    }
    assert_eq!(h.service.model().revision(), revision);
    // Only admins.
    h.req(DEVELOPER1, Method::POST, "/v2/admin/rules")
        .json(ssh_rule(association))
        .send()
        .await
        .expect(401);
    h.req(DEVELOPER1, Method::GET, "/v2/admin/rules")
        .send()
        .await
        .expect(401);
}

#[tokio::test]
async fn what_rules_name_cannot_be_deleted_under_them() {
    let h = Harness::new(Family::V6);
    let association = associate(&h).await;
    h.req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
        .json(ssh_rule(association))
        .send()
        .await
        .expect(201);
    let err = h
        .req(
            ADMIN_PEER,
            Method::DELETE,
            &format!("/v1/admin/associations/{association}"),
        )
        .send()
        .await
        .expect(400)
        .error();
    assert!(
        err.contains("still named by 1 policy rule(s) (rule 1)"),
        "{err}"
    );
    assert_eq!(h.service.associations().len(), 1);
}

#[tokio::test]
async fn reports_listing_isolation_and_explain() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let caps: wiremesh_shared::wire::ServerCapabilities = h
            .req(USER1, Method::GET, "/v1/user/capabilities")
            .send()
            .await
            .expect(200)
            .json();
        assert!(caps
            .wiremesh
            .unwrap()
            .features
            .iter()
            .any(|f| f == POLICY_FEATURE));
        let association = associate(&h).await;
        h.req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
            .json(ssh_rule(association))
            .send()
            .await
            .expect(201);
        let digest = full_state(&h, DEVELOPER1).await.policy.unwrap().digest();
        let report = |policy: PolicyReport| {
            serde_json::to_value(ClientReport {
                version: "0.1.0".into(),
                features: vec![POLICY_FEATURE.into()],
                policy,
            })
            .unwrap()
        };
        h.req(DEVELOPER1, Method::POST, "/v2/user/report")
            .json(report(PolicyReport::Enforced { digest }))
            .send()
            .await
            .expect(204);
        h.req(DEVELOPER2, Method::POST, "/v2/user/report")
            .json(report(PolicyReport::Enforced {
                digest: "old".into(),
            }))
            .send()
            .await
            .expect(204);
        h.req(USER1, Method::POST, "/v2/user/report")
            .json(report(PolicyReport::Failed {
                digest: "x".into(),
                error: "nft: not found".repeat(200),
            }))
            .send()
            .await
            .expect(204);
        let listing: PolicyListing = h
            .req(ADMIN_PEER, Method::GET, "/v2/admin/rules")
            .send()
            .await
            .expect(200)
            .json();
        let of = |id: PeerId| listing.hosts.iter().find(|x| x.peer == id).unwrap().clone();
        assert_eq!(of(DEVELOPER1).enforcement, Enforcement::Enforced);
        assert!(of(DEVELOPER1).restricted);
        assert_eq!(of(DEVELOPER2).enforcement, Enforcement::Stale);
        let Enforcement::NotEnforced { reason } = of(USER1).enforcement else {
            panic!("a failed host enforces nothing")
        };
        assert!(reason.contains("failed") && reason.len() < 1200, "{reason}");
        assert!(matches!(
            of(USER2).enforcement,
            Enforcement::NotEnforced { .. }
        ));
        assert_eq!(listing.rules.len(), 1);
        // The rule is in the database.
        assert_eq!(h.reopen().policy.rules.len(), 1);

        let explain = |src: PeerId, dst: PeerId, proto: &str, port: u16| {
            let path = format!(
                "/v2/admin/explain?src={}&dst={}&proto={proto}&port={port}",
                h.ip(src),
                h.ip(dst)
            );
            h.req(ADMIN_PEER, Method::GET, &path)
        };
        let e: Explanation = explain(USER1, DEVELOPER1, "tcp", 22)
            .send()
            .await
            .expect(200)
            .json();
        assert!(e.allowed);
        assert_eq!(e.reason, "rule");
        assert_eq!(e.enforcement, Enforcement::Enforced);
        let e: Explanation = explain(USER1, DEVELOPER1, "tcp", 80)
            .send()
            .await
            .expect(200)
            .json();
        assert!(!e.allowed);
        assert_eq!(e.reason, "denied");
        assert_eq!(e.restricted_by.len(), 1);
        let e: Explanation = explain(DEVELOPER2, DEVELOPER1, "udp", 9)
            .send()
            .await
            .expect(200)
            .json();
        assert_eq!(e.reason, "unrestricted");
        let err = explain(USER1, DEVELOPER1, "tcp", 0)
            .send()
            .await
            .expect(400)
            .error();
        assert!(err.contains("port"), "{err}");
        let bad = format!("/v2/admin/explain?src=nowhere&dst={}", h.ip(DEVELOPER1));
        let err = h
            .req(ADMIN_PEER, Method::GET, &bad)
            .send()
            .await
            .expect(400)
            .error();
        assert!(err.contains("src"), "{err}");

        // Isolating developer closes it to its own members.
        let change: PolicyChange = h
            .req(
                ADMIN_PEER,
                Method::PUT,
                &format!("/v2/admin/cidrs/{}/isolation", DEVELOPER.0),
            )
            .json(json!({"isolated": true}))
            .send()
            .await
            .expect(200)
            .json();
        assert!(change.committed);
        let e: Explanation = explain(DEVELOPER2, DEVELOPER1, "udp", 9)
            .send()
            .await
            .expect(200)
            .json();
        assert_eq!(e.reason, "denied");
        let err = h
            .req(
                ADMIN_PEER,
                Method::DELETE,
                &format!("/v1/admin/cidrs/{}", DEVELOPER.0),
            )
            .send()
            .await
            .expect(400)
            .error();
        assert!(
            err.contains("named by") || err.contains("isolated"),
            "{err}"
        );
    }
}
