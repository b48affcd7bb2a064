//! A real OpenID provider for tests: panva's `oidc-provider` run by
//! `provider.mjs` beside this file, issuing JWT access tokens by client
//! credentials with resource indicators, on loopback. Shared by the tests
//! of every crate that judges access tokens (`#[path]`-included), so there
//! is one way to start it.
//!
//! `scripts/test-deps` installs the provider and Node 22 and names them in
//! `.cache/test-deps.env` (or `$HERD_CACHE_DIR/test-deps.env`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The resource under test (300 s tokens), the same with 1 s tokens, and
/// another resource (see provider.mjs).
pub const AUDIENCE: &str = "https://herd.test/mcp";
pub const SHORT_LIVED: &str = "https://herd.test/short";
pub const OTHER: &str = "https://other.test/mcp";

/// The workspace root, from whichever crate includes this file.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Paths of Node 22 and the provider's install directory, or `None` when
/// `scripts/test-deps` has not installed them.
pub fn peers() -> Option<(PathBuf, PathBuf)> {
    let cache = std::env::var_os("HERD_CACHE_DIR").map_or_else(|| workspace().join(".cache"), PathBuf::from);
    let vars: HashMap<String, String> = std::fs::read_to_string(cache.join("test-deps.env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace('\\', "")))
        .collect();
    let path = |key: &str| vars.get(key).map(PathBuf::from).filter(|p| p.exists());
    Some((path("HERD_NODE22")?, path("HERD_OIDC_PROVIDER_DIR")?))
}

/// A running provider, killed on drop.
pub struct Provider {
    _child: Child,
    pub issuer: String,
    http: reqwest::Client,
}

impl Provider {
    /// Starts the provider; `None` when it is not installed.
    pub async fn start() -> Option<Self> {
        let (node, dir) = peers()?;
        let script = workspace().join("crates/herd-auth/tests/oidc/provider.mjs");
        let mut child = Command::new(node)
            .arg(script)
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider prints its issuer within 30 s")
            .expect("stdout readable")
            .expect("the provider printed a line");
        let ready: Value = serde_json::from_str(&line).expect("a JSON ready line");
        let issuer = ready["issuer"].as_str().expect("issuer").to_owned();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        Some(Self { _child: child, issuer, http })
    }

    /// An access token for `resource` with `scope`, by client credentials.
    pub async fn token(&self, resource: &str, scope: &str) -> String {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", "herd-test")
            .append_pair("client_secret", "herd-test-secret")
            .append_pair("resource", resource)
            .append_pair("scope", scope)
            .finish();
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert!(status.is_success(), "token endpoint said {status}: {answer}");
        answer["access_token"].as_str().expect("access_token").to_owned()
    }
}

/// herd's configuration for `idp`: the `scope` claim holds the roles;
/// `herd:operator` is narrowed to `gpu*,@lab`, `herd:unmapped` maps to none.
pub fn config(idp: &Provider) -> herd_auth::oauth::OAuthConfig {
    use herd_auth::Role;
    use herd_auth::oauth::{OAuthConfig, RoleMapping};
    let mut config = OAuthConfig::new(&idp.issuer, AUDIENCE);
    config.roles_claim = "scope".into();
    config.roles.insert("herd:admin".into(), RoleMapping::new(Role::Admin));
    let lab = RoleMapping { hosts: "gpu*,@lab".parse().unwrap(), ..RoleMapping::new(Role::Operator) };
    config.roles.insert("herd:operator".into(), lab);
    config.roles.insert("herd:viewer".into(), RoleMapping::new(Role::Viewer));
    config
}

/// A well-formed token for `issuer` and [`AUDIENCE`], signed by a key the
/// provider never published, with key id `kid`.
pub fn sign_with_own_key(issuer: &str, kid: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let alg = &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(alg, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({ "iss": issuer, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300, "scope": "herd:admin" });
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(pkcs8.as_ref())).unwrap()
}

/// `token` with one bit of its signature flipped.
pub fn with_bad_signature(token: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut signature = b64.decode(parts[2]).unwrap();
    signature[0] ^= 0x80;
    format!("{}.{}.{}", parts[0], parts[1], b64.encode(signature))
}
