use crate::support::{TestDb, add, on_both_backends};
use herd_store::{Role, StoreError, Timestamp, TokenStatus, hash_secret};
use std::time::Duration;

on_both_backends!(
    lookup_by_hash_returns_token_and_user,
    revoked_and_expired_tokens_are_found_with_their_status,
    list_tokens_of_everyone_or_one_user,
    import_registers_an_existing_secret,
    tokens_only_for_enabled_existing_users,
    last_used_is_written_at_most_once_a_minute,
);

async fn lookup_by_hash_returns_token_and_user(db: TestDb) {
    let store = db.open().await;
    let alice = add(&store, "alice", Role::Admin).await;
    let (token, secret) = store.create_token("alice", Some("laptop"), None).await.unwrap();
    assert!(secret.expose_secret().starts_with("herd_") && secret.expose_secret().len() >= 5 + 43);
    assert!(token.id.starts_with("tok_"));
    assert_eq!(token.hash, hash_secret(secret.expose_secret()));
    let (found, user) = store.token_by_hash(&hash_secret(secret.expose_secret())).await.unwrap().expect("token found");
    assert_eq!((found, user), (token.clone(), alice));
    assert_eq!(token.status(Timestamp::now()), TokenStatus::Active);
    assert_eq!(store.token_by_hash(&hash_secret("herd_wrong")).await.unwrap(), None);
    // A fresh pool (another replica, a restart) finds it too.
    assert!(db.open().await.token_by_hash(&token.hash).await.unwrap().is_some());
}

async fn revoked_and_expired_tokens_are_found_with_their_status(db: TestDb) {
    let store = db.open().await;
    add(&store, "alice", Role::Admin).await;
    let (token, _) = store.create_token("alice", None, None).await.unwrap();
    let revoked = store.revoke_token(&token.id).await.unwrap();
    let first = revoked.revoked_at.expect("revoked_at set");
    let (found, _) = store.token_by_hash(&token.hash).await.unwrap().expect("revoked token still found");
    assert_eq!(found.status(Timestamp::now()), TokenStatus::Revoked);
    let again = store.revoke_token(&token.id).await.unwrap();
    assert_eq!(again.revoked_at, Some(first), "revoking twice keeps the first time");
    assert!(matches!(store.revoke_token("tok_nothere").await, Err(StoreError::NotFound(_))));

    let past = Timestamp::now().saturating_sub(Duration::from_secs(1));
    let (expired, _) = store.create_token("alice", None, Some(past)).await.unwrap();
    let (found, _) = store.token_by_hash(&expired.hash).await.unwrap().expect("expired token still found");
    assert_eq!(found.expires_at, Some(past));
    assert_eq!(found.status(Timestamp::now()), TokenStatus::Expired);
    assert_eq!(found.status(past.saturating_sub(Duration::from_secs(1))), TokenStatus::Active);
}

async fn list_tokens_of_everyone_or_one_user(db: TestDb) {
    let store = db.open().await;
    add(&store, "alice", Role::Admin).await;
    add(&store, "bob", Role::Viewer).await;
    let (a, _) = store.create_token("alice", Some("a"), None).await.unwrap();
    let (b, _) = store.create_token("bob", Some("b"), None).await.unwrap();
    let all: Vec<String> = store.list_tokens(None).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&a.id) && all.contains(&b.id));
    assert_eq!(store.list_tokens(Some("bob")).await.unwrap(), vec![b]);
    assert!(matches!(store.list_tokens(Some("carol")).await, Err(StoreError::NotFound(_))));
    let listed = serde_json::to_string(&store.list_tokens(None).await.unwrap()).unwrap();
    assert!(!listed.contains("hash"), "listings carry no digest: {listed}");
}

async fn import_registers_an_existing_secret(db: TestDb) {
    let store = db.open().await;
    add(&store, "admin", Role::Admin).await;
    let secret = "0123456789abcdef0123456789abcdef";
    let token = store.import_token("admin", Some("HERD_TOKEN"), secret, None).await.unwrap();
    let (found, user) = store.token_by_hash(&hash_secret(secret)).await.unwrap().expect("imported token found");
    assert_eq!((found.id, user.name.as_str()), (token.id, "admin"));
    let err = store.import_token("admin", None, secret, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    for bad in ["short", "has a space in it, sixteen+", &"x".repeat(513)] {
        let err = store.import_token("admin", None, bad, None).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
        assert!(!err.to_string().contains(bad), "the secret is not echoed: {err}");
    }
}

async fn tokens_only_for_enabled_existing_users(db: TestDb) {
    let store = db.open().await;
    assert!(matches!(store.create_token("nobody", None, None).await, Err(StoreError::NotFound(_))));
    add(&store, "bob", Role::Operator).await;
    let (token, _) = store.create_token("bob", None, None).await.unwrap();
    store.disable_user("bob").await.unwrap();
    assert!(matches!(store.create_token("bob", None, None).await, Err(StoreError::Invalid { .. })));
    let (_, user) = store.token_by_hash(&token.hash).await.unwrap().unwrap();
    assert!(user.disabled, "the lookup tells the caller the user is disabled");
    assert!(matches!(store.create_token("bob", Some("bad\nlabel"), None).await, Err(StoreError::Invalid { .. })));
}

async fn last_used_is_written_at_most_once_a_minute(db: TestDb) {
    let store = db.open().await;
    add(&store, "alice", Role::Admin).await;
    let (token, _) = store.create_token("alice", None, None).await.unwrap();
    let last_used = || async { store.token_by_hash(&token.hash).await.unwrap().unwrap().0.last_used_at };
    let t0 = Timestamp::from_unix_millis(1_800_000_000_000);
    store.mark_token_used(&token.id, t0).await.unwrap();
    assert_eq!(last_used().await, Some(t0));
    store.mark_token_used(&token.id, t0.saturating_add(Duration::from_secs(30))).await.unwrap();
    assert_eq!(last_used().await, Some(t0), "within a minute: not rewritten");
    let later = t0.saturating_add(Duration::from_secs(61));
    store.mark_token_used(&token.id, later).await.unwrap();
    assert_eq!(last_used().await, Some(later));
}
