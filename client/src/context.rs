//! Everything a client operation needs besides its arguments: where files live, which
//! WireGuard backend to drive, the interface/hosts/NAT options, and the few things tests
//! replace (the API address, name resolution, waiting times).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;
use wireguard_control::{Backend, InterfaceName};
use wiremesh_shared::config::ClientConfig;
use wiremesh_shared::Endpoint;

use crate::api::ApiClient;
use crate::interface::{LinkControl, NetlinkLinks};

/// Default directory of per-network configs (`<iface>.conf`).
pub const DEFAULT_CONFIG_DIR: &str = "/etc/wiremesh";
/// Default directory of per-network peer caches (`<iface>.json`).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/wiremesh";
/// innernet's default MTU for mesh interfaces.
pub const DEFAULT_MTU: u32 = 1280;

/// Where a client keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            config_dir: DEFAULT_CONFIG_DIR.into(),
            data_dir: DEFAULT_DATA_DIR.into(),
        }
    }
}

impl Paths {
    pub fn new(config_dir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            config_dir: config_dir.into(),
            data_dir: data_dir.into(),
        }
    }

    /// `<config-dir>/<iface>.conf`.
    pub fn config_file(&self, iface: &InterfaceName) -> PathBuf {
        self.config_dir.join(format!("{iface}.conf"))
    }

    /// `<data-dir>/<iface>.json`.
    pub fn cache_file(&self, iface: &InterfaceName) -> PathBuf {
        self.data_dir.join(format!("{iface}.json"))
    }

    /// `<data-dir>/<iface>.policy.json`: the last ruleset the server compiled for this host,
    /// enforced again when the interface comes up while the server is unreachable.
    pub fn policy_file(&self, iface: &InterfaceName) -> PathBuf {
        self.data_dir.join(format!("{iface}.policy.json"))
    }

    /// `<data-dir>/<iface>.routes.json`: the routes the server last granted and asked this
    /// host to carry, and what this host changed for them (routes it installed, forwarding
    /// settings it found), so `down` and the next sync undo exactly that.
    pub fn routes_file(&self, iface: &InterfaceName) -> PathBuf {
        self.data_dir.join(format!("{iface}.routes.json"))
    }

    /// `<config-dir>/<iface>.redeem`: the invitation's key while the outcome of redeeming it
    /// is not known (see `install`).
    pub fn redeem_file(&self, iface: &InterfaceName) -> PathBuf {
        self.config_dir.join(format!("{iface}.redeem"))
    }

    /// The installed networks: every regular `*.conf` file in the config directory whose
    /// stem is a valid interface name, sorted. A missing directory means none.
    pub fn installed(&self) -> std::io::Result<Vec<InterfaceName>> {
        let entries = match std::fs::read_dir(&self.config_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if !entry.file_type()?.is_file()
                || path.extension().and_then(|e| e.to_str()) != Some("conf")
            {
                continue;
            }
            if let Some(name) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
            {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// How long a peer cache the server last confirmed may be trusted when the interface comes
/// up while the server is unreachable (see [`NetworkOptions::max_cache_age`]).
pub const DEFAULT_MAX_CACHE_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How the interface is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkOptions {
    pub mtu: u32,
    /// Do not add the route for the network's CIDR.
    pub no_routing: bool,
    /// When the interface comes up and the server is unreachable, a peer cache the server
    /// last confirmed longer ago than this brings up the server peer only: whoever was
    /// disabled meanwhile must not come back from it. `None`: any cache is used.
    pub max_cache_age: Option<Duration>,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        Self {
            mtu: DEFAULT_MTU,
            no_routing: false,
            max_cache_age: Some(DEFAULT_MAX_CACHE_AGE),
        }
    }
}

/// Whether and how to keep the hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsOptions {
    /// `None`: do not write a hosts file.
    pub path: Option<PathBuf>,
    /// `None`: `<peer>.<iface>.wg`; `Some("")`: `<peer>`; `Some(s)`: `<peer>.<s>`.
    pub suffix: Option<String>,
}

impl Default for HostsOptions {
    fn default() -> Self {
        Self {
            path: Some(PathBuf::from("/etc/hosts")),
            suffix: None,
        }
    }
}

/// NAT candidate reporting and traversal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NatOptions {
    pub no_traversal: bool,
    pub no_candidates: bool,
    pub exclude: Vec<IpNet>,
}

/// Waiting times of the protocol; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// After redeeming, how long to wait before the first fetch with the new key (the
    /// server keeps the old key for up to 5 s — innernet's delay).
    pub key_swap_wait: Duration,
    /// How long each NAT traversal step waits for handshakes.
    pub nat_step: Duration,
    /// How often the device is polled during a NAT traversal step.
    pub nat_poll: Duration,
    /// Upper bound on one whole NAT traversal run, so a sync never blocks the next for long.
    pub nat_budget: Duration,
    /// Timeout of one API request.
    pub api_timeout: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            key_swap_wait: Duration::from_secs(5),
            nat_step: Duration::from_secs(5),
            nat_poll: Duration::from_millis(100),
            nat_budget: Duration::from_secs(30),
            api_timeout: crate::api::DEFAULT_TIMEOUT,
        }
    }
}

/// Where a client's time comes from; tests inject their own.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall-clock time: handshake times are compared with it.
    fn wall(&self) -> SystemTime;
    /// Monotonic time: deadlines and schedules.
    fn monotonic(&self) -> Instant;
}

/// The system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

/// Resolves an endpoint to one socket address (`None` when it cannot be resolved).
pub type Resolver = Arc<dyn Fn(&Endpoint) -> Option<SocketAddr> + Send + Sync>;

/// Resolution through the system resolver (first address), with a timeout, a bound on
/// lookups running at once and a memory of answers ([`crate::resolve`]).
pub fn system_resolver() -> Resolver {
    let resolver = crate::resolve::BoundedResolver::system();
    Arc::new(move |endpoint: &Endpoint| resolver.resolve(endpoint))
}

/// The environment of every client operation.
#[derive(Clone)]
pub struct Context {
    pub paths: Paths,
    pub backend: Arc<dyn Backend>,
    pub network: NetworkOptions,
    pub hosts: HostsOptions,
    pub nat: NatOptions,
    pub timings: Timings,
    pub clock: Arc<dyn Clock>,
    pub resolve: Resolver,
    /// Reach the API here instead of the config's internal endpoint (tests; an API reached
    /// through a forwarded port).
    pub api_override: Option<SocketAddr>,
    /// Where local addresses for NAT candidates come from (tests inject fixed ones).
    pub local_addresses: Arc<dyn Fn() -> Vec<IpAddr> + Send + Sync>,
    /// Address, MTU and route plumbing of the interface: rtnetlink by default; tests on the
    /// fake backend (which has no kernel link) inject a recorder.
    pub links: Arc<dyn LinkControl>,
    /// Set (by the daemon's change watchers) when a pushed change waits: long waits inside
    /// a sync (NAT traversal) end early so the change is applied at once.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Whether and through what the port and protocol policy is enforced.
    pub policy: PolicyOptions,
    /// What this process saw of gateways' traffic (for failover between two gateways).
    pub liveness: Arc<crate::routing::Liveness>,
}

/// Enforcing the network's port and protocol policy on this host.
#[derive(Clone)]
pub struct PolicyOptions {
    /// `false` (`--no-firewall`): no table is programmed (one left from before is removed)
    /// and the server is told enforcement is off.
    pub enforce: bool,
    /// The nftables tables: `nft` by default; tests inject a recorder.
    pub firewall: Arc<dyn crate::policy::FirewallControl>,
    /// What this process last reported per network, so unchanged reports are not sent again.
    pub reported: Arc<
        std::sync::Mutex<
            std::collections::HashMap<InterfaceName, wiremesh_shared::wire::ClientReport>,
        >,
    >,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        Self {
            enforce: true,
            firewall: Arc::new(crate::policy::Nftables),
            reported: Arc::default(),
        }
    }
}

impl fmt::Debug for PolicyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyOptions")
            .field("enforce", &self.enforce)
            .field("firewall", &self.firewall)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("paths", &self.paths)
            .field("backend", &self.backend.kind())
            .field("network", &self.network)
            .field("hosts", &self.hosts)
            .field("nat", &self.nat)
            .field("timings", &self.timings)
            .field("clock", &self.clock)
            .field("api_override", &self.api_override)
            .field("links", &self.links)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Whether a pushed change waits (see [`Context::interrupt`]).
    pub fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// A context with default options for `backend`.
    pub fn new(paths: Paths, backend: Arc<dyn Backend>) -> Self {
        Self {
            paths,
            backend,
            network: NetworkOptions::default(),
            hosts: HostsOptions::default(),
            nat: NatOptions::default(),
            timings: Timings::default(),
            clock: Arc::new(SystemClock),
            resolve: system_resolver(),
            api_override: None,
            local_addresses: Arc::new(system_local_addresses),
            links: Arc::new(NetlinkLinks),
            interrupt: None,
            policy: PolicyOptions::default(),
            liveness: Arc::default(),
        }
    }

    /// The API client for a network.
    pub fn api(&self, config: &ClientConfig) -> ApiClient {
        self.api_with_timeout(config, self.timings.api_timeout)
    }

    /// The API client for a network with another request timeout (long polls).
    pub fn api_with_timeout(&self, config: &ClientConfig, timeout: Duration) -> ApiClient {
        let server = self.api_override.unwrap_or(config.server.internal_endpoint);
        ApiClient::with_timeout(server, config.server.public_key, timeout)
    }

    pub fn config_file(&self, iface: &InterfaceName) -> PathBuf {
        self.paths.config_file(iface)
    }

    /// Resolves an endpoint the server offered for another peer: as [`Context::resolve`],
    /// but never to port 0 or to an address inside the mesh network `mesh` (a name can
    /// point there as well as a literal address can, and the tunnel would carry itself).
    pub fn resolve_peer_endpoint(&self, endpoint: &Endpoint, mesh: &IpNet) -> Option<SocketAddr> {
        (self.resolve)(endpoint).filter(|addr| addr.port() != 0 && !mesh.contains(&addr.ip()))
    }

    pub fn cache_file(&self, iface: &InterfaceName) -> PathBuf {
        self.paths.cache_file(iface)
    }

    pub fn hosts_path(&self) -> Option<&Path> {
        self.hosts.path.as_deref()
    }
}

/// This host's addresses on links that are up and not loopback, with universe scope.
pub fn system_local_addresses() -> Vec<IpAddr> {
    match wireguard_control::link::local_addresses() {
        Ok(addresses) => addresses
            .into_iter()
            .filter(|a| a.link_up && !a.loopback && a.universe_scope)
            .map(|a| a.addr)
            .collect(),
        Err(error) => {
            tracing::warn!("failed to list local addresses for NAT candidates: {error}");
            Vec::new()
        }
    }
}
