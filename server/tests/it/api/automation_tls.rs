//! The automation API on TCP with TLS: a real rustls handshake on loopback with a
//! certificate made for the test, tokens checked as on the socket, plaintext refused, a
//! renewed certificate picked up without a restart, bad files refused with clear messages.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wiremesh_server::http::automation::{router, Automation};
use wiremesh_server::http::tls::{self, ReloadingCert, TlsError, TlsFiles};
use wiremesh_server::tokens::Scope;
use wiremesh_shared::fixture::Family;

use crate::support::api::*;

/// A self-signed certificate for `localhost`: its PEM files' contents and its DER form.
fn certificate() -> (String, String, CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    (
        made.cert.pem(),
        made.key_pair.serialize_pem(),
        made.cert.der().clone(),
    )
}

fn write_pair(dir: &Path, cert: &str, key: &str) -> TlsFiles {
    let files = TlsFiles {
        cert: dir.join("api.crt"),
        key: dir.join("api.key"),
    };
    std::fs::write(&files.cert, cert).unwrap();
    std::fs::write(&files.key, key).unwrap();
    files
}

fn connector(trusted: &CertificateDer<'static>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One request over TLS trusting only `trusted`; `Err` when the handshake fails.
async fn call(
    addr: std::net::SocketAddr,
    trusted: &CertificateDer<'static>,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<(u16, Value)> {
    let stream = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector(trusted).connect(name, stream).await?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // The server may close without close_notify once it has answered.
    let _ = tls.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

#[tokio::test]
async fn the_api_over_tls_checks_tokens_refuses_plaintext_and_follows_a_renewed_certificate() {
    let h = Harness::new(Family::V4);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, first) = certificate();
    let files = write_pair(dir.path(), &cert, &key);
    let reloading = Arc::new(ReloadingCert::new(files.clone(), Duration::ZERO).expect("loads"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = router(Automation {
        service: Arc::clone(&h.service),
        network: Arc::from("test"),
        internal_endpoint: "10.80.0.1:51820".parse().unwrap(),
    });
    let server = tokio::spawn(tls::serve(
        listener,
        tls::server_config(reloading),
        app,
        stop_rx,
    ));
    let (token, _) = h
        .service
        .create_token("remote", &[Scope::Read], None)
        .unwrap();

    let (status, network) = call(addr, &first, "/api/v1/network", Some(&token))
        .await
        .expect("TLS handshake");
    assert_eq!(status, 200, "{network}");
    assert_eq!(network["name"], "test");
    let (status, refused) = call(addr, &first, "/api/v1/network", None).await.unwrap();
    assert_eq!(status, 401, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("no token"));

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /api/v1/network HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // A renewed pair (here a new key too) is presented from the next handshake on.
    let (cert2, key2, second) = certificate();
    // Modification times have a coarse granularity on some filesystems.
    tokio::time::sleep(Duration::from_millis(20)).await;
    write_pair(dir.path(), &cert2, &key2);
    let bumped = std::time::SystemTime::now() + Duration::from_secs(2);
    for path in [&files.cert, &files.key] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(bumped)
            .unwrap();
    }
    let (status, _) = call(addr, &second, "/api/v1/network", Some(&token))
        .await
        .expect("the renewed certificate is presented");
    assert_eq!(status, 200);
    assert!(call(addr, &first, "/api/v1/network", Some(&token))
        .await
        .is_err());

    // A broken renewal keeps the pair that works.
    std::fs::write(&files.cert, "not a certificate").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&files.cert)
        .unwrap()
        .set_modified(bumped + Duration::from_secs(2))
        .unwrap();
    let (status, _) = call(addr, &second, "/api/v1/network", Some(&token))
        .await
        .expect("the previous certificate is kept");
    assert_eq!(status, 200);

    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("stops")
        .unwrap();
}

#[test]
fn bad_certificate_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate();
    let (_, other_key, _) = certificate();
    let message = |files: &TlsFiles| files.load().map(|_| ()).unwrap_err().to_string();

    let missing = TlsFiles {
        cert: dir.path().join("none.crt"),
        key: dir.path().join("none.key"),
    };
    let text = message(&missing);
    assert!(
        text.contains("failed to read the TLS certificate"),
        "{text}"
    );
    assert!(text.contains("none.crt"), "{text}");

    let files = write_pair(dir.path(), "just text\n", &key);
    let text = message(&files);
    assert!(text.contains("holds no PEM certificate"), "{text}");

    let files = write_pair(dir.path(), &cert, "just text\n");
    let text = message(&files);
    assert!(text.contains("holds no PEM private key"), "{text}");

    let files = write_pair(dir.path(), &cert, &other_key);
    assert!(matches!(files.load(), Err(TlsError::Mismatch { .. })));
    let text = message(&files);
    assert!(
        text.contains("does not belong to the certificate"),
        "{text}"
    );

    let files = write_pair(dir.path(), &cert, &key);
    files.load().expect("a matching pair loads");
}
