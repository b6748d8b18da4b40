//! The fuzz battery of issue 15 for DNS replies: whatever datagram arrives, `parse_reply`
//! neither panics nor allocates out of proportion to it. Memory is counted per thread by
//! `testalloc::Counting`, installed in `main.rs`.
//!
//! The bound: `64 * datagram + 64 KiB` bytes live at the peak. Every question or record in a
//! reply takes at least 5 input bytes and decodes to a value of about 100–300 bytes, which
//! hickory keeps in a growing `Vec`; the 64 KiB covers the query built for comparison and the
//! error values. A reply is at most 4096 bytes (`RECEIVE_BUFFER` in `lookup`), so this is also
//! an absolute bound of about 320 KiB per datagram.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, OpCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use proptest::prelude::*;
use proptest::sample::Index;
use publicip::message::parse_reply;
use publicip::resolver::{QueryClass, QueryType, Resolver};
use testalloc::fuzz::config;

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

/// Parses `datagram` as the reply for every resolver, within the bound.
fn check(datagram: &[u8]) -> Result<(), TestCaseError> {
    for resolver in resolvers() {
        let (result, peak) = testalloc::measure(|| parse_reply(&resolver, ID, datagram));
        drop(result);
        let limit = bound(datagram.len());
        prop_assert!(
            peak <= limit,
            "{}: {peak} bytes at peak for a {}-byte reply (bound {limit})",
            resolver.name,
            datagram.len()
        );
    }
    Ok(())
}

/// A reply to the `which`th resolver with `extra` more answers and additional records, so
/// damage lands in many records and the compression pointers between them.
fn reply(which: usize, extra: usize) -> Vec<u8> {
    let resolver = &resolvers()[which];
    let mut name = Name::from_ascii(&resolver.name).unwrap();
    name.set_fqdn(true);
    let data = match resolver.record_type {
        QueryType::A => RData::A(A("203.0.113.7".parse().unwrap())),
        QueryType::Aaaa => RData::AAAA(AAAA("2001:db8::7".parse().unwrap())),
        QueryType::Txt => RData::TXT(TXT::new(vec!["203.0.113.8".to_owned()])),
    };
    let mut message = Message::response(ID, OpCode::Query);
    let record_type = match resolver.record_type {
        QueryType::A => RecordType::A,
        QueryType::Aaaa => RecordType::AAAA,
        QueryType::Txt => RecordType::TXT,
    };
    let class = match resolver.class {
        QueryClass::In => DNSClass::IN,
        QueryClass::Ch => DNSClass::CH,
    };
    let mut query = hickory_proto::op::Query::query(name.clone(), record_type);
    query.set_query_class(class);
    message.add_query(query);
    for n in 0..=extra {
        let mut record = Record::from_rdata(name.clone(), n as u32, data.clone());
        record.dns_class = class;
        if n == 0 {
            message.add_answer(record);
        } else {
            message.add_additional(record);
        }
    }
    message.to_vec().unwrap()
}

/// A 12-byte header with the given section counts and nothing after it.
fn header(questions: u16, answers: u16, authorities: u16, additionals: u16) -> Vec<u8> {
    let mut bytes = vec![0x42, 0x42, 0x81, 0x80];
    for count in [questions, answers, authorities, additionals] {
        bytes.extend_from_slice(&count.to_be_bytes());
    }
    bytes
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn arbitrary_datagrams(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        check(&bytes)?;
    }

    /// A valid header with random counts, then random bytes: gets past the header every time.
    #[test]
    fn arbitrary_counts(
        counts in (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
        rest in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = header(counts.0, counts.1, counts.2, counts.3);
        bytes.extend_from_slice(&rest);
        check(&bytes)?;
    }

    #[test]
    fn damaged_replies(
        which in 0usize..3,
        extra in 0usize..12,
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..8),
        cut in any::<Index>(),
    ) {
        let mut bytes = reply(which, extra);
        testalloc::fuzz::damage(&mut bytes, flips, cut);
        check(&bytes)?;
    }
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
fn undamaged_replies_parse() {
    for which in 0..3 {
        let resolver = &resolvers()[which];
        let got = parse_reply(resolver, ID, &reply(which, 0));
        assert!(matches!(got, Ok(IpAddr::V4(_) | IpAddr::V6(_))), "{got:?}");
    }
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
