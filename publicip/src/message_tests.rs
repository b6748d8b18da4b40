//! Tests of query building and reply validation: golden bytes, a table of malformed replies,
//! and a property test that no input makes the parser panic.

use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record};
use proptest::prelude::*;

use super::*;

const SERVER_V4: &str = "192.0.2.53:53";

fn resolver(name: &'static str, record_type: QueryType, class: QueryClass) -> Resolver {
    let addr: SocketAddr = SERVER_V4.parse().unwrap();
    Resolver::new(addr, name, record_type, class)
}

fn opendns_a() -> Resolver {
    resolver("myip.opendns.com", QueryType::A, QueryClass::In)
}

fn opendns_aaaa() -> Resolver {
    resolver("myip.opendns.com", QueryType::Aaaa, QueryClass::In)
}

fn cloudflare_txt() -> Resolver {
    resolver("whoami.cloudflare", QueryType::Txt, QueryClass::Ch)
}

/// A correct reply to `resolver`'s query with id `id`, then changed by `edit`.
fn reply(resolver: &Resolver, id: u16, edit: fn(&mut Message)) -> Vec<u8> {
    let asked = question(resolver).unwrap();
    let data = match resolver.record_type {
        QueryType::A => RData::A(A("203.0.113.7".parse().unwrap())),
        QueryType::Aaaa => RData::AAAA(AAAA("2001:db8::7".parse().unwrap())),
        QueryType::Txt => RData::TXT(TXT::new(vec!["203.0.113.8".to_owned()])),
    };
    let mut answer = Record::from_rdata(asked.name().clone(), 0, data);
    answer.dns_class = asked.query_class();
    let mut message = Message::response(id, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.recursion_available = true;
    message.add_query(asked);
    message.add_answer(answer);
    edit(&mut message);
    message.to_vec().unwrap()
}

fn txt(message: &mut Message, parts: &[&str]) {
    let parts = parts.iter().map(|part| part.to_string()).collect();
    message.answers[0].data = RData::TXT(TXT::new(parts));
}

/// Parses `edit`ed reply; `expected` is the address, or the name of the error variant.
#[track_caller]
fn check(resolver: Resolver, edit: fn(&mut Message), expected: Result<&str, &str>) {
    let bytes = reply(&resolver, 0x4242, edit);
    let got = parse_reply(&resolver, 0x4242, &bytes);
    match (got, expected) {
        (Ok(addr), Ok(want)) => assert_eq!(addr, want.parse::<IpAddr>().unwrap()),
        (Err(err), Err(variant)) => {
            let debug = format!("{err:?}");
            assert!(
                debug.starts_with(variant),
                "expected {variant}, got {debug}"
            );
            assert!(err.to_string().contains(SERVER_V4), "{err}");
        }
        (got, want) => panic!("expected {want:?}, got {got:?}"),
    }
}

#[test]
fn replies_table() {
    let keep = |_: &mut Message| {};
    check(opendns_a(), keep, Ok("203.0.113.7"));
    check(opendns_aaaa(), keep, Ok("2001:db8::7"));
    check(cloudflare_txt(), keep, Ok("203.0.113.8"));
    check(opendns_a(), |m| m.queries.clear(), Ok("203.0.113.7"));
    check(
        opendns_a(),
        |m| m.answers[0].name = Name::from_ascii("MyIP.OpenDNS.com.").unwrap(),
        Ok("203.0.113.7"),
    );
    check(
        cloudflare_txt(),
        |m| txt(m, &["203.0.", "113.8"]),
        Ok("203.0.113.8"),
    );

    check(opendns_a(), |m| m.metadata.id ^= 1, Err("IdMismatch"));
    check(
        opendns_a(),
        |m| m.metadata.message_type = MessageType::Query,
        Err("NotAResponse"),
    );
    check(
        opendns_a(),
        |m| m.metadata.op_code = OpCode::Status,
        Err("NotAResponse"),
    );
    check(
        opendns_a(),
        |m| m.metadata.truncation = true,
        Err("Truncated"),
    );
    check(
        opendns_a(),
        |m| m.metadata.response_code = ResponseCode::NXDomain,
        Err("ResponseCode"),
    );
    check(
        opendns_a(),
        |m| m.metadata.response_code = ResponseCode::Refused,
        Err("ResponseCode"),
    );
    check(
        opendns_a(),
        |m| {
            m.queries[0].set_name(Name::from_ascii("other.example.").unwrap());
        },
        Err("QuestionMismatch"),
    );
    check(
        opendns_a(),
        |m| {
            let again = m.queries[0].clone();
            m.add_query(again);
        },
        Err("QuestionMismatch"),
    );
    check(opendns_a(), |m| m.answers.clear(), Err("AnswerCount"));
    check(
        opendns_a(),
        |m| {
            let again = m.answers[0].clone();
            m.add_answer(again);
        },
        Err("AnswerCount"),
    );
    check(
        opendns_a(),
        |m| m.answers[0].name = Name::from_ascii("other.example.").unwrap(),
        Err("AnswerMismatch"),
    );
    check(
        cloudflare_txt(),
        |m| m.answers[0].dns_class = DNSClass::IN,
        Err("AnswerMismatch"),
    );
    check(
        opendns_a(),
        |m| m.answers[0].data = RData::AAAA(AAAA("2001:db8::7".parse().unwrap())),
        Err("AnswerMismatch"),
    );
    check(cloudflare_txt(), |m| txt(m, &["hello"]), Err("BadAddress"));
    check(
        cloudflare_txt(),
        |m| txt(m, &[" 203.0.113.8"]),
        Err("BadAddress"),
    );
    check(
        cloudflare_txt(),
        |m| txt(m, &["2001:db8::8"]),
        Err("WrongFamily"),
    );
}

#[test]
fn golden_query_bytes() {
    let bytes = build_query(&opendns_a(), 0x1234).unwrap();
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x12, 0x34, // id
        0x01, 0x00, // flags: query, opcode QUERY, RD
        0x00, 0x01, // 1 question
        0x00, 0x00, // 0 answers
        0x00, 0x00, // 0 authority records
        0x00, 0x00, // 0 additional records
        4, b'm', b'y', b'i', b'p',
        7, b'o', b'p', b'e', b'n', b'd', b'n', b's',
        3, b'c', b'o', b'm',
        0,          // root label
        0x00, 0x01, // type A
        0x00, 0x01, // class IN
    ];
    assert_eq!(bytes, expected);

    let bytes = build_query(&cloudflare_txt(), 0xbeef).unwrap();
    assert_eq!(&bytes[..4], [0xbe, 0xef, 0x01, 0x00]);
    assert_eq!(
        &bytes[bytes.len() - 4..],
        [0x00, 0x10, 0x00, 0x03],
        "type TXT, class CH"
    );
}

#[test]
fn golden_reply_bytes() {
    #[rustfmt::skip]
    let a_reply: &[u8] = &[
        0x12, 0x34, // id
        0x81, 0x80, // flags: response, RD, RA, rcode NOERROR
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // 1 question, 1 answer
        4, b'm', b'y', b'i', b'p', 7, b'o', b'p', b'e', b'n', b'd', b'n', b's', 3, b'c', b'o', b'm', 0,
        0x00, 0x01, 0x00, 0x01, // type A, class IN
        0xc0, 0x0c, // answer name: pointer to the question's name
        0x00, 0x01, 0x00, 0x01, // type A, class IN
        0x00, 0x00, 0x00, 0x00, // ttl 0
        0x00, 0x04, 203, 0, 113, 7, // rdata: 203.0.113.7
    ];
    assert_eq!(
        parse_reply(&opendns_a(), 0x1234, a_reply).unwrap(),
        "203.0.113.7".parse::<IpAddr>().unwrap()
    );

    #[rustfmt::skip]
    let txt_reply: &[u8] = &[
        0xbe, 0xef, // id
        0x84, 0x00, // flags: response, authoritative, rcode NOERROR
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // 1 question, 1 answer
        6, b'w', b'h', b'o', b'a', b'm', b'i',
        10, b'c', b'l', b'o', b'u', b'd', b'f', b'l', b'a', b'r', b'e', 0,
        0x00, 0x10, 0x00, 0x03, // type TXT, class CH
        0xc0, 0x0c, // answer name: pointer to the question's name
        0x00, 0x10, 0x00, 0x03, // type TXT, class CH
        0x00, 0x00, 0x00, 0x00, // ttl 0
        0x00, 0x0c, // rdata length 12
        11, b'2', b'0', b'3', b'.', b'0', b'.', b'1', b'1', b'3', b'.', b'8', // one string
    ];
    assert_eq!(
        parse_reply(&cloudflare_txt(), 0xbeef, txt_reply).unwrap(),
        "203.0.113.8".parse::<IpAddr>().unwrap()
    );

    // The same A reply with a 3-byte address does not decode.
    let mut short = a_reply.to_vec();
    let len = short.len();
    short[len - 5] = 3;
    short.truncate(len - 1);
    let err = parse_reply(&opendns_a(), 0x1234, &short).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[test]
fn bad_name_is_an_error() {
    let bad = resolver("a..b", QueryType::A, QueryClass::In);
    assert!(matches!(
        build_query(&bad, 1),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        parse_reply(&bad, 1, &[]),
        Err(Error::InvalidName { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0d45_5eed),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for resolver in [opendns_a(), opendns_aaaa(), cloudflare_txt()] {
            let _ = parse_reply(&resolver, 0x4242, &bytes);
        }
    }

    #[test]
    fn damaged_replies_never_panic(
        which in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let resolver = [opendns_a(), opendns_aaaa(), cloudflare_txt()][which].clone();
        let mut bytes = reply(&resolver, 0x4242, |_| {});
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let keep = cut.index(bytes.len() + 1);
        let _ = parse_reply(&resolver, 0x4242, &bytes[..keep]);
    }
}
