//! `wiremesh-firewall`: the one crate that speaks nftables.
//!
//! Each mesh interface gets its own table, `inet wiremesh_<iface>` ([`table_name`]), so a host
//! running several networks (or a server and a client) keeps them apart: replacing or removing
//! one network's table never touches another's, and no other table is ever read for writing,
//! flushed or changed. The table is replaced in one transaction ([`Firewall::apply`]), read
//! back and compared with what was programmed ([`Firewall::check`]), and removed
//! ([`Firewall::remove`]).
//!
//! It speaks to the kernel through Debian's `nft` (package `nftables`) and its JSON API, with
//! the `nftables` crate's types.
//!
//! What it must not know: networks, peers, CIDRs and rules as such — it programs a
//! [`HostRuleset`], already compiled by `wiremesh-shared`.

mod compose;
pub mod image;
mod names;
mod nft;

pub use image::{ImageError, TableImage};
pub use nft::{Nft, NftError};

pub use wiremesh_shared::devices::{Hub, HubDevice};
use wiremesh_shared::policy::HostRuleset;

/// The base chain: hooked to prerouting, it sees every packet that arrives on the mesh
/// interface for the host itself, before destination NAT can forward it to a container.
pub const BASE_CHAIN: &str = "prerouting";
/// The base chain's priority: after connection tracking (-200), before destination NAT
/// (-100), where Docker and port forwards rewrite the destination.
pub const BASE_PRIORITY: i32 = -150;
/// The chain holding the policy for packets that arrive on the mesh interface.
pub const MESH_CHAIN: &str = "mesh";
/// The set of IPv4 prefixes whose senders are restricted.
pub const RESTRICTED4: &str = "restricted4";
/// The set of IPv6 prefixes whose senders are restricted.
pub const RESTRICTED6: &str = "restricted6";
/// On a gateway: the chain that masquerades mesh traffic toward its routes.
pub const NAT_CHAIN: &str = "postrouting";
/// Its priority: nftables' `srcnat`.
pub const NAT_PRIORITY: i32 = 100;
/// On a gateway: the chain that keeps it from forwarding mesh traffic anywhere but its
/// routes.
pub const FORWARD_CHAIN: &str = "forward";
/// Its priority: nftables' `filter`.
pub const FORWARD_PRIORITY: i32 = 0;
/// On a host using an exit node: the chain giving the tunnel's UDP replies their mark back.
pub const MARK_IN_CHAIN: &str = "exitmark_in";
/// On a host using an exit node: the chain saving the tunnel's mark in conntrack.
pub const MARK_OUT_CHAIN: &str = "exitmark_out";
/// Their priority: nftables' `mangle`.
pub const MARK_PRIORITY: i32 = -150;
/// On a gateway: the IPv4 networks it forwards to.
pub const ROUTES4: &str = "routes4";
/// On a gateway: the IPv6 networks it forwards to.
pub const ROUTES6: &str = "routes6";

/// On a hub: the chain judging what its devices send and receive.
pub const HUB_CHAIN: &str = "hub";
/// On a hub: the IPv4 addresses of its devices.
pub const DEVICES4: &str = "devices4";
/// On a hub: the IPv6 addresses of its devices.
pub const DEVICES6: &str = "devices6";
/// On a hub: the IPv4 addresses of its full-tunnel devices (it is their exit node).
pub const EXITS4: &str = "exits4";
/// On a hub: the IPv6 addresses of its full-tunnel devices.
pub const EXITS6: &str = "exits6";

/// The names a hub's table gives device `i`'s set of the networks it sees (IPv4, IPv6).
pub fn sees_sets(i: usize) -> [String; 2] {
    [format!("dev{i}_sees4"), format!("dev{i}_sees6")]
}

/// The name of the policy chain of a hub's ruleset `k`.
pub fn policy_chain(k: usize) -> String {
    format!("pol{k}")
}

/// The names of the restricted sets of a hub's ruleset `k` (IPv4, IPv6).
pub fn policy_restricted_sets(k: usize) -> [String; 2] {
    [format!("pol{k}_restricted4"), format!("pol{k}_restricted6")]
}

/// The names of the sets of mesh addresses a hub's ruleset `k` guards (IPv4, IPv6).
pub fn policy_hosts_sets(k: usize) -> [String; 2] {
    [format!("pol{k}_hosts4"), format!("pol{k}_hosts6")]
}

/// What a host does as a gateway, as far as its table is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gateway {
    /// The networks it forwards to from the mesh (its approved routes; an exit node's
    /// default route).
    pub nets: Vec<ipnet::IpNet>,
    /// Masquerade mesh traffic toward them (off for routed sites that know the way back).
    pub snat: bool,
    /// This host sends everything through an exit node, and the tunnel's own UDP carries
    /// this firewall mark: replies get it back from conntrack, so that reverse path
    /// filtering finds them on the uplink rather than inside the tunnel.
    pub exit_mark: Option<u32>,
    /// Devices that join through this host.
    pub hub: Hub,
}

impl Gateway {
    /// No gateway duties.
    pub const NONE: Gateway = Gateway {
        nets: Vec::new(),
        snat: false,
        exit_mark: None,
        hub: Hub::NONE,
    };

    /// Whether the host forwards for the mesh at all (the table gets the route sets, the
    /// forward chain, and the policy applies to routed traffic).
    pub fn forwards(&self) -> bool {
        !self.nets.is_empty()
    }

    /// Whether the table gets the forward chain: it forwards to routes, or for devices.
    pub fn has_forward_chain(&self) -> bool {
        self.forwards() || !self.hub.is_empty()
    }

    /// Whether the table gets the masquerading chain: a gateway's source NAT, or a hub
    /// that is the exit node of devices.
    pub fn masquerades(&self) -> bool {
        (self.snat && !self.nets.is_empty()) || self.hub.is_exit()
    }
}

/// The table of a mesh interface: `wiremesh_<iface>` in the `inet` family.
pub fn table_name(iface: &str) -> String {
    format!("wiremesh_{iface}")
}

/// What the kernel holds for an interface compared with a ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableState {
    /// The table means exactly the ruleset.
    InSync,
    /// There is no table.
    Missing,
    /// There is a table, and it means something else (why, for a person).
    Drifted(String),
}

/// One mesh interface's table.
#[derive(Debug, Clone)]
pub struct Firewall {
    nft: Nft,
    iface: String,
    table: String,
}

impl Firewall {
    pub fn new(nft: Nft, iface: &str) -> Self {
        Self {
            nft,
            iface: iface.to_owned(),
            table: table_name(iface),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The image the table has when it holds `ruleset`.
    pub fn expected_image(&self, ruleset: &HostRuleset) -> TableImage {
        self.expected_image_of(ruleset, &Gateway::NONE)
    }

    /// The image the table has when it holds `ruleset` and `gateway`'s duties.
    pub fn expected_image_of(&self, ruleset: &HostRuleset, gateway: &Gateway) -> TableImage {
        let objects = compose::table_contents(&self.table, &self.iface, ruleset, gateway);
        TableImage::of(&self.table, &objects).expect("the composed table reduces to an image")
    }

    /// The transaction [`Firewall::apply`] sends, as `nft -j -f` reads it.
    pub fn transaction_json(&self, ruleset: &HostRuleset) -> String {
        self.transaction_json_of(ruleset, &Gateway::NONE)
    }

    /// The transaction [`Firewall::apply_with`] sends.
    pub fn transaction_json_of(&self, ruleset: &HostRuleset, gateway: &Gateway) -> String {
        let batch = compose::replace_table(&self.table, &self.iface, ruleset, gateway);
        serde_json::to_string(&batch).expect("a transaction serializes")
    }

    /// Replaces the table with `ruleset` in one transaction.
    pub fn apply(&self, ruleset: &HostRuleset) -> Result<(), NftError> {
        self.apply_with(ruleset, &Gateway::NONE)
    }

    /// Replaces the table with `ruleset` and `gateway`'s duties in one transaction.
    pub fn apply_with(&self, ruleset: &HostRuleset, gateway: &Gateway) -> Result<(), NftError> {
        self.nft.apply(&compose::replace_table(
            &self.table,
            &self.iface,
            ruleset,
            gateway,
        ))
    }

    /// Reads the table back; `None` when there is none.
    pub fn read(&self) -> Result<Option<Result<TableImage, ImageError>>, NftError> {
        let Some(listing) = self.nft.list_table(&self.table)? else {
            return Ok(None);
        };
        Ok(Some(TableImage::of(&self.table, listing.iter())))
    }

    /// Compares the table with `ruleset`.
    pub fn check(&self, ruleset: &HostRuleset) -> Result<TableState, NftError> {
        self.check_with(ruleset, &Gateway::NONE)
    }

    /// Compares the table with `ruleset` and `gateway`'s duties.
    pub fn check_with(
        &self,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError> {
        let expected = self.expected_image_of(ruleset, gateway);
        Ok(match self.read()? {
            None => TableState::Missing,
            Some(Err(error)) => TableState::Drifted(error.to_string()),
            Some(Ok(image)) if image == expected => TableState::InSync,
            Some(Ok(image)) => TableState::Drifted(describe_difference(&expected, &image)),
        })
    }

    /// Makes the table hold `ruleset` if it does not already; returns what was found.
    pub fn ensure(&self, ruleset: &HostRuleset) -> Result<TableState, NftError> {
        self.ensure_with(ruleset, &Gateway::NONE)
    }

    /// Makes the table hold `ruleset` and `gateway`'s duties if it does not already.
    pub fn ensure_with(
        &self,
        ruleset: &HostRuleset,
        gateway: &Gateway,
    ) -> Result<TableState, NftError> {
        let state = self.check_with(ruleset, gateway)?;
        if state != TableState::InSync {
            self.apply_with(ruleset, gateway)?;
        }
        Ok(state)
    }

    /// Removes the table; returns whether there was one.
    pub fn remove(&self) -> Result<bool, NftError> {
        let existed = self.nft.list_table(&self.table)?.is_some();
        if existed {
            self.nft.apply(&compose::remove_table(&self.table))?;
        }
        Ok(existed)
    }
}

/// A short account of how two images differ, for logs and `doctor`.
fn describe_difference(expected: &TableImage, actual: &TableImage) -> String {
    for (name, set) in &expected.sets {
        match actual.sets.get(name) {
            None => return format!("set {name} is missing"),
            Some(other) if other != set => return format!("set {name} holds other addresses"),
            _ => {}
        }
    }
    for (name, chain) in &expected.chains {
        match actual.chains.get(name) {
            None => return format!("chain {name} is missing"),
            Some(other) if other.base != chain.base => {
                return format!("chain {name} is hooked differently")
            }
            Some(other) if other.rules != chain.rules => {
                return format!(
                    "chain {name} holds {} rule(s) where {} were programmed, or other ones",
                    other.rules.len(),
                    chain.rules.len()
                )
            }
            _ => {}
        }
    }
    "the table holds sets or chains wiremesh did not program".to_owned()
}

#[cfg(test)]
mod tests;
