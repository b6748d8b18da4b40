//! A write costs what it changes on the server's interface: the change is applied without
//! reading the interface back, and it holds exactly the peers it would after a full
//! synchronisation.

use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use wireguard_control::{DeviceUpdate, PeerUpdate};
use wiremesh_server::service::ServiceOptions;
use wiremesh_shared::fixture::Family;

use crate::support::api::*;

/// The updates applied since the last call, clearing them.
fn take_updates(h: &Harness) -> Vec<DeviceUpdate> {
    let updates = h.fake.applied_updates(&h.iface);
    h.fake.clear_applied_updates(&h.iface);
    updates
}

/// The single peer change of the single update applied since the last call.
fn one_change(h: &Harness) -> PeerUpdate {
    let updates = take_updates(h);
    assert_eq!(updates.len(), 1, "one update per write: {updates:?}");
    assert_eq!(updates[0].peers.len(), 1, "one peer per write: {updates:?}");
    updates[0].peers[0].clone()
}

/// A full synchronisation finds nothing to do: the deltas left the interface exact.
fn in_line(h: &Harness) {
    let sync = h.service.sync_device().expect("sync");
    assert!(
        sync.is_empty(),
        "the interface drifted from the model: {sync:?}"
    );
    h.fake.clear_applied_updates(&h.iface);
}

#[tokio::test]
async fn writes_apply_only_their_change_without_reading_the_interface() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        take_updates(&h);
        let reads = h.fake.reads(&h.iface);

        // A new peer: one added peer, with its address and the server's keepalive.
        let key = new_key(70);
        let ip = h.addr("10.80.128.70", "fd00:1337::8000:0:0:70");
        let peer = h
            .service
            .create_peer(h.contents("fresh", ip, USER, key))
            .expect("create");
        let change = one_change(&h);
        assert_eq!(change.public_key, key);
        assert!(!change.remove && change.replace_allowed_ips);
        assert_eq!(change.allowed_ips, vec![ipnet::IpNet::from(ip)]);
        assert!(change.persistent_keepalive_interval.is_some());

        // A rename, an endpoint or candidates never reach the interface.
        h.service
            .rename_peer(peer.id, "renamed".parse().unwrap())
            .expect("rename");
        assert!(take_updates(&h).is_empty());

        // Disable removes exactly that peer; enable adds it back.
        h.service.set_disabled(peer.id, true).expect("disable");
        let change = one_change(&h);
        assert!(change.remove && change.public_key == key);
        h.service.set_disabled(peer.id, false).expect("enable");
        assert_eq!(one_change(&h).public_key, key);

        // A redeem keeps the invitation's key until the swap (nothing to apply), then the
        // swap replaces one key by the other.
        let invite_key = new_key(71);
        let invite = h.add_invite(
            "invited",
            h.addr("10.80.128.71", "fd00:1337::8000:0:0:71"),
            invite_key,
            100,
        );
        take_updates(&h);
        h.req(invite.id, Method::POST, "/v1/user/redeem")
            .json(json!({"public_key": new_key(72).to_base64()}))
            .send()
            .await
            .expect(204);
        assert!(
            take_updates(&h).is_empty(),
            "the old key stays until the swap"
        );

        assert_eq!(
            h.fake.reads(&h.iface),
            reads,
            "a write read the whole interface back"
        );
        h.clock
            .advance(ServiceOptions::default().key_swap_delay + Duration::from_secs(1));
        assert!(h.service.finish_due_key_swaps());
        let updates = take_updates(&h);
        assert_eq!(updates.len(), 1);
        assert_eq!(
            updates[0].peers.len(),
            2,
            "the swap removes one key, adds the other"
        );
        assert_eq!(
            h.fake.reads(&h.iface),
            reads,
            "the swap read the interface back"
        );
        in_line(&h);
        let keys = h.interface_keys();
        assert!(keys.contains(&new_key(72)) && !keys.contains(&invite_key));
    }
}

/// When applying a change fails, the server synchronises in full instead, so the interface
/// does not stay behind.
#[tokio::test]
async fn a_failed_apply_falls_back_to_a_full_sync() {
    let h = Harness::new(Family::V4);
    take_updates(&h);
    h.fake.fail_next_apply(&h.iface, libc::EIO);
    let key = new_key(80);
    h.service
        .create_peer(h.contents("fresh", h.addr("10.80.128.80", ""), USER, key))
        .expect("the write is committed even though the interface refused it");
    assert!(h.interface_keys().contains(&key));
    in_line(&h);
}
