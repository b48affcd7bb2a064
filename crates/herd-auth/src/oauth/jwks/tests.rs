use super::*;
use crate::oauth::test_idp::{Signer, TestIdp};

fn doc(keys: Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()
}

#[test]
fn key_sets_keep_only_asymmetric_signing_keys_of_accepted_algorithms() {
    let es = Signer::es256("es").jwk();
    let ed = Signer::ed25519("ed").jwk();
    let mut enc = es.clone();
    enc["use"] = "enc".into();
    enc["kid"] = "enc".into();
    let mut mislabelled = es.clone();
    mislabelled["alg"] = "RS256".into();
    mislabelled["kid"] = "mislabelled".into();
    let mut es384 = es.clone();
    es384["crv"] = "P-384".into();
    es384["alg"] = "ES384".into();
    es384["kid"] = "es384".into();
    let rsa = serde_json::json!({ "kty": "RSA", "kid": "rsa", "n": "sXch", "e": "AQAB" });
    let hmac = serde_json::json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" });
    let odd = serde_json::json!({ "kty": "weird", "kid": "odd" });
    let keys = parse_key_set(&doc(serde_json::json!([es, ed, enc, mislabelled, es384, rsa, hmac, odd, 7]))).unwrap();
    let kept: Vec<(Option<&str>, &[Algorithm])> = keys.iter().map(|k| (k.kid.as_deref(), &k.algorithms[..])).collect();
    assert_eq!(
        kept,
        [
            (Some("es"), &[Algorithm::ES256][..]),
            (Some("ed"), &[Algorithm::EdDSA][..]),
            (Some("rsa"), &[Algorithm::RS256, Algorithm::PS256][..]),
        ]
    );
    let only_hmac = doc(serde_json::json!([{ "kty": "oct", "k": "c2VjcmV0", "alg": "HS256" }]));
    assert!(matches!(parse_key_set(&only_hmac), Err(FetchError::NoUsableKeys)));
    assert!(matches!(parse_key_set(b"{\"keys\": 1}"), Err(FetchError::Json { .. })));
}

#[test]
fn keys_are_found_by_kid_or_as_the_only_key_for_the_algorithm() {
    let one = parse_key_set(&doc(serde_json::json!([Signer::es256("a").jwk()]))).unwrap();
    let set = KeySet { keys: one, fetched: None };
    assert!(set.find(Some("a"), Algorithm::ES256).is_some());
    assert!(set.find(Some("a"), Algorithm::RS256).is_none());
    assert!(set.find(Some("b"), Algorithm::ES256).is_none());
    assert!(set.find(None, Algorithm::ES256).is_some());
    let two = parse_key_set(&doc(serde_json::json!([Signer::es256("a").jwk(), Signer::es256("b").jwk()]))).unwrap();
    assert!(KeySet { keys: two, fetched: None }.find(None, Algorithm::ES256).is_none());
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let (a, b) = (Signer::es256("a"), Signer::es256("b"));
    let idp = TestIdp::start(&[&a]).await;
    let jwks = Jwks::new(&idp.config(Duration::from_millis(200))).unwrap();
    assert!(jwks.key(Some("a"), Algorithm::ES256).await.is_ok());
    assert_eq!((jwks.fetches(), idp.hits("/jwks")), (1, 1));
    // Fetched just now: a flood of unknown kids fetches nothing.
    for kid in ["x", "y", "z"] {
        assert_eq!(jwks.key(Some(kid), Algorithm::ES256).await.err(), Some(KeyError::Unknown));
    }
    assert_eq!((jwks.fetches(), idp.hits("/jwks")), (1, 1));
    // The provider rotates; once the interval has passed, the new kid is fetched.
    idp.set_keys(&[&b]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(jwks.key(Some("b"), Algorithm::ES256).await.is_ok());
    assert!(jwks.key(Some("x"), Algorithm::ES256).await.is_err());
    assert_eq!((jwks.fetches(), idp.hits("/jwks"), idp.hits("/.well-known/openid-configuration")), (2, 2, 2));
}

#[tokio::test]
async fn old_keys_are_refetched_so_a_dropped_key_stops_working_unless_the_fetch_fails() {
    let (a, b) = (Signer::es256("a"), Signer::es256("b"));
    let idp = TestIdp::start(&[&a, &b]).await;
    let mut config = idp.config(Duration::ZERO);
    config.key_max_age = Duration::ZERO;
    let jwks = Jwks::new(&config).unwrap();
    assert!(jwks.key(Some("a"), Algorithm::ES256).await.is_ok());
    idp.set("/jwks", 500, "{}".into());
    assert!(jwks.key(Some("a"), Algorithm::ES256).await.is_ok(), "old keys serve while fetching fails");
    idp.set_keys(&[&b]);
    assert_eq!(jwks.key(Some("a"), Algorithm::ES256).await.err(), Some(KeyError::Unknown));
    assert!(jwks.key(Some("b"), Algorithm::ES256).await.is_ok());
}

#[tokio::test]
async fn providers_that_misbehave_give_no_keys() {
    let a = Signer::es256("a");
    let idp = TestIdp::start(&[&a]).await;
    let discovery = "/.well-known/openid-configuration";
    let cases = [
        (
            discovery,
            200,
            serde_json::json!({ "issuer": "https://evil", "jwks_uri": format!("{}/jwks", idp.issuer) }).to_string(),
        ),
        (
            discovery,
            200,
            serde_json::json!({ "issuer": idp.issuer, "jwks_uri": "http://evil.example.com/jwks" }).to_string(),
        ),
        (discovery, 404, "{}".to_owned()),
        ("/jwks", 200, format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(MAX_DOCUMENT_BYTES))),
        ("/jwks", 200, "not json".to_owned()),
    ];
    for (path, status, body) in cases {
        let idp = TestIdp::start(&[&a]).await;
        idp.set(path, status, body.clone());
        let jwks = Jwks::new(&idp.config(Duration::from_secs(3600))).unwrap();
        let got = jwks.key(Some("a"), Algorithm::ES256).await.err();
        assert_eq!(got, Some(KeyError::Unavailable), "{path} {status} {}", &body[..body.len().min(80)]);
        assert_eq!(jwks.fetches(), 1);
    }
}

#[tokio::test]
async fn a_provider_that_never_answers_costs_one_deadline_per_interval() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let mut config = OAuthConfig::new(issuer, "https://herd.test/mcp");
    config.fetch_timeout = Duration::from_millis(300);
    let jwks = Jwks::new(&config).unwrap();
    let guard = Duration::from_secs(20);
    let first =
        tokio::time::timeout(guard, jwks.key(Some("a"), Algorithm::ES256)).await.expect("bounded by the deadline");
    assert_eq!(first.err(), Some(KeyError::Unavailable));
    let second = tokio::time::timeout(guard, jwks.key(Some("a"), Algorithm::ES256)).await.expect("no second wait");
    assert_eq!(second.err(), Some(KeyError::Unavailable));
    assert_eq!(jwks.fetches(), 1);
    held.abort();
}
