//! The OAuth resource server against a real OpenID provider: panva's
//! `oidc-provider` (see `tests/oidc/provider.mjs`), issuing JWT access
//! tokens by client credentials with resource indicators, on loopback.
//!
//! `scripts/test-deps` installs the provider and Node 22 and names them in
//! `.cache/test-deps.env` (`oidc/mod.rs` starts it). Without them these
//! tests fail when `CI` is set, and otherwise say loudly that they did not
//! run.
#![allow(clippy::unwrap_used)]

use herd_auth::oauth::metadata::www_authenticate;
use herd_auth::oauth::{OAuthError, OAuthValidator, TokenProblem};
use herd_auth::{Identity, Role};
use std::time::Duration;

mod oidc;

use oidc::{AUDIENCE, OTHER, Provider, SHORT_LIVED, config, sign_with_own_key, with_bad_signature};

/// The provider, or `None` (after saying so) when it is missing outside CI.
async fn provider() -> Option<Provider> {
    let provider = Provider::start().await;
    if provider.is_none() {
        assert!(std::env::var_os("CI").is_none(), "oidc-provider or Node 22 missing; run scripts/test-deps");
        eprintln!("NOT RUN: oidc-provider missing; run scripts/test-deps");
    }
    provider
}

fn validator(idp: &Provider) -> OAuthValidator {
    OAuthValidator::new(config(idp)).unwrap()
}

fn refusal(result: Result<herd_auth::Principal, OAuthError>) -> OAuthError {
    result.expect_err("the token must be refused")
}

#[tokio::test]
async fn a_token_from_the_provider_is_accepted_with_its_mapped_role() {
    let Some(idp) = provider().await else { return };
    let validator = validator(&idp);
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
    let Some(idp) = provider().await else { return };
    let err = refusal(validator(&idp).validate(&idp.token(OTHER, "herd:admin").await).await);
    assert_eq!(err, OAuthError::InvalidToken(TokenProblem::Audience));
    assert_eq!(err.status(), 401);
    let url = config(&idp).metadata_location().unwrap().url;
    assert_eq!(
        www_authenticate(&url, Some(&err)),
        "Bearer resource_metadata=\"https://herd.test/.well-known/oauth-protected-resource/mcp\", \
         error=\"invalid_token\", error_description=\"the token is not meant for this resource\""
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_with_401() {
    let Some(idp) = provider().await else { return };
    let mut config = config(&idp);
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
    let Some(idp) = provider().await else { return };
    let mut config = config(&idp);
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
    let Some(idp) = provider().await else { return };
    let validator = validator(&idp);
    let token = idp.token(AUDIENCE, "herd:viewer").await;
    let parts: Vec<&str> = token.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let bad_signature = with_bad_signature(&token);
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
    let Some(idp) = provider().await else { return };
    let err = refusal(validator(&idp).validate(&idp.token(AUDIENCE, "herd:unmapped").await).await);
    assert_eq!(err, OAuthError::InsufficientScope("no value of the scope claim maps to a herd role".into()));
    assert_eq!(err.status(), 403);
    assert!(www_authenticate("https://h/m", Some(&err)).contains("error=\"insufficient_scope\""));
}
