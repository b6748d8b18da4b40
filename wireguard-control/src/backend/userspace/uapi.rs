//! The cross-platform WireGuard UAPI text protocol, over any `Read`/`Write` stream.
//!
//! A `get` is `get=1\n\n`, answered by `key=value` lines that end with `errno=N` and a blank
//! line. A `set` is `set=1\n`, `key=value` lines and a blank line, answered by `errno=N\n\n`.
//! Keys travel as lowercase hex. Device-level keys come before the first `public_key`; every
//! key after a `public_key` belongs to that peer.
//!
//! Everything read here is outside input: a line longer than [`MAX_LINE_LEN`] or an answer
//! longer than [`MAX_ANSWER_LEN`] is refused, and anything that is not the protocol is a
//! [`Error::Protocol`], never a panic. Keys this module does not know are skipped, so newer
//! implementations that report more stay readable.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use ipnet::IpNet;

use crate::{
    BackendKind, Device, DeviceUpdate, Error, InterfaceName, PeerConfig, PeerInfo, PeerStats,
    PeerUpdate, PresharedKey, PrivateKey, PublicKey, Result, KEY_LEN,
};

/// Longest line accepted in an answer, newline included. Real lines are under 100 bytes.
pub const MAX_LINE_LEN: usize = 4096;

/// Largest whole answer accepted: room for well over 100,000 peers.
pub const MAX_ANSWER_LEN: usize = 64 << 20;

/// The request that asks for the whole device.
pub const GET_REQUEST: &[u8] = b"get=1\n\n";

const ZERO_KEY: [u8; KEY_LEN] = [0; KEY_LEN];

/// The text of the `set` request that applies `update`.
pub fn set_request(update: &DeviceUpdate) -> String {
    let mut text = String::from("set=1\n");
    let mut line = |key: &str, value: &dyn std::fmt::Display| {
        text.push_str(key);
        text.push('=');
        text.push_str(&value.to_string());
        text.push('\n');
    };
    if let Some(key) = &update.private_key {
        line("private_key", &key.to_hex());
    }
    if let Some(port) = update.listen_port {
        line("listen_port", &port);
    }
    if let Some(fwmark) = update.fwmark {
        line("fwmark", &fwmark);
    }
    if update.replace_peers {
        line("replace_peers", &"true");
    }
    for peer in &update.peers {
        peer_lines(peer, &mut line);
    }
    text.push('\n');
    text
}

fn peer_lines(peer: &PeerUpdate, line: &mut impl FnMut(&str, &dyn std::fmt::Display)) {
    line("public_key", &peer.public_key.to_hex());
    if peer.remove {
        line("remove", &"true");
        return;
    }
    if peer.update_only {
        line("update_only", &"true");
    }
    if let Some(preshared_key) = &peer.preshared_key {
        // An all-zero key clears it.
        let hex = match preshared_key {
            Some(key) => key.to_hex(),
            None => hex::encode(ZERO_KEY),
        };
        line("preshared_key", &hex);
    }
    if let Some(endpoint) = &peer.endpoint {
        // `Display` writes IPv6 as `[addr]:port` (with `%scope` when set), as the UAPI wants.
        line("endpoint", endpoint);
    }
    if let Some(seconds) = peer.persistent_keepalive_interval {
        line("persistent_keepalive_interval", &seconds);
    }
    if peer.replace_allowed_ips {
        line("replace_allowed_ips", &"true");
    }
    for net in &peer.allowed_ips {
        line("allowed_ip", net);
    }
}

/// Writes the `set` request for `update`.
pub fn write_set(update: &DeviceUpdate, mut w: impl Write) -> io::Result<()> {
    w.write_all(set_request(update).as_bytes())?;
    w.flush()
}

/// Reads lines with a bound on each line and on the whole answer.
struct Lines<R> {
    reader: R,
    total: usize,
    line_no: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            total: 0,
            line_no: 0,
            buf: Vec::new(),
        }
    }

    /// The next line (with its number) without its newline. A `Protocol` error at end of
    /// stream, since every answer ends with a blank line.
    fn next(&mut self, iface: &InterfaceName) -> Result<(usize, &str)> {
        self.buf.clear();
        self.line_no += 1;
        let remaining = MAX_ANSWER_LEN.saturating_sub(self.total);
        let limit = MAX_LINE_LEN.min(remaining + 1);
        let n = (&mut self.reader)
            .take(limit as u64)
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| read_error(iface, source))?;
        self.total += n;
        if self.total > MAX_ANSWER_LEN {
            return Err(protocol(
                iface,
                format!("the answer is over {MAX_ANSWER_LEN} bytes"),
            ));
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if n == 0 {
            return Err(protocol(iface, "the answer ended before its blank line"));
        } else if n >= limit {
            let detail = format!("line {} is over {MAX_LINE_LEN} bytes", self.line_no);
            return Err(protocol(iface, detail));
        } else {
            return Err(protocol(iface, "the answer ended in the middle of a line"));
        }
        let line_no = self.line_no;
        match std::str::from_utf8(&self.buf) {
            Ok(line) => Ok((line_no, line)),
            Err(_) => Err(protocol(iface, format!("line {line_no} is not UTF-8"))),
        }
    }
}

fn read_error(iface: &InterfaceName, source: io::Error) -> Error {
    let source = match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
            io::ErrorKind::TimedOut,
            "the userspace implementation did not answer in time (is it hung?)",
        ),
        _ => source,
    };
    Error::Io {
        iface: iface.clone(),
        action: "read the UAPI answer of",
        source,
    }
}

fn write_error(iface: &InterfaceName, source: io::Error) -> Error {
    Error::Io {
        iface: iface.clone(),
        action: "send a UAPI request to",
        source,
    }
}

fn protocol(iface: &InterfaceName, detail: impl Into<String>) -> Error {
    Error::Protocol {
        iface: iface.clone(),
        detail: detail.into(),
    }
}

/// Shortens an untrusted value for an error message.
fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(64).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    out
}

/// Splits `key=value`, rejecting lines that are not.
fn split_line<'a>(
    iface: &InterfaceName,
    line_no: usize,
    line: &'a str,
) -> Result<(&'a str, &'a str)> {
    line.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .ok_or_else(|| {
            protocol(
                iface,
                format!("line {line_no} is not key=value: {:?}", shown(line)),
            )
        })
}

fn parse_errno(iface: &InterfaceName, value: &str) -> Result<i32> {
    value
        .parse()
        .map_err(|_| protocol(iface, format!("errno {:?} is not a number", shown(value))))
}

/// Reads the `errno=N` answer to a `set`: `Ok` for 0, [`Error::Uapi`] otherwise.
pub fn read_errno(
    iface: &InterfaceName,
    operation: &'static str,
    reader: impl BufRead,
) -> Result<()> {
    let mut lines = Lines::new(reader);
    let (line_no, line) = lines.next(iface)?;
    let errno = match split_line(iface, line_no, line)? {
        ("errno", value) => parse_errno(iface, value)?,
        _ => {
            return Err(protocol(
                iface,
                format!("expected errno=N, got {:?}", shown(line)),
            ))
        }
    };
    let (_, end) = lines.next(iface)?;
    if !end.is_empty() {
        return Err(protocol(
            iface,
            format!("expected a blank line after errno, got {:?}", shown(end)),
        ));
    }
    match errno {
        0 => Ok(()),
        errno => Err(Error::Uapi {
            iface: iface.clone(),
            operation,
            errno,
        }),
    }
}

/// Reads the answer to a `get` into a [`Device`] named `iface`.
pub fn read_get(iface: &InterfaceName, reader: impl BufRead) -> Result<Device> {
    let mut lines = Lines::new(reader);
    let mut parser = GetParser::new(iface.clone());
    let mut errno = None;
    loop {
        let (line_no, line) = lines.next(iface)?;
        if line.is_empty() {
            break;
        }
        let (key, value) = split_line(iface, line_no, line)?;
        if errno.is_some() {
            return Err(protocol(
                iface,
                format!("line {line_no} follows errno: {:?}", shown(line)),
            ));
        }
        if key == "errno" {
            errno = Some(parse_errno(iface, value)?);
        } else {
            parser
                .feed(key, value)
                .map_err(|detail| protocol(iface, format!("line {line_no}: {detail}")))?;
        }
    }
    match errno {
        None => Err(protocol(iface, "the answer has no errno line")),
        Some(0) => parser.finish().map_err(|detail| protocol(iface, detail)),
        Some(errno) => Err(Error::Uapi {
            iface: iface.clone(),
            operation: "get",
            errno,
        }),
    }
}

/// Sends `get=1` over `stream` and reads the device.
pub fn uapi_get<S: Read + Write>(iface: &InterfaceName, mut stream: S) -> Result<Device> {
    stream
        .write_all(GET_REQUEST)
        .and_then(|()| stream.flush())
        .map_err(|e| write_error(iface, e))?;
    read_get(iface, BufReader::new(stream))
}

/// Sends the `set` for `update` over `stream` and reads its errno.
pub fn uapi_set<S: Read + Write>(
    iface: &InterfaceName,
    update: &DeviceUpdate,
    mut stream: S,
) -> Result<()> {
    let written = write_set(update, BufWriter::new(&mut stream));
    let answer = read_errno(iface, "set", BufReader::new(&mut stream));
    match (written, answer) {
        // The implementation may stop reading at the first bad line and answer at once;
        // its errno explains more than the broken pipe.
        (Err(_), Err(uapi @ Error::Uapi { .. })) => Err(uapi),
        (Err(source), _) => Err(write_error(iface, source)),
        (Ok(()), answer) => answer,
    }
}

/// Builds a [`Device`] from the lines of a `get` answer.
struct GetParser {
    device: Device,
    peer: Option<PeerBuilder>,
}

struct PeerBuilder {
    info: PeerInfo,
    handshake_sec: u64,
    handshake_nsec: u64,
}

impl PeerBuilder {
    fn finish(self) -> Result<PeerInfo, String> {
        let mut info = self.info;
        if self.handshake_sec != 0 || self.handshake_nsec != 0 {
            let at = UNIX_EPOCH
                .checked_add(Duration::from_secs(self.handshake_sec))
                .and_then(|t| t.checked_add(Duration::from_nanos(self.handshake_nsec)));
            info.stats.last_handshake_time = Some(at.ok_or_else(|| {
                format!(
                    "handshake time {}s {}ns is out of range",
                    self.handshake_sec, self.handshake_nsec
                )
            })?);
        }
        Ok(info)
    }
}

fn number<T: FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{key} {:?} is not a valid number", shown(value)))
}

fn key_bytes(key: &str, value: &str) -> Result<[u8; KEY_LEN], String> {
    PublicKey::from_hex(value)
        .map(|k| *k.as_bytes())
        .map_err(|_| format!("{key} {:?} is not 64 hex digits", shown(value)))
}

fn endpoint(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    // A named IPv6 zone (`[fe80::1%eth0]:51820`) cannot be represented; keep the address.
    if let Some((addr, rest)) = value.strip_prefix('[').and_then(|v| v.split_once('%')) {
        if let Some((_, port)) = rest.split_once("]:") {
            if let Ok(addr) = format!("[{addr}]:{port}").parse() {
                return Ok(addr);
            }
        }
    }
    Err(format!("endpoint {:?} is not ip:port", shown(value)))
}

impl GetParser {
    fn new(name: InterfaceName) -> Self {
        let device = Device {
            name,
            private_key: None,
            public_key: None,
            listen_port: None,
            fwmark: None,
            peers: Vec::new(),
            backend: BackendKind::Userspace,
        };
        Self { device, peer: None }
    }

    fn feed(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "private_key" => {
                let bytes = key_bytes(key, value)?;
                let private = (bytes != ZERO_KEY).then(|| PrivateKey::from_bytes(bytes));
                self.device.public_key = private.as_ref().map(PrivateKey::public_key);
                self.device.private_key = private;
            }
            "listen_port" => {
                self.device.listen_port = Some(number::<u16>(key, value)?).filter(|p| *p != 0)
            }
            "fwmark" => self.device.fwmark = Some(number::<u32>(key, value)?).filter(|m| *m != 0),
            "public_key" => {
                let public_key = PublicKey::from_bytes(key_bytes(key, value)?);
                if let Some(done) = self.peer.take() {
                    self.device.peers.push(done.finish()?);
                }
                self.peer = Some(PeerBuilder {
                    info: PeerInfo {
                        config: PeerConfig::new(public_key),
                        stats: PeerStats::default(),
                    },
                    handshake_sec: 0,
                    handshake_nsec: 0,
                });
            }
            _ => {
                let Some(peer) = self.peer.as_mut() else {
                    // Keys this module does not know are skipped, at device level too.
                    return match key {
                        "preshared_key"
                        | "endpoint"
                        | "allowed_ip"
                        | "persistent_keepalive_interval"
                        | "rx_bytes"
                        | "tx_bytes"
                        | "last_handshake_time_sec"
                        | "last_handshake_time_nsec"
                        | "protocol_version" => Err(format!("{key} comes before any public_key")),
                        _ => Ok(()),
                    };
                };
                feed_peer(peer, key, value)?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Device, String> {
        if let Some(done) = self.peer.take() {
            self.device.peers.push(done.finish()?);
        }
        Ok(self.device)
    }
}

fn feed_peer(peer: &mut PeerBuilder, key: &str, value: &str) -> Result<(), String> {
    let config = &mut peer.info.config;
    let stats = &mut peer.info.stats;
    match key {
        "preshared_key" => {
            let bytes = key_bytes(key, value)?;
            config.preshared_key = (bytes != ZERO_KEY).then(|| PresharedKey::from_bytes(bytes));
        }
        "endpoint" => config.endpoint = Some(endpoint(value)?),
        "allowed_ip" => config.allowed_ips.push(
            value
                .parse::<IpNet>()
                .map_err(|_| format!("allowed_ip {:?} is not a CIDR", shown(value)))?,
        ),
        "persistent_keepalive_interval" => {
            config.persistent_keepalive_interval =
                Some(number::<u16>(key, value)?).filter(|s| *s != 0)
        }
        "rx_bytes" => stats.rx_bytes = number(key, value)?,
        "tx_bytes" => stats.tx_bytes = number(key, value)?,
        "last_handshake_time_sec" => peer.handshake_sec = number(key, value)?,
        "last_handshake_time_nsec" => peer.handshake_nsec = number(key, value)?,
        "protocol_version" => {
            number::<u32>(key, value)?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[path = "uapi_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "uapi_stream_tests.rs"]
mod stream_tests;

#[cfg(test)]
#[path = "uapi_fuzz_tests.rs"]
mod fuzz_tests;
