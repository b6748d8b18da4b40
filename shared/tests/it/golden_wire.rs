//! The `/v1` JSON types against responses captured from innernet 2.0.0, plus hand-written edge
//! cases: every golden body parses, and our encoding of it is the same text, field for field
//! and in the same order.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;
use wiremesh_shared::config::PeerCache;
use wiremesh_shared::wire::{
    Association, Cidr, EndpointContents, ErrorBody, Peer, PeerContents, RedeemContents,
    ServerCapabilities, State, WiremeshCapabilities,
};
use wiremesh_shared::{CidrId, Endpoint, PeerId};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/innernet-2.0.0")
}

fn fixture(name: &str) -> String {
    let path = fixture_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// innernet's API pretty-prints with four spaces.
fn to_api_text<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).unwrap();
    String::from_utf8(out).unwrap()
}

/// Parses `file` as `T`; our encoding must equal the file as JSON values and as text (which
/// also proves field order), and must parse back to the same value.
fn check_golden<T>(file: &str)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let text = fixture(file);
    let parsed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let ours = serde_json::to_value(&parsed).unwrap();
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ours, golden, "{file}: values differ");
    assert_eq!(
        to_api_text(&parsed),
        text.trim_end(),
        "{file}: text differs"
    );
    let again: T = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
    assert_eq!(again, parsed, "{file}: round trip");
}

#[test]
fn golden_api_bodies() {
    check_golden::<Vec<Association>>("admin-associations.json");
    check_golden::<Cidr>("admin-cidrs-POST-201.json");
    check_golden::<Vec<Cidr>>("admin-cidrs.json");
    check_golden::<Peer>("admin-peers-POST-201.json");
    check_golden::<Vec<Peer>>("admin-peers.json");
    check_golden::<ServerCapabilities>("user-capabilities.json");
    check_golden::<State>("user-state.json");
}

#[test]
fn golden_peer_cache_is_byte_identical() {
    let text = fixture("client-peer-cache.json");
    let cache = PeerCache::from_json_str(&text).unwrap();
    assert_eq!(cache.peers.len(), 2);
    assert_eq!(cache.cidrs.len(), 4);
    assert_eq!(cache.to_json_string().unwrap(), text.trim_end());
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&cache).unwrap(), golden);
}

#[test]
fn golden_values_are_what_the_files_say() {
    let state: State = serde_json::from_str(&fixture("user-state.json")).unwrap();
    let admin = &state.peers[1];
    assert_eq!(admin.id, PeerId(2));
    assert_eq!(admin.name.as_str(), "admin");
    assert_eq!(admin.cidr_id, CidrId(3));
    assert_eq!(
        admin.public_key.to_base64(),
        "80d/dgs6CmkUHRSQ+kvKBrf6aQjF711NaD2SlLWrFWU="
    );
    assert_eq!(admin.persistent_keepalive_interval, Some(25));
    let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(1_797_974_915);
    assert_eq!(admin.invite_expires, Some(expires));
    let candidates: Vec<String> = admin.candidates.iter().map(ToString::to_string).collect();
    assert_eq!(candidates, ["192.168.1.20:51820", "[2001:db8::20]:51820"]);
    assert_eq!(state.cidrs[0].parent, None);
    assert_eq!(state.cidrs[2].parent, Some(CidrId(1)));
}

#[test]
fn every_golden_file_is_covered() {
    let covered = [
        "admin-associations.json",
        "admin-cidrs-POST-201.json",
        "admin-cidrs.json",
        "admin-peers-POST-201.json",
        "admin-peers.json",
        "client-config.toml",
        "client-peer-cache.json",
        "invitation.toml",
        "server-config.toml",
        "user-capabilities.json",
        "user-state.json",
    ];
    let dir = fixture_dir();
    let entries = std::fs::read_dir(&dir).expect("the golden fixtures are in the repository");
    for entry in entries {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".json") || name.ends_with(".toml") {
            assert!(
                covered.contains(&name.as_str()),
                "{name} in {} has no test",
                dir.display()
            );
        }
    }
    for name in covered {
        assert!(dir.join(name).is_file(), "fixture {name} is missing");
    }
}

const KEY: &str = "DD5yKRfzExcV5+kDnTroDgCU15latdMjiQ59j1hEuk8=";

/// A peer body with `fields` spliced in after the required ones.
fn peer_json(fields: &str) -> String {
    format!(
        r#"{{"id":4,"name":"newpeer","ip":"10.66.2.50","cidr_id":4,"public_key":"{KEY}",
            "is_admin":false,"is_disabled":false,"is_redeemed":false{fields}}}"#
    )
}

/// `expected` is a check on the parsed peer, or a fragment of the error.
fn check(input: &str, expected: Result<fn(&Peer), &str>) {
    match (serde_json::from_str::<Peer>(input), expected) {
        (Ok(peer), Ok(inspect)) => {
            inspect(&peer);
            let again: Peer = serde_json::from_value(serde_json::to_value(&peer).unwrap()).unwrap();
            assert_eq!(again, peer);
        }
        (Err(error), Err(fragment)) => {
            let message = error.to_string();
            assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
        }
        (Ok(peer), Err(fragment)) => panic!("{input}: parsed {peer:?}, expected {fragment:?}"),
        (Err(error), Ok(_)) => panic!("{input}: {error}"),
    }
}

#[test]
fn hand_written_peers() {
    check(
        &peer_json(""),
        Ok(|p| {
            assert!(p.candidates.is_empty());
            assert_eq!(
                (
                    &p.endpoint,
                    p.invite_expires,
                    p.persistent_keepalive_interval
                ),
                (&None, None, None)
            );
        }),
    );
    check(
        &peer_json(r#","candidates":[],"endpoint":null,"invite_expires":null"#),
        Ok(|p| {
            assert_eq!((&p.endpoint, p.invite_expires), (&None, None));
        }),
    );
    check(
        &peer_json(r#","invite_expires":{"secs_since_epoch":1893456000,"nanos_since_epoch":5}"#),
        Ok(|p| {
            let expires = p
                .invite_expires
                .unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap();
            assert_eq!(expires, Duration::new(1_893_456_000, 5));
        }),
    );
    check(
        &peer_json(r#","endpoint":"0.0.0.0:51820","future_field":{"x":[1]}"#),
        Ok(|p| {
            assert!(p.endpoint.as_ref().unwrap().is_unspecified());
        }),
    );
    check(
        &peer_json(r#","persistent_keepalive_interval":25"#),
        Ok(|p| {
            assert_eq!(p.persistent_keepalive_interval, Some(25));
        }),
    );
    check(
        &peer_json(r#","endpoint":"nope""#),
        Err("invalid endpoint \"nope\""),
    );
    check(
        &peer_json(r#","candidates":["1.2.3.4"]"#),
        Err("invalid endpoint \"1.2.3.4\""),
    );
    check(
        &peer_json(r#","persistent_keepalive_interval":70000"#),
        Err("70000"),
    );
    check(
        &peer_json(
            r#","invite_expires":{"secs_since_epoch":18446744073709551615,"nanos_since_epoch":999999999}"#,
        ),
        Err("overflow"),
    );
    check(
        &peer_json("").replace("newpeer", "New.Peer"),
        Err("invalid hostname \"New.Peer\""),
    );
    check(
        &peer_json("").replace(KEY, "not-a-key"),
        Err("invalid public key"),
    );
    check(
        &peer_json("").replace(KEY, &KEY[..40]),
        Err("invalid public key"),
    );
    check(
        &peer_json("").replace("\"id\":4,", ""),
        Err("missing field `id`"),
    );
    check(
        &peer_json("").replace("10.66.2.50", "10.66.2"),
        Err("invalid IP address"),
    );
}

#[test]
fn peer_contents_body_has_no_id() {
    let peer: Peer = serde_json::from_str(&fixture("admin-peers-POST-201.json")).unwrap();
    let body = serde_json::to_value(&peer.contents).unwrap();
    assert!(body.get("id").is_none());
    assert_eq!(body["name"], "newpeer");
    let contents: PeerContents = serde_json::from_value(body).unwrap();
    assert_eq!(contents, peer.contents);
}

#[test]
fn cidr_keeps_host_bits() {
    let cidr: Cidr =
        serde_json::from_str(r#"{"id":9,"name":"x","cidr":"10.66.1.7/24","parent":1}"#).unwrap();
    assert_eq!(cidr.cidr.to_string(), "10.66.1.7/24");
    assert_eq!(serde_json::to_value(&cidr).unwrap()["cidr"], "10.66.1.7/24");
}

#[test]
fn endpoint_contents_exact_text() {
    let set = EndpointContents::Set("198.51.100.7:51820".parse().unwrap());
    assert_eq!(
        serde_json::to_string(&set).unwrap(),
        r#"{"option":"Set","content":"198.51.100.7:51820"}"#
    );
    assert_eq!(
        serde_json::to_string(&EndpointContents::Unset).unwrap(),
        r#"{"option":"Unset"}"#
    );
    let parsed: EndpointContents =
        serde_json::from_str(r#"{"content":"[::]:1","option":"Set"}"#).unwrap();
    assert_eq!(
        Option::<Endpoint>::from(parsed),
        Some("[::]:1".parse().unwrap())
    );
    let parsed: EndpointContents = serde_json::from_str(r#"{"option":"Unset"}"#).unwrap();
    assert_eq!(parsed, EndpointContents::Unset);
    assert!(serde_json::from_str::<EndpointContents>(r#"{"option":"Set","content":"x"}"#).is_err());
    assert!(serde_json::from_str::<EndpointContents>(r#"{"option":"Maybe"}"#).is_err());
}

#[test]
fn small_bodies() {
    let redeem: RedeemContents =
        serde_json::from_str(&format!(r#"{{"public_key":"{KEY}"}}"#)).unwrap();
    assert_eq!(
        serde_json::to_string(&redeem).unwrap(),
        format!(r#"{{"public_key":"{KEY}"}}"#)
    );
    assert!(serde_json::from_str::<RedeemContents>(r#"{"public_key":"AAAA"}"#).is_err());

    let candidates: Vec<Endpoint> =
        serde_json::from_str(r#"["192.168.1.20:51820","[2001:db8::20]:51820"]"#).unwrap();
    assert_eq!(candidates.len(), 2);

    let innernet_answer: ServerCapabilities = serde_json::from_str("{}").unwrap();
    assert_eq!(innernet_answer, ServerCapabilities::default());
    let ours = ServerCapabilities {
        unspecified_ip_in_override_endpoint: true,
        wiremesh: Some(WiremeshCapabilities {
            version: "0.1.0".into(),
            features: vec!["v2-state".into()],
        }),
    };
    let text = serde_json::to_string(&ours).unwrap();
    assert_eq!(
        text,
        r#"{"unspecified_ip_in_override_endpoint":true,"wiremesh":{"version":"0.1.0","features":["v2-state"]}}"#
    );
    assert_eq!(
        serde_json::from_str::<ServerCapabilities>(&text).unwrap(),
        ours
    );
    let without: ServerCapabilities =
        serde_json::from_str(r#"{"wiremesh":{"version":"9"}}"#).unwrap();
    assert_eq!(without.wiremesh.unwrap().features, Vec::<String>::new());

    let error = ErrorBody {
        error: "peer not found".into(),
    };
    assert_eq!(
        serde_json::to_string(&error).unwrap(),
        r#"{"error":"peer not found"}"#
    );
}
