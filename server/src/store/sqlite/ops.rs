//! The [`Store`] methods of [`SqliteStore`]: each one transaction, constraint violations
//! turned into [`StoreError::Conflict`], [`StoreError::NotFound`] or [`StoreError::InUse`].
//!
//! Writes take the write lock up front (`BEGIN IMMEDIATE`), so a transaction never fails
//! half-way because another connection wrote first.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use wiremesh_shared::devices::{Device, DeviceBook};
use wiremesh_shared::policy::{Policy, Rule, RuleContents};
use wiremesh_shared::routes::{AutoApproval, Route, RouteBook, RouteContentsDraft};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents,
};
use wiremesh_shared::{AssociationId, CidrId, Endpoint, PeerId, PublicKey, RouteId, RuleId};

use super::errors::{sqlite, violation, Violation};
use super::rows::{
    association_from_row, auto_approval_from_row, candidates_json, cidr_from_row, device_from_row,
    peer_from_row, query_all, query_one, route_from_row, rule_columns, rule_from_row,
    tombstone_from_row, unix_secs, ASSOCIATION_COLUMNS, CIDR_COLUMNS, DEVICE_COLUMNS, PEER_COLUMNS,
    ROUTE_COLUMNS, RULE_COLUMNS, TOMBSTONE_COLUMNS,
};
use super::{data_version, schema, SqliteStore};
use crate::store::{
    AuditEntry, PeerFields, Result, Revisions, Settings, Snapshot, Store, StoreError, StoredToken,
    Tombstone,
};

/// Statements run through the connection's statement cache: the same few statements run
/// on every write, and parsing them again each time was a tenth of a write's cost.
trait Run {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
}

impl Run for Connection {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

impl SqliteStore {
    /// [`SqliteStore::write`] that also records an audit row (`action`, `detail`, and the
    /// actor of [`Store::set_audit_actor`]) in the same transaction, when the write changed
    /// something (stamped a revision).
    fn write_audited<T>(
        &mut self,
        action: &str,
        detail: impl FnOnce() -> String,
        write: impl FnOnce(&Transaction<'_>, &Path, &mut Stamps) -> Result<T>,
    ) -> Result<T> {
        let (actor, at) = self.audit.clone().unwrap_or_else(|| {
            (
                "unknown".to_owned(),
                unix_secs(std::time::SystemTime::now()),
            )
        });
        self.write(|tx, path, stamps| {
            let value = write(tx, path, stamps)?;
            if stamps.revision.is_some() || stamps.unseen_change {
                tx.run(
                    "INSERT INTO wiremesh_audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                    (at, &actor, action, detail()),
                )
                .map_err(sqlite(path, "record an audit entry in"))?;
            }
            Ok(value)
        })
    }

    /// Runs `write` in one `BEGIN IMMEDIATE` transaction and commits it; what it stamps is
    /// recorded at one new revision.
    fn write<T>(
        &mut self,
        write: impl FnOnce(&Transaction<'_>, &Path, &mut Stamps) -> Result<T>,
    ) -> Result<T> {
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(path, "write to"))?;
        let mut stamps = Stamps {
            revision: None,
            unseen_change: false,
        };
        let value = write(&tx, path, &mut stamps)?;
        tx.commit().map_err(sqlite(path, "commit to"))?;
        if let Some(revision) = stamps.revision {
            self.revision = revision;
        }
        Ok(value)
    }
}

/// The revision of one write transaction, taken from `wiremesh_meta` the first time it
/// records anything (a write that changes nothing keeps the revision where it was).
struct Stamps {
    revision: Option<u64>,
    /// Something changed that no peer sees (a token): audited, at no new revision.
    unseen_change: bool,
}

impl Stamps {
    fn revision(&mut self, tx: &Transaction<'_>, path: &Path) -> Result<u64> {
        if let Some(revision) = self.revision {
            return Ok(revision);
        }
        let revision = schema::require_number(tx, path, schema::REVISION_KEY)? + 1;
        tx.run(
            "UPDATE wiremesh_meta SET value = ?2 WHERE key = ?1",
            (schema::REVISION_KEY, revision.to_string()),
        )
        .map_err(sqlite(path, "write to"))?;
        self.revision = Some(revision);
        Ok(revision)
    }

    /// Records that peer `id` changed (before it is deleted, for a deletion).
    fn peer(&mut self, tx: &Transaction<'_>, path: &Path, id: i64) -> Result<()> {
        let revision = self.revision(tx, path)?;
        tx.run(
            "INSERT OR REPLACE INTO wiremesh_revisions (peer_id, cidr_id, revision) \
             SELECT id, cidr_id, ?2 FROM peers WHERE id = ?1",
            (id, revision as i64),
        )
        .map_err(sqlite(path, "write to"))?;
        Ok(())
    }

    /// Records a change of CIDRs or associations.
    fn structure(&mut self, tx: &Transaction<'_>, path: &Path) -> Result<()> {
        let revision = self.revision(tx, path)?;
        tx.run(
            "UPDATE wiremesh_meta SET value = ?2 WHERE key = ?1",
            (schema::STRUCTURE_KEY, revision.to_string()),
        )
        .map_err(sqlite(path, "write to"))?;
        Ok(())
    }
}

impl Store for SqliteStore {
    fn snapshot(&mut self) -> Result<Snapshot> {
        let path = &self.path;
        // One read transaction, so the snapshot is consistent and its data_version matches it.
        let tx = self.conn.transaction().map_err(sqlite(path, "read"))?;
        let snapshot = Snapshot {
            cidrs: query_all(
                &tx,
                path,
                &format!("SELECT {CIDR_COLUMNS} FROM cidrs ORDER BY id"),
                [],
                cidr_from_row,
            )?,
            peers: query_all(
                &tx,
                path,
                &format!("SELECT {PEER_COLUMNS} FROM peers ORDER BY id"),
                [],
                |path: &Path, row: &rusqlite::Row<'_>| peer_from_row(path, row).map(Arc::new),
            )?,
            associations: query_all(
                &tx,
                path,
                &format!("SELECT {ASSOCIATION_COLUMNS} FROM associations ORDER BY id"),
                [],
                association_from_row,
            )?,
            roles: schema::read_roles(&tx, path)?,
            policy: Arc::new(Policy {
                rules: query_all(
                    &tx,
                    path,
                    &format!("SELECT {RULE_COLUMNS} FROM wiremesh_rules ORDER BY id"),
                    [],
                    rule_from_row,
                )?,
                isolated: {
                    let mut statement = tx
                        .prepare_cached("SELECT cidr_id FROM wiremesh_isolated ORDER BY cidr_id")
                        .map_err(sqlite(path, "read"))?;
                    let ids = statement
                        .query_map([], |row| row.get::<_, i64>(0))
                        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
                        .map_err(sqlite(path, "read"))?;
                    ids.into_iter().map(CidrId).collect()
                },
            }),
            routes: Arc::new(RouteBook {
                routes: query_all(
                    &tx,
                    path,
                    &format!("SELECT {ROUTE_COLUMNS} FROM wiremesh_routes ORDER BY id"),
                    [],
                    route_from_row,
                )?,
                auto: query_all(
                    &tx,
                    path,
                    "SELECT cidr_id AS id, prefixes, exit FROM wiremesh_route_auto ORDER BY cidr_id",
                    [],
                    auto_approval_from_row,
                )?,
            }),
            devices: Arc::new(DeviceBook {
                devices: query_all(
                    &tx,
                    path,
                    &format!("SELECT {DEVICE_COLUMNS} FROM wiremesh_devices ORDER BY peer_id"),
                    [],
                    device_from_row,
                )?,
            }),
            tombstones: Arc::new(query_all(
                &tx,
                path,
                &format!("SELECT {TOMBSTONE_COLUMNS} FROM wiremesh_tombstones ORDER BY peer_id"),
                [],
                tombstone_from_row,
            )?),
            ephemeral: Arc::new({
                let mut statement = tx
                    .prepare_cached("SELECT peer_id, window_secs FROM wiremesh_ephemeral")
                    .map_err(sqlite(path, "read"))?;
                let rows = statement
                    .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<(i64, i64)>>>())
                    .map_err(sqlite(path, "read"))?;
                rows.into_iter()
                    .map(|(id, secs)| (PeerId(id), u64::try_from(secs).unwrap_or(0)))
                    .collect()
            }),
            settings: Settings {
                self_deletion: schema::read_number(&tx, path, schema::SELF_DELETION_KEY)?
                    .is_none_or(|value| value != 0),
            },
        };
        self.revision = schema::require_number(&tx, path, schema::REVISION_KEY)?;
        // Whatever others committed before this read is in the snapshot.
        self.seen_data_version = data_version(&tx, path)?;
        tx.commit().map_err(sqlite(path, "read"))?;
        Ok(snapshot)
    }

    fn set_audit_actor(&mut self, actor: &str, at: std::time::SystemTime) {
        self.audit = Some((actor.to_owned(), unix_secs(at)));
    }

    fn audit_log(&mut self, limit: usize) -> Result<Vec<AuditEntry>> {
        let path = &self.path;
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, at, actor, action, detail FROM wiremesh_audit ORDER BY id DESC LIMIT ?1",
            )
            .map_err(sqlite(path, "read"))?;
        let rows = statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok(AuditEntry {
                    id: row.get(0)?,
                    at: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    actor: row.get(2)?,
                    action: row.get(3)?,
                    detail: row.get(4)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(sqlite(path, "read the audit log of"))?;
        Ok(rows)
    }

    fn insert_token(
        &mut self,
        name: &str,
        secret_sha256: &str,
        scopes: &[String],
        created_at: u64,
        expires_at: Option<u64>,
    ) -> Result<StoredToken> {
        let detail = || {
            format!(
                "{name:?}, scopes {}, {}",
                scopes.join(","),
                expires_at.map_or_else(|| "no expiry".to_owned(), |t| format!("expires {t}"))
            )
        };
        self.write_audited("token.create", detail, |tx, path, stamps| {
            // Not a change of the network (no revision), but audited.
            stamps.unseen_change = true;
            tx.run(
                "INSERT INTO wiremesh_tokens (name, secret_sha256, scopes, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    name,
                    secret_sha256,
                    scopes.join(","),
                    secs_i64(created_at),
                    expires_at.map(secs_i64),
                ),
            )
            .map_err(|error| match violation(&error) {
                Some(Violation::Unique(_)) => conflict(format!("a token named {name:?}")),
                _ => sqlite(path, "insert a token into")(error),
            })?;
            let id = tx.last_insert_rowid();
            query_one(
                tx,
                path,
                &format!("SELECT {TOKEN_COLUMNS} FROM wiremesh_tokens WHERE id = ?1"),
                [id],
                token_from_row,
            )?
            .ok_or(StoreError::NotFound { what: "token", id })
        })
    }

    fn revoke_token(&mut self, name: &str, at: u64) -> Result<bool> {
        self.write_audited(
            "token.revoke",
            || format!("{name:?}"),
            |tx, path, stamps| {
                let found: Option<Option<i64>> = tx
                    .query_row(
                        "SELECT revoked_at FROM wiremesh_tokens WHERE name = ?1",
                        [name],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sqlite(path, "read"))?;
                match found {
                    None => Err(StoreError::NotFound {
                        what: "token",
                        id: 0,
                    }),
                    Some(Some(_)) => Ok(false),
                    Some(None) => {
                        stamps.unseen_change = true;
                        tx.run(
                            "UPDATE wiremesh_tokens SET revoked_at = ?1 WHERE name = ?2",
                            (secs_i64(at), name),
                        )
                        .map_err(sqlite(path, "revoke a token in"))?;
                        Ok(true)
                    }
                }
            },
        )
    }

    fn tokens(&mut self) -> Result<Vec<StoredToken>> {
        query_all(
            &self.conn,
            &self.path,
            &format!("SELECT {TOKEN_COLUMNS} FROM wiremesh_tokens ORDER BY id"),
            [],
            token_from_row,
        )
    }

    fn token_secret(&mut self, id: i64) -> Result<Option<(StoredToken, String)>> {
        let path = &self.path;
        let token = query_one(
            &self.conn,
            path,
            &format!("SELECT {TOKEN_COLUMNS} FROM wiremesh_tokens WHERE id = ?1"),
            [id],
            token_from_row,
        )?;
        let Some(token) = token else { return Ok(None) };
        let secret: String = self
            .conn
            .prepare_cached("SELECT secret_sha256 FROM wiremesh_tokens WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |row| row.get(0)))
            .map_err(sqlite(path, "read"))?;
        Ok(Some((token, secret)))
    }

    fn changed_by_others(&mut self) -> Result<bool> {
        // Only a snapshot that succeeds marks others' changes as read: one that fails (a busy
        // database, a row that does not validate) must leave them to be read again.
        Ok(data_version(&self.conn, &self.path)? != self.seen_data_version)
    }

    fn revision(&self) -> u64 {
        self.revision
    }

    fn revisions(&mut self) -> Result<Revisions> {
        let path = &self.path;
        let tx = self.conn.transaction().map_err(sqlite(path, "read"))?;
        let number = |key| schema::require_number(&tx, path, key);
        let mut revisions = Revisions {
            history: number(schema::HISTORY_KEY)?,
            floor: number(schema::FLOOR_KEY)?,
            current: number(schema::REVISION_KEY)?,
            structure: number(schema::STRUCTURE_KEY)?,
            peers: HashMap::new(),
        };
        let mut rows = tx
            .prepare("SELECT peer_id, cidr_id, revision FROM wiremesh_revisions")
            .map_err(sqlite(path, "read"))?;
        let rows = rows
            .query_map([], |row| {
                Ok((
                    PeerId(row.get(0)?),
                    CidrId(row.get(1)?),
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(sqlite(path, "read"))?;
        for row in rows {
            let (peer, cidr, revision) = row.map_err(sqlite(path, "read"))?;
            revisions
                .peers
                .insert(peer, (cidr, u64::try_from(revision).unwrap_or(0)));
        }
        Ok(revisions)
    }

    fn observed(&mut self) -> Result<HashMap<PublicKey, SocketAddr>> {
        let path = &self.path;
        let mut statement = self
            .conn
            .prepare("SELECT public_key, endpoint FROM wiremesh_observed")
            .map_err(sqlite(path, "read"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(sqlite(path, "read"))?;
        let mut observed = HashMap::new();
        for row in rows {
            let (key, endpoint) = row.map_err(sqlite(path, "read"))?;
            // Observations are hints: one that no longer parses is dropped, not fatal.
            if let (Ok(key), Ok(endpoint)) = (PublicKey::from_base64(&key), endpoint.parse()) {
                observed.insert(key, endpoint);
            }
        }
        Ok(observed)
    }

    fn record_change(
        &mut self,
        touched: &[(PeerId, CidrId)],
        structural: bool,
        observed: &[(PublicKey, Option<SocketAddr>)],
    ) -> Result<u64> {
        let before = self.revision;
        self.write(|tx, path, stamps| {
            let revision = stamps.revision(tx, path)?;
            let mut stamp = tx
                .prepare(
                    "INSERT OR REPLACE INTO wiremesh_revisions (peer_id, cidr_id, revision) \
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(sqlite(path, "write to"))?;
            for (peer, cidr) in touched {
                stamp
                    .execute((peer.0, cidr.0, revision as i64))
                    .map_err(sqlite(path, "write to"))?;
            }
            if structural {
                stamps.structure(tx, path)?;
            }
            let mut save = tx
                .prepare(
                    "INSERT OR REPLACE INTO wiremesh_observed (public_key, endpoint) \
                     VALUES (?1, ?2)",
                )
                .map_err(sqlite(path, "write to"))?;
            let mut forget = tx
                .prepare("DELETE FROM wiremesh_observed WHERE public_key = ?1")
                .map_err(sqlite(path, "write to"))?;
            for (key, endpoint) in observed {
                match endpoint {
                    Some(endpoint) => save.execute((key.to_base64(), endpoint.to_string())),
                    None => forget.execute([key.to_base64()]),
                }
                .map_err(sqlite(path, "write to"))?;
            }
            Ok(())
        })?;
        debug_assert!(self.revision > before);
        Ok(self.revision)
    }

    fn insert_cidr(&mut self, contents: &CidrContents) -> Result<Cidr> {
        self.write_audited(
            "cidr.create",
            || {
                format!(
                    "{:?} {} (parent {:?})",
                    contents.name,
                    contents.cidr,
                    contents.parent.map(|p| p.0)
                )
            },
            |tx, path, stamps| {
                if let Some(parent) = contents.parent {
                    require_cidr(tx, path, parent)?;
                }
                tx.run(
                    "INSERT INTO cidrs (name, ip, prefix, parent) VALUES (?1, ?2, ?3, ?4)",
                    (
                        &contents.name,
                        contents.cidr.addr().to_string(),
                        contents.cidr.prefix_len(),
                        contents.parent.map(|parent| parent.0),
                    ),
                )
                .map_err(|error| match violation(&error) {
                    Some(Violation::Unique("cidrs.name")) => {
                        conflict(format!("a CIDR named {:?}", contents.name))
                    }
                    Some(Violation::Unique(_)) => conflict(format!("CIDR {}", contents.cidr)),
                    Some(Violation::ForeignKey) => StoreError::NotFound {
                        what: "CIDR",
                        id: contents.parent.map_or(0, |parent| parent.0),
                    },
                    None => sqlite(path, "insert a CIDR into")(error),
                })?;
                let id = tx.last_insert_rowid();
                stamps.structure(tx, path)?;
                read_back(tx, path, "CIDR", id, CIDR_COLUMNS, "cidrs", cidr_from_row)
            },
        )
    }

    fn rename_cidr(&mut self, id: CidrId, name: &str) -> Result<()> {
        self.write_audited(
            "cidr.rename",
            || format!("CIDR {id} to {name:?}"),
            |tx, path, stamps| {
                let n_updated = tx
                    .run("UPDATE cidrs SET name = ?1 WHERE id = ?2", (name, id.0))
                    .map_err(|error| match violation(&error) {
                        Some(Violation::Unique(_)) => conflict(format!("a CIDR named {name:?}")),
                        _ => sqlite(path, "rename a CIDR in")(error),
                    })?;
                updated_one(n_updated, "CIDR", id.0)?;
                stamps.structure(tx, path)
            },
        )
    }

    fn delete_cidr(&mut self, id: CidrId) -> Result<()> {
        self.write_audited(
            "cidr.delete",
            || format!("CIDR {id}"),
            |tx, path, stamps| {
                let n_deleted =
                    tx.run("DELETE FROM cidrs WHERE id = ?1", [id.0])
                        .map_err(|error| match violation(&error) {
                            Some(Violation::ForeignKey) => StoreError::InUse {
                                what: "CIDR",
                                id: id.0,
                            },
                            _ => sqlite(path, "delete a CIDR from")(error),
                        })?;
                if n_deleted > 0 {
                    stamps.structure(tx, path)?;
                }
                Ok(())
            },
        )
    }

    fn insert_peer(&mut self, contents: &PeerContents) -> Result<Peer> {
        self.write_audited(
            "peer.create",
            || peer_detail(contents),
            |tx, path, stamps| insert_peer_row(tx, path, stamps, contents),
        )
    }

    fn insert_ephemeral_peer(&mut self, contents: &PeerContents, window_secs: u64) -> Result<Peer> {
        let detail = || {
            format!(
                "{}, ephemeral ({window_secs} s offline)",
                peer_detail(contents)
            )
        };
        self.write_audited("peer.create", detail, |tx, path, stamps| {
            let peer = insert_peer_row(tx, path, stamps, contents)?;
            tx.run(
                "INSERT INTO wiremesh_ephemeral (peer_id, window_secs) VALUES (?1, ?2)",
                (peer.id.0, i64::try_from(window_secs).unwrap_or(i64::MAX)),
            )
            .map_err(sqlite(path, "insert an ephemeral peer into"))?;
            Ok(peer)
        })
    }

    fn update_peer(&mut self, id: PeerId, fields: &PeerFields) -> Result<()> {
        self.write_audited(
            "peer.update",
            || {
                format!(
                    "peer {id}: name {:?}, admin {}, disabled {}, endpoint {}",
                    fields.name.as_str(),
                    fields.is_admin,
                    fields.is_disabled,
                    fields
                        .endpoint
                        .as_ref()
                        .map_or_else(|| "none".to_owned(), ToString::to_string)
                )
            },
            |tx, path, stamps| update_peer_row(tx, path, stamps, id, fields),
        )
    }

    fn redeem_peer(&mut self, id: PeerId, new_key: &PublicKey) -> Result<()> {
        self.write_audited(
            "peer.redeem",
            || format!("peer {id}, key {}", new_key.to_base64()),
            |tx, path, stamps| {
                let n_updated = tx
                    .run(
                        "UPDATE peers SET is_redeemed = 1, public_key = ?1 \
                     WHERE id = ?2 AND is_redeemed = 0",
                        (new_key.to_base64(), id.0),
                    )
                    .map_err(|error| match violation(&error) {
                        Some(Violation::Unique(_)) => {
                            conflict("a peer with this public key".into())
                        }
                        _ => sqlite(path, "redeem a peer in")(error),
                    })?;
                updated_one(n_updated, "unredeemed peer", id.0)?;
                stamps.peer(tx, path, id.0)
            },
        )
    }

    fn set_endpoint(&mut self, id: PeerId, endpoint: Option<&Endpoint>) -> Result<()> {
        self.write_audited(
            "peer.endpoint",
            || {
                format!(
                    "peer {id}: {}",
                    endpoint.map_or_else(|| "none".to_owned(), ToString::to_string)
                )
            },
            |tx, path, stamps| {
                let n_updated = tx
                    .run(
                        "UPDATE peers SET endpoint = ?1 WHERE id = ?2",
                        (endpoint.map(ToString::to_string), id.0),
                    )
                    .map_err(sqlite(path, "set an endpoint in"))?;
                updated_one(n_updated, "peer", id.0)?;
                stamps.peer(tx, path, id.0)
            },
        )
    }

    fn set_candidates(&mut self, id: PeerId, candidates: &[Endpoint]) -> Result<()> {
        self.write(|tx, path, stamps| {
            let n_updated = tx
                .run(
                    "UPDATE peers SET candidates = ?1 WHERE id = ?2",
                    (candidates_json(candidates), id.0),
                )
                .map_err(sqlite(path, "set candidates in"))?;
            updated_one(n_updated, "peer", id.0)?;
            stamps.peer(tx, path, id.0)
        })
    }

    fn delete_peer(&mut self, id: PeerId, tombstone: Option<&Tombstone>) -> Result<()> {
        self.write_audited(
            "peer.delete",
            || match tombstone {
                Some(t) => format!(
                    "peer {id} {:?} {} ({}; the address stays consumed)",
                    t.name.as_str(),
                    t.ip,
                    t.reason.as_str()
                ),
                None => format!("peer {id} (an unredeemed invitation; its address is free)"),
            },
            |tx, path, stamps| {
                let exists = |sql: &str| -> Result<bool> {
                    tx.prepare_cached(sql)
                        .and_then(|mut statement| statement.query_row([id.0], |row| row.get(0)))
                        .map_err(sqlite(path, "read"))
                };
                if !exists("SELECT EXISTS (SELECT 1 FROM peers WHERE id = ?1)")? {
                    return Err(StoreError::NotFound {
                        what: "peer",
                        id: id.0,
                    });
                }
                if exists("SELECT EXISTS (SELECT 1 FROM wiremesh_devices WHERE hub_peer_id = ?1)")?
                {
                    return Err(StoreError::InUse {
                        what: "hub peer",
                        id: id.0,
                    });
                }
                // The deleted peer keeps its revision row: the deletion is a change.
                stamps.peer(tx, path, id.0)?;
                if exists(
                    "SELECT EXISTS (SELECT 1 FROM wiremesh_rules \
                 WHERE source_peer_id = ?1 OR destination_peer_id = ?1) \
                 OR EXISTS (SELECT 1 FROM wiremesh_routes WHERE peer_id = ?1) \
                 OR EXISTS (SELECT 1 FROM wiremesh_devices WHERE peer_id = ?1)",
                )? {
                    stamps.structure(tx, path)?;
                }
                if let Some(t) = tombstone {
                    tx.run(
                        "INSERT INTO wiremesh_tombstones \
                     (ip, peer_id, name, public_key, cidr_id, deleted_at, reason) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        (
                            t.ip.to_string(),
                            t.peer.0,
                            t.name.as_str(),
                            t.public_key.to_base64(),
                            t.cidr.0,
                            i64::try_from(t.deleted_at).unwrap_or(i64::MAX),
                            t.reason.as_str(),
                        ),
                    )
                    .map_err(|error| match violation(&error) {
                        Some(Violation::Unique(_)) => {
                            conflict(format!("a tombstone for address {}", t.ip))
                        }
                        _ => sqlite(path, "record a tombstone in")(error),
                    })?;
                }
                tx.run(
                    "DELETE FROM wiremesh_observed WHERE public_key = \
                 (SELECT public_key FROM peers WHERE id = ?1)",
                    [id.0],
                )
                .map_err(sqlite(path, "delete a peer from"))?;
                tx.run("DELETE FROM wiremesh_reports WHERE peer_id = ?1", [id.0])
                    .map_err(sqlite(path, "delete a peer from"))?;
                // Routes, the device row and rules naming it go through their foreign keys.
                tx.run("DELETE FROM peers WHERE id = ?1", [id.0])
                    .map_err(sqlite(path, "delete a peer from"))?;
                Ok(())
            },
        )
    }

    fn set_settings(&mut self, settings: &Settings) -> Result<()> {
        self.write_audited(
            "settings",
            || {
                format!(
                    "self-deletion {}",
                    if settings.self_deletion {
                        "allowed"
                    } else {
                        "forbidden"
                    }
                )
            },
            |tx, path, stamps| {
                // A revision that touches no peer: the model changed, no peer's view did.
                stamps.revision(tx, path)?;
                tx.run(
                    "INSERT OR REPLACE INTO wiremesh_meta (key, value) VALUES (?1, ?2)",
                    (
                        schema::SELF_DELETION_KEY,
                        u8::from(settings.self_deletion).to_string(),
                    ),
                )
                .map_err(sqlite(path, "write to"))?;
                Ok(())
            },
        )
    }

    fn delete_expired_invites(&mut self, ids: &[PeerId]) -> Result<Vec<Peer>> {
        const INVITATION: &str = "id = ?1 AND is_redeemed = 0 AND invite_expires IS NOT NULL";
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        self.write_audited(
            "invitation.expire",
            || format!("expired invitations among peers {ids:?}"),
            |tx, path, stamps| {
                let mut expired = Vec::new();
                for id in &ids {
                    let found = query_all(
                        tx,
                        path,
                        &format!("SELECT {PEER_COLUMNS} FROM peers WHERE {INVITATION}"),
                        [id.0],
                        peer_from_row,
                    )?;
                    for peer in found {
                        // The deleted invitation keeps its revision row: the deletion is a change.
                        stamps.peer(tx, path, peer.id.0)?;
                        // Rules naming it go with it (the foreign keys cascade): a policy change.
                        let named: bool = tx
                            .query_row(
                                "SELECT EXISTS (SELECT 1 FROM wiremesh_rules \
                             WHERE source_peer_id = ?1 OR destination_peer_id = ?1)",
                                [peer.id.0],
                                |row| row.get(0),
                            )
                            .map_err(sqlite(path, "read"))?;
                        if named {
                            stamps.structure(tx, path)?;
                        }
                        tx.run(&format!("DELETE FROM peers WHERE {INVITATION}"), [id.0])
                            .map_err(sqlite(path, "delete expired invitations from"))?;
                        expired.push(peer);
                    }
                }
                Ok(expired)
            },
        )
    }

    fn insert_association(&mut self, contents: &AssociationContents) -> Result<Association> {
        let (cidr_id_1, cidr_id_2) = (contents.cidr_id_1, contents.cidr_id_2);
        self.write_audited(
            "association.create",
            || {
                format!(
                    "CIDR {} and CIDR {}",
                    contents.cidr_id_1, contents.cidr_id_2
                )
            },
            |tx, path, stamps| {
                require_cidr(tx, path, cidr_id_1)?;
                require_cidr(tx, path, cidr_id_2)?;
                if cidr_id_1 == cidr_id_2 {
                    // A CIDR's peers always see each other: that link exists implicitly.
                    return Err(conflict(format!(
                        "an association between CIDR {cidr_id_1} and itself"
                    )));
                }
                let already: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM associations \
                     WHERE (cidr_id_1 = ?1 AND cidr_id_2 = ?2) \
                     OR (cidr_id_1 = ?2 AND cidr_id_2 = ?1))",
                        [cidr_id_1.0, cidr_id_2.0],
                        |row| row.get(0),
                    )
                    .map_err(sqlite(path, "read"))?;
                if already {
                    return Err(conflict(ASSOCIATION_EXISTS.into()));
                }
                tx.run(
                    "INSERT INTO associations (cidr_id_1, cidr_id_2) VALUES (?1, ?2)",
                    [cidr_id_1.0, cidr_id_2.0],
                )
                .map_err(|error| match violation(&error) {
                    Some(Violation::Unique(_)) => conflict(ASSOCIATION_EXISTS.into()),
                    _ => sqlite(path, "insert an association into")(error),
                })?;
                let id = AssociationId(tx.last_insert_rowid());
                stamps.structure(tx, path)?;
                Ok(Association {
                    id,
                    contents: contents.clone(),
                })
            },
        )
    }

    fn delete_association(&mut self, id: AssociationId) -> Result<()> {
        self.write_audited(
            "association.delete",
            || format!("association {id}"),
            |tx, path, stamps| {
                let n_deleted = tx
                    .run("DELETE FROM associations WHERE id = ?1", [id.0])
                    .map_err(sqlite(path, "delete an association from"))?;
                if n_deleted > 0 {
                    stamps.structure(tx, path)?;
                }
                Ok(())
            },
        )
    }

    fn insert_rule(&mut self, contents: &RuleContents) -> Result<Rule> {
        self.write_audited(
            "rule.create",
            || serde_json::to_string(contents).unwrap_or_default(),
            |tx, path, stamps| {
                tx.run(
                    "INSERT INTO wiremesh_rules (association_id, cidr_id, source_cidr_id, \
                 source_peer_id, destination_cidr_id, destination_peer_id, protocol, ports, note, \
                 destination_route) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    rule_columns(contents),
                )
                .map_err(|error| match violation(&error) {
                    Some(Violation::ForeignKey) => StoreError::NotFound {
                        what: "CIDR, association or peer named by the rule",
                        id: 0,
                    },
                    _ => sqlite(path, "insert a rule into")(error),
                })?;
                let id = tx.last_insert_rowid();
                stamps.structure(tx, path)?;
                read_back(
                    tx,
                    path,
                    "rule",
                    id,
                    RULE_COLUMNS,
                    "wiremesh_rules",
                    rule_from_row,
                )
            },
        )
    }

    fn delete_rule(&mut self, id: RuleId) -> Result<()> {
        self.write_audited(
            "rule.delete",
            || format!("rule {id}"),
            |tx, path, stamps| {
                let n_deleted = tx
                    .run("DELETE FROM wiremesh_rules WHERE id = ?1", [id.0])
                    .map_err(sqlite(path, "delete a rule from"))?;
                updated_one(n_deleted, "rule", id.0)?;
                stamps.structure(tx, path)
            },
        )
    }

    fn set_isolated(&mut self, id: CidrId, isolated: bool) -> Result<bool> {
        self.write_audited(
            "cidr.isolation",
            || format!("CIDR {id} isolated: {isolated}"),
            |tx, path, stamps| {
                require_cidr(tx, path, id)?;
                let sql = if isolated {
                    "INSERT OR IGNORE INTO wiremesh_isolated (cidr_id) VALUES (?1)"
                } else {
                    "DELETE FROM wiremesh_isolated WHERE cidr_id = ?1"
                };
                let changed = tx.run(sql, [id.0]).map_err(sqlite(path, "write to"))? > 0;
                if changed {
                    stamps.structure(tx, path)?;
                }
                Ok(changed)
            },
        )
    }

    fn set_routes(
        &mut self,
        gateway: PeerId,
        routes: &[(RouteContentsDraft, bool)],
    ) -> Result<Vec<Route>> {
        let select =
            format!("SELECT {ROUTE_COLUMNS} FROM wiremesh_routes WHERE peer_id = ?1 ORDER BY id");
        let detail = || {
            let nets: Vec<String> = routes
                .iter()
                .map(|(r, approved)| {
                    format!("{}{}", r.net, if *approved { " (approved)" } else { "" })
                })
                .collect();
            format!("gateway peer {gateway}: [{}]", nets.join(", "))
        };
        self.write_audited("routes.set", detail, |tx, path, stamps| {
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM peers WHERE id = ?1)",
                    [gateway.0],
                    |row| row.get(0),
                )
                .map_err(sqlite(path, "read"))?;
            if !exists {
                return Err(StoreError::NotFound {
                    what: "peer",
                    id: gateway.0,
                });
            }
            let before = query_all(tx, path, &select, [gateway.0], route_from_row)?;
            let mut changed = false;
            for old in &before {
                if !routes
                    .iter()
                    .any(|(draft, _)| draft.net == old.contents.net)
                {
                    tx.run("DELETE FROM wiremesh_routes WHERE id = ?1", [old.id.0])
                        .map_err(sqlite(path, "withdraw a route from"))?;
                    changed = true;
                }
            }
            for (draft, approved) in routes {
                let kind = draft.kind.as_str();
                match before.iter().find(|old| old.contents.net == draft.net) {
                    Some(old) if old.contents.kind == draft.kind && old.approved == *approved => {}
                    Some(old) => {
                        tx.run(
                            "UPDATE wiremesh_routes SET kind = ?2, approved = ?3 WHERE id = ?1",
                            (old.id.0, kind, *approved),
                        )
                        .map_err(sqlite(path, "update a route in"))?;
                        changed = true;
                    }
                    None => {
                        tx.run(
                            "INSERT INTO wiremesh_routes (peer_id, net, kind, approved) \
                             VALUES (?1, ?2, ?3, ?4)",
                            (gateway.0, draft.net.to_string(), kind, *approved),
                        )
                        .map_err(sqlite(path, "insert a route into"))?;
                        changed = true;
                    }
                }
            }
            if changed {
                stamps.structure(tx, path)?;
            }
            query_all(tx, path, &select, [gateway.0], route_from_row)
        })
    }

    fn set_route_approval(&mut self, ids: &[RouteId], approved: bool) -> Result<bool> {
        self.write_audited(
            if approved {
                "routes.approve"
            } else {
                "routes.revoke"
            },
            || format!("routes {ids:?}"),
            |tx, path, stamps| {
                let mut changed = false;
                for id in ids {
                    let exists: bool = tx
                        .query_row(
                            "SELECT EXISTS (SELECT 1 FROM wiremesh_routes WHERE id = ?1)",
                            [id.0],
                            |row| row.get(0),
                        )
                        .map_err(sqlite(path, "read"))?;
                    if !exists {
                        return Err(StoreError::NotFound {
                            what: "route",
                            id: id.0,
                        });
                    }
                    changed |= tx
                    .run(
                        "UPDATE wiremesh_routes SET approved = ?2 WHERE id = ?1 AND approved != ?2",
                        (id.0, approved),
                    )
                    .map_err(sqlite(path, "approve a route in"))?
                    > 0;
                }
                if changed {
                    stamps.structure(tx, path)?;
                }
                Ok(changed)
            },
        )
    }

    fn set_auto_approval(&mut self, approval: &AutoApproval) -> Result<bool> {
        let prefixes: Vec<String> = approval.prefixes.iter().map(|p| p.to_string()).collect();
        let prefixes = prefixes.join(",");
        let cidr = approval.cidr;
        let remove = approval.prefixes.is_empty() && !approval.exit;
        self.write_audited(
            "routes.auto-approve",
            || format!("{approval:?}"),
            |tx, path, stamps| {
                require_cidr(tx, path, cidr)?;
                let before: Option<(String, bool)> = tx
                    .query_row(
                        "SELECT prefixes, exit FROM wiremesh_route_auto WHERE cidr_id = ?1",
                        [cidr.0],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .map(Some)
                    .or_else(|error| match error {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })
                    .map_err(sqlite(path, "read"))?;
                if remove {
                    if before.is_none() {
                        return Ok(false);
                    }
                    tx.run(
                        "DELETE FROM wiremesh_route_auto WHERE cidr_id = ?1",
                        [cidr.0],
                    )
                    .map_err(sqlite(path, "write to"))?;
                } else {
                    if before.as_ref() == Some(&(prefixes.clone(), approval.exit)) {
                        return Ok(false);
                    }
                    tx.run(
                        "INSERT OR REPLACE INTO wiremesh_route_auto (cidr_id, prefixes, exit) \
                     VALUES (?1, ?2, ?3)",
                        (cidr.0, &prefixes, approval.exit),
                    )
                    .map_err(sqlite(path, "write to"))?;
                }
                stamps.structure(tx, path)?;
                Ok(true)
            },
        )
    }

    fn insert_device(
        &mut self,
        contents: &PeerContents,
        device: &Device,
        retire: Option<(PeerId, &PeerFields)>,
    ) -> Result<(Peer, Device)> {
        let detail = || {
            let retired = retire.map_or_else(String::new, |(old, _)| {
                format!(", replacing peer {old} (disabled)")
            });
            format!(
                "{}, hub peer {}, key {}{}{retired}",
                peer_detail(contents),
                device.hub,
                device.key.as_str(),
                if device.full_tunnel {
                    ", full tunnel"
                } else {
                    ""
                }
            )
        };
        self.write_audited("device.create", detail, |tx, path, stamps| {
            if let Some((old, fields)) = retire {
                update_peer_row(tx, path, stamps, old, fields)?;
            }
            let peer = insert_peer_row(tx, path, stamps, contents)?;
            tx.run(
                "INSERT INTO wiremesh_devices \
                 (peer_id, hub_peer_id, key_source, full_tunnel, preshared_key, issued) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    peer.id.0,
                    device.hub.0,
                    device.key.as_str(),
                    device.full_tunnel,
                    device.preshared_key.as_ref().map(|k| k.to_base64()),
                    &device.issued,
                ),
            )
            .map_err(|error| match violation(&error) {
                Some(Violation::ForeignKey) => StoreError::NotFound {
                    what: "peer",
                    id: device.hub.0,
                },
                _ => sqlite(path, "insert a device into")(error),
            })?;
            stamps.structure(tx, path)?;
            let stored = Device {
                peer: peer.id,
                ..device.clone()
            };
            Ok((peer, stored))
        })
    }

    fn set_device_issued(&mut self, id: PeerId, issued: &str) -> Result<()> {
        self.write_audited(
            "device.issue",
            || format!("device {id}, configuration {issued}"),
            |tx, path, stamps| {
                let n_updated = tx
                    .run(
                        "UPDATE wiremesh_devices SET issued = ?2 WHERE peer_id = ?1",
                        (id.0, issued),
                    )
                    .map_err(sqlite(path, "write to"))?;
                updated_one(n_updated, "device", id.0)?;
                stamps.peer(tx, path, id.0)
            },
        )
    }

    fn reports(&mut self) -> Result<HashMap<PeerId, String>> {
        let path = &self.path;
        let mut statement = self
            .conn
            .prepare_cached("SELECT peer_id, report FROM wiremesh_reports")
            .map_err(sqlite(path, "read"))?;
        let rows = statement
            .query_map([], |row| Ok((PeerId(row.get(0)?), row.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<HashMap<PeerId, String>>>())
            .map_err(sqlite(path, "read"))?;
        Ok(rows)
    }

    fn save_report(&mut self, id: PeerId, report: &str) -> Result<()> {
        // Not a change of the network: no revision.
        self.write(|tx, path, _| {
            tx.run(
                "INSERT OR REPLACE INTO wiremesh_reports (peer_id, report) VALUES (?1, ?2)",
                (id.0, report),
            )
            .map_err(sqlite(path, "write to"))?;
            Ok(())
        })
    }
}

const ASSOCIATION_EXISTS: &str = "an association between these CIDRs";

fn conflict(what: String) -> StoreError {
    StoreError::Conflict { what }
}

/// Which of a peer's unique columns `columns` names, as a conflict.
fn peer_conflict(columns: &str, contents: &PeerContents) -> StoreError {
    conflict(match columns {
        "peers.name" => format!("a peer named {:?}", contents.name.as_str()),
        "peers.ip" => format!("a peer with IP {}", contents.ip),
        "peers.public_key" => "a peer with this public key".to_owned(),
        _ => format!("a peer with the same {columns}"),
    })
}

/// `NotFound` unless exactly one row was updated (ids are primary keys: never more).
fn updated_one(n_updated: usize, what: &'static str, id: i64) -> Result<()> {
    if n_updated == 0 {
        return Err(StoreError::NotFound { what, id });
    }
    Ok(())
}

/// `NotFound` unless CIDR `id` exists.
fn require_cidr(conn: &Connection, path: &Path, id: CidrId) -> Result<()> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM cidrs WHERE id = ?1)",
            [id.0],
            |row| row.get(0),
        )
        .map_err(sqlite(path, "read"))?;
    if !exists {
        return Err(StoreError::NotFound {
            what: "CIDR",
            id: id.0,
        });
    }
    Ok(())
}

/// Reads back the row just inserted, so callers get exactly what a snapshot would return.
fn read_back<T>(
    conn: &Connection,
    path: &Path,
    what: &'static str,
    id: i64,
    columns: &str,
    table: &str,
    convert: fn(&Path, &rusqlite::Row<'_>) -> Result<T>,
) -> Result<T> {
    let sql = format!("SELECT {columns} FROM {table} WHERE id = ?1");
    query_one(conn, path, &sql, [id], convert)?.ok_or(StoreError::NotFound { what, id })
}

/// Inserts a peer row inside the caller's transaction and reads it back.
fn insert_peer_row(
    tx: &Transaction<'_>,
    path: &Path,
    stamps: &mut Stamps,
    contents: &PeerContents,
) -> Result<Peer> {
    require_cidr(tx, path, contents.cidr_id)?;
    let consumed: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM wiremesh_tombstones WHERE ip = ?1)")
        .and_then(|mut s| s.query_row([contents.ip.to_string()], |row| row.get(0)))
        .map_err(sqlite(path, "read"))?;
    if consumed {
        return Err(conflict(format!(
            "a deleted peer's address {} (addresses are never given to another key)",
            contents.ip
        )));
    }
    // One more than any id a peer ever had: a deleted peer's id is never given again, so an
    // id in a script or a log names one peer for good.
    let id: i64 = tx
        .prepare_cached(
            "SELECT max(coalesce((SELECT max(id) FROM peers), 0), \
             coalesce((SELECT max(peer_id) FROM wiremesh_tombstones), 0)) + 1",
        )
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(sqlite(path, "read"))?;
    tx.run(
        &format!(
            "INSERT INTO peers ({PEER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        (
            id,
            contents.name.as_str(),
            contents.ip.to_string(),
            contents.cidr_id.0,
            contents.public_key.to_base64(),
            contents.endpoint.as_ref().map(ToString::to_string),
            contents.is_admin,
            contents.is_disabled,
            contents.is_redeemed,
            contents.invite_expires.map(unix_secs),
            candidates_json(&contents.candidates),
        ),
    )
    .map_err(|error| match violation(&error) {
        Some(Violation::Unique(columns)) => peer_conflict(columns, contents),
        Some(Violation::ForeignKey) => StoreError::NotFound {
            what: "CIDR",
            id: contents.cidr_id.0,
        },
        None => sqlite(path, "insert a peer into")(error),
    })?;
    stamps.peer(tx, path, id)?;
    read_back(tx, path, "peer", id, PEER_COLUMNS, "peers", peer_from_row)
}

/// Updates a peer row inside the caller's transaction. A device's change is structural:
/// the peers that reach it through its hub receive it with their routes.
fn update_peer_row(
    tx: &Transaction<'_>,
    path: &Path,
    stamps: &mut Stamps,
    id: PeerId,
    fields: &PeerFields,
) -> Result<()> {
    let n_updated = tx
        .run(
            "UPDATE peers SET name = ?1, endpoint = ?2, is_admin = ?3, is_disabled = ?4, \
             candidates = ?5 WHERE id = ?6",
            (
                fields.name.as_str(),
                fields.endpoint.as_ref().map(ToString::to_string),
                fields.is_admin,
                fields.is_disabled,
                candidates_json(&fields.candidates),
                id.0,
            ),
        )
        .map_err(|error| match violation(&error) {
            Some(Violation::Unique(_)) => {
                conflict(format!("a peer named {:?}", fields.name.as_str()))
            }
            _ => sqlite(path, "update a peer in")(error),
        })?;
    updated_one(n_updated, "peer", id.0)?;
    stamps.peer(tx, path, id.0)?;
    if is_device(tx, path, id)? {
        stamps.structure(tx, path)?;
    }
    Ok(())
}

/// Whether peer `id` is a device.
fn is_device(tx: &Transaction<'_>, path: &Path, id: PeerId) -> Result<bool> {
    tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM wiremesh_devices WHERE peer_id = ?1)")
        .and_then(|mut statement| statement.query_row([id.0], |row| row.get(0)))
        .map_err(sqlite(path, "read"))
}

/// A new peer as the audit log describes it.
fn peer_detail(contents: &PeerContents) -> String {
    format!(
        "{:?} {} in CIDR {}{}{}",
        contents.name.as_str(),
        contents.ip,
        contents.cidr_id,
        if contents.is_admin { ", admin" } else { "" },
        if contents.is_redeemed {
            ""
        } else {
            ", invitation"
        }
    )
}

fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Columns of `wiremesh_tokens` that [`token_from_row`] reads.
const TOKEN_COLUMNS: &str = "id, name, scopes, created_at, expires_at, revoked_at";

/// Reads a `wiremesh_tokens` row selected with [`TOKEN_COLUMNS`].
fn token_from_row(path: &Path, row: &rusqlite::Row<'_>) -> Result<StoredToken> {
    let read = |error| sqlite(path, "read")(error);
    let secs = |value: i64| u64::try_from(value).unwrap_or(0);
    let scopes: String = row.get("scopes").map_err(read)?;
    Ok(StoredToken {
        id: row.get("id").map_err(read)?,
        name: row.get("name").map_err(read)?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: secs(row.get("created_at").map_err(read)?),
        expires_at: row
            .get::<_, Option<i64>>("expires_at")
            .map_err(read)?
            .map(secs),
        revoked_at: row
            .get::<_, Option<i64>>("revoked_at")
            .map_err(read)?
            .map(secs),
    })
}
