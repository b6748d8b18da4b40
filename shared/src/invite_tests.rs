//! The new-peer rules, table-driven over the seeded network in both address families.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::fixture::*;
use crate::PeerId;

/// Names the error the rules give, or `ok`, so the tables read as outcomes.
fn outcome(result: Result<(), InviteError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(InviteError::UnknownCidr { .. }) => "unknown CIDR".to_owned(),
        Err(InviteError::Cidr(PeerCidrError::NotALeaf { cidr })) => format!("not a leaf: {cidr}"),
        Err(InviteError::Cidr(PeerCidrError::InfraCidr { cidr })) => format!("infra: {cidr}"),
        Err(InviteError::NameTaken { name }) => format!("name taken: {name}"),
        Err(InviteError::Address { source, .. }) => format!("address: {source}"),
        Err(InviteError::KeyTaken) => "key taken".to_owned(),
        Err(other) => format!("{other}"),
    }
}

fn joining(fx: &Fixture) -> Joining<'_> {
    Joining {
        cidrs: &fx.cidrs,
        peers: &fx.peers,
        infra: Some(fx.roles.infra_cidr),
        consumed: &[],
    }
}

/// A new peer `name` at `ip` (v4, v6) in `cidr`, with a fresh key unless `key_of` names a
/// peer whose key it reuses.
fn new_peer(
    fx: &Fixture,
    name: &str,
    ip: (&str, &str),
    cidr: CidrId,
    key_of: Option<PeerId>,
) -> PeerContents {
    let mut contents = fx.peer(USER1).contents.clone();
    contents.name = name.parse().unwrap();
    contents.ip = fx.family.pick(ip.0, ip.1).parse().unwrap();
    contents.cidr_id = cidr;
    contents.public_key = key_for(key_of.unwrap_or(PeerId(99)));
    contents.is_redeemed = false;
    contents
}

/// What a case checks, the new peer's name, its address (v4, v6), its CIDR, whose key it
/// reuses, and the expected outcome.
type Case = (
    &'static str,
    &'static str,
    (&'static str, &'static str),
    CidrId,
    Option<PeerId>,
    &'static str,
);

#[test]
fn new_peers_follow_every_rule() {
    let cases: &[Case] = &[
        (
            "a free address in a leaf",
            "dev3",
            ("10.80.64.4", "fd00:1337::2:0:0:4"),
            DEVELOPER,
            None,
            "ok",
        ),
        (
            "the root has children",
            "dev3",
            ("10.80.2.4", "fd00:1337::3:0:0:4"),
            ROOT,
            None,
            "not a leaf: test",
        ),
        (
            "the infra CIDR holds only the server",
            "dev3",
            ("10.80.0.1", "fd00:1337::1"),
            INFRA,
            None,
            "infra: innernet-server",
        ),
        (
            "no such CIDR",
            "dev3",
            ("10.80.64.4", "fd00:1337::2:0:0:4"),
            CidrId(77),
            None,
            "unknown CIDR",
        ),
        (
            "the name is taken",
            "developer1",
            ("10.80.64.4", "fd00:1337::2:0:0:4"),
            DEVELOPER,
            None,
            "name taken: developer1",
        ),
        (
            "the address is taken",
            "dev3",
            ("10.80.64.2", "fd00:1337::2:0:0:2"),
            DEVELOPER,
            None,
            "address: 10.80.64.2 is already taken by another peer",
        ),
        (
            "the key is taken",
            "dev3",
            ("10.80.64.4", "fd00:1337::2:0:0:4"),
            DEVELOPER,
            Some(DEVELOPER2),
            "key taken",
        ),
    ];
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        for (what, name, ip, cidr, key_of, expected) in cases {
            let contents = new_peer(&fx, name, *ip, *cidr, *key_of);
            let got = outcome(joining(&fx).check_new_peer(&contents));
            let expected = match family {
                Family::V6 => expected.replace("10.80.64.2", "fd00:1337::2:0:0:2"),
                Family::V4 => (*expected).to_owned(),
            };
            assert_eq!(got, expected, "{what} ({family:?})");
        }
    }
}

#[test]
fn a_disabled_or_unredeemed_peer_still_holds_its_name_and_address() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        fx.peer_mut(DEVELOPER1).contents.is_disabled = true;
        fx.peer_mut(DEVELOPER2).contents.is_redeemed = false;
        for taken in [DEVELOPER1, DEVELOPER2] {
            let peer = fx.peer(taken).clone();
            let mut contents = new_peer(
                &fx,
                "fresh",
                ("10.80.64.9", "fd00:1337::2:0:0:9"),
                DEVELOPER,
                None,
            );
            contents.ip = peer.ip;
            assert!(
                matches!(
                    joining(&fx).check_new_peer(&contents),
                    Err(InviteError::Address { .. })
                ),
                "{taken} ({family:?})"
            );
            let contents = new_peer(
                &fx,
                &peer.name,
                ("10.80.64.9", "fd00:1337::2:0:0:9"),
                DEVELOPER,
                None,
            );
            assert!(
                matches!(
                    joining(&fx).check_new_peer(&contents),
                    Err(InviteError::NameTaken { .. })
                ),
                "{taken} ({family:?})"
            );
        }
    }
}

#[test]
fn without_a_requested_address_the_first_free_one_is_chosen() {
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        let developer = fx.cidr(DEVELOPER);
        let chosen = joining(&fx).choose_ip(developer, None).unwrap();
        // .2 and .3 are taken; .0 is the network address and .1 the first assignable one.
        let expected = family.pick("10.80.64.1", "fd00:1337::2:0:0:1");
        assert_eq!(chosen.to_string(), expected, "{family:?}");
    }
}

fn options(name: &str, cidr: &str, days: u64) -> AddPeerOptions {
    AddPeerOptions {
        name: name.parse().unwrap(),
        cidr: cidr.to_owned(),
        ip: None,
        admin: true,
        invite_expires: format!("{days}d").parse().unwrap(),
        save_path: "/tmp/unused.toml".into(),
        ephemeral: None,
    }
}

fn server() -> ServerInfo {
    ServerInfo {
        public_key: key_for(SERVER),
        external_endpoint: "203.0.113.1:51820".parse().unwrap(),
        internal_endpoint: "10.80.0.1:51820".parse().unwrap(),
    }
}

#[test]
fn an_invitation_carries_the_choices_and_the_root_prefix() {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for family in Family::BOTH {
        let fx = Fixture::new(family);
        let spec = joining(&fx)
            .invite_spec(
                fx.cidr(USER),
                &options("carol", "user", 7),
                "evilcorp",
                server(),
                now,
            )
            .unwrap();
        assert_eq!(spec.name.as_str(), "carol");
        assert_eq!(spec.cidr_id, USER);
        assert!(spec.admin);
        assert_eq!(
            spec.ip.to_string(),
            family.pick("10.80.128.1", "fd00:1337::8000:0:0:1")
        );
        assert_eq!(spec.expires, now + Duration::from_secs(7 * 86_400));
        assert_eq!(spec.root_prefix, fx.cidr(ROOT).cidr.prefix_len());
        assert_eq!(spec.network_name, "evilcorp");

        let refused = joining(&fx)
            .invite_spec(
                fx.cidr(INFRA),
                &options("carol", "innernet-server", 7),
                "evilcorp",
                server(),
                now,
            )
            .unwrap_err();
        assert_eq!(outcome(Err(refused)), "infra: innernet-server");
        let refused = joining(&fx)
            .invite_spec(
                fx.cidr(USER),
                &options("user1", "user", 7),
                "evilcorp",
                server(),
                now,
            )
            .unwrap_err();
        assert_eq!(outcome(Err(refused)), "name taken: user1");
    }
}

#[test]
fn an_expiry_past_the_end_of_time_is_refused() {
    let fx = Fixture::new(Family::V4);
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
    let result = joining(&fx).invite_spec(
        fx.cidr(USER),
        &options("carol", "user", 3650),
        "evilcorp",
        server(),
        far,
    );
    assert!(
        matches!(result, Err(InviteError::ExpiryTooFar { .. })),
        "{result:?}"
    );
}

#[test]
fn a_network_without_a_root_cannot_invite() {
    let mut fx = Fixture::empty(Family::V4);
    let only = fx.add_cidr("orphan", "10.9.0.0/24", Some(CidrId(40)));
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let result = Joining {
        cidrs: &fx.cidrs,
        peers: &fx.peers,
        infra: None,
        consumed: &[],
    }
    .invite_spec(
        fx.cidr(only),
        &options("carol", "orphan", 1),
        "evilcorp",
        server(),
        now,
    );
    assert!(matches!(result, Err(InviteError::NoRoot)), "{result:?}");
}
