//! Small measuring tools: a one-shot HTTP client run inside a namespace, and readings of a
//! process's CPU time and memory from `/proc`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};

/// What [`get_many`] saw, averaged over its requests.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct HttpFigures {
    pub requests: usize,
    /// Whole response (status line, headers and body), bytes.
    pub response_bytes: usize,
    pub body_bytes: usize,
    pub mean_ms: f64,
}

/// One `GET path` with innernet's server-key header; returns (response bytes, body bytes).
fn get_once(server: SocketAddr, path: &str, key: &str) -> Result<(usize, usize)> {
    request(server, "GET", path, key, None)
}

/// One request; a 2xx answer gives (response bytes, body bytes).
fn request(
    server: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> Result<(usize, usize)> {
    let mut stream = TcpStream::connect_timeout(&server, Duration::from_secs(5))
        .with_context(|| format!("connect to {server}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {server}\r\nX-Innernet-Server-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers in the response")?;
    let head = String::from_utf8_lossy(&response[..text_end]);
    ensure!(
        head.starts_with("HTTP/1.1 2"),
        "{method} {path}: {}",
        head.lines().next().unwrap_or("")
    );
    Ok((response.len(), response.len() - text_end - 4))
}

/// `count` sequential requests.
pub fn get_many(server: SocketAddr, path: &str, key: &str, count: usize) -> Result<HttpFigures> {
    let start = Instant::now();
    let mut last = (0, 0);
    for _ in 0..count {
        last = get_once(server, path, key)?;
    }
    Ok(HttpFigures {
        requests: count,
        response_bytes: last.0,
        body_bytes: last.1,
        mean_ms: start.elapsed().as_secs_f64() * 1000.0 / count.max(1) as f64,
    })
}

/// `wiremesh-bench http-get <addr> <path> <key> <count>`: prints [`HttpFigures`] as JSON.
pub fn http_get_command(args: &[String]) -> Result<()> {
    let [addr, path, key, count] = args else {
        bail!("usage: wiremesh-bench http-get <addr:port> <path> <server-key> <count>");
    };
    let figures = get_many(addr.parse()?, path, key, count.parse()?)?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// `wiremesh-bench http-put <addr> <path> <server-key> <json-body>`: one PUT.
pub fn http_put_command(args: &[String]) -> Result<()> {
    let [addr, path, key, body] = args else {
        bail!("usage: wiremesh-bench http-put <addr:port> <path> <server-key> <json-body>");
    };
    request(addr.parse()?, "PUT", path, key, Some(body))?;
    Ok(())
}

/// User plus system CPU time of `pid` so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after = &stat[stat.rfind(')').context("odd /proc stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / per_second))
}

/// (resident, peak resident) memory of `pid`, in MiB.
pub fn memory_mib(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("odd status line")?
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Percentiles of `samples` (seconds): (p50, max).
pub fn p50_max(samples: &[f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[(sorted.len() - 1) / 2], sorted[sorted.len() - 1])
}
