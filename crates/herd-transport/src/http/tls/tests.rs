//! HTTPS against real rustls clients on loopback: ALPN picks HTTP/2 or
//! HTTP/1.1 (and the Host check still holds on HTTP/2), the certificate is
//! reloaded from its files, and a stalled handshake blocks nobody.
#![allow(clippy::unwrap_used)]

use super::ServerTls;
use crate::http::{HttpConfig, guarded, serve_with};
use axum::routing::get;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A CA that signs certificates for 127.0.0.1 and localhost.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "herd test CA");
        let key = KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        Ca { issuer: Issuer::new(params, key), der }
    }

    /// A fresh certificate and key for loopback, written as PEM into `dir`.
    fn issue(&self, dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path, cert.der().clone())
    }

    fn connector(&self, alpn: &[&[u8]]) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsConnector::from(Arc::new(config))
    }
}

/// Serves `/ping` behind the loopback Host check over HTTPS; the server
/// stops when the guard drops.
async fn start(tls: ServerTls, header_read_timeout: Duration) -> (std::net::SocketAddr, DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config =
        HttpConfig { allowed_hosts: Some(HttpConfig::loopback_hosts()), header_read_timeout, ..HttpConfig::default() };
    let app = guarded(axum::Router::new().route("/ping", get(|| async { "pong" })), &config);
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { serve_with(listener, app, &config, Some(tls), token).await });
    (addr, stop.drop_guard())
}

async fn connect(ca: &Ca, addr: std::net::SocketAddr, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    ca.connector(alpn).connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap()
}

/// `GET /ping` over HTTP/1.1 on `stream`; returns the whole answer.
async fn ping_http1(mut stream: TlsStream<TcpStream>) -> String {
    let request = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn serves_http2_or_http1_as_alpn_chooses_and_checks_the_host_on_both() {
    let (ca, dir) = (Ca::new(), tempfile::tempdir().unwrap());
    let (cert, key, _) = ca.issue(dir.path());
    let (addr, _server) = start(ServerTls::load(cert, key).unwrap(), Duration::from_secs(30)).await;

    let h1 = connect(&ca, addr, &[b"http/1.1"]).await;
    assert_eq!(h1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let answer = ping_http1(h1).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("pong"), "{answer}");

    let h2 = connect(&ca, addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "h2 is preferred when offered");
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(h2))
            .await
            .unwrap();
    tokio::spawn(conn);
    // An HTTP/2 request names its host in `:authority` only; the Host check
    // must read it there, and refuse a host not allowed.
    for (authority, status) in [("127.0.0.1", 200), ("evil.example", 403)] {
        let uri = format!("https://{authority}:{}/ping", addr.port());
        let request = http::Request::get(uri).body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status().as_u16(), status, "{authority}");
    }
}

#[tokio::test]
async fn a_changed_certificate_is_taken_up_and_a_broken_one_keeps_the_old() {
    let (ca, dir) = (Ca::new(), tempfile::tempdir().unwrap());
    let (cert, key, first) = ca.issue(dir.path());
    let tls = ServerTls::load(&cert, &key).unwrap();
    let served = || tls.cert.current.load().cert[0].clone();
    assert_eq!(served(), first);
    assert!(!tls.cert.refresh(), "nothing changed");

    let (_, _, second) = ca.issue(dir.path());
    assert!(tls.cert.refresh());
    assert_eq!(served(), second);

    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nbroken\n").unwrap();
    assert!(!tls.cert.refresh());
    assert_eq!(served(), second, "a broken file keeps the certificate in use");
    // A key that is not the certificate's is refused too.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(ca.issue(elsewhere.path()).0, &cert).unwrap();
    assert!(!tls.cert.refresh());
    assert_eq!(served(), second);

    let (_, _, third) = ca.issue(dir.path());
    assert!(tls.cert.refresh(), "a good pair after a broken one is taken up");
    assert_eq!(served(), third);
}

#[test]
fn unusable_files_are_named_in_the_error() {
    let (ca, dir) = (Ca::new(), tempfile::tempdir().unwrap());
    let (cert, key, _) = ca.issue(dir.path());
    let missing = dir.path().join("missing.pem");
    let err = ServerTls::load(&missing, &key).unwrap_err().to_string();
    assert!(err.starts_with(&format!("cannot read {}", missing.display())), "{err}");
    let err = ServerTls::load(&key, &key).unwrap_err().to_string();
    assert!(err.contains(&key.display().to_string()) && err.contains("no PEM certificate"), "{err}");
    let err = ServerTls::load(&cert, &cert).unwrap_err().to_string();
    assert!(err.contains("no usable PEM private key"), "{err}");
}

#[tokio::test]
async fn a_stalled_handshake_blocks_no_one_and_is_closed_at_the_header_timeout() {
    let (ca, dir) = (Ca::new(), tempfile::tempdir().unwrap());
    let (cert, key, _) = ca.issue(dir.path());
    let (addr, _server) = start(ServerTls::load(cert, key).unwrap(), Duration::from_millis(300)).await;

    // One client opens the connection, starts a ClientHello and stops.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01, 0x00, 0xff]).await.unwrap();

    let answer = ping_http1(connect(&ca, addr, &[b"http/1.1"]).await).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the stalled connection is closed once the header read timeout passes");
}
