//! Helpers shared by the SQLite store tests: a seeded store, innernet databases of every
//! schema version, raw access to a file and a one-line description of an outcome.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rusqlite::Connection;
use tempfile::TempDir;
use wiremesh_shared::fixture::{key_for, Family, Fixture, ADMIN, DEVELOPER, ROOT, SERVER, USER1};
use wiremesh_shared::wire::{Association, Cidr, CidrContents, Peer, PeerContents};
use wiremesh_shared::{CidrId, Endpoint, PeerId, PublicKey};

use super::{NewNetwork, SqliteStore};
use crate::store::{Result, Store, StoreError};

/// Where peers reach the test server.
pub(super) const SERVER_ENDPOINT: &str = "192.0.2.1:51820";

/// The `new` arguments that produce the fixture's root CIDR, infra CIDR and server peer.
/// A snapshot's peers as plain values, to compare with a fixture's.
pub(super) fn plain(peers: &[std::sync::Arc<Peer>]) -> Vec<Peer> {
    peers.iter().map(|p| Peer::clone(p)).collect()
}

pub(super) fn new_network(fx: &Fixture) -> NewNetwork {
    let server = fx.peer(SERVER);
    NewNetwork {
        name: fx.cidr(ROOT).name.clone(),
        root: fx.cidr(ROOT).cidr,
        infra_name: "innernet-server".to_owned(),
        server_name: server.name.clone(),
        server_ip: server.ip,
        server_key: key_for(SERVER),
        external_endpoint: SERVER_ENDPOINT.parse().expect("endpoint"),
    }
}

/// A store holding the whole fixture network (plus an ADMIN–DEVELOPER association), and the
/// fixture adjusted to what the store holds (the server peer's endpoint).
pub(super) fn seeded(family: Family) -> (TempDir, SqliteStore, Fixture) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut fx = Fixture::new(family);
    fx.associate(ADMIN, DEVELOPER);
    fx.peer_mut(SERVER).contents.endpoint = Some(SERVER_ENDPOINT.parse().expect("endpoint"));
    let path = dir.path().join("net.db");
    let mut store = SqliteStore::create(&path, new_network(&fx)).expect("create");
    for cidr in &fx.cidrs[2..] {
        let stored = store.insert_cidr(&cidr.contents).expect("insert cidr");
        assert_eq!(&stored, cidr);
    }
    for peer in &fx.peers[1..] {
        let stored = store.insert_peer(&peer.contents).expect("insert peer");
        assert_eq!(&stored, peer);
    }
    for association in &fx.associations {
        let stored = store
            .insert_association(&association.contents)
            .expect("insert association");
        assert_eq!(&stored, association);
    }
    (dir, store, fx)
}

/// A short, comparable description of an outcome: `ok`, `Conflict(…)`, `NotFound(CIDR 9)`.
pub(super) fn outcome<T>(result: &Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(StoreError::Conflict { what }) => format!("Conflict({what})"),
        Err(StoreError::NotFound { what, id }) => format!("NotFound({what} {id})"),
        Err(StoreError::InUse { what, id }) => format!("InUse({what} {id})"),
        Err(StoreError::Corrupt { what, id, .. }) => format!("Corrupt({what} {id})"),
        Err(StoreError::TooNew { found, .. }) => format!("TooNew({found})"),
        Err(StoreError::NotANetwork { .. }) => "NotANetwork".to_owned(),
        Err(StoreError::Sqlite { action, .. }) => format!("Sqlite({action})"),
    }
}

/// A plain connection to a database file, for setting up and inspecting what the store sees.
pub(super) fn raw(path: &Path) -> Connection {
    Connection::open(path).expect("open raw connection")
}

pub(super) fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).expect("read fixture")
}

/// A database with exactly innernet 2.0.0's schema and no rows, at schema version 2.
pub(super) fn innernet_schema_db(path: &Path) -> Connection {
    let conn = raw(path);
    conn.execute_batch(&fixture_text("innernet-2.0.0-schema.sql"))
        .expect("golden schema");
    conn.pragma_update(None, "user_version", 2)
        .expect("user_version");
    conn
}

/// The golden `evilcorp` network as innernet stores it at schema `version` (0, 1 or 2): the
/// 2.0.0 database, minus the columns later versions added.
pub(super) fn innernet_db(path: &Path, version: i64) {
    let conn = innernet_schema_db(path);
    conn.execute_batch(&fixture_text("innernet-2.0.0-rows.sql"))
        .expect("golden rows");
    if version < 2 {
        conn.execute_batch("ALTER TABLE peers DROP COLUMN candidates")
            .expect("drop candidates");
    }
    if version < 1 {
        conn.execute_batch("ALTER TABLE peers DROP COLUMN invite_expires")
            .expect("drop invite_expires");
    }
    conn.pragma_update(None, "user_version", version)
        .expect("user_version");
}

/// What the golden network reads back as from a database of schema `version`: innernet's
/// own admin listings, minus what older schemas could not hold.
pub(super) fn innernet_expected(version: i64) -> (Vec<Cidr>, Vec<Peer>, Vec<Association>) {
    let read = |name: &str| fixture_text(&format!("innernet-2.0.0-admin-{name}.json"));
    let cidrs = serde_json::from_str(&read("cidrs")).expect("golden cidrs");
    let mut peers: Vec<Peer> = serde_json::from_str(&read("peers")).expect("golden peers");
    let associations = serde_json::from_str(&read("associations")).expect("golden associations");
    for peer in &mut peers {
        if version < 2 {
            peer.contents.candidates = Vec::new();
        }
        if version < 1 {
            peer.contents.invite_expires = None;
        }
    }
    (cidrs, peers, associations)
}

/// The candidates of a peer, parsed from strings.
pub(super) fn endpoints(list: &[&str]) -> Vec<Endpoint> {
    list.iter()
        .map(|text| text.parse().expect("endpoint"))
        .collect()
}

pub(super) type Write = fn(&mut SqliteStore, &Fixture) -> Result<()>;

/// Does nothing: the setup of cases that need none.
pub(super) fn no_setup(_: &mut SqliteStore, _: &Fixture) -> Result<()> {
    Ok(())
}

/// On a fresh seeded store for `family`, runs `setup` (which must succeed), then `write`;
/// checks the outcome of `write` and, when it failed, that it changed nothing. Returns the
/// store for further checks.
pub(super) fn check<T>(
    family: Family,
    setup: Write,
    write: impl FnOnce(&mut SqliteStore, &Fixture) -> Result<T>,
    expected: &str,
) -> (tempfile::TempDir, SqliteStore, Fixture) {
    let (dir, mut store, fx) = seeded(family);
    setup(&mut store, &fx).expect("setup");
    let before = store.snapshot().expect("snapshot");
    let result = write(&mut store, &fx);
    assert_eq!(outcome(&result), expected, "{family:?}");
    if result.is_err() {
        assert_eq!(store.snapshot().expect("snapshot"), before, "{family:?}");
    }
    (dir, store, fx)
}

/// Adds CIDR 6, `empty`, a second root without peers or children.
pub(super) fn add_empty_cidr(store: &mut SqliteStore, _: &Fixture) -> Result<()> {
    let contents = CidrContents {
        name: "empty".to_owned(),
        cidr: "10.99.0.0/16".parse().expect("network"),
        parent: None,
    };
    store.insert_cidr(&contents).map(drop)
}

pub(super) const EMPTY: CidrId = CidrId(6);

/// Adds peer 7, `guest`, an unredeemed invitation without expiry.
pub(super) fn add_guest(store: &mut SqliteStore, fx: &Fixture) -> Result<()> {
    store.insert_peer(&invite(fx, "guest", None)).map(drop)
}

pub(super) const GUEST: PeerId = PeerId(7);

pub(super) fn key(byte: u8) -> PublicKey {
    PublicKey::from_bytes([byte; 32])
}

/// A new, unredeemed peer in `USER` (address free in the fixture).
pub(super) fn invite(fx: &Fixture, name: &str, expires: Option<SystemTime>) -> PeerContents {
    let mut contents = fx.peer(USER1).contents.clone();
    contents.name = name.parse().expect("name");
    contents.ip = fx
        .family
        .pick("10.80.130.7", "fd00:1337::8000:0:0:7")
        .parse()
        .expect("ip");
    contents.public_key = key(7);
    contents.is_redeemed = false;
    contents.invite_expires = expires;
    contents
}
