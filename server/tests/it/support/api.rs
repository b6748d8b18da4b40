//! Shared harness of the API tests (`api/*.rs`): the compat §11.1 network (IPv4 or
//! IPv6) in a SQLite database in a temporary directory, a service over it driving a fake
//! WireGuard interface, and the router called in-process with an injected source address.
//!
//! (The CLI tests have their own harness, `support/cli.rs`.)

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;
use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{Backend, DeviceUpdate, InterfaceName, PeerUpdate, PublicKey};
use wiremesh_server::http::{router, SERVER_KEY_HEADER};
use wiremesh_server::service::{Clock, ServerInterface, Service, ServiceOptions};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_server::store::{Snapshot, Store};
use wiremesh_shared::fixture::{key_for, Family, Fixture, SERVER};
use wiremesh_shared::wire::{ErrorBody, Peer, PeerContents};
use wiremesh_shared::{CidrId, PeerId};

pub use wiremesh_shared::fixture::{
    ADMIN, ADMIN_PEER, DEVELOPER, DEVELOPER1, DEVELOPER2, INFRA, ROOT, USER, USER1, USER2,
};

/// The time the test clock starts at (2027-01-15).
pub const START: Duration = Duration::from_secs(1_800_000_000);

/// A clock that moves only when a test says so: the wall clock and the monotonic clock
/// advance together, and the wall clock alone can be stepped (as NTP or an operator does).
#[derive(Debug)]
pub struct TestClock {
    times: Mutex<(SystemTime, Instant)>,
}

impl TestClock {
    pub fn new() -> Self {
        Self {
            times: Mutex::new((SystemTime::UNIX_EPOCH + START, Instant::now())),
        }
    }

    /// Time passes: both clocks move on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut times = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        times.0 += by;
        times.1 += by;
    }

    /// The wall clock is set back by `by`; no time passes.
    pub fn step_wall_back(&self, by: Duration) {
        let mut times = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        times.0 -= by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        self.times.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    fn instant(&self) -> Instant {
        self.times.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

/// The server's public key, which requests name in `X-Innernet-Server-Key`.
pub fn server_key() -> PublicKey {
    key_for(SERVER)
}

/// A public key no fixture peer has.
pub fn new_key(n: u8) -> PublicKey {
    PublicKey::from_bytes([n; 32])
}

/// One seeded network with its service, fake interface and router.
pub struct Harness {
    pub family: Family,
    pub fixture: Fixture,
    pub service: Arc<Service>,
    pub router: Router,
    pub fake: FakeBackend,
    pub iface: InterfaceName,
    pub clock: Arc<TestClock>,
    pub db_path: PathBuf,
    _dir: TempDir,
}

impl Harness {
    /// The compat §11.1 network, with every enabled peer on the fake interface.
    pub fn new(family: Family) -> Self {
        let fixture = Fixture::new(family);
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("test.db");
        let server = fixture.peer(SERVER);
        let root = fixture.cidr(ROOT);
        let infra = fixture.cidr(INFRA);
        let mut store = SqliteStore::create(
            &db_path,
            NewNetwork {
                name: root.name.clone(),
                root: root.cidr,
                infra_name: infra.name.clone(),
                server_name: server.name.clone(),
                server_ip: server.ip,
                server_key: server.public_key,
                external_endpoint: "155.155.155.155:54321".parse().expect("endpoint"),
            },
        )
        .expect("create database");
        for cidr in &fixture.cidrs[2..] {
            let stored = store.insert_cidr(&cidr.contents).expect("seed CIDR");
            assert_eq!(stored.id, cidr.id, "CIDR ids follow the fixture");
        }
        for peer in &fixture.peers[1..] {
            let stored = store.insert_peer(&peer.contents).expect("seed peer");
            assert_eq!(stored.id, peer.id, "peer ids follow the fixture");
        }
        let fake = FakeBackend::new();
        let iface: InterfaceName = "test".parse().expect("interface name");
        fake.create(&iface).expect("create fake interface");
        let clock = Arc::new(TestClock::new());
        let device = ServerInterface {
            backend: Arc::new(fake.clone()),
            name: iface.clone(),
        };
        let service = Service::new(
            Box::new(store),
            Some(device),
            clock.clone(),
            ServiceOptions::default(),
        )
        .expect("service");
        service.sync_device().expect("initial device sync");
        let service = Arc::new(service);
        let router = router(service.clone(), server_key());
        Self {
            family,
            fixture,
            service,
            router,
            fake,
            iface,
            clock,
            db_path,
            _dir: dir,
        }
    }

    /// An address in this family: `v4` or `v6`, parsed.
    pub fn addr(&self, v4: &str, v6: &str) -> IpAddr {
        self.family.pick(v4, v6).parse().expect("test address")
    }

    /// A peer's tunnel address, as the service knows it.
    pub fn ip(&self, id: PeerId) -> IpAddr {
        self.service.model().peer(id).expect("peer exists").ip
    }

    /// A request from the peer `caller`, with the right server key.
    pub fn req(&self, caller: PeerId, method: Method, path: &str) -> Req<'_> {
        self.req_from(self.ip(caller), method, path)
    }

    /// A request from any source address, with the right server key.
    pub fn req_from(&self, source: IpAddr, method: Method, path: &str) -> Req<'_> {
        Req {
            harness: self,
            method,
            path: path.to_owned(),
            source: SocketAddr::new(source, 51820),
            server_key: Some(server_key().to_base64().into_bytes()),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Peer contents for creating a peer (enabled, redeemed, not admin).
    pub fn contents(
        &self,
        name: &str,
        ip: IpAddr,
        cidr_id: CidrId,
        key: PublicKey,
    ) -> PeerContents {
        PeerContents {
            name: name.parse().expect("peer name"),
            ip,
            cidr_id,
            public_key: key,
            endpoint: None,
            persistent_keepalive_interval: None,
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        }
    }

    /// Creates an unredeemed invitation in the user CIDR expiring `expires_in` seconds from
    /// now (negative: already expired).
    pub fn add_invite(&self, name: &str, ip: IpAddr, key: PublicKey, expires_in: i64) -> Peer {
        let mut contents = self.contents(name, ip, USER, key);
        contents.is_redeemed = false;
        let now = self.service.now();
        let offset = Duration::from_secs(expires_in.unsigned_abs());
        contents.invite_expires = Some(if expires_in >= 0 {
            now + offset
        } else {
            now - offset
        });
        self.service
            .create_peer(contents)
            .expect("create invitation")
    }

    pub fn snapshot(&self) -> Snapshot {
        self.service.model().snapshot().clone()
    }

    /// What a fresh process would read from the database.
    pub fn reopen(&self) -> Snapshot {
        SqliteStore::open(&self.db_path)
            .expect("reopen database")
            .snapshot()
            .expect("read database")
    }

    /// The public keys on the fake server interface.
    pub fn interface_keys(&self) -> Vec<PublicKey> {
        let device = self.fake.get(&self.iface).expect("fake interface");
        device.peers.iter().map(|p| p.config.public_key).collect()
    }

    /// Makes the fake interface report `endpoint` for `key`, as if the peer had connected,
    /// and lets the service read it.
    pub fn observe(&self, key: PublicKey, endpoint: SocketAddr) {
        let peer = PeerUpdate::new(key).update_only().set_endpoint(endpoint);
        let update = DeviceUpdate::new().add_peer(peer);
        self.fake
            .apply(&self.iface, &update)
            .expect("set observed endpoint");
        self.service.observe_endpoints().expect("observe endpoints");
    }
}

/// A request being built.
pub struct Req<'h> {
    harness: &'h Harness,
    method: Method,
    path: String,
    source: SocketAddr,
    server_key: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    /// The bytes, and whether a Content-Length is sent.
    body: Option<(Vec<u8>, bool)>,
}

impl Req<'_> {
    /// Sends `X-Innernet-Server-Key: value` instead of the right key.
    pub fn key(mut self, value: impl AsRef<[u8]>) -> Self {
        self.server_key = Some(value.as_ref().to_vec());
        self
    }

    /// Sends no server key header.
    pub fn no_key(mut self) -> Self {
        self.server_key = None;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body with a Content-Length.
    pub fn json(self, value: Value) -> Self {
        self.raw(serde_json::to_vec(&value).expect("json"))
    }

    /// A body of these bytes with a Content-Length.
    pub fn raw(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some((bytes.into(), true));
        self
    }

    /// A body without Content-Length, as a chunked request sends it.
    pub fn chunked(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some((bytes.into(), false));
        self
    }

    pub async fn send(self) -> Resp {
        let mut builder = Request::builder().method(self.method).uri(&self.path);
        if let Some(key) = &self.server_key {
            let value = HeaderValue::from_bytes(key).expect("header value");
            builder = builder.header(SERVER_KEY_HEADER, value);
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let body = match self.body {
            Some((bytes, true)) => {
                builder = builder.header("content-length", bytes.len());
                Body::from(bytes)
            }
            Some((bytes, false)) => {
                builder = builder.header("transfer-encoding", "chunked");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).expect("request");
        request.extensions_mut().insert(ConnectInfo(self.source));
        let response = self
            .harness
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("response body");
        Resp {
            status,
            headers,
            body: body.to_vec(),
        }
    }
}

/// A response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not the expected JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The message of an error response, checking it is a JSON error body.
    pub fn error(&self) -> String {
        assert!(
            self.status.is_client_error() || self.status.is_server_error(),
            "not an error: {} {}",
            self.status,
            self.text()
        );
        assert_eq!(
            self.content_type(),
            "application/json",
            "error bodies are JSON"
        );
        self.json::<ErrorBody>().error
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        self
    }
}

/// What the error message must be.
pub enum Msg<'a> {
    Is(String),
    /// A body that did not parse: the serde message, which also names line and column.
    Body(&'a str),
}

/// Sends `body` from `caller` and checks the refusal (status and message) and that the network is unchanged.
pub async fn check_refused(
    h: &Harness,
    caller: wiremesh_shared::PeerId,
    method: Method,
    path: &str,
    body: Value,
    status: u16,
    msg: Msg<'_>,
) {
    let (model, db) = (h.snapshot(), h.reopen());
    let keys = h.interface_keys();
    let r = h
        .req(caller, method.clone(), path)
        .json(body.clone())
        .send()
        .await;
    let message = r.expect(status).error();
    match msg {
        Msg::Is(expected) => assert_eq!(message, expected, "{method} {path} {body}"),
        Msg::Body(prefix) => assert!(
            message.starts_with(&format!("invalid request body: {prefix}")),
            "{method} {path} {body}: {message}"
        ),
    }
    assert_eq!(
        h.snapshot(),
        model,
        "model unchanged after {method} {path} {body}"
    );
    assert_eq!(
        h.reopen(),
        db,
        "database unchanged after {method} {path} {body}"
    );
    assert_eq!(h.interface_keys(), keys, "interface unchanged");
}
