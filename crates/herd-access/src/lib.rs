//! Turns credentials into principals for herd's servers.
//!
//! The HTTP transport authenticates every request through an
//! [`Authenticate`] implementation; this crate is the one the hub uses.
//! It exists so that neither the transport (which knows no store) nor the
//! store (which knows no policy types' meaning) has to know both:
//!
//! - a herd token (`herd_...`, or a secret imported with
//!   `Store::import_token`) is hashed (`herd_auth::token::token_hash`) and
//!   looked up with `Store::token_by_hash`; a revoked or expired token, or
//!   one of a disabled user, is refused (401 `invalid_token`); otherwise the
//!   user's role and grant make the [`Principal`];
//! - with `[auth.oauth]`, any other bearer token that looks like a JWT goes
//!   to herd-auth's `OAuthValidator` (401 for a bad token, 403 when its
//!   claims map to no role, 503 while the provider's keys are unreachable);
//! - a store that cannot answer within [`LOOKUP_DEADLINE`] gives 503;
//! - a standalone agent's own credential ([`Access::with_server_token`],
//!   the token a hub calls it with) stands for the server's operator.
//!
//! # Cache and revocation
//!
//! Principals of herd tokens are cached per token hash for [`CACHE_TTL`]
//! (2 s), so a busy client costs one lookup per token every 2 s, not one
//! per request; a hit takes a read lock, never held across an await, and
//! clones one `Arc`. A token's expiry is checked on every hit. A revocation
//! made through this process ([`Access::invalidate_token`],
//! [`Access::invalidate_user`]) applies to the next request; one made
//! elsewhere (another replica, `herd token revoke --home` offline) within
//! [`CACHE_TTL`]. Open SSE streams authenticate again every [`CACHE_TTL`]
//! (`Authenticate::recheck_every`), so they end within twice that.
//!
//! `last_used_at` is written at most once a minute per token: only when the
//! looked-up record says it is older than that, and off the request path.

mod cache;
mod oauth;
mod store_tokens;

pub use oauth::OAuth;

use cache::Cache;
use herd_auth::oauth::{ConfigError, OAuthConfig};
use herd_auth::token::looks_like_herd_token;
use herd_proto::{BoxFuture, Principal};
use herd_store::Store;
use herd_transport::http::{AuthError, Authenticate, BearerAuth};
use std::time::Duration;

/// How long a herd token's principal is reused without asking the store.
pub const CACHE_TTL: Duration = Duration::from_secs(2);

/// The longest a token lookup may take before the request gets 503.
pub const LOOKUP_DEADLINE: Duration = Duration::from_secs(5);

/// The hub's authenticator: herd tokens from the store, and OAuth access
/// tokens when configured. Share it (`Arc`) with the admin routes that
/// revoke tokens, so they can invalidate the cache.
pub struct Access {
    store: Store,
    oauth: Option<OAuth>,
    server_token: Option<BearerAuth>,
    cache: Cache,
}

impl Access {
    /// Herd tokens only.
    pub fn new(store: Store) -> Self {
        Self { store, oauth: None, server_token: None, cache: Cache::default() }
    }

    /// Also accepts `token`, the credential the server was started with,
    /// as the server's operator: the anonymous admin, the one caller an
    /// agent believes when it names the user behind a forwarded call. For
    /// an agent, whose hub holds that token while users call it directly
    /// with tokens of its own store. Compared in constant time, before
    /// the store is asked.
    pub fn with_server_token(mut self, token: String) -> Self {
        self.server_token = Some(BearerAuth::new([token]));
        self
    }

    /// Also accepts access tokens of `config`'s identity provider.
    pub fn with_oauth(mut self, config: OAuthConfig) -> Result<Self, ConfigError> {
        self.oauth = Some(OAuth::new(config)?);
        Ok(self)
    }

    /// The store tokens are looked up in (the hub's state: users, tokens,
    /// audit).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The OAuth side, when configured.
    pub fn oauth(&self) -> Option<&OAuth> {
        self.oauth.as_ref()
    }

    /// Forgets the cached principal of token `id` (a `tok_...` id): call it
    /// after revoking the token, so its next request is refused at once.
    pub fn invalidate_token(&self, id: &str) {
        self.cache.forget(|principal| {
            matches!(principal.identity(), herd_proto::Identity::User { token_id, .. } if &*token_id.0 == id)
        });
    }

    /// Forgets the cached principals of user `id`: call it after changing
    /// or disabling the user.
    pub fn invalidate_user(&self, id: i64) {
        self.cache.forget(|principal| principal.user_id().is_some_and(|user| user.0 == id));
    }

    /// Forgets every cached principal.
    pub fn invalidate_all(&self) {
        self.cache.forget(|_| true);
    }

    async fn check(&self, bearer: Option<&str>) -> Result<Principal, AuthError> {
        let token = bearer.ok_or(AuthError::Missing)?;
        if self.server_token.as_ref().is_some_and(|server| server.accepts(token.as_bytes())) {
            return Ok(Principal::anonymous_admin());
        }
        if let Some(oauth) = &self.oauth
            && is_jwt_shaped(token)
        {
            return oauth.validate(token).await;
        }
        store_tokens::principal(&self.store, &self.cache, token).await
    }
}

/// A JWT is three base64url parts; a herd token never has a dot.
fn is_jwt_shaped(token: &str) -> bool {
    !looks_like_herd_token(token) && token.bytes().filter(|&b| b == b'.').count() == 2
}

impl Authenticate for Access {
    fn authenticate<'a>(&'a self, bearer: Option<&'a str>) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(self.check(bearer))
    }

    fn resource_metadata(&self) -> Option<&str> {
        self.oauth.as_ref().map(|o| o.metadata_url())
    }

    fn recheck_every(&self) -> Option<Duration> {
        Some(CACHE_TTL)
    }
}

#[cfg(test)]
mod tests;
