//! The network's durable state behind a small trait with domain-named methods.
//!
//! [`Store`] is what the service layer sees: whole-network snapshots for rebuilding the
//! in-memory model, and one method per kind of change. Every method is one transaction: it
//! either commits completely or changes nothing. Only [`sqlite`] names rusqlite; it maps
//! constraint violations to [`StoreError::Conflict`] / [`StoreError::InUse`] so callers never
//! see SQLite error codes. A replicated backend (PostgreSQL) would be another implementation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use wiremesh_shared::acl::NetworkRoles;
use wiremesh_shared::devices::{Device, DeviceBook};
use wiremesh_shared::policy::{Policy, Rule, RuleContents};
use wiremesh_shared::routes::{AutoApproval, Route, RouteBook, RouteContentsDraft};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents,
};
use wiremesh_shared::{
    AssociationId, CidrId, Endpoint, Hostname, PeerId, PublicKey, RouteId, RuleId,
};

pub mod sqlite;

/// Everything in the database, as the model is built from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Sorted by id.
    pub cidrs: Vec<Cidr>,
    /// Sorted by id. Shared: a new revision copies only the pointers and replaces the peers
    /// it changes, so unchanged peers are the same allocation in every revision (and
    /// comparing revisions starts with a pointer comparison).
    pub peers: Vec<Arc<Peer>>,
    /// Sorted by id.
    pub associations: Vec<Association>,
    pub roles: NetworkRoles,
    /// The port and protocol policy (rules sorted by id, isolated CIDRs sorted). Shared
    /// between revisions until a policy change replaces it.
    pub policy: Arc<Policy>,
    /// Routes offered by gateway peers, and auto-approvals. Shared between revisions until a
    /// route change replaces it.
    pub routes: Arc<RouteBook>,
    /// What makes some peers devices (sorted by peer id). Shared between revisions until a
    /// device change replaces it.
    pub devices: Arc<DeviceBook>,
    /// What is left of deleted peers (sorted by peer id): their addresses are consumed for
    /// good. Shared between revisions until a deletion replaces it.
    pub tombstones: Arc<Vec<Tombstone>>,
    /// Ephemeral peers: how long (seconds) each may stay offline before the server deletes
    /// it.
    pub ephemeral: Arc<std::collections::BTreeMap<PeerId, u64>>,
    pub settings: Settings,
}

/// The network's settings: what admins decide about how the server behaves, kept in the
/// database so every process serving or editing the network agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Whether a peer may delete itself (`wiremesh uninstall` deregisters the host).
    pub self_deletion: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            self_deletion: true,
        }
    }
}

/// A deleted peer's remains: its address is never given to another key (every client pins
/// the key it saw there), and `/v1/admin/peers` keeps listing it as a disabled row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The id it had (never given to another peer either).
    pub peer: PeerId,
    pub name: Hostname,
    pub ip: std::net::IpAddr,
    pub public_key: PublicKey,
    /// The CIDR it was in (which may since have been deleted).
    pub cidr: CidrId,
    /// When it was deleted, in UNIX seconds.
    pub deleted_at: u64,
    pub reason: DeletionReason,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// UNIX seconds.
    pub at: u64,
    /// Who: `cli uid 0 (root)`, `admin peer alice (10.66.1.1)`, `server`, …
    pub actor: String,
    /// What, e.g. `peer.delete`.
    pub action: String,
    pub detail: String,
}

/// A token of the automation API as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredToken {
    pub id: i64,
    pub name: String,
    /// Scope names, as given (`read`, `devices`, …).
    pub scopes: Vec<String>,
    /// UNIX seconds.
    pub created_at: u64,
    pub expires_at: Option<u64>,
    pub revoked_at: Option<u64>,
}

/// Why a peer was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// By an admin (server CLI, admin API).
    Deleted,
    /// The peer deleted itself (`wiremesh uninstall`).
    Deregistered,
    /// An ephemeral peer that stayed offline longer than its window.
    Ephemeral,
}

impl DeletionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::Deregistered => "deregistered",
            Self::Ephemeral => "ephemeral",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Deleted, Self::Deregistered, Self::Ephemeral]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// The revision history as the database records it (schema version 4): read when the server
/// starts, so that deltas survive restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    /// Names the history; clients holding another one start over.
    pub history: u64,
    /// The oldest revision a delta can start from.
    pub floor: u64,
    /// The newest revision.
    pub current: u64,
    /// The revision of the last structural change.
    pub structure: u64,
    /// Each peer's (and each deleted peer's) CIDR and the revision of its last change; peers
    /// missing here have not changed since `floor`.
    pub peers: HashMap<PeerId, (CidrId, u64)>,
}

/// The fields of a peer that an update may change (compat §1.10: PUT applies exactly these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFields {
    pub name: Hostname,
    pub endpoint: Option<Endpoint>,
    pub is_admin: bool,
    pub is_disabled: bool,
    pub candidates: Vec<Endpoint>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (name, IP, key, network, association).
    #[error("{what} already exists")]
    Conflict { what: String },
    /// The row to change does not exist.
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: i64 },
    /// The row is still referenced (peers, child CIDRs or associations point to it).
    #[error("{what} {id} is still in use")]
    InUse { what: &'static str, id: i64 },
    /// The database file holds something this version cannot read.
    #[error("database {path} has an unreadable {what} (row {id}): {detail}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        id: i64,
        detail: String,
    },
    /// The database was written by a newer wiremesh-server.
    #[error(
        "database {path} has schema version {found}, newer than the {supported} this wiremesh-server \
         understands; upgrade wiremesh-server"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// The database is not a wiremesh (or innernet) database.
    #[error("database {path} is not a wiremesh or innernet server database: {detail}")]
    NotANetwork { path: PathBuf, detail: String },
    /// Any other failure of the database engine (its error is the source; only the
    /// backend module knows its type).
    #[error("failed to {action} database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Durable network state. Every method is blocking and transactional.
pub trait Store: Send {
    /// Reads the whole network.
    fn snapshot(&mut self) -> Result<Snapshot>;

    /// Who makes the changes that follow, and when: every write below that commits a change
    /// (all but observations, candidates and reports) records one audit row in its own
    /// transaction, with this actor.
    fn set_audit_actor(&mut self, actor: &str, at: std::time::SystemTime);

    /// The newest `limit` rows of the audit log, newest first.
    fn audit_log(&mut self, limit: usize) -> Result<Vec<AuditEntry>>;

    /// Records a new token (`Conflict` when the name is taken); returns it as stored.
    fn insert_token(
        &mut self,
        name: &str,
        secret_sha256: &str,
        scopes: &[String],
        created_at: u64,
        expires_at: Option<u64>,
    ) -> Result<StoredToken>;
    /// Marks token `name` revoked at `at`; `NotFound` when there is none, and no change when
    /// it was revoked already (returns whether it changed).
    fn revoke_token(&mut self, name: &str, at: u64) -> Result<bool>;
    /// Every token, by id.
    fn tokens(&mut self) -> Result<Vec<StoredToken>>;
    /// Token `id` with the SHA-256 of its secret.
    fn token_secret(&mut self, id: i64) -> Result<Option<(StoredToken, String)>>;

    /// Whether another connection (another process: the server CLI while `serve` runs)
    /// committed a change that no successful [`Store::snapshot`] has read yet.
    fn changed_by_others(&mut self) -> Result<bool>;

    /// The newest revision this connection read ([`Store::snapshot`]) or wrote. Every
    /// method below that changes something visible records it at a new revision: one more
    /// than the newest in the database.
    fn revision(&self) -> u64;

    /// The revision history: read once, when the server starts.
    fn revisions(&mut self) -> Result<Revisions>;

    /// The endpoints the server's interface observed, as last recorded.
    fn observed(&mut self) -> Result<HashMap<PublicKey, SocketAddr>>;

    /// Records at a new revision a change only the server's memory saw: `touched` peers
    /// (changed by observations, or by another process's writes the server caught up
    /// with), perhaps a structural change, and observations (`None`: forgotten). Returns the
    /// revision.
    fn record_change(
        &mut self,
        touched: &[(PeerId, CidrId)],
        structural: bool,
        observed: &[(PublicKey, Option<SocketAddr>)],
    ) -> Result<u64>;

    fn insert_cidr(&mut self, contents: &CidrContents) -> Result<Cidr>;
    fn rename_cidr(&mut self, id: CidrId, name: &str) -> Result<()>;
    fn delete_cidr(&mut self, id: CidrId) -> Result<()>;

    fn insert_peer(&mut self, contents: &PeerContents) -> Result<Peer>;
    /// [`Store::insert_peer`] of an ephemeral peer: deleted by the server once it has been
    /// offline for `window_secs`.
    fn insert_ephemeral_peer(&mut self, contents: &PeerContents, window_secs: u64) -> Result<Peer>;
    fn update_peer(&mut self, id: PeerId, fields: &PeerFields) -> Result<()>;
    /// Marks an unredeemed peer redeemed with its new key. `NotFound` when the peer does not
    /// exist or is already redeemed.
    fn redeem_peer(&mut self, id: PeerId, new_key: &PublicKey) -> Result<()>;
    fn set_endpoint(&mut self, id: PeerId, endpoint: Option<&Endpoint>) -> Result<()>;
    fn set_candidates(&mut self, id: PeerId, candidates: &[Endpoint]) -> Result<()>;
    /// Deletes peer `id` for good, with everything that goes with it (its routes, its device
    /// row, the rules naming it, its report and its observed endpoint), leaving `tombstone`
    /// (`None` for an unredeemed invitation, whose address nobody pinned). The deletion is a
    /// change of the peer, and a structural one when it took routes, rules or a device along.
    /// `InUse` while it is the hub of devices; `Conflict` when the tombstone's address already
    /// has one.
    fn delete_peer(&mut self, id: PeerId, tombstone: Option<&Tombstone>) -> Result<()>;
    /// Replaces the network's settings, at a new revision that no peer's view changes in.
    fn set_settings(&mut self, settings: &Settings) -> Result<()>;
    /// Deletes the invitations among `ids` that are still unredeemed and have an expiry (the
    /// service decides which have expired: see `Service::sweep_expired_invites`); returns
    /// them, in id order. An id that was redeemed meanwhile is left alone.
    fn delete_expired_invites(&mut self, ids: &[PeerId]) -> Result<Vec<Peer>>;

    fn insert_association(&mut self, contents: &AssociationContents) -> Result<Association>;
    fn delete_association(&mut self, id: AssociationId) -> Result<()>;

    /// Adds a policy rule (a structural change: it can change any host's ruleset).
    fn insert_rule(&mut self, contents: &RuleContents) -> Result<Rule>;
    /// Deletes a policy rule; `NotFound` when there is none with this id.
    fn delete_rule(&mut self, id: RuleId) -> Result<()>;
    /// Isolates a CIDR or ends its isolation; returns whether anything changed.
    fn set_isolated(&mut self, id: CidrId, isolated: bool) -> Result<bool>;

    /// Replaces what `gateway` offers with `routes` (each with whether it is approved): a
    /// network it offered before keeps its id, one it no longer offers is withdrawn. Returns
    /// the gateway's routes by id; a change is structural.
    fn set_routes(
        &mut self,
        gateway: PeerId,
        routes: &[(RouteContentsDraft, bool)],
    ) -> Result<Vec<Route>>;
    /// Approves routes (or takes the approval back); returns whether anything changed.
    /// `NotFound` for an id that does not exist.
    fn set_route_approval(&mut self, ids: &[RouteId], approved: bool) -> Result<bool>;
    /// Sets a CIDR's auto-approval, or removes it when it approves nothing; returns whether
    /// anything changed. Recorded as a structural change (it is part of the routes' data,
    /// although it only decides future offers).
    fn set_auto_approval(&mut self, approval: &AutoApproval) -> Result<bool>;

    /// Creates a device: its peer row and its device row (`device.peer` is ignored: the new
    /// row's id is used), as a structural change (the peers that see its CIDR receive a route
    /// to it). With `retire`, that peer (the identity the new one replaces) is updated in the
    /// same transaction. Returns both as stored.
    fn insert_device(
        &mut self,
        contents: &PeerContents,
        device: &Device,
        retire: Option<(PeerId, &PeerFields)>,
    ) -> Result<(Peer, Device)>;
    /// Records the fingerprint of the configuration issued to device `id`.
    fn set_device_issued(&mut self, id: PeerId, issued: &str) -> Result<()>;

    /// What each client last reported about itself (its version, features and the ruleset
    /// it applied), as the JSON it sent. Not part of the network's revisions.
    fn reports(&mut self) -> Result<HashMap<PeerId, String>>;
    /// Records a client's report, replacing its previous one.
    fn save_report(&mut self, id: PeerId, report: &str) -> Result<()>;
}
