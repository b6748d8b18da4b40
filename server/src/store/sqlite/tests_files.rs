//! Tests of the database file: creating, opening, permissions, other connections' changes,
//! backups and importing an innernet database.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use wiremesh_shared::fixture::{Family, Fixture};
use wiremesh_shared::wire::CidrContents;

use super::tests_support::{
    innernet_db, innernet_expected, new_network, outcome, plain, raw, seeded,
};
use super::{schema, SqliteStore};
use crate::store::{Result, Store};

/// Makes a file (or none) at the given path.
type Make = fn(&Path);

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn extra_cidr(name: &str) -> CidrContents {
    CidrContents {
        name: name.to_owned(),
        cidr: "10.99.0.0/16".parse().expect("network"),
        parent: None,
    }
}

#[test]
fn create_writes_a_private_file_at_the_current_version() {
    for family in Family::BOTH {
        let (dir, mut store, fx) = seeded(family);
        let path = dir.path().join("net.db");
        assert_eq!(mode(&path), 0o600, "{family:?}");
        assert_eq!(mode(Path::new(&format!("{}-wal", path.display()))), 0o600);
        assert_eq!(
            schema::user_version(&raw(&path), &path).expect("version"),
            schema::SUPPORTED_VERSION
        );
        let journal: String = raw(&path)
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .expect("journal mode");
        assert_eq!(journal, "wal");
        let snapshot = store.snapshot().expect("snapshot");
        let infra = &snapshot.cidrs[1];
        assert_eq!(
            infra.cidr.prefix_len(),
            family.pick("32", "128").parse::<u8>().expect("n")
        );
        assert_eq!(infra.cidr.addr(), fx.peers[0].ip);
        drop(store);
        // Reopening changes nothing.
        let reopened = SqliteStore::open(&path).and_then(|mut s| s.snapshot());
        assert_eq!(reopened.expect("reopen"), snapshot, "{family:?}");
    }
}

#[test]
fn create_refuses_an_existing_file_and_leaves_nothing_on_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fx = Fixture::new(Family::V4);
    let existing = dir.path().join("existing.db");
    fs::write(&existing, b"precious").expect("write");
    let result = SqliteStore::create(&existing, new_network(&fx));
    assert_eq!(
        outcome(&result),
        format!("Conflict(database {})", existing.display())
    );
    assert_eq!(fs::read(&existing).expect("read"), b"precious");

    // The infra CIDR would duplicate the root's network: the transaction fails, no file stays.
    let mut clashing = new_network(&fx);
    clashing.root = "10.80.0.1/32".parse().expect("network");
    let path = dir.path().join("clash.db");
    assert_eq!(
        outcome(&SqliteStore::create(&path, clashing)),
        "Sqlite(create)"
    );
    assert!(!path.exists());

    let missing_dir = dir.path().join("no/such/dir.db");
    let result = SqliteStore::create(&missing_dir, new_network(&fx));
    assert_eq!(outcome(&result), "Sqlite(create)");
}

#[test]
fn open_refuses_what_is_not_a_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, Make, &str); 5] = [
        ("missing", |_| {}, "NotANetwork"),
        (
            "text file",
            |p| fs::write(p, "hello, this is not SQLite at all").expect("w"),
            "NotANetwork",
        ),
        (
            "empty file",
            |p| fs::write(p, b"").expect("w"),
            "NotANetwork",
        ),
        (
            "other database",
            |p| raw(p).execute_batch("CREATE TABLE t (x)").expect("t"),
            "NotANetwork",
        ),
        (
            "newer schema",
            |p| {
                innernet_db(p, 2);
                raw(p)
                    .pragma_update(None, "user_version", 99)
                    .expect("version");
            },
            "TooNew(99)",
        ),
    ];
    for (n_case, (label, make, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("case{n_case}.db"));
        make(&path);
        let before = fs::read(&path).ok();
        assert_eq!(outcome(&SqliteStore::open(&path)), expected, "{label}");
        assert_eq!(fs::read(&path).ok(), before, "{label}: file changed");
    }
}

#[test]
fn changed_by_others_sees_only_other_connections() {
    let (dir, mut store, _) = seeded(Family::V4);
    let path = dir.path().join("net.db");
    assert!(!store.changed_by_others().expect("first"));
    store.insert_cidr(&extra_cidr("own")).expect("own write");
    assert!(!store.changed_by_others().expect("after own write"));

    let mut other = SqliteStore::open(&path).expect("second connection");
    assert!(!store.changed_by_others().expect("after other opened"));
    other.rename_cidr(6.into(), "theirs").expect("other write");
    assert!(store.changed_by_others().expect("after other write"));
    // Until a snapshot has read the change, it stays unread.
    assert!(store.changed_by_others().expect("asked again"));
    store.snapshot().expect("snapshot");
    assert!(!store.changed_by_others().expect("after reading it"));

    // A snapshot includes what others wrote before it, so it resets the question.
    other
        .rename_cidr(6.into(), "theirs-again")
        .expect("other write");
    let snapshot = store.snapshot().expect("snapshot");
    assert_eq!(snapshot.cidrs[5].name, "theirs-again");
    assert!(!store.changed_by_others().expect("after snapshot"));
}

/// A snapshot that fails (here a row another process wrote that does not validate) does not
/// mark the other process's change as read: once the row is fixed, the change is still seen.
#[test]
fn a_failed_snapshot_leaves_the_change_unread() {
    let (dir, mut store, _) = seeded(Family::V4);
    let path = dir.path().join("net.db");
    let other = rusqlite::Connection::open(&path).expect("second connection");
    let ip: String = other
        .query_row("SELECT ip FROM peers WHERE id = 2", [], |row| row.get(0))
        .expect("peer 2");
    other
        .execute("UPDATE peers SET ip = 'not an address' WHERE id = 2", [])
        .expect("bad row");
    assert!(store.changed_by_others().expect("changed"));
    let error = store.snapshot().expect_err("the row does not validate");
    assert!(error.to_string().contains("not an address"), "{error}");
    assert!(store.changed_by_others().expect("still unread"));
    other
        .execute("UPDATE peers SET ip = ?1 WHERE id = 2", [ip])
        .expect("fixed row");
    assert!(store
        .changed_by_others()
        .expect("still unread after the fix"));
    store.snapshot().expect("snapshot after the fix");
    assert!(!store.changed_by_others().expect("read"));
}

#[test]
fn backup_to_writes_an_openable_private_copy() {
    let (dir, mut store, _) = seeded(Family::V6);
    assert!(store.integrity_check().expect("integrity"));
    let copy = dir.path().join("copy.db");
    // What a backup killed midway left behind: removed by the next backup to that name.
    let killed = std::time::SystemTime::now()
        - privatefile::LEFTOVER_AGE
        - std::time::Duration::from_secs(1);
    for leftover in [".copy.db.partial-999999", ".copy.db.partial-999999-journal"] {
        let path = dir.path().join(leftover);
        fs::write(&path, "half a database").expect("plant a leftover");
        fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(killed))
            .expect("age the leftover");
    }
    store.backup_to(&copy).expect("backup");
    assert_eq!(mode(&copy), 0o600);
    let mut restored = SqliteStore::open(&copy).expect("open copy");
    assert!(restored.integrity_check().expect("copy integrity"));
    assert_eq!(
        restored.snapshot().expect("copy"),
        store.snapshot().expect("original")
    );
    // The same revisions under another history: clients of the original who meet a
    // restored copy start over instead of trusting revision numbers that now differ.
    let (original, copied) = (
        store.revisions().expect("revisions"),
        restored.revisions().expect("copied revisions"),
    );
    assert_ne!(copied.history, original.history);
    assert_eq!(copied.current, original.current);
    assert_eq!(copied.peers, original.peers);

    // Later writes do not reach the copy; an existing destination is refused.
    store.insert_cidr(&extra_cidr("later")).expect("write");
    assert_ne!(
        restored.snapshot().expect("copy"),
        store.snapshot().expect("original")
    );
    let again = store.backup_to(&copy);
    assert_eq!(
        outcome(&again),
        format!("Conflict(database {})", copy.display())
    );
    // The copy is made under a partial name and linked into place when finished; no
    // partial file is left beside it, nor any left by the killed backup.
    let partials: Vec<String> = fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(partials.is_empty(), "{partials:?}");
}

#[test]
fn integrity_check_reports_damage() {
    let (dir, store, _) = seeded(Family::V4);
    let path = dir.path().join("net.db");
    assert!(store.integrity_check().expect("integrity"));
    // An index that no longer matches its table.
    let conn = raw(&path);
    conn.execute_batch(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_master SET sql = 'CREATE INDEX wiremesh_peers_cidr_id ON peers (name)'
           WHERE name = 'wiremesh_peers_cidr_id';
         PRAGMA writable_schema = OFF;",
    )
    .expect("damage");
    drop(conn);
    let reopened = SqliteStore::open(&path).expect("open");
    assert!(!reopened.integrity_check().expect("integrity"));
}

#[test]
fn import_innernet_copies_every_version_and_leaves_the_source_alone() {
    for version in 0..=2 {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("innernet.db");
        innernet_db(&src, version);
        let src_bytes = fs::read(&src).expect("read source");
        let dest = dir.path().join("wiremesh.db");

        let snapshot = SqliteStore::import_innernet(&src, &dest).expect("import");
        let (cidrs, peers, associations) = innernet_expected(version);
        assert_eq!(snapshot.cidrs, cidrs, "v{version}");
        assert_eq!(plain(&snapshot.peers), peers, "v{version}");
        assert_eq!(snapshot.associations, associations, "v{version}");
        assert_eq!(
            fs::read(&src).expect("source"),
            src_bytes,
            "v{version}: source changed"
        );
        assert_eq!(mode(&dest), 0o600);
        assert_eq!(
            schema::user_version(&raw(&dest), &dest).expect("version"),
            schema::SUPPORTED_VERSION
        );
        let reopened: Result<_> = SqliteStore::open(&dest).and_then(|mut s| s.snapshot());
        assert_eq!(reopened.expect("reopen"), snapshot);

        // A second import into the same destination is refused, the first one kept.
        let dest_bytes = fs::read(&dest).expect("dest");
        let again = SqliteStore::import_innernet(&src, &dest);
        assert_eq!(
            outcome(&again),
            format!("Conflict(database {})", dest.display())
        );
        assert_eq!(fs::read(&dest).expect("dest"), dest_bytes);
    }
}

#[test]
fn import_innernet_leaves_nothing_behind_on_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, Make, &str); 3] = [
        ("missing source", |_| {}, "NotANetwork"),
        (
            "not a network",
            |p| fs::write(p, b"").expect("w"),
            "NotANetwork",
        ),
        (
            // Passes the first checks, then migration finds no server peer.
            "no server peer",
            |p| {
                innernet_db(p, 2);
                raw(p)
                    .execute_batch("DELETE FROM peers WHERE id = 1")
                    .expect("delete");
            },
            "NotANetwork",
        ),
    ];
    for (n_case, (label, make, expected)) in cases.into_iter().enumerate() {
        let src = dir.path().join(format!("src{n_case}.db"));
        make(&src);
        let dest = dir.path().join(format!("dest{n_case}.db"));
        assert_eq!(
            outcome(&SqliteStore::import_innernet(&src, &dest)),
            expected,
            "{label}"
        );
        assert!(!dest.exists(), "{label}: destination left behind");
    }
}

#[test]
fn import_reads_a_database_in_wal_mode_open_or_closed() {
    let (dir, mut store, _) = seeded(Family::V4);
    let src = dir.path().join("net.db");
    let expected = store.snapshot().expect("snapshot");
    let dest = dir.path().join("while-open.db");
    let snapshot = SqliteStore::import_innernet(&src, &dest).expect("import while open");
    assert_eq!(snapshot, expected);
    drop(store);
    assert!(!dir.path().join("net.db-wal").exists());
    let dest = dir.path().join("while-closed.db");
    let snapshot = SqliteStore::import_innernet(&src, &dest).expect("import while closed");
    assert_eq!(snapshot, expected);
}

#[test]
fn backup_file_copies_without_migrating_or_changing_the_source() {
    for version in 0..=2 {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("innernet.db");
        innernet_db(&src, version);
        let src_bytes = fs::read(&src).expect("read source");
        let dest = dir.path().join("copy.db");

        let (cidrs, peers) = SqliteStore::backup_file(&src, &dest).expect("backup");
        let (expected_cidrs, expected_peers, _) = innernet_expected(version);
        assert_eq!((cidrs, peers), (expected_cidrs.len(), expected_peers.len()));
        assert_eq!(fs::read(&src).expect("source"), src_bytes, "v{version}");
        assert_eq!(mode(&dest), 0o600);
        // The copy keeps the source's schema version: an older binary can restore it.
        assert_eq!(
            schema::user_version(&raw(&dest), &dest).expect("version"),
            version
        );

        let again = SqliteStore::backup_file(&src, &dest);
        assert_eq!(
            outcome(&again),
            format!("Conflict(database {})", dest.display())
        );
    }
    // A source that is not a network leaves no copy behind.
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.db");
    fs::write(&junk, b"not a database at all, just text").expect("write");
    let dest = dir.path().join("copy.db");
    assert!(SqliteStore::backup_file(&junk, &dest).is_err());
    assert!(!dest.exists());
}
