//! Test harness: a real wiremesh-server network in a temporary directory, served over HTTP on
//! loopback, and wiremesh clients that talk to it on in-memory WireGuard devices.
//!
//! - [`TestNet::new`] creates the server: SQLite store in a tempdir, [`Service`] with a
//!   [`FakeBackend`] device, a controllable clock ([`TestClock`]), and a tokio runtime whose
//!   worker threads serve the HTTP API in the background.
//! - Every simulated peer gets its own listener on `127.0.0.1:<random port>`
//!   ([`TestNet::listen_as`]); requests on it arrive "from" that peer's tunnel IP, which is
//!   how the server identifies callers. Listeners can be stopped and restarted on the same
//!   port ([`TestNet::stop_listener`], [`TestNet::restart_listener`]) to simulate outages.
//! - [`TestNet::add_cidr`], [`TestNet::add_peer`] (a redeemed peer that exists only on the
//!   server), [`TestNet::invite`] (an invitation file) change the network through the service.
//! - [`TestNet::client`] builds a client environment ([`TestClient`]) for an IP: its own
//!   FakeBackend, tempdir paths, hosts file, short timings, the API pointed at that peer's
//!   listener and endpoint resolution that only understands literal IPs (no DNS).
//!   [`TestNet::join`] invites a peer and installs it in one go. The client side lives in
//!   `testnet/client.rs`.
//!
//! Nothing here sends traffic anywhere but loopback.

use std::collections::HashMap;
use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::Extension;
use ipnet::IpNet;
use tempfile::TempDir;
use tokio::sync::oneshot;
use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{Backend, DeviceUpdate, InterfaceName, PrivateKey, PublicKey};
use wiremesh::install::{install, InstallOptions, InstallReport};
use wiremesh::{Context, HostsOptions, Paths, Timings};
pub use wiremesh_server::service::Service;
use wiremesh_server::service::{Clock, ServerInterface, ServiceOptions};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_shared::config::{InterfaceInfo, InvitationConfig, ServerInfo};
pub use wiremesh_shared::fixture::Family;
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, Peer, PeerContents,
};
use wiremesh_shared::Endpoint;

mod client;
pub use client::*;

/// The network's name, and so every client's interface name.
pub const NETWORK: &str = "testnet";
/// The server's API and WireGuard port.
pub const SERVER_PORT: u16 = 51820;

/// A clock that runs with the system clock plus an offset tests can move forward.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<Duration>,
}

impl TestClock {
    /// The clock's current time (also through the [`Clock`] trait).
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + *self.offset.lock().unwrap()
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        TestClock::now(self)
    }
}

/// A running (or stopped) HTTP listener for one simulated peer.
struct Listener {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    /// Set when the listener stops: requests still in flight (long polls) are cut off with a
    /// 503, as if the server had gone away.
    cut: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Where a request whose answer is lost gets lost ([`TestNet::lose_answers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lose {
    /// The request never reaches the server.
    BeforeTheServer,
    /// The server handles the request; its answer never comes back.
    AfterTheServer,
}

/// A server network with its HTTP API on loopback; see the module docs.
pub struct TestNet {
    pub family: Family,
    pub dir: TempDir,
    pub service: Arc<Service>,
    pub server_key: PrivateKey,
    pub server_ip: IpAddr,
    pub root: IpNet,
    pub external_endpoint: Endpoint,
    pub server_backend: FakeBackend,
    pub server_iface: InterfaceName,
    pub clock: Arc<TestClock>,
    listeners: Mutex<HashMap<IpAddr, Listener>>,
    /// Requests answered, by method and path (without the query), e.g. `GET /v1/user/state`.
    requests: Arc<Mutex<HashMap<String, usize>>>,
    /// Requests whose answer never comes back ([`TestNet::lose_answers`]).
    losing: Arc<Mutex<Option<(String, Lose)>>>,
    counter: AtomicU32,
    // Declared last: dropped after the listeners' handles.
    runtime: tokio::runtime::Runtime,
}

impl TestNet {
    /// A fresh network: root 10.66.0.0/16 (fd00:66::/64), server at .1 (::1).
    pub fn new(family: Family) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root: IpNet = family.pick("10.66.0.0/16", "fd00:66::/64").parse().unwrap();
        let server_ip: IpAddr = family.pick("10.66.0.1", "fd00:66::1").parse().unwrap();
        let external_endpoint: Endpoint = family
            .pick("203.0.113.1:51820", "[2001:db8::1]:51820")
            .parse()
            .unwrap();
        let server_key = PrivateKey::generate();
        let store = SqliteStore::create(
            &dir.path().join("server.db"),
            NewNetwork {
                name: NETWORK.to_owned(),
                root,
                infra_name: "innernet-server".to_owned(),
                server_name: "innernet-server".parse().unwrap(),
                server_ip,
                server_key: server_key.public_key(),
                external_endpoint: external_endpoint.clone(),
            },
        )
        .unwrap();
        let server_iface: InterfaceName = "srv-testnet".parse().unwrap();
        let server_backend = FakeBackend::new();
        server_backend.create(&server_iface).unwrap();
        let update = DeviceUpdate::new()
            .set_private_key(server_key.clone())
            .set_listen_port(SERVER_PORT);
        server_backend.apply(&server_iface, &update).unwrap();
        let clock = Arc::new(TestClock::default());
        let device = ServerInterface {
            backend: Arc::new(server_backend.clone()),
            name: server_iface.clone(),
        };
        let options = ServiceOptions {
            key_swap_delay: Duration::from_millis(10),
            ..ServiceOptions::default()
        };
        let service =
            Arc::new(Service::new(Box::new(store), Some(device), clock.clone(), options).unwrap());
        service.sync_device().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Self {
            family,
            dir,
            service,
            server_key,
            server_ip,
            root,
            external_endpoint,
            server_backend,
            server_iface,
            clock,
            listeners: Mutex::new(HashMap::new()),
            requests: Arc::default(),
            losing: Arc::default(),
            counter: AtomicU32::new(1),
            runtime,
        }
    }

    pub fn server_public_key(&self) -> PublicKey {
        self.server_key.public_key()
    }

    /// The v4 or v6 spelling, by the network's family.
    pub fn pick<T: std::str::FromStr>(&self, v4: &str, v6: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        self.family.pick(v4, v6).parse().unwrap()
    }

    /// A CIDR directly under the root.
    pub fn add_cidr(&self, name: &str, v4: &str, v6: &str) -> Cidr {
        let contents = CidrContents {
            name: name.to_owned(),
            cidr: self.pick(v4, v6),
            parent: Some(wiremesh_shared::CidrId(1)),
        };
        self.service.create_cidr(contents).unwrap()
    }

    /// `humans`: 10.66.1.0/24 or fd00:66::1:0:0:0/80.
    pub fn humans(&self) -> Cidr {
        self.cidr_named("humans")
            .unwrap_or_else(|| self.add_cidr("humans", "10.66.1.0/24", "fd00:66::1:0:0:0/80"))
    }

    /// `robots`: 10.66.2.0/24 or fd00:66::2:0:0:0/80.
    pub fn robots(&self) -> Cidr {
        self.cidr_named("robots")
            .unwrap_or_else(|| self.add_cidr("robots", "10.66.2.0/24", "fd00:66::2:0:0:0/80"))
    }

    pub fn cidr_named(&self, name: &str) -> Option<Cidr> {
        self.service.cidrs().into_iter().find(|c| c.name == name)
    }

    pub fn associate(&self, a: &Cidr, b: &Cidr) -> Association {
        self.service
            .create_association(AssociationContents {
                cidr_id_1: a.id,
                cidr_id_2: b.id,
            })
            .unwrap()
    }

    /// The next free address in `cidr` (by a counter; tests stay far from the end).
    fn next_ip(&self, cidr: &Cidr) -> IpAddr {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        match cidr.cidr.network() {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) + n).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) + u128::from(n)).into()),
        }
    }

    /// A redeemed peer that exists only on the server, with a fresh key and an endpoint in
    /// a documentation range. Returns it with its private key.
    pub fn add_peer(&self, name: &str, cidr: &Cidr) -> (Peer, PrivateKey) {
        let key = PrivateKey::generate();
        let ip = self.next_ip(cidr);
        let n = self.counter.load(Ordering::Relaxed);
        let endpoint = self.pick::<Endpoint>(
            &format!("192.0.2.{n}:51820"),
            &format!("[2001:db8::{n}]:51820"),
        );
        let contents = self.peer_contents(name, ip, cidr, key.public_key(), true, None);
        let peer = self
            .service
            .create_peer(PeerContents {
                endpoint: Some(endpoint),
                ..contents
            })
            .unwrap();
        (self.peer(peer.name.as_str()), key)
    }

    fn peer_contents(
        &self,
        name: &str,
        ip: IpAddr,
        cidr: &Cidr,
        public_key: PublicKey,
        redeemed: bool,
        invite_expires: Option<SystemTime>,
    ) -> PeerContents {
        PeerContents {
            name: name.parse().unwrap(),
            ip,
            cidr_id: cidr.id,
            public_key,
            endpoint: None,
            persistent_keepalive_interval: None,
            is_admin: false,
            is_disabled: false,
            is_redeemed: redeemed,
            invite_expires,
            candidates: Vec::new(),
        }
    }

    /// Creates an unredeemed peer (expiring in an hour) and writes its invitation file.
    pub fn invite(&self, name: &str, cidr: &Cidr) -> Invitation {
        self.invite_expiring(name, cidr, self.clock.now() + Duration::from_secs(3600))
    }

    pub fn invite_expiring(&self, name: &str, cidr: &Cidr, expires: SystemTime) -> Invitation {
        let temporary = PrivateKey::generate();
        let ip = self.next_ip(cidr);
        let contents =
            self.peer_contents(name, ip, cidr, temporary.public_key(), false, Some(expires));
        let peer = self.service.create_peer(contents).unwrap();
        let config = InvitationConfig {
            interface: InterfaceInfo {
                network_name: NETWORK.to_owned(),
                address: IpNet::new(ip, self.root.prefix_len()).unwrap(),
                private_key: temporary,
                listen_port: None,
                backend: None,
            },
            server: ServerInfo {
                public_key: self.server_public_key(),
                external_endpoint: self.external_endpoint.clone(),
                internal_endpoint: SocketAddr::new(self.server_ip, SERVER_PORT),
            },
        };
        let dir = self.dir.path().join("invitations");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.toml"));
        fs::write(&path, config.to_toml_string()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        Invitation { peer, config, path }
    }

    /// The server's current view of the peer called `name`.
    pub fn peer(&self, name: &str) -> Peer {
        self.service
            .model()
            .peer_by_name(name)
            .cloned()
            .unwrap_or_else(|| panic!("no peer {name}"))
    }

    /// How many requests `what` (method and path, e.g. `GET /v1/user/state`) got so far.
    pub fn requests(&self, what: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(what)
            .copied()
            .unwrap_or(0)
    }

    // ---- listeners ----------------------------------------------------------------------

    /// The address of the API as seen by the peer at `ip` (started on first use).
    pub fn listen_as(&self, ip: IpAddr) -> SocketAddr {
        let mut listeners = self.listeners.lock().unwrap();
        if let Some(listener) = listeners.get(&ip) {
            return listener.addr;
        }
        let listener = self
            .start_listener(ip, "127.0.0.1:0".parse().unwrap())
            .unwrap();
        let addr = listener.addr;
        listeners.insert(ip, listener);
        addr
    }

    fn start_listener(&self, ip: IpAddr, bind: SocketAddr) -> std::io::Result<Listener> {
        let std_listener = std::net::TcpListener::bind(bind)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let _guard = self.runtime.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        // The dispatcher reads the caller's address from a `ConnectInfo` request extension.
        let source = ConnectInfo(SocketAddr::new(ip, 4000));
        let requests = self.requests.clone();
        let losing = self.losing.clone();
        let (cut, cut_off) = tokio::sync::watch::channel(false);
        let count = move |request: axum::extract::Request, next: axum::middleware::Next| {
            let key = format!("{} {}", request.method(), request.uri().path());
            let lose = match &*losing.lock().unwrap() {
                Some((path, lose)) if *path == key => Some(*lose),
                _ => None,
            };
            *requests.lock().unwrap().entry(key).or_default() += 1;
            let mut cut_off = cut_off.clone();
            async move {
                let answer = async move {
                    if lose == Some(Lose::BeforeTheServer) {
                        std::future::pending::<()>().await;
                    }
                    let response = next.run(request).await;
                    if lose == Some(Lose::AfterTheServer) {
                        std::future::pending::<()>().await;
                    }
                    response
                };
                tokio::select! {
                    response = answer => response,
                    _ = cut_off.wait_for(|cut| *cut) => {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
                    }
                }
            }
        };
        let app = wiremesh_server::http::router(self.service.clone(), self.server_public_key())
            .layer(axum::middleware::from_fn(count))
            .layer(Extension(source));
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = self.runtime.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
        });
        Ok(Listener {
            addr,
            cut,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// From now on, the answers to `what` (method and path, e.g. `POST /v1/user/redeem`)
    /// are lost where `lose` says, on every listener; `None` stops losing them. A client
    /// waits for a lost answer until its API timeout.
    pub fn lose_answers(&self, lose: Option<(&str, Lose)>) {
        *self.losing.lock().unwrap() = lose.map(|(what, lose)| (what.to_owned(), lose));
    }

    /// Stops the listener of `ip`: new connections are refused until it is restarted.
    pub fn stop_listener(&self, ip: IpAddr) {
        let mut listeners = self.listeners.lock().unwrap();
        let listener = listeners.get_mut(&ip).expect("no listener for this ip");
        listener.cut.send_replace(true);
        if let Some(shutdown) = listener.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = listener.task.take() {
            let abort = task.abort_handle();
            let finished = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(3), task).await });
            if finished.is_err() {
                abort.abort();
            }
        }
    }

    /// Starts the listener of `ip` again on the same port.
    pub fn restart_listener(&self, ip: IpAddr) {
        let mut listeners = self.listeners.lock().unwrap();
        let old = listeners.get(&ip).expect("no listener for this ip").addr;
        let mut attempt = 0;
        let listener = loop {
            match self.start_listener(ip, old) {
                Ok(listener) => break listener,
                Err(error) if attempt < 50 && error.kind() == std::io::ErrorKind::AddrInUse => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("failed to listen on {old} again: {error}"),
            }
        };
        listeners.insert(ip, listener);
    }

    // ---- clients ------------------------------------------------------------------------

    /// A client environment for the peer at `ip` (nothing installed yet).
    pub fn client(&self, ip: IpAddr) -> TestClient {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("etc"), dir.path().join("var"));
        let backend = FakeBackend::new();
        let links = Arc::new(RecordingLinks::default());
        let hosts_path = dir.path().join("hosts");
        fs::write(&hosts_path, "127.0.0.1 localhost\n").unwrap();
        let mut ctx = Context::new(paths, Arc::new(backend.clone()));
        ctx.hosts = HostsOptions {
            path: Some(hosts_path.clone()),
            suffix: None,
        };
        ctx.timings = Timings {
            key_swap_wait: Duration::from_millis(10),
            nat_step: Duration::from_millis(50),
            nat_poll: Duration::from_millis(5),
            nat_budget: Duration::from_millis(500),
            api_timeout: Duration::from_secs(5),
        };
        ctx.resolve = Arc::new(|endpoint: &Endpoint| endpoint.to_socket_addr());
        ctx.api_override = Some(self.listen_as(ip));
        ctx.local_addresses = Arc::new(|| {
            vec![
                "198.51.100.7".parse().unwrap(),
                "2606:4700::7".parse().unwrap(),
            ]
        });
        ctx.links = links.clone();
        let firewall = Arc::new(wiremesh::policy::RecordingFirewall::default());
        ctx.policy.firewall = firewall.clone();
        TestClient {
            firewall,
            _dir: dir,
            ctx,
            backend,
            links,
            iface: NETWORK.parse().unwrap(),
            hosts_path,
            ip,
        }
    }

    /// Invites `name` into `cidr` and installs it on a new client (invitation deleted).
    pub fn join(&self, name: &str, cidr: &Cidr) -> (TestClient, InstallReport) {
        let invitation = self.invite(name, cidr);
        let client = self.client(invitation.peer.ip);
        let options = InstallOptions {
            name: None,
            delete_invite: true,
        };
        let report = install(&client.ctx, &invitation.path, &options).unwrap();
        (client, report)
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let ips: Vec<IpAddr> = self.listeners.lock().unwrap().keys().copied().collect();
        for ip in ips {
            self.stop_listener(ip);
        }
    }
}

/// An invitation written by [`TestNet::invite`].
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The peer as created (unredeemed, temporary key).
    pub peer: Peer,
    pub config: InvitationConfig,
    pub path: PathBuf,
}
