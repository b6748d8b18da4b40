//! UAPI answers that are errors, malformed, unbounded or hung, and whole exchanges over a
//! stream.

use std::io::{Cursor, Read, Write};

use super::tests::{full_get, full_update, iface};
use super::*;

/// The error `read_get` gives for `text`, with a substring its message must contain.
fn check_get_error(text: &[u8], expected: &str) {
    let err = read_get(&iface(), text).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(expected),
        "{:?}: {message}",
        String::from_utf8_lossy(text)
    );
}

#[test]
fn get_errors() {
    let peer = "public_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    assert!(matches!(
        read_get(&iface(), &b"errno=-22\n\n"[..]),
        Err(Error::Uapi {
            operation: "get",
            errno: -22,
            ..
        })
    ));
    let protocol_cases: &[(&[u8], &str)] = &[
        (b"", "ended before its blank line"),
        (b"errno=0\n", "ended before its blank line"),
        (b"errno=0", "ended in the middle of a line"),
        (b"\n", "no errno line"),
        (b"listen_port=1\n\n", "no errno line"),
        (b"errno=0\nlisten_port=1\n\n", "follows errno"),
        (b"errno=zero\n\n", "not a number"),
        (b"garbage\nerrno=0\n\n", "line 1 is not key=value"),
        (b"=1\nerrno=0\n\n", "not key=value"),
        (
            b"private_key=zz\nerrno=0\n\n",
            "private_key \"zz\" is not 64 hex digits",
        ),
        (
            b"listen_port=70000\nerrno=0\n\n",
            "listen_port \"70000\" is not a valid number",
        ),
        (b"fwmark=-1\nerrno=0\n\n", "fwmark"),
        (
            b"endpoint=1.2.3.4:5\nerrno=0\n\n",
            "endpoint comes before any public_key",
        ),
        (
            b"allowed_ip=10.0.0.0/8\nerrno=0\n\n",
            "before any public_key",
        ),
        (b"\xff\xfe=1\nerrno=0\n\n", "line 1 is not UTF-8"),
    ];
    for (text, expected) in protocol_cases {
        assert!(matches!(
            read_get(&iface(), *text),
            Err(Error::Protocol { .. })
        ));
        check_get_error(text, expected);
    }
    let peer_cases: &[(&str, &str)] = &[
        ("endpoint=1.2.3.4\n", "endpoint \"1.2.3.4\" is not ip:port"),
        ("endpoint=[::1]\n", "is not ip:port"),
        ("allowed_ip=10.0.0.0/33\n", "is not a CIDR"),
        (
            "persistent_keepalive_interval=65536\n",
            "is not a valid number",
        ),
        ("rx_bytes=-1\n", "rx_bytes"),
        (
            "last_handshake_time_sec=18446744073709551615\n",
            "out of range",
        ),
        ("protocol_version=one\n", "protocol_version"),
    ];
    for (line, expected) in peer_cases {
        check_get_error(format!("{peer}{line}errno=0\n\n").as_bytes(), expected);
    }
    // A line longer than the bound is refused without reading it all.
    let long = format!("x={}\nerrno=0\n\n", "y".repeat(MAX_LINE_LEN));
    check_get_error(long.as_bytes(), "line 1 is over 4096 bytes");
    // A long value in an error message is shortened.
    let long_value = format!("private_key={}\nerrno=0\n\n", "z".repeat(1000));
    assert!(
        read_get(&iface(), long_value.as_bytes())
            .unwrap_err()
            .to_string()
            .len()
            < 300
    );
}

/// An answer that never ends: unknown keys forever.
struct Endless {
    line: Vec<u8>,
    pos: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            buf[n] = self.line[self.pos];
            self.pos = (self.pos + 1) % self.line.len();
            n += 1;
        }
        Ok(n)
    }
}

#[test]
fn get_refuses_an_endless_answer() {
    let mut line = format!("k={}\n", "v".repeat(4000)).into_bytes();
    line.shrink_to_fit();
    let reader = std::io::BufReader::new(Endless { line, pos: 0 });
    check_get_error_from(reader, "over 67108864 bytes");
}

fn check_get_error_from(reader: impl BufRead, expected: &str) {
    let message = read_get(&iface(), reader).unwrap_err().to_string();
    assert!(message.contains(expected), "{message}");
}

#[test]
fn errno_answers() {
    fn check(text: &[u8], expected: std::result::Result<(), &str>) {
        let got = read_errno(&iface(), "set", text);
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(err), Err(want)) => assert!(err.to_string().contains(want), "{text:?}: {err}"),
            (got, want) => panic!("{text:?}: got {got:?}, expected {want:?}"),
        }
    }
    check(b"errno=0\n\n", Ok(()));
    check(b"errno=-22\n\n", Err("refused the set request (errno -22)"));
    check(b"errno=1\n\n", Err("errno 1"));
    check(b"errno=x\n\n", Err("errno \"x\" is not a number"));
    check(b"listen_port=1\n\n", Err("expected errno=N"));
    check(
        b"errno=0\nmore=1\n",
        Err("expected a blank line after errno"),
    );
    check(b"errno=0\n", Err("ended before its blank line"));
    check(b"", Err("ended before its blank line"));
    check(b"garbage\n\n", Err("not key=value"));
    assert!(matches!(
        read_errno(&iface(), "set", &b"errno=5\n\n"[..]),
        Err(Error::Uapi {
            operation: "set",
            errno: 5,
            ..
        })
    ));
}

/// A stream with a canned answer that records what was written to it.
struct Duplex {
    answer: Cursor<Vec<u8>>,
    written: Vec<u8>,
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.answer.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn exchanges_over_a_stream() {
    let (device, text) = full_get();
    let mut stream = Duplex {
        answer: Cursor::new(text.as_bytes().to_vec()),
        written: Vec::new(),
    };
    assert_eq!(uapi_get(&iface(), &mut stream).unwrap(), device);
    assert_eq!(stream.written, b"get=1\n\n");

    let (update, text) = full_update();
    let mut stream = Duplex {
        answer: Cursor::new(b"errno=0\n\n".to_vec()),
        written: Vec::new(),
    };
    uapi_set(&iface(), &update, &mut stream).unwrap();
    assert_eq!(stream.written, text.as_bytes());

    let mut stream = Duplex {
        answer: Cursor::new(b"errno=-22\n\n".to_vec()),
        written: Vec::new(),
    };
    let err = uapi_set(&iface(), &update, &mut stream).unwrap_err();
    assert!(matches!(err, Error::Uapi { errno: -22, .. }), "{err}");
}
