use super::*;
use crate::fixture::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The fixture with a "phones" CIDR holding one device that joins through the server;
/// phones see developers.
fn with_phone(family: Family) -> (Fixture, PeerId, DeviceBook) {
    let mut fx = Fixture::new(family);
    let phones = fx.add_cidr(
        "phones",
        family.pick("10.80.200.0/24", "fd00:1337::c8:0:0:0/80"),
        Some(ROOT),
    );
    let phone = fx.add_peer(
        "phone",
        family.pick("10.80.200.2", "fd00:1337::c8:0:0:2"),
        phones,
    );
    fx.associate(phones, DEVELOPER);
    let book = DeviceBook {
        devices: vec![device(phone, SERVER)],
    };
    (fx, phone, book)
}

fn device(peer: PeerId, hub: PeerId) -> Device {
    Device {
        peer,
        hub,
        key: KeySource::Supplied,
        full_tunnel: false,
        preshared_key: None,
        issued: String::new(),
    }
}

#[test]
fn peers_that_see_the_devices_cidr_reach_it_through_its_hub() {
    for family in Family::BOTH {
        let (mut fx, phone, book) = with_phone(family);
        let ip = fx.peer(phone).ip;
        let expected = vec![DeviceRoute {
            device: phone,
            name: "phone".parse().unwrap(),
            ip,
            hub: SERVER,
        }];
        let routes = |fx: &Fixture, viewer| device_routes_for(&fx.view(), fx.peer(viewer), &book);
        assert_eq!(routes(&fx, DEVELOPER1), expected, "{family:?}");
        // Users do not see phones; the hub has the device as a peer, not as a route.
        assert_eq!(routes(&fx, USER1), vec![], "{family:?}");
        assert_eq!(routes(&fx, SERVER), vec![], "{family:?}");
        // A disabled device is nobody's route.
        fx.peer_mut(phone).contents.is_disabled = true;
        assert_eq!(routes(&fx, DEVELOPER1), vec![], "{family:?}");
    }
}

#[test]
fn a_peer_hub_hands_out_routes_to_everyone_but_itself() {
    let (fx, phone, _) = with_phone(Family::V4);
    let book = DeviceBook {
        devices: vec![device(phone, DEVELOPER2)],
    };
    let to = |viewer| device_routes_for(&fx.view(), fx.peer(viewer), &book);
    assert_eq!(to(DEVELOPER1).len(), 1);
    assert_eq!(to(DEVELOPER1)[0].hub, DEVELOPER2);
    assert_eq!(to(DEVELOPER2), vec![]);
}

#[test]
fn allowed_ips_cover_the_cidrs_the_device_sees_and_its_hub() {
    let (fx, phone, _) = with_phone(Family::V4);
    let server_ip = fx.peer(SERVER).ip;
    let cidr = fx.peer(phone).cidr_id;
    // Its own CIDR, the one it is associated with, and the server's (every CIDR sees it).
    assert_eq!(
        device_allowed_ips(&fx.view(), cidr, server_ip, false),
        vec![
            net("10.80.0.1/32"),
            net("10.80.64.0/24"),
            net("10.80.200.0/24")
        ]
    );
    // A hub outside them is added on its own.
    let user1 = fx.peer(USER1).ip;
    assert_eq!(
        device_allowed_ips(&fx.view(), cidr, user1, false),
        vec![
            net("10.80.0.1/32"),
            net("10.80.64.0/24"),
            net("10.80.128.2/32"),
            net("10.80.200.0/24")
        ]
    );
    // Full tunnel: everything, both families, so nothing leaks beside the tunnel.
    assert_eq!(
        device_allowed_ips(&fx.view(), cidr, server_ip, true),
        vec![net("0.0.0.0/0"), net("::/0")]
    );
}

#[test]
fn allowed_ips_leave_out_networks_inside_others() {
    let (mut fx, phone, _) = with_phone(Family::V6);
    let cidr = fx.peer(phone).cidr_id;
    // Associated with the root: the root's network covers everything else.
    fx.associate(cidr, ROOT);
    assert_eq!(
        device_allowed_ips(&fx.view(), cidr, fx.peer(SERVER).ip, false),
        vec![net("fd00:1337::/64")]
    );
}

fn config(private_key: Option<PrivateKey>) -> DeviceConfig {
    DeviceConfig {
        network: "office".into(),
        name: "phone".parse().unwrap(),
        address: "10.80.200.2".parse().unwrap(),
        private_key,
        hub_name: "innernet-server".parse().unwrap(),
        hub_public_key: key_for(SERVER),
        hub_endpoint: "vpn.example.com:51820".parse().unwrap(),
        preshared_key: Some(PresharedKey::from_bytes([7; 32])),
        allowed_ips: vec![net("10.80.0.1/32"), net("10.80.64.0/24")],
    }
}

#[test]
fn the_config_is_a_wg_quick_file_with_keepalive_and_preshared_key() {
    let key = PrivateKey::from_bytes([9; 32]);
    let text = config(Some(key.clone())).render();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# wiremesh device phone in network office"));
    assert_eq!(
        &lines[1..],
        [
            "[Interface]",
            &format!("PrivateKey = {}", key.to_base64()),
            "Address = 10.80.200.2/32",
            "MTU = 1280",
            "",
            "[Peer]",
            &format!("PublicKey = {}", key_for(SERVER).to_base64()),
            &format!(
                "PresharedKey = {}",
                PresharedKey::from_bytes([7; 32]).to_base64()
            ),
            "Endpoint = vpn.example.com:51820",
            "AllowedIPs = 10.80.0.1/32, 10.80.64.0/24",
            "PersistentKeepalive = 25",
        ]
    );
    // A device that holds its own key gets a line for it, and nothing secret of ours.
    let own = config(None).render();
    assert!(own.contains(OWN_KEY_LINE));
    assert!(!own.contains(&key.to_base64()));
}

#[test]
fn the_fingerprint_follows_everything_but_the_private_key() {
    let base = config(None);
    assert_eq!(
        base.fingerprint(),
        config(Some(PrivateKey::generate())).fingerprint()
    );
    type Change = Box<dyn Fn(&mut DeviceConfig)>;
    let changed: Vec<Change> = vec![
        Box::new(|c| c.hub_endpoint = "vpn.example.com:51821".parse().unwrap()),
        Box::new(|c| c.hub_public_key = key_for(USER1)),
        Box::new(|c| c.allowed_ips.push(net("10.80.128.0/17"))),
        Box::new(|c| c.address = "10.80.200.3".parse().unwrap()),
        Box::new(|c| c.preshared_key = None),
    ];
    for change in changed {
        let mut other = base.clone();
        change(&mut other);
        assert_ne!(other.fingerprint(), base.fingerprint(), "{other:?}");
    }
    // Names and the network only label the file.
    let mut renamed = base.clone();
    renamed.name = "handy".parse().unwrap();
    assert_eq!(renamed.fingerprint(), base.fingerprint());
}

#[test]
fn a_generated_key_is_reissued_as_a_new_identity() {
    assert_eq!(reissue_rule(KeySource::Supplied), Reissue::SameIdentity);
    assert_eq!(reissue_rule(KeySource::Generated), Reissue::NewIdentity);
    for source in [KeySource::Supplied, KeySource::Generated] {
        assert_eq!(KeySource::parse(source.as_str()), Some(source));
    }
}

#[test]
fn debug_output_never_shows_keys() {
    let psk = PresharedKey::from_bytes([7; 32]);
    let mut d = device(PeerId(9), SERVER);
    d.preshared_key = Some(psk.clone());
    assert!(!format!("{d:?}").contains(&psk.to_base64()));
    let key = PrivateKey::from_bytes([9; 32]);
    let shown = format!("{:?}", config(Some(key.clone())));
    assert!(!shown.contains(&key.to_base64()));
    assert!(!shown.contains(&psk.to_base64()));
}

#[test]
fn a_hub_guards_what_its_devices_see_with_the_receivers_rulesets() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use crate::policy::{HostRole, HostRuleset};

    let (mut fx, phone, book) = with_phone(Family::V4);
    // One ruleset per CIDR, shared like the server's cache shares them; developer2 has one
    // of its own (a rule names it).
    let cache: Mutex<HashMap<(CidrId, bool), Arc<HostRuleset>>> = Mutex::default();
    let ruleset_of = |peer: &Peer| {
        let own = peer.id == DEVELOPER2;
        let ruleset = cache
            .lock()
            .unwrap()
            .entry((peer.cidr_id, own))
            .or_insert_with(|| Arc::new(HostRuleset::open(HostRole::Peer)))
            .clone();
        (ruleset, own)
    };
    let server = fx.peer(SERVER).clone();
    let hub = hub_duties(&fx.view(), &book, &server, ruleset_of);
    assert_eq!(hub.devices.len(), 1);
    assert_eq!(hub.devices[0].ip, fx.peer(phone).ip);
    assert_eq!(
        hub.devices[0].sees,
        vec![
            net("10.80.0.1/32"),
            net("10.80.64.0/24"),
            net("10.80.200.0/24")
        ]
    );
    // developer2's own ruleset first, then the networks the phone sees, most specific
    // first; users are not seen.
    let nets: Vec<IpNet> = hub.guarded.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        nets,
        vec![
            net("10.80.64.3/32"),
            net("10.80.0.1/32"),
            net("10.80.64.0/24"),
            net("10.80.200.0/24")
        ]
    );
    // Four rulesets: the phones', developer2's own, the server's CIDR's, the developers'.
    assert_eq!(hub.rulesets.len(), 4);
    assert_eq!(hub.guarded[3].1, hub.devices[0].ruleset);
    // Another hub hosts nothing; a disabled device is not hosted.
    let developer = fx.peer(DEVELOPER1).clone();
    assert!(hub_duties(&fx.view(), &book, &developer, ruleset_of).is_empty());
    fx.peer_mut(phone).contents.is_disabled = true;
    assert!(hub_duties(&fx.view(), &book, &server, ruleset_of).is_empty());
}
