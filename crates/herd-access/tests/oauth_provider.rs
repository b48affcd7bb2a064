//! [`Access`] with `[auth.oauth]` against a real OpenID provider (panva's
//! `oidc-provider`, started as herd-auth's tests start it): access tokens
//! become principals of the role their scopes map to, herd tokens still go
//! to the store, and refusals are the transport's 401 and 403 kinds.
#![allow(clippy::unwrap_used)]

#[path = "../../herd-auth/tests/oidc/mod.rs"]
mod oidc;

use herd_access::Access;
use herd_auth::{Identity, Role};
use herd_store::{NewUser, Store};
use herd_transport::http::{AuthError, Authenticate};
use oidc::{AUDIENCE, OTHER, Provider, config, sign_with_own_key, with_bad_signature};

fn invalid(result: Result<herd_auth::Principal, AuthError>) -> String {
    match result {
        Err(AuthError::InvalidToken(why)) => why,
        other => panic!("expected 401 invalid_token, got {other:?}"),
    }
}

#[tokio::test]
async fn access_tokens_map_to_roles_and_herd_tokens_still_work() {
    let idp = Provider::start().await.expect("oidc-provider and Node 22: run scripts/test-deps");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    store.add_user(&NewUser::new("alice", Role::Viewer)).await.unwrap();
    let (_, secret) = store.create_token("alice", None, None).await.unwrap();
    let access = Access::new(store).with_oauth(config(&idp)).unwrap();
    assert_eq!(
        access.resource_metadata(),
        Some("https://herd.test/.well-known/oauth-protected-resource/mcp"),
        "401s name the metadata document"
    );

    for (scope, role) in [("herd:viewer", Role::Viewer), ("herd:operator", Role::Operator), ("herd:admin", Role::Admin)]
    {
        let principal = access.authenticate(Some(&idp.token(AUDIENCE, scope).await)).await.unwrap();
        assert_eq!(principal.role(), role, "{scope}");
        assert_eq!(principal.identity(), &Identity::OAuth { subject: "herd-test".into(), issuer: idp.issuer.clone() });
        if role == Role::Operator {
            assert_eq!(principal.grant().hosts.to_string(), "gpu*,@lab");
        }
    }
    let alice = access.authenticate(Some(secret.expose_secret())).await.unwrap();
    assert_eq!((alice.role(), alice.user_id().is_some()), (Role::Viewer, true), "herd tokens go to the store");

    let unmapped = access.authenticate(Some(&idp.token(AUDIENCE, "herd:unmapped").await)).await;
    assert!(matches!(unmapped, Err(AuthError::InsufficientScope(_))), "{unmapped:?}");
    let other = invalid(access.authenticate(Some(&idp.token(OTHER, "herd:admin").await)).await);
    assert!(other.contains("not meant for this resource"), "{other}");
    let tampered = with_bad_signature(&idp.token(AUDIENCE, "herd:viewer").await);
    assert!(invalid(access.authenticate(Some(&tampered)).await).contains("signature"));
    let forged = sign_with_own_key(&idp.issuer, "not-the-providers");
    assert!(invalid(access.authenticate(Some(&forged)).await).contains("no signing key"));
}
