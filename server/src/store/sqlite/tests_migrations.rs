//! Tests of the schema: innernet's tables exactly as innernet 2.0.0 defines them, migrations
//! from every older version, innernet reopening a migrated file, and unreadable rows.

use std::path::Path;

use rusqlite::Connection;
use wiremesh_shared::acl::NetworkRoles;
use wiremesh_shared::fixture::{Family, ADMIN_PEER, INFRA};
use wiremesh_shared::CidrId;

use super::tests_support::{
    endpoints, innernet_db, innernet_expected, innernet_schema_db, outcome, plain, raw, seeded,
};
use super::{schema, SqliteStore, SUPPORTED_VERSION};
use crate::store::Store;

/// Everything SQLite knows about a table's shape: columns (name, type, not null, default,
/// primary key), foreign keys (column, target, actions) and unique constraints.
fn table_shape(conn: &Connection, table: &str) -> Vec<String> {
    let mut shape = Vec::new();
    let mut rows = |sql: &str, n_columns: usize| {
        let mut statement = conn.prepare(sql).expect("prepare");
        let mut rows = statement.query([table]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            let fields: Vec<String> = (0..n_columns)
                .map(|i| format!("{:?}", row.get_ref(i).expect("field")))
                .collect();
            shape.push(fields.join(" "));
        }
    };
    rows(
        "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
        6,
    );
    rows(
        "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete, match \
         FROM pragma_foreign_key_list(?1)",
        8,
    );
    rows(
        "SELECT l.\"unique\", l.origin, l.partial, group_concat(i.name, ',') \
         FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i \
         WHERE l.origin <> 'c' GROUP BY l.name ORDER BY 4",
        4,
    );
    shape
}

#[test]
fn innernet_tables_match_innernet_2_0_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let golden = innernet_schema_db(&dir.path().join("golden.db"));
    let (dir_ours, _store, _) = seeded(Family::V4);
    let ours = raw(&dir_ours.path().join("net.db"));
    for table in ["peers", "cidrs", "associations"] {
        let shape = table_shape(&golden, table);
        assert!(shape.len() > 3, "{table}: {shape:?}");
        assert_eq!(table_shape(&ours, table), shape, "{table}");
    }
    let user_tables = |conn: &Connection| -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        let names = statement.query_map([], |row| row.get(0)).expect("query");
        names.map(|name| name.expect("name")).collect()
    };
    assert_eq!(user_tables(&golden), ["associations", "cidrs", "peers"]);
    assert_eq!(
        user_tables(&ours),
        [
            "associations",
            "cidrs",
            "peers",
            "wiremesh_audit",
            "wiremesh_devices",
            "wiremesh_ephemeral",
            "wiremesh_isolated",
            "wiremesh_meta",
            "wiremesh_observed",
            "wiremesh_reports",
            "wiremesh_revisions",
            "wiremesh_route_auto",
            "wiremesh_routes",
            "wiremesh_rules",
            "wiremesh_tokens",
            "wiremesh_tombstones"
        ]
    );
}

#[test]
fn open_migrates_innernet_databases_of_every_version() {
    for version in 0..=2 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("innernet.db");
        innernet_db(&path, version);
        let mut store = SqliteStore::open(&path).expect("open");
        let snapshot = store.snapshot().expect("snapshot");
        let (cidrs, peers, associations) = innernet_expected(version);
        assert_eq!(snapshot.cidrs, cidrs, "v{version}");
        assert_eq!(plain(&snapshot.peers), peers, "v{version}");
        assert_eq!(snapshot.associations, associations, "v{version}");
        assert_eq!(snapshot.roles, NetworkRoles::CREATED_BY_NEW, "v{version}");
        drop(store);

        // innernet's tables now have exactly innernet 2.0.0's shape, at wiremesh's version.
        let conn = raw(&path);
        let golden = innernet_schema_db(&dir.path().join("golden.db"));
        for table in ["peers", "cidrs", "associations"] {
            assert_eq!(
                table_shape(&conn, table),
                table_shape(&golden, table),
                "v{version}"
            );
        }
        assert_eq!(
            schema::user_version(&conn, &path).expect("version"),
            SUPPORTED_VERSION
        );
        let n_indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'wiremesh_%'",
                [],
                |row| row.get(0),
            )
            .expect("indexes");
        // Three for innernet's foreign keys, two for the rules', one for devices' hubs.
        assert_eq!(n_indexes, 6, "v{version}");
        assert!(snapshot.policy.is_empty(), "v{version}");
    }
}

#[test]
fn migration_survives_innernet_reopening_the_file() {
    let (dir, mut store, _) = seeded(Family::V4);
    let path = dir.path().join("net.db");
    let before = store.snapshot().expect("snapshot");
    let history_before = store.revisions().expect("revisions");
    drop(store);
    // innernet-server 2.0.0 sets user_version back to 2 whenever it opens a file; a
    // wiremesh network may also record roles other than the ids `new` gives.
    let conn = raw(&path);
    conn.execute_batch(
        "UPDATE wiremesh_meta SET value = '3' WHERE key = 'infra_cidr_id';
         UPDATE wiremesh_meta SET value = '2' WHERE key = 'server_peer_id';
         PRAGMA user_version = 2;",
    )
    .expect("downgrade");
    drop(conn);
    let mut store = SqliteStore::open(&path).expect("reopen");
    let after = store.snapshot().expect("snapshot");
    assert_eq!(after.peers, before.peers);
    assert_eq!(after.cidrs, before.cidrs);
    let roles = NetworkRoles {
        infra_cidr: CidrId(3),
        server_peer: ADMIN_PEER,
    };
    assert_eq!(after.roles, roles);
    assert_eq!(
        schema::user_version(&raw(&path), &path).expect("version"),
        SUPPORTED_VERSION
    );
    // innernet may have changed anything without recording revisions: a new history, so
    // every client starts over with a full state, and nothing recorded before is kept.
    let history = store.revisions().expect("revisions");
    assert_ne!(history.history, history_before.history);
    assert!(history.peers.is_empty());
    assert!(history.floor > history_before.current);
    assert_eq!(
        (history.current, history.structure),
        (history.floor, history.floor)
    );
}

/// Applies `damage` to a seeded IPv4 database and checks what a snapshot then says.
fn check_damage(damage: &str, expected: &str) {
    let (dir, store, _) = seeded(Family::V4);
    drop(store);
    let path = dir.path().join("net.db");
    let conn = raw(&path);
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("pragma");
    conn.execute_batch(damage).expect("damage");
    drop(conn);
    let result = SqliteStore::open(&path).and_then(|mut store| store.snapshot());
    assert_eq!(outcome(&result), expected, "{damage}");
}

#[test]
fn unreadable_rows_are_reported_not_panicked_on() {
    let cases = [
        (
            "UPDATE peers SET public_key = 'not a key' WHERE id = 3",
            "Corrupt(peer 3)",
        ),
        (
            "UPDATE peers SET public_key = 'AAAA' WHERE id = 3",
            "Corrupt(peer 3)",
        ),
        (
            "UPDATE peers SET name = 'Bad_Name' WHERE id = 4",
            "Corrupt(peer 4)",
        ),
        (
            "UPDATE peers SET ip = 'nowhere' WHERE id = 2",
            "Corrupt(peer 2)",
        ),
        (
            "UPDATE peers SET candidates = 'not json' WHERE id = 2",
            "Corrupt(peer 2)",
        ),
        (
            "UPDATE peers SET candidates = '{\"a\": 1}' WHERE id = 2",
            "Corrupt(peer 2)",
        ),
        (
            "UPDATE peers SET is_admin = 'yes' WHERE id = 5",
            "Corrupt(peer 5)",
        ),
        (
            "UPDATE peers SET invite_expires = 'soon' WHERE id = 5",
            "Corrupt(peer 5)",
        ),
        (
            "UPDATE peers SET invite_expires = 1.5 WHERE id = 5",
            "Corrupt(peer 5)",
        ),
        (
            "UPDATE peers SET name = X'61' WHERE id = 6",
            "Corrupt(peer 6)",
        ),
        (
            "UPDATE cidrs SET prefix = 99 WHERE id = 3",
            "Corrupt(CIDR 3)",
        ),
        (
            "UPDATE cidrs SET prefix = -1 WHERE id = 3",
            "Corrupt(CIDR 3)",
        ),
        ("UPDATE cidrs SET ip = 'x' WHERE id = 4", "Corrupt(CIDR 4)"),
        (
            "UPDATE cidrs SET ip = X'00' WHERE id = 4",
            "Corrupt(CIDR 4)",
        ),
        (
            "UPDATE associations SET cidr_id_2 = 'three' WHERE id = 1",
            "Corrupt(association 1)",
        ),
        (
            "UPDATE wiremesh_meta SET value = 'x' WHERE key = 'infra_cidr_id'",
            "Corrupt(wiremesh_meta entry 5)",
        ),
        (
            "DELETE FROM wiremesh_meta WHERE key = 'server_peer_id'",
            "NotANetwork",
        ),
        // Where innernet is lenient, so are we.
        ("UPDATE peers SET endpoint = 'garbage' WHERE id = 1", "ok"),
        ("UPDATE peers SET candidates = NULL WHERE id = 1", "ok"),
        (
            "UPDATE peers SET candidates = '[\"bad\", \"1.2.3.4:5\"]' WHERE id = 1",
            "ok",
        ),
    ];
    for (damage, expected) in cases {
        check_damage(damage, expected);
    }
}

#[test]
fn lenient_columns_read_as_innernet_reads_them() {
    let (dir, store, fx) = seeded(Family::V4);
    drop(store);
    let path: &Path = &dir.path().join("net.db");
    raw(path)
        .execute_batch(
            "UPDATE peers SET endpoint = 'garbage', candidates = '[\"bad\", \"1.2.3.4:5\"]' \
             WHERE id = 1;
             UPDATE peers SET candidates = NULL WHERE id = 2;",
        )
        .expect("update");
    let snapshot = SqliteStore::open(path)
        .and_then(|mut store| store.snapshot())
        .expect("snapshot");
    assert_eq!(snapshot.peers[0].endpoint, None);
    assert_eq!(snapshot.peers[0].candidates, endpoints(&["1.2.3.4:5"]));
    assert_eq!(snapshot.peers[1].candidates, Vec::new());
    assert_eq!(snapshot.cidrs[INFRA.0 as usize - 1], fx.cidrs[1]);
}
