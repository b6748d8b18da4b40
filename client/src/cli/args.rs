//! The clap definitions of `wiremesh`: innernet 2.0.0's subcommand, flag and alias names
//! (compat §8.1), so an innernet script keeps working after renaming the binary.
//!
//! Options that innernet puts before the subcommand (`-c`, `-d`, `--backend`, `--mtu`,
//! `--no-routing`) are top-level only, not global: `-d` means `--data-dir` there but
//! `--daemon` / `--delete-invite` after `up` / `install`. Every value a command could ask for
//! interactively is an `Option` here; `wiremesh_cli::prompt` fills the gaps. The admin
//! commands' arguments are `wiremesh_cli::args`', shared with `wiremesh-server`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use wiremesh::context::{DEFAULT_CONFIG_DIR, DEFAULT_DATA_DIR, DEFAULT_MTU};
use wiremesh_shared::{Endpoint, InterfaceName};

pub use wiremesh_cli::args::{
    AddCidrOpts, AddDeviceOpts, AddPeerOpts, AddRuleOpts, AdvertiseRoutesOpts, ApproveRoutesOpts,
    AssociationOpts, AutoApproveRoutesOpts, DeleteCidrOpts, DeleteRuleOpts, ExplainOpts,
    ExportDeviceOpts, IsolateCidrOpts, ListOpts, PeerOpts, RenameCidrOpts, RenamePeerOpts,
};

/// Client of a wiremesh network (an innernet-compatible WireGuard mesh).
///
/// With no subcommand, shows every network that is up (like `show`).
#[derive(Debug, Parser)]
#[command(name = "wiremesh", version, about, long_about = None)]
pub struct Cli {
    /// More logging: -v debug (and full keys in `show`), -vv trace.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Directory of the network configs.
    #[arg(short = 'c', long, value_name = "DIR", default_value = DEFAULT_CONFIG_DIR)]
    pub config_dir: PathBuf,

    /// Directory of the peer caches.
    #[arg(short = 'd', long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// WireGuard implementation: the kernel module or a userspace program (wireguard-go,
    /// or WG_USERSPACE_IMPLEMENTATION). Without it, each network uses the implementation its
    /// interface runs on, else the one recorded at install, else the kernel; `install` and
    /// `up` record the one they use.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,

    /// MTU of the WireGuard interface.
    #[arg(long, value_name = "MTU", default_value_t = DEFAULT_MTU)]
    pub mtu: u32,

    /// Do not add a route for the network to the interface.
    #[arg(long)]
    pub no_routing: bool,

    /// Do not enforce the network's port and protocol policy on this host: no nftables table
    /// is programmed (one left from before is removed), and the server lists the host as not
    /// enforcing.
    #[arg(long)]
    pub no_firewall: bool,

    /// Reach the API at this address instead of the config's internal endpoint (tests,
    /// forwarded ports).
    #[arg(
        long,
        global = true,
        hide = true,
        value_name = "ADDR",
        env = "WIREMESH_API_ADDRESS"
    )]
    pub api_address: Option<SocketAddr>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Kernel,
    Userspace,
}

impl From<BackendArg> for wireguard_control::BackendKind {
    fn from(arg: BackendArg) -> Self {
        match arg {
            BackendArg::Kernel => Self::Kernel,
            BackendArg::Userspace => Self::Userspace,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Join a network with an invitation file.
    #[command(alias = "redeem")]
    Install(InstallOpts),

    /// Show the networks that are up: peers, endpoints, handshakes, transfer.
    #[command(alias = "list")]
    Show(ShowOpts),

    /// Bring networks up and sync their peers once, or keep syncing with --daemon.
    Up(UpOpts),

    /// Sync the peers of a network that is up.
    Fetch(FetchOpts),

    /// Take a network's interface down (its files stay).
    Down(InterfaceArg),

    /// Remove a network: its interface, config and peer cache.
    Uninstall(UninstallOpts),

    /// Set an unreadable or corrupt peer cache aside, so the next sync trusts the keys the
    /// server offers (as at install) instead of holding back peers it cannot check.
    ResetCache(ResetCacheOpts),

    /// Check this host's networks: files, interface, server, handshakes, rp_filter.
    Doctor(DoctorOpts),

    /// Invite a new peer (admin).
    AddPeer(AddPeerOpts),

    /// Add a device that cannot run wiremesh (a phone, a router): it joins through a hub
    /// with a wg-quick configuration, and a QR code with --qr (admin).
    AddDevice(AddDeviceOpts),

    /// Issue a device's configuration again; one whose key the server generated gets a new
    /// key and address (admin).
    ExportDevice(ExportDeviceOpts),

    /// List the devices, their hubs and stale configurations (admin).
    ListDevices(ListOpts),

    /// Rename a peer (admin).
    RenamePeer(RenamePeerOpts),

    /// Disable a peer: it leaves everyone's interface and loses API access (admin).
    DisablePeer(PeerOpts),

    /// Enable a disabled peer (admin).
    EnablePeer(PeerOpts),

    /// Delete a peer or device for good: it leaves every interface, and its address is
    /// never given to another peer (admin).
    DeletePeer(PeerOpts),

    /// List every peer of the network, including disabled and invited ones (admin).
    ListPeers(ListOpts),

    /// Add a CIDR (admin).
    AddCidr(AddCidrOpts),

    /// Rename a CIDR (admin).
    RenameCidr(RenameCidrOpts),

    /// Delete a CIDR that holds no peers, children or associations (admin).
    DeleteCidr(DeleteCidrOpts),

    /// List the network's CIDRs (from the local cache).
    ListCidrs(ListCidrsOpts),

    /// Let the peers of two CIDRs see each other (admin).
    AddAssociation(AssociationOpts),

    /// Delete the association between two CIDRs (admin).
    DeleteAssociation(AssociationOpts),

    /// List the associations between CIDRs (admin).
    ListAssociations(ListOpts),

    /// Add a port and protocol rule, showing first who gains and who loses access (admin).
    AddRule(AddRuleOpts),

    /// Delete a port and protocol rule (admin).
    DeleteRule(DeleteRuleOpts),

    /// List the rules, isolated CIDRs and which hosts enforce them (admin).
    ListRules(ListOpts),

    /// Isolate a CIDR: its members accept nothing from each other unless a rule allows it
    /// (admin).
    IsolateCidr(IsolateCidrOpts),

    /// Explain what the policy says about a packet, and whether its receiver enforces it
    /// (admin).
    Explain(ExplainOpts),

    /// Offer routes through this host: networks behind it, or the exit node (another peer
    /// with --peer: admin).
    AdvertiseRoutes(ClientAdvertiseRoutesOpts),

    /// Use the subnet routes gateways offer (saved in the network's config), or stop with
    /// --off.
    AcceptRoutes(AcceptRoutesOpts),

    /// Send all traffic through a peer that offers to be an exit node (saved in the
    /// network's config), or stop with --off.
    SetExitNode(SetExitNodeOpts),

    /// Approve a gateway's offered routes, or take the approval back with --revoke (admin).
    ApproveRoutes(ApproveRoutesOpts),

    /// Approve routes offered by peers of a CIDR as they arrive (admin).
    AutoApproveRoutes(AutoApproveRoutesOpts),

    /// List the offered routes, their approval and the auto-approvals (admin).
    ListRoutes(ListOpts),

    /// Set or unset this peer's fixed WireGuard listen port.
    SetListenPort(SetListenPortOpts),

    /// Set or unset the endpoint other peers use to reach this peer.
    OverrideEndpoint(OverrideEndpointOpts),

    /// Use a fixed endpoint for one peer, on this host only.
    OverridePeerEndpoint(OverridePeerEndpointOpts),

    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Args)]
pub struct InterfaceArg {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,
}

/// Where peer names are written (the HOSTS options).
#[derive(Debug, Clone, Args)]
pub struct HostsOpts {
    /// Hosts file to keep the peers' names in.
    #[arg(long, value_name = "PATH", default_value = "/etc/hosts")]
    pub hosts_path: PathBuf,

    /// Do not write peer names to a hosts file.
    #[arg(long, conflicts_with = "hosts_path")]
    pub no_write_hosts: bool,

    /// Suffix of peer names: `<peer>.<SUFFIX>` [default: `<peer>.<network>.wg`; '' for none].
    #[arg(long, value_name = "SUFFIX")]
    pub host_suffix: Option<String>,
}

/// NAT candidate reporting and traversal (the NAT options).
#[derive(Debug, Clone, Args)]
pub struct NatOpts {
    /// Do not try other peers' NAT candidates as endpoints.
    #[arg(long)]
    pub no_nat_traversal: bool,

    /// Do not report local addresses in this CIDR as candidates (repeatable).
    #[arg(long, value_name = "CIDR", action = ArgAction::Append)]
    pub exclude_nat_candidates: Vec<IpNet>,

    /// Report no NAT candidates at all.
    #[arg(long, conflicts_with = "exclude_nat_candidates")]
    pub no_nat_candidates: bool,
}

#[derive(Debug, Args)]
pub struct InstallOpts {
    /// The invitation file, or `-` to read it from standard input (then --name or
    /// --default-name is needed, and there is no file to delete).
    #[arg(value_name = "INVITE")]
    pub invite: PathBuf,

    /// Name of the interface [default: asked, offering the network's name].
    #[arg(long, value_name = "NAME", conflicts_with = "default_name")]
    pub name: Option<InterfaceName>,

    /// Name the interface after the network.
    #[arg(long)]
    pub default_name: bool,

    /// Delete the invitation file once installed.
    #[arg(short = 'd', long)]
    pub delete_invite: bool,

    #[command(flatten)]
    pub hosts: HostsOpts,

    #[command(flatten)]
    pub nat: NatOpts,
}

#[derive(Debug, Args)]
pub struct ShowOpts {
    /// One line per peer.
    #[arg(short, long, conflicts_with = "json")]
    pub short: bool,

    /// Peers (one line each) under their CIDRs, as a tree.
    #[arg(short, long, conflicts_with = "json")]
    pub tree: bool,

    /// Machine-readable JSON (shape documented in doc/json-output.md).
    #[arg(long)]
    pub json: bool,

    /// Only this network.
    #[arg(value_name = "INTERFACE")]
    pub interface: Option<InterfaceName>,
}

#[derive(Debug, Args)]
pub struct UpOpts {
    /// Only this network [default: every installed one].
    #[arg(value_name = "INTERFACE")]
    pub interface: Option<InterfaceName>,

    /// Keep running and sync every --interval seconds.
    #[arg(short, long)]
    pub daemon: bool,

    /// Seconds between syncs of the daemon.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub interval: u64,

    /// When the server is unreachable as the interface comes up, a peer cache the server
    /// last confirmed longer ago than this brings up only the server peer, so that a peer
    /// disabled meanwhile does not come back (e.g. 12h, 7d, 2w; `never` for no limit).
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub max_cache_age: CacheAgeLimit,

    /// Use the subnet routes gateways offer (recorded in the config, like `wiremesh
    /// accept-routes`, so later syncs and the daemon keep doing it).
    #[arg(long)]
    pub accept_routes: bool,

    /// Send all traffic through this exit node, a peer's name or mesh address (recorded in
    /// the config, like `wiremesh set-exit-node`).
    #[arg(long, value_name = "GATEWAY", requires = "interface")]
    pub exit_node: Option<String>,

    #[command(flatten)]
    pub hosts: HostsOpts,

    #[command(flatten)]
    pub nat: NatOpts,
}

/// `--max-cache-age`: a duration, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheAgeLimit(pub Option<std::time::Duration>);

impl std::str::FromStr for CacheAgeLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "never" {
            return Ok(Self(None));
        }
        text.parse::<wiremesh_shared::Timestring>()
            .map(|limit| Self(Some(limit.as_duration())))
            .map_err(|error| format!("{error}, or `never`"))
    }
}

#[derive(Debug, Args)]
pub struct FetchOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    #[command(flatten)]
    pub hosts: HostsOpts,

    #[command(flatten)]
    pub nat: NatOpts,
}

#[derive(Debug, Args)]
pub struct UninstallOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,

    /// Leave this host registered on the server (by default it deletes itself there, when
    /// the server is reachable and allows it).
    #[arg(long)]
    pub keep_registration: bool,
}

#[derive(Debug, Args)]
pub struct ResetCacheOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DoctorOpts {
    /// Only this network [default: every installed one].
    #[arg(value_name = "INTERFACE")]
    pub interface: Option<InterfaceName>,

    /// Machine-readable JSON (shape documented in doc/json-output.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListCidrsOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Show the CIDRs as a tree.
    #[arg(short, long, conflicts_with = "json")]
    pub tree: bool,

    /// Machine-readable JSON (shape documented in doc/json-output.md).
    #[arg(long)]
    pub json: bool,
}

/// `advertise-routes` on a client: the shared options, and this host's source NAT setting.
#[derive(Debug, Args)]
pub struct ClientAdvertiseRoutesOpts {
    #[command(flatten)]
    pub offer: AdvertiseRoutesOpts,

    /// As the gateway, do not masquerade mesh traffic toward the routes: for routed sites
    /// whose hosts have a route back to the mesh (saved in the network's config).
    #[arg(long, conflicts_with_all = ["peer", "snat"])]
    pub no_snat: bool,

    /// Masquerade mesh traffic toward the routes again (the default).
    #[arg(long, conflicts_with = "peer")]
    pub snat: bool,

    /// Also offer the subnets of this host's Docker networks (of the mesh's address family),
    /// as `docker network inspect` lists them (the `docker` CLI follows DOCKER_HOST).
    #[arg(long, conflicts_with_all = ["peer", "withdraw"])]
    pub docker_networks: bool,
}

#[derive(Debug, Args)]
pub struct AcceptRoutesOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Stop using them.
    #[arg(long)]
    pub off: bool,
}

#[derive(Debug, Args)]
pub struct SetExitNodeOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// The exit node: a peer's name or mesh address.
    #[arg(value_name = "GATEWAY", required_unless_present = "off")]
    pub gateway: Option<String>,

    /// Stop using an exit node.
    #[arg(long, conflicts_with = "gateway")]
    pub off: bool,
}

#[derive(Debug, Args)]
pub struct SetListenPortOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// The UDP port WireGuard listens on.
    #[arg(short, long, value_name = "PORT", conflicts_with = "unset")]
    pub listen_port: Option<u16>,

    /// Use a random port again.
    #[arg(short, long)]
    pub unset: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct OverrideEndpointOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// HOST:PORT other peers should use; `0.0.0.0:PORT` means "the address the server sees".
    #[arg(short, long, value_name = "HOST:PORT", conflicts_with = "unset")]
    pub endpoint: Option<Endpoint>,

    /// Let the server report the endpoint it observes again.
    #[arg(short, long)]
    pub unset: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct OverridePeerEndpointOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: InterfaceName,

    /// Name of the peer.
    #[arg(long, value_name = "PEER")]
    pub name: Option<String>,

    /// HOST:PORT to reach that peer at.
    #[arg(short, long, value_name = "HOST:PORT", conflicts_with = "unset")]
    pub endpoint: Option<Endpoint>,

    /// Use what the server reports again (from the next fetch).
    #[arg(short, long)]
    pub unset: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }

    /// doc/man and doc/completions are what this definition generates (see `clidoc`).
    #[test]
    fn generated_docs() {
        let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../doc");
        clidoc::check(super::Cli::command(), "wiremesh", "wiremesh", &doc);
    }
}
