//! The accept loop: every connection of the API passes here before HTTP sees it.
//!
//! - A connection is accepted only while fewer than `max_connections` are open: the rest wait
//!   in the kernel's listen backlog, holding no descriptor of ours.
//! - A tunnel address holding `max_connections_per_peer` connections gets its next one
//!   answered `429 Too Many Requests` and closed at once (a few of those are given a moment
//!   to read the answer; beyond that they are just closed).
//! - When accepting fails because descriptors ran out, the loop waits until one of its own
//!   connections closes (or a second passes, for descriptors freed elsewhere) instead of
//!   spinning; errors that concern one connection only are skipped.
//! - Each connection is served by hyper's HTTP/1 with a head timeout (which also closes idle
//!   keep-alive connections), and its writes time out when the client stops reading.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tower::ServiceExt;

use super::limits::{unlogged_suffix, Limits, PerKey, RefusalLog, Slot};

/// Refused connections of one address given a moment to read their 429 at the same time;
/// more are closed without one.
const COURTEOUS_REFUSALS_PER_PEER: usize = 4;
/// How long a refused connection is given to read its 429.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);
/// Longest wait for a descriptor after accepting failed for the lack of one.
const DESCRIPTOR_WAIT: Duration = Duration::from_secs(1);
/// hyper's read buffer (request heads are small; bodies are bounded separately).
const MAX_BUFFER: usize = 64 * 1024;

/// What the accept loop and its connections share.
struct Shared {
    router: Router,
    limits: Limits,
    connections: Arc<Semaphore>,
    per_peer: PerKey<IpAddr>,
    refusing: PerKey<IpAddr>,
    refusals: RefusalLog<IpAddr>,
    /// Notified whenever a connection closes (a descriptor is free again).
    closed: Notify,
    stop: watch::Receiver<bool>,
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets requests
/// in flight finish (the caller bounds how long it waits for that).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    let shared = Arc::new(Shared {
        router,
        limits,
        connections: Arc::new(Semaphore::new(limits.max_connections)),
        per_peer: PerKey::new(limits.max_connections_per_peer),
        refusing: PerKey::new(COURTEOUS_REFUSALS_PER_PEER),
        refusals: RefusalLog::default(),
        closed: Notify::new(),
        stop,
    });
    let accepting = accept_loop(&listener, &shared);
    tokio::pin!(shutdown);
    let outcome = tokio::select! {
        outcome = accepting => outcome,
        () = &mut shutdown => Ok(()),
    };
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends: having them all back means all ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = shared.connections.acquire_many(all).await;
    outcome
}

async fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) -> io::Result<()> {
    let mut exhausted = RefusalLog::<()>::default();
    loop {
        let permit = shared
            .connections
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| io::Error::other("the connection semaphore closed"))?;
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                drop(permit);
                handle_accept_error(error, shared, &mut exhausted).await?;
                continue;
            }
        };
        let shared = shared.clone();
        match shared.per_peer.try_acquire(addr.ip()) {
            Some(slot) => {
                tokio::spawn(async move {
                    serve_connection(stream, addr, &shared, slot).await;
                    drop(permit);
                    shared.closed.notify_one();
                });
            }
            None => refuse(stream, addr, shared, permit),
        }
    }
}

/// Decides what a failed `accept` means: `Ok` to go on (after waiting for a descriptor when
/// there were none), `Err` when the listener itself is broken.
async fn handle_accept_error(
    error: io::Error,
    shared: &Shared,
    exhausted: &mut RefusalLog<()>,
) -> io::Result<()> {
    match error.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            if let Some(unlogged) = exhausted.should_log(()) {
                tracing::warn!(
                    "cannot accept connections: {error}; waiting for one to close (raise \
                     LimitNOFILE or lower --max-connections){}",
                    unlogged_suffix(unlogged)
                );
            }
            let _ = tokio::time::timeout(DESCRIPTOR_WAIT, shared.closed.notified()).await;
            Ok(())
        }
        // The listener is unusable: retrying would spin.
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP) => Err(error),
        // Everything else concerns the one connection being accepted (reset before it was
        // accepted, a network error passed on by the kernel): skip it.
        _ => {
            tracing::debug!("accepting a connection failed: {error}");
            Ok(())
        }
    }
}

/// Answers a connection over its address's cap with 429 and closes it.
fn refuse(stream: TcpStream, addr: SocketAddr, shared: Arc<Shared>, permit: OwnedSemaphorePermit) {
    let ip = addr.ip();
    let cap = shared.per_peer.cap();
    if let Some(unlogged) = shared.refusals.should_log(ip) {
        tracing::warn!(
            peer = %ip,
            "refused a connection from {ip}: it already holds {cap} (at most {cap} per peer, \
             --max-connections-per-peer){}",
            unlogged_suffix(unlogged)
        );
    }
    let Some(slot) = shared.refusing.try_acquire(ip) else {
        // Enough of this address's refusals are lingering already: close at once.
        drop((stream, permit));
        shared.closed.notify_one();
        return;
    };
    tokio::spawn(async move {
        let body =
            format!(r#"{{"error":"too many connections from {ip}: at most {cap} per peer"}}"#);
        let response = format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = stream;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await?;
            // Read (and drop) what the client sends until it closes, so that closing does
            // not reset the connection before the client read the answer.
            let mut sink = [0u8; 4096];
            loop {
                stream.readable().await?;
                match stream.try_read(&mut sink) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        drop((stream, slot, permit));
        shared.closed.notify_one();
    });
}

/// Serves one connection with HTTP/1 until the client closes it, a timeout closes it or the
/// server stops (then requests in flight finish first).
async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    shared: &Shared,
    _slot: Slot<IpAddr>,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(StallTimeout::new(stream, shared.limits.write_stall_timeout));
    let router = shared.router.clone();
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(addr));
            router.clone().oneshot(request)
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.head_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_BUFFER);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stop = shared.stop.clone();
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(peer = %addr.ip(), "connection closed: {error}");
    }
}

/// A stream whose writes fail with `TimedOut` once they have made no progress for `limit`
/// (a client that stops reading its answer).
struct StallTimeout<S> {
    inner: S,
    limit: Duration,
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl<S> StallTimeout<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled_since: None,
        }
    }

    /// Turns a pending write into an error once the stall lasted `limit`.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled_since = None;
            return poll;
        }
        let limit = self.limit;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {}s", limit.as_secs()),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that never accepts a byte.
    struct Stuck;

    impl AsyncWrite for Stuck {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Pending
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_write_times_out() {
        let mut writer = StallTimeout::new(Stuck, Duration::from_millis(200));
        let started = tokio::time::Instant::now();
        let error = writer.write_all(b"answer").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
