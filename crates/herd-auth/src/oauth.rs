//! herd as an OAuth 2.1 resource server (opt-in, `[auth.oauth]`).
//!
//! The operator's identity provider issues JWT access tokens for herd's
//! endpoint; herd checks them and turns their claims into a [`Principal`](crate::Principal),
//! so users of the provider need no herd account. The parts:
//!
//! - [`OAuthConfig`]: issuer, audience (herd's canonical URL), the claim
//!   holding roles or scopes, and which claim values give which role and
//!   grant ([`roles`]);
//! - `jwks`: the issuer's signing keys, found through OpenID discovery,
//!   cached, refetched when a token names an unknown key (at most once per
//!   [`OAuthConfig::key_refresh_interval`], so bogus key ids cannot make herd
//!   hammer the provider);
//! - [`OAuthValidator`]: signature, `iss`, `aud`, `exp`, `nbf` (with a small
//!   leeway), then the role mapping;
//! - [`metadata`]: the RFC 9728 document clients discover the provider
//!   from, and the `WWW-Authenticate` challenge that points at it.
//!
//! Failures are an [`OAuthError`] whose [`status`](OAuthError::status) the
//! HTTP front answers with: 401 `invalid_token` for a bad token, 403
//! `insufficient_scope` for a good token that maps to no role, 503 while
//! the provider's keys cannot be fetched.

mod config;
mod jwks;
pub mod metadata;
pub mod roles;
#[cfg(test)]
mod test_idp;
mod validate;

pub use config::{ConfigError, OAuthConfig};
pub use roles::RoleMapping;
pub use validate::OAuthValidator;

/// Why a JWT was not accepted; the text is safe to send to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    /// Not three base64url parts with a JSON header and claims.
    #[error("not a well-formed JWT")]
    Malformed,
    /// `none`, HMAC or anything else outside [`ALGORITHMS`].
    #[error("signing algorithm {0} is not accepted")]
    Algorithm(String),
    /// A `crit` header: extensions herd does not implement.
    #[error("the token names critical header extensions")]
    CriticalHeader,
    /// No key of the issuer has the token's `kid`.
    #[error("no signing key of the issuer matches the token")]
    UnknownKey,
    /// The signature does not verify with the issuer's key.
    #[error("the signature does not verify")]
    Signature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` has not come yet.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is another issuer.
    #[error("the token was issued by another issuer")]
    Issuer,
    /// `aud` does not name this resource.
    #[error("the token is not meant for this resource")]
    Audience,
    /// A required claim is absent.
    #[error("the token has no {0} claim")]
    MissingClaim(String),
    /// A claim has the wrong type.
    #[error("the token's {0} claim is malformed")]
    BadClaim(String),
}

/// Why a bearer token gave no principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// 401 `invalid_token`.
    #[error("invalid token: {0}")]
    InvalidToken(TokenProblem),
    /// 403 `insufficient_scope`: a valid token whose claims give no role.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    /// 503: the issuer's keys could not be fetched, so nothing can be
    /// checked (the detail goes to the log, not to the client).
    #[error("the identity provider's keys are unavailable")]
    KeysUnavailable,
}

impl OAuthError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidToken(_) => 401,
            Self::InsufficientScope(_) => 403,
            Self::KeysUnavailable => 503,
        }
    }

    /// The RFC 6750 `error` code, for the `WWW-Authenticate` header.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::InvalidToken(_) => Some("invalid_token"),
            Self::InsufficientScope(_) => Some("insufficient_scope"),
            Self::KeysUnavailable => None,
        }
    }
}

/// The signing algorithms accepted: asymmetric only, so a key set can
/// never be used as an HMAC secret, and never `none`.
pub const ALGORITHMS: [jsonwebtoken::Algorithm; 4] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::EdDSA,
];
