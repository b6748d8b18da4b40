//! A small HTTP/1.1 client over a kernel TCP socket bound to one fleet address (so the
//! request leaves through that identity's tunnel). Bodies are not kept: an answer is scanned
//! as it arrives for a few marker strings, and only its first and last bytes are kept, so ten
//! thousand daemons receiving multi-megabyte states at once need little memory.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{bail, Context as _, Result};
use memchr::memmem::Finder;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

/// Bytes kept from the start and from the end of every body.
const HEAD_KEEP: usize = 512;
const TAIL_KEEP: usize = 8192;

pub type Conn = BufReader<TcpStream>;

/// The server closed the connection before sending anything back: on a kept-alive
/// connection, the server's idle timeout won the race, and HTTP clients retry at once on a
/// new connection.
#[derive(Debug)]
pub struct ClosedBeforeAnswer;

impl std::fmt::Display for ClosedBeforeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed before an answer")
    }
}

impl std::error::Error for ClosedBeforeAnswer {}

/// Connects from `local` to the server's API.
pub async fn connect(local: Ipv4Addr, server: SocketAddr) -> Result<Conn> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local.into(), 0))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(BufReader::with_capacity(64 * 1024, stream))
}

/// What came back.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: u16,
    /// Request and response bytes at the HTTP level (head and body).
    pub bytes: u64,
    pub body_len: usize,
    /// The first and the last bytes of the body (the whole body when it is short).
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    /// Bit `i` set: marker `i` occurs in the body.
    pub hits: u32,
    /// The server will close the connection.
    pub close: bool,
}

impl Answer {
    /// The whole body, when it was short enough to be kept in full.
    pub fn body(&self) -> Option<&[u8]> {
        (self.head.len() == self.body_len).then_some(&self.head[..])
    }
}

/// Sends one request on `conn` and reads the answer, looking for `markers` in the body.
pub async fn request(
    conn: &mut Conn,
    method: &str,
    path: &str,
    server_key: &str,
    body: &[u8],
    markers: &[Finder<'static>],
) -> Result<Answer> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: wiremesh\r\nX-Innernet-Server-Key: {server_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    conn.get_mut().write_all(&out).await?;
    let mut answer = Answer {
        bytes: out.len() as u64,
        ..Answer::default()
    };
    read_answer(conn, markers, &mut answer).await?;
    Ok(answer)
}

async fn read_answer(
    conn: &mut Conn,
    markers: &[Finder<'static>],
    answer: &mut Answer,
) -> Result<()> {
    let mut line = Vec::new();
    let mut length = None;
    let mut first = true;
    loop {
        line.clear();
        let n = conn.read_until(b'\n', &mut line).await?;
        if n == 0 {
            if first {
                return Err(ClosedBeforeAnswer.into());
            }
            bail!("connection closed in the middle of an answer's head");
        }
        answer.bytes += n as u64;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if first {
            first = false;
            answer.status = text
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("odd status line {text:?}"))?;
            continue;
        }
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>()?);
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            answer.close = true;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("chunked answers are not supported by the fleet's client");
        }
    }
    let length = length.unwrap_or(0);
    answer.body_len = length;
    answer.bytes += length as u64;
    let longest = markers.iter().map(|m| m.needle().len()).max().unwrap_or(0);
    let mut chunk = vec![0u8; 64 * 1024];
    // The end of the previous chunk, so a marker split between two chunks is found.
    let mut carry: Vec<u8> = Vec::new();
    let mut left = length;
    while left > 0 {
        let n = conn.read(&mut chunk[..left.min(64 * 1024)]).await?;
        if n == 0 {
            bail!("connection closed in the middle of a body");
        }
        left -= n;
        let data = &chunk[..n];
        if answer.head.len() < HEAD_KEEP {
            let take = (HEAD_KEEP - answer.head.len()).min(n);
            answer.head.extend_from_slice(&data[..take]);
        }
        if !markers.is_empty() {
            carry.extend_from_slice(data);
            for (i, marker) in markers.iter().enumerate() {
                if answer.hits & (1 << i) == 0 && marker.find(&carry).is_some() {
                    answer.hits |= 1 << i;
                }
            }
            let keep = longest.saturating_sub(1).min(carry.len());
            carry.drain(..carry.len() - keep);
        }
        answer.tail.extend_from_slice(data);
        if answer.tail.len() > 2 * TAIL_KEEP {
            answer.tail.drain(..answer.tail.len() - TAIL_KEEP);
        }
    }
    if length <= HEAD_KEEP {
        answer.tail.clear();
    }
    Ok(())
}

/// The unsigned number after `"field":` in `text`.
pub fn number_field(text: &[u8], field: &str) -> Option<u64> {
    let pattern = format!("\"{field}\":");
    let at = memchr::memmem::find(text, pattern.as_bytes())? + pattern.len();
    let digits: String = text[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().ok()
}

/// Whether `"field":true` appears in `text`.
pub fn flag_field(text: &[u8], field: &str) -> bool {
    memchr::memmem::find(text, format!("\"{field}\":true").as_bytes()).is_some()
}

/// The ids in the `"removed":[…]` array found in `text` (the tail of a state delta).
pub fn removed_ids(text: &[u8]) -> Vec<i64> {
    let Some(at) = memchr::memmem::rfind(text, b"\"removed\":[") else {
        return Vec::new();
    };
    let rest = &text[at + 11..];
    let end = rest.iter().position(|&b| b == b']').unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}
