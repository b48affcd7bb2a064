//! An `https://` upstream against herd's own HTTPS server on loopback: the
//! configured CA is what the server is checked against, and a certificate
//! from another CA is "certificate verify failed".
#![allow(clippy::unwrap_used)]

use herd_proto::model::Implementation;
use herd_router::{Router, RouterConfig};
use herd_transport::http::{HttpConfig, ServerTls, app, serve_with};
use herd_upstream::{HttpUpstream, HttpUpstreamConfig, TrustedCa, UpstreamError};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};
use tokio_util::sync::{CancellationToken, DropGuard};

/// A CA's certificate file, and a server certificate and key it issued
/// for 127.0.0.1, all written into `dir` under `name`.
fn ca_and_server_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, format!("{name} CA"));
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
    let paths = (dir.join(format!("{name}-ca.pem")), dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

/// An MCP server with no backends over HTTPS; stops when the guard drops.
async fn serve_https(cert: &Path, key: &Path) -> (String, DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/mcp", listener.local_addr().unwrap());
    let info = Implementation { name: "tls-test".into(), version: "1".into(), title: None };
    let router = Router::new(RouterConfig { server_info: info, ..RouterConfig::default() }, Vec::new());
    let config = HttpConfig::default();
    let tls = ServerTls::load(cert, key).unwrap();
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { serve_with(listener, app(router, config.clone()), &config, Some(tls), token).await });
    (url, stop.drop_guard())
}

#[tokio::test]
async fn an_https_upstream_is_checked_against_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = ca_and_server_cert(dir.path(), "right");
    let (other_ca, _, _) = ca_and_server_cert(dir.path(), "other");
    let (url, _server) = serve_https(&cert, &key).await;

    let trusted = HttpUpstreamConfig { ca: Some(TrustedCa::load(&ca).unwrap()), ..HttpUpstreamConfig::new(&url) };
    let opened = HttpUpstream::new(trusted).unwrap().connect().await.unwrap();
    assert_eq!(opened["serverInfo"]["name"], "tls-test");

    let mistrusted =
        HttpUpstreamConfig { ca: Some(TrustedCa::load(&other_ca).unwrap()), ..HttpUpstreamConfig::new(&url) };
    let err = HttpUpstream::new(mistrusted).unwrap().connect().await.unwrap_err();
    assert!(matches!(err, UpstreamError::Connect { .. }), "the request never left: {err:?}");
    let said = err.to_string();
    assert!(said.contains("TLS certificate verify failed: UnknownIssuer"), "{said}");
}
