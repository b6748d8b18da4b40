//! Lookups over real UDP sockets against a fake DNS server on 127.0.0.1; nothing here contacts
//! a real resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{DNSClass, RData, RecordType};
use publicip::{query, Error, Family, PublicIp, QueryClass, QueryType, Resolver};

use crate::support::{answer, reply_to, FakeDns};

const TIMEOUT: Duration = Duration::from_millis(200);

fn a_at(addr: SocketAddr) -> Resolver {
    Resolver::new(addr, "myip.opendns.com", QueryType::A, QueryClass::In)
}

fn aaaa_at(addr: SocketAddr) -> Resolver {
    Resolver::new(addr, "myip.opendns.com", QueryType::Aaaa, QueryClass::In)
}

fn txt_at(addr: SocketAddr) -> Resolver {
    Resolver::new(addr, "whoami.cloudflare", QueryType::Txt, QueryClass::Ch)
}

fn a(text: &str) -> RData {
    RData::A(A(text.parse().unwrap()))
}

fn aaaa(text: &str) -> RData {
    RData::AAAA(AAAA(text.parse().unwrap()))
}

fn txt(text: &str) -> RData {
    RData::TXT(TXT::new(vec![text.to_owned()]))
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A local UDP port nobody listens on (bound, read, released).
fn closed_port() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

#[test]
fn a_answer() {
    let server = FakeDns::answering(a("203.0.113.7"));
    assert_eq!(
        query(&a_at(server.addr), TIMEOUT).unwrap(),
        ip("203.0.113.7")
    );

    let queries = server.queries.lock().unwrap();
    let asked = &queries[0];
    assert!(asked.metadata.recursion_desired);
    assert_eq!(asked.queries.len(), 1);
    assert_eq!(asked.queries[0].name().to_ascii(), "myip.opendns.com.");
    assert_eq!(asked.queries[0].query_type(), RecordType::A);
    assert_eq!(asked.queries[0].query_class(), DNSClass::IN);
}

#[test]
fn aaaa_answer() {
    let server = FakeDns::answering(aaaa("2001:db8::7"));
    let finder = PublicIp::with_resolvers([aaaa_at(server.addr)]).with_timeout(TIMEOUT);
    assert_eq!(
        finder.get_v6().unwrap(),
        "2001:db8::7".parse::<Ipv6Addr>().unwrap()
    );
}

#[test]
fn txt_chaos_answer() {
    let server = FakeDns::answering(txt("203.0.113.8"));
    let finder = PublicIp::with_resolvers([txt_at(server.addr)]).with_timeout(TIMEOUT);
    assert_eq!(
        finder.get_v4().unwrap(),
        "203.0.113.8".parse::<Ipv4Addr>().unwrap()
    );

    let queries = server.queries.lock().unwrap();
    assert_eq!(queries[0].queries[0].query_type(), RecordType::TXT);
    assert_eq!(queries[0].queries[0].query_class(), DNSClass::CH);
}

#[test]
fn query_ids_are_random() {
    let server = FakeDns::answering(a("203.0.113.7"));
    for _ in 0..4 {
        query(&a_at(server.addr), TIMEOUT).unwrap();
    }
    let queries = server.queries.lock().unwrap();
    let mut ids: Vec<u16> = queries.iter().map(|q| q.metadata.id).collect();
    ids.dedup();
    assert!(ids.len() > 1, "four queries, one id: {ids:?}");
}

#[test]
fn wrong_id_is_skipped_then_right_one_accepted() {
    let server = FakeDns::start(|query| {
        let mut wrong = query.clone();
        wrong.metadata.id = query.metadata.id.wrapping_add(1);
        vec![
            answer(&wrong, a("198.51.100.1")),
            answer(query, a("203.0.113.7")),
        ]
    });
    assert_eq!(
        query(&a_at(server.addr), TIMEOUT).unwrap(),
        ip("203.0.113.7")
    );
}

#[test]
fn only_wrong_ids_is_an_error() {
    let server = FakeDns::start(|query| {
        let mut wrong = query.clone();
        wrong.metadata.id = query.metadata.id.wrapping_add(1);
        vec![answer(&wrong, a("198.51.100.1"))]
    });
    let err = query(&a_at(server.addr), TIMEOUT).unwrap_err();
    assert!(matches!(err, Error::IdMismatch { .. }), "{err:?}");
}

#[test]
fn nxdomain_is_an_error() {
    let server =
        FakeDns::start(|query| vec![reply_to(query, ResponseCode::NXDomain).to_vec().unwrap()]);
    let err = query(&a_at(server.addr), TIMEOUT).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseCode {
                code: ResponseCode::NXDomain,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "failed to accept the dns reply from {}: the server answered Non-Existent Domain",
            server.addr
        )
    );
}

#[test]
fn wrong_family_is_an_error() {
    let server = FakeDns::answering(txt("2001:db8::8"));
    let err = query(&txt_at(server.addr), TIMEOUT).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongFamily {
                expected: Family::V4,
                ..
            }
        ),
        "{err:?}"
    );

    let server = FakeDns::answering(aaaa("2001:db8::8"));
    let err = query(&a_at(server.addr), TIMEOUT).unwrap_err();
    assert!(matches!(err, Error::AnswerMismatch { .. }), "{err:?}");
}

#[test]
fn garbage_is_an_error() {
    let server = FakeDns::start(|_| vec![b"\x00\x01garbage".to_vec()]);
    let err = query(&a_at(server.addr), TIMEOUT).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[test]
fn no_reply_times_out_quickly() {
    let server = FakeDns::silent();
    let started = Instant::now();
    let err = query(&a_at(server.addr), TIMEOUT).unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // The query waited for its timeout (no upper bound: a loaded machine may be slow).
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
}

#[test]
fn closed_port_fails_fast() {
    // The port-unreachable answer ends the query with a receive error; waiting out the
    // 60 s timeout would give `Error::Timeout` instead.
    let err = query(&a_at(closed_port()), Duration::from_secs(60)).unwrap_err();
    assert!(matches!(err, Error::Receive { .. }), "{err:?}");
}

#[test]
fn falls_back_to_the_next_resolver_of_the_family() {
    let silent = FakeDns::silent();
    let refusing =
        FakeDns::start(|query| vec![reply_to(query, ResponseCode::Refused).to_vec().unwrap()]);
    let good = FakeDns::answering(txt("203.0.113.9"));
    let v6_only = FakeDns::answering(aaaa("2001:db8::9"));
    let finder = PublicIp::with_resolvers([
        a_at(silent.addr),
        aaaa_at(v6_only.addr),
        a_at(refusing.addr),
        txt_at(good.addr),
    ])
    .with_timeout(TIMEOUT);

    assert_eq!(finder.get(Family::V4).unwrap(), ip("203.0.113.9"));
    assert_eq!(
        (
            silent.n_queries(),
            refusing.n_queries(),
            good.n_queries(),
            v6_only.n_queries()
        ),
        (1, 1, 1, 0)
    );
}

#[test]
fn all_failed_lists_every_error() {
    let silent = FakeDns::silent();
    let finder =
        PublicIp::with_resolvers([a_at(silent.addr), a_at(closed_port())]).with_timeout(TIMEOUT);
    match finder.get_v4() {
        Err(Error::AllFailed {
            family: Family::V4,
            errors,
        }) => {
            assert!(
                matches!(
                    errors.as_slice(),
                    [Error::Timeout { .. }, Error::Receive { .. }]
                ),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let err = finder.get_v6().unwrap_err();
    assert!(
        matches!(err, Error::NoResolver { family: Family::V6 }),
        "{err:?}"
    );
}

#[test]
fn both_families_are_looked_up_concurrently() {
    // Each fake server answers only once the other one has been asked: a sequential lookup
    // would leave the first server waiting for a query that never comes, and it would time
    // out. No timing is measured.
    let asked_v4 = Arc::new(AtomicBool::new(false));
    let asked_v6 = Arc::new(AtomicBool::new(false));
    let rendezvous = |mine: Arc<AtomicBool>, other: Arc<AtomicBool>, data: RData| {
        move |query: &Message| {
            mine.store(true, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(3);
            while !other.load(Ordering::SeqCst) {
                if Instant::now() > deadline {
                    return Vec::new();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            vec![answer(query, data.clone())]
        }
    };
    let v4 = FakeDns::start(rendezvous(
        asked_v4.clone(),
        asked_v6.clone(),
        a("203.0.113.7"),
    ));
    let v6 = FakeDns::start(rendezvous(asked_v6, asked_v4, aaaa("2001:db8::7")));
    let finder = PublicIp::with_resolvers([a_at(v4.addr), aaaa_at(v6.addr)])
        .with_timeout(Duration::from_secs(5));

    assert_eq!(
        finder.get_both(),
        (
            Some("203.0.113.7".parse().unwrap()),
            Some("2001:db8::7".parse().unwrap())
        )
    );
}

#[test]
fn get_any_prefers_then_falls_back() {
    let v4 = FakeDns::answering(a("203.0.113.7"));
    let v6 = FakeDns::answering(aaaa("2001:db8::7"));
    let both = PublicIp::with_resolvers([a_at(v4.addr), aaaa_at(v6.addr)]).with_timeout(TIMEOUT);
    assert_eq!(both.get_any(Family::V6), Some(ip("2001:db8::7")));
    assert_eq!(both.get_any(Family::V4), Some(ip("203.0.113.7")));

    let v4_only = PublicIp::with_resolvers([a_at(v4.addr)]).with_timeout(TIMEOUT);
    assert_eq!(v4_only.get_any(Family::V6), Some(ip("203.0.113.7")));
    assert_eq!(
        v4_only.get_both(),
        (Some("203.0.113.7".parse().unwrap()), None)
    );

    let nothing = PublicIp::with_resolvers([]).with_timeout(TIMEOUT);
    assert_eq!(nothing.get_any(Family::V4), None);
}
