//! Table tests and property tests of the pure section update (`HostsBuilder::apply`).

use std::net::IpAddr;

use hostsfile::{peer_hostname, Error, HostsBuilder, MarkerProblem, NameProblem, Tag, Update};
use proptest::prelude::*;

const BEGIN: &str = "# DO NOT EDIT wiremesh wg0 BEGIN";
const END: &str = "# DO NOT EDIT wiremesh wg0 END";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn builder(hosts: &[(&str, &[&str])]) -> HostsBuilder {
    let mut builder = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());
    for (addr, names) in hosts {
        builder
            .add_hostnames(ip(addr), names.iter().copied())
            .unwrap();
    }
    builder
}

/// Applies `hosts` to `existing`; `expected` is the new text, or `None` for unchanged.
#[track_caller]
fn check(existing: &str, hosts: &[(&str, &[&str])], expected: Option<&str>) {
    let update = builder(hosts).apply(existing).unwrap();
    match expected {
        Some(text) => assert_eq!(update, Update::Changed(text.to_owned())),
        None => assert_eq!(update, Update::Unchanged),
    }
}

#[track_caller]
fn check_err(existing: &str, expected: MarkerProblem) {
    match builder(&[("10.0.0.1", &["a"])]).apply(existing) {
        Err(Error::Markers {
            path: None,
            tag,
            problem,
        }) => {
            assert_eq!(tag, "wiremesh wg0");
            assert_eq!(problem, expected);
        }
        other => panic!("expected a marker error, got {other:?}"),
    }
}

#[test]
fn lines_are_sorted_v4_before_v6_numerically() {
    let section = builder(&[
        ("fd00::10", &["f"]),
        ("10.0.0.10", &["c"]),
        ("fd00::9", &["e"]),
        ("10.0.0.9", &["b"]),
        ("9.255.255.255", &["a"]),
        ("::1", &["d"]),
    ])
    .section()
    .unwrap();
    assert_eq!(
        section,
        format!(
            "{BEGIN}\n9.255.255.255 a\n10.0.0.9 b\n10.0.0.10 c\n::1 d\nfd00::9 e\nfd00::10 f\n{END}\n"
        )
    );
}

#[test]
fn names_keep_insertion_order_without_duplicates() {
    let mut hosts = builder(&[("10.0.0.1", &["b", "a", "b"])]);
    hosts.add_hostname(ip("10.0.0.1"), "A").unwrap();
    hosts.add_hostname(ip("10.0.0.1"), "c").unwrap();
    hosts
        .add_hostnames(ip("10.0.0.2"), Vec::<String>::new())
        .unwrap();
    assert_eq!(
        hosts.section().unwrap(),
        format!("{BEGIN}\n10.0.0.1 b a c\n{END}\n")
    );
}

#[test]
fn apply_table() {
    let one: &[(&str, &[&str])] = &[("10.0.0.1", &["a.wg0.wg"])];
    let section = format!("{BEGIN}\n10.0.0.1 a.wg0.wg\n{END}\n");

    // Append: to nothing, after a line, after a line without newline, after a blank line.
    check("", one, Some(&section));
    check(
        "127.0.0.1 localhost\n",
        one,
        Some(&format!("127.0.0.1 localhost\n\n{section}")),
    );
    check(
        "127.0.0.1 localhost",
        one,
        Some(&format!("127.0.0.1 localhost\n\n{section}")),
    );
    check(
        "127.0.0.1 localhost\n\n",
        one,
        Some(&format!("127.0.0.1 localhost\n\n{section}")),
    );
    check(
        "127.0.0.1 localhost\n  \t",
        one,
        Some(&format!("127.0.0.1 localhost\n  \t\n{section}")),
    );
    check("\n", one, Some(&format!("\n{section}")));

    // Replace in place: surrounding bytes kept, including a missing final newline.
    check(
        &format!("head\n{BEGIN}\n10.9.9.9 old\n{END}\ntail\n"),
        one,
        Some(&format!("head\n{section}tail\n")),
    );
    check(
        &format!("head\n{BEGIN}\n10.9.9.9 old\n{END}"),
        one,
        Some(&format!("head\n{BEGIN}\n10.0.0.1 a.wg0.wg\n{END}")),
    );
    check(
        &format!("a\r\n  {BEGIN}  \r\n10.9.9.9 old\r\n\t{END}\r\nb"),
        one,
        Some(&format!("a\r\n{BEGIN}\r\n10.0.0.1 a.wg0.wg\r\n{END}\r\nb")),
    );

    // Unchanged when identical, wherever the section sits.
    check(&section, one, None);
    check(&format!("x\n\n{section}y\n"), one, None);
    check(&format!("x\n{BEGIN}\n10.0.0.1 a.wg0.wg\n{END}"), one, None);

    // Removal when empty; unchanged when there is nothing to remove.
    check(&format!("x\n\n{section}y\n"), &[], Some("x\n\ny\n"));
    check(&section, &[], Some(""));
    check("x\n", &[], None);
    check("", &[], None);

    // Other tags' sections are left alone.
    let other = "# DO NOT EDIT innernet wg0 BEGIN\n10.1.1.1 x\n# DO NOT EDIT innernet wg0 END\n";
    check(other, one, Some(&format!("{other}\n{section}")));
    check(
        &format!("{other}\n{section}"),
        &[],
        Some(&format!("{other}\n")),
    );
}

#[test]
fn malformed_markers_are_errors() {
    check_err(
        &format!("x\n{BEGIN}\n10.0.0.1 a\n"),
        MarkerProblem::MissingEnd { begin_line: 2 },
    );
    check_err(
        &format!("{END}\n"),
        MarkerProblem::MissingBegin { end_line: 1 },
    );
    check_err(
        &format!("{END}\n{BEGIN}\n"),
        MarkerProblem::EndBeforeBegin {
            begin_line: 2,
            end_line: 1,
        },
    );
    check_err(
        &format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n"),
        MarkerProblem::DuplicateBegin {
            first_line: 1,
            second_line: 3,
        },
    );
    check_err(
        &format!("{BEGIN}\n{END}\n{END}\n"),
        MarkerProblem::DuplicateEnd {
            first_line: 2,
            second_line: 3,
        },
    );
}

#[test]
fn marker_error_message() {
    let err = builder(&[])
        .apply(&format!("{BEGIN}\n"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "failed to update the \"wiremesh wg0\" section of the hosts file: the BEGIN marker on \
         line 1 has no END marker; fix or delete the marker lines by hand"
    );
}

#[test]
fn bad_names_and_tags_are_refused() {
    let check_name = |name: &str, expected: NameProblem| {
        let mut hosts = builder(&[]);
        match hosts.add_hostnames(ip("10.0.0.1"), ["ok", name]) {
            Err(Error::InvalidHostname { problem, .. }) => {
                assert_eq!(problem, expected, "{name:?}")
            }
            other => panic!("{name:?}: {other:?}"),
        }
        assert!(hosts.is_empty(), "nothing added when one name is bad");
    };
    check_name("", NameProblem::Empty);
    check_name("a b", NameProblem::Whitespace);
    check_name("a\u{a0}b", NameProblem::Whitespace);
    check_name("a\nb", NameProblem::ControlCharacter);
    check_name("a#b", NameProblem::Hash);
    check_name(
        &"a".repeat(254),
        NameProblem::TooLong { len: 254, max: 253 },
    );

    let check_tag = |tag: &str, expected: NameProblem| match Tag::new(tag) {
        Err(Error::InvalidTag { problem, .. }) => assert_eq!(problem, expected, "{tag:?}"),
        other => panic!("{tag:?}: {other:?}"),
    };
    check_tag("", NameProblem::Empty);
    check_tag(" x", NameProblem::SurroundingWhitespace);
    check_tag("x\ny", NameProblem::ControlCharacter);
    check_tag(
        &"t".repeat(201),
        NameProblem::TooLong { len: 201, max: 200 },
    );
    assert_eq!(
        Tag::innernet("evilcorp").unwrap().as_str(),
        "innernet evilcorp"
    );
    assert_eq!(Tag::wiremesh("wg0").unwrap().begin_marker(), BEGIN);
    assert_eq!(Tag::wiremesh("wg0").unwrap().end_marker(), END);
}

#[test]
fn peer_hostnames() {
    let check = |suffix: Option<&str>, expected: &str| {
        assert_eq!(peer_hostname("alice", "evilcorp", suffix), expected);
    };
    check(None, "alice.evilcorp.wg");
    check(Some("corp.example"), "alice.corp.example");
    check(Some(""), "alice");
}

/// Lines likely to confuse the parser: our markers, other markers, look-alikes, noise.
pub(crate) fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(BEGIN.to_owned()),
        Just(END.to_owned()),
        Just(format!("  {BEGIN}\t")),
        Just("# DO NOT EDIT wiremesh wg1 BEGIN".to_owned()),
        Just("# DO NOT EDIT wiremesh wg0 BEGINNING".to_owned()),
        Just(String::new()),
        Just("127.0.0.1 localhost".to_owned()),
        "\\PC{0,30}",
        any::<String>(),
    ]
}

pub(crate) fn contents() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((line(), prop_oneof!["\n", "\r\n", ""]), 0..12),
        any::<bool>(),
    )
        .prop_map(|(lines, final_newline)| {
            let mut text: String = lines.into_iter().map(|(l, sep)| l + &sep).collect();
            if final_newline {
                text.push('\n');
            }
            text
        })
}

pub(crate) fn hosts() -> impl Strategy<Value = Vec<(IpAddr, Vec<String>)>> {
    prop::collection::vec(
        (
            any::<IpAddr>(),
            prop::collection::vec("[a-z0-9.-]{1,12}", 1..4),
        ),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_0f40),
        ..ProptestConfig::default()
    })]

    #[test]
    fn apply_never_panics_and_is_idempotent(existing in contents(), hosts in hosts()) {
        let mut builder = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());
        for (addr, names) in &hosts {
            builder.add_hostnames(*addr, names.iter().cloned()).unwrap();
        }
        match builder.apply(&existing) {
            Err(Error::Markers { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            Ok(Update::Unchanged) => {}
            Ok(Update::Changed(new)) => {
                prop_assert_ne!(&new, &existing);
                prop_assert_eq!(builder.apply(&new).unwrap(), Update::Unchanged);
                let n_begin = new.lines().filter(|l| l.trim() == BEGIN).count();
                let n_end = new.lines().filter(|l| l.trim() == END).count();
                let wanted = usize::from(!builder.is_empty());
                prop_assert_eq!((n_begin, n_end), (wanted, wanted));
            }
        }
    }
}
