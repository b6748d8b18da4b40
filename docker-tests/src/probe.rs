//! `wiremesh-e2e ports SPEC...` and `wiremesh-e2e probe PROTO ADDR PORT`: test traffic for the
//! policy scenarios, run inside a host's namespace.
//!
//! `ports tcp:22 udp:53 who:80 ...` listens on every address (IPv4 and IPv6) and answers: a
//! TCP connection gets `ok\n` (on a `who` port followed by the address it came from), a UDP
//! datagram is echoed. `probe who ADDR PORT` prints the address a `who` port saw. `probe tcp ADDR PORT` exits 0 when it
//! connected and read the greeting within 3 s, 1 otherwise; `probe udp ADDR PORT` exits 0
//! when its datagram came back within 3 s.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

const TIMEOUT: Duration = Duration::from_secs(3);

/// Serves every `proto:port` in `specs` until killed.
pub fn serve(specs: &[String]) -> Result<()> {
    let mut threads = Vec::new();
    for spec in specs {
        let (proto, port) = spec
            .split_once(':')
            .with_context(|| format!("expected tcp:PORT or udp:PORT, got {spec:?}"))?;
        let port: u16 = port
            .parse()
            .with_context(|| format!("bad port in {spec:?}"))?;
        // [::] with dual stack takes IPv4 too.
        let addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        match proto {
            "tcp" | "who" => {
                let listener =
                    TcpListener::bind(addr).with_context(|| format!("bind tcp {port}"))?;
                let tell = proto == "who";
                threads.push(std::thread::spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let mut stream = stream;
                        let mut answer = b"ok\n".to_vec();
                        if tell {
                            if let Ok(peer) = stream.peer_addr() {
                                let ip = match peer.ip() {
                                    IpAddr::V6(v6) => {
                                        v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
                                    }
                                    v4 => v4,
                                };
                                answer.extend_from_slice(format!("{ip}\n").as_bytes());
                            }
                        }
                        let _ = stream.write_all(&answer);
                    }
                }));
            }
            "udp" => {
                let socket = UdpSocket::bind(addr).with_context(|| format!("bind udp {port}"))?;
                threads.push(std::thread::spawn(move || {
                    let mut buffer = [0u8; 1500];
                    while let Ok((n, from)) = socket.recv_from(&mut buffer) {
                        let _ = socket.send_to(&buffer[..n], from);
                    }
                }));
            }
            other => bail!("unknown protocol {other:?}"),
        }
    }
    println!("serving {}", specs.join(" "));
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// One probe; `Ok(true)` when it got through.
pub fn probe(args: &[String]) -> Result<bool> {
    let [proto, addr, port] = args else {
        bail!("usage: probe tcp|udp ADDR PORT");
    };
    let addr: IpAddr = addr.parse().context("bad address")?;
    let port: u16 = port.parse().context("bad port")?;
    let target = SocketAddr::new(addr, port);
    Ok(match proto.as_str() {
        "who" => match TcpStream::connect_timeout(&target, TIMEOUT) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(TIMEOUT))?;
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                match answer.strip_prefix("ok\n") {
                    Some(seen) => {
                        print!("{seen}");
                        true
                    }
                    None => false,
                }
            }
            Err(_) => false,
        },
        "tcp" => match TcpStream::connect_timeout(&target, TIMEOUT) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(TIMEOUT))?;
                let mut greeting = [0u8; 3];
                stream.read_exact(&mut greeting).is_ok() && &greeting == b"ok\n"
            }
            Err(_) => false,
        },
        "udp" => {
            let local: SocketAddr = if addr.is_ipv6() {
                "[::]:0".parse()?
            } else {
                "0.0.0.0:0".parse()?
            };
            let socket = UdpSocket::bind(local)?;
            socket.set_read_timeout(Some(TIMEOUT))?;
            socket.send_to(b"ping", target)?;
            let mut buffer = [0u8; 16];
            matches!(socket.recv_from(&mut buffer), Ok((4, from)) if from == target && &buffer[..4] == b"ping")
        }
        other => bail!("unknown protocol {other:?}"),
    })
}
