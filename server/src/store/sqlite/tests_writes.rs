//! Tests of the CIDR and association methods of [`Store`] on the seeded fixture network,
//! IPv4 and IPv6: what succeeds, which domain error each violation becomes, and that a failed
//! write changes nothing.

use wiremesh_shared::fixture::{Family, ADMIN, DEVELOPER, ROOT, USER};
use wiremesh_shared::wire::{AssociationContents, CidrContents};
use wiremesh_shared::{AssociationId, CidrId};

use super::tests_support::{add_empty_cidr, check, no_setup, plain, seeded, Write, EMPTY};
use crate::store::Store;

#[test]
fn round_trip_of_the_fixture_network() {
    for family in Family::BOTH {
        let (_dir, mut store, fx) = seeded(family);
        let snapshot = store.snapshot().expect("snapshot");
        assert_eq!(snapshot.cidrs, fx.cidrs, "{family:?}");
        assert_eq!(plain(&snapshot.peers), fx.peers, "{family:?}");
        assert_eq!(snapshot.associations, fx.associations, "{family:?}");
        assert_eq!(snapshot.roles, fx.roles, "{family:?}");
        assert!(store.integrity_check().expect("integrity"), "{family:?}");
    }
}
#[test]
fn insert_cidr() {
    let cases = [
        ("new", "extra", "10.81.0.0/16", "fd00:1338::/64", None, "ok"),
        (
            "host bits kept",
            "extra",
            "10.90.1.7/24",
            "fd00:1338::7/64",
            None,
            "ok",
        ),
        (
            "child",
            "extra",
            "10.80.2.0/24",
            "fd00:1337::3:0:0:0/80",
            Some(ROOT),
            "ok",
        ),
        (
            "duplicate name",
            "user",
            "10.81.0.0/16",
            "fd00:1338::/64",
            None,
            r#"Conflict(a CIDR named "user")"#,
        ),
        (
            "duplicate network",
            "extra",
            "10.80.64.0/24",
            "fd00:1337::2:0:0:0/80",
            Some(ROOT),
            "Conflict(CIDR {network})",
        ),
        (
            "missing parent",
            "extra",
            "10.80.2.0/24",
            "fd00:1337::3:0:0:0/80",
            Some(CidrId(42)),
            "NotFound(CIDR 42)",
        ),
    ];
    for family in Family::BOTH {
        for (label, name, v4, v6, parent, expected) in cases {
            let network = family.pick(v4, v6);
            let contents = CidrContents {
                name: name.to_owned(),
                cidr: network.parse().expect("network"),
                parent,
            };
            let expected = expected.replace("{network}", &contents.cidr.to_string());
            let (_dir, mut store, _) =
                check(family, no_setup, |s, _| s.insert_cidr(&contents), &expected);
            if expected == "ok" {
                let stored = store
                    .snapshot()
                    .expect("snapshot")
                    .cidrs
                    .pop()
                    .expect("cidr");
                assert_eq!(stored.contents, contents, "{label} {family:?}");
                if label == "host bits kept" {
                    assert_ne!(stored.cidr.addr(), stored.cidr.network(), "{family:?}");
                }
            }
        }
    }
}

#[test]
fn rename_and_delete_cidr() {
    let cases: [(&str, Write, Write, &str); 10] = [
        (
            "rename",
            no_setup,
            |s, _| s.rename_cidr(USER, "people"),
            "ok",
        ),
        (
            "rename missing",
            no_setup,
            |s, _| s.rename_cidr(CidrId(42), "x"),
            "NotFound(CIDR 42)",
        ),
        (
            "rename to taken name",
            no_setup,
            |s, _| s.rename_cidr(USER, "admin"),
            r#"Conflict(a CIDR named "admin")"#,
        ),
        (
            "delete with peers",
            no_setup,
            |s, _| s.delete_cidr(USER),
            "InUse(CIDR 5)",
        ),
        (
            "delete with children",
            no_setup,
            |s, _| s.delete_cidr(ROOT),
            "InUse(CIDR 1)",
        ),
        (
            "delete with association as first",
            |s, fx| {
                add_empty_cidr(s, fx)?;
                let link = AssociationContents {
                    cidr_id_1: EMPTY,
                    cidr_id_2: ADMIN,
                };
                s.insert_association(&link).map(drop)
            },
            |s, _| s.delete_cidr(EMPTY),
            "InUse(CIDR 6)",
        ),
        (
            "delete with association as second",
            |s, fx| {
                add_empty_cidr(s, fx)?;
                let link = AssociationContents {
                    cidr_id_1: ADMIN,
                    cidr_id_2: EMPTY,
                };
                s.insert_association(&link).map(drop)
            },
            |s, _| s.delete_cidr(EMPTY),
            "InUse(CIDR 6)",
        ),
        (
            "delete unused",
            add_empty_cidr,
            |s, _| s.delete_cidr(EMPTY),
            "ok",
        ),
        (
            "delete missing",
            no_setup,
            |s, _| s.delete_cidr(CidrId(42)),
            "ok",
        ),
        (
            "delete missing association",
            no_setup,
            |s, _| s.delete_association(AssociationId(9)),
            "ok",
        ),
    ];
    for family in Family::BOTH {
        for (label, setup, write, expected) in cases {
            let (_dir, mut store, fx) = check(family, setup, write, expected);
            let cidrs = store.snapshot().expect("snapshot").cidrs;
            match label {
                "rename" => assert_eq!(cidrs[USER.0 as usize - 1].name, "people"),
                "delete unused" | "delete missing" => assert_eq!(cidrs, fx.cidrs, "{label}"),
                _ => {}
            }
        }
    }
}
#[test]
fn insert_association() {
    let cases = [
        ("new", USER, DEVELOPER, "ok"),
        (
            "same orientation",
            ADMIN,
            DEVELOPER,
            "Conflict(an association between these CIDRs)",
        ),
        (
            "reverse orientation",
            DEVELOPER,
            ADMIN,
            "Conflict(an association between these CIDRs)",
        ),
        (
            "self",
            USER,
            USER,
            "Conflict(an association between CIDR 5 and itself)",
        ),
        ("first missing", CidrId(42), USER, "NotFound(CIDR 42)"),
        ("second missing", USER, CidrId(43), "NotFound(CIDR 43)"),
    ];
    for family in Family::BOTH {
        for (label, cidr_id_1, cidr_id_2, expected) in cases {
            let contents = AssociationContents {
                cidr_id_1,
                cidr_id_2,
            };
            let (_dir, mut store, _) = check(
                family,
                no_setup,
                |s, _| s.insert_association(&contents),
                expected,
            );
            if expected == "ok" {
                let stored = store.snapshot().expect("snapshot").associations;
                assert_eq!(stored[1].contents, contents, "{label}");
                assert_eq!(stored[1].id, AssociationId(2), "{label}");
            }
        }
        let (_dir, mut store, _) = seeded(family);
        store.delete_association(AssociationId(1)).expect("delete");
        assert!(store.snapshot().expect("snapshot").associations.is_empty());
    }
}
