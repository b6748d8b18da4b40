//! `/v2` correctness: for random sequences of changes, "the state a viewer had at revision R,
//! plus the delta since R" always equals "the state now", for every viewer and every R the
//! server still remembers; and the long poll answers, waits and wakes as documented. After
//! every change the server's (fake) interface must hold exactly what a full synchronisation
//! would give it, so the per-write interface deltas are checked on the same random sequences.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{Backend, DeviceUpdate, InterfaceName, PeerUpdate, PrivateKey, PublicKey};
use wiremesh_server::service::{ServerInterface, Service, ServiceOptions, SystemClock};
use wiremesh_server::store::sqlite::{NewNetwork, SqliteStore};
use wiremesh_shared::wire::{
    AssociationContents, CidrContents, EndpointContents, PeerContents, State,
};
use wiremesh_shared::{AssociationId, CidrId, PeerId};

#[derive(Debug, Clone)]
enum Op {
    AddCidr,
    AddPeer {
        cidr: usize,
        redeemed: bool,
    },
    Disable {
        peer: usize,
        disabled: bool,
    },
    Associate {
        a: usize,
        b: usize,
    },
    Dissociate {
        index: usize,
    },
    Endpoint {
        peer: usize,
        port: u16,
    },
    Candidates {
        peer: usize,
        n: u8,
    },
    RenameCidr {
        cidr: usize,
        n: u8,
    },
    Redeem {
        peer: usize,
    },
    /// The server's interface observes an endpoint for a peer (injected into answers).
    Observe {
        peer: usize,
        port: u16,
    },
    /// The server process restarts on the same database and interface.
    Restart,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::AddCidr),
        4 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(cidr, redeemed)| Op::AddPeer { cidr, redeemed }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(peer, disabled)| Op::Disable { peer, disabled }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Associate { a, b }),
        1 => any::<usize>().prop_map(|index| Op::Dissociate { index }),
        2 => (any::<usize>(), 1u16..60000).prop_map(|(peer, port)| Op::Endpoint { peer, port }),
        1 => (any::<usize>(), 0u8..3).prop_map(|(peer, n)| Op::Candidates { peer, n }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(cidr, n)| Op::RenameCidr { cidr, n }),
        1 => any::<usize>().prop_map(|peer| Op::Redeem { peer }),
        2 => (any::<usize>(), 1u16..60000).prop_map(|(peer, port)| Op::Observe { peer, port }),
        1 => Just(Op::Restart),
    ]
}

fn key(n: u64) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[31] = 0x42;
    PublicKey::from_bytes(bytes)
}

fn new_service(dir: &std::path::Path) -> (Service, FakeBackend, InterfaceName) {
    SqliteStore::create(
        &dir.join("v2.db"),
        NewNetwork {
            name: "vtwo".into(),
            root: "10.90.0.0/16".parse().unwrap(),
            infra_name: "innernet-server".into(),
            server_name: "innernet-server".parse().unwrap(),
            server_ip: "10.90.0.1".parse().unwrap(),
            server_key: key(1),
            external_endpoint: "192.0.2.1:51820".parse().unwrap(),
        },
    )
    .unwrap();
    let fake = FakeBackend::new();
    let iface: InterfaceName = "vtwo".parse().unwrap();
    fake.create(&iface).unwrap();
    fake.apply(
        &iface,
        &DeviceUpdate::new().set_private_key(PrivateKey::from_bytes([3; 32])),
    )
    .unwrap();
    let service = open_service(dir, &fake, &iface);
    (service, fake, iface)
}

/// The server as `serve` starts it on an existing database and interface.
fn open_service(dir: &std::path::Path, fake: &FakeBackend, iface: &InterfaceName) -> Service {
    let store = SqliteStore::open(&dir.join("v2.db")).unwrap();
    let device = ServerInterface {
        backend: Arc::new(fake.clone()),
        name: iface.clone(),
    };
    let service = Service::new(
        Box::new(store),
        Some(device),
        Arc::new(SystemClock),
        ServiceOptions::default(),
    )
    .unwrap();
    service.sync_device().unwrap();
    service
}

fn sorted(mut state: State) -> State {
    state.peers.sort_by_key(|p| p.id);
    state
}

/// Runs `ops` (ignoring ones the rules refuse) and checks every remembered revision.
fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let (mut service, fake, iface) = new_service(dir.path());
    let epoch = service.epoch();
    let mut n_keys = 10u64;
    // The revisions of the last restart and of the last structural change: a revision from
    // before both is the only one that may get a full state (the structure it saw is gone).
    let (mut restarted_at, mut structure_at) = (0u64, 0u64);
    // (revision, viewer) → the state the viewer would have fetched at that revision.
    let mut history: BTreeMap<(u64, PeerId), State> = BTreeMap::new();
    let remember = |service: &Service, history: &mut BTreeMap<(u64, PeerId), State>| {
        let model = service.model();
        for peer in model
            .peers()
            .iter()
            .filter(|p| p.is_redeemed && !p.is_disabled)
        {
            history.insert((model.revision(), peer.id), sorted(model.state_for(peer)));
        }
    };
    remember(&service, &mut history);
    for op in ops {
        let model = service.model();
        if matches!(op, Op::Restart) {
            drop(service);
            service = open_service(dir.path(), &fake, &iface);
            prop_assert_eq!(service.epoch(), epoch, "the history survives a restart");
            prop_assert_eq!(
                service.model().revision(),
                model.revision(),
                "and so does the revision"
            );
            let reopened = service.model();
            prop_assert_eq!(reopened.snapshot(), model.snapshot());
            prop_assert_eq!(reopened.observed(), model.observed());
            restarted_at = model.revision();
            continue;
        }
        let leaves: Vec<CidrId> = model
            .cidrs()
            .iter()
            .filter(|c| c.id.0 > 2)
            .map(|c| c.id)
            .collect();
        let peers: Vec<PeerId> = model
            .peers()
            .iter()
            .map(|p| p.id)
            .filter(|id| id.0 > 1)
            .collect();
        let pick = |list: &[PeerId], i: usize| list.get(i % list.len().max(1)).copied();
        let _ = match op.clone() {
            Op::AddCidr => {
                let n = model.cidrs().len();
                service
                    .create_cidr(CidrContents {
                        name: format!("c{n}"),
                        cidr: format!("10.90.{n}.0/24").parse().unwrap(),
                        parent: Some(CidrId(1)),
                    })
                    .map(drop)
            }
            Op::AddPeer { cidr, redeemed } if !leaves.is_empty() => {
                let cidr = leaves[cidr % leaves.len()];
                let net = model.cidr(cidr).unwrap().cidr;
                let used: HashSet<IpAddr> = model.used_ips();
                let ip = wiremesh_shared::alloc::first_free_ip(&net, &used).unwrap();
                n_keys += 1;
                service
                    .create_peer(PeerContents {
                        name: format!("p{n_keys}").parse().unwrap(),
                        ip,
                        cidr_id: cidr,
                        public_key: key(n_keys),
                        endpoint: None,
                        persistent_keepalive_interval: None,
                        is_admin: false,
                        is_disabled: false,
                        is_redeemed: redeemed,
                        invite_expires: None,
                        candidates: vec![],
                    })
                    .map(drop)
            }
            Op::Disable { peer, disabled } => match pick(&peers, peer) {
                Some(id) => service.set_disabled(id, disabled),
                None => Ok(()),
            },
            Op::Associate { a, b } if !leaves.is_empty() => service
                .create_association(AssociationContents {
                    cidr_id_1: leaves[a % leaves.len()],
                    cidr_id_2: leaves[b % leaves.len()],
                })
                .map(drop),
            Op::Dissociate { index } => match model
                .associations()
                .get(index % model.associations().len().max(1))
            {
                Some(a) => service.delete_association(a.id),
                None => service.delete_association(AssociationId(999)),
            },
            Op::Endpoint { peer, port } => match pick(&peers, peer).and_then(|id| model.peer(id)) {
                Some(p) if p.is_redeemed && !p.is_disabled => service.set_endpoint(
                    p,
                    EndpointContents::Set(format!("192.0.2.9:{port}").parse().unwrap()),
                ),
                _ => Ok(()),
            },
            Op::Candidates { peer, n } => match pick(&peers, peer).and_then(|id| model.peer(id)) {
                Some(p) if p.is_redeemed && !p.is_disabled => service.set_candidates(
                    p,
                    (0..n)
                        .map(|i| format!("198.51.100.{i}:51820").parse().unwrap())
                        .collect(),
                ),
                _ => Ok(()),
            },
            Op::RenameCidr { cidr, n } if !leaves.is_empty() => {
                service.rename_cidr(leaves[cidr % leaves.len()], format!("r{n}"))
            }
            Op::Redeem { peer } => match pick(&peers, peer) {
                Some(id) => {
                    n_keys += 1;
                    service.redeem(id, key(n_keys))
                }
                None => Ok(()),
            },
            Op::Observe { peer, port } => match pick(&peers, peer).and_then(|id| model.peer(id)) {
                Some(p) => {
                    let seen = format!("203.0.113.7:{port}").parse().unwrap();
                    let update = DeviceUpdate::new().add_peer(
                        PeerUpdate::new(p.public_key)
                            .set_endpoint(seen)
                            .update_only(),
                    );
                    fake.apply(&iface, &update).unwrap();
                    service.observe_endpoints().map(drop).unwrap();
                    Ok(())
                }
                None => Ok(()),
            },
            _ => Ok(()),
        };
        let after = service.model();
        if after.cidrs() != model.cidrs() || after.associations() != model.associations() {
            structure_at = after.revision();
        }
        remember(&service, &mut history);
        // `/v1` bodies, built from each peer's kept JSON, are the states' JSON.
        for peer in after
            .peers()
            .iter()
            .filter(|p| p.is_redeemed && !p.is_disabled)
        {
            let body = service.state_body(peer).unwrap();
            prop_assert_eq!(
                std::str::from_utf8(&body).unwrap(),
                serde_json::to_string(&after.state_for(peer)).unwrap()
            );
        }
        // Each write applied its own change to the interface: a full synchronisation finds
        // nothing left to do.
        let sync = service.sync_device().unwrap();
        prop_assert!(
            sync.is_empty(),
            "the interface drifted after {:?}: {:?}",
            op,
            sync
        );
    }

    let model = service.model();
    for peer in model
        .peers()
        .iter()
        .filter(|p| p.is_redeemed && !p.is_disabled)
    {
        let now = sorted(model.state_for(peer));
        for ((revision, viewer), then) in &history {
            if *viewer != peer.id {
                continue;
            }
            let delta = service
                .state_delta(peer, Some(epoch), Some(*revision))
                .unwrap();
            prop_assert_eq!(delta.revision, model.revision());
            let may_be_full = *revision < restarted_at && *revision < structure_at;
            prop_assert!(
                !delta.full || may_be_full,
                "a full state for viewer {} from revision {}",
                peer.name.as_str(),
                revision
            );
            // The served bytes (built from each peer's kept JSON) are the delta's JSON.
            let lookup = service
                .state_delta_lookup(peer, Some(epoch), Some(*revision))
                .unwrap();
            let served = service.build_delta_body(lookup.job);
            prop_assert_eq!(
                std::str::from_utf8(&served.body).unwrap(),
                serde_json::to_string(&delta).unwrap()
            );
            prop_assert_eq!(served.empty, delta.is_empty());
            let mut local = then.clone();
            delta.apply_to(&mut local);
            prop_assert_eq!(
                sorted(local),
                now.clone(),
                "viewer {} from revision {}",
                peer.name.as_str(),
                revision
            );
        }
        // A client of another epoch gets the whole state.
        let full = service
            .state_delta(peer, Some(epoch.wrapping_add(1)), Some(1))
            .unwrap();
        prop_assert!(full.full);
    }
    Ok(())
}

#[test]
fn snapshot_at_r_plus_delta_equals_snapshot_now() {
    let config = Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[21; 32]));
    runner
        .run(&prop::collection::vec(arb_op(), 1..30), |ops| check(&ops))
        .unwrap();
}
