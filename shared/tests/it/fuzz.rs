//! The fuzz battery of issue 15 for the file formats and the wire types: arbitrary bytes,
//! token soup and damaged golden files go through every parser that reads outside input, and
//! each parse must neither panic nor allocate more than a bound proportional to its input.
//! Memory is counted per thread by `testalloc::Counting`, installed in `main.rs`.
//!
//! The bounds, in bytes live at the peak (the parsed value included):
//! - JSON (the peer cache and the wire types): `64 * input + 64 KiB`. 64 bytes per input byte
//!   is what a growing `Vec` of small values can reach: serde buffers an internally tagged or
//!   untagged value as 32-byte `Content` nodes, one per two input bytes at worst, and a `Vec`
//!   briefly holds its old and new buffers when it grows. serde_json stops nesting at 128.
//! - TOML (invitations, client and server configs): `128 * input + 64 KiB`. The toml crate
//!   builds a document tree with spans before serde sees it, about 100 bytes per nesting level,
//!   and a level can cost as little as two input bytes (`a.` in a dotted key, `{b = ` in
//!   inline tables); it has no depth limit, so this is linear in the input, measured at up to
//!   101 bytes per byte for 40 KB of dotted keys or 100 KB of inline tables.
//! - `Endpoint`, `Hostname`, `Timestring` from text: the JSON bound.
//!
//! The 64 KiB covers fixed costs: error messages, and toml's tables for a small input.

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use testalloc::fuzz::config;
use wiremesh_shared::config::{ClientConfig, InvitationConfig, PeerCache, ServerConfig};
use wiremesh_shared::wire::{
    AssociationContents, Cidr, CidrContents, EndpointContents, Peer, PeerContents, RedeemContents,
    ServerCapabilities, State, StateDelta,
};
use wiremesh_shared::{Endpoint, Hostname, Timestring};

/// The bound for JSON and short texts; see the module documentation.
fn bound(input_len: usize) -> usize {
    64 * input_len + 64 * 1024
}

/// The bound for TOML; see the module documentation.
fn toml_bound(input_len: usize) -> usize {
    128 * input_len + 64 * 1024
}

/// Runs `parse` on `text`, failing the case when its peak allocation exceeds `bound`.
fn bounded<R>(
    what: &str,
    text: &str,
    bound: fn(usize) -> usize,
    parse: impl FnOnce(&str) -> R,
) -> Result<(), TestCaseError> {
    let (result, peak) = testalloc::measure(|| parse(text));
    drop(result);
    let limit = bound(text.len());
    prop_assert!(
        peak <= limit,
        "{what}: {peak} bytes at peak for {} bytes of input (bound {limit})",
        text.len()
    );
    Ok(())
}

/// `serde_json::from_str` with the input's lifetime unrelated to the output's.
fn json<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str(text)
}

/// Every parser of outside text in this crate.
fn parse_all(text: &str) -> Result<(), TestCaseError> {
    bounded(
        "invitation",
        text,
        toml_bound,
        InvitationConfig::from_toml_str,
    )?;
    bounded(
        "client config",
        text,
        toml_bound,
        ClientConfig::from_toml_str,
    )?;
    bounded(
        "server config",
        text,
        toml_bound,
        ServerConfig::from_toml_str,
    )?;
    bounded("peer cache", text, bound, PeerCache::from_json_str)?;
    bounded("state", text, bound, json::<State>)?;
    bounded("state delta", text, bound, json::<StateDelta>)?;
    bounded("peers", text, bound, json::<Vec<Peer>>)?;
    bounded("cidrs", text, bound, json::<Vec<Cidr>>)?;
    bounded("capabilities", text, bound, json::<ServerCapabilities>)?;
    bounded("peer contents", text, bound, json::<PeerContents>)?;
    bounded("cidr contents", text, bound, json::<CidrContents>)?;
    bounded("association", text, bound, json::<AssociationContents>)?;
    bounded("redeem", text, bound, json::<RedeemContents>)?;
    bounded("endpoint contents", text, bound, json::<EndpointContents>)?;
    bounded("candidates", text, bound, json::<Vec<Endpoint>>)?;
    bounded("endpoint", text, bound, str::parse::<Endpoint>)?;
    bounded("hostname", text, bound, str::parse::<Hostname>)?;
    bounded("timestring", text, bound, str::parse::<Timestring>)?;
    Ok(())
}

const GOLDEN: [&str; 8] = [
    "invitation.toml",
    "client-config.toml",
    "server-config.toml",
    "user-state.json",
    "client-peer-cache.json",
    "admin-peers.json",
    "admin-cidrs.json",
    "user-capabilities.json",
];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/innernet-2.0.0")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Pieces of TOML and JSON, so that random sequences get past the first token.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "[",
        "]",
        "{",
        "}",
        "[[",
        "]]",
        ",",
        ":",
        "=",
        "\"",
        "'",
        "\n",
        " ",
        "#",
        ".",
        "0",
        "1",
        "-1",
        "1e9",
        "true",
        "null",
        "\"1\"",
        "\"version\"",
        "\"peers\"",
        "\"cidrs\"",
        "[interface]",
        "[server]",
        "address",
        "private-key",
        "listen-port",
        "public-key",
        "\"10.0.0.1/24\"",
        "\"8MeFD8VMauy8y3txmWVPafteg3JSowTTztk2+UF6QWo=\"",
        "\"a:1\"",
        "external-endpoint",
        "\"[::1]:1\"",
        "1979-05-27T07:32:00Z",
        "\"\"\"",
        "\\u0000",
        "é",
    ])
}

/// `text` with the bytes `at..at+len` repeated `times` times: inputs that grow by repeating a
/// valid part (a peer, a table, an array element) are where memory amplification hides.
fn repeat_slice(text: &str, at: Index, len: usize, times: usize) -> String {
    let bytes = text.as_bytes();
    let start = at.index(bytes.len() + 1);
    let end = (start + len).min(bytes.len());
    let mut out = bytes[..start].to_vec();
    for _ in 0..times {
        out.extend_from_slice(&bytes[start..end]);
    }
    out.extend_from_slice(&bytes[end..]);
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        parse_all(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup(tokens in prop::collection::vec(token(), 0..600)) {
        parse_all(&tokens.concat())?;
    }

    #[test]
    fn damaged_golden_files(
        file in 0..GOLDEN.len(),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
        (at, len, times) in (any::<Index>(), 0..200usize, 0..40usize),
        cut in any::<Index>(),
    ) {
        let mut bytes = repeat_slice(&fixture(GOLDEN[file]), at, len, times).into_bytes();
        testalloc::fuzz::damage(&mut bytes, flips, cut);
        parse_all(&String::from_utf8_lossy(&bytes))?;
    }
}

/// Deep nesting is the classic way to make a recursive parser use memory (and stack) out of
/// proportion: serde_json stops at 128 levels; toml has no limit but stays linear.
#[test]
fn deep_nesting_is_bounded() {
    for depth in [10, 200, 5_000] {
        for text in [
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
            format!("{}1", "{\"a\":".repeat(depth)),
            format!("a = {}{}", "[".repeat(depth), "]".repeat(depth)),
            format!("a = {}", "{b = ".repeat(depth)),
            format!("[{}]", "a.".repeat(depth) + "b"),
        ] {
            parse_all(&text).unwrap();
        }
    }
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
