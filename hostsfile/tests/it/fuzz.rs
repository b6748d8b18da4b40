//! The fuzz battery of issue 15 for hosts files: whatever an existing hosts file holds,
//! computing its update (`HostsBuilder::apply`) and the whole read–modify–write
//! (`HostsBuilder::write_to`) neither panic nor allocate out of proportion to the file.
//! Memory is counted per thread by `testalloc::Counting`, installed in `main.rs`.

use std::net::IpAddr;

use hostsfile::{HostsBuilder, Tag};
use proptest::prelude::*;
use proptest::sample::Index;
use testalloc::fuzz::config;

use crate::section::{contents, hosts, line};

/// Bound for `apply`: `4 * (file + section) + 64 KiB`. It returns one new string of the
/// file's length plus the section, and `format!` may grow that string once while building it
/// (old and new buffers live at once: 3x); the marker lines it compares against and the
/// error values are under the 64 KiB.
fn apply_bound(file_len: usize, section_len: usize) -> usize {
    4 * (file_len + section_len) + 64 * 1024
}

/// Bound for `write_to`: `apply`'s plus the file read into memory once more (the bytes, then
/// the same buffer as a `String`), so `6 * (file + section) + 64 KiB`.
fn write_bound(file_len: usize, section_len: usize) -> usize {
    6 * (file_len + section_len) + 64 * 1024
}

fn builder(hosts: &[(IpAddr, Vec<String>)]) -> HostsBuilder {
    let mut builder = HostsBuilder::new(Tag::wiremesh("wg0").unwrap());
    for (addr, names) in hosts {
        builder.add_hostnames(*addr, names.iter().cloned()).unwrap();
    }
    builder
}

fn check_apply(existing: &str, hosts: &[(IpAddr, Vec<String>)]) -> Result<(), TestCaseError> {
    let builder = builder(hosts);
    let section_len = builder.section().map_or(0, |s| s.len());
    let (result, peak) = testalloc::measure(|| builder.apply(existing));
    drop(result);
    let limit = apply_bound(existing.len(), section_len);
    prop_assert!(
        peak <= limit,
        "apply: {peak} bytes at peak for a {}-byte file (bound {limit})",
        existing.len()
    );
    Ok(())
}

/// A file of `lines` repeated until it is about `size` bytes: large files with markers in
/// them, cheaper to make than `size` random lines.
fn large_file(lines: &[(String, String)], size: usize) -> String {
    let unit: String = lines.iter().map(|(l, sep)| format!("{l}{sep}")).collect();
    if unit.is_empty() {
        return String::new();
    }
    unit.repeat(size / unit.len() + 1)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn apply_to_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..8192),
        hosts in hosts(),
    ) {
        check_apply(&String::from_utf8_lossy(&bytes), &hosts)?;
    }

    #[test]
    fn apply_to_marker_heavy_files(existing in contents(), hosts in hosts()) {
        check_apply(&existing, &hosts)?;
    }

    #[test]
    fn apply_to_large_files(
        lines in prop::collection::vec((line(), prop_oneof!["\n", "\r\n"]), 1..6),
        size in 0..200_000usize,
        hosts in hosts(),
    ) {
        check_apply(&large_file(&lines, size), &hosts)?;
    }
}

proptest! {
    // Each case writes a file (and syncs it): fewer cases.
    #![proptest_config(config(64))]

    #[test]
    fn write_over_arbitrary_files(
        bytes in prop::collection::vec(any::<u8>(), 0..8192),
        marker in prop::option::of((any::<Index>(), any::<bool>())),
        hosts in hosts(),
    ) {
        let mut bytes = bytes;
        if let Some((at, end)) = marker {
            let at = at.index(bytes.len() + 1);
            let line = if end { "\n# DO NOT EDIT wiremesh wg0 END\n" } else { "\n# DO NOT EDIT wiremesh wg0 BEGIN\n" };
            bytes.splice(at..at, line.bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, &bytes).unwrap();
        let builder = builder(&hosts);
        let section_len = builder.section().map_or(0, |s| s.len());
        let (result, peak) = testalloc::measure(|| builder.write_to(&path));
        drop(result);
        let limit = write_bound(bytes.len(), section_len);
        prop_assert!(
            peak <= limit,
            "write_to: {peak} bytes at peak for a {}-byte file (bound {limit})",
            bytes.len()
        );
    }
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(testalloc::is_installed());
}
