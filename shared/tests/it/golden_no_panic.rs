//! Property tests with a fixed seed: no input makes a parser panic, and whatever parses is
//! written back in a form that parses to the same value. Inputs are arbitrary text, text made of
//! the characters endpoints and names use, and the golden files with random damage.

use std::fmt::Debug;
use std::path::Path;
use std::str::FromStr;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{RngAlgorithm, RngSeed};
use wiremesh_shared::config::{ClientConfig, InvitationConfig, PeerCache, ServerConfig};
use wiremesh_shared::wire::{EndpointContents, Peer, State};
use wiremesh_shared::{Endpoint, Hostname, Timestring};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(7),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const GOLDEN: [&str; 5] = [
    "invitation.toml",
    "client-config.toml",
    "server-config.toml",
    "user-state.json",
    "client-peer-cache.json",
];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/innernet-2.0.0")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Parses with `FromStr`; a success must print as something that parses to the same value.
fn check_from_str<T>(text: &str)
where
    T: FromStr + ToString + PartialEq + Debug,
{
    if let Ok(value) = text.parse::<T>() {
        let printed = value.to_string();
        let again = printed.parse::<T>().ok();
        assert_eq!(
            again.as_ref(),
            Some(&value),
            "{text:?} printed as {printed:?}"
        );
    }
}

/// A success must survive a JSON round trip.
fn check_json<T>(text: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + Debug,
{
    if let Ok(value) = serde_json::from_str::<T>(text) {
        let printed = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<T>(&printed).unwrap(), value);
    }
}

/// Runs every parser on `text`.
fn parse_all(text: &str) {
    check_from_str::<Endpoint>(text);
    check_from_str::<Hostname>(text);
    check_from_str::<Timestring>(text);
    if let Ok(invitation) = InvitationConfig::from_toml_str(text) {
        let printed = invitation.to_toml_string();
        assert_eq!(
            InvitationConfig::from_toml_str(&printed).unwrap(),
            invitation,
            "{printed}"
        );
    }
    if let Ok(client) = ClientConfig::from_toml_str(text) {
        let printed = client.to_toml_string();
        assert_eq!(
            ClientConfig::from_toml_str(&printed).unwrap(),
            client,
            "{printed}"
        );
    }
    if let Ok(server) = ServerConfig::from_toml_str(text) {
        let _ = server.network();
        assert_eq!(
            ServerConfig::from_toml_str(&server.to_toml_string()).unwrap(),
            server
        );
    }
    if let Ok(cache) = PeerCache::from_json_str(text) {
        let printed = cache.to_json_string().unwrap();
        assert_eq!(PeerCache::from_json_str(&printed).unwrap(), cache);
    }
    check_json::<State>(text);
    check_json::<Vec<Peer>>(text);
    check_json::<EndpointContents>(text);
}

/// Replaces `delete` characters at `at` in `text` with `insert`.
fn damage(text: &str, at: Index, delete: usize, insert: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = at.index(chars.len() + 1);
    let end = (start + delete).min(chars.len());
    let mut out: String = chars[..start].iter().collect();
    out.push_str(insert);
    out.extend(&chars[end..]);
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        parse_all(&text);
    }

    #[test]
    fn endpoint_and_name_like_text(text in "[0-9a-fA-F:.\\[\\]_ +-]{0,48}|[a-z0-9.-]{1,70}:[0-9]{1,6}|[0-9]{0,22}[smhdwy]") {
        parse_all(&text);
    }

    #[test]
    fn damaged_golden_files(
        file in 0..GOLDEN.len(),
        at in any::<Index>(),
        delete in 0..12usize,
        insert in "([\"'\\[\\]{}=,:./ \n#a-zA-Z0-9+-]|é){0,12}",
    ) {
        parse_all(&damage(&fixture(GOLDEN[file]), at, delete, &insert));
    }
}

#[test]
fn undamaged_golden_files_pass_the_same_checks() {
    for name in GOLDEN {
        parse_all(&fixture(name));
    }
    assert!(InvitationConfig::from_toml_str(&fixture("invitation.toml")).is_ok());
    assert!(serde_json::from_str::<State>(&fixture("user-state.json")).is_ok());
}
