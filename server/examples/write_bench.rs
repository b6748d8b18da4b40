//! Serial admin writes, in process: fills a network to N peers with one `create_peer` after
//! another (a real SQLite database in a temporary directory, the in-memory fake WireGuard
//! interface) and prints the write rate for every thousand peers. It measures what a write
//! costs the server itself: rules, commit, model, change log and interface update; the HTTP
//! and tunnel costs are the fleet benchmark's.
//!
//! Then, on the full network, the cost of a cold full state (the first `/v1/user/state`
//! after a one-peer change) as served, from each peer's kept JSON, next to serialising every
//! peer again as before.
//!
//! `cargo run --release -p wiremesh-server --example write_bench [N]` (default 10,000).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{Backend, InterfaceName, PublicKey};
use wiremesh_server::service::{ServerInterface, Service, ServiceOptions, SystemClock};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_shared::wire::{CidrContents, PeerContents};
use wiremesh_shared::CidrId;

fn key(n: u32) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&n.to_le_bytes());
    bytes[31] = 0x5a;
    PublicKey::from_bytes(bytes)
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N must be a number"))
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::create(
        &dir.path().join("bench.db"),
        NewNetwork {
            name: "bench".to_owned(),
            root: "10.0.0.0/8".parse().expect("net"),
            infra_name: "innernet-server".to_owned(),
            server_name: "innernet-server".parse().expect("name"),
            server_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            server_key: key(u32::MAX),
            external_endpoint: "192.0.2.1:51820".parse().expect("endpoint"),
        },
    )
    .expect("database");
    let fake = FakeBackend::new();
    let iface: InterfaceName = "bench".parse().expect("name");
    fake.create(&iface).expect("interface");
    let service = Service::new(
        Box::new(store),
        Some(ServerInterface {
            backend: Arc::new(fake.clone()),
            name: iface.clone(),
        }),
        Arc::new(SystemClock),
        ServiceOptions::default(),
    )
    .expect("service");
    let humans = service
        .create_cidr(CidrContents {
            name: "humans".to_owned(),
            cidr: "10.64.0.0/10".parse().expect("cidr"),
            parent: Some(CidrId(1)),
        })
        .expect("cidr");

    println!("serial create_peer into one CIDR, in process (SQLite + fake interface)");
    println!(
        "{:>8}  {:>10}  {:>9}  {:>9}",
        "peers", "writes/s", "p50 ms", "p99 ms"
    );
    let mut window: Vec<Duration> = Vec::with_capacity(1000);
    let started = Instant::now();
    for i in 0..n {
        let ip = u32::from(Ipv4Addr::new(10, 64, 0, 1)) + i;
        let contents = PeerContents {
            name: format!("p{i}").parse().expect("name"),
            ip: IpAddr::V4(Ipv4Addr::from(ip)),
            cidr_id: humans.id,
            public_key: key(i),
            endpoint: None,
            persistent_keepalive_interval: None,
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        };
        let write = Instant::now();
        service.create_peer(contents).expect("create");
        window.push(write.elapsed());
        if window.len() == 1000 || i + 1 == n {
            let total: Duration = window.iter().sum();
            window.sort();
            let pick = |q: f64| window[((window.len() as f64 * q) as usize).min(window.len() - 1)];
            println!(
                "{:>8}  {:>10.0}  {:>9.2}  {:>9.2}",
                i + 1,
                window.len() as f64 / total.as_secs_f64(),
                pick(0.5).as_secs_f64() * 1000.0,
                pick(0.99).as_secs_f64() * 1000.0
            );
            window.clear();
        }
    }
    println!(
        "{n} peers in {:.1} s; interface reads: {}",
        started.elapsed().as_secs_f64(),
        fake.reads(&iface)
    );

    // Cold full states: one peer changes, then one viewer asks.
    let model = service.model();
    let viewer = model.peers().last().expect("peers").clone();
    let changing = model.peers()[model.peers().len() / 2].clone();
    service.state_body(&viewer).expect("warm up");
    let rounds = 20u16;
    let (mut served, mut whole) = (Duration::ZERO, Duration::ZERO);
    let mut bytes = 0;
    for round in 0..rounds {
        let candidate = format!("198.51.100.1:{}", 1000 + round)
            .parse()
            .expect("endpoint");
        service
            .set_candidates(&changing, vec![candidate])
            .expect("change");
        let start = Instant::now();
        bytes = service.state_body(&viewer).expect("state").len();
        served += start.elapsed();
        let model = service.model();
        let start = Instant::now();
        let again = serde_json::to_vec(&model.state_for(&viewer)).expect("json");
        whole += start.elapsed();
        assert_eq!(again.len(), bytes);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(rounds);
    println!(
        "cold full state of {} peers ({bytes} bytes) after a one-peer change: {:.2} ms served \
         from kept peer JSON, {:.2} ms serialising every peer",
        model.peers().len() - 1,
        ms(served),
        ms(whole)
    );
}
