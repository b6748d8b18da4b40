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
        let objects = compose::table_contents(&self.table, &self.iface, ruleset);
        TableImage::of(&self.table, &objects).expect("the composed table reduces to an image")
    }

    /// The transaction [`Firewall::apply`] sends, as `nft -j -f` reads it.
    pub fn transaction_json(&self, ruleset: &HostRuleset) -> String {
        let batch = compose::replace_table(&self.table, &self.iface, ruleset);
        serde_json::to_string(&batch).expect("a transaction serializes")
    }

    /// Replaces the table with `ruleset` in one transaction.
    pub fn apply(&self, ruleset: &HostRuleset) -> Result<(), NftError> {
        self.nft
            .apply(&compose::replace_table(&self.table, &self.iface, ruleset))
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
        Ok(match self.read()? {
            None => TableState::Missing,
            Some(Err(error)) => TableState::Drifted(error.to_string()),
            Some(Ok(image)) if image == self.expected_image(ruleset) => TableState::InSync,
            Some(Ok(image)) => {
                TableState::Drifted(describe_difference(&self.expected_image(ruleset), &image))
            }
        })
    }

    /// Makes the table hold `ruleset` if it does not already; returns what was found.
    pub fn ensure(&self, ruleset: &HostRuleset) -> Result<TableState, NftError> {
        let state = self.check(ruleset)?;
        if state != TableState::InSync {
            self.apply(ruleset)?;
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
