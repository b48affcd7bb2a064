use super::*;
use crate::Role;
use crate::oauth::test_idp::{AUDIENCE, Signer, TestIdp, claims, now};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::time::Duration;

async fn setup() -> (Signer, TestIdp, OAuthValidator) {
    let signer = Signer::es256("k1");
    let idp = TestIdp::start(&[&signer]).await;
    let validator = OAuthValidator::new(idp.config(Duration::from_secs(3600))).unwrap();
    (signer, idp, validator)
}

fn refused(problem: TokenProblem) -> Result<Role, OAuthError> {
    Err(OAuthError::InvalidToken(problem))
}

#[tokio::test]
async fn a_valid_token_becomes_an_oauth_principal_with_its_mapped_role() {
    let (signer, idp, validator) = setup().await;
    let principal = validator.validate(&signer.sign(&claims(&idp.issuer, &["viewer"]))).await.unwrap();
    assert_eq!(principal.role(), Role::Viewer);
    assert_eq!(principal.identity(), &Identity::OAuth { subject: "alice".into(), issuer: idp.issuer.clone() });
    let admin = validator.validate(&signer.sign(&claims(&idp.issuer, &["viewer", "admin"]))).await.unwrap();
    assert_eq!(admin.role(), Role::Admin);
    assert_eq!(validator.key_fetches(), 1);
}

#[tokio::test]
async fn tokens_failing_a_claim_check_are_refused_by_name() {
    let (signer, idp, validator) = setup().await;
    let good = claims(&idp.issuer, &["admin"]);
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let cases = [
        (with("iss", json!("https://other.example.com")), refused(TokenProblem::Issuer)),
        (with("aud", json!("https://other.test/mcp")), refused(TokenProblem::Audience)),
        (with("aud", json!(["https://other.test/mcp", AUDIENCE])), Ok(Role::Admin)),
        (with("exp", json!(now() - 100)), refused(TokenProblem::Expired)),
        (with("exp", json!(now() - 10)), Ok(Role::Admin)),
        (with("nbf", json!(now() + 100)), refused(TokenProblem::NotYetValid)),
        (with("nbf", json!(now() + 10)), Ok(Role::Admin)),
        (without("exp"), refused(TokenProblem::MissingClaim("exp".into()))),
        (without("aud"), refused(TokenProblem::MissingClaim("aud".into()))),
        (without("sub"), refused(TokenProblem::MissingClaim("sub".into()))),
        (with("sub", json!("")), refused(TokenProblem::BadClaim("sub".into()))),
        (with("roles", json!({ "admin": true })), refused(TokenProblem::BadClaim("roles".into()))),
        (
            with("roles", json!(["nobody"])),
            Err(OAuthError::InsufficientScope("no value of the roles claim maps to a herd role".into())),
        ),
    ];
    for (claims, expected) in cases {
        let got = validator.validate(&signer.sign(&claims)).await.map(|p| p.role());
        assert_eq!(got, expected, "{claims}");
    }
}

#[tokio::test]
async fn signatures_and_algorithms_are_checked() {
    let (signer, idp, validator) = setup().await;
    let good = signer.sign(&claims(&idp.issuer, &["admin"]));
    let (head, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();

    let forged_claims = URL_SAFE_NO_PAD.encode(claims(&idp.issuer, &["admin"]).to_string().replace("alice", "mallory"));
    let tampered_payload = format!("{head}.{forged_claims}.{signature}");
    assert_eq!(validator.validate(&tampered_payload).await.map(|p| p.role()), refused(TokenProblem::Signature));

    let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    sig[10] ^= 1;
    let tampered_sig = format!("{head}.{}.{}", rest.split_once('.').unwrap().0, URL_SAFE_NO_PAD.encode(sig));
    assert_eq!(validator.validate(&tampered_sig).await.map(|p| p.role()), refused(TokenProblem::Signature));

    // Another key claiming the provider's kid.
    let impostor = Signer::es256("k1");
    let forged = impostor.sign(&claims(&idp.issuer, &["admin"]));
    assert_eq!(validator.validate(&forged).await.map(|p| p.role()), refused(TokenProblem::Signature));

    // HMAC keyed with the provider's public key: the classic confusion.
    let public = serde_json::to_vec(&signer.jwk()).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let hmac = encode(&header, &claims(&idp.issuer, &["admin"]), &EncodingKey::from_secret(&public).unwrap()).unwrap();
    assert_eq!(validator.validate(&hmac).await.map(|p| p.role()), refused(TokenProblem::Algorithm("HS256".into())));

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", rest.split_once('.').unwrap().0);
    assert_eq!(validator.validate(&unsigned).await.map(|p| p.role()), refused(TokenProblem::Malformed));

    let mut crit = Header::new(Algorithm::ES256);
    crit.kid = Some("k1".into());
    crit.crit = Some(vec!["exp".into()]);
    let critical = signer.sign_with(crit, &claims(&idp.issuer, &["admin"]));
    assert_eq!(validator.validate(&critical).await.map(|p| p.role()), refused(TokenProblem::CriticalHeader));

    for junk in ["", "a.b", "a.b.c", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
        assert_eq!(validator.validate(junk).await.map(|p| p.role()), refused(TokenProblem::Malformed), "{junk:.20}");
    }
    assert_eq!(validator.validate(&good).await.map(|p| p.role()), Ok(Role::Admin));
}

#[tokio::test]
async fn kids_pick_the_key_and_a_lone_key_serves_tokens_without_one() {
    let (es, ed) = (Signer::es256("es"), Signer::ed25519("ed"));
    let idp = TestIdp::start(&[&es, &ed]).await;
    let validator = OAuthValidator::new(idp.config(Duration::from_secs(3600))).unwrap();
    let token = ed.sign(&claims(&idp.issuer, &["viewer"]));
    assert_eq!(validator.validate(&token).await.map(|p| p.role()), Ok(Role::Viewer));
    let no_kid = es.sign_with(Header::new(Algorithm::ES256), &claims(&idp.issuer, &["viewer"]));
    assert_eq!(validator.validate(&no_kid).await.map(|p| p.role()), Ok(Role::Viewer), "one ES256 key");
    let unknown = Signer::es256("unknown").sign(&claims(&idp.issuer, &["viewer"]));
    assert_eq!(validator.validate(&unknown).await.map(|p| p.role()), refused(TokenProblem::UnknownKey));
}

#[tokio::test]
async fn no_keys_at_all_is_unavailable_not_invalid() {
    let (signer, idp, validator) = setup().await;
    idp.set("/jwks", 503, "{}".into());
    let got = validator.validate(&signer.sign(&claims(&idp.issuer, &["viewer"]))).await;
    assert_eq!(got.map(|p| p.role()), Err(OAuthError::KeysUnavailable));
    assert_eq!(OAuthError::KeysUnavailable.status(), 503);
}

#[test]
fn validators_refuse_configurations_that_fail_their_checks() {
    let config = crate::oauth::OAuthConfig::new("https://idp.example.com", AUDIENCE);
    assert_eq!(OAuthValidator::new(config).err(), Some(ConfigError::NoRoles));
}
