//! Tests of the policy methods of [`Store`]: rules and isolation round-trip through the
//! snapshot as structural changes, survive innernet reopening the file, and go with what they
//! name when innernet (or an expiring invitation) deletes it; clients' reports round-trip.

use std::time::{Duration, SystemTime};

use wiremesh_shared::fixture::{Family, ADMIN, DEVELOPER, DEVELOPER1, USER};
use wiremesh_shared::policy::{parse_ports, Destination, Protocol, RuleContents, Scope, Source};
use wiremesh_shared::{AssociationId, PeerId};

use super::tests_support::{raw, seeded};
use super::SqliteStore;
use crate::store::{Store, StoreError};

fn ssh_rule() -> RuleContents {
    RuleContents {
        scope: Scope::Association(AssociationId(1)),
        source: Source::Cidr(ADMIN),
        destination: Destination::Peer(DEVELOPER1),
        protocol: Protocol::Tcp,
        ports: parse_ports("22,8000-8080").unwrap(),
        note: Some("ssh from admins".into()),
    }
}

#[test]
fn rules_and_isolation_round_trip_as_structural_changes() {
    for family in Family::BOTH {
        let (_dir, mut store, _) = seeded(family);
        let before = store.revisions().expect("revisions");
        let rule = store.insert_rule(&ssh_rule()).expect("insert");
        assert_eq!(rule.contents, ssh_rule());
        let any = RuleContents {
            scope: Scope::Cidr(DEVELOPER),
            source: Source::Any,
            destination: Destination::Cidr(DEVELOPER),
            protocol: Protocol::Icmp,
            ports: Vec::new(),
            note: None,
        };
        let second = store.insert_rule(&any).expect("insert");
        // A rule toward a route keeps its network.
        let route: ipnet::IpNet = family
            .pick("192.168.10.0/24", "fd10:10::/64")
            .parse()
            .unwrap();
        let toward = RuleContents {
            destination: Destination::Route(route),
            ..any.clone()
        };
        let third = store.insert_rule(&toward).expect("insert");
        assert_eq!(third.contents.destination, Destination::Route(route));
        store.delete_rule(third.id).expect("delete");
        assert!(store.set_isolated(DEVELOPER, true).expect("isolate"));
        assert!(!store.set_isolated(DEVELOPER, true).expect("again"));
        let snapshot = store.snapshot().expect("snapshot");
        assert_eq!(snapshot.policy.rules, vec![rule.clone(), second.clone()]);
        assert_eq!(snapshot.policy.isolated, vec![DEVELOPER]);
        let after = store.revisions().expect("revisions");
        assert!(after.structure > before.structure, "{family:?}");
        assert_eq!(after.structure, after.current);

        store.delete_rule(rule.id).expect("delete");
        assert!(matches!(
            store.delete_rule(rule.id),
            Err(StoreError::NotFound { what: "rule", .. })
        ));
        assert!(store.set_isolated(DEVELOPER, false).expect("end isolation"));
        let snapshot = store.snapshot().expect("snapshot");
        assert_eq!(snapshot.policy.rules, vec![second]);
        assert!(snapshot.policy.isolated.is_empty());
        assert!(matches!(
            store.set_isolated(wiremesh_shared::CidrId(99), true),
            Err(StoreError::NotFound { what: "CIDR", .. })
        ));
        // A rule naming what does not exist is refused by the foreign keys.
        let dangling = RuleContents {
            source: Source::Peer(PeerId(99)),
            ..ssh_rule()
        };
        assert!(matches!(
            store.insert_rule(&dangling),
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.integrity_check().expect("integrity"));
    }
}

#[test]
fn rules_survive_innernet_and_go_with_what_innernet_deletes() {
    let (dir, mut store, _) = seeded(Family::V4);
    let path = dir.path().join("net.db");
    store.insert_rule(&ssh_rule()).expect("insert");
    store.set_isolated(USER, true).expect("isolate");
    drop(store);
    // innernet-server 2.0.0 opens the file (user_version back to 2), then deletes the
    // association with foreign keys on.
    let conn = raw(&path);
    conn.execute_batch("PRAGMA user_version = 2;")
        .expect("downgrade");
    drop(conn);
    let mut store = SqliteStore::open(&path).expect("reopen");
    let snapshot = store.snapshot().expect("snapshot");
    assert_eq!(snapshot.policy.rules.len(), 1);
    assert_eq!(snapshot.policy.isolated, vec![USER]);
    drop(store);
    let conn = raw(&path);
    conn.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM associations WHERE id = 1;")
        .expect("innernet deletes the association");
    drop(conn);
    let mut store = SqliteStore::open(&path).expect("reopen");
    assert!(store.snapshot().expect("snapshot").policy.rules.is_empty());
}

#[test]
fn an_expiring_invitation_takes_its_rules_along_as_a_structural_change() {
    let (_dir, mut store, fx) = seeded(Family::V6);
    let mut invitation = fx.peer(DEVELOPER1).contents.clone();
    invitation.name = "newcomer".parse().unwrap();
    invitation.ip = "fd00:1337::2:0:0:9".parse().unwrap();
    invitation.public_key = wiremesh_shared::fixture::key_for(PeerId(77));
    invitation.is_redeemed = false;
    invitation.invite_expires = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    let invited = store.insert_peer(&invitation).expect("invite");
    let rule = store
        .insert_rule(&RuleContents {
            destination: Destination::Peer(invited.id),
            source: Source::Any,
            ..ssh_rule()
        })
        .expect("rule");
    let before = store.revisions().expect("revisions");
    let deleted = store.delete_expired_invites(&[invited.id]).expect("expire");
    assert_eq!(deleted.len(), 1);
    let snapshot = store.snapshot().expect("snapshot");
    assert!(!snapshot.policy.rules.iter().any(|r| r.id == rule.id));
    assert!(store.revisions().expect("revisions").structure > before.structure);
}

#[test]
fn reports_round_trip_without_a_revision() {
    let (_dir, mut store, _) = seeded(Family::V4);
    let revision = store.revisions().expect("revisions").current;
    store.save_report(DEVELOPER1, "{\"a\":1}").expect("save");
    store.save_report(DEVELOPER1, "{\"a\":2}").expect("replace");
    let reports = store.reports().expect("reports");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[&DEVELOPER1], "{\"a\":2}");
    assert_eq!(store.revisions().expect("revisions").current, revision);
}
