//! Crash test: a storm of concurrent `POST /v1/admin/peers` (with deliberate name and IP
//! collisions) against a server process that is killed with SIGKILL mid-storm.
//!
//! Afterwards: every request that got a 2xx is in the database, every row in the database is
//! one that some request asked for (nothing invented, nothing half-written), names and IPs
//! are unique, `PRAGMA integrity_check` is ok, and the restarted server serves exactly that.
//!
//! The server runs in a child process: this test binary re-executed with
//! `WIREMESH_CRASH_CHILD_DB` set runs [`crash_child`] instead. The network lives on the
//! loopback range so that requests from 127.0.0.1 come from the server's own (admin) peer.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wireguard_control::PublicKey;
use wiremesh_server::service::{Service, ServiceOptions, SystemClock};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_server::store::Store;
use wiremesh_shared::wire::CidrContents;
use wiremesh_shared::CidrId;

const CHILD_DB: &str = "WIREMESH_CRASH_CHILD_DB";
const CHILD_PORT_FILE: &str = "WIREMESH_CRASH_CHILD_PORT_FILE";
/// [`crash_child`] by its name in this test binary (its module path without the crate's), the
/// one test the re-executed binary runs.
const CHILD_TEST: &str = "crash_storm::crash_child";
const N_THREADS: usize = 12;
const PER_THREAD: usize = 40;
/// The server is killed once this many responses arrived.
const KILL_AFTER: usize = 150;

fn server_key() -> PublicKey {
    PublicKey::from_bytes([9; 32])
}

/// Runs the server when re-executed by [`sigkill_mid_storm_loses_nothing_acknowledged`];
/// does nothing otherwise.
#[test]
fn crash_child() {
    let (Ok(db), Ok(port_file)) = (std::env::var(CHILD_DB), std::env::var(CHILD_PORT_FILE)) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = SqliteStore::open(Path::new(&db)).expect("open database");
        let service = Service::new(
            Box::new(store),
            None,
            Arc::new(SystemClock),
            ServiceOptions::default(),
        )
        .expect("service");
        let router = wiremesh_server::http::router(Arc::new(service), server_key());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::fs::write(format!("{port_file}.tmp"), port.to_string()).expect("port file");
        std::fs::rename(format!("{port_file}.tmp"), &port_file).expect("port file");
        wiremesh_server::http::serve(
            listener,
            router,
            wiremesh_server::http::Limits::default(),
            std::future::pending(),
        )
        .await
        .expect("serve");
    });
}

struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    fn start(db: &Path, dir: &Path) -> ChildServer {
        let port_file = dir.join(format!("port-{}", Instant::now().elapsed().as_nanos()));
        let _ = std::fs::remove_file(&port_file);
        let child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, db)
            .env(CHILD_PORT_FILE, &port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server process");
        let started = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse::<u16>().expect("port");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server process did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        ChildServer {
            child,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One plain HTTP/1.1 request; `None` when there was no complete answer.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server_key().to_base64(),
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Request `i`: names repeat every 97 requests and addresses every 89, so concurrent
/// requests collide on both.
fn request(i: usize) -> (String, Ipv4Addr, PublicKey) {
    let name = format!("storm-{}", i % 97);
    let ip = Ipv4Addr::new(127, 1, 0, 1 + (i % 89) as u8);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    key[31] = 0x77;
    (name, ip, PublicKey::from_bytes(key))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Created,
    Refused(u16),
    NoAnswer,
}

#[test]
fn sigkill_mid_storm_loses_nothing_acknowledged() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db: PathBuf = dir.path().join("storm.db");
    let mut store = SqliteStore::create(
        &db,
        NewNetwork {
            name: "storm".into(),
            root: "127.0.0.0/8".parse().expect("net"),
            infra_name: "innernet-server".into(),
            server_name: "innernet-server".parse().expect("name"),
            server_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            server_key: server_key(),
            external_endpoint: "192.0.2.1:51820".parse().expect("endpoint"),
        },
    )
    .expect("create database");
    let leaf = store
        .insert_cidr(&CidrContents {
            name: "stormy".into(),
            cidr: "127.1.0.0/16".parse().expect("net"),
            parent: Some(CidrId(1)),
        })
        .expect("leaf CIDR");
    drop(store);

    let mut server = ChildServer::start(&db, dir.path());
    let answered = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<HashMap<usize, Outcome>>> = Arc::default();
    std::thread::scope(|scope| {
        for thread in 0..N_THREADS {
            let (answered, outcomes, addr) = (answered.clone(), outcomes.clone(), server.addr);
            scope.spawn(move || {
                for n in 0..PER_THREAD {
                    let i = thread * PER_THREAD + n;
                    let (name, ip, key) = request(i);
                    let body = format!(
                        r#"{{"name":"{name}","ip":"{ip}","cidr_id":{},"public_key":"{}","endpoint":null,"persistent_keepalive_interval":null,"is_admin":false,"is_disabled":false,"is_redeemed":false,"invite_expires":null,"candidates":[]}}"#,
                        leaf.id,
                        key.to_base64()
                    );
                    let outcome = match http(addr, "POST", "/v1/admin/peers", Some(&body)) {
                        Some((201, _)) => Outcome::Created,
                        Some((status, _)) => Outcome::Refused(status),
                        None => Outcome::NoAnswer,
                    };
                    if outcome != Outcome::NoAnswer {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    outcomes.lock().expect("outcomes").insert(i, outcome);
                }
            });
        }
        // Kill the server in the middle of the storm.
        while answered.load(Ordering::SeqCst) < KILL_AFTER {
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill();
    });
    let outcomes = outcomes.lock().expect("outcomes").clone();
    let created: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| **o == Outcome::Created)
        .map(|(i, _)| *i)
        .collect();
    let refused = outcomes
        .values()
        .filter(|o| matches!(o, Outcome::Refused(_)))
        .count();
    let unanswered = outcomes
        .values()
        .filter(|o| **o == Outcome::NoAnswer)
        .count();
    assert!(
        unanswered > 0,
        "the kill came after the storm; nothing was tested"
    );
    assert!(
        outcomes.values().all(|o| matches!(
            o,
            Outcome::Created | Outcome::Refused(400) | Outcome::NoAnswer
        )),
        "unexpected statuses: {outcomes:?}"
    );

    // The database after the crash.
    let mut store = SqliteStore::open(&db).expect("reopen after SIGKILL");
    assert!(
        store.integrity_check().expect("integrity check"),
        "PRAGMA integrity_check is not ok"
    );
    let snapshot = store.snapshot().expect("snapshot");
    let storm_rows: Vec<_> = snapshot
        .peers
        .iter()
        .filter(|p| p.cidr_id == leaf.id)
        .collect();
    let rows_by_key: HashMap<PublicKey, _> =
        storm_rows.iter().map(|p| (p.public_key, *p)).collect();
    for i in &created {
        let (name, ip, key) = request(*i);
        let row = rows_by_key
            .get(&key)
            .unwrap_or_else(|| panic!("acknowledged request {i} ({name}, {ip}) is missing"));
        assert_eq!(
            (row.name.as_str(), row.ip),
            (name.as_str(), IpAddr::V4(ip)),
            "request {i} stored wrongly"
        );
    }
    let attempted: HashSet<PublicKey> = outcomes.keys().map(|i| request(*i).2).collect();
    for row in &storm_rows {
        assert!(
            attempted.contains(&row.public_key),
            "row {} was never requested",
            row.name
        );
        let refused_request = outcomes
            .iter()
            .any(|(i, o)| matches!(o, Outcome::Refused(_)) && request(*i).2 == row.public_key);
        assert!(
            !refused_request,
            "row {} belongs to a refused request",
            row.name
        );
    }
    let names: HashSet<&str> = storm_rows.iter().map(|p| p.name.as_str()).collect();
    let ips: HashSet<IpAddr> = storm_rows.iter().map(|p| p.ip).collect();
    assert_eq!(names.len(), storm_rows.len(), "duplicate names");
    assert_eq!(ips.len(), storm_rows.len(), "duplicate IPs");
    let committed_unacknowledged = storm_rows.len() - created.len();
    eprintln!(
        "storm: {} requests, {} created (201), {refused} refused (400), {unanswered} unanswered; \
         {} rows after the crash, {committed_unacknowledged} committed but unacknowledged",
        outcomes.len(),
        created.len(),
        storm_rows.len()
    );
    drop(store);

    // The restarted server serves exactly what the database holds.
    let restarted = ChildServer::start(&db, dir.path());
    let (status, body) =
        http(restarted.addr, "GET", "/v1/admin/peers", None).expect("answer after restart");
    assert_eq!(status, 200);
    let served: Vec<serde_json::Value> = serde_json::from_str(&body).expect("peer list");
    assert_eq!(
        served.len(),
        snapshot.peers.len(),
        "the restarted server serves a different peer list"
    );
}
