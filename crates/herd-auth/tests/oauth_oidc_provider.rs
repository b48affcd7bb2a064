//! The OAuth resource server against a real OpenID provider: panva's
//! `oidc-provider` (see `tests/oidc/provider.mjs`), issuing JWT access
//! tokens by client credentials with resource indicators, on loopback.
//!
//! `scripts/test-deps` installs the provider and Node 22 and names them in
//! `.cache/test-deps.env`. Without them these tests fail when `CI` is set,
//! and otherwise say loudly that they did not run.
#![allow(clippy::unwrap_used)]

use herd_auth::oauth::metadata::www_authenticate;
use herd_auth::oauth::{OAuthConfig, OAuthError, OAuthValidator, RoleMapping, TokenProblem};
use herd_auth::{Identity, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The resource under test, and the provider's other two (see provider.mjs).
const AUDIENCE: &str = "https://herd.test/mcp";
const SHORT_LIVED: &str = "https://herd.test/short";
const OTHER: &str = "https://other.test/mcp";

/// Paths of Node 22 and the provider's install directory, or `None` (after
/// saying so) when they are missing outside CI.
fn peers() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = std::env::var_os("HERD_CACHE_DIR").map_or_else(|| root.join(".cache"), PathBuf::from);
    let file = cache.join("test-deps.env");
    let vars: HashMap<String, String> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace('\\', "")))
        .collect();
    let path = |key: &str| vars.get(key).map(PathBuf::from).filter(|p| p.exists());
    match (path("HERD_NODE22"), path("HERD_OIDC_PROVIDER_DIR")) {
        (Some(node), Some(dir)) => Some((node, dir)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("HERD_NODE22 or HERD_OIDC_PROVIDER_DIR missing from {}; run scripts/test-deps", file.display())
        }
        _ => {
            eprintln!("NOT RUN: oidc-provider missing from {}; run scripts/test-deps", file.display());
            None
        }
    }
}

/// A running provider, killed on drop.
struct Provider {
    _child: Child,
    issuer: String,
    http: reqwest::Client,
}

impl Provider {
    async fn start() -> Option<Self> {
        let (node, dir) = peers()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
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
    async fn token(&self, resource: &str, scope: &str) -> String {
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

    /// herd's configuration for this provider: `scope` holds the roles.
    fn config(&self) -> OAuthConfig {
        let mut config = OAuthConfig::new(&self.issuer, AUDIENCE);
        config.roles_claim = "scope".into();
        config.roles.insert("herd:admin".into(), RoleMapping::new(Role::Admin));
        let lab = RoleMapping { hosts: "gpu*,@lab".parse().unwrap(), ..RoleMapping::new(Role::Operator) };
        config.roles.insert("herd:operator".into(), lab);
        config.roles.insert("herd:viewer".into(), RoleMapping::new(Role::Viewer));
        config
    }

    fn validator(&self) -> OAuthValidator {
        OAuthValidator::new(self.config()).unwrap()
    }
}

fn refusal(result: Result<herd_auth::Principal, OAuthError>) -> OAuthError {
    result.expect_err("the token must be refused")
}

#[tokio::test]
async fn a_token_from_the_provider_is_accepted_with_its_mapped_role() {
    let Some(idp) = Provider::start().await else { return };
    let validator = idp.validator();
    let operator = validator.validate(&idp.token(AUDIENCE, "herd:operator").await).await.unwrap();
    assert_eq!(operator.role(), Role::Operator);
    assert_eq!(operator.grant().hosts.to_string(), "gpu*,@lab");
    assert_eq!(operator.identity(), &Identity::OAuth { subject: "herd-test".into(), issuer: idp.issuer.clone() });
    let both = validator.validate(&idp.token(AUDIENCE, "herd:viewer herd:admin").await).await.unwrap();
    assert_eq!(both.role(), Role::Admin);
    assert_eq!(validator.key_fetches(), 1, "keys are fetched once and cached");
}

#[tokio::test]
async fn a_token_for_another_resource_is_refused_with_401() {
    let Some(idp) = Provider::start().await else { return };
    let err = refusal(idp.validator().validate(&idp.token(OTHER, "herd:admin").await).await);
    assert_eq!(err, OAuthError::InvalidToken(TokenProblem::Audience));
    assert_eq!(err.status(), 401);
    let url = idp.config().metadata_location().unwrap().url;
    assert_eq!(
        www_authenticate(&url, Some(&err)),
        "Bearer resource_metadata=\"https://herd.test/.well-known/oauth-protected-resource/mcp\", \
         error=\"invalid_token\", error_description=\"the token is not meant for this resource\""
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_with_401() {
    let Some(idp) = Provider::start().await else { return };
    let mut config = idp.config();
    config.audience = SHORT_LIVED.into();
    config.leeway_secs = 0;
    let validator = OAuthValidator::new(config).unwrap();
    let token = idp.token(SHORT_LIVED, "herd:admin").await;
    // The token lives one second; wait until it is surely past.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(refusal(validator.validate(&token).await), OAuthError::InvalidToken(TokenProblem::Expired));
    let fresh = idp.token(SHORT_LIVED, "herd:admin").await;
    assert_eq!(validator.validate(&fresh).await.map(|p| p.role()), Ok(Role::Admin), "a fresh one passes");
}

#[tokio::test]
async fn an_unknown_kid_is_refused_and_refreshes_the_keys_once() {
    let Some(idp) = Provider::start().await else { return };
    let mut config = idp.config();
    config.key_refresh_interval = Duration::from_secs(1);
    let validator = OAuthValidator::new(config).unwrap();
    let good = idp.token(AUDIENCE, "herd:admin").await;
    validator.validate(&good).await.unwrap();
    assert_eq!(validator.key_fetches(), 1);
    // Let the refresh interval pass, then present tokens of a key the
    // provider never had.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let forged = sign_with_own_key(&idp.issuer, "not-the-providers");
    for _ in 0..5 {
        let err = refusal(validator.validate(&forged).await);
        assert_eq!(err, OAuthError::InvalidToken(TokenProblem::UnknownKey));
        assert_eq!(err.status(), 401);
    }
    assert_eq!(validator.key_fetches(), 2, "five unknown kids, one refresh");
    assert!(validator.validate(&good).await.is_ok());
}

#[tokio::test]
async fn a_tampered_token_is_refused_with_401() {
    let Some(idp) = Provider::start().await else { return };
    let validator = idp.validator();
    let token = idp.token(AUDIENCE, "herd:viewer").await;
    let parts: Vec<&str> = token.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let mut signature = b64.decode(parts[2]).unwrap();
    signature[0] ^= 0x80;
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], b64.encode(signature));
    assert_eq!(refusal(validator.validate(&bad_signature).await), OAuthError::InvalidToken(TokenProblem::Signature));

    let claims = String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap();
    assert!(claims.contains("herd:viewer"), "{claims}");
    let escalated = b64.encode(claims.replace("herd:viewer", "herd:admin"));
    let bad_claims = format!("{}.{escalated}.{}", parts[0], parts[2]);
    assert_eq!(refusal(validator.validate(&bad_claims).await), OAuthError::InvalidToken(TokenProblem::Signature));

    assert_eq!(validator.validate(&token).await.map(|p| p.role()), Ok(Role::Viewer), "the original still passes");
}

#[tokio::test]
async fn a_scope_that_maps_to_no_role_is_403_insufficient_scope() {
    let Some(idp) = Provider::start().await else { return };
    let err = refusal(idp.validator().validate(&idp.token(AUDIENCE, "herd:unmapped").await).await);
    assert_eq!(err, OAuthError::InsufficientScope("no value of the scope claim maps to a herd role".into()));
    assert_eq!(err.status(), 403);
    assert!(www_authenticate("https://h/m", Some(&err)).contains("error=\"insufficient_scope\""));
}

/// A well-formed token for the provider's issuer and herd's audience, signed
/// by a key the provider never published.
fn sign_with_own_key(issuer: &str, kid: &str) -> String {
    let alg = &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(alg, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({ "iss": issuer, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300, "scope": "herd:admin" });
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(pkcs8.as_ref())).unwrap()
}
