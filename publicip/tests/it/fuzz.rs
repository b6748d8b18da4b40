//! The fuzz battery of issue 15 for DNS replies: whatever datagram arrives, `parse_reply`
//! neither panics nor allocates out of proportion to it. Memory is counted per thread by
//! `testalloc::Counting`, installed in `main.rs`.
//!
//! The bound: `64 * datagram + 64 KiB` bytes live at the peak. Every question or record in a
//! reply takes at least 5 input bytes and decodes to a value of about 100–300 bytes, which
//! hickory keeps in a growing `Vec`; the 64 KiB covers the query built for comparison and the
//! error values. A reply is at most 4096 bytes (`RECEIVE_BUFFER` in `lookup`), so this is also
//! an absolute bound of about 320 KiB per datagram.

use std::net::SocketAddr;

use publicip::message::parse_reply;
use publicip::resolver::{QueryClass, QueryType, Resolver};

/// See the module documentation.
fn bound(datagram_len: usize) -> usize {
    64 * datagram_len + 64 * 1024
}

const ID: u16 = 0x4242;

fn resolvers() -> [Resolver; 3] {
    let addr: SocketAddr = "192.0.2.53:53".parse().unwrap();
    [
        Resolver::new(addr, "myip.opendns.com", QueryType::A, QueryClass::In),
        Resolver::new(addr, "myip.opendns.com", QueryType::Aaaa, QueryClass::In),
        Resolver::new(addr, "whoami.cloudflare", QueryType::Txt, QueryClass::Ch),
    ]
}

/// A 12-byte header with the given section counts and nothing after it.
fn header(questions: u16, answers: u16, authorities: u16, additionals: u16) -> Vec<u8> {
    let mut bytes = vec![0x42, 0x42, 0x81, 0x80];
    for count in [questions, answers, authorities, additionals] {
        bytes.extend_from_slice(&count.to_be_bytes());
    }
    bytes
}

/// Found by `arbitrary_counts`: hickory-proto reserved 88 bytes for every question the header
/// claimed before reading any, 5.5 MiB for this 12-byte datagram. `parse_reply` now refuses
/// more than one question before decoding.
#[test]
fn a_header_claiming_65535_questions_is_refused_cheaply() {
    let datagram = header(65535, 0, 0, 0);
    for resolver in resolvers() {
        let (got, peak) = testalloc::measure(|| parse_reply(&resolver, ID, &datagram));
        assert!(
            matches!(got, Err(publicip::Error::QuestionMismatch { .. })),
            "{got:?}"
        );
        assert!(peak <= bound(datagram.len()), "{peak}");
    }
    // Another query's reply is still an id mismatch, which the lookup skips.
    let mut other = datagram;
    other[1] ^= 1;
    let got = parse_reply(&resolvers()[0], ID, &other);
    assert!(
        matches!(got, Err(publicip::Error::IdMismatch { .. })),
        "{got:?}"
    );
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
