//! `/v1/admin/cidrs` and `/v1/admin/associations`: compat §11.2 scenarios 19–21 for IPv4 and
//! IPv6, and every CIDR and association validation rule (status, message, nothing changed).

use axum::http::Method;
use ipnet::IpNet;
use serde_json::{json, Value};
use wiremesh_shared::fixture::Family;
use wiremesh_shared::wire::{Association, Cidr};
use wiremesh_shared::CidrId;

use crate::support::api::*;

fn post<'h>(h: &'h Harness, path: &str, body: Value) -> Req<'h> {
    h.req(ADMIN_PEER, Method::POST, path).json(body)
}

fn value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("json")
}

fn cidr_body(name: &str, net: &str, parent: Option<CidrId>) -> Value {
    json!({"name": name, "cidr": net, "parent": parent.map(|p| p.0)})
}

/// Scenario 19: creating CIDRs.
#[tokio::test]
async fn create_cidrs() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let f = family;
        let experimental = f.pick("10.81.0.0/16", "fd00:1337:0:0:4000::/66");
        let body = cidr_body("experimental", experimental, Some(ROOT));
        let r = post(&h, "/v1/admin/cidrs", body.clone()).send().await;
        r.expect(201);
        assert_eq!(r.content_type(), "application/json");
        let cidr: Cidr = r.json();
        assert_eq!(cidr.id, CidrId(6));
        assert_eq!(value(&cidr.contents), body);
        assert_eq!(h.reopen().cidrs.len(), 6);

        let other = f.pick("10.80.32.0/24", "fd00:1337:0:0:3::/80");
        let cases = [
            (
                cidr_body("experimental", other, Some(ROOT)),
                "a CIDR named \"experimental\" already exists".to_owned(),
            ),
            (
                cidr_body("sub", f.pick("10.80.1.0/25", "fd00:1337:0:0:1::/81"), Some(ROOT)),
                format!(
                    "CIDR {} must have \"admin\" ({}) as its parent, the closest CIDR containing it",
                    f.pick("10.80.1.0/25", "fd00:1337:0:0:1::/81"),
                    h.fixture.cidr(ADMIN).cidr
                ),
            ),
            (
                cidr_body("wide", f.pick("10.80.0.0/21", "fd00:1337::/65"), Some(ROOT)),
                format!(
                    "CIDR {} overlaps its sibling \"innernet-server\" ({})",
                    f.pick("10.80.0.0/21", "fd00:1337::/65"),
                    h.fixture.cidr(INFRA).cidr
                ),
            ),
        ];
        for (body, message) in cases {
            let before = h.reopen();
            let r = post(&h, "/v1/admin/cidrs", body).send().await;
            assert_eq!(r.expect(400).error(), message);
            assert_eq!(h.reopen(), before);
        }
        let r = h
            .req(DEVELOPER1, Method::POST, "/v1/admin/cidrs")
            .json(cidr_body("x", other, Some(ROOT)))
            .send()
            .await;
        r.expect(401);
        let listing: Vec<Cidr> = h
            .req(ADMIN_PEER, Method::GET, "/v1/admin/cidrs")
            .send()
            .await
            .expect(200)
            .json();
        assert_eq!(listing.len(), 6);
        // Renaming changes only the name.
        let path = format!("/v1/admin/cidrs/{}", cidr.id);
        let rename = cidr_body("lab", other, None);
        h.req(ADMIN_PEER, Method::PUT, &path)
            .json(rename)
            .send()
            .await
            .expect(204);
        let stored = h
            .reopen()
            .cidrs
            .into_iter()
            .find(|c| c.id == cidr.id)
            .expect("cidr");
        assert_eq!(
            (
                stored.name.as_str(),
                stored.cidr.to_string().as_str(),
                stored.parent
            ),
            ("lab", experimental, Some(ROOT))
        );
    }
}

/// Scenario 20: deleting CIDRs.
#[tokio::test]
async fn delete_cidrs() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let f = family;
        let parent: Cidr = post(
            &h,
            "/v1/admin/cidrs",
            cidr_body(
                "experimental",
                f.pick("10.81.0.0/16", "fd00:1337:0:0:4000::/66"),
                Some(ROOT),
            ),
        )
        .send()
        .await
        .expect(201)
        .json();
        let child: Cidr = post(
            &h,
            "/v1/admin/cidrs",
            cidr_body(
                "sub",
                f.pick("10.81.0.0/17", "fd00:1337:0:0:4000::/67"),
                Some(parent.id),
            ),
        )
        .send()
        .await
        .expect(201)
        .json();
        let delete =
            |id: CidrId| h.req(ADMIN_PEER, Method::DELETE, &format!("/v1/admin/cidrs/{id}"));
        let cases = [
            (parent.id, "CIDR \"experimental\" still has 1 child CIDR(s); delete them first"),
            (DEVELOPER, "CIDR \"developer\" still holds 2 peer(s) (disabled and invited ones count too)"),
            (ROOT, "CIDR \"test\" is the root CIDR of the network and cannot be deleted"),
            (INFRA, "CIDR \"innernet-server\" is the infra CIDR (it holds the server) of the network and cannot be deleted"),
        ];
        for (id, message) in cases {
            let before = h.reopen();
            assert_eq!(delete(id).send().await.expect(400).error(), message);
            assert_eq!(h.reopen(), before);
        }
        h.req(
            DEVELOPER1,
            Method::DELETE,
            &format!("/v1/admin/cidrs/{}", child.id),
        )
        .send()
        .await
        .expect(401);
        assert!(delete(child.id).send().await.expect(204).body.is_empty());
        delete(parent.id).send().await.expect(204);
        delete(CidrId(999)).send().await.expect(204);
        assert_eq!(h.reopen().cidrs, h.fixture.cidrs);
    }
}

/// Scenario 21: associations, in either orientation, only between existing CIDRs.
#[tokio::test]
async fn associations() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let assoc = |a: i64, b: i64| {
            post(
                &h,
                "/v1/admin/associations",
                json!({"cidr_id_1": a, "cidr_id_2": b}),
            )
        };
        let r = assoc(ADMIN.0, DEVELOPER.0).send().await;
        assert!(
            r.expect(201).body.is_empty(),
            "innernet answers 201 with no body"
        );
        for (a, b, message) in [
            (
                ADMIN.0,
                DEVELOPER.0,
                "an association between these CIDRs already exists",
            ),
            (
                DEVELOPER.0,
                ADMIN.0,
                "an association between these CIDRs already exists",
            ),
            (ADMIN.0, ADMIN.0, "a CIDR cannot be associated with itself"),
            (ADMIN.0, 6, "CIDR id 6 does not exist"),
        ] {
            let before = h.reopen();
            assert_eq!(assoc(a, b).send().await.expect(400).error(), message);
            assert_eq!(h.reopen(), before);
        }
        post(
            &h,
            "/v1/admin/cidrs",
            cidr_body(
                "experimental",
                family.pick("10.81.0.0/16", "fd00:1337:0:0:4000::/66"),
                Some(ROOT),
            ),
        )
        .send()
        .await
        .expect(201);
        assoc(ADMIN.0, 6).send().await.expect(201);
        let listing: Vec<Association> = h
            .req(ADMIN_PEER, Method::GET, "/v1/admin/associations")
            .send()
            .await
            .expect(200)
            .json();
        let pairs: Vec<(i64, i64)> = listing
            .iter()
            .map(|a| (a.cidr_id_1.0, a.cidr_id_2.0))
            .collect();
        assert_eq!(pairs, vec![(ADMIN.0, DEVELOPER.0), (ADMIN.0, 6)]);
        // A CIDR in an association cannot be deleted until the association is.
        let r = h
            .req(ADMIN_PEER, Method::DELETE, "/v1/admin/cidrs/6")
            .send()
            .await;
        assert_eq!(
            r.expect(400).error(),
            "CIDR \"experimental\" is part of 1 association(s); delete them first"
        );
        let second = listing[1].id;
        h.req(
            DEVELOPER1,
            Method::DELETE,
            &format!("/v1/admin/associations/{second}"),
        )
        .send()
        .await
        .expect(401);
        assert!(h
            .req(
                ADMIN_PEER,
                Method::DELETE,
                &format!("/v1/admin/associations/{second}")
            )
            .send()
            .await
            .expect(204)
            .body
            .is_empty());
        h.req(ADMIN_PEER, Method::DELETE, "/v1/admin/associations/999")
            .send()
            .await
            .expect(204);
        h.req(ADMIN_PEER, Method::DELETE, "/v1/admin/cidrs/6")
            .send()
            .await
            .expect(204);
        assert_eq!(h.reopen().associations.len(), 1);
    }
}

#[tokio::test]
async fn cidr_rules() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let f = family;
        let a = ADMIN_PEER;
        let p = "/v1/admin/cidrs";
        let body = |name: &str, net: &str, parent: Option<i64>| json!({"name": name, "cidr": net, "parent": parent});
        let fresh = f.pick("10.81.0.0/16", "fd00:1337:0:0:4000::/66");
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("", fresh, Some(1)),
            400,
            Msg::Is("invalid CIDR name \"\": it is empty".into()),
        )
        .await;
        let spaced = Msg::Is(
            "invalid CIDR name \"a b\": it contains whitespace or control characters".into(),
        );
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("a b", fresh, Some(1)),
            400,
            spaced,
        )
        .await;
        let long = "x".repeat(64);
        let too_long = Msg::Is(format!("invalid CIDR name {long:?}: longer than 63 bytes"));
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body(&long, fresh, Some(1)),
            400,
            too_long,
        )
        .await;
        let host_bits = f.pick("10.81.0.1/16", "fd00:1337::4000:0:0:1/66");
        let net: IpNet = host_bits.parse().expect("net");
        let msg = Msg::Is(format!(
            "invalid CIDR {net}: host bits are set, did you mean {}?",
            net.trunc()
        ));
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("lab", host_bits, Some(1)),
            400,
            msg,
        )
        .await;
        let developer = h.fixture.cidr(DEVELOPER).cidr;
        let msg = Msg::Is(format!(
            "CIDR {developer} already exists (named \"developer\")"
        ));
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("lab", &developer.to_string(), Some(1)),
            400,
            msg,
        )
        .await;
        let root = h.fixture.cidr(ROOT).cidr;
        let outside = f.pick("10.90.0.0/16", "fd01::/64");
        let msg = Msg::Is(format!(
            "the network already has a root CIDR ({root}); give the new CIDR a parent"
        ));
        check_refused(&h, a, Method::POST, p, body("lab", outside, None), 400, msg).await;
        let msg = Msg::Is("parent CIDR id 99 does not exist".into());
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("lab", fresh, Some(99)),
            400,
            msg,
        )
        .await;
        let msg = Msg::Is(format!(
            "CIDR {outside} is not inside its parent \"developer\" ({developer})"
        ));
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("lab", outside, Some(DEVELOPER.0)),
            400,
            msg,
        )
        .await;
        let half = f.pick("10.80.64.0/25", "fd00:1337:0:0:2::/81");
        let msg = Msg::Is(
            "CIDR \"developer\" holds 2 peer(s), so it cannot get child CIDRs; peers live in leaf CIDRs only".into(),
        );
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("lab", half, Some(DEVELOPER.0)),
            400,
            msg,
        )
        .await;
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            body("lab", "banana", Some(1)),
            400,
            Msg::Body(""),
        )
        .await;
        check_refused(
            &h,
            a,
            Method::POST,
            p,
            json!({"name": "lab", "parent": 1}),
            400,
            Msg::Body("missing field `cidr`"),
        )
        .await;

        let put = format!("/v1/admin/cidrs/{DEVELOPER}");
        let dev_net = developer.to_string();
        let msg = Msg::Is("a CIDR named \"admin\" already exists".into());
        check_refused(
            &h,
            a,
            Method::PUT,
            &put,
            body("admin", &dev_net, Some(1)),
            400,
            msg,
        )
        .await;
        let msg = Msg::Is("invalid CIDR name \"\": it is empty".into());
        check_refused(
            &h,
            a,
            Method::PUT,
            &put,
            body("", &dev_net, Some(1)),
            400,
            msg,
        )
        .await;
        let msg = Msg::Is("CIDR 99 does not exist".into());
        check_refused(
            &h,
            a,
            Method::PUT,
            "/v1/admin/cidrs/99",
            body("lab", &dev_net, Some(1)),
            404,
            msg,
        )
        .await;
        check_refused(
            &h,
            a,
            Method::PUT,
            &put,
            json!({"name": "lab"}),
            400,
            Msg::Body("missing field `cidr`"),
        )
        .await;
    }
}

#[tokio::test]
async fn association_rules() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let p = "/v1/admin/associations";
        let msg = Msg::Is("CIDR id 99 does not exist".into());
        check_refused(
            &h,
            ADMIN_PEER,
            Method::POST,
            p,
            json!({"cidr_id_1": 99, "cidr_id_2": 3}),
            400,
            msg,
        )
        .await;
        let msg = Msg::Is("a CIDR cannot be associated with itself".into());
        check_refused(
            &h,
            ADMIN_PEER,
            Method::POST,
            p,
            json!({"cidr_id_1": 3, "cidr_id_2": 3}),
            400,
            msg,
        )
        .await;
        let msg = Msg::Body("missing field `cidr_id_2`");
        check_refused(
            &h,
            ADMIN_PEER,
            Method::POST,
            p,
            json!({"cidr_id_1": 3}),
            400,
            msg,
        )
        .await;
        let msg = Msg::Body("invalid type");
        check_refused(
            &h,
            ADMIN_PEER,
            Method::POST,
            p,
            json!({"cidr_id_1": "3", "cidr_id_2": 4}),
            400,
            msg,
        )
        .await;
    }
}
