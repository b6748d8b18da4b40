//! The schema: innernet 2.0.0's three tables, wiremesh's additions, connection settings and
//! the migrations numbered by `PRAGMA user_version`.
//!
//! | version | written by | change |
//! |---|---|---|
//! | 0 | innernet < 1.2 | `peers`, `cidrs`, `associations` |
//! | 1 | innernet | adds `peers.invite_expires` |
//! | 2 | innernet 2.0.0 | adds `peers.candidates` |
//! | 3 | wiremesh | indexes for the foreign keys, `wiremesh_meta` (the network's roles) |
//! | 4 | wiremesh | revisions: `wiremesh_revisions`, `wiremesh_observed`, the history in `wiremesh_meta` |
//! | 5 | wiremesh | policy: `wiremesh_rules`, `wiremesh_isolated`; clients' reports: `wiremesh_reports` |
//! | 6 | wiremesh | routes: `wiremesh_routes` (offers and their approval), `wiremesh_route_auto` |
//! | 7 | wiremesh | `wiremesh_rules.destination_route` (rules toward a route; the table is rebuilt) |
//! | 8 | wiremesh | devices: `wiremesh_devices` (hub, key source, full tunnel, preshared key, issued configuration) |
//! | 9 | wiremesh | deletion: `wiremesh_tombstones` (the addresses of deleted peers, consumed for good), `wiremesh_ephemeral` (peers deleted after being offline too long) |
//! | 10 | wiremesh | `wiremesh_audit`: every change, who made it and when |
//! | 11 | wiremesh | `wiremesh_tokens`: the automation API's tokens (hashed), their scopes, expiry and revocation |
//!
//! innernet's tables are never altered beyond what innernet itself does, so innernet-server
//! 2.0.0 can still read the file. It resets `user_version` to 2 when it opens it; migration 3
//! is therefore idempotent and keeps roles it finds already recorded, migration 4 starts a
//! new revision history (innernet may have changed anything without recording revisions), so
//! every wiremesh client gets a full state once, and migrations 5, 6 and 8 to 11 keep the
//! rules, routes, devices, tombstones, audit log and tokens they find. innernet-server knows no tombstones: while it
//! serves the file, it may give a deleted peer's address or id to a new peer. It reads a
//! device's row as an ordinary peer (it knows no hubs), so a network served by innernet again
//! puts its devices on its interface as peers and in its clients' states.
//! The policy's foreign keys cascade, so a CIDR, association or invitation that innernet (or
//! an expiring invitation) deletes takes the rules naming it along instead of blocking the
//! deletion; wiremesh's own commands refuse to delete what a rule names. Routes go with their
//! gateway peer, and auto-approvals with their CIDR, the same way.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use wiremesh_shared::acl::NetworkRoles;

use super::errors::{corrupt, sqlite, sqlite_or_not_a_database};
use crate::store::{Result, StoreError};

/// The schema version this code writes and reads.
pub const SUPPORTED_VERSION: i64 = 11;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// innernet 2.0.0's tables: same columns, types, defaults and constraints as its own `new`
/// creates (both foreign keys on `cidrs.parent` included), in the same order.
pub(super) const INNERNET_TABLES: &str = "
CREATE TABLE peers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    ip TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL UNIQUE,
    endpoint TEXT,
    cidr_id INTEGER NOT NULL,
    is_admin INTEGER DEFAULT 0 NOT NULL,
    is_disabled INTEGER DEFAULT 0 NOT NULL,
    is_redeemed INTEGER DEFAULT 0 NOT NULL,
    invite_expires INTEGER,
    candidates TEXT,
    FOREIGN KEY (cidr_id) REFERENCES cidrs (id) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE TABLE associations (
    id INTEGER PRIMARY KEY,
    cidr_id_1 INTEGER NOT NULL,
    cidr_id_2 INTEGER NOT NULL,
    UNIQUE (cidr_id_1, cidr_id_2),
    FOREIGN KEY (cidr_id_1) REFERENCES cidrs (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    FOREIGN KEY (cidr_id_2) REFERENCES cidrs (id) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE TABLE cidrs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    ip TEXT NOT NULL,
    prefix INTEGER NOT NULL,
    parent INTEGER REFERENCES cidrs,
    UNIQUE (ip, prefix),
    FOREIGN KEY (parent) REFERENCES cidrs (id) ON UPDATE RESTRICT ON DELETE RESTRICT
);
";

/// wiremesh's additions (version 3). Indexes make the foreign-key checks on delete and the
/// tree walks cheap; `wiremesh_meta` names the rows with a fixed role instead of assuming ids.
const WIREMESH_ADDITIONS: &str = "
CREATE INDEX IF NOT EXISTS wiremesh_peers_cidr_id ON peers (cidr_id);
CREATE INDEX IF NOT EXISTS wiremesh_cidrs_parent ON cidrs (parent);
CREATE INDEX IF NOT EXISTS wiremesh_associations_cidr_id_2 ON associations (cidr_id_2);
CREATE TABLE IF NOT EXISTS wiremesh_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
";

/// Version 4: the revision of each peer's last change (a deleted peer keeps its row, so the
/// deletion is a change too), and the endpoints the server's interface observed, so that
/// after a restart the server answers "what changed since revision R" as before it.
const REVISION_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_revisions (
    peer_id INTEGER PRIMARY KEY NOT NULL,
    cidr_id INTEGER NOT NULL,
    revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wiremesh_observed (
    public_key TEXT PRIMARY KEY NOT NULL,
    endpoint TEXT NOT NULL
);
";

/// Version 5: the port and protocol policy (rules attached to an association or a CIDR, and
/// isolated CIDRs), and what each client last reported about itself.
const POLICY_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_rules (
    id INTEGER PRIMARY KEY,
    association_id INTEGER REFERENCES associations (id) ON DELETE CASCADE,
    cidr_id INTEGER REFERENCES cidrs (id) ON DELETE CASCADE,
    source_cidr_id INTEGER REFERENCES cidrs (id) ON DELETE CASCADE,
    source_peer_id INTEGER REFERENCES peers (id) ON DELETE CASCADE,
    destination_cidr_id INTEGER REFERENCES cidrs (id) ON DELETE CASCADE,
    destination_peer_id INTEGER REFERENCES peers (id) ON DELETE CASCADE,
    protocol TEXT NOT NULL,
    ports TEXT NOT NULL,
    note TEXT,
    CHECK ((association_id IS NULL) != (cidr_id IS NULL)),
    CHECK (source_cidr_id IS NULL OR source_peer_id IS NULL),
    CHECK ((destination_cidr_id IS NULL) != (destination_peer_id IS NULL))
);
CREATE INDEX IF NOT EXISTS wiremesh_rules_association_id ON wiremesh_rules (association_id);
CREATE INDEX IF NOT EXISTS wiremesh_rules_cidr_id ON wiremesh_rules (cidr_id);
CREATE TABLE IF NOT EXISTS wiremesh_isolated (
    cidr_id INTEGER PRIMARY KEY NOT NULL REFERENCES cidrs (id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS wiremesh_reports (
    peer_id INTEGER PRIMARY KEY NOT NULL,
    report TEXT NOT NULL
);
";

/// Version 6: routes offered by gateway peers (approved or not), and the CIDRs whose peers'
/// offers are approved as they arrive.
const ROUTE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_routes (
    id INTEGER PRIMARY KEY,
    peer_id INTEGER NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    net TEXT NOT NULL,
    kind TEXT NOT NULL,
    approved INTEGER NOT NULL DEFAULT 0,
    UNIQUE (peer_id, net)
);
CREATE TABLE IF NOT EXISTS wiremesh_route_auto (
    cidr_id INTEGER PRIMARY KEY NOT NULL REFERENCES cidrs (id) ON DELETE CASCADE,
    prefixes TEXT NOT NULL,
    exit INTEGER NOT NULL DEFAULT 0
);
";

/// Version 7: a rule's destination may be a route (`destination_route`, its network), so
/// the table is rebuilt with the new column and a check that exactly one destination is set
/// (SQLite cannot change a table's checks in place). Ids are kept.
const RULE_ROUTE_DESTINATION: &str = "
CREATE TABLE wiremesh_rules_v7 (
    id INTEGER PRIMARY KEY,
    association_id INTEGER REFERENCES associations (id) ON DELETE CASCADE,
    cidr_id INTEGER REFERENCES cidrs (id) ON DELETE CASCADE,
    source_cidr_id INTEGER REFERENCES cidrs (id) ON DELETE CASCADE,
    source_peer_id INTEGER REFERENCES peers (id) ON DELETE CASCADE,
    destination_cidr_id INTEGER REFERENCES cidrs (id) ON DELETE CASCADE,
    destination_peer_id INTEGER REFERENCES peers (id) ON DELETE CASCADE,
    protocol TEXT NOT NULL,
    ports TEXT NOT NULL,
    note TEXT,
    destination_route TEXT,
    CHECK ((association_id IS NULL) != (cidr_id IS NULL)),
    CHECK (source_cidr_id IS NULL OR source_peer_id IS NULL),
    CHECK ((destination_cidr_id IS NOT NULL) + (destination_peer_id IS NOT NULL)
           + (destination_route IS NOT NULL) = 1)
);
INSERT INTO wiremesh_rules_v7 (id, association_id, cidr_id, source_cidr_id, source_peer_id,
    destination_cidr_id, destination_peer_id, protocol, ports, note)
    SELECT id, association_id, cidr_id, source_cidr_id, source_peer_id, destination_cidr_id,
        destination_peer_id, protocol, ports, note FROM wiremesh_rules;
DROP TABLE wiremesh_rules;
ALTER TABLE wiremesh_rules_v7 RENAME TO wiremesh_rules;
CREATE INDEX IF NOT EXISTS wiremesh_rules_association_id ON wiremesh_rules (association_id);
CREATE INDEX IF NOT EXISTS wiremesh_rules_cidr_id ON wiremesh_rules (cidr_id);
";

/// Version 8: devices. A device is a peer row (so its name, address and key stay unique and
/// its address is never handed out again) plus this row: its hub (the server's own peer for
/// the server), where its key came from, whether it is a full tunnel, its preshared key
/// (base64; the database file is mode 0600, and backups hold the key too) and the
/// fingerprint of the configuration last issued. A device goes with its peer row; a hub
/// cannot go while it has devices.
const DEVICE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_devices (
    peer_id INTEGER PRIMARY KEY NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    hub_peer_id INTEGER NOT NULL REFERENCES peers (id),
    key_source TEXT NOT NULL,
    full_tunnel INTEGER NOT NULL DEFAULT 0,
    preshared_key TEXT,
    issued TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS wiremesh_devices_hub ON wiremesh_devices (hub_peer_id);
";

/// Version 9: what is left of a deleted peer. Every client pins an address to the key it first
/// saw there (innernet's cache never forgets a pin), so a deleted peer's address is never given
/// to another key: its tombstone keeps it, with the name, key and CIDR it had and its id (ids
/// are never reused either: see `insert_peer_row`). Not a foreign key to `cidrs`: a CIDR may
/// go while its deleted peers' addresses stay consumed. Ephemeral peers, with how long
/// (seconds) each may stay offline before the server deletes it.
const TOMBSTONE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_tombstones (
    ip TEXT PRIMARY KEY NOT NULL,
    peer_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    cidr_id INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wiremesh_ephemeral (
    peer_id INTEGER PRIMARY KEY NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    window_secs INTEGER NOT NULL
);
";

/// Version 10: the audit log. One row per committed change (not per observation or report):
/// when (UNIX seconds), who (`actor`: the CLI user, the calling peer, a token, or the server
/// itself), what (`action`, e.g. `peer.delete`) and the details.
const AUDIT_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
";

/// Version 11: the automation API's tokens. Only a SHA-256 of each token's secret is kept
/// (hex); the token itself is shown once, when it is made. Times in UNIX seconds.
const TOKEN_TABLES: &str = "
CREATE TABLE IF NOT EXISTS wiremesh_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_sha256 TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
";

/// `wiremesh_meta` keys of the revision history: its name, the oldest revision a delta can
/// start from, the newest revision, and the revision of the last structural change.
pub(super) const HISTORY_KEY: &str = "history";
pub(super) const FLOOR_KEY: &str = "revision_floor";
pub(super) const REVISION_KEY: &str = "revision";
pub(super) const STRUCTURE_KEY: &str = "structure_revision";

const INFRA_CIDR_KEY: &str = "infra_cidr_id";
/// `wiremesh_meta` key of [`crate::store::Settings::self_deletion`] (1 or 0; absent: 1).
pub(super) const SELF_DELETION_KEY: &str = "self_deletion";
const SERVER_PEER_KEY: &str = "server_peer_id";

/// Settings every connection gets before anything else: wait for locks, enforce foreign keys.
pub(super) fn configure(conn: &Connection, path: &Path) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sqlite(path, "configure"))?;
    // Room for every statement the writes use.
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sqlite_or_not_a_database(path, "configure"))
}

/// Settings that write to the file (journal mode), applied once it is known to be a network:
/// WAL so readers never block the writer, and a commit returns only once it is durable.
pub(super) fn make_durable(conn: &Connection, path: &Path) -> Result<()> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sqlite(path, "configure"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), %mode, "database refused WAL journal mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite(path, "configure"))
}

/// The schema version of an existing file, after checking it holds innernet's tables and is
/// not newer than this code understands.
pub(super) fn check_network(conn: &Connection, path: &Path) -> Result<i64> {
    let version = user_version(conn, path)?;
    if version > SUPPORTED_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: SUPPORTED_VERSION,
        });
    }
    if version < 0 {
        return Err(not_a_network(
            path,
            format!("it has schema version {version}"),
        ));
    }
    let n_tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('peers', 'cidrs', 'associations')",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_or_not_a_database(path, "read"))?;
    if n_tables != 3 {
        return Err(not_a_network(
            path,
            "it lacks the peers, cidrs and associations tables".to_owned(),
        ));
    }
    Ok(version)
}

/// Brings the file to [`SUPPORTED_VERSION`], one step per transaction. Each step re-reads the
/// version under the write lock, so two processes opening the file at once do not both migrate.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    if check_network(conn, path)? == SUPPORTED_VERSION {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(path, "migrate"))?;
        let version = check_network(&tx, path)?;
        match version {
            0 => tx
                .execute_batch("ALTER TABLE peers ADD COLUMN invite_expires INTEGER")
                .map_err(sqlite(path, "migrate"))?,
            1 => tx
                .execute_batch("ALTER TABLE peers ADD COLUMN candidates TEXT")
                .map_err(sqlite(path, "migrate"))?,
            2 => add_wiremesh_tables(&tx, path, NetworkRoles::CREATED_BY_NEW)?,
            3 => start_history(&tx, path)?,
            4 => tx
                .execute_batch(POLICY_TABLES)
                .map_err(sqlite(path, "migrate"))?,
            5 => tx
                .execute_batch(ROUTE_TABLES)
                .map_err(sqlite(path, "migrate"))?,
            6 => tx
                .execute_batch(RULE_ROUTE_DESTINATION)
                .map_err(sqlite(path, "migrate"))?,
            7 => tx
                .execute_batch(DEVICE_TABLES)
                .map_err(sqlite(path, "migrate"))?,
            8 => tx
                .execute_batch(TOMBSTONE_TABLES)
                .map_err(sqlite(path, "migrate"))?,
            9 => tx
                .execute_batch(AUDIT_TABLES)
                .map_err(sqlite(path, "migrate"))?,
            10 => tx
                .execute_batch(TOKEN_TABLES)
                .map_err(sqlite(path, "migrate"))?,
            _ => return Ok(()),
        }
        set_user_version(&tx, path, version + 1)?;
        tx.commit().map_err(sqlite(path, "migrate"))?;
        tracing::info!(path = %path.display(), version = version + 1, "migrated database");
    }
}

/// Creates all tables of a fresh database and records `roles` (inside the caller's transaction).
pub(super) fn create_tables(tx: &Transaction<'_>, path: &Path) -> Result<()> {
    tx.execute_batch(INNERNET_TABLES)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(WIREMESH_ADDITIONS)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(POLICY_TABLES)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(ROUTE_TABLES)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(RULE_ROUTE_DESTINATION)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(DEVICE_TABLES)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(TOMBSTONE_TABLES)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(AUDIT_TABLES)
        .map_err(sqlite(path, "create"))?;
    tx.execute_batch(TOKEN_TABLES)
        .map_err(sqlite(path, "create"))?;
    start_history(tx, path)
}

/// Version 4: the revision tables, emptied, and a new history starting at the revision
/// after the newest one recorded (1 for a new file).
fn start_history(tx: &Transaction<'_>, path: &Path) -> Result<()> {
    tx.execute_batch(REVISION_TABLES)
        .map_err(sqlite(path, "migrate"))?;
    tx.execute_batch("DELETE FROM wiremesh_revisions; DELETE FROM wiremesh_observed;")
        .map_err(sqlite(path, "migrate"))?;
    let revision = read_number(tx, path, REVISION_KEY)?.unwrap_or(0) + 1;
    let history = new_history_id();
    let mut set = tx
        .prepare("INSERT OR REPLACE INTO wiremesh_meta (key, value) VALUES (?1, ?2)")
        .map_err(sqlite(path, "write"))?;
    for (key, value) in [
        (HISTORY_KEY, history),
        (FLOOR_KEY, revision),
        (REVISION_KEY, revision),
        (STRUCTURE_KEY, revision),
    ] {
        set.execute((key, value.to_string()))
            .map_err(sqlite(path, "write"))?;
    }
    Ok(())
}

/// Gives a copy of a database a history of its own (schema version 4 and later; older
/// files have none): once restored, its revisions mean something else than the ones its
/// clients hold, so each of them gets a full state once.
pub(super) fn rename_history(conn: &Connection, path: &Path) -> Result<()> {
    let has_meta: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
             AND name = 'wiremesh_meta')",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite(path, "read"))?;
    if has_meta {
        conn.execute(
            "UPDATE wiremesh_meta SET value = ?2 WHERE key = ?1",
            (HISTORY_KEY, new_history_id().to_string()),
        )
        .map_err(sqlite(path, "write"))?;
    }
    Ok(())
}

/// A random name for a revision history (never 0, which clients never send).
fn new_history_id() -> u64 {
    use rand_core::RngCore as _;
    // Below 2^53, so that clients in any language read it exactly.
    (rand_core::OsRng.next_u64() >> 11).max(1)
}

/// A number kept in `wiremesh_meta`, if the key is there.
pub(super) fn read_number(conn: &Connection, path: &Path, key: &str) -> Result<Option<u64>> {
    // Read on every write (the revision): through the statement cache.
    let entry: Option<(i64, String)> = conn
        .prepare_cached("SELECT rowid, value FROM wiremesh_meta WHERE key = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(sqlite(path, "read"))?;
    entry
        .map(|(rowid, value)| {
            value.trim().parse().map_err(|_| {
                corrupt(
                    path,
                    "wiremesh_meta entry",
                    rowid,
                    format!("{key} is {value:?}, not a number"),
                )
            })
        })
        .transpose()
}

/// Reads a number that version 4 always records.
pub(super) fn require_number(conn: &Connection, path: &Path, key: &str) -> Result<u64> {
    read_number(conn, path, key)?
        .ok_or_else(|| not_a_network(path, format!("wiremesh_meta has no {key}")))
}

/// Version 3: indexes and `wiremesh_meta`. Roles already recorded are kept (the file went back
/// to version 2 because innernet opened it); otherwise `roles` are recorded after checking
/// their rows exist.
fn add_wiremesh_tables(tx: &Transaction<'_>, path: &Path, roles: NetworkRoles) -> Result<()> {
    tx.execute_batch(WIREMESH_ADDITIONS)
        .map_err(sqlite(path, "migrate"))?;
    let n_recorded: i64 = tx
        .query_row(
            "SELECT count(*) FROM wiremesh_meta WHERE key IN (?1, ?2)",
            [INFRA_CIDR_KEY, SERVER_PEER_KEY],
            |row| row.get(0),
        )
        .map_err(sqlite(path, "migrate"))?;
    if n_recorded == 2 {
        return Ok(());
    }
    let exists = |sql: &str, id: i64| -> Result<bool> {
        tx.query_row(sql, [id], |row| row.get(0))
            .map_err(sqlite(path, "migrate"))
    };
    if !exists(
        "SELECT EXISTS (SELECT 1 FROM cidrs WHERE id = ?1)",
        roles.infra_cidr.0,
    )? {
        return Err(not_a_network(
            path,
            format!(
                "it has no CIDR {} (the infra CIDR `new` creates)",
                roles.infra_cidr
            ),
        ));
    }
    if !exists(
        "SELECT EXISTS (SELECT 1 FROM peers WHERE id = ?1)",
        roles.server_peer.0,
    )? {
        return Err(not_a_network(
            path,
            format!(
                "it has no peer {} (the server peer `new` creates)",
                roles.server_peer
            ),
        ));
    }
    record_roles(tx, path, roles)
}

/// Records which rows play the fixed roles, keeping entries that already exist.
pub(super) fn record_roles(tx: &Transaction<'_>, path: &Path, roles: NetworkRoles) -> Result<()> {
    let mut insert = tx
        .prepare("INSERT OR IGNORE INTO wiremesh_meta (key, value) VALUES (?1, ?2)")
        .map_err(sqlite(path, "write"))?;
    for (key, id) in [
        (INFRA_CIDR_KEY, roles.infra_cidr.0),
        (SERVER_PEER_KEY, roles.server_peer.0),
    ] {
        insert
            .execute((key, id.to_string()))
            .map_err(sqlite(path, "write"))?;
    }
    Ok(())
}

/// Reads the roles recorded in `wiremesh_meta`.
pub(super) fn read_roles(conn: &Connection, path: &Path) -> Result<NetworkRoles> {
    let read = |key: &str| -> Result<i64> {
        let entry: Option<(i64, String)> = conn
            .query_row(
                "SELECT rowid, value FROM wiremesh_meta WHERE key = ?1",
                [key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(sqlite(path, "read"))?;
        let (rowid, value) =
            entry.ok_or_else(|| not_a_network(path, format!("wiremesh_meta has no {key}")))?;
        value.trim().parse().map_err(|_| {
            corrupt(
                path,
                "wiremesh_meta entry",
                rowid,
                format!("{key} is {value:?}, not a row id"),
            )
        })
    };
    Ok(NetworkRoles {
        infra_cidr: read(INFRA_CIDR_KEY)?.into(),
        server_peer: read(SERVER_PEER_KEY)?.into(),
    })
}

/// `PRAGMA user_version`.
pub(super) fn user_version(conn: &Connection, path: &Path) -> Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite_or_not_a_database(path, "read"))
}

/// Sets `PRAGMA user_version` (part of the transaction it runs in).
pub(super) fn set_user_version(tx: &Transaction<'_>, path: &Path, version: i64) -> Result<()> {
    tx.pragma_update(None, "user_version", version)
        .map_err(sqlite(path, "write"))
}

fn not_a_network(path: &Path, detail: String) -> StoreError {
    StoreError::NotANetwork {
        path: path.to_path_buf(),
        detail,
    }
}
