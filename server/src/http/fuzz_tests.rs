//! The fuzz battery of issue 15 for the API's outside input, at the function level (no
//! socket): request bodies (`read_json` into every body type a route reads), paths (`segments`,
//! `scope`, `resolve`), the `/v2` query string (`V2Params::parse`) and the server-key header
//! (`check_server_key`). None may panic, and each stays within a memory bound. Memory is
//! counted per thread by `testalloc::Counting`, this crate's test allocator (`lib.rs`).
//!
//! Bounds:
//! - bodies: `64 * body + 64 KiB`, and whatever the body, `64 * MAX_BODY_BYTES + 64 KiB`:
//!   `read_json` refuses a body over [`MAX_BODY_BYTES`] (16 KiB), so the documented limit caps
//!   it. serde keeps at most a value of up to ~100 bytes per two input bytes (an array of
//!   small values, or `EndpointContents`'s untagged buffering), in a `Vec` that briefly holds
//!   two buffers while growing; the 64 KiB covers the runtime's bookkeeping for one
//!   `block_on` and the error text.
//! - paths, query strings and the header: `64 * input + 64 KiB`; `segments` keeps one 16-byte
//!   slice per `/`, the query parser nothing per pair but an error's two 32-character
//!   excerpts.

use axum::body::Body;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::Index;
use testalloc::fuzz::config;
use wireguard_control::PublicKey;
use wiremesh_shared::wire::{
    AssociationContents, CidrContents, EndpointContents, PeerContents, RedeemContents,
    MAX_BODY_BYTES,
};
use wiremesh_shared::Endpoint;

use super::auth::{check_server_key, SERVER_KEY_HEADER};
use super::body::read_json;
use super::handlers::V2Params;
use super::routes::{resolve, scope, segments};

/// See the module documentation.
fn bound(input_len: usize) -> usize {
    64 * input_len + 64 * 1024
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Reads `body` (with `content_length` as its header, if any) as every body type.
fn check_body(
    rt: &tokio::runtime::Runtime,
    body: &[u8],
    content_length: Option<&str>,
) -> Result<(), TestCaseError> {
    let mut headers = HeaderMap::new();
    if let Some(length) = content_length {
        if let Ok(value) = HeaderValue::from_str(length) {
            headers.insert(CONTENT_LENGTH, value);
        }
    }
    let limit = bound(body.len().min(MAX_BODY_BYTES));
    macro_rules! read_as {
        ($($ty:ty),*) => {$(
            let request = Body::from(body.to_vec());
            let (got, peak) =
                testalloc::measure(|| rt.block_on(read_json::<$ty>(&headers, request)));
            drop(got);
            prop_assert!(
                peak <= limit,
                "{}: {peak} bytes at peak for a {}-byte body (bound {limit})",
                stringify!($ty),
                body.len()
            );
        )*};
    }
    read_as!(
        RedeemContents,
        EndpointContents,
        Vec<Endpoint>,
        PeerContents,
        CidrContents,
        AssociationContents
    );
    Ok(())
}

/// Pieces of JSON bodies, so that random sequences get past the first token.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "0",
        "-1",
        "1e400",
        "null",
        "true",
        "\"name\"",
        "\"ip\"",
        "\"cidr-id\"",
        "\"public-key\"",
        "\"endpoint\"",
        "\"is-admin\"",
        "\"is-disabled\"",
        "\"is-redeemed\"",
        "\"persistent-keepalive-interval\"",
        "\"invite-expires\"",
        "\"candidates\"",
        "\"parent\"",
        "\"cidr\"",
        "\"cidr-id-1\"",
        "\"cidr-id-2\"",
        "\"10.0.0.1\"",
        "\"10.0.0.0/24\"",
        "\"a:1\"",
        "\"[::1]:51820\"",
        "\"8MeFD8VMauy8y3txmWVPafteg3JSowTTztk2+UF6QWo=\"",
        "\"peer-1\"",
        "\\u0000",
        "\\ud800",
        "{\"Set\":",
        "\"Unset\"",
        " ",
    ])
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bodies(
        body in prop::collection::vec(any::<u8>(), 0..4096),
        length in prop_oneof![Just(None), Just(Some(String::new())), any::<u64>().prop_map(|n| Some(n.to_string())), "[ 0-9a-z+-]{0,24}".prop_map(Some)],
        honest in any::<bool>(),
    ) {
        let rt = runtime();
        let length = if honest { Some(body.len().to_string()) } else { length };
        check_body(&rt, &body, length.as_deref())?;
    }

    #[test]
    fn json_token_soup(tokens in prop::collection::vec(token(), 0..800)) {
        let rt = runtime();
        let body = tokens.concat();
        check_body(&rt, body.as_bytes(), Some(&body.len().to_string()))?;
    }

    /// A valid body with a slice repeated (many candidates, long names) and damaged.
    #[test]
    fn damaged_valid_bodies(
        which in 0usize..4,
        (at, len, times) in (any::<Index>(), 0..40usize, 0..600usize),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..3),
    ) {
        let valid = [
            r#"{"public-key":"8MeFD8VMauy8y3txmWVPafteg3JSowTTztk2+UF6QWo="}"#,
            r#"["10.0.0.1:51820","[2001:db8::1]:51820","host.example:1"]"#,
            r#"{"name":"peer-1","ip":"10.0.0.5","cidr-id":2,"public-key":"8MeFD8VMauy8y3txmWVPafteg3JSowTTztk2+UF6QWo=","endpoint":null,"is-admin":false,"is-disabled":false,"is-redeemed":true,"persistent-keepalive-interval":25,"invite-expires":null,"candidates":["10.0.0.1:1"]}"#,
            r#"{"Set":"198.51.100.1:51820"}"#,
        ][which].as_bytes();
        let start = at.index(valid.len() + 1);
        let end = (start + len).min(valid.len());
        let mut body = valid[..start].to_vec();
        for _ in 0..times {
            body.extend_from_slice(&valid[start..end]);
        }
        body.extend_from_slice(&valid[end..]);
        for (at, value) in flips {
            let at = at.index(body.len());
            body[at] = value;
        }
        let rt = runtime();
        check_body(&rt, &body, Some(&body.len().to_string()))?;
    }
}

/// A body over the limit costs no more than the limit, whatever its header claims.
#[test]
fn oversized_bodies_cost_at_most_the_limit() {
    let rt = runtime();
    let body = format!("[{}\"a:1\"]", "\"a:1\",".repeat(MAX_BODY_BYTES)).into_bytes();
    for length in ["10", "16384", "99999999", &body.len().to_string()] {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_str(length).unwrap());
        let request = Body::from(body.clone());
        let (got, peak) =
            testalloc::measure(|| rt.block_on(read_json::<Vec<Endpoint>>(&headers, request)));
        assert!(got.is_err(), "{length}");
        let limit = bound(MAX_BODY_BYTES);
        assert!(peak <= limit, "{length}: {peak} > {limit}");
    }
}

/// Path components and query pairs that mean something, among noise.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        prop::sample::select(vec![
            "",
            "v1",
            "v2",
            "user",
            "admin",
            "state",
            "capabilities",
            "redeem",
            "endpoint",
            "candidates",
            "peers",
            "cidrs",
            "associations",
            "0",
            "-1",
            "9223372036854775808",
        ])
        .prop_map(str::to_owned),
        "[^/]{0,12}",
    ];
    prop::collection::vec(segment, 0..40).prop_map(|parts| format!("/{}", parts.join("/")))
}

fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec!["epoch", "revision", "wait", ""]).prop_map(str::to_owned),
        "[^&=]{0,40}",
    ];
    let value = prop_oneof![
        Just("0".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
        "[0-9+-]{0,24}",
        "[^&]{0,40}",
    ];
    prop::collection::vec((name, prop::option::of(value)), 0..60).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={value}"),
                None => name,
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn check_path(path: &str) -> Result<(), TestCaseError> {
    let (got, peak) = testalloc::measure(|| {
        let parts = segments(path);
        let methods = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ];
        let routes: Vec<_> = methods
            .iter()
            .map(|method| {
                scope(parts.get(1).copied())
                    .and_then(|scope| resolve(method, scope, parts.get(2..).unwrap_or_default()))
            })
            .collect();
        (parts, routes)
    });
    drop(got);
    let limit = bound(path.len());
    prop_assert!(
        peak <= limit,
        "path: {peak} bytes at peak for {} (bound {limit})",
        path.len()
    );
    Ok(())
}

fn check_query(query: &str) -> Result<(), TestCaseError> {
    let (got, peak) = testalloc::measure(|| V2Params::parse(Some(query)));
    drop(got);
    let limit = bound(query.len());
    prop_assert!(
        peak <= limit,
        "query: {peak} bytes at peak for {} (bound {limit})",
        query.len()
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn arbitrary_paths_and_queries(text in any::<String>()) {
        check_path(&text)?;
        check_query(&text)?;
    }

    #[test]
    fn route_like_paths(path in path()) {
        check_path(&path)?;
    }

    #[test]
    fn query_like_strings(query in query()) {
        check_query(&query)?;
    }

    #[test]
    fn server_key_headers(value in prop::collection::vec(any::<u8>(), 0..200)) {
        let server_key = PublicKey::from_bytes([7; 32]);
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            headers.insert(SERVER_KEY_HEADER, value);
        }
        let (got, peak) = testalloc::measure(|| check_server_key(&headers, &server_key));
        drop(got);
        let limit = bound(value.len());
        prop_assert!(peak <= limit, "header: {peak} bytes at peak (bound {limit})");
    }
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
