//! Who makes a request: the seam between the HTTP transport and whatever
//! checks credentials.
//!
//! Every request (`POST`, `GET`, `DELETE`, stateless or not, and routes
//! behind [`super::guarded`]) is authenticated on its own, so a token
//! revoked between two requests of one session stops at the second. The
//! transport hands the bearer token to an [`Authenticate`] implementation
//! and gets a [`Principal`] or an [`AuthError`], which `error.rs` turns
//! into 401, 403 or 503. Implementations:
//!
//! - [`Authenticator::anonymous`]: no credentials checked
//!   (`--insecure-no-auth`): every request is [`Principal::anonymous_admin`];
//! - [`BearerAuth`]: a fixed set of tokens (`--token`/`HERD_TOKEN` of
//!   `herd agent`). The holder of a server's own token is its operator, so
//!   an accepted token gives the admin principal, `anonymous_admin`;
//! - herd's store and OAuth validator, in the `herd-access` crate.
//!
//! Open SSE streams re-authenticate every [`Authenticate::recheck_every`]
//! (see `recheck`), so revocation and expiry end them too.

use super::config::BearerAuth;
use herd_proto::{BoxFuture, Principal};
use http::{HeaderMap, header};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Turns the bearer token of a request into a principal.
pub trait Authenticate: Send + Sync + 'static {
    /// The principal `bearer` (the `Authorization: Bearer` value, `None`
    /// when the request has none) stands for.
    ///
    /// # Cancel safety
    /// Implementations must be cancel-safe: a client that goes away drops
    /// the future.
    fn authenticate<'a>(&'a self, bearer: Option<&'a str>) -> BoxFuture<'a, Result<Principal, AuthError>>;

    /// The URL of the RFC 9728 protected resource metadata, named in the
    /// `WWW-Authenticate` challenge of every 401 (OAuth on).
    fn resource_metadata(&self) -> Option<&str> {
        None
    }

    /// How often an open SSE stream authenticates its token again, ending
    /// when it is refused; `None` for credentials that cannot change while
    /// the process runs.
    fn recheck_every(&self) -> Option<Duration> {
        None
    }
}

/// Why a request has no principal. The texts are safe to send to the
/// client: they never quote the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token: 401 without an error code (RFC 6750 section 3.1).
    #[error("missing bearer token")]
    Missing,
    /// A token that is unknown, revoked, expired, of a disabled user, or
    /// malformed: 401 `invalid_token`.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// A valid token that grants nothing here: 403 `insufficient_scope`.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    /// The store or identity provider could not answer: 503 (the detail
    /// goes to the log).
    #[error("credentials cannot be checked right now; try again")]
    Unavailable,
}

impl AuthError {
    /// Whether the credential itself was judged (and refused), as opposed
    /// to the checker being unreachable.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Unavailable)
    }
}

/// The authenticator of a server, cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<dyn Authenticate>,
    /// False for [`Authenticator::anonymous`]: a bearer token it was given
    /// proves nothing, so it cannot key a session owner.
    checks: bool,
}

impl Authenticator {
    /// Wraps an implementation.
    pub fn new(auth: impl Authenticate) -> Self {
        Self::from_arc(Arc::new(auth))
    }

    /// Wraps a shared implementation (one the caller keeps a handle on,
    /// e.g. to invalidate its cache).
    pub fn from_arc(auth: Arc<dyn Authenticate>) -> Self {
        Self { inner: auth, checks: true }
    }

    /// Checks nothing: every request is [`Principal::anonymous_admin`].
    pub fn anonymous() -> Self {
        Self { inner: Arc::new(Anonymous), checks: false }
    }

    /// Accepts exactly `tokens`, each giving the admin principal.
    pub fn static_tokens(tokens: BearerAuth) -> Self {
        Self::new(tokens)
    }

    /// The implementation.
    pub fn get(&self) -> &dyn Authenticate {
        &*self.inner
    }

    /// Whether credentials are checked at all.
    pub fn checks_credentials(&self) -> bool {
        self.checks
    }
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::anonymous()
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.checks { "Authenticator" } else { "Authenticator(anonymous)" })
    }
}

/// See [`Authenticator::anonymous`].
struct Anonymous;

impl Authenticate for Anonymous {
    fn authenticate<'a>(&'a self, _bearer: Option<&'a str>) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(std::future::ready(Ok(Principal::anonymous_admin())))
    }
}

/// The holder of one of a server's own tokens is its operator: the admin
/// principal ([`Principal::anonymous_admin`]; the token names nobody).
impl Authenticate for BearerAuth {
    fn authenticate<'a>(&'a self, bearer: Option<&'a str>) -> BoxFuture<'a, Result<Principal, AuthError>> {
        let verdict = match bearer {
            None => Err(AuthError::Missing),
            Some(token) if self.accepts(token.as_bytes()) => Ok(Principal::anonymous_admin()),
            Some(_) => Err(AuthError::InvalidToken("unknown token".into())),
        };
        Box::pin(std::future::ready(verdict))
    }
}

/// The bearer token of a request (`Authorization: Bearer ...`, the scheme
/// in any case), if it has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn the_bearer_token_is_read_whatever_the_scheme_case() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        for (value, expected) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer(&headers), expected, "{value}");
        }
    }

    #[tokio::test]
    async fn static_tokens_give_the_admin_principal_and_refuse_others() {
        let auth = BearerAuth::new(["secret-a".to_owned()]);
        assert_eq!(auth.authenticate(Some("secret-a")).await, Ok(Principal::anonymous_admin()));
        assert_eq!(auth.authenticate(None).await, Err(AuthError::Missing));
        assert!(matches!(auth.authenticate(Some("secret-b")).await, Err(AuthError::InvalidToken(_))));
        assert_eq!(Authenticator::anonymous().get().authenticate(None).await, Ok(Principal::anonymous_admin()));
    }
}
