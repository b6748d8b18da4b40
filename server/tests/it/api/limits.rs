//! The limits that keep one peer from starving the others, over real loopback sockets: the
//! per-peer connection cap, the head timeout (which also closes idle keep-alive connections),
//! and the per-peer long-poll cap.
//!
//! The network lives on 127.0.0.0/8, so the server's own peer is 127.0.0.1 and a second
//! peer, 127.0.1.2, connects from its own loopback address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use wireguard_control::PublicKey;
use wiremesh_server::http::{router_with, serve, Limits};
use wiremesh_server::service::{Service, ServiceOptions, SystemClock};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_shared::wire::{CidrContents, PeerContents};

use crate::support::api::new_key;

const SERVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 1, 2);

/// `serve` on a loopback port with `limits`, for a network whose peers are 127.0.0.1 (the
/// server) and 127.0.0.2.
struct Loopback {
    addr: SocketAddr,
    key: PublicKey,
    service: Arc<Service>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Loopback {
    async fn start(limits: Limits) -> Loopback {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = new_key(7);
        let store = SqliteStore::create(
            &dir.path().join("loop.db"),
            NewNetwork {
                name: "loop".to_owned(),
                root: "127.0.0.0/8".parse().expect("net"),
                infra_name: "innernet-server".to_owned(),
                server_name: "innernet-server".parse().expect("name"),
                server_ip: IpAddr::V4(SERVER),
                server_key: key,
                external_endpoint: "155.155.155.155:54321".parse().expect("endpoint"),
            },
        )
        .expect("create database");
        let service = Service::new(
            Box::new(store),
            None,
            Arc::new(SystemClock),
            ServiceOptions::default(),
        )
        .expect("service");
        let humans = service
            .create_cidr(CidrContents {
                name: "humans".to_owned(),
                cidr: "127.0.1.0/24".parse().expect("cidr"),
                parent: Some(wiremesh_shared::CidrId(1)),
            })
            .expect("cidr");
        service
            .create_peer(PeerContents {
                name: "other".parse().expect("name"),
                ip: IpAddr::V4(OTHER),
                cidr_id: humans.id,
                public_key: new_key(9),
                endpoint: None,
                persistent_keepalive_interval: None,
                is_admin: false,
                is_disabled: false,
                is_redeemed: true,
                invite_expires: None,
                candidates: Vec::new(),
            })
            .expect("peer");
        let service = Arc::new(service);
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            router_with(service.clone(), key, &limits),
            limits,
            async {
                let _ = stopped.await;
            },
        ));
        Loopback {
            addr: SocketAddr::new(IpAddr::V4(SERVER), port),
            key,
            service,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    /// A connection from `source`.
    async fn connect(&self, source: Ipv4Addr) -> TcpStream {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(IpAddr::V4(source), 0))
            .expect("bind source");
        socket.connect(self.addr).await.expect("connect")
    }

    fn get(&self, path: &str, close: bool) -> String {
        let connection = if close { "close" } else { "keep-alive" };
        format!(
            "GET {path} HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {}\r\n\
             Connection: {connection}\r\n\r\n",
            self.key.to_base64()
        )
    }

    /// One request from `source` on a new connection; the whole response.
    async fn exchange(&self, source: Ipv4Addr, path: &str) -> String {
        let mut stream = self.connect(source).await;
        stream
            .write_all(self.get(path, true).as_bytes())
            .await
            .expect("write");
        read_all(&mut stream, Duration::from_secs(10)).await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stopped")
            .expect("task")
            .expect("serve returned cleanly");
    }
}

/// Everything until the server closes the connection (panics after `within`).
async fn read_all(stream: &mut TcpStream, within: Duration) -> String {
    let mut response = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut response)).await {
        Ok(Ok(_)) => {}
        // A reset after the answer arrived still counts as closed.
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(error)) => panic!("read: {error}"),
        Err(_) => panic!(
            "the server kept the connection open for {within:?}; read so far: {}",
            String::from_utf8_lossy(&response)
        ),
    }
    String::from_utf8_lossy(&response).into_owned()
}

fn limits(per_peer: usize) -> Limits {
    Limits {
        max_connections_per_peer: per_peer,
        ..Limits::default()
    }
}

#[tokio::test]
async fn a_peer_over_its_connection_cap_is_refused_while_another_is_served() {
    let server = Loopback::start(limits(3)).await;
    // 127.0.0.1 holds its three connections (idle, as a flood of half-open ones would).
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.connect(SERVER).await);
    }
    // Wait until the server has accepted all three, so the next one is the fourth.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let refused = server.exchange(SERVER, "/v1/user/capabilities").await;
    assert!(
        refused.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{refused}"
    );
    assert!(
        refused.contains("too many connections from 127.0.0.1: at most 3 per peer"),
        "{refused}"
    );

    let served = server.exchange(OTHER, "/v1/user/capabilities").await;
    assert!(served.starts_with("HTTP/1.1 200 OK\r\n"), "{served}");

    // Once its connections close, the first peer is served again.
    drop(held);
    let mut again = String::new();
    for _ in 0..50 {
        again = server.exchange(SERVER, "/v1/user/capabilities").await;
        if again.starts_with("HTTP/1.1 200 OK\r\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.starts_with("HTTP/1.1 200 OK\r\n"), "{again}");
    server.stop().await;
}

#[tokio::test]
async fn half_sent_requests_and_idle_connections_are_closed_after_the_head_timeout() {
    let head = Duration::from_secs(1);
    let server = Loopback::start(Limits {
        head_timeout: head,
        ..Limits::default()
    })
    .await;

    // Half a request line, then nothing.
    let started = Instant::now();
    let mut half = server.connect(OTHER).await;
    half.write_all(b"GET /v1/user/sta").await.expect("write");
    let answer = read_all(&mut half, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(
        took >= head && took < head * 5,
        "closed after {took:?} (head timeout {head:?})"
    );
    assert!(!answer.contains("200 OK"), "{answer}");

    // Nothing at all.
    let started = Instant::now();
    let mut silent = server.connect(OTHER).await;
    read_all(&mut silent, Duration::from_secs(10)).await;
    assert!(started.elapsed() >= head);

    // A keep-alive connection after a complete exchange: idle, then closed.
    let mut idle = server.connect(OTHER).await;
    idle.write_all(server.get("/v1/user/capabilities", false).as_bytes())
        .await
        .expect("write");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.expect("response");
    assert_eq!(&first, b"HTTP/1.1 200");
    read_all(&mut idle, Duration::from_secs(10)).await;

    // And requests that arrive in time are served as before.
    let served = server.exchange(OTHER, "/v1/user/capabilities").await;
    assert!(served.starts_with("HTTP/1.1 200 OK\r\n"), "{served}");
    server.stop().await;
}

#[tokio::test]
async fn a_peer_over_its_long_poll_cap_is_refused_while_another_polls() {
    let server = Loopback::start(Limits {
        max_polls_per_peer: 2,
        ..Limits::default()
    })
    .await;
    // The first answer is the full state; then poll from where it is.
    let full = server.exchange(OTHER, "/v2/user/state").await;
    assert!(full.starts_with("HTTP/1.1 200 OK\r\n"), "{full}");
    let delta: serde_json::Value =
        serde_json::from_str(full.split("\r\n\r\n").nth(1).expect("body")).expect("json");
    let now = format!(
        "/v2/user/state?epoch={}&revision={}&wait=30",
        delta["epoch"], delta["revision"]
    );
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut stream = server.connect(OTHER).await;
        stream
            .write_all(server.get(&now, true).as_bytes())
            .await
            .expect("write");
        waiting.push(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.service.waiting() < 2 {
        assert!(Instant::now() < deadline, "the long polls never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let refused = server.exchange(OTHER, &now).await;
    assert!(
        refused.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{refused}"
    );
    assert!(refused.contains("already holds 2 long polls"), "{refused}");
    // Another peer (the server's own address here) polls as usual.
    let served = server.exchange(SERVER, "/v2/user/state?wait=0").await;
    assert!(served.starts_with("HTTP/1.1 200 OK\r\n"), "{served}");

    // Long polls whose clients went away leave nothing behind.
    drop(waiting);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.service.waiting() > 0 {
        assert!(
            Instant::now() < deadline,
            "abandoned long polls stayed registered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// Set in the child of [`running_out_of_descriptors_waits_instead_of_spinning`]: the file to
/// write the port to.
const EMFILE_CHILD: &str = "WIREMESH_TEST_EMFILE_PORT_FILE";

/// The server of [`running_out_of_descriptors_waits_instead_of_spinning`], in a process with
/// 48 descriptors; does nothing unless started as that child.
#[test]
fn emfile_child() {
    let Some(port_file) = std::env::var_os(EMFILE_CHILD) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        // A cap far above the descriptors there are, and connections held for 60 s.
        let server = Loopback::start(Limits {
            max_connections: 1000,
            max_connections_per_peer: 1000,
            head_timeout: Duration::from_secs(60),
            ..Limits::default()
        })
        .await;
        let tmp = std::path::PathBuf::from(format!("{}.tmp", port_file.to_string_lossy()));
        std::fs::write(&tmp, server.addr.port().to_string()).expect("port file");
        std::fs::rename(&tmp, &port_file).expect("port file");
        // Serve until the parent kills this process.
        std::future::pending::<()>().await;
    });
}

/// CPU time (user + system, in clock ticks) of process `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which is in parentheses): utime and stime are the 12th
    // and 13th.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// With every descriptor taken, the accept loop waits for a connection to close instead of
/// spinning on `EMFILE`, says so once in its log, and serves again as soon as descriptors
/// are free.
#[test]
fn running_out_of_descriptors_waits_instead_of_spinning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port_file = dir.path().join("port");
    let log_path = dir.path().join("child.log");
    let mut child = std::process::Command::new("prlimit")
        .arg("--nofile=48:48")
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "api::limits::emfile_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EMFILE_CHILD, &port_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log"))
        .spawn()
        .expect("start the child (prlimit is part of util-linux)");
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id();
    let _kill = Kill(&mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let port: u16 = loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            break text.parse().expect("port");
        }
        assert!(Instant::now() < deadline, "the child server never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr = SocketAddr::new(IpAddr::V4(SERVER), port);

    // Far more connections than the child has descriptors: it accepts what it can, the rest
    // wait in its backlog.
    let held: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(3));
    let spent = cpu_ticks(pid) - before;
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    assert!(
        spent < per_second,
        "the server used {spent} ticks of CPU in 3 s with no descriptors left: it spins"
    );
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert_eq!(
        log.matches("cannot accept connections").count(),
        1,
        "the lack of descriptors is logged once: {log}"
    );

    // Descriptors come back when the held connections close, and the server answers again.
    drop(held);
    let key = new_key(7).to_base64();
    let request = format!(
        "GET /v1/user/capabilities HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {key}\r\n\
         Connection: close\r\n\r\n"
    );
    let mut response = String::new();
    for _ in 0..100 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("write");
        response.clear();
        let _ = stream.read_to_string(&mut response);
        if response.starts_with("HTTP/1.1 200 OK\r\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
}
