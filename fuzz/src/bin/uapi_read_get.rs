//! A UAPI `get` answer, as a userspace WireGuard implementation would send it.

use wireguard_control::backend::userspace::uapi::{read_errno, read_get};
use wireguard_control::InterfaceName;

fn main() {
    let iface: InterfaceName = "wgfuzz".parse().expect("a valid name");
    afl::fuzz!(|data: &[u8]| {
        let _ = read_get(&iface, data);
        let _ = read_errno(&iface, "set", data);
    });
}
