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
use wiremesh_shared::policy::spec::{Party, Probe};
use wiremesh_shared::policy::Protocol;
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

    /// An ephemeral peer (CI runners, autoscaled nodes): the server deletes it once it has
    /// been offline this long, e.g. 10m, 1h (at least 1m).
    #[arg(long, value_name = "TIMESTRING")]
    pub ephemeral: Option<Timestring>,
}

#[derive(Debug, Args)]
pub struct AddDeviceOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the new device.
    #[arg(long)]
    pub name: Option<Hostname>,

    /// The device's address.
    #[arg(long, conflicts_with = "auto_ip")]
    pub ip: Option<IpAddr>,

    /// Give the device the CIDR's first free address.
    #[arg(long)]
    pub auto_ip: bool,

    /// Name of the (leaf) CIDR the device joins: what it sees and who sees it follow from
    /// the CIDR's associations and rules.
    #[arg(long, value_name = "NAME")]
    pub cidr: Option<String>,

    /// The public key the device generated (preferred: nothing secret leaves the device).
    /// Without it, wiremesh generates the key pair and writes the private key into the
    /// configuration, once; it keeps no copy.
    #[arg(long, value_name = "BASE64")]
    pub public_key: Option<wiremesh_shared::PublicKey>,

    /// Give the device a preshared key (kept in the server's database, sent only to its
    /// hub, and written into the configuration).
    #[arg(long)]
    pub psk: bool,

    /// The peer the device joins through (a wiremesh peer with a public endpoint, e.g. a
    /// gateway on the device's LAN) [default: the server].
    #[arg(long, value_name = "PEER")]
    pub hub: Option<String>,

    /// Send everything through the hub, which is the device's exit node (its traffic beyond
    /// the mesh leaves the hub masqueraded).
    #[arg(long)]
    pub full_tunnel: bool,

    /// Where to write the wg-quick configuration (must not exist) [default: asked, offering
    /// <NAME>.conf].
    #[arg(long, value_name = "PATH")]
    pub save_config: Option<PathBuf>,

    /// Also show the configuration as a QR code on the terminal, and write it as a PNG image
    /// beside the configuration (<PATH>.png, mode 0600).
    #[arg(long)]
    pub qr: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ExportDeviceOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the device.
    #[arg(long)]
    pub name: Option<String>,

    /// Where to write the wg-quick configuration (must not exist) [default: asked, offering
    /// <NAME>.conf].
    #[arg(long, value_name = "PATH")]
    pub save_config: Option<PathBuf>,

    /// Also show the configuration as a QR code on the terminal, and write it as a PNG image
    /// beside the configuration (<PATH>.png, mode 0600).
    #[arg(long)]
    pub qr: bool,

    /// Do not ask for confirmation (a device whose key was generated here becomes a new
    /// identity: a new key and a new address, the old one disabled).
    #[arg(long)]
    pub yes: bool,
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

/// `add-rule`: a port and protocol rule (operator guide, "Port and protocol policy").
#[derive(Debug, Args)]
pub struct AddRuleOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Who may open connections: a CIDR or peer name (`cidr:NAME` or `peer:NAME` where a
    /// name is both), or `any` (every peer the scope links to the destination).
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<Party>,

    /// Which hosts accept them: a CIDR or peer name, or `route:NET` (a network gateways
    /// carry: the rule opens it through them, and nothing on the gateways).
    #[arg(long, value_name = "DESTINATION")]
    pub to: Option<Party>,

    /// Protocol: tcp, udp, icmp (ICMPv6 on IPv6) or any.
    #[arg(long, value_name = "PROTO")]
    pub proto: Option<Protocol>,

    /// Destination ports of a tcp or udp rule: 22, 8000-8080, or a list (22,53,8000-8080)
    /// [default: every port].
    #[arg(long, value_name = "PORTS")]
    pub ports: Option<String>,

    /// Attach the rule to the association of these two CIDRs [default: the one association
    /// linking source and destination, else the smallest CIDR holding both].
    #[arg(long, value_name = "CIDR1,CIDR2", conflicts_with = "within")]
    pub association: Option<String>,

    /// Attach the rule to this CIDR: traffic among its members.
    #[arg(long, value_name = "CIDR")]
    pub within: Option<String>,

    /// A note for people: why the rule exists.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,

    /// Show who gains and who loses access, and change nothing.
    #[arg(long)]
    pub plan: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// `delete-rule`.
#[derive(Debug, Args)]
pub struct DeleteRuleOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// The rule's id (`list-rules` shows them).
    #[arg(value_name = "ID")]
    pub id: Option<i64>,

    /// Show who gains and who loses access, and change nothing.
    #[arg(long)]
    pub plan: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// `isolate-cidr`: the members of a CIDR accept nothing from each other unless a rule allows
/// it.
#[derive(Debug, Args)]
pub struct IsolateCidrOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the CIDR.
    #[arg(value_name = "CIDR")]
    pub cidr: Option<String>,

    /// End the isolation instead.
    #[arg(long)]
    pub off: bool,

    /// Show who gains and who loses access, and change nothing.
    #[arg(long)]
    pub plan: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// `explain`: what the policy says about a packet.
#[derive(Debug, Args)]
pub struct ExplainOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// The sender: a peer name or an address.
    #[arg(value_name = "SRC")]
    pub source: String,

    /// The receiver and what opens: `NAME`, `NAME:PORT`, `NAME:PORT/PROTO`, `NAME/icmp`
    /// (an address instead of a name; `[v6]:PORT`). A port alone means tcp, no port an
    /// ICMP echo request.
    #[arg(value_name = "DST[:PORT][/PROTO]")]
    pub destination: Probe,

    /// Machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `advertise-routes`: what a gateway offers (the whole offer: networks it offered before
/// and leaves out are withdrawn).
#[derive(Debug, Args)]
pub struct AdvertiseRoutesOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// The gateway peer [default on a client: this host; required on the server].
    #[arg(long, value_name = "NAME")]
    pub peer: Option<String>,

    /// Networks behind the gateway, comma-separated: 192.168.10.0/24,172.31.0.0/16 (of the
    /// mesh's address family, outside the mesh network).
    #[arg(long, value_name = "NETS", value_delimiter = ',')]
    pub routes: Vec<IpNet>,

    /// Also offer to be an exit node: the default route of the mesh's family.
    #[arg(long)]
    pub exit_node: bool,

    /// Withdraw everything the gateway offers.
    #[arg(long, conflicts_with_all = ["routes", "exit_node"])]
    pub withdraw: bool,
}

/// `approve-routes`: an admin approves a gateway's offered routes (or takes them back).
#[derive(Debug, Args)]
pub struct ApproveRoutesOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// The gateway peer.
    #[arg(long, value_name = "NAME")]
    pub peer: Option<String>,

    /// Which of its networks, comma-separated (an exit node's is 0.0.0.0/0 or ::/0)
    /// [default: everything it offers].
    #[arg(long, value_name = "NETS", value_delimiter = ',')]
    pub routes: Vec<IpNet>,

    /// Take the approval back instead: clients stop using the routes.
    #[arg(long)]
    pub revoke: bool,
}

/// `auto-approve-routes`: what peers of a CIDR's subtree may offer without an admin.
#[derive(Debug, Args)]
pub struct AutoApproveRoutesOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the CIDR.
    #[arg(value_name = "CIDR")]
    pub cidr: Option<String>,

    /// Offered networks inside these prefixes are approved at once, comma-separated.
    #[arg(long, value_name = "PREFIXES", value_delimiter = ',')]
    pub routes: Vec<IpNet>,

    /// Offers to be an exit node are approved at once.
    #[arg(long)]
    pub exit_node: bool,

    /// Remove the CIDR's auto-approval.
    #[arg(long, conflicts_with_all = ["routes", "exit_node"])]
    pub off: bool,
}
