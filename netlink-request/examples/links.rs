//! Lists this network namespace's links with one `RTM_GETLINK` dump, and looks up the
//! generic-netlink family id of `nlctrl` (and of `wireguard`, where the module is loaded).
//!
//! Run with `cargo run -p netlink-request --example links`; no root needed.

use netlink_packet_core::NLM_F_DUMP;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

fn main() -> Result<(), netlink_request::Error> {
    let answers = netlink_request::request_route(
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        NLM_F_DUMP,
    )?;
    println!("buffer size {} bytes", netlink_request::buffer_size());
    for answer in answers {
        if let RouteNetlinkMessage::NewLink(link) = answer {
            let name = link.attributes.iter().find_map(|attr| match attr {
                LinkAttribute::IfName(name) => Some(name.as_str()),
                _ => None,
            });
            println!("{:>4} {}", link.header.index, name.unwrap_or("?"));
        }
    }
    for family in ["nlctrl", "wireguard"] {
        match netlink_request::resolve_family(family) {
            Ok(id) => println!("generic netlink family {family}: id {id}"),
            Err(e) => println!("generic netlink family {family}: {e}"),
        }
    }
    Ok(())
}
