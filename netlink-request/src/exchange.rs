//! The socket conversation: open, send one message, read datagrams until the answer is
//! complete, decode each part.

use std::fmt::Debug;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkDeserializable, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
    NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_sys::{Socket, SocketAddr};

use crate::error::kernel_error;
use crate::{align, buffer_size, Error, Protocol};

/// How long to wait for each datagram of an answer. The kernel answers synchronously, so this
/// only guards against a hang if something unforeseen swallows the ACK.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Sequence numbers of this process; each request gets its own.
static NEXT_SEQUENCE: AtomicU32 = AtomicU32::new(1);

fn next_sequence() -> u32 {
    match NEXT_SEQUENCE.fetch_add(1, Ordering::Relaxed) {
        0 => NEXT_SEQUENCE.fetch_add(1, Ordering::Relaxed),
        n => n,
    }
}

/// Serializes `message` with the request flags and a fresh sequence number, checking its size.
/// Returns the bytes and the sequence number.
pub(crate) fn serialize<T>(
    message: &mut NetlinkMessage<T>,
    flags: u16,
) -> Result<(Vec<u8>, u32), Error>
where
    T: NetlinkSerializable,
{
    let sequence = next_sequence();
    message.header.flags = flags | NLM_F_REQUEST | NLM_F_ACK;
    message.header.sequence_number = sequence;
    message.header.port_number = 0;
    let size = message.buffer_len();
    let limit = buffer_size();
    if size > limit {
        return Err(Error::MessageTooLarge { size, limit });
    }
    message.finalize();
    let mut bytes = vec![0; size];
    message.serialize(&mut bytes);
    Ok((bytes, sequence))
}

pub(crate) fn exchange<T>(
    protocol: Protocol,
    message: &mut NetlinkMessage<T>,
    flags: u16,
) -> Result<Vec<NetlinkMessage<T>>, Error>
where
    T: NetlinkSerializable + NetlinkDeserializable + Debug,
{
    let (bytes, sequence) = serialize(message, flags)?;
    let socket = open(protocol)?;
    send(&socket, &bytes)?;
    let mut answers = Vec::new();
    let mut datagram = Vec::with_capacity(buffer_size());
    loop {
        receive(&socket, &mut datagram)?;
        if decode_datagram(&datagram, sequence, &mut answers)? == Progress::Complete {
            return Ok(answers);
        }
    }
}

fn open(protocol: Protocol) -> Result<Socket, Error> {
    let socket_err = |action| move |source| Error::Socket { action, source };
    let mut socket = Socket::new(protocol.raw()).map_err(socket_err("open"))?;
    socket.bind_auto().map_err(socket_err("bind"))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(socket_err("connect"))?;
    // Optional refinements: shorter error answers and the kernel's error text. Old kernels
    // lack them, which only costs the text.
    let _ = socket.set_cap_ack(true);
    let _ = socket.set_ext_ack(true);
    set_receive_timeout(&socket).map_err(socket_err("configure"))?;
    Ok(socket)
}

fn set_receive_timeout(socket: &Socket) -> io::Result<()> {
    let timeout = libc::timeval {
        tv_sec: RECEIVE_TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: a valid socket fd and a pointer to a timeval that lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn send(socket: &Socket, bytes: &[u8]) -> Result<(), Error> {
    loop {
        match socket.send(bytes, 0) {
            Ok(sent) if sent == bytes.len() => return Ok(()),
            Ok(sent) => {
                let source = io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("sent {sent} of {} bytes", bytes.len()),
                );
                return Err(Error::Socket {
                    action: "send on",
                    source,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Socket {
                    action: "send on",
                    source,
                })
            }
        }
    }
}

/// Reads one whole datagram into `datagram`, growing it when the kernel sends more than fits
/// (some dumps size their datagrams by the largest object, not by our buffer).
fn receive(socket: &Socket, datagram: &mut Vec<u8>) -> Result<(), Error> {
    let peeked = retrying(|| {
        datagram.clear();
        socket.recv(datagram, libc::MSG_PEEK | libc::MSG_TRUNC)
    })?;
    if peeked > datagram.capacity() {
        datagram.reserve(peeked);
    }
    let received = retrying(|| {
        datagram.clear();
        socket.recv(datagram, 0)
    })?;
    if received == 0 {
        return Err(Error::Closed);
    }
    Ok(())
}

fn retrying(mut call: impl FnMut() -> io::Result<usize>) -> Result<usize, Error> {
    loop {
        match call() {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Error::Timeout {
                    seconds: RECEIVE_TIMEOUT.as_secs(),
                });
            }
            Err(source) => {
                return Err(Error::Socket {
                    action: "receive from",
                    source,
                })
            }
        }
    }
}

/// Whether the answer is complete after a datagram.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    More,
    Complete,
}

/// Decodes every netlink message in one datagram, appending payload messages to `answers`.
/// Pure: unit tests feed it hand-built datagrams.
pub(crate) fn decode_datagram<T>(
    datagram: &[u8],
    sequence: u32,
    answers: &mut Vec<NetlinkMessage<T>>,
) -> Result<Progress, Error>
where
    T: NetlinkDeserializable + Debug,
{
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        let length = NetlinkBuffer::new_checked(rest)
            .map_err(|source| Error::Decode { source })?
            .length() as usize;
        let part = rest.get(..length).unwrap_or(rest);
        let message =
            NetlinkMessage::<T>::deserialize(part).map_err(|source| Error::Decode { source })?;
        offset = offset.saturating_add(align(length));
        if message.header.sequence_number != sequence {
            return Err(Error::Sequence {
                expected: sequence,
                got: message.header.sequence_number,
            });
        }
        let flags = message.header.flags;
        if flags & NLM_F_DUMP_INTR != 0 {
            return Err(Error::DumpInterrupted);
        }
        match message.payload {
            NetlinkPayload::Done(done) => {
                if done.code != 0 {
                    return Err(kernel_error(done.code, flags, &done.extended_ack, false));
                }
                return Ok(Progress::Complete);
            }
            NetlinkPayload::Error(error) => match error.code {
                None => return Ok(Progress::Complete),
                Some(code) => return Err(kernel_error(code.get(), flags, &error.header, true)),
            },
            NetlinkPayload::Noop => {}
            NetlinkPayload::Overrun(_) => return Err(Error::Overrun),
            _ => answers.push(message),
        }
    }
    Ok(Progress::More)
}

#[cfg(test)]
#[path = "exchange_fuzz_tests.rs"]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::RouteNetlinkMessage;

    type Answers = Vec<NetlinkMessage<RouteNetlinkMessage>>;

    fn decode(datagram: &[u8], sequence: u32) -> (Result<Progress, Error>, Answers) {
        let mut answers = Vec::new();
        let result = decode_datagram::<RouteNetlinkMessage>(datagram, sequence, &mut answers);
        (result, answers)
    }

    #[rustfmt::skip]
    const ACK_SEQ_7: &[u8] = &[
        0x24, 0x00, 0x00, 0x00, // length 36
        0x02, 0x00,             // NLMSG_ERROR
        0x00, 0x01,             // flags: NLM_F_CAPPED
        0x07, 0x00, 0x00, 0x00, // sequence 7
        0x00, 0x00, 0x00, 0x00, // port
        0x00, 0x00, 0x00, 0x00, // code 0: ACK
        // copy of the request header
        0x14, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    #[rustfmt::skip]
    const EEXIST_SEQ_7: &[u8] = &[
        0x24, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xef, 0xff, 0xff, 0xff, // code -17: EEXIST
        0x14, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    #[rustfmt::skip]
    const NOOP_THEN_DONE_SEQ_7: &[u8] = &[
        0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // NLMSG_NOOP
        0x14, 0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // NLMSG_DONE, multi
        0x00, 0x00, 0x00, 0x00, // code 0
    ];

    #[rustfmt::skip]
    const DONE_ERROR_SEQ_7: &[u8] = &[
        0x14, 0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xf9, 0xff, 0xff, 0xff, // code -7: E2BIG
    ];

    #[test]
    fn decodes_terminations() {
        let (result, answers) = decode(ACK_SEQ_7, 7);
        assert_eq!(result.ok(), Some(Progress::Complete));
        assert!(answers.is_empty());

        let (result, _) = decode(NOOP_THEN_DONE_SEQ_7, 7);
        assert_eq!(result.ok(), Some(Progress::Complete));

        let (result, _) = decode(EEXIST_SEQ_7, 7);
        let err = result.expect_err("EEXIST");
        assert!(err.is_exists(), "{err:?}");

        let (result, _) = decode(DONE_ERROR_SEQ_7, 7);
        assert_eq!(result.expect_err("E2BIG").errno(), Some(libc::E2BIG));

        let (result, _) = decode(&[], 7);
        assert_eq!(result.ok(), Some(Progress::More));
    }

    #[test]
    fn reports_interrupted_dump() {
        let mut bytes = NOOP_THEN_DONE_SEQ_7.to_vec();
        bytes[6] = 0x12; // NLMSG_NOOP flags: NLM_F_MULTI | NLM_F_DUMP_INTR
        let (result, _) = decode(&bytes, 7);
        assert!(matches!(result, Err(Error::DumpInterrupted)), "{result:?}");
    }

    #[test]
    fn rejects_foreign_sequence() {
        let (result, _) = decode(ACK_SEQ_7, 8);
        assert!(
            matches!(
                result,
                Err(Error::Sequence {
                    expected: 8,
                    got: 7
                })
            ),
            "{result:?}"
        );
    }

    #[test]
    fn malformed_datagrams_are_errors_not_panics() {
        #[rustfmt::skip]
        let error_without_code = [0x10, 0, 0, 0, 0x02, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
        #[rustfmt::skip]
        let length_below_header = [0x04, 0, 0, 0, 0x02, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
        let cases: [(&str, &[u8]); 4] = [
            ("shorter than a header", &[0x01]),
            ("length beyond the datagram", &ACK_SEQ_7[..20]),
            ("length below the header size", &length_below_header),
            ("NLMSG_ERROR without a code", &error_without_code),
        ];
        for (name, bytes) in cases {
            let (result, _) = decode(bytes, 7);
            assert!(
                matches!(result, Err(Error::Decode { .. })),
                "{name}: {result:?}"
            );
        }
    }

    #[test]
    fn serialize_sets_flags_and_sequence() {
        let mut message = NetlinkMessage::from(RouteNetlinkMessage::GetLink(Default::default()));
        let (bytes, sequence) = serialize(&mut message, 0x300).expect("small message");
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[0..4], &32u32.to_ne_bytes());
        assert_eq!(&bytes[4..6], &18u16.to_ne_bytes()); // RTM_GETLINK
        assert_eq!(&bytes[6..8], &(0x300u16 | 0x1 | 0x4).to_ne_bytes()); // DUMP|REQUEST|ACK
        assert_eq!(&bytes[8..12], &sequence.to_ne_bytes());
        let (_, second) = serialize(&mut message, 0).expect("small message");
        assert_ne!(sequence, second);
    }
}
