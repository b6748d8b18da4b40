//! The arguments of the admin commands both binaries accept (`add-peer`, `rename-peer`,
//! `disable-peer`/`enable-peer`, `add-cidr`, `rename-cidr`, `delete-cidr`,
//! `add-association`/`delete-association`) and of the listings (`--json`), typed: clap
//! parses names, addresses, networks and durations, so a bad value is a usage error naming
//! its flag in both binaries. Every value a command could ask for interactively is an
//! `Option`; [`crate::prompt`] fills the gaps.
//!
//! Names of existing peers and CIDRs stay strings: they are looked up, and a name that is
//! not there says so with the list command to run.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args};
use ipnet::IpNet;
use wiremesh_shared::{Hostname, InterfaceName, Timestring};

/// A listing of one network, as text or JSON.
#[derive(Debug, Clone, Args)]
pub struct ListOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Machine-readable JSON (shape documented in doc/json-output.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddPeerOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the new peer.
    #[arg(long)]
    pub name: Option<Hostname>,

    /// The peer's address.
    #[arg(long, conflicts_with = "auto_ip")]
    pub ip: Option<IpAddr>,

    /// Give the peer the CIDR's first free address.
    #[arg(long)]
    pub auto_ip: bool,

    /// Name of the (leaf) CIDR the peer joins.
    #[arg(long, value_name = "NAME")]
    pub cidr: Option<String>,

    /// Whether the peer may administer the network.
    #[arg(long, value_name = "true|false", action = ArgAction::Set)]
    pub admin: Option<bool>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,

    /// Where to write the invitation (must not exist) [default: asked, offering <NAME>.toml].
    #[arg(long, value_name = "PATH")]
    pub save_config: Option<PathBuf>,

    /// How long the invitation is valid, e.g. 30m, 12h, 14d, 2w [default: 14d].
    #[arg(long, value_name = "TIMESTRING")]
    pub invite_expires: Option<Timestring>,
}

#[derive(Debug, Args)]
pub struct RenamePeerOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Current name of the peer.
    #[arg(long)]
    pub name: Option<String>,

    /// New name of the peer.
    #[arg(long)]
    pub new_name: Option<Hostname>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct PeerOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the peer.
    #[arg(long)]
    pub name: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long, requires = "name")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct AddCidrOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the new CIDR.
    #[arg(long)]
    pub name: Option<String>,

    /// The network of the new CIDR, e.g. 10.42.1.0/24.
    #[arg(long, value_name = "NET")]
    pub cidr: Option<IpNet>,

    /// Name of the parent CIDR.
    #[arg(long, value_name = "NAME")]
    pub parent: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RenameCidrOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Current name of the CIDR.
    #[arg(long)]
    pub name: Option<String>,

    /// New name of the CIDR.
    #[arg(long)]
    pub new_name: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DeleteCidrOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the CIDR.
    #[arg(long)]
    pub name: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct AssociationOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the first CIDR.
    #[arg(value_name = "CIDR1")]
    pub cidr1: Option<String>,

    /// Name of the second CIDR.
    #[arg(value_name = "CIDR2")]
    pub cidr2: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}
