//! Tests of the route methods of [`Store`]: offers keep their ids and approval across a new
//! offer, withdrawn networks go, changes are structural, approval and auto-approvals round
//! trip as structural changes, and everything survives innernet reopening the file and goes with the gateway.

use ipnet::IpNet;
use wiremesh_shared::fixture::{Family, DEVELOPER, DEVELOPER1, DEVELOPER2};
use wiremesh_shared::routes::{AutoApproval, RouteContentsDraft, RouteKind};
use wiremesh_shared::{PeerId, RouteId};

use super::tests_support::{raw, seeded};
use super::SqliteStore;
use crate::store::{Store, StoreError};

fn subnet(net: &str) -> RouteContentsDraft {
    RouteContentsDraft {
        net: net.parse().unwrap(),
        kind: RouteKind::Subnet,
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn offers_keep_their_ids_withdraw_what_they_leave_out_and_are_structural() {
    let (_dir, mut store, _) = seeded(Family::V4);
    let before = store.revisions().expect("revisions");
    let first = store
        .set_routes(
            DEVELOPER1,
            &[
                (subnet("192.168.10.0/24"), false),
                (subnet("172.31.0.0/16"), true),
            ],
        )
        .expect("offer");
    assert_eq!(first.len(), 2);
    let after = store.revisions().expect("revisions");
    assert!(after.structure > before.structure);

    // The same offer again changes nothing: no revision.
    store
        .set_routes(
            DEVELOPER1,
            &[
                (subnet("192.168.10.0/24"), false),
                (subnet("172.31.0.0/16"), true),
            ],
        )
        .expect("again");
    assert_eq!(store.revisions().expect("revisions").current, after.current);

    // A new offer keeps the network it repeats (and its id), withdraws the other.
    let exit = RouteContentsDraft {
        net: net("0.0.0.0/0"),
        kind: RouteKind::Exit,
    };
    let second = store
        .set_routes(
            DEVELOPER1,
            &[(subnet("172.31.0.0/16"), true), (exit, false)],
        )
        .expect("offer");
    let kept = first
        .iter()
        .find(|r| r.contents.net == net("172.31.0.0/16"))
        .unwrap();
    assert_eq!(second[0], *kept);
    assert_eq!(second[1].contents.kind, RouteKind::Exit);
    assert!(!second[1].approved);

    assert!(store
        .set_route_approval(&[second[1].id], true)
        .expect("approve"));
    assert!(!store
        .set_route_approval(&[second[1].id], true)
        .expect("again"));
    assert!(matches!(
        store.set_route_approval(&[RouteId(999)], true),
        Err(StoreError::NotFound { what: "route", .. })
    ));
    store
        .set_routes(DEVELOPER2, &[(subnet("172.31.0.0/16"), false)])
        .expect("a second gateway for the same network");
    let snapshot = store.snapshot().expect("snapshot");
    assert_eq!(snapshot.routes.routes.len(), 3);
    assert!(snapshot
        .routes
        .routes
        .iter()
        .all(|r| r.approved || r.contents.gateway == DEVELOPER2));

    assert!(matches!(
        store.set_routes(PeerId(99), &[(subnet("10.9.0.0/16"), false)]),
        Err(StoreError::NotFound { what: "peer", .. })
    ));
    store.set_routes(DEVELOPER1, &[]).expect("withdraw");
    let snapshot = store.snapshot().expect("snapshot");
    assert_eq!(snapshot.routes.routes.len(), 1);
    assert!(store.integrity_check().expect("integrity"));
}

#[test]
fn auto_approvals_round_trip_as_structural_changes() {
    let (_dir, mut store, _) = seeded(Family::V6);
    let revision = store.revisions().expect("revisions").current;
    let approval = AutoApproval {
        cidr: DEVELOPER,
        prefixes: vec![net("fd10::/32"), net("fd20::/48")],
        exit: true,
    };
    assert!(store.set_auto_approval(&approval).expect("set"));
    assert!(!store.set_auto_approval(&approval).expect("again"));
    assert_eq!(
        store.snapshot().expect("snapshot").routes.auto,
        vec![approval.clone()]
    );
    let after = store.revisions().expect("revisions");
    assert!(after.structure > revision);
    assert_eq!(after.structure, after.current);
    let none = AutoApproval {
        cidr: DEVELOPER,
        prefixes: vec![],
        exit: false,
    };
    assert!(store.set_auto_approval(&none).expect("remove"));
    assert!(!store.set_auto_approval(&none).expect("nothing to remove"));
    assert!(store.snapshot().expect("snapshot").routes.auto.is_empty());
    assert!(matches!(
        store.set_auto_approval(&AutoApproval {
            cidr: wiremesh_shared::CidrId(99),
            ..approval
        }),
        Err(StoreError::NotFound { what: "CIDR", .. })
    ));
}

#[test]
fn routes_survive_innernet_and_go_with_their_cidr() {
    let (dir, mut store, _) = seeded(Family::V4);
    let path = dir.path().join("net.db");
    store
        .set_routes(DEVELOPER1, &[(subnet("192.168.10.0/24"), true)])
        .expect("offer");
    store
        .set_auto_approval(&AutoApproval {
            cidr: DEVELOPER,
            prefixes: vec![net("192.168.0.0/16")],
            exit: false,
        })
        .expect("auto");
    drop(store);
    // innernet-server 2.0.0 opens the file (user_version back to 2): the migrations run
    // again and keep what they find.
    let conn = raw(&path);
    conn.execute_batch("PRAGMA user_version = 2;")
        .expect("downgrade");
    drop(conn);
    let mut store = SqliteStore::open(&path).expect("reopen");
    let snapshot = store.snapshot().expect("snapshot");
    assert_eq!(snapshot.routes.routes.len(), 1);
    assert_eq!(snapshot.routes.auto.len(), 1);
    drop(store);
    // Deleting the gateway (innernet deletes expired invitations) takes its routes along;
    // deleting the CIDR takes its auto-approval along.
    let conn = raw(&path);
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; \
         DELETE FROM associations WHERE cidr_id_1 = 4 OR cidr_id_2 = 4; \
         DELETE FROM peers WHERE cidr_id = 4; DELETE FROM cidrs WHERE id = 4;",
    )
    .expect("delete the gateway and its CIDR");
    drop(conn);
    let mut store = SqliteStore::open(&path).expect("reopen");
    let snapshot = store.snapshot().expect("snapshot");
    assert!(snapshot.routes.routes.is_empty());
    assert!(snapshot.routes.auto.is_empty());
}
