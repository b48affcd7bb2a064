//! A hub in OAuth resource-server mode (`[auth.oauth]` in its config file)
//! against a real OpenID provider: panva's `oidc-provider`, started as
//! herd-auth's tests start it (`crates/herd-auth/tests/oidc/`), issuing JWT
//! access tokens by client credentials for resource indicators, on loopback.
//!
//! Checked over the wire: the RFC 9728 document at its well-known path,
//! `WWW-Authenticate` naming it on every 401, a valid token opening a
//! session, a wrong audience, an expired token, an unknown key and a bad
//! signature refused with 401 `invalid_token`, a token whose scopes map to
//! no role refused with 403 `insufficient_scope`. (Which role each claim
//! value maps to is checked in herd-auth against the same provider.)

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::Herd;

#[path = "../../herd-auth/tests/oidc/mod.rs"]
mod oidc;

use oidc::{AUDIENCE, OTHER, Provider, SHORT_LIVED, sign_with_own_key, with_bad_signature};

const METADATA_URL: &str = "https://herd.test/.well-known/oauth-protected-resource/mcp";

/// A hub over a conformance server whose config has `[auth.oauth]` for
/// `idp`; keep all three alive.
async fn hub(idp: &Provider) -> (Herd, Herd, tempfile::TempDir) {
    let backend = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("hosts.toml");
    let text = format!(
        "[[hosts]]\nname = \"conformance\"\nurl = \"{}\"\nexpose = {{}}\n\n\
         [auth.oauth]\nissuer = \"{}\"\naudience = \"{AUDIENCE}\"\nroles_claim = \"scope\"\nleeway_secs = 0\n\n\
         [auth.oauth.roles]\n\"herd:admin\" = {{ role = \"admin\" }}\n\"herd:viewer\" = {{ role = \"viewer\" }}\n",
        backend.url, idp.issuer
    );
    std::fs::write(&config, text).unwrap();
    let home_text = home.path().to_str().unwrap();
    let args = ["hub", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    let hub = Herd::start_with_env(&args, &[("HERD_HOME", home_text)]).await;
    (hub, backend, home)
}

/// `POST initialize` with `token`: the status and `WWW-Authenticate`.
async fn initialize(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .timeout(Duration::from_secs(30))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "oauth-test", "version": "1"}}})
            .to_string(),
        );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status().as_u16(), challenge)
}

/// Asserts a 401 `invalid_token` whose description contains `why`.
async fn refused_401(url: &str, token: &str, why: &str) {
    let (status, challenge) = initialize(url, Some(token)).await;
    assert_eq!(status, 401, "{why}: {challenge}");
    assert!(challenge.contains(&format!(r#"resource_metadata="{METADATA_URL}""#)), "{challenge}");
    assert!(challenge.contains(r#"error="invalid_token""#) && challenge.contains(why), "{why}: {challenge}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hub_serves_oauth_metadata_and_judges_access_tokens() {
    let idp = Provider::start().await.expect("oidc-provider and Node 22: run scripts/test-deps");
    let (hub, _backend, _home) = hub(&idp).await;

    // The metadata document, without a token.
    let origin = hub.url.trim_end_matches("/mcp");
    let document = reqwest::get(format!("{origin}/.well-known/oauth-protected-resource/mcp")).await.unwrap();
    assert_eq!(document.status(), 200);
    let document: Value = serde_json::from_slice(&document.bytes().await.unwrap()).unwrap();
    assert_eq!(document["resource"], AUDIENCE, "{document}");
    assert_eq!(document["authorization_servers"], json!([idp.issuer]), "{document}");

    // No token: 401 naming the document, without an error code.
    let (status, challenge) = initialize(&hub.url, None).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(&format!(r#"resource_metadata="{METADATA_URL}""#)), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");

    // Valid tokens whose scopes map to a role open a session.
    for scope in ["herd:viewer", "herd:admin"] {
        let (status, challenge) = initialize(&hub.url, Some(&idp.token(AUDIENCE, scope).await)).await;
        assert_eq!(status, 200, "{scope}: {challenge}");
    }
    // A valid token whose scopes map to no role: 403.
    let (status, challenge) = initialize(&hub.url, Some(&idp.token(AUDIENCE, "herd:unmapped").await)).await;
    assert_eq!(status, 403, "{challenge}");
    assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");

    // Refused with 401: another resource's token, a tampered one, one of a
    // key the provider never had.
    refused_401(&hub.url, &idp.token(OTHER, "herd:admin").await, "not meant for this resource").await;
    let tampered = with_bad_signature(&idp.token(AUDIENCE, "herd:viewer").await);
    refused_401(&hub.url, &tampered, "signature does not verify").await;
    refused_401(&hub.url, &sign_with_own_key(&idp.issuer, "not-the-providers"), "no signing key").await;

    // An expired token (the provider makes these live one second).
    let short = idp.token(SHORT_LIVED, "herd:admin").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    refused_401(&hub.url, &short, "expired").await;
}
