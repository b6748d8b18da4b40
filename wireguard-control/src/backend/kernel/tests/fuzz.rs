//! The fuzz battery of issue 15 for netlink answers: whatever attribute bytes the parts of a
//! `WG_CMD_GET_DEVICE` answer carry, decoding, merging and converting them
//! (`device_from_parts`) neither panics nor allocates out of proportion to them. Memory is
//! counted per thread by `testalloc::Counting`, this crate's test allocator (`lib.rs`).
//!
//! The bound: `64 * attributes + 64 KiB` bytes live at the peak (the device returned
//! included). The smallest attribute that makes the parser keep something is a peer of 40
//! bytes (its header and public key), which lives on as a parsed peer (about 200 bytes) in
//! its part, again in the merged list with a hash-map entry, and as the final peer (about 250
//! bytes), in `Vec`s that may hold two buffers while growing: under 40 bytes per input byte.

use proptest::prelude::*;
use proptest::sample::Index;
use testalloc::fuzz::config;

use super::attributes_of;
use super::golden::{golden_get_part_one, golden_get_part_two, wg0};
use crate::backend::kernel::device_from_parts;

/// See the module documentation.
fn bound(attributes_len: usize) -> usize {
    64 * attributes_len + 64 * 1024
}

fn check(parts: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let len: usize = parts.iter().map(Vec::len).sum();
    let (got, peak) =
        testalloc::measure(|| device_from_parts(&wg0(), parts.iter().map(Vec::as_slice)));
    drop(got);
    let limit = bound(len);
    prop_assert!(
        peak <= limit,
        "{peak} bytes at peak for {len} bytes of attributes (bound {limit})"
    );
    Ok(())
}

/// One netlink attribute: length, kind (maybe nested), value, padding.
fn nla(kind: u16, nested: bool, value: &[u8]) -> Vec<u8> {
    let len = (4 + value.len()) as u16;
    let kind = if nested { kind | 0x8000 } else { kind };
    let mut out = [len.to_ne_bytes(), kind.to_ne_bytes()].concat();
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// Attribute trees built from the real attribute numbers with random values and lengths,
/// so the parser gets past the first attribute.
fn tree() -> impl Strategy<Value = Vec<u8>> {
    let leaf = (0u16..12, prop::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(kind, value)| nla(kind, false, &value));
    leaf.prop_recursive(4, 512, 16, |inner| {
        (0u16..12, prop::collection::vec(inner, 0..16))
            .prop_map(|(kind, children)| nla(kind, true, &children.concat()))
    })
}

/// A peer attribute with a distinct public key and `ips` allowed IPs: the input that makes
/// the parser keep the most per byte.
fn peer(key: u32, ips: usize) -> Vec<u8> {
    let mut public_key = [0u8; 32];
    public_key[..4].copy_from_slice(&key.to_ne_bytes());
    let mut attributes = nla(1, false, &public_key);
    let allowed: Vec<u8> = (0..ips)
        .flat_map(|i| {
            let entry = [
                nla(1, false, &(libc::AF_INET as u16).to_ne_bytes()),
                nla(2, false, &(i as u32).to_be_bytes()),
                nla(3, false, &[32]),
            ]
            .concat();
            nla(0, true, &entry)
        })
        .collect();
    attributes.extend(nla(9, true, &allowed));
    nla(0, true, &attributes)
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_attributes(parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2048), 1..4)) {
        check(&parts)?;
    }

    #[test]
    fn attribute_trees(parts in prop::collection::vec(prop::collection::vec(tree(), 0..8), 1..4)) {
        let parts: Vec<Vec<u8>> = parts.into_iter().map(|nlas| nlas.concat()).collect();
        check(&parts)?;
    }

    #[test]
    fn damaged_golden_answer(
        which in 0usize..2,
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..6),
        cut in any::<Index>(),
    ) {
        let golden = if which == 0 { golden_get_part_one() } else { golden_get_part_two() };
        let mut bytes = attributes_of(&golden);
        testalloc::fuzz::damage(&mut bytes, flips, cut);
        check(&[bytes])?;
    }

    /// Many small peers, repeated across parts (the merge path) or all distinct.
    #[test]
    fn many_peers(peers in 0u32..300, ips in 0usize..4, parts in 1usize..4, distinct in any::<bool>()) {
        let all: Vec<u8> = (0..peers).flat_map(|n| peer(if distinct { n } else { n % 7 }, ips)).collect();
        let part = nla(8, true, &all);
        check(&vec![part; parts])?;
    }
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
