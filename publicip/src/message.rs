//! Building the DNS query for a [`Resolver`] and validating its reply, with hickory-proto.
//!
//! Pure functions, no IO: [`parse_reply`] takes whatever bytes arrived and either returns the
//! address or says precisely what did not fit, so it is the crate's fuzzing target.

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use crate::error::Error;
use crate::resolver::{Family, QueryClass, QueryType, Resolver};

/// The question a resolver entry asks, as hickory-proto types.
fn question(resolver: &Resolver) -> Result<Query, Error> {
    let mut name = Name::from_ascii(&resolver.name).map_err(|source| Error::InvalidName {
        name: resolver.name.to_string(),
        source,
    })?;
    // Replies carry fully qualified names; hickory compares FQDN-ness too.
    name.set_fqdn(true);
    let record_type = match resolver.record_type {
        QueryType::A => RecordType::A,
        QueryType::Aaaa => RecordType::AAAA,
        QueryType::Txt => RecordType::TXT,
    };
    let class = match resolver.class {
        QueryClass::In => DNSClass::IN,
        QueryClass::Ch => DNSClass::CH,
    };
    let mut query = Query::query(name, record_type);
    query.set_query_class(class);
    Ok(query)
}

/// The query datagram for `resolver` with message id `id`: one question, recursion desired.
pub fn build_query(resolver: &Resolver, id: u16) -> Result<Vec<u8>, Error> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(question(resolver)?);
    message.to_vec().map_err(|source| Error::Encode {
        server: resolver.addr,
        source,
    })
}

/// The address in `reply`, the answer to the query built by [`build_query`] with `id`.
///
/// Accepted only if: it decodes; the id matches; it is a response to a standard query, not
/// truncated, with response code NoError; its question section is empty or exactly the
/// question; it has exactly one answer, whose name, type and class are the question's; the
/// answer is an address (as text for TXT) of [`Resolver::family`].
pub fn parse_reply(resolver: &Resolver, id: u16, reply: &[u8]) -> Result<IpAddr, Error> {
    let server = resolver.addr;
    let asked = question(resolver)?;
    check_header(resolver, id, reply)?;
    let message = Message::from_vec(reply).map_err(|source| Error::Decode { server, source })?;

    if message.metadata.id != id {
        return Err(Error::IdMismatch {
            server,
            expected: id,
            got: message.metadata.id,
        });
    }
    if message.metadata.message_type != MessageType::Response
        || message.metadata.op_code != OpCode::Query
    {
        return Err(Error::NotAResponse { server });
    }
    if message.metadata.truncation {
        return Err(Error::Truncated { server });
    }
    if message.metadata.response_code != ResponseCode::NoError {
        return Err(Error::ResponseCode {
            server,
            code: message.metadata.response_code,
        });
    }
    let same_question = |query: &Query| {
        query.name() == asked.name()
            && query.query_type() == asked.query_type()
            && query.query_class() == asked.query_class()
    };
    match message.queries.as_slice() {
        [] => {}
        [echoed] if same_question(echoed) => {}
        _ => return Err(Error::QuestionMismatch { server }),
    }
    let [answer] = message.answers.as_slice() else {
        return Err(Error::AnswerCount {
            server,
            count: message.answers.len(),
        });
    };
    if answer.name != *asked.name()
        || answer.record_type() != asked.query_type()
        || answer.dns_class != asked.query_class()
    {
        return Err(Error::AnswerMismatch { server });
    }
    let addr = match &answer.data {
        RData::A(a) => IpAddr::V4(a.0),
        RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
        RData::TXT(txt) => {
            let bytes: Vec<u8> = txt
                .txt_data
                .iter()
                .flat_map(|part| part.iter().copied())
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            text.parse().map_err(|_| Error::BadAddress {
                server,
                text: text.into_owned(),
            })?
        }
        _ => return Err(Error::AnswerMismatch { server }),
    };
    let expected = resolver.family();
    if Family::of(addr) != expected {
        return Err(Error::WrongFamily {
            server,
            addr,
            expected,
        });
    }
    Ok(addr)
}

/// The checks that must come before decoding. hickory-proto reserves room for every question
/// the header announces before it reads the first one (88 bytes each), so a 12-byte datagram
/// claiming 65,535 questions would cost 5.5 MiB. A reply to our query echoes at most its one
/// question, so a header that claims more is refused here, after the id (a reply to another
/// query is skipped by the lookup, whatever else is wrong with it). A datagram too short for
/// a header is left to the decoder, which says so.
fn check_header(resolver: &Resolver, id: u16, reply: &[u8]) -> Result<(), Error> {
    let server = resolver.addr;
    let Some(header) = reply.get(..12) else {
        return Ok(());
    };
    let got = u16::from_be_bytes([header[0], header[1]]);
    if got != id {
        return Err(Error::IdMismatch {
            server,
            expected: id,
            got,
        });
    }
    let questions = u16::from_be_bytes([header[4], header[5]]);
    if questions > 1 {
        return Err(Error::QuestionMismatch { server });
    }
    Ok(())
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
