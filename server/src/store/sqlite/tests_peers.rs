//! Tests of the peer methods of [`Store`] on the seeded fixture network, IPv4 and IPv6:
//! inserting, updating, redeeming, endpoints, candidates, sweeping expired invitations,
//! deleting (tombstones) and the network's settings.

use std::time::{Duration, UNIX_EPOCH};

use wiremesh_shared::fixture::{key_for, Family, Fixture, DEVELOPER1, SERVER, USER1, USER2};
use wiremesh_shared::wire::PeerContents;
use wiremesh_shared::{CidrId, PeerId};

use super::tests_support::{
    add_guest, check, endpoints, invite, key, no_setup, seeded, Write, GUEST,
};
use super::SqliteStore;
use crate::store::{DeletionReason, PeerFields, Settings, Store, Tombstone};

#[test]
fn insert_peer() {
    type Edit = fn(&mut PeerContents, &Fixture);
    let cases: [(&str, Edit, &str); 6] = [
        ("new", |_, _| {}, "ok"),
        (
            "duplicate name",
            |p, _| p.name = "developer1".parse().expect("name"),
            r#"Conflict(a peer named "developer1")"#,
        ),
        (
            "duplicate ip",
            |p, fx| p.ip = fx.peer(DEVELOPER1).ip,
            "Conflict(a peer with IP {dev1})",
        ),
        (
            "duplicate key",
            |p, _| p.public_key = key_for(DEVELOPER1),
            "Conflict(a peer with this public key)",
        ),
        (
            "missing cidr",
            |p, _| p.cidr_id = CidrId(99),
            "NotFound(CIDR 99)",
        ),
        (
            "details kept",
            |p, _| {
                p.endpoint = Some("example.com:51820".parse().expect("endpoint"));
                p.candidates = endpoints(&["10.0.0.1:1", "[2001:db8::1]:2"]);
                p.is_admin = true;
                p.is_disabled = true;
            },
            "ok",
        ),
    ];
    for family in Family::BOTH {
        for (label, edit, expected) in cases {
            let fx = Fixture::new(family);
            let expected = expected.replace("{dev1}", &fx.peer(DEVELOPER1).ip.to_string());
            let mut contents = invite(&fx, "newcomer", Some(UNIX_EPOCH + Duration::from_secs(9)));
            edit(&mut contents, &fx);
            let (_dir, mut store, _) =
                check(family, no_setup, |s, _| s.insert_peer(&contents), &expected);
            if expected == "ok" {
                let stored = store
                    .snapshot()
                    .expect("snapshot")
                    .peers
                    .pop()
                    .expect("peer");
                assert_eq!(stored.contents, contents, "{label} {family:?}");
                assert_eq!(stored.id, PeerId(7), "{label} {family:?}");
            }
        }
    }
}
#[test]
fn update_peer() {
    let renamed = PeerFields {
        name: "renamed".parse().expect("name"),
        endpoint: Some("[2001:db8::9]:7".parse().expect("endpoint")),
        is_admin: true,
        is_disabled: true,
        candidates: endpoints(&["192.0.2.9:9"]),
    };
    let taken = PeerFields {
        name: "developer2".parse().expect("name"),
        ..renamed.clone()
    };
    let cases = [
        ("update", USER1, &renamed, "ok"),
        ("missing", PeerId(42), &renamed, "NotFound(peer 42)"),
        (
            "taken name",
            DEVELOPER1,
            &taken,
            r#"Conflict(a peer named "developer2")"#,
        ),
    ];
    for family in Family::BOTH {
        for (label, id, fields, expected) in cases {
            let (_dir, mut store, fx) =
                check(family, no_setup, |s, _| s.update_peer(id, fields), expected);
            if expected == "ok" {
                let mut want = fx.peer(id).clone();
                want.contents.name = fields.name.clone();
                want.contents.endpoint = fields.endpoint.clone();
                want.contents.is_admin = fields.is_admin;
                want.contents.is_disabled = fields.is_disabled;
                want.contents.candidates = fields.candidates.clone();
                let snapshot = store.snapshot().expect("snapshot");
                assert_eq!(*snapshot.peers[id.0 as usize - 1], want, "{label}");
            }
        }
    }
}

#[test]
fn redeem_endpoint_and_candidates() {
    let cases: [(&str, Write, Write, &str); 8] = [
        (
            "redeem",
            add_guest,
            |s, _| s.redeem_peer(GUEST, &key(8)),
            "ok",
        ),
        (
            "redeem twice",
            |s, fx| {
                add_guest(s, fx)?;
                s.redeem_peer(GUEST, &key(8))
            },
            |s, _| s.redeem_peer(GUEST, &key(9)),
            "NotFound(unredeemed peer 7)",
        ),
        (
            "redeem redeemed",
            no_setup,
            |s, _| s.redeem_peer(USER1, &key(8)),
            "NotFound(unredeemed peer 5)",
        ),
        (
            "redeem missing",
            no_setup,
            |s, _| s.redeem_peer(PeerId(42), &key(8)),
            "NotFound(unredeemed peer 42)",
        ),
        (
            "redeem with taken key",
            add_guest,
            |s, _| s.redeem_peer(GUEST, &key_for(USER1)),
            "Conflict(a peer with this public key)",
        ),
        (
            "clear endpoint",
            no_setup,
            |s, _| s.set_endpoint(SERVER, None),
            "ok",
        ),
        (
            "endpoint of missing",
            no_setup,
            |s, _| s.set_endpoint(PeerId(42), None),
            "NotFound(peer 42)",
        ),
        (
            "candidates of missing",
            no_setup,
            |s, _| s.set_candidates(PeerId(42), &[]),
            "NotFound(peer 42)",
        ),
    ];
    for family in Family::BOTH {
        for (_label, setup, write, expected) in cases {
            check(family, setup, write, expected);
        }
        // What the successful ones left behind.
        let (_dir, mut store, fx) = seeded(family);
        add_guest(&mut store, &fx).expect("invite");
        store.redeem_peer(GUEST, &key(8)).expect("redeem");
        store
            .set_endpoint(USER1, Some(&"0.0.0.0:51820".parse().expect("endpoint")))
            .expect("endpoint");
        store.set_endpoint(SERVER, None).expect("clear endpoint");
        let candidates = endpoints(&["198.51.100.1:1", "host.example:2"]);
        store
            .set_candidates(USER1, &candidates)
            .expect("candidates");
        let peers = store.snapshot().expect("snapshot").peers;
        let find = |id: PeerId| peers.iter().find(|p| p.id == id).expect("peer");
        assert!(find(GUEST).is_redeemed && find(GUEST).public_key == key(8));
        assert_eq!(
            find(USER1).endpoint,
            Some("0.0.0.0:51820".parse().expect("endpoint"))
        );
        assert_eq!(find(USER1).candidates, candidates);
        assert_eq!(find(SERVER).endpoint, None);
    }
}

#[test]
fn delete_expired_invites() {
    let at = |secs: u64| Some(UNIX_EPOCH + Duration::from_secs(secs));
    for family in Family::BOTH {
        let (_dir, mut store, fx) = seeded(family);
        let before = store.snapshot().expect("snapshot").peers;
        // (name, last address byte, expires, redeemed, named in the sweep, expected to be
        // deleted): the service decides what expired; the store deletes only unredeemed
        // invitations among the ids it is given.
        let invites = [
            ("expired", 10, at(999), false, true, true),
            ("expires-now", 11, at(1_000), false, false, false),
            ("later", 12, at(5_000), false, false, false),
            ("redeemed", 13, at(10), true, true, false),
            ("no-expiry", 14, None, false, true, false),
            ("long-expired", 15, at(0), false, true, true),
        ];
        let mut named = Vec::new();
        let mut expected_deleted = Vec::new();
        for (name, byte, expires, redeemed, swept, deleted) in invites {
            let mut contents = invite(&fx, name, expires);
            contents.ip = match contents.ip {
                std::net::IpAddr::V4(ip) => std::net::Ipv4Addr::from(u32::from(ip) + byte).into(),
                std::net::IpAddr::V6(ip) => {
                    std::net::Ipv6Addr::from(u128::from(ip) + byte as u128).into()
                }
            };
            contents.public_key = key(byte as u8);
            contents.is_redeemed = redeemed;
            let peer = store.insert_peer(&contents).expect("insert invite");
            if swept {
                named.push(peer.id);
            }
            if deleted {
                expected_deleted.push(peer);
            }
        }
        named.reverse();
        let deleted = store.delete_expired_invites(&named).expect("sweep");
        assert_eq!(deleted, expected_deleted, "{family:?}");
        let left = store.snapshot().expect("snapshot").peers;
        assert_eq!(left.len(), before.len() + invites.len() - deleted.len());
        assert!(left.iter().all(|p| !deleted.iter().any(|d| d.id == p.id)));
        assert_eq!(
            store.delete_expired_invites(&named).expect("sweep again"),
            Vec::new()
        );
    }
}

/// The tombstone `store` leaves for peer `peer` of the fixture.
fn tombstone_of(fx: &Fixture, peer: PeerId) -> Tombstone {
    let p = fx.peer(peer);
    Tombstone {
        peer,
        name: p.name.clone(),
        ip: p.ip,
        public_key: p.public_key,
        cidr: p.cidr_id,
        deleted_at: 1_700_000_000,
        reason: DeletionReason::Deleted,
    }
}

#[test]
fn delete_peer() {
    let cases: [(&str, Write, Write, &str); 4] = [
        (
            "redeemed, with a tombstone",
            no_setup,
            |s, fx| s.delete_peer(USER2, Some(&tombstone_of(fx, USER2))),
            "ok",
        ),
        (
            "an invitation, without",
            add_guest,
            |s, _| s.delete_peer(GUEST, None),
            "ok",
        ),
        (
            "missing",
            no_setup,
            |s, _| s.delete_peer(PeerId(42), None),
            "NotFound(peer 42)",
        ),
        (
            "twice",
            |s, fx| s.delete_peer(USER2, Some(&tombstone_of(fx, USER2))),
            |s, fx| s.delete_peer(USER2, Some(&tombstone_of(fx, USER2))),
            "NotFound(peer 6)",
        ),
    ];
    for family in Family::BOTH {
        for (_label, setup, write, expected) in cases {
            check(family, setup, write, expected);
        }
        let (_dir, mut store, fx) = seeded(family);
        let revision = store.revision();
        store
            .delete_peer(USER2, Some(&tombstone_of(&fx, USER2)))
            .expect("delete");
        let snapshot = store.snapshot().expect("snapshot");
        assert!(snapshot.peers.iter().all(|p| p.id != USER2));
        assert_eq!(*snapshot.tombstones, vec![tombstone_of(&fx, USER2)]);
        // The deletion is a change of the peer, at a new revision.
        assert!(store.revision() > revision);
        let revisions = store.revisions().expect("revisions");
        assert_eq!(
            revisions.peers.get(&USER2),
            Some(&(fx.peer(USER2).cidr_id, store.revision()))
        );
        // Its address is consumed, its name free, its id never given again (it was the
        // highest).
        let mut again = invite(&fx, "user2", None);
        again.ip = fx.peer(USER2).ip;
        let refused = store.insert_peer(&again);
        assert!(
            super::tests_support::outcome(&refused)
                .starts_with("Conflict(a deleted peer's address"),
            "{family:?}: {}",
            super::tests_support::outcome(&refused)
        );
        let newcomer = store
            .insert_peer(&invite(&fx, "user2", None))
            .expect("the name is free");
        assert_eq!(newcomer.id, PeerId(7), "{family:?}");
        store.delete_peer(newcomer.id, None).expect("delete");
        // An invitation leaves no tombstone; its id is given again (nobody saw it).
        let next = store
            .insert_peer(&invite(&fx, "later", None))
            .expect("insert");
        assert_eq!(next.id, PeerId(7), "{family:?}");
        assert_eq!(store.snapshot().expect("snapshot").tombstones.len(), 1);
    }
}

#[test]
fn deleting_the_highest_id_never_gives_it_again() {
    let (_dir, mut store, fx) = seeded(Family::V4);
    add_guest(&mut store, &fx).expect("guest");
    store.redeem_peer(GUEST, &key(8)).expect("redeem");
    let mut tombstone = tombstone_of(&fx, USER1);
    tombstone.peer = GUEST;
    tombstone.ip = invite(&fx, "guest", None).ip;
    tombstone.public_key = key(8);
    store.delete_peer(GUEST, Some(&tombstone)).expect("delete");
    let mut next = invite(&fx, "next", None);
    next.ip = "10.80.130.8".parse().expect("ip");
    assert_eq!(store.insert_peer(&next).expect("insert").id, PeerId(8));
}

#[test]
fn settings_are_kept() {
    let (dir, mut store, _fx) = seeded(Family::V4);
    assert_eq!(
        store.snapshot().expect("snapshot").settings,
        Settings::default()
    );
    assert!(Settings::default().self_deletion);
    let forbidden = Settings {
        self_deletion: false,
    };
    store.set_settings(&forbidden).expect("set");
    drop(store);
    let mut reopened = SqliteStore::open(&dir.path().join("net.db")).expect("open");
    assert_eq!(reopened.snapshot().expect("snapshot").settings, forbidden);
}
