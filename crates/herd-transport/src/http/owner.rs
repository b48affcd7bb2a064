//! Whose session a POST opens: the key of the router's per-owner session
//! cap ([`herd_router::Owner`]).
//!
//! Behind bearer auth the owner is the token the request passed the check
//! with (kept only as a digest); without auth, the client's address (given
//! by [`super::serve`] as axum's `ConnectInfo`). Once principals exist,
//! their id replaces the token here.

use super::HttpConfig;
use herd_router::Owner;
use http::{HeaderMap, header};
use std::net::SocketAddr;

/// The owner of a request that passed [`super::guard::check`].
pub(super) fn of(config: &HttpConfig, headers: &HeaderMap, client: Option<SocketAddr>) -> Owner {
    let token = config.auth.as_ref().and_then(|_| {
        let value = headers.get(header::AUTHORIZATION)?.as_bytes();
        value.strip_prefix(b"Bearer ").or_else(|| value.strip_prefix(b"bearer "))
    });
    match (token, client) {
        (Some(token), _) => Owner::bearer_token(token),
        (None, Some(addr)) => Owner::address(addr.ip()),
        (None, None) => Owner::unknown(),
    }
}
