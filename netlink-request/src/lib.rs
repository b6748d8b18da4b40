//! `netlink-request`: send one netlink request and collect every part of its answer.
//!
//! What it is:
//! - [`request`]: one request on a fresh `NETLINK_ROUTE` or `NETLINK_GENERIC` socket, reading
//!   datagrams until `NLMSG_DONE` or the ACK, checking sequence numbers, and turning a non-zero
//!   error code into a typed [`Error::Kernel`] that carries the errno;
//! - [`request_route`] and [`request_genl`]: the same for route messages and for
//!   generic-netlink messages, whose family id is resolved by name through the controller
//!   (`CTRL_CMD_GETFAMILY`) and cached for the life of the process ([`resolve_family`]);
//! - [`buffer_size`] and [`max_payload_size`]: the size limits callers use to split large
//!   requests (max(8 KiB, page size); larger outgoing messages are refused).
//!
//! What it is not: it knows no message semantics (no WireGuard, no links); it keeps no socket
//! open between requests and is blocking (async callers use a blocking thread).
//!
//! Modules: `error` (the error type and extended-ACK decoding), `exchange` (the socket
//! conversation), `genl` (family resolution and its cache).

mod error;
mod exchange;
mod genl;

use std::fmt::Debug;

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};
use netlink_packet_route::RouteNetlinkMessage;

pub use error::Error;
pub use genl::{request_genl, resolve_family};

/// Smallest buffer used for a request, whatever the page size.
pub const MIN_BUFFER_SIZE: usize = 8 * 1024;
/// Length of `struct nlmsghdr`.
pub const NETLINK_HEADER_LEN: usize = 16;
/// Length of `struct genlmsghdr`.
pub const GENL_HEADER_LEN: usize = 4;

/// The netlink protocols this crate talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `NETLINK_ROUTE`: links, addresses, routes.
    Route,
    /// `NETLINK_GENERIC`: families such as `wireguard`.
    Generic,
}

impl Protocol {
    fn raw(self) -> isize {
        match self {
            Protocol::Route => netlink_sys::protocols::NETLINK_ROUTE,
            Protocol::Generic => netlink_sys::protocols::NETLINK_GENERIC,
        }
    }
}

/// Size of the buffer for one datagram: max(8 KiB, page size).
/// An outgoing message must not be larger than this.
pub fn buffer_size() -> usize {
    // SAFETY: sysconf has no preconditions; it returns -1 on error, handled below.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page).unwrap_or(0);
    page.max(MIN_BUFFER_SIZE)
}

/// Largest payload (everything after the netlink header) of one outgoing message.
pub fn max_payload_size() -> usize {
    buffer_size() - NETLINK_HEADER_LEN
}

/// Largest generic-netlink payload (attributes after the genl header) of one outgoing message.
pub fn max_genl_payload_size() -> usize {
    max_payload_size() - GENL_HEADER_LEN
}

/// Rounds `len` up to the 4-byte netlink alignment.
pub(crate) fn align(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Sends `message` and returns every answer that carries a payload of type `T`, in order.
///
/// `flags` are added to `NLM_F_REQUEST | NLM_F_ACK`, which are always set (e.g. pass
/// `NLM_F_DUMP`, or `NLM_F_CREATE | NLM_F_EXCL`). The header's length, message type and
/// sequence number are filled in here. `NLMSG_DONE`, the ACK and `NLMSG_NOOP` are consumed,
/// not returned; a non-zero error code ends the exchange with [`Error::Kernel`].
pub fn request<T>(
    protocol: Protocol,
    mut message: NetlinkMessage<T>,
    flags: u16,
) -> Result<Vec<NetlinkMessage<T>>, Error>
where
    T: NetlinkSerializable + NetlinkDeserializable + Debug,
{
    exchange::exchange(protocol, &mut message, flags)
}

/// [`request`] on `NETLINK_ROUTE`, returning only the inner route messages.
pub fn request_route(
    message: RouteNetlinkMessage,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, Error> {
    let answers = request(Protocol::Route, NetlinkMessage::from(message), flags)?;
    Ok(answers
        .into_iter()
        .filter_map(|answer| inner(answer.payload))
        .collect())
}

pub(crate) fn inner<T>(payload: NetlinkPayload<T>) -> Option<T> {
    match payload {
        NetlinkPayload::InnerMessage(message) => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NetlinkHeader, NLM_F_DUMP};
    use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

    #[test]
    fn sizes_follow_page_size() {
        let size = buffer_size();
        assert!(size >= MIN_BUFFER_SIZE);
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        assert!(size >= page);
        assert_eq!(max_payload_size(), size - 16);
        assert_eq!(max_genl_payload_size(), size - 20);
    }

    #[test]
    fn aligns_to_four() {
        for (len, aligned) in [
            (0, 0),
            (1, 4),
            (4, 4),
            (5, 8),
            (usize::MAX, usize::MAX & !3),
        ] {
            assert_eq!(align(len), aligned, "{len}");
        }
    }

    #[test]
    fn refuses_oversized_message() {
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfAlias("x".repeat(buffer_size())));
        let message = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::SetLink(link)),
        );
        match request(Protocol::Route, message, 0) {
            Err(Error::MessageTooLarge { size, limit }) => {
                assert_eq!(limit, buffer_size());
                assert!(size > limit);
            }
            other => panic!("expected MessageTooLarge, got {other:?}"),
        }
    }

    /// Needs no privilege: every process may dump the links of its namespace.
    #[test]
    fn dumps_links_including_loopback() {
        let answers = request_route(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )
        .expect("RTM_GETLINK dump");
        let loopback = answers.iter().find_map(|message| match message {
            RouteNetlinkMessage::NewLink(link) => link
                .attributes
                .iter()
                .any(|attr| matches!(attr, LinkAttribute::IfName(name) if name == "lo"))
                .then_some(link),
            _ => None,
        });
        let loopback = loopback.expect("the dump lists lo");
        assert!(loopback.header.flags.contains(LinkFlags::Loopback));
    }

    /// Needs root (without it the kernel answers EPERM before looking at the kind). Creating a
    /// link of a kind no kernel has fails and changes nothing.
    #[test]
    fn kernel_error_carries_extended_ack_text() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("kernel_error_carries_extended_ack_text: skipped, needs root");
            return;
        }
        use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
        use netlink_packet_route::link::{InfoKind, LinkInfo};
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfName("wmnx-bogus0".into()));
        link.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Other("wiremesh-bogus".into()),
            )]));
        let err = request_route(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .expect_err("no kernel has this link kind");
        assert!(err.is_not_supported(), "{err:?}");
        match err {
            Error::Kernel {
                message: Some(text),
                ..
            } => assert!(!text.is_empty()),
            other => panic!("expected the kernel's extended-ACK text, got {other:?}"),
        }
    }

    #[test]
    fn missing_link_is_no_device() {
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfName("wmnx-absent0".into()));
        let err = request_route(RouteNetlinkMessage::GetLink(link), 0).expect_err("no such link");
        assert!(err.is_no_device(), "{err:?}");
    }
}

/// Counts allocations per thread in this crate's unit tests, for the memory bounds of the fuzz
/// battery (`exchange_fuzz_tests`).
#[cfg(test)]
#[global_allocator]
static ALLOC: testalloc::Counting = testalloc::Counting;
