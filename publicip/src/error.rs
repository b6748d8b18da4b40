//! The error type of the `publicip` crate.
//!
//! Every variant about one query names the resolver's address; a reply that does not fit the
//! question is an error for that query, which makes the lookup move on to the next resolver.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::serialize::binary::DecodeError;
use hickory_proto::ProtoError;

use crate::resolver::Family;

/// Everything that can go wrong while discovering a public address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query name is not a valid DNS name.
    #[error("failed to build a dns query for {name:?}: {source}")]
    InvalidName { name: String, source: ProtoError },

    /// The query could not be encoded.
    #[error("failed to encode the dns query for {server}: {source}")]
    Encode {
        server: SocketAddr,
        source: ProtoError,
    },

    /// No random query id could be read.
    #[error("failed to read a random dns query id from /dev/urandom: {source}")]
    Random { source: io::Error },

    /// The UDP socket could not be opened, configured or connected.
    #[error("failed to open a udp socket to {server}: {source}")]
    Socket {
        server: SocketAddr,
        source: io::Error,
    },

    /// Sending the query failed (e.g. no route to that family).
    #[error("failed to send a dns query to {server}: {source}")]
    Send {
        server: SocketAddr,
        source: io::Error,
    },

    /// Receiving failed (e.g. the port is closed: connection refused).
    #[error("failed to receive a dns reply from {server}: {source}")]
    Receive {
        server: SocketAddr,
        source: io::Error,
    },

    /// No reply arrived in time.
    #[error("failed to get a dns reply from {server}: none within {timeout:?}")]
    Timeout {
        server: SocketAddr,
        timeout: Duration,
    },

    /// Only replies to some other query arrived (their id differs from the query's).
    #[error(
        "failed to get a dns reply from {server}: replies came with id {got}, expected {expected}"
    )]
    IdMismatch {
        server: SocketAddr,
        expected: u16,
        got: u16,
    },

    /// The reply is not a DNS message.
    #[error("failed to parse the dns reply from {server}: {source}")]
    Decode {
        server: SocketAddr,
        source: DecodeError,
    },

    /// The reply is a query, or not a standard query's response.
    #[error("failed to accept the dns reply from {server}: it is not a response to a query")]
    NotAResponse { server: SocketAddr },

    /// The reply has the truncation flag set.
    #[error("failed to accept the dns reply from {server}: it is truncated")]
    Truncated { server: SocketAddr },

    /// The server reported an error (NXDOMAIN, SERVFAIL, REFUSED…).
    #[error("failed to accept the dns reply from {server}: the server answered {code}")]
    ResponseCode {
        server: SocketAddr,
        code: ResponseCode,
    },

    /// The reply's question section is not the question asked.
    #[error("failed to accept the dns reply from {server}: it answers a different question")]
    QuestionMismatch { server: SocketAddr },

    /// The reply does not hold exactly one answer.
    #[error("failed to accept the dns reply from {server}: it holds {count} answers instead of 1")]
    AnswerCount { server: SocketAddr, count: usize },

    /// The answer's name, type or class is not the question's.
    #[error(
        "failed to accept the dns reply from {server}: \
         its answer does not match the question's name, type and class"
    )]
    AnswerMismatch { server: SocketAddr },

    /// A text answer that is not an IP address.
    #[error(
        "failed to accept the dns reply from {server}: the answer {text:?} is not an ip address"
    )]
    BadAddress { server: SocketAddr, text: String },

    /// An address of the other family than the query discovers.
    #[error("failed to accept the dns reply from {server}: the answer {addr} is not an {expected} address")]
    WrongFamily {
        server: SocketAddr,
        addr: IpAddr,
        expected: Family,
    },

    /// The resolver list has no entry for the family.
    #[error("failed to discover the public {family} address: no resolver is configured for it")]
    NoResolver { family: Family },

    /// Every resolver for the family failed; one error per resolver, in the order tried.
    #[error("failed to discover the public {family} address: {}", List(errors))]
    AllFailed { family: Family, errors: Vec<Error> },
}

/// Errors joined with `; ` for one message.
struct List<'a>(&'a [Error]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
