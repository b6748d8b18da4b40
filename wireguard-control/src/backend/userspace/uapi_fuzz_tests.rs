//! The fuzz battery of issue 15 for UAPI answers: whatever a userspace implementation sends,
//! `read_get`, `read_errno` and `uapi_get` neither panic nor allocate out of proportion to it.
//! Memory is counted per thread by `testalloc::Counting`, this crate's test allocator
//! (`lib.rs`).
//!
//! The bound: `64 * answer + 64 KiB` bytes live at the peak (the device returned included).
//! The smallest line that makes the parser keep something is an `allowed_ip` of about 20
//! bytes, kept as a 24-byte `IpNet`, or a `public_key` line of 76 bytes, kept as a peer of
//! about 250 bytes, in `Vec`s that briefly hold their old and new buffers when they grow:
//! at most about 10 bytes per input byte. The 64 KiB covers the line buffer (at most
//! `MAX_LINE_LEN`), `uapi_get`'s 8 KiB `BufReader` and the error values.

use std::io::{Cursor, Read, Write};

use proptest::prelude::*;
use proptest::sample::Index;
use testalloc::fuzz::config;

use super::tests::{full_get, iface};
use super::*;

/// See the module documentation.
fn bound(answer_len: usize) -> usize {
    64 * answer_len + 64 * 1024
}

/// A stream with a canned answer that swallows the request.
struct Canned(Cursor<Vec<u8>>);

impl Read for Canned {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Canned {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs every UAPI reader on `answer`, each within the bound.
fn check(answer: &[u8]) -> Result<(), TestCaseError> {
    let limit = bound(answer.len());
    let (got, peak) = testalloc::measure(|| read_get(&iface(), answer));
    drop(got);
    prop_assert!(
        peak <= limit,
        "read_get: {peak} bytes at peak for {} (bound {limit})",
        answer.len()
    );
    let (got, peak) = testalloc::measure(|| read_errno(&iface(), "set", answer));
    drop(got);
    prop_assert!(
        peak <= limit,
        "read_errno: {peak} bytes at peak for {} (bound {limit})",
        answer.len()
    );
    // The stream's copy of the answer is made before measuring.
    let stream = Canned(Cursor::new(answer.to_vec()));
    let (got, peak) = testalloc::measure(|| uapi_get(&iface(), stream));
    drop(got);
    prop_assert!(
        peak <= limit,
        "uapi_get: {peak} bytes at peak for {} (bound {limit})",
        answer.len()
    );
    Ok(())
}

/// Lines of the protocol with plausible and implausible values.
fn line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "private_key",
        "public_key",
        "preshared_key",
        "listen_port",
        "fwmark",
        "endpoint",
        "allowed_ip",
        "persistent_keepalive_interval",
        "rx_bytes",
        "tx_bytes",
        "last_handshake_time_sec",
        "last_handshake_time_nsec",
        "protocol_version",
        "errno",
        "unknown",
        "",
    ]);
    let value = prop_oneof![
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("a".repeat(64)),
        Just("0".repeat(64)),
        Just("10.0.0.1/32".to_owned()),
        Just("fd00::/129".to_owned()),
        Just("[fe80::1%eth0]:51820".to_owned()),
        Just("[::1]:".to_owned()),
        "[0-9a-f:.\\[\\]%/]{0,40}",
        any::<String>(),
    ];
    (key, value, any::<bool>()).prop_map(|(key, value, eq)| {
        if eq {
            format!("{key}={value}")
        } else {
            format!("{key}{value}")
        }
    })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_answers(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check(&bytes)?;
    }

    #[test]
    fn line_soup(lines in prop::collection::vec(line(), 0..80), end in prop_oneof!["", "\n", "errno=0\n\n"]) {
        let mut text = lines.join("\n");
        text.push('\n');
        text.push_str(&end);
        check(text.as_bytes())?;
    }

    /// The golden answer with a slice repeated (many peers, many allowed IPs), bytes changed
    /// and the end cut off.
    #[test]
    fn damaged_golden_answer(
        (at, len, times) in (any::<Index>(), 0..300usize, 0..200usize),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
        cut in any::<Index>(),
    ) {
        let (_, text) = full_get();
        let text = text.as_bytes();
        let start = at.index(text.len() + 1);
        let end = (start + len).min(text.len());
        let mut bytes = text[..start].to_vec();
        for _ in 0..times {
            bytes.extend_from_slice(&text[start..end]);
        }
        bytes.extend_from_slice(&text[end..]);
        testalloc::fuzz::damage(&mut bytes, flips, cut);
        check(&bytes)?;
    }
}

/// The documented limits hold in memory too: a line far over `MAX_LINE_LEN` costs about one
/// line buffer, not its length.
#[test]
fn an_overlong_line_costs_one_line_buffer() {
    let answer = format!("unknown={}\n\n", "v".repeat(1 << 20));
    let (got, peak) = testalloc::measure(|| read_get(&iface(), answer.as_bytes()));
    assert!(got.is_err());
    assert!(peak <= 2 * MAX_LINE_LEN + 16 * 1024, "{peak}");
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
