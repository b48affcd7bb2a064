//! Whose session a POST opens: the key of the router's per-owner session
//! cap ([`herd_router::Owner`]).
//!
//! The owner is the principal the request authenticated as (a herd user,
//! whatever token they use; an OAuth subject). A principal that names
//! nobody (a server's own static token, or no authentication) falls back
//! to the bearer token (kept only as a digest), else to the client's
//! address (given by [`super::serve`] as axum's `ConnectInfo`).

use herd_proto::Principal;
use herd_router::Owner;
use std::net::SocketAddr;

/// The owner of a request made by `principal` with `bearer` (a token the
/// authenticator checked; `None` when it checks none) from `client`.
pub(super) fn of(principal: &Principal, bearer: Option<&str>, client: Option<SocketAddr>) -> Owner {
    if let Some(owner) = Owner::principal(principal) {
        return owner;
    }
    match (bearer, client) {
        (Some(token), _) => Owner::bearer_token(token.as_bytes()),
        (None, Some(addr)) => Owner::address(addr.ip()),
        (None, None) => Owner::unknown(),
    }
}
