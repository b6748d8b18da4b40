//! Rows to domain types and back, per compat §4.1 (doc/innernet-compat.md).
//!
//! Reading never panics: a value that cannot become its domain type fails the read with
//! [`StoreError::Corrupt`] naming the table and row, except where innernet itself is lenient
//! (an unparseable endpoint reads as none, a NULL candidate list as empty).

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use rusqlite::types::FromSql;
use rusqlite::{Connection, Params, Row};
use wireguard_control::PresharedKey;
use wiremesh_shared::devices::{Device, KeySource};
use wiremesh_shared::policy::{
    format_ports, parse_ports, Destination, Protocol, Rule, RuleContents, Scope, Source,
};
use wiremesh_shared::routes::{AutoApproval, Route, RouteContents, RouteKind};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents,
    PERSISTENT_KEEPALIVE_INTERVAL_SECS,
};
use wiremesh_shared::{Endpoint, Hostname, PublicKey};

use super::errors::{corrupt, sqlite};
use crate::store::{DeletionReason, Result, Tombstone};

/// Columns of `peers`, in the order [`peer_from_row`] expects them by name.
pub(super) const PEER_COLUMNS: &str = "id, name, ip, cidr_id, public_key, endpoint, is_admin, \
                                       is_disabled, is_redeemed, invite_expires, candidates";
/// Columns of `cidrs`.
pub(super) const CIDR_COLUMNS: &str = "id, name, ip, prefix, parent";
/// Columns of `associations`.
pub(super) const ASSOCIATION_COLUMNS: &str = "id, cidr_id_1, cidr_id_2";
/// Columns of `wiremesh_rules`.
pub(super) const RULE_COLUMNS: &str = "id, association_id, cidr_id, source_cidr_id, \
                                       source_peer_id, destination_cidr_id, destination_peer_id, \
                                       protocol, ports, note, destination_route";

pub(super) const ROUTE_COLUMNS: &str = "id, peer_id, net, kind, approved";
/// Columns of `wiremesh_devices` (its key as `id`).
pub(super) const DEVICE_COLUMNS: &str =
    "peer_id AS id, hub_peer_id, key_source, full_tunnel, preshared_key, issued";

/// One row being read: knows its table and id so every failure can name them.
struct Fields<'a, 'r> {
    row: &'a Row<'r>,
    path: &'a Path,
    what: &'static str,
    id: i64,
}

impl<'a, 'r> Fields<'a, 'r> {
    fn new(row: &'a Row<'r>, path: &'a Path, what: &'static str) -> Result<Self> {
        let id = row.get("id").map_err(sqlite(path, "read"))?;
        Ok(Self {
            row,
            path,
            what,
            id,
        })
    }

    fn get<T: FromSql>(&self, column: &str) -> Result<T> {
        self.row
            .get(column)
            .map_err(|error| self.corrupt(format!("column {column}: {error}")))
    }

    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.get::<i64>(column)? != 0)
    }

    /// The `name` column, a valid peer name.
    fn name(&self) -> Result<Hostname> {
        let name: String = self.get("name")?;
        name.parse()
            .map_err(|error| self.corrupt(format!("column name: {error}")))
    }

    /// The `ip` column.
    fn ip(&self) -> Result<IpAddr> {
        let ip: String = self.get("ip")?;
        ip.parse()
            .map_err(|_| self.corrupt(format!("column ip: {ip:?} is not an IP address")))
    }

    /// The `public_key` column (base64).
    fn public_key(&self) -> Result<PublicKey> {
        let key: String = self.get("public_key")?;
        PublicKey::from_base64(&key)
            .map_err(|error| self.corrupt(format!("column public_key: {error}")))
    }

    fn corrupt(&self, detail: String) -> crate::store::StoreError {
        corrupt(self.path, self.what, self.id, detail)
    }
}

/// Reads a `peers` row selected with [`PEER_COLUMNS`].
pub(super) fn peer_from_row(path: &Path, row: &Row<'_>) -> Result<Peer> {
    let fields = Fields::new(row, path, "peer")?;
    let (name, ip, public_key) = (fields.name()?, fields.ip()?, fields.public_key()?);
    // innernet reads an unparseable endpoint as none; so do we.
    let endpoint = fields
        .get::<Option<String>>("endpoint")?
        .and_then(|text| text.parse::<Endpoint>().ok());
    let invite_expires = match fields.get::<Option<i64>>("invite_expires")? {
        None => None,
        // Before 1970 (an imported or hand-edited database): expired long ago, which 1970
        // says as well, and which the API's time format (unsigned seconds) can carry.
        Some(secs) if secs < 0 => Some(UNIX_EPOCH),
        Some(secs) => Some(system_time(secs).ok_or_else(|| {
            fields.corrupt(format!("column invite_expires: {secs} is out of range"))
        })?),
    };
    let candidates = match fields.get::<Option<String>>("candidates")? {
        None => Vec::new(),
        Some(text) => parse_candidates(&text).ok_or_else(|| {
            fields.corrupt("column candidates: not a JSON list of strings".into())
        })?,
    };
    Ok(Peer {
        id: fields.id.into(),
        contents: PeerContents {
            name,
            ip,
            cidr_id: fields.get::<i64>("cidr_id")?.into(),
            public_key,
            endpoint,
            persistent_keepalive_interval: Some(PERSISTENT_KEEPALIVE_INTERVAL_SECS),
            is_admin: fields.flag("is_admin")?,
            is_disabled: fields.flag("is_disabled")?,
            is_redeemed: fields.flag("is_redeemed")?,
            invite_expires,
            candidates,
        },
    })
}

/// Reads a `cidrs` row selected with [`CIDR_COLUMNS`]; the network keeps its host bits.
pub(super) fn cidr_from_row(path: &Path, row: &Row<'_>) -> Result<Cidr> {
    let fields = Fields::new(row, path, "CIDR")?;
    let ip = fields.ip()?;
    let prefix: i64 = fields.get("prefix")?;
    let cidr = u8::try_from(prefix)
        .ok()
        .and_then(|prefix| IpNet::new(ip, prefix).ok())
        .ok_or_else(|| fields.corrupt(format!("column prefix: {prefix} is not valid for {ip}")))?;
    Ok(Cidr {
        id: fields.id.into(),
        contents: CidrContents {
            name: fields.get("name")?,
            cidr,
            parent: fields.get::<Option<i64>>("parent")?.map(Into::into),
        },
    })
}

/// Reads an `associations` row selected with [`ASSOCIATION_COLUMNS`].
pub(super) fn association_from_row(path: &Path, row: &Row<'_>) -> Result<Association> {
    let fields = Fields::new(row, path, "association")?;
    Ok(Association {
        id: fields.id.into(),
        contents: AssociationContents {
            cidr_id_1: fields.get::<i64>("cidr_id_1")?.into(),
            cidr_id_2: fields.get::<i64>("cidr_id_2")?.into(),
        },
    })
}

/// Reads a `wiremesh_rules` row selected with [`RULE_COLUMNS`].
pub(super) fn rule_from_row(path: &Path, row: &Row<'_>) -> Result<Rule> {
    let fields = Fields::new(row, path, "rule")?;
    let id = |column: &str| fields.get::<Option<i64>>(column);
    let scope = match (id("association_id")?, id("cidr_id")?) {
        (Some(a), None) => Scope::Association(a.into()),
        (None, Some(c)) => Scope::Cidr(c.into()),
        _ => {
            return Err(
                fields.corrupt("exactly one of association_id and cidr_id must be set".into())
            )
        }
    };
    let source = match (id("source_cidr_id")?, id("source_peer_id")?) {
        (None, None) => Source::Any,
        (Some(c), None) => Source::Cidr(c.into()),
        (None, Some(p)) => Source::Peer(p.into()),
        _ => return Err(fields.corrupt("a source is a CIDR or a peer, not both".into())),
    };
    let route: Option<String> = fields.get("destination_route")?;
    let route = match route {
        Some(text) => Some(text.parse::<ipnet::IpNet>().map_err(|error| {
            fields.corrupt(format!("column destination_route: {text:?}: {error}"))
        })?),
        None => None,
    };
    let destination = match (
        id("destination_cidr_id")?,
        id("destination_peer_id")?,
        route,
    ) {
        (Some(c), None, None) => Destination::Cidr(c.into()),
        (None, Some(p), None) => Destination::Peer(p.into()),
        (None, None, Some(net)) => Destination::Route(net),
        _ => return Err(fields.corrupt("exactly one destination must be set".into())),
    };
    let protocol: String = fields.get("protocol")?;
    let protocol: Protocol = protocol
        .parse()
        .map_err(|error| fields.corrupt(format!("column protocol: {error}")))?;
    let ports: String = fields.get("ports")?;
    let ports = if ports.is_empty() {
        Vec::new()
    } else {
        parse_ports(&ports).map_err(|error| fields.corrupt(format!("column ports: {error}")))?
    };
    Ok(Rule {
        id: fields.id.into(),
        contents: RuleContents {
            scope,
            source,
            destination,
            protocol,
            ports,
            note: fields.get("note")?,
        },
    })
}

/// Reads a `wiremesh_routes` row selected with [`ROUTE_COLUMNS`].
pub(super) fn route_from_row(path: &Path, row: &Row<'_>) -> Result<Route> {
    let fields = Fields::new(row, path, "route")?;
    let net: String = fields.get("net")?;
    let net: IpNet = net
        .parse()
        .map_err(|_| fields.corrupt(format!("column net: {net:?} is not a network")))?;
    let kind: String = fields.get("kind")?;
    let kind = RouteKind::parse(&kind)
        .ok_or_else(|| fields.corrupt(format!("column kind: {kind:?} is not subnet or exit")))?;
    Ok(Route {
        id: fields.id.into(),
        contents: RouteContents {
            gateway: fields.get::<i64>("peer_id")?.into(),
            net,
            kind,
        },
        approved: fields.flag("approved")?,
    })
}

/// Reads a `wiremesh_route_auto` row (`cidr_id AS id, prefixes, exit`).
pub(super) fn auto_approval_from_row(path: &Path, row: &Row<'_>) -> Result<AutoApproval> {
    let fields = Fields::new(row, path, "route auto-approval")?;
    let text: String = fields.get("prefixes")?;
    let prefixes = text
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<IpNet>())
        .collect::<Result<Vec<IpNet>, _>>()
        .map_err(|_| {
            fields.corrupt(format!(
                "column prefixes: {text:?} is not a list of networks"
            ))
        })?;
    Ok(AutoApproval {
        cidr: fields.id.into(),
        prefixes,
        exit: fields.flag("exit")?,
    })
}

/// The columns of a rule, in [`RULE_COLUMNS`] order without the id.
#[allow(clippy::type_complexity)]
pub(super) fn rule_columns(
    rule: &RuleContents,
) -> (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
) {
    let (association, cidr) = match rule.scope {
        Scope::Association(a) => (Some(a.0), None),
        Scope::Cidr(c) => (None, Some(c.0)),
    };
    let (source_cidr, source_peer) = match rule.source {
        Source::Any => (None, None),
        Source::Cidr(c) => (Some(c.0), None),
        Source::Peer(p) => (None, Some(p.0)),
    };
    let (destination_cidr, destination_peer, destination_route) = match rule.destination {
        Destination::Cidr(c) => (Some(c.0), None, None),
        Destination::Peer(p) => (None, Some(p.0), None),
        Destination::Route(net) => (None, None, Some(net.to_string())),
    };
    let ports = if rule.ports.is_empty() {
        String::new()
    } else {
        format_ports(&rule.ports)
    };
    (
        association,
        cidr,
        source_cidr,
        source_peer,
        destination_cidr,
        destination_peer,
        rule.protocol.to_string(),
        ports,
        rule.note.clone(),
        destination_route,
    )
}

/// Runs `sql` and converts every row with `convert`, failing on the first bad row.
pub(super) fn query_all<T>(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: impl Params,
    convert: fn(&Path, &Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(sqlite(path, "read"))?;
    let mut rows = statement.query(params).map_err(sqlite(path, "read"))?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite(path, "read"))? {
        items.push(convert(path, row)?);
    }
    Ok(items)
}

/// Like [`query_all`] for a query that returns at most one row.
pub(super) fn query_one<T>(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: impl Params,
    convert: fn(&Path, &Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    Ok(query_all(conn, path, sql, params, convert)?
        .into_iter()
        .next())
}

/// A time as whole UNIX seconds (innernet's `invite_expires`), rounded towards the past.
pub(super) fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = before.as_secs() + u64::from(before.subsec_nanos() > 0);
            i64::try_from(whole).map_or(i64::MIN, |secs| -secs)
        }
    }
}

/// The time `secs` UNIX seconds denote, if the platform can represent it.
pub(super) fn system_time(secs: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Candidates as the JSON list of `host:port` strings innernet stores.
pub(super) fn candidates_json(candidates: &[Endpoint]) -> String {
    let list = candidates
        .iter()
        .map(|candidate| serde_json::Value::String(candidate.to_string()))
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// A stored candidate list; entries that are not endpoints are dropped, as an unparseable
/// endpoint is. `None` when the text is not a JSON list of strings.
fn parse_candidates(text: &str) -> Option<Vec<Endpoint>> {
    let entries: Vec<String> = serde_json::from_str(text).ok()?;
    Some(
        entries
            .iter()
            .filter_map(|entry| entry.parse().ok())
            .collect(),
    )
}

/// Columns of `wiremesh_tombstones` (the peer's id as `id`).
pub(super) const TOMBSTONE_COLUMNS: &str =
    "peer_id AS id, name, ip, public_key, cidr_id, deleted_at, reason";

/// Reads a `wiremesh_tombstones` row selected with [`TOMBSTONE_COLUMNS`].
pub(super) fn tombstone_from_row(path: &Path, row: &Row<'_>) -> Result<Tombstone> {
    let fields = Fields::new(row, path, "tombstone")?;
    let (name, ip, public_key) = (fields.name()?, fields.ip()?, fields.public_key()?);
    let reason: String = fields.get("reason")?;
    let reason = DeletionReason::parse(&reason)
        .ok_or_else(|| fields.corrupt(format!("column reason: {reason:?} is not a reason")))?;
    Ok(Tombstone {
        peer: fields.id.into(),
        name,
        ip,
        public_key,
        cidr: fields.get::<i64>("cidr_id")?.into(),
        deleted_at: u64::try_from(fields.get::<i64>("deleted_at")?).unwrap_or(0),
        reason,
    })
}

/// Reads a `wiremesh_devices` row selected with [`DEVICE_COLUMNS`].
pub(super) fn device_from_row(path: &Path, row: &Row<'_>) -> Result<Device> {
    let fields = Fields::new(row, path, "device")?;
    let key: String = fields.get("key_source")?;
    let key = KeySource::parse(&key).ok_or_else(|| {
        fields.corrupt(format!(
            "column key_source: {key:?} is not supplied or generated"
        ))
    })?;
    let preshared_key = match fields.get::<Option<String>>("preshared_key")? {
        None => None,
        Some(text) => Some(
            PresharedKey::from_base64(&text)
                .map_err(|error| fields.corrupt(format!("column preshared_key: {error}")))?,
        ),
    };
    Ok(Device {
        peer: fields.id.into(),
        hub: fields.get::<i64>("hub_peer_id")?.into(),
        key,
        full_tunnel: fields.flag("full_tunnel")?,
        preshared_key,
        issued: fields.get("issued")?,
    })
}
