//! Devices over the in-process router: a device is on the server's interface (with its
//! preshared key) and nowhere else; peers that see its CIDR receive it as a route through the
//! hub, not as a peer (innernet's clients never see it); admins see it as a disabled row; it
//! cannot call the API; a `/v1` PUT on it is refused; disabling it reaches the peers at once;
//! it survives a restart; its configuration goes stale when the hub's endpoint moves.

use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use wireguard_control::Backend;
use wiremesh_server::service::devices::{device_entries, NewDevice};
use wiremesh_shared::devices::KeySource;
use wiremesh_shared::fixture::{Family, SERVER};
use wiremesh_shared::wire::{Peer, State, StateDelta};
use wiremesh_shared::PeerId;

use crate::support::api::*;

/// A device in the developers' CIDR: with its own key and a preshared key, or with neither.
fn phone(own_key: bool) -> NewDevice {
    NewDevice {
        name: if own_key { "phone" } else { "tablet" }.parse().unwrap(),
        cidr: DEVELOPER,
        ip: None,
        public_key: own_key.then(|| new_key(7)),
        preshared_key: own_key,
        hub: None,
        full_tunnel: false,
    }
}

async fn full(h: &Harness, peer: PeerId) -> StateDelta {
    h.req(peer, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json()
}

#[tokio::test]
async fn a_device_joins_through_the_server_and_is_a_route_for_the_peers_that_see_it() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let issued = h
            .service
            .create_device(phone(true), "test", "a test")
            .expect("create device");
        let id = issued.peer.id;
        let ip = issued.peer.ip;
        assert_eq!(ip, h.addr("10.80.64.1", "fd00:1337::2:0:0:1"));
        assert!(issued.config.private_key.is_none());
        assert_eq!(issued.device.key, KeySource::Supplied);
        assert_eq!(issued.config.hub_public_key, server_key());
        assert_eq!(
            issued.config.hub_endpoint.to_string(),
            "155.155.155.155:54321"
        );
        // The developers' CIDR and the server's.
        assert_eq!(issued.config.allowed_ips.len(), 2);

        // On the server's interface with its own address and the preshared key.
        let interface = h.fake.get(&h.iface).unwrap();
        let entry = interface
            .peers
            .iter()
            .find(|p| p.config.public_key == new_key(7))
            .expect("the device is on the interface");
        assert_eq!(entry.config.allowed_ips, vec![ipnet::IpNet::from(ip)]);
        assert_eq!(
            entry.config.preshared_key.as_ref(),
            issued.device.preshared_key.as_ref()
        );

        // Developers reach it through the server; nobody has it as a peer.
        let state: State = h
            .req(DEVELOPER1, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(200)
            .json();
        assert!(state.peers.iter().all(|p| p.id != id));
        let routes = full(&h, DEVELOPER1).await.routes.unwrap();
        assert_eq!(routes.devices.len(), 1);
        assert_eq!((routes.devices[0].ip, routes.devices[0].hub), (ip, SERVER));
        assert!(full(&h, USER1).await.routes.unwrap().devices.is_empty());

        // Admins list it as a disabled row, so no admin client picks its address.
        let peers: Vec<Peer> = h
            .req(ADMIN_PEER, Method::GET, "/v1/admin/peers")
            .send()
            .await
            .expect(200)
            .json();
        let row = peers.iter().find(|p| p.id == id).unwrap();
        assert!(row.is_disabled && row.ip == ip);

        // It is nobody's caller, and innernet's echo of the row cannot disable it.
        h.req_from(ip, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(401);
        let put = h
            .req(
                ADMIN_PEER,
                Method::PUT,
                &format!("/v1/admin/peers/{}", id.0),
            )
            .json(serde_json::to_value(&row.contents).unwrap())
            .send()
            .await;
        put.expect(400);
        assert!(put.error().contains("is a device"), "{}", put.error());
        assert!(!h.service.model().peer(id).unwrap().is_disabled);

        // Disabling it wakes the developers' long polls and takes it off the interface.
        let before = full(&h, DEVELOPER1).await;
        let path = format!(
            "/v2/user/state?epoch={}&revision={}&wait=30",
            before.epoch, before.revision
        );
        let poll = h.req(DEVELOPER1, Method::GET, &path).send();
        let disable = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            h.service.set_disabled(id, true).expect("disable");
        };
        let (answer, ()) = tokio::join!(poll, disable);
        let delta: StateDelta = answer.expect(200).json();
        assert!(delta
            .routes
            .expect("a structural answer")
            .devices
            .is_empty());
        assert!(delta.peers.iter().all(|p| p.id != id));
        assert!(delta.removed.iter().all(|r| *r != id));
        assert!(!h.interface_keys().contains(&new_key(7)));

        // Everything survives a restart.
        let reopened = h.reopen();
        let stored = reopened.devices.get(id).expect("stored device");
        assert_eq!(stored.hub, SERVER);
        assert_eq!(stored.preshared_key, issued.device.preshared_key);
        assert_eq!(stored.issued, issued.config.fingerprint());
    }
}

#[tokio::test]
async fn a_generated_key_is_returned_once_and_the_config_goes_stale_when_the_hub_moves() {
    let h = Harness::new(Family::V4);
    let issued = h
        .service
        .create_device(phone(false), "test", "a test")
        .expect("create device");
    let private = issued.config.private_key.clone().expect("a generated key");
    assert_eq!(private.public_key(), issued.peer.public_key);
    assert_eq!(issued.device.key, KeySource::Generated);
    assert!(issued.config.render().contains(&private.to_base64()));
    assert!(issued.device.preshared_key.is_none());
    // Nothing of the private key is stored.
    let db = std::fs::read(&h.db_path).unwrap();
    let needle = private.to_base64();
    assert!(!db.windows(needle.len()).any(|w| w == needle.as_bytes()));

    let stale = |h: &Harness| device_entries(&h.service.model())[0].stale;
    assert!(!stale(&h));
    // The server's endpoint moves: the device's configuration no longer matches.
    let mut server = h.service.model().peer(SERVER).unwrap().clone();
    server.contents.endpoint = Some("vpn.example.com:51820".parse().unwrap());
    h.service
        .update_peer(SERVER, server.contents.clone())
        .expect("move the server");
    assert!(stale(&h));
    // A new CIDR the device sees changes its allowed IPs too.
    server.contents.endpoint = Some("155.155.155.155:54321".parse().unwrap());
    h.service.update_peer(SERVER, server.contents).unwrap();
    assert!(!stale(&h));
    h.req(ADMIN_PEER, Method::POST, "/v1/admin/associations")
        .json(json!({"cidr_id_1": DEVELOPER.0, "cidr_id_2": USER.0}))
        .send()
        .await
        .expect(201);
    assert!(stale(&h));
}

#[tokio::test]
async fn a_device_is_refused_like_a_peer_when_its_name_address_or_key_is_taken() {
    let h = Harness::new(Family::V4);
    let mut taken_name = phone(true);
    taken_name.name = "developer1".parse().unwrap();
    let mut taken_ip = phone(true);
    taken_ip.ip = Some(h.ip(DEVELOPER1));
    let mut taken_key = phone(true);
    taken_key.public_key = Some(h.service.model().peer(DEVELOPER1).unwrap().public_key);
    let mut server_key_device = phone(true);
    server_key_device.public_key = Some(server_key());
    let before = h.reopen();
    for new in [taken_name, taken_ip, taken_key, server_key_device] {
        let error = h
            .service
            .create_device(new.clone(), "test", "a test")
            .expect_err("refused");
        assert!(!error.to_string().is_empty(), "{new:?}");
    }
    assert_eq!(h.reopen(), before);
    assert!(h.interface_keys().iter().all(|k| *k != new_key(7)));
}

#[tokio::test]
async fn a_peer_hub_gets_its_devices_with_their_keys_and_nobody_else_does() {
    use wiremesh_shared::wire::{ClientReport, PolicyReport, DEVICES_FEATURE};

    for family in Family::BOTH {
        let h = Harness::new(family);
        let through = |hub| NewDevice {
            hub: Some(hub),
            ..phone(true)
        };
        // Not a hub until its client says it can be one, and only with an endpoint.
        let refused = h
            .service
            .create_device(through(DEVELOPER2), "test", "a test")
            .unwrap_err();
        assert!(refused.to_string().contains("cannot be a hub"), "{refused}");
        // A client that can be a hub, but with its firewall off, cannot.
        let report = |policy| {
            serde_json::to_value(ClientReport {
                version: "0.1.0".into(),
                features: vec![DEVICES_FEATURE.into()],
                policy,
            })
            .unwrap()
        };
        h.req(DEVELOPER2, Method::POST, "/v2/user/report")
            .json(report(PolicyReport::Off))
            .send()
            .await
            .expect(204);
        assert!(h
            .service
            .create_device(through(DEVELOPER2), "test", "a test")
            .is_err());
        h.req(DEVELOPER2, Method::POST, "/v2/user/report")
            .json(
                serde_json::to_value(ClientReport {
                    version: "0.1.0".into(),
                    features: vec![DEVICES_FEATURE.into()],
                    policy: PolicyReport::Enforced {
                        digest: "any".into(),
                    },
                })
                .unwrap(),
            )
            .send()
            .await
            .expect(204);
        let refused = h
            .service
            .create_device(through(DEVELOPER2), "test", "a test")
            .unwrap_err();
        assert!(
            refused.to_string().contains("no public endpoint"),
            "{refused}"
        );
        h.req(DEVELOPER2, Method::PUT, "/v1/user/endpoint")
            .json(json!({"option": "Set", "content": "198.51.100.3:51820"}))
            .send()
            .await
            .expect(204);
        let issued = h
            .service
            .create_device(through(DEVELOPER2), "test", "a test")
            .expect("a hub now");
        assert_eq!(issued.config.hub_endpoint.to_string(), "198.51.100.3:51820");
        let psk = issued.device.preshared_key.clone().unwrap().to_base64();

        // The hub has the device to put on its interface, and the duties of its table.
        let hub_view = full(&h, DEVELOPER2).await.routes.unwrap();
        assert_eq!(hub_view.hosted.len(), 1);
        assert_eq!(hub_view.hosted[0].ip, issued.peer.ip);
        assert_eq!(
            hub_view.hosted[0].preshared_key,
            issued.device.preshared_key
        );
        assert_eq!(hub_view.hub.unwrap().devices.len(), 1);
        // Its CIDR neighbour reaches the device through it, and never sees the key.
        let body = h
            .req(DEVELOPER1, Method::GET, "/v2/user/state")
            .send()
            .await
            .expect(200)
            .text();
        assert!(
            !body.contains(&psk),
            "the preshared key reached a peer that is not the hub"
        );
        let neighbour: StateDelta = serde_json::from_str(&body).unwrap();
        let routes = neighbour.routes.unwrap();
        assert_eq!(routes.devices[0].hub, DEVELOPER2);
        assert!(routes.hosted.is_empty() && routes.hub.is_none());
        // The server routes the device through the hub.
        let interface = h.fake.get(&h.iface).unwrap();
        assert!(interface
            .peers
            .iter()
            .all(|p| p.config.public_key != new_key(7)));
        let hub_key = h.service.model().peer(DEVELOPER2).unwrap().public_key;
        let hub_entry = interface
            .peers
            .iter()
            .find(|p| p.config.public_key == hub_key)
            .unwrap();
        assert!(hub_entry
            .config
            .allowed_ips
            .contains(&ipnet::IpNet::from(issued.peer.ip)));
    }
}
