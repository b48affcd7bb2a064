//! A herd token to a principal through the store.

use crate::LOOKUP_DEADLINE;
use crate::cache::Cache;
use herd_auth::token::token_hash;
use herd_auth::{Grant, Identity, Principal, TokenId, UserId};
use herd_store::{LAST_USED_GRANULARITY, Store, Timestamp, TokenRecord, TokenStatus, User};
use herd_transport::http::AuthError;

/// The principal of `token`, from the cache or the store.
///
/// # Cancel safety
/// Cancel-safe: a dropped lookup leaves the cache as it was.
pub(crate) async fn principal(store: &Store, cache: &Cache, token: &str) -> Result<Principal, AuthError> {
    let hash = token_hash(token);
    if let Some(principal) = cache.get(&hash) {
        return Ok(principal);
    }
    let generation = cache.generation();
    let found = match tokio::time::timeout(LOOKUP_DEADLINE, store.token_by_hash(hash.as_bytes())).await {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot look up a token");
            return Err(AuthError::Unavailable);
        }
        Err(_) => {
            tracing::warn!(deadline = ?LOOKUP_DEADLINE, "token lookup timed out");
            return Err(AuthError::Unavailable);
        }
    };
    let Some((record, user)) = found else {
        return Err(AuthError::InvalidToken("unknown token".into()));
    };
    let now = Timestamp::now();
    match record.status(now) {
        TokenStatus::Active => {}
        TokenStatus::Revoked => return Err(AuthError::InvalidToken("the token was revoked".into())),
        TokenStatus::Expired => return Err(AuthError::InvalidToken("the token has expired".into())),
    }
    if user.disabled {
        return Err(AuthError::InvalidToken("the token's user is disabled".into()));
    }
    let principal = of(&record, &user)?;
    if record.last_used_at.is_none_or(|at| at <= now.saturating_sub(LAST_USED_GRANULARITY)) {
        mark_used(store, &record.id, now);
    }
    cache.put(generation, hash, principal.clone(), record.expires_at);
    Ok(principal)
}

/// The principal of `user` through `record`.
fn of(record: &TokenRecord, user: &User) -> Result<Principal, AuthError> {
    let unreadable = |what: String| {
        tracing::error!(user = %user.name, "stored user cannot be read: {what}");
        AuthError::InvalidToken("the token's user has an unreadable grant".into())
    };
    let list = |items: &[String]| (!items.is_empty()).then(|| items.join(","));
    let (hosts, tools) = (list(&user.hosts), list(&user.tools));
    let grant = Grant::parse(hosts.as_deref(), tools.as_deref()).map_err(|e| unreadable(e.to_string()))?;
    let identity = Identity::User {
        user_id: UserId(user.id),
        name: user.name.clone(),
        token_id: TokenId(record.id.as_str().into()),
    };
    Ok(Principal::new(identity, user.role, grant))
}

/// Records the use off the request path; the store writes at most once a
/// minute per token whatever happens here.
fn mark_used(store: &Store, id: &str, at: Timestamp) {
    let (store, id) = (store.clone(), id.to_owned());
    tokio::spawn(async move {
        if let Err(error) = store.mark_token_used(&id, at).await {
            tracing::debug!(%error, token = %id, "cannot record token use");
        }
    });
}
