//! The automation API on a TCP address with TLS (`serve --api-listen`): rustls with the
//! certificate chain and private key the operator gives as PEM files.
//!
//! The files are read at start (an unreadable or mismatched pair stops `serve` before it
//! touches anything) and read again when they change, so a renewed certificate is used
//! without a restart: at most every [`RECHECK`], a handshake looks at the files' modification
//! times; a pair that no longer loads is logged and the previous one kept.
//!
//! Connections are limited ([`MAX_CONNECTIONS`] at once; a handshake or a request head that
//! takes longer than [`HANDSHAKE_TIMEOUT`] is dropped). Bodies have the API's own limits.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// How often a handshake may look for a renewed certificate.
pub const RECHECK: Duration = Duration::from_secs(10);
/// Connections served at once; more wait for a free slot in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// The longest a TLS handshake, or a request head, may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate chain and private key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("failed to read the TLS certificate {}: {source}", path.display())]
    ReadCert { path: PathBuf, source: io::Error },
    #[error("failed to read the TLS private key {}: {source}", path.display())]
    ReadKey { path: PathBuf, source: io::Error },
    #[error("the TLS certificate file {} holds no PEM certificate", path.display())]
    NoCert { path: PathBuf },
    #[error("the TLS certificate file {} is not valid PEM: {detail}", path.display())]
    BadCert { path: PathBuf, detail: String },
    #[error(
        "the TLS private key file {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {detail}",
        path.display()
    )]
    BadKey { path: PathBuf, detail: String },
    #[error("the TLS private key {} cannot be used: {detail}", path.display())]
    UnusableKey { path: PathBuf, detail: String },
    #[error(
        "the TLS private key {} does not belong to the certificate {}",
        key.display(),
        cert.display()
    )]
    Mismatch { cert: PathBuf, key: PathBuf },
}

impl TlsFiles {
    /// Reads and checks the pair: a chain of at least one certificate, a private key the
    /// provider can sign with, and the key matching the first certificate.
    pub fn load(&self) -> Result<CertifiedKey, TlsError> {
        let cert_pem = std::fs::read(&self.cert).map_err(|source| TlsError::ReadCert {
            path: self.cert.clone(),
            source,
        })?;
        let key_pem = std::fs::read(&self.key).map_err(|source| TlsError::ReadKey {
            path: self.key.clone(),
            source,
        })?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsError::BadCert {
                path: self.cert.clone(),
                detail: error.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCert {
                path: self.cert.clone(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| TlsError::BadKey {
            path: self.key.clone(),
            detail: error.to_string(),
        })?;
        let signing = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|error| TlsError::UnusableKey {
                path: self.key.clone(),
                detail: error.to_string(),
            })?;
        let certified = CertifiedKey::new(chain, signing);
        match certified.keys_match() {
            Ok(()) => Ok(certified),
            // A key whose public half the provider cannot tell is taken as it is.
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
                Ok(certified)
            }
            Err(_) => Err(TlsError::Mismatch {
                cert: self.cert.clone(),
                key: self.key.clone(),
            }),
        }
    }

    fn modified(&self) -> Option<(SystemTime, SystemTime)> {
        let time = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Some((time(&self.cert)?, time(&self.key)?))
    }
}

/// The certificate handshakes present, read again when its files change.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    recheck: Duration,
    state: Mutex<CertState>,
}

#[derive(Debug)]
struct CertState {
    current: Arc<CertifiedKey>,
    modified: Option<(SystemTime, SystemTime)>,
    checked: Instant,
}

impl ReloadingCert {
    /// Loads the pair now (an error is the caller's to report); looks for changes at most
    /// every `recheck`.
    pub fn new(files: TlsFiles, recheck: Duration) -> Result<Self, TlsError> {
        let modified = files.modified();
        let current = Arc::new(files.load()?);
        Ok(Self {
            files,
            recheck,
            state: Mutex::new(CertState {
                current,
                modified,
                checked: Instant::now(),
            }),
        })
    }

    /// The pair to present now.
    fn current(&self) -> Arc<CertifiedKey> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.checked.elapsed() >= self.recheck {
            state.checked = Instant::now();
            let modified = self.files.modified();
            if modified.is_some() && modified != state.modified {
                match self.files.load() {
                    Ok(loaded) => {
                        state.current = Arc::new(loaded);
                        state.modified = modified;
                        tracing::info!(
                            cert = %self.files.cert.display(),
                            "automation API: TLS certificate reloaded"
                        );
                    }
                    // Tried again at the next check: the files may be mid-renewal.
                    Err(error) => tracing::warn!(
                        "automation API: keeping the previous TLS certificate: {error}"
                    ),
                }
            }
        }
        state.current.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The *ring* provider: pure Rust and assembly, nothing to build with CMake. rustls 0.23.48
/// deprecated it because it has no post-quantum key exchange (its groups: X25519, P-256,
/// P-384); the operator guide says so.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The rustls configuration of the API: TLS 1.2 and 1.3, HTTP/1.1 only.
pub fn server_config(cert: Arc<ReloadingCert>) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Serves `router` over TLS on `listener` until `stop` turns true (requests in flight then
/// finish).
pub async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stopping = stop.clone();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = async { let _ = stopping.wait_for(|stop| *stop).await; } => return,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, mostly: wait a moment rather than spin.
                tracing::warn!("automation API: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%addr, "automation API: TLS handshake failed: {error}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%addr, "automation API: TLS handshake timed out");
                    return;
                }
            };
            serve_connection(tls, addr, router, stop).await;
        });
    }
}

async fn serve_connection(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    addr: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(addr));
            router.clone().oneshot(request)
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%addr, "automation API: connection closed: {error}");
    }
}
