//! `serve`: the server runtime (compat §7).
//!
//! [`run`] loads the config, opens the database, brings the WireGuard interface up with every
//! enabled peer, advertises the server's local addresses as its NAT candidates, and serves the
//! API on `address:listen-port`, bound to the WireGuard interface. Beside the API runs the
//! maintenance loop ([`maintenance`]). SIGTERM or SIGINT stop accepting connections, let
//! requests in flight finish, stop the loop and close the database. The interface is left up,
//! so a restart takes it over in exactly the same state and peers keep their tunnels.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use wireguard_control::{link, InterfaceName};
use wiremesh_shared::config::ServerConfig;
use wiremesh_shared::nat::candidate_endpoints;

use crate::error::ServiceError;
use crate::http::Limits;
use crate::interface::{self, BackendChoice, InterfaceError, InterfaceSettings};
use crate::paths::{PathsError, ServerPaths};
use crate::service::{ServerInterface, Service, ServiceOptions, SystemClock};
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;

pub mod descriptors;
pub mod maintenance;

/// How long binding the API socket is retried while the address is not usable yet (an IPv6
/// address is "tentative" for a moment after it is set).
const BIND_RETRY: Duration = Duration::from_secs(5);
/// How long requests in flight may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Where `serve` keeps the hosts file section of its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsFile {
    pub path: PathBuf,
    /// innernet's `--host-suffix`: `None` → `<peer>.<network>.wg`, `Some("")` → `<peer>`.
    pub suffix: Option<String>,
}

/// Everything `serve` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    pub paths: ServerPaths,
    pub network: InterfaceName,
    pub backend: BackendChoice,
    pub interface: InterfaceSettings,
    /// `None`: leave the hosts file alone (`--no-write-hosts`).
    pub hosts: Option<HostsFile>,
    pub limits: LimitOptions,
    /// Enforce the port and protocol policy on the server's own interface (`false`:
    /// `--no-firewall`).
    pub firewall: bool,
    /// Where the automation API listens (`None`: `--no-api-socket`).
    pub api_socket: Option<std::path::PathBuf>,
    /// The automation API on TCP with TLS too (`--api-listen`).
    pub api_tls: Option<ApiTls>,
}

/// `--api-listen` with its certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTls {
    pub address: SocketAddr,
    pub files: crate::http::tls::TlsFiles,
}

/// The automation API's socket when `--api-socket` is not given.
pub fn default_api_socket(network: &InterfaceName) -> std::path::PathBuf {
    std::path::Path::new("/run/wiremesh-server").join(format!("{network}.sock"))
}

/// Binds the automation API's Unix socket: its directory is made (mode 0750) if missing, a
/// socket left by an earlier run is replaced, anything else in the way is an error; the
/// socket is mode 0660 (its owner and group: root, and whoever root lets in). Also returns
/// the directory when it made it (removed again, if empty, when serving ends).
pub fn bind_api_socket(
    path: &std::path::Path,
) -> std::io::Result<(tokio::net::UnixListener, Option<std::path::PathBuf>)> {
    use std::os::unix::fs::{DirBuilderExt as _, FileTypeExt as _, PermissionsExt as _};
    let mut made = None;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)?;
            made = Some(dir.to_path_buf());
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok((listener, made))
}

/// The connection limits given on the command line; `None` takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOptions {
    /// Default: the descriptor limit less [`crate::http::limits::DESCRIPTOR_RESERVE`].
    pub max_connections: Option<usize>,
    pub max_connections_per_peer: Option<usize>,
    pub max_polls_per_peer: Option<usize>,
}

impl LimitOptions {
    /// The limits for a process allowed `descriptors` open descriptors, checked.
    pub fn resolve(&self, descriptors: u64) -> Result<Limits, String> {
        let defaults = Limits::for_descriptors(descriptors);
        let limits = Limits {
            max_connections: self.max_connections.unwrap_or(defaults.max_connections),
            max_connections_per_peer: self
                .max_connections_per_peer
                .unwrap_or(defaults.max_connections_per_peer),
            max_polls_per_peer: self
                .max_polls_per_peer
                .unwrap_or(defaults.max_polls_per_peer),
            ..defaults
        };
        limits.check(descriptors)?;
        Ok(limits)
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Paths(#[from] PathsError),
    #[error("failed to open the database of network {network}: {source}")]
    Open {
        network: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error("failed to load network {network}: {source}")]
    Load {
        network: String,
        #[source]
        source: Box<ServiceError>,
    },
    #[error("network {network}: the automation API's --api-tls-cert/--api-tls-key: {source}")]
    ApiTls {
        network: String,
        #[source]
        source: crate::http::tls::TlsError,
    },
    #[error("network {network}: failed to listen for the automation API on {addr}: {source}")]
    ApiListen {
        network: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Interface(#[from] InterfaceError),
    #[error("failed to add the peers of network {network} to its interface: {source}")]
    Peers {
        network: String,
        #[source]
        source: wireguard_control::Error,
    },
    #[error(
        "failed to listen on {addr} (interface {iface}): {source}; is another server for this \
         network running?"
    )]
    Listen {
        addr: SocketAddr,
        iface: InterfaceName,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to serve the API of network {network}: {source}")]
    Http {
        network: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to start network {network}: a startup task panicked")]
    Startup { network: String },
    #[error("cannot serve network {network}: {message}")]
    Limits { network: String, message: String },
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(options: ServeOptions) -> Result<(), ServeError> {
    let shutdown = shutdown_signal()?;
    run_until(options, shutdown).await
}

/// Runs the server until `shutdown` resolves.
pub async fn run_until(
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let network = options.network.to_string();
    let limits = descriptor_limits(&options.limits).map_err(|message| ServeError::Limits {
        network: network.clone(),
        message,
    })?;
    // What `--api-listen` needs is checked before anything is touched.
    let api_tls = match &options.api_tls {
        None => None,
        Some(tls) => {
            let cert =
                crate::http::tls::ReloadingCert::new(tls.files.clone(), crate::http::tls::RECHECK)
                    .map_err(|source| ServeError::ApiTls {
                        network: network.clone(),
                        source,
                    })?;
            let listener = tokio::net::TcpListener::bind(tls.address)
                .await
                .map_err(|source| ServeError::ApiListen {
                    network: network.clone(),
                    addr: tls.address,
                    source,
                })?;
            Some((listener, crate::http::tls::server_config(Arc::new(cert))))
        }
    };
    let startup = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || start(&options))
    };
    let started = startup.await.map_err(|_| ServeError::Startup {
        network: network.clone(),
    })??;
    let Started { service, config } = started;
    let addr = SocketAddr::new(config.address, config.listen_port);
    let listener = listen(addr, &options.network).await?;
    tracing::info!("serving {network} on {addr}");

    let (stop_tx, stop_rx) = watch::channel(false);
    let loop_task = tokio::spawn(maintenance::run(
        service.clone(),
        options.network.clone(),
        options.hosts.clone(),
        (
            options.firewall,
            crate::forwarding::Forwarding::new(options.paths.forwarding_record(&options.network)),
        ),
        stop_rx.clone(),
    ));
    let router =
        crate::http::router_with(service.clone(), config.private_key.public_key(), &limits);
    let automation_router = crate::http::automation::router(crate::http::automation::Automation {
        service: service.clone(),
        network: Arc::from(options.network.as_str()),
        internal_endpoint: addr,
    });
    let tls_task = api_tls.map(|(listener, config)| {
        if let Ok(local) = listener.local_addr() {
            tracing::info!(address = %local, "automation API listening with TLS");
        }
        tokio::spawn(crate::http::tls::serve(
            listener,
            config,
            automation_router.clone(),
            stop_rx.clone(),
        ))
    });
    let automation = match &options.api_socket {
        None => None,
        Some(path) => match bind_api_socket(path) {
            Ok((socket, made_dir)) => {
                tracing::info!(socket = %path.display(), "automation API listening");
                let router = automation_router.clone();
                let mut stop = stop_rx.clone();
                Some((
                    tokio::spawn(async move {
                        let served = axum::serve(socket, router)
                            .with_graceful_shutdown(async move {
                                let _ = stop.wait_for(|stop| *stop).await;
                            })
                            .await;
                        if let Err(error) = served {
                            tracing::error!("the automation API stopped: {error}");
                        }
                    }),
                    made_dir,
                ))
            }
            // The peer API is what the network needs; the automation API is refused loudly.
            Err(error) => {
                tracing::error!(
                    socket = %path.display(),
                    "failed to listen for the automation API: {error}; serving without it"
                );
                None
            }
        },
    };
    let mut http_stop = stop_rx.clone();
    let http = crate::http::serve(listener, router, limits, async move {
        let _ = http_stop.wait_for(|stop| *stop).await;
    });
    tokio::pin!(http);

    let served = tokio::select! {
        served = &mut http => served,
        () = shutdown => {
            tracing::info!("shutting down: finishing requests in flight");
            service.stop_waiting();
            let _ = stop_tx.send(true);
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut http).await {
                Ok(served) => served,
                Err(_) => {
                    tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
                    Ok(())
                }
            }
        }
    };
    let _ = stop_tx.send(true);
    if loop_task.await.is_err() {
        tracing::error!("the maintenance loop panicked");
    }
    if let Some(task) = tls_task {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
    }
    if let Some((task, made_dir)) = automation {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        if let Some(path) = &options.api_socket {
            let _ = std::fs::remove_file(path);
        }
        if let Some(dir) = made_dir {
            // Only when empty: another network's server may be using it.
            let _ = std::fs::remove_dir(dir);
        }
    }
    // The last handle: dropping it closes the database.
    drop(service);
    tracing::info!("stopped serving {network}");
    served.map_err(|source| ServeError::Http { network, source })
}

/// Raises the descriptor limit, logs it, and resolves the connection limits against it.
fn descriptor_limits(options: &LimitOptions) -> Result<Limits, String> {
    let raised = descriptors::raise().map_err(|error| {
        format!("failed to raise the descriptor limit (RLIMIT_NOFILE): {error}")
    })?;
    let limits = options.resolve(raised.now)?;
    let how = if raised.now > raised.before {
        format!("raised from {}", raised.before)
    } else {
        "the hard limit".to_owned()
    };
    tracing::info!(
        descriptors = raised.now,
        max_connections = limits.max_connections,
        per_peer = limits.max_connections_per_peer,
        "descriptor limit {} ({how}): at most {} connections at once, room for about {} \
         daemons (each holds one long poll); at most {} connections and {} long polls per peer",
        raised.now,
        limits.max_connections,
        limits.max_connections,
        limits.max_connections_per_peer,
        limits.max_polls_per_peer,
    );
    Ok(limits)
}

/// What the blocking part of startup produced.
struct Started {
    service: Arc<Service>,
    config: ServerConfig,
}

/// Config, database, interface, peers, candidates: everything before the API opens.
fn start(options: &ServeOptions) -> Result<Started, ServeError> {
    let network = options.network.to_string();
    let config = options.paths.load_config(&options.network)?;
    let database = options.paths.existing_database(&options.network)?;
    let store = SqliteStore::open(&database).map_err(|source| ServeError::Open {
        network: network.clone(),
        source: Box::new(source),
    })?;
    let backend = options.backend.backend();
    interface::bring_up(&*backend, &options.network, &config, options.interface)?;
    let device = ServerInterface {
        backend,
        name: options.network.clone(),
    };
    let service = Service::new(
        Box::new(store),
        Some(device),
        Arc::new(SystemClock),
        ServiceOptions::default(),
    )
    .map_err(|source| ServeError::Load {
        network: network.clone(),
        source: Box::new(source),
    })?;
    let sync = service.sync_device().map_err(|source| ServeError::Peers {
        network: network.clone(),
        source,
    })?;
    tracing::info!(
        added = sync.added,
        modified = sync.modified,
        removed = sync.removed,
        "interface peers in line with the database"
    );
    advertise_candidates(&service, &options.network, &config);
    Ok(Started {
        service: Arc::new(service),
        config,
    })
}

/// Sets the server peer's NAT candidates to this host's global addresses with the listen
/// port (at most `MAX_CANDIDATES`); addresses inside the network itself are left out.
/// A failure is logged: peers then only use the external endpoint.
fn advertise_candidates(service: &Service, iface: &InterfaceName, config: &ServerConfig) {
    let addresses = match link::local_addresses() {
        Ok(addresses) => addresses,
        Err(error) => {
            tracing::warn!("failed to list local addresses for NAT candidates: {error}");
            return;
        }
    };
    let local = addresses
        .into_iter()
        .filter(|a| a.universe_scope && !a.loopback && a.link_up && a.iface != iface.as_str())
        .map(|a| a.addr);
    // The network's own addresses are reachable only through the tunnel: never candidates.
    let candidates = candidate_endpoints(local, &[config.network()], config.listen_port);
    let Some(server) = service.model().server_peer().cloned() else {
        tracing::warn!("the network has no server peer; NAT candidates not set");
        return;
    };
    match service.set_candidates(&server, candidates.clone()) {
        Ok(()) => tracing::info!(count = candidates.len(), "server NAT candidates set"),
        Err(error) => tracing::warn!("failed to set the server's NAT candidates: {error}"),
    }
}

/// A listener on `addr` bound to the interface `iface` (SO_BINDTODEVICE), so the API is only
/// reachable through the tunnel.
async fn listen(addr: SocketAddr, iface: &InterfaceName) -> Result<TcpListener, ServeError> {
    let fail = |source| ServeError::Listen {
        addr,
        iface: iface.clone(),
        source,
    };
    let deadline = Instant::now() + BIND_RETRY;
    loop {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(fail)?;
        socket.set_reuseaddr(true).map_err(fail)?;
        socket
            .bind_device(Some(iface.as_str().as_bytes()))
            .map_err(fail)?;
        match socket.bind(addr) {
            Ok(()) => return socket.listen(1024).map_err(fail),
            Err(error)
                if error.kind() == ErrorKind::AddrNotAvailable && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(fail(error)),
        }
    }
}

/// Resolves on the first SIGTERM or SIGINT. The handlers are installed at once, so a signal
/// that arrives during startup is not lost.
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, ServeError> {
    let install = |kind, signal_name| {
        signal(kind).map_err(|source| ServeError::Signal {
            signal: signal_name,
            source,
        })
    };
    let mut term = install(SignalKind::terminate(), "SIGTERM")?;
    let mut int = install(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!("received {name}");
    })
}
