//! A stand-in identity provider for this crate's unit tests: a loopback
//! HTTP server answering with set documents (discovery, key set) and
//! counting requests, and signers holding their own keys. The real
//! provider (oidc-provider) is exercised in `tests/oauth_oidc_provider.rs`;
//! this one lets a test serve what no real provider would.

use super::OAuthConfig;
use super::roles::RoleMapping;
use crate::Role;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The audience the test tokens are for.
pub(crate) const AUDIENCE: &str = "https://herd.test/mcp";

/// A key of the stand-in provider, signing tokens.
pub(crate) struct Signer {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

impl Signer {
    /// A fresh P-256 key.
    pub(crate) fn es256(kid: &str) -> Self {
        let alg = &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Self { kid: kid.into(), alg: Algorithm::ES256, key: EncodingKey::from_ec_der(pkcs8.as_ref()) }
    }

    /// A fresh Ed25519 key (PKCS#8 v1: jsonwebtoken derives the JWK only from that form).
    pub(crate) fn ed25519(kid: &str) -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8v1(&rng).unwrap();
        Self { kid: kid.into(), alg: Algorithm::EdDSA, key: EncodingKey::from_ed_der(pkcs8.as_ref()) }
    }

    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub(crate) fn jwk(&self) -> Value {
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&self.key, self.alg).unwrap()).unwrap();
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk
    }

    /// `claims` signed under this key's `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        self.sign_with(header, claims)
    }

    /// `claims` signed with this key under `header`.
    pub(crate) fn sign_with(&self, header: Header, claims: &Value) -> String {
        encode(&header, claims, &self.key).unwrap()
    }
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Claims of a token from `issuer` for [`AUDIENCE`], valid for five minutes,
/// with `roles` as given.
pub(crate) fn claims(issuer: &str, roles: &[&str]) -> Value {
    json!({ "iss": issuer, "aud": AUDIENCE, "sub": "alice", "iat": now(), "exp": now() + 300, "roles": roles })
}

/// A loopback server answering GETs from a table of paths.
pub(crate) struct TestIdp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) issuer: String,
    routes: Arc<Mutex<HashMap<String, (u16, String)>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    task: JoinHandle<()>,
}

impl TestIdp {
    /// A provider whose discovery document points at `/jwks`, serving
    /// the public keys of `signers`.
    pub(crate) async fn start(signers: &[&Signer]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let routes = Arc::new(Mutex::new(HashMap::new()));
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let task = tokio::spawn(serve(listener, routes.clone(), hits.clone()));
        let idp = Self { issuer, routes, hits, task };
        let discovery = json!({ "issuer": idp.issuer, "jwks_uri": format!("{}/jwks", idp.issuer) });
        idp.set("/.well-known/openid-configuration", 200, discovery.to_string());
        idp.set_keys(signers);
        idp
    }

    /// Serves `body` with `status` at `path`.
    pub(crate) fn set(&self, path: &str, status: u16, body: String) {
        self.routes.lock().insert(path.into(), (status, body));
    }

    /// Serves the public keys of `signers` at `/jwks`.
    pub(crate) fn set_keys(&self, signers: &[&Signer]) {
        let keys: Vec<Value> = signers.iter().map(|s| s.jwk()).collect();
        self.set("/jwks", 200, json!({ "keys": keys }).to_string());
    }

    /// How many requests `path` has had.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().get(path).copied().unwrap_or(0)
    }

    /// A configuration trusting this provider, mapping role `admin` and
    /// `viewer` to those roles, refetching keys at most every `interval`.
    pub(crate) fn config(&self, interval: Duration) -> OAuthConfig {
        let mut config = OAuthConfig::new(&self.issuer, AUDIENCE);
        config.roles.insert("admin".into(), RoleMapping::new(Role::Admin));
        config.roles.insert("viewer".into(), RoleMapping::new(Role::Viewer));
        config.key_refresh_interval = interval;
        config.fetch_timeout = Duration::from_secs(5);
        config
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Routes = Arc<Mutex<HashMap<String, (u16, String)>>>;

async fn serve(listener: TcpListener, routes: Routes, hits: Arc<Mutex<HashMap<String, usize>>>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let routes = routes.clone();
        let hits = hits.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
            *hits.lock().entry(path.clone()).or_default() += 1;
            let (status, body) = routes.lock().get(&path).cloned().unwrap_or((404, "{}".into()));
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}
