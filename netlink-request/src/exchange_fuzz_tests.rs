//! The fuzz battery of issue 15 for netlink datagrams: whatever the kernel (or anything
//! pretending to be it) sends, `decode_datagram` — with the route messages `link` decodes and
//! the controller answers `resolve_family` decodes — and the error decoding (`kernel_error`)
//! neither panic nor allocate out of proportion to the datagram. Memory is counted per thread
//! by `testalloc::Counting`, this crate's test allocator (`lib.rs`).
//!
//! The bound: `64 * datagram + 64 KiB` bytes live at the peak (the decoded messages included).
//! A decoded message keeps its attributes as values of up to about 100 bytes each for at
//! least 4 input bytes each, in `Vec`s that briefly hold two buffers while growing; the
//! 64 KiB covers error values. A datagram is at most the receive buffer (`buffer_size()`,
//! 8 KiB or a page), which the kernel may exceed only for one oversized object.

use netlink_packet_core::{NetlinkMessage, NLM_F_ACK_TLVS, NLM_F_CAPPED};
use netlink_packet_generic::GenlMessage;
use netlink_packet_route::RouteNetlinkMessage;
use proptest::prelude::*;
use proptest::sample::Index;
use testalloc::fuzz::config;

use super::decode_datagram;
use crate::error::kernel_error;
use crate::genl::GetFamily;

/// See the module documentation.
fn bound(datagram_len: usize) -> usize {
    64 * datagram_len + 64 * 1024
}

const SEQUENCE: u32 = 7;

fn check(datagram: &[u8]) -> Result<(), TestCaseError> {
    let limit = bound(datagram.len());
    let (got, peak) = testalloc::measure(|| {
        let mut answers: Vec<NetlinkMessage<RouteNetlinkMessage>> = Vec::new();
        let progress = decode_datagram(datagram, SEQUENCE, &mut answers);
        (progress, answers)
    });
    drop(got);
    prop_assert!(
        peak <= limit,
        "route: {peak} bytes at peak for {} (bound {limit})",
        datagram.len()
    );
    let (got, peak) = testalloc::measure(|| {
        let mut answers: Vec<NetlinkMessage<GenlMessage<GetFamily>>> = Vec::new();
        let progress = decode_datagram(datagram, SEQUENCE, &mut answers);
        let ids: Vec<Option<u16>> = answers
            .iter()
            .filter_map(|answer| crate::inner(answer.payload.clone()))
            .map(|genl| genl.payload.family_id())
            .collect();
        (progress, answers, ids)
    });
    drop(got);
    prop_assert!(
        peak <= limit,
        "genl: {peak} bytes at peak for {} (bound {limit})",
        datagram.len()
    );
    Ok(())
}

/// A netlink message: header with `kind`, `flags`, our sequence number, then `payload`.
fn message(kind: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
    let len = (16 + payload.len()) as u32;
    let mut out = [
        &len.to_ne_bytes()[..],
        &kind.to_ne_bytes(),
        &flags.to_ne_bytes(),
        &SEQUENCE.to_ne_bytes(),
        &[0; 4],
    ]
    .concat();
    out.extend_from_slice(payload);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// Attributes with random kinds and short random values.
fn attributes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..24)),
        0..40,
    )
    .prop_map(|nlas| {
        nlas.into_iter()
            .flat_map(|(kind, value)| {
                let mut nla =
                    [((4 + value.len()) as u16).to_ne_bytes(), kind.to_ne_bytes()].concat();
                nla.extend(value);
                nla.resize(nla.len().next_multiple_of(4), 0);
                nla
            })
            .collect()
    })
}

/// Messages of the types a datagram carries (route messages 16–100, the controller's family
/// id 16 too, NOOP 1, ERROR 2, DONE 3, OVERRUN 4), each with a plausible fixed header (the
/// 16-byte link/address/route headers or the 4-byte genl header) of random bytes, then
/// attributes.
fn messages() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![1u16..5, 16u16..100, Just(0x10), any::<u16>()];
    let flags = prop_oneof![
        Just(0u16),
        Just(2),
        Just(NLM_F_CAPPED | NLM_F_ACK_TLVS),
        any::<u16>()
    ];
    let fixed = prop_oneof![Just(4usize), Just(12), Just(16), 0..20usize]
        .prop_flat_map(|len| prop::collection::vec(any::<u8>(), len));
    prop::collection::vec((kind, flags, fixed, attributes()), 1..6).prop_map(|messages| {
        messages
            .into_iter()
            .flat_map(|(kind, flags, fixed, attributes)| {
                message(kind, flags, &[fixed, attributes].concat())
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_datagrams(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes)?;
    }

    #[test]
    fn structured_datagrams(
        datagram in messages(),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..3),
        cut in any::<Index>(),
    ) {
        let mut datagram = datagram;
        testalloc::fuzz::damage(&mut datagram, flips, cut);
        check(&datagram)?;
    }

    #[test]
    fn kernel_errors(
        code in any::<i32>(),
        flags in prop_oneof![Just(NLM_F_ACK_TLVS), Just(NLM_F_ACK_TLVS | NLM_F_CAPPED), any::<u16>()],
        after in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), attributes()],
        has_request in any::<bool>(),
    ) {
        let (got, peak) = testalloc::measure(|| kernel_error(code, flags, &after, has_request));
        drop(got);
        let limit = bound(after.len());
        prop_assert!(peak <= limit, "kernel_error: {peak} bytes at peak for {} (bound {limit})", after.len());
    }
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
