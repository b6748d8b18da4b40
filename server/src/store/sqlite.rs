//! The SQLite store: one database file per network, readable by innernet-server 2.0.0.
//!
//! [`SqliteStore`] keeps innernet's three tables exactly as innernet defines them (compat §4) and
//! adds only indexes and a `wiremesh_meta` table, so an existing innernet database can be
//! served, and a wiremesh one handed back to innernet. Every connection runs with foreign keys
//! on, WAL journaling and `synchronous = FULL`: a write returns only once it is durable.
//!
//! Submodules: `schema` (tables, settings, migrations), `rows` (row ↔ domain conversions),
//! `ops` (the [`Store`](crate::store::Store) methods), `errors` (constraint → domain errors).

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use wiremesh_shared::acl::NetworkRoles;
use wiremesh_shared::{Endpoint, Hostname, PublicKey};

use super::{Result, Snapshot, Store, StoreError};
use errors::sqlite;

mod errors;
mod ops;
mod rows;
mod schema;

#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_migrations;
#[cfg(test)]
mod tests_peers;
#[cfg(test)]
mod tests_policy;
#[cfg(test)]
mod tests_routes;
#[cfg(test)]
mod tests_support;
#[cfg(test)]
mod tests_writes;

pub use schema::SUPPORTED_VERSION;

/// How long copying a database waits for another connection's lock before giving up.
const COPY_TIMEOUT: Duration = Duration::from_secs(5);

/// What `wiremesh-server new` puts into a fresh database (compat §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNetwork {
    /// The network's name, given to the root CIDR (id 1).
    pub name: String,
    /// The whole network, kept as given.
    pub root: IpNet,
    /// Name of the infra CIDR (id 2) holding only the server; innernet uses `innernet-server`.
    pub infra_name: String,
    /// Name of the server peer (id 1).
    pub server_name: Hostname,
    /// The server's address inside `root`; the infra CIDR is this /32 or /128.
    pub server_ip: IpAddr,
    pub server_key: PublicKey,
    /// Where peers reach the server.
    pub external_endpoint: Endpoint,
}

/// A network's database file and one connection to it.
///
/// Owned by one thread at a time (it is `Send`, not `Sync`); every method blocks on SQLite.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// `PRAGMA data_version` when this connection last looked: it moves only when another
    /// connection commits, which is how [`Store::changed_by_others`] notices the CLI's writes.
    seen_data_version: i64,
    /// The newest revision this connection read or wrote.
    revision: u64,
    /// Who makes the changes, and when (UNIX seconds): see [`Store::set_audit_actor`].
    audit: Option<(String, i64)>,
}

impl SqliteStore {
    /// Creates the database of a new network at `path`, which must not exist yet: a file only
    /// its owner may read (mode 0600), innernet's tables plus wiremesh's, and the root CIDR,
    /// infra CIDR and server peer, all in one transaction. On failure no file is left behind.
    pub fn create(path: &Path, network: NewNetwork) -> Result<Self> {
        create_private_file(path)?;
        let created = Self::create_in(path, &network);
        if created.is_err() {
            remove_database_files(path);
        }
        created
    }

    fn create_in(path: &Path, network: &NewNetwork) -> Result<Self> {
        let mut conn = open_existing(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        schema::configure(&conn, path)?;
        schema::make_durable(&conn, path)?;
        let server_prefix = if network.server_ip.is_ipv4() { 32 } else { 128 };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(path, "create"))?;
        schema::create_tables(&tx, path)?;
        let roles = NetworkRoles::CREATED_BY_NEW;
        tx.execute(
            "INSERT INTO cidrs (id, name, ip, prefix, parent) VALUES (1, ?1, ?2, ?3, NULL)",
            (
                &network.name,
                network.root.addr().to_string(),
                network.root.prefix_len(),
            ),
        )
        .map_err(sqlite(path, "create"))?;
        tx.execute(
            "INSERT INTO cidrs (id, name, ip, prefix, parent) VALUES (?1, ?2, ?3, ?4, 1)",
            (
                roles.infra_cidr.0,
                &network.infra_name,
                network.server_ip.to_string(),
                server_prefix,
            ),
        )
        .map_err(sqlite(path, "create"))?;
        tx.execute(
            "INSERT INTO peers (id, name, ip, cidr_id, public_key, endpoint, is_admin, \
             is_disabled, is_redeemed, invite_expires, candidates) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0, 1, NULL, '[]')",
            (
                roles.server_peer.0,
                network.server_name.as_str(),
                network.server_ip.to_string(),
                roles.infra_cidr.0,
                network.server_key.to_base64(),
                network.external_endpoint.to_string(),
            ),
        )
        .map_err(sqlite(path, "create"))?;
        schema::record_roles(&tx, path, roles)?;
        schema::set_user_version(&tx, path, SUPPORTED_VERSION)?;
        tx.commit().map_err(sqlite(path, "create"))?;
        Self::with_connection(conn, path)
    }

    /// Opens an existing wiremesh or innernet database and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = open_existing(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        schema::configure(&conn, path)?;
        schema::check_network(&conn, path)?;
        schema::make_durable(&conn, path)?;
        schema::migrate(&mut conn, path)?;
        Self::with_connection(conn, path)
    }

    /// Copies the innernet database `src` (schema version 0 to 2) into a new wiremesh database
    /// at `dest` (mode 0600) with SQLite's online backup, migrates the copy and reads it.
    /// `src` is opened read-only and never modified; on failure `dest` is not left behind.
    pub fn import_innernet(src: &Path, dest: &Path) -> Result<Snapshot> {
        let source = open_existing(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        schema::configure(&source, src)?;
        schema::check_network(&source, src)?;
        create_private_file(dest)?;
        let imported = copy_database(&source, src, dest).and_then(|()| {
            let mut store = Self::open(dest)?;
            store.snapshot()
        });
        if imported.is_err() {
            remove_database_files(dest);
        }
        imported
    }

    /// Writes a consistent copy of the database to `dest` (which must not exist, created with
    /// mode 0600) with SQLite's online backup; other connections may keep writing meanwhile.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        publish_copy(dest, |partial| {
            copy_database(&self.conn, &self.path, partial)
        })
    }

    /// Writes a consistent copy of the database file `src` to `dest` (which must not exist;
    /// created with mode 0600) with SQLite's online backup, while other connections (a running
    /// `serve`) may keep writing. `src` is opened read-only and never migrated, so the copy has
    /// the schema the source has. The copy is then checked with `PRAGMA integrity_check`;
    /// returns its number of CIDRs and peers. On failure no copy is left behind.
    pub fn backup_file(src: &Path, dest: &Path) -> Result<(usize, usize)> {
        let source = open_existing(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        schema::configure(&source, src)?;
        schema::check_network(&source, src)?;
        publish_copy(dest, |partial| {
            copy_database(&source, src, partial).and_then(|()| verify_copy(partial))
        })
    }

    /// Whether SQLite's `PRAGMA integrity_check` finds the file sound.
    pub fn integrity_check(&self) -> Result<bool> {
        let mut statement = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(sqlite(&self.path, "check"))?;
        let findings = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(sqlite(&self.path, "check"))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(sqlite(&self.path, "check"))?;
        Ok(findings == ["ok"])
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_connection(conn: Connection, path: &Path) -> Result<Self> {
        let seen_data_version = data_version(&conn, path)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            seen_data_version,
            revision: 0,
            audit: None,
        })
    }
}

/// `PRAGMA data_version` of this connection.
fn data_version(conn: &Connection, path: &Path) -> Result<i64> {
    conn.pragma_query_value(None, "data_version", |row| row.get(0))
        .map_err(sqlite(path, "read"))
}

/// Opens a file that must already exist (SQLite would otherwise create an empty one).
fn open_existing(path: &Path, access: OpenFlags) -> Result<Connection> {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => {
            return Err(StoreError::NotANetwork {
                path: path.to_path_buf(),
                detail: "it is not a regular file".to_owned(),
            })
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(StoreError::NotANetwork {
                path: path.to_path_buf(),
                detail: "the file does not exist".to_owned(),
            })
        }
        Err(error) => return Err(errors::io(path, "open", &error)),
    }
    Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite(path, "open"))
}

/// Creates an empty file only its owner may read and write; refuses an existing one.
fn create_private_file(path: &Path) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| {
            if error.kind() == ErrorKind::AlreadyExists {
                StoreError::Conflict {
                    what: format!("database {}", path.display()),
                }
            } else {
                errors::io(path, "create", &error)
            }
        })?;
    // The umask may have removed bits but never added any; make the mode exact regardless.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|error| errors::io(path, "create", &error))
}

/// Makes a copy of a database at `dest`, which must not exist, without a partial file
/// ever carrying that name: `fill` writes the copy to `.<name>.partial-<pid>` beside it, and
/// only a finished copy is linked to `dest` (a link, unlike a rename, never replaces a file
/// that appeared meanwhile). Whatever happens, the partial name is removed; old partial
/// files of copies that were killed are removed first.
fn publish_copy<T>(dest: &Path, fill: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let conflict = || StoreError::Conflict {
        what: format!("database {}", dest.display()),
    };
    if dest.symlink_metadata().is_ok() {
        return Err(conflict());
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A copy killed midway left its partial file (and SQLite's side files) behind.
    let prefix = format!(".{name}.partial-");
    privatefile::remove_leftovers(dest, |file| {
        file.strip_prefix(&prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    });
    let partial = dest.with_file_name(format!("{prefix}{}", std::process::id()));
    create_private_file(&partial)?;
    let published = fill(&partial).and_then(|value| {
        fs::hard_link(&partial, dest).map_err(|error| {
            if error.kind() == ErrorKind::AlreadyExists {
                conflict()
            } else {
                errors::io(dest, "create", &error)
            }
        })?;
        Ok(value)
    });
    remove_database_files(&partial);
    if published.is_ok() {
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Err(error) = fs::File::open(dir).and_then(|d| d.sync_all()) {
                tracing::warn!(dir = %dir.display(), %error, "failed to sync the directory of the copy");
            }
        }
    }
    published
}

/// Checks a fresh copy without changing it: integrity, then its CIDR and peer counts.
fn verify_copy(path: &Path) -> Result<(usize, usize)> {
    let conn = open_existing(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(sqlite(path, "check"))?;
    if check != "ok" {
        return Err(StoreError::NotANetwork {
            path: path.to_path_buf(),
            detail: format!("the copy fails SQLite's integrity check: {check}"),
        });
    }
    let count = |table: &str| -> Result<usize> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get::<_, i64>(0)
        })
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(sqlite(path, "read"))
    };
    Ok((count("cidrs")?, count("peers")?))
}

/// Removes a database this module created and failed to finish, with its journal files.
fn remove_database_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        if let Err(error) = fs::remove_file(&file) {
            if error.kind() != ErrorKind::NotFound {
                tracing::warn!(path = ?file, %error, "failed to remove unfinished database");
            }
        }
    }
}

/// Copies the whole database behind `source` into the (empty) file `dest` with SQLite's online
/// backup, waiting up to [`COPY_TIMEOUT`] while another connection holds a lock.
fn copy_database(source: &Connection, source_path: &Path, dest: &Path) -> Result<()> {
    let mut target = open_existing(dest, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let backup = Backup::new(source, &mut target).map_err(sqlite(source_path, "back up"))?;
    let started = Instant::now();
    loop {
        match backup.step(-1).map_err(sqlite(source_path, "back up"))? {
            StepResult::Done => {
                drop(backup);
                // A copy that is ever served again (a restore) rolls the network back: its
                // clients must not take its revisions for the ones they hold.
                return schema::rename_history(&target, dest);
            }
            StepResult::More | StepResult::Busy | StepResult::Locked
                if started.elapsed() < COPY_TIMEOUT =>
            {
                thread::sleep(Duration::from_millis(20));
            }
            _ => {
                return Err(StoreError::Sqlite {
                    path: source_path.to_path_buf(),
                    action: "back up",
                    source: Box::new(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("another connection kept the database locked".to_owned()),
                    )),
                })
            }
        }
    }
}
