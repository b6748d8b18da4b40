//! The names nftables prints for protocol numbers and ICMP types, both ways.

pub const L4_ICMP: u8 = 1;
pub const L4_TCP: u8 = 6;
pub const L4_UDP: u8 = 17;
pub const L4_ICMPV6: u8 = 58;

const L4PROTOS: [(u8, &str); 4] = [
    (L4_ICMP, "icmp"),
    (L4_TCP, "tcp"),
    (L4_UDP, "udp"),
    (L4_ICMPV6, "ipv6-icmp"),
];

const ICMPV4_TYPES: [(u8, &str); 5] = [
    (0, "echo-reply"),
    (3, "destination-unreachable"),
    (8, "echo-request"),
    (11, "time-exceeded"),
    (12, "parameter-problem"),
];

const ICMPV6_TYPES: [(u8, &str); 11] = [
    (1, "destination-unreachable"),
    (2, "packet-too-big"),
    (3, "time-exceeded"),
    (4, "parameter-problem"),
    (128, "echo-request"),
    (129, "echo-reply"),
    (133, "nd-router-solicit"),
    (134, "nd-router-advert"),
    (135, "nd-neighbor-solicit"),
    (136, "nd-neighbor-advert"),
    (137, "nd-redirect"),
];

/// The name nftables uses for a layer-4 protocol this crate writes.
pub fn l4proto_name(proto: u8) -> &'static str {
    L4PROTOS
        .iter()
        .find(|(n, _)| *n == proto)
        .map(|(_, name)| *name)
        .expect("only the four protocols of policy rules are written")
}

/// A protocol number from its nftables name.
pub fn l4proto_number(name: &str) -> Option<u8> {
    L4PROTOS.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
}

fn icmp_table(v6: bool) -> &'static [(u8, &'static str)] {
    if v6 {
        &ICMPV6_TYPES
    } else {
        &ICMPV4_TYPES
    }
}

/// The nftables name of an ICMP (or ICMPv6) type, when it has one here.
pub fn icmp_type_name(v6: bool, kind: u8) -> Option<&'static str> {
    icmp_table(v6)
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, n)| *n)
}

/// An ICMP (or ICMPv6) type from its nftables name.
pub fn icmp_type_number(v6: bool, name: &str) -> Option<u8> {
    icmp_table(v6)
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(k, _)| *k)
}
