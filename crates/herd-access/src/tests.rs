//! The store-backed authenticator against a real SQLite store.

use super::*;
use herd_auth::{Identity, Role};
use herd_store::{NewUser, Timestamp, UserChange};
use std::time::Duration;

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    (store, dir)
}

async fn user(store: &Store, name: &str, role: Role, hosts: &[&str]) {
    let mut new = NewUser::new(name, role);
    new.hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
    store.add_user(&new).await.unwrap();
}

fn refused(result: Result<Principal, AuthError>) -> String {
    match result {
        Err(AuthError::InvalidToken(why)) => why,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_gives_its_user_role_and_grant() {
    let (store, _dir) = store().await;
    user(&store, "alice", Role::Operator, &["gpu*", "@lab"]).await;
    let (record, secret) = store.create_token("alice", None, None).await.unwrap();
    let access = Access::new(store.clone());
    let principal = access.check(Some(secret.expose_secret())).await.unwrap();
    assert_eq!(principal.role(), Role::Operator);
    assert_eq!(principal.grant().hosts.to_string(), "gpu*,@lab");
    assert!(principal.grant().tools.is_all());
    match principal.identity() {
        Identity::User { name, token_id, .. } => {
            assert_eq!((name.as_str(), &*token_id.0), ("alice", record.id.as_str()))
        }
        other => panic!("{other:?}"),
    }
    // Cached: the same principal again.
    assert_eq!(access.check(Some(secret.expose_secret())).await.unwrap(), principal);
    assert_eq!(access.check(None).await, Err(AuthError::Missing));
    assert_eq!(refused(access.check(Some("herd_unknown")).await), "unknown token");
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_after_invalidation() {
    let (store, _dir) = store().await;
    user(&store, "alice", Role::Admin, &[]).await;
    let (record, secret) = store.create_token("alice", None, None).await.unwrap();
    let access = Access::new(store.clone());
    access.check(Some(secret.expose_secret())).await.unwrap();
    store.revoke_token(&record.id).await.unwrap();
    access.invalidate_token(&record.id);
    assert_eq!(refused(access.check(Some(secret.expose_secret())).await), "the token was revoked");
}

#[tokio::test]
async fn a_disabled_user_is_refused_after_invalidation() {
    let (store, _dir) = store().await;
    user(&store, "bob", Role::Viewer, &[]).await;
    let (_, secret) = store.create_token("bob", None, None).await.unwrap();
    let access = Access::new(store.clone());
    let bob = access.check(Some(secret.expose_secret())).await.unwrap();
    store.set_user("bob", &UserChange { disabled: Some(true), ..UserChange::default() }).await.unwrap();
    access.invalidate_user(bob.user_id().unwrap().0);
    assert_eq!(refused(access.check(Some(secret.expose_secret())).await), "the token's user is disabled");
}

#[tokio::test]
async fn an_expired_token_is_refused_even_while_cached() {
    let (store, _dir) = store().await;
    user(&store, "carol", Role::Operator, &[]).await;
    let expires = Timestamp::now().saturating_add(Duration::from_millis(300));
    let (_, secret) = store.create_token("carol", None, Some(expires)).await.unwrap();
    let access = Access::new(store.clone());
    access.check(Some(secret.expose_secret())).await.unwrap();
    // Wait past the expiry (well within the cache's lifetime).
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(refused(access.check(Some(secret.expose_secret())).await), "the token has expired");
}

#[tokio::test]
async fn imported_secrets_and_use_marks_work() {
    let (store, _dir) = store().await;
    user(&store, "admin", Role::Admin, &[]).await;
    let legacy = "0123456789abcdef0123456789abcdef";
    let record = store.import_token("admin", Some("HERD_TOKEN"), legacy, None).await.unwrap();
    let access = Access::new(store.clone());
    assert_eq!(access.check(Some(legacy)).await.unwrap().role(), Role::Admin);
    // The use is recorded off the request path, once.
    for _ in 0..100 {
        let tokens = store.list_tokens(Some("admin")).await.unwrap();
        if tokens.iter().any(|t| t.id == record.id && t.last_used_at.is_some()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("last_used_at was never written");
}

#[test]
fn only_jwt_shaped_tokens_go_to_oauth() {
    assert!(is_jwt_shaped("eyJh.eyJz.sig"));
    assert!(!is_jwt_shaped("0123456789abcdef0123456789abcdef"));
    assert!(!is_jwt_shaped(&format!("herd_{}", "A".repeat(43))));
    assert!(!is_jwt_shaped("a.b"));
}

#[tokio::test]
async fn the_server_token_is_the_operator_and_users_keep_their_own_principals() {
    let (store, _dir) = store().await;
    user(&store, "alice", Role::Viewer, &[]).await;
    let (_, secret) = store.create_token("alice", None, None).await.unwrap();
    let access = Access::new(store.clone()).with_server_token("the-hubs-credential".into());
    let hub = access.check(Some("the-hubs-credential")).await.unwrap();
    assert_eq!(hub, Principal::anonymous_admin());
    let alice = access.check(Some(secret.expose_secret())).await.unwrap();
    assert_eq!(alice.role(), Role::Viewer);
    assert_eq!(refused(access.check(Some("the-hubs-credentia")).await), "unknown token");
    // Without it, the same string is just an unknown token.
    assert_eq!(refused(Access::new(store).check(Some("the-hubs-credential")).await), "unknown token");
}
