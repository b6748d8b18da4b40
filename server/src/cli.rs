//! The command line of `wiremesh-server`: clap definitions (innernet-server 2.0.0's
//! subcommand and flag names, so its scripts keep working after renaming the binary) and one
//! function per subcommand ([`commands`], [`edit`]). The admin commands' arguments are
//! `wiremesh_cli::args`', shared with `wiremesh`; prompts are `wiremesh_cli::prompt`'s.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use wiremesh_cli::args::{
    AddCidrOpts, AddDeviceOpts, AddPeerOpts, AddRuleOpts, AdvertiseRoutesOpts, ApproveRoutesOpts,
    AssociationOpts, AutoApproveRoutesOpts, DeleteCidrOpts, DeleteRuleOpts, ExplainOpts,
    ExportDeviceOpts, IsolateCidrOpts, ListOpts, PeerOpts, RenameCidrOpts, RenamePeerOpts,
};

pub mod commands;
pub mod devices;
pub mod edit;
pub mod policy;
pub mod routes;
pub mod tokens;

/// Coordination server of a wiremesh network (an innernet-compatible WireGuard mesh).
#[derive(Debug, Parser)]
#[command(name = "wiremesh-server", version, about, long_about = None)]
pub struct Cli {
    /// Directory of the network config files.
    #[arg(short = 'c', long, global = true, value_name = "DIR", default_value = wiremesh_server::paths::DEFAULT_CONFIG_DIR)]
    pub config_dir: PathBuf,

    /// Directory of the network databases.
    #[arg(short = 'd', long, global = true, value_name = "DIR", default_value = wiremesh_server::paths::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    #[command(flatten)]
    pub network: NetworkOpts,

    #[command(subcommand)]
    pub command: Command,
}

/// How the WireGuard interface is driven and set up.
#[derive(Debug, Clone, Args)]
pub struct NetworkOpts {
    /// WireGuard implementation [default: kernel].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,

    /// MTU of the WireGuard interface [default: 1280].
    #[arg(long)]
    pub mtu: Option<u32>,

    /// Do not add a route for the whole network to the interface.
    #[arg(long)]
    pub no_routing: bool,
}

#[derive(Debug, Args)]
pub struct SettingsOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: wiremesh_shared::InterfaceName,

    /// Whether a peer may delete itself (`wiremesh uninstall` deregisters its host).
    #[arg(long, value_enum, value_name = "WHETHER")]
    pub self_deletion: Option<Allowance>,
}

#[derive(Debug, Args)]
pub struct CreateTokenOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: wiremesh_shared::InterfaceName,

    /// The token's name (letters, digits, `-`, `_`, `.`), as the audit log shows it.
    #[arg(long)]
    pub name: String,

    /// What it may do: read, devices, peers, policy or admin (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    pub scopes: Vec<wiremesh_server::tokens::Scope>,

    /// How long it is valid, e.g. 30d, 12h [default: until revoked].
    #[arg(long, value_name = "TIMESTRING")]
    pub expires: Option<wiremesh_shared::Timestring>,
}

#[derive(Debug, Args)]
pub struct RevokeTokenOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: wiremesh_shared::InterfaceName,

    /// The token's name.
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct AuditOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: wiremesh_shared::InterfaceName,

    /// How many of the newest entries to show.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,

    /// Machine-readable JSON (shape documented in doc/json-output.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SetEndpointOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: wiremesh_shared::InterfaceName,

    /// The new public endpoint, HOST:PORT (a DNS name that follows future moves is best).
    #[arg(value_name = "HOST:PORT")]
    pub endpoint: wiremesh_shared::Endpoint,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Allowance {
    Allow,
    Forbid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Kernel,
    Userspace,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new network.
    #[command(alias = "init")]
    New(NewOpts),

    /// Import a network from innernet-server (its files are only read).
    Import(ImportOpts),

    /// Delete a network: its interface, config and database.
    Uninstall(UninstallOpts),

    /// Serve a network: bring its interface up and answer its peers.
    Serve(ServeOpts),

    /// Invite a new peer.
    AddPeer(AddPeerOpts),

    /// Add a device that cannot run wiremesh (a phone, a router): it joins through a hub
    /// with a wg-quick configuration (and a QR code with --qr).
    AddDevice(AddDeviceOpts),

    /// Issue a device's configuration again (when `list` says it is stale); a device whose
    /// key was generated here gets a new key and address.
    ExportDevice(ExportDeviceOpts),

    /// Rename a peer or device.
    RenamePeer(RenamePeerOpts),

    /// Disable a peer or device: it leaves every interface and can no longer use the API.
    DisablePeer(PeerOpts),

    /// Enable a disabled peer or device.
    EnablePeer(PeerOpts),

    /// Delete a peer or device for good: it leaves every interface, and its address is never
    /// given to another peer (an unredeemed invitation's address is freed).
    DeletePeer(PeerOpts),

    /// Show or change the network's settings.
    Settings(SettingsOpts),

    /// Show the audit log: every change, who made it (the command line's user, an admin
    /// peer, the server itself) and when.
    Audit(AuditOpts),

    /// Make a token for the automation API (shown once; only its hash is kept).
    CreateToken(CreateTokenOpts),

    /// List the automation API's tokens (never their secrets).
    ListTokens(ListOpts),

    /// Revoke a token: it is refused from the next request on.
    RevokeToken(RevokeTokenOpts),

    /// Move the server's public endpoint: every wiremesh client records the new one in its
    /// config and follows at once, before the old one goes away.
    SetEndpoint(SetEndpointOpts),

    /// Add a CIDR.
    AddCidr(AddCidrOpts),

    /// Rename a CIDR.
    RenameCidr(RenameCidrOpts),

    /// Delete a CIDR (it must hold no peers, children or associations).
    DeleteCidr(DeleteCidrOpts),

    /// Let two CIDRs' peers see each other.
    AddAssociation(AssociationOpts),

    /// Delete an association between two CIDRs.
    DeleteAssociation(AssociationOpts),

    /// List the associations.
    ListAssociations(ListOpts),

    /// Add a port and protocol rule (plans it first: who gains and who loses access).
    AddRule(AddRuleOpts),

    /// Delete a port and protocol rule.
    DeleteRule(DeleteRuleOpts),

    /// List the rules, isolated CIDRs and which hosts enforce them.
    ListRules(ListOpts),

    /// Isolate a CIDR: its members accept nothing from each other unless a rule allows it.
    IsolateCidr(IsolateCidrOpts),

    /// Explain what the policy says about a packet, and whether its receiver enforces it.
    Explain(ExplainOpts),

    /// Offer routes through a gateway peer: networks behind it, or the exit node.
    AdvertiseRoutes(AdvertiseRoutesOpts),

    /// Approve a gateway's offered routes (or take the approval back with --revoke).
    ApproveRoutes(ApproveRoutesOpts),

    /// Approve routes offered by peers of a CIDR as they arrive.
    AutoApproveRoutes(AutoApproveRoutesOpts),

    /// List the offered routes, their approval and the auto-approvals.
    ListRoutes(ListOpts),

    /// List the CIDRs as a tree with their peers.
    List(ListOpts),

    /// Copy a network's database with SQLite's online backup (safe while `serve` runs).
    Backup(BackupOpts),

    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct BackupOpts {
    /// The network (its interface name).
    #[arg(value_name = "INTERFACE")]
    pub interface: String,

    /// Where to write the copy (must not exist; written with mode 0600).
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
}

#[derive(Debug, Args)]
pub struct NewOpts {
    /// Name of the network, also its interface name.
    #[arg(long)]
    pub network_name: Option<String>,

    /// The whole network, e.g. 10.42.0.0/16.
    #[arg(long)]
    pub network_cidr: Option<String>,

    /// Where peers reach this server from outside, HOST:PORT.
    #[arg(long, conflicts_with = "auto_external_endpoint")]
    pub external_endpoint: Option<String>,

    /// Use this host's public IP address (found through DNS) and the listen port.
    #[arg(long)]
    pub auto_external_endpoint: bool,

    /// WireGuard UDP port, also the API's TCP port.
    #[arg(long)]
    pub listen_port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct ImportOpts {
    /// Name of the network to import [default: the innernet config file's name].
    #[arg(value_name = "INTERFACE")]
    pub interface: Option<String>,

    /// innernet's config file [default: /etc/innernet-server/<INTERFACE>.conf].
    #[arg(long, value_name = "PATH")]
    pub innernet_config: Option<PathBuf>,

    /// innernet's database [default: /var/lib/innernet-server/<INTERFACE>.db].
    #[arg(long, value_name = "PATH")]
    pub innernet_db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UninstallOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: String,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ServeOpts {
    #[arg(value_name = "INTERFACE")]
    pub interface: String,

    /// Overrides the options given before `serve`.
    #[command(flatten)]
    pub network: NetworkOpts,

    #[command(flatten)]
    pub hosts: HostsOpts,

    #[command(flatten)]
    pub limits: LimitOpts,

    /// Do not enforce the port and protocol policy on the server's own interface (no
    /// nftables table is programmed; one left from before is removed).
    #[arg(long)]
    pub no_firewall: bool,

    /// The automation API's Unix socket [default: /run/wiremesh-server/<INTERFACE>.sock].
    #[arg(long, value_name = "PATH", conflicts_with = "no_api_socket")]
    pub api_socket: Option<PathBuf>,

    /// Do not serve the automation API on a Unix socket.
    #[arg(long)]
    pub no_api_socket: bool,

    /// Also serve the automation API on this TCP address, with TLS (needs --api-tls-cert
    /// and --api-tls-key), e.g. 0.0.0.0:8443.
    #[arg(long, value_name = "ADDR:PORT", requires_all = ["api_tls_cert", "api_tls_key"])]
    pub api_listen: Option<std::net::SocketAddr>,

    /// The TLS certificate chain of --api-listen (PEM; read again when it changes).
    #[arg(long, value_name = "PATH", requires = "api_listen")]
    pub api_tls_cert: Option<PathBuf>,

    /// The TLS private key of --api-listen (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PATH", requires = "api_listen")]
    pub api_tls_key: Option<PathBuf>,
}

/// The connection limits of `serve` (operator guide, "Limits").
#[derive(Debug, Args)]
pub struct LimitOpts {
    /// Connections held at once, all peers together [default: the descriptor limit less 256].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Connections one peer (tunnel address) may hold; more are answered 429 [default: 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_peer: Option<u32>,

    /// `/v2` long polls one peer may hold; more are answered 429 [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_polls_per_peer: Option<u32>,
}

#[derive(Debug, Args)]
pub struct HostsOpts {
    /// Hosts file to keep the peers' names in.
    #[arg(long, value_name = "PATH", default_value = hostsfile::DEFAULT_PATH)]
    pub hosts_path: PathBuf,

    /// Do not write peer names to a hosts file.
    #[arg(long, conflicts_with = "hosts_path")]
    pub no_write_hosts: bool,

    /// Suffix of peer names: `<peer>.<SUFFIX>` [default: `<peer>.<network>.wg`; '' for none].
    #[arg(long, value_name = "SUFFIX")]
    pub host_suffix: Option<String>,
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
        clidoc::check(
            super::Cli::command(),
            "wiremesh-server",
            "wiremesh-server",
            &doc,
        );
    }
}
