//! Turning [`InterfaceView`]s into text: plain, `--short`, `--tree` and `--json`, plus the
//! CIDR listings of `list-cidrs`. Pure functions of the data and an injected `now`.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use wiremesh_shared::wire::Cidr;
use wiremesh_shared::{CidrId, PublicKey};

use super::{InterfaceView, PeerView, RECENT_HANDSHAKE};

/// A word of the output that a terminal may emphasise; the binary decides how (colour is
/// not this library's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emphasis {
    /// A network or peer name.
    Name,
    /// A handshake recent enough for the tunnel to be up.
    Recent,
    /// A handshake too old (or none).
    Stale,
}

/// Text as it is, for output without emphasis.
pub fn plain(_: Emphasis, text: &str) -> String {
    text.to_owned()
}

/// How much to show, and how to emphasise.
#[derive(Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Whole public keys instead of their first 10 characters (`-v`).
    pub full_keys: bool,
    /// Decorates emphasised words ([`plain`] by default).
    pub paint: &'a dyn Fn(Emphasis, &str) -> String,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        Self {
            full_keys: false,
            paint: &plain,
        }
    }
}

impl std::fmt::Debug for RenderOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("full_keys", &self.full_keys)
            .finish_non_exhaustive()
    }
}

/// How long ago `at` was, for a person: "never", "just now", "12 seconds ago", "3 minutes
/// ago", "2 hours ago", "5 days ago". A time after `now` (clock skew) is "just now".
pub fn humanize_since(at: Option<SystemTime>, now: SystemTime) -> String {
    let Some(at) = at else {
        return "never".to_owned();
    };
    let age = now.duration_since(at).unwrap_or(Duration::ZERO).as_secs();
    let (count, unit) = match age {
        0 => return "just now".to_owned(),
        1..=59 => (age, "second"),
        60..=3599 => (age / 60, "minute"),
        3600..=86_399 => (age / 3600, "hour"),
        _ => (age / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

/// A byte count for a person, in binary units: "0 B", "1023 B", "1.50 KiB", "3.21 GiB".
pub fn humanize_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // u64 to f64 loses precision only beyond 2^53 bytes, far below what two decimals show.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

fn key_text(key: &PublicKey, options: RenderOptions) -> String {
    let text = key.to_base64();
    if options.full_keys {
        text
    } else {
        format!("{}…", &text[..10])
    }
}

fn peer_name(peer: &PeerView) -> &str {
    peer.name
        .as_ref()
        .map_or("(unknown peer)", |name| name.as_str())
}

fn ip_text(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "(no address)".to_owned(), |ip| ip.to_string())
}

/// Whether the peer counts as connected: itself, or a handshake in the last 180 s.
pub fn is_connected(peer: &PeerView, now: SystemTime) -> bool {
    peer.is_self
        || peer.last_handshake.is_some_and(|at| {
            now.duration_since(at)
                .map_or(true, |age| age <= RECENT_HANDSHAKE)
        })
}

/// The default `show` output.
pub fn render_plain(
    interfaces: &[InterfaceView],
    now: SystemTime,
    options: RenderOptions,
) -> String {
    let mut out = String::new();
    for (idx, iface) in interfaces.iter().enumerate() {
        if idx > 0 {
            out.push('\n');
        }
        let paint = options.paint;
        let _ = writeln!(out, "network: {}", paint(Emphasis::Name, &iface.network));
        let _ = writeln!(out, "  interface: {}", iface.name);
        let _ = writeln!(out, "  address: {}", iface.address);
        let port = iface
            .listen_port
            .map_or_else(|| "none".to_owned(), |p| p.to_string());
        let _ = writeln!(out, "  listening port: {port}");
        let _ = writeln!(
            out,
            "  public key: {}",
            key_text(&iface.public_key, options)
        );
        for peer in &iface.peers {
            out.push('\n');
            if peer.is_self {
                let _ = writeln!(
                    out,
                    "  peer: {} (you)",
                    paint(Emphasis::Name, peer_name(peer))
                );
            } else {
                let _ = writeln!(
                    out,
                    "  peer: {} ({})",
                    paint(Emphasis::Name, peer_name(peer)),
                    key_text(&peer.public_key, options)
                );
            }
            let _ = writeln!(out, "    ip: {}", ip_text(peer.ip));
            if let Some(cidr) = &peer.cidr {
                let _ = writeln!(out, "    cidr: {cidr}");
            }
            if peer.is_self {
                continue;
            }
            if let Some(endpoint) = &peer.endpoint {
                let mark = if peer.endpoint_overridden {
                    " (endpoint overridden locally)"
                } else {
                    ""
                };
                let _ = writeln!(out, "    endpoint: {endpoint}{mark}");
            }
            let since = humanize_since(peer.last_handshake, now);
            let since = if is_connected(peer, now) {
                paint(Emphasis::Recent, &since)
            } else {
                paint(Emphasis::Stale, &since)
            };
            let _ = writeln!(out, "    last handshake: {since}");
            let _ = writeln!(
                out,
                "    transfer: {} received, {} sent",
                humanize_bytes(peer.rx_bytes),
                humanize_bytes(peer.tx_bytes)
            );
        }
    }
    out
}

fn short_line(peer: &PeerView, now: SystemTime) -> String {
    let marker = if is_connected(peer, now) {
        '●'
    } else {
        '○'
    };
    let status = if peer.is_self {
        "you".to_owned()
    } else {
        format!("handshake {}", humanize_since(peer.last_handshake, now))
    };
    format!(
        "{marker} {} {} ({status})",
        peer_name(peer),
        ip_text(peer.ip)
    )
}

/// `show --short`: a header per network, then one line per peer.
pub fn render_short(interfaces: &[InterfaceView], now: SystemTime) -> String {
    let mut out = String::new();
    for iface in interfaces {
        let _ = writeln!(
            out,
            "{} ({}, interface {})",
            iface.network, iface.address, iface.name
        );
        for peer in &iface.peers {
            let _ = writeln!(out, "  {}", short_line(peer, now));
        }
    }
    out
}

/// Walks the CIDR tree depth first (see [`wiremesh_shared::listing::tree_order`]);
/// `visit(cidr, depth)`.
fn walk_cidrs<'a>(cidrs: &'a [Cidr], mut visit: impl FnMut(&'a Cidr, usize)) {
    for (cidr, depth) in wiremesh_shared::listing::tree_order(cidrs) {
        visit(cidr, depth);
    }
}

/// `show --tree`: per network, its CIDR tree with each peer under its CIDR.
pub fn render_tree(interfaces: &[InterfaceView], now: SystemTime) -> String {
    let mut out = String::new();
    for iface in interfaces {
        let _ = writeln!(
            out,
            "{} ({}, interface {})",
            iface.network, iface.address, iface.name
        );
        let mut by_cidr: BTreeMap<Option<CidrId>, Vec<&PeerView>> = BTreeMap::new();
        for peer in &iface.peers {
            by_cidr.entry(peer.cidr_id).or_default().push(peer);
        }
        let mut placed = HashSet::new();
        walk_cidrs(&iface.cidrs, |cidr, depth| {
            let indent = "  ".repeat(depth + 1);
            let _ = writeln!(out, "{indent}{} {}", cidr.cidr, cidr.name);
            placed.insert(cidr.id);
            for peer in by_cidr.get(&Some(cidr.id)).into_iter().flatten() {
                let _ = writeln!(out, "{indent}  {}", short_line(peer, now));
                for route in &peer.routes {
                    let _ = writeln!(
                        out,
                        "{indent}      route {} ({}): {}",
                        route.net, route.kind, route.state
                    );
                }
            }
        });
        let orphans: Vec<&&PeerView> = by_cidr
            .iter()
            .filter(|(id, _)| id.is_none_or(|id| !placed.contains(&id)))
            .flat_map(|(_, peers)| peers)
            .collect();
        if !orphans.is_empty() {
            let _ = writeln!(out, "  (peers of no known CIDR)");
            for peer in orphans {
                let _ = writeln!(out, "    {}", short_line(peer, now));
            }
        }
    }
    out
}

/// `list-cidrs`: one line per CIDR, `<network> <name>`, in tree order.
pub fn render_cidrs_plain(cidrs: &[Cidr]) -> String {
    let mut out = String::new();
    walk_cidrs(cidrs, |cidr, _| {
        let _ = writeln!(out, "{} {}", cidr.cidr, cidr.name);
    });
    out
}

/// `list-cidrs --tree`: as the plain listing, indented by depth.
pub fn render_cidrs_tree(cidrs: &[Cidr]) -> String {
    let mut out = String::new();
    walk_cidrs(cidrs, |cidr, depth| {
        let _ = writeln!(out, "{}{} {}", "  ".repeat(depth), cidr.cidr, cidr.name);
    });
    out
}

#[derive(Serialize)]
struct JsonShow<'a> {
    interfaces: Vec<JsonInterface<'a>>,
}

#[derive(Serialize)]
struct JsonInterface<'a> {
    name: &'a str,
    network: &'a str,
    listen_port: Option<u16>,
    public_key: String,
    address: String,
    peers: Vec<JsonPeer<'a>>,
}

#[derive(Serialize)]
struct JsonPeer<'a> {
    name: Option<&'a str>,
    ip: Option<IpAddr>,
    cidr: Option<&'a str>,
    public_key: String,
    endpoint: Option<String>,
    endpoint_overridden: bool,
    last_handshake_secs_ago: Option<u64>,
    rx_bytes: u64,
    tx_bytes: u64,
    is_self: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<JsonRoute>,
}

#[derive(Serialize)]
struct JsonRoute {
    net: String,
    kind: &'static str,
    state: &'static str,
}

/// `show --json`: the object documented in [`super`], pretty-printed, with a final newline.
pub fn render_json(interfaces: &[InterfaceView], now: SystemTime) -> String {
    let document = JsonShow {
        interfaces: interfaces
            .iter()
            .map(|iface| JsonInterface {
                name: iface.name.as_str(),
                network: &iface.network,
                listen_port: iface.listen_port,
                public_key: iface.public_key.to_base64(),
                address: iface.address.to_string(),
                peers: iface
                    .peers
                    .iter()
                    .map(|peer| JsonPeer {
                        name: peer.name.as_ref().map(|n| n.as_str()),
                        ip: peer.ip,
                        cidr: peer.cidr.as_deref(),
                        public_key: peer.public_key.to_base64(),
                        endpoint: peer.endpoint.as_ref().map(ToString::to_string),
                        endpoint_overridden: peer.endpoint_overridden,
                        last_handshake_secs_ago: peer
                            .last_handshake
                            .map(|at| now.duration_since(at).unwrap_or(Duration::ZERO).as_secs()),
                        rx_bytes: peer.rx_bytes,
                        tx_bytes: peer.tx_bytes,
                        is_self: peer.is_self,
                        routes: peer
                            .routes
                            .iter()
                            .map(|r| JsonRoute {
                                net: r.net.to_string(),
                                kind: r.kind,
                                state: r.state,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    // Only strings, numbers, booleans and nulls: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
