//! The error type of a netlink exchange, and decoding of the kernel's error answers
//! (errno plus the optional extended-ACK message).

use std::fmt;
use std::io;

use netlink_packet_core::{DecodeError, NlasIterator, NLM_F_ACK_TLVS, NLM_F_CAPPED};

use crate::NETLINK_HEADER_LEN;

/// Extended-ACK attribute carrying a human-readable message (`NLMSGERR_ATTR_MSG`).
const NLMSGERR_ATTR_MSG: u16 = 1;

/// Everything that can go wrong while sending one netlink request and collecting its answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on the netlink socket failed.
    #[error("failed to {action} netlink socket: {source}")]
    Socket {
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// The outgoing message does not fit the buffer; callers split such requests.
    #[error("netlink message of {size} bytes is larger than the {limit}-byte limit")]
    MessageTooLarge { size: usize, limit: usize },

    /// The kernel answered with a non-zero error code.
    #[error("the kernel refused the netlink request: {}", KernelReason { errno: *errno, message })]
    Kernel { errno: i32, message: Option<String> },

    /// An answer could not be decoded.
    #[error("failed to decode netlink answer: {source}")]
    Decode {
        #[source]
        source: DecodeError,
    },

    /// An answer belongs to another request.
    #[error("netlink answer has sequence number {got}, expected {expected}")]
    Sequence { expected: u32, got: u32 },

    /// The object changed while the kernel was dumping it (`NLM_F_DUMP_INTR`): the parts do
    /// not form a consistent snapshot. Callers repeat the dump.
    #[error("netlink dump was interrupted by a concurrent change")]
    DumpInterrupted,

    /// The kernel dropped answers because the socket buffer overflowed.
    #[error("netlink answer overran the socket buffer")]
    Overrun,

    /// No (further) answer arrived in time.
    #[error("no netlink answer within {seconds} s")]
    Timeout { seconds: u64 },

    /// The socket returned end-of-file before the answer was complete.
    #[error("netlink socket closed before the answer was complete")]
    Closed,

    /// A generic-netlink family could not be resolved through the controller.
    #[error("failed to resolve generic netlink family {family:?}: {source}")]
    Family {
        family: String,
        #[source]
        source: Box<Error>,
    },

    /// The controller answered without a family id.
    #[error("generic netlink controller sent no id for family {family:?}")]
    FamilyIdMissing { family: String },
}

struct KernelReason<'a> {
    errno: i32,
    message: &'a Option<String>,
}

impl fmt::Display for KernelReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (errno {})",
            io::Error::from_raw_os_error(self.errno),
            self.errno
        )?;
        if let Some(message) = self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl Error {
    /// The kernel's errno (positive) when the kernel refused the request, also through a
    /// family-resolution failure.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Family { source, .. } => source.errno(),
            _ => None,
        }
    }

    /// `EEXIST`: the object to create exists already.
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// `ENODEV`: no such network device.
    pub fn is_no_device(&self) -> bool {
        self.errno() == Some(libc::ENODEV)
    }

    /// `ENODEV`, `ENOENT` or `ESRCH`: the device, family or object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno(),
            Some(libc::ENODEV | libc::ENOENT | libc::ESRCH)
        )
    }

    /// `EPERM` or `EACCES`: the caller lacks a capability (usually `CAP_NET_ADMIN`).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self.errno(), Some(libc::EPERM | libc::EACCES))
    }

    /// `EOPNOTSUPP`: the kernel does not support the operation (e.g. a missing link kind).
    pub fn is_not_supported(&self) -> bool {
        self.errno() == Some(libc::EOPNOTSUPP)
    }

    /// The errno as an [`io::Error`], for callers that want an [`io::ErrorKind`].
    pub fn to_io_error(&self) -> Option<io::Error> {
        self.errno().map(io::Error::from_raw_os_error)
    }
}

/// Builds [`Error::Kernel`] from the code of an `NLMSG_ERROR` or `NLMSG_DONE` message and the
/// bytes that follow it. `flags` are the flags of the error message's own header.
pub(crate) fn kernel_error(code: i32, flags: u16, after_code: &[u8], has_request: bool) -> Error {
    Error::Kernel {
        errno: code.saturating_abs(),
        message: ext_ack_message(flags, after_code, has_request),
    }
}

/// Finds the `NLMSGERR_ATTR_MSG` text in an extended ACK, if the kernel sent one.
///
/// For `NLMSG_ERROR` (`has_request`), the TLVs follow a copy of the request: only its header
/// when `NLM_F_CAPPED` is set, else the whole request. For `NLMSG_DONE` they follow the code.
fn ext_ack_message(flags: u16, after_code: &[u8], has_request: bool) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let skip = if !has_request {
        0
    } else if flags & NLM_F_CAPPED != 0 {
        NETLINK_HEADER_LEN
    } else {
        let length = after_code.get(..4)?;
        let length = u32::from_ne_bytes([length[0], length[1], length[2], length[3]]);
        crate::align(usize::try_from(length).ok()?)
    };
    let tlvs = after_code.get(skip..)?;
    NlasIterator::new(tlvs)
        .filter_map(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| {
            let text = nla.value();
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            String::from_utf8_lossy(&text[..end]).into_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (code, flags, bytes after the code, is NLMSG_ERROR) → (errno, message)
    fn check(
        code: i32,
        flags: u16,
        after: &[u8],
        has_request: bool,
        errno: i32,
        message: Option<&str>,
    ) {
        match kernel_error(code, flags, after, has_request) {
            Error::Kernel {
                errno: got_errno,
                message: got_message,
            } => {
                assert_eq!(got_errno, errno);
                assert_eq!(got_message.as_deref(), message);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[rustfmt::skip]
    const CAPPED_WITH_MSG: &[u8] = &[
        // copy of the request header (16 bytes), capped
        0x14, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x00,  0x01, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
        // NLMSGERR_ATTR_MSG: len 8, type 1, "bad\0"
        0x08, 0x00, 0x01, 0x00,  b'b', b'a', b'd', 0x00,
    ];

    #[rustfmt::skip]
    const UNCAPPED_WITH_MSG: &[u8] = &[
        // copy of the whole request: header says 20 bytes, 4 payload bytes
        0x14, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x00,  0x01, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
        0xaa, 0xbb, 0xcc, 0xdd,
        // NLMSGERR_ATTR_MSG: len 7, type 1, "hi\0" + 1 pad byte
        0x07, 0x00, 0x01, 0x00,  b'h', b'i', 0x00, 0x00,
    ];

    #[test]
    fn decodes_kernel_errors() {
        // plain errno, no TLVs
        check(-libc::EEXIST, 0, &[0; 16], true, libc::EEXIST, None);
        check(-libc::ENODEV, 0, &[], true, libc::ENODEV, None);
        // TLV flag set but message missing or truncated: no panic, no message
        check(
            -libc::EPERM,
            NLM_F_ACK_TLVS | NLM_F_CAPPED,
            &[0; 3],
            true,
            libc::EPERM,
            None,
        );
        check(
            -libc::EPERM,
            NLM_F_ACK_TLVS,
            &[0xff, 0xff, 0xff, 0xff],
            true,
            libc::EPERM,
            None,
        );
        check(
            -libc::EPERM,
            NLM_F_ACK_TLVS,
            &[0x01],
            true,
            libc::EPERM,
            None,
        );
        // capped request copy followed by a message
        check(
            -libc::EINVAL,
            NLM_F_ACK_TLVS | NLM_F_CAPPED,
            CAPPED_WITH_MSG,
            true,
            libc::EINVAL,
            Some("bad"),
        );
        // whole request copy followed by a message
        check(
            -libc::EINVAL,
            NLM_F_ACK_TLVS,
            UNCAPPED_WITH_MSG,
            true,
            libc::EINVAL,
            Some("hi"),
        );
        // NLMSG_DONE: TLVs right after the code
        check(
            -libc::EINVAL,
            NLM_F_ACK_TLVS,
            &CAPPED_WITH_MSG[16..],
            false,
            libc::EINVAL,
            Some("bad"),
        );
        // positive or extreme codes do not overflow
        check(i32::MIN, 0, &[], true, i32::MAX, None);
    }

    #[test]
    fn classifies_errnos() {
        let kernel = |errno| Error::Kernel {
            errno,
            message: None,
        };
        assert!(kernel(libc::EEXIST).is_exists());
        assert!(kernel(libc::ENODEV).is_no_device());
        assert!(kernel(libc::ENODEV).is_not_found());
        assert!(kernel(libc::ENOENT).is_not_found());
        assert!(kernel(libc::EPERM).is_permission_denied());
        assert!(kernel(libc::EOPNOTSUPP).is_not_supported());
        assert!(!kernel(libc::EEXIST).is_not_found());
        let wrapped = Error::Family {
            family: "x".into(),
            source: Box::new(kernel(libc::ENOENT)),
        };
        assert!(wrapped.is_not_found());
        assert_eq!(wrapped.errno(), Some(libc::ENOENT));
        assert_eq!(Error::Overrun.errno(), None);
        assert_eq!(
            kernel(libc::EEXIST).to_io_error().map(|e| e.kind()),
            Some(io::ErrorKind::AlreadyExists)
        );
        let text = Error::Kernel {
            errno: libc::EPERM,
            message: Some("nope".into()),
        }
        .to_string();
        assert!(
            text.contains("errno 1") && text.ends_with(": nope"),
            "{text}"
        );
    }
}
