//! Prints this host's public addresses, asking the built-in resolvers (this sends DNS queries
//! to OpenDNS, Cloudflare and Quad9).
//!
//! ```text
//! cargo run -p publicip --example publicip
//! ```

use std::fmt::Display;

use publicip::{PublicIp, DEFAULT_TIMEOUT};

fn main() {
    let (v4, v6) = PublicIp::new().with_timeout(DEFAULT_TIMEOUT).lookup_both();
    println!("ipv4: {}", shown(v4));
    println!("ipv6: {}", shown(v6));
}

/// The address, or `?` (with the reason on stderr).
fn shown<T: Display>(result: Result<T, publicip::Error>) -> String {
    match result {
        Ok(addr) => addr.to_string(),
        Err(err) => {
            eprintln!("{err}");
            "?".to_owned()
        }
    }
}
