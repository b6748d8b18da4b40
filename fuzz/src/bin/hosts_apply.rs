//! An existing hosts file, updated with a fixed section.

use hostsfile::{HostsBuilder, Tag};

fn main() {
    let mut builder = HostsBuilder::new(Tag::wiremesh("wg0").expect("a valid tag"));
    builder
        .add_hostnames("10.0.0.1".parse().expect("an address"), ["peer.wg0.wg"])
        .expect("valid names");
    builder
        .add_hostnames("fd00::2".parse().expect("an address"), ["other.wg0.wg"])
        .expect("valid names");
    let empty = HostsBuilder::new(Tag::wiremesh("wg0").expect("a valid tag"));
    afl::fuzz!(|data: &[u8]| {
        let existing = String::from_utf8_lossy(data);
        let _ = builder.apply(&existing);
        let _ = empty.apply(&existing);
    });
}
