//! From a bearer JWT to a principal.
//!
//! The header is read first (algorithm, key id, `crit`) to pick the key;
//! then jsonwebtoken checks the signature with exactly that algorithm and
//! the claims: `iss` equal to the issuer, `aud` naming the audience, `exp`
//! and `nbf` within the leeway, `sub` present. Only then are the role claims
//! read, so nothing in an unverified token influences anything.

use super::config::{ConfigError, OAuthConfig};
use super::jwks::{Jwks, KeyError};
use super::roles::{claim_values, map_roles};
use super::{ALGORITHMS, OAuthError, TokenProblem};
use crate::{Identity, Principal};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

/// A JWT longer than this is refused unread.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Checks access tokens of one issuer for one audience.
pub struct OAuthValidator {
    config: OAuthConfig,
    jwks: Jwks,
}

impl OAuthValidator {
    /// A validator for `config` (checked first); keys are fetched on first use.
    pub fn new(config: OAuthConfig) -> Result<Self, ConfigError> {
        config.check()?;
        let jwks = Jwks::new(&config)?;
        Ok(Self { config, jwks })
    }

    /// The configuration in force.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// How many key fetches have started (each is discovery plus key set),
    /// for metrics and tests.
    pub fn key_fetches(&self) -> u64 {
        self.jwks.fetches()
    }

    /// The principal `token` stands for, or why none.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future at most abandons a key fetch, which
    /// leaves the cached keys as they were.
    pub async fn validate(&self, token: &str) -> Result<Principal, OAuthError> {
        let invalid = OAuthError::InvalidToken;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(TokenProblem::Malformed));
        }
        let header = decode_header(token).map_err(|_| invalid(TokenProblem::Malformed))?;
        if header.crit.is_some() {
            return Err(invalid(TokenProblem::CriticalHeader));
        }
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(TokenProblem::Algorithm(format!("{:?}", header.alg))));
        }
        let key = self.jwks.key(header.kid.as_deref(), header.alg).await.map_err(|e| match e {
            KeyError::Unknown => invalid(TokenProblem::UnknownKey),
            KeyError::Unavailable => OAuthError::KeysUnavailable,
        })?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        debug_assert!(key.algorithms.contains(&header.alg));
        let claims = decode::<Map<String, Value>>(token, &key.decoding, &validation)
            .map_err(|e| invalid(problem(e.kind())))?
            .claims;
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(invalid(TokenProblem::BadClaim("sub".into()))),
        };
        let values = claim_values(&claims, &self.config.roles_claim).map_err(invalid)?;
        let (role, grant) = map_roles(&self.config, &values).map_err(OAuthError::InsufficientScope)?;
        let identity = Identity::OAuth { subject, issuer: self.config.issuer.clone() };
        Ok(Principal::new(identity, role, grant))
    }
}

/// What a jsonwebtoken failure means for the client.
fn problem(kind: &ErrorKind) -> TokenProblem {
    match kind {
        ErrorKind::InvalidSignature => TokenProblem::Signature,
        ErrorKind::ExpiredSignature => TokenProblem::Expired,
        ErrorKind::ImmatureSignature => TokenProblem::NotYetValid,
        ErrorKind::InvalidIssuer => TokenProblem::Issuer,
        ErrorKind::InvalidAudience => TokenProblem::Audience,
        ErrorKind::MissingRequiredClaim(claim) => TokenProblem::MissingClaim(claim.clone()),
        ErrorKind::InvalidClaimFormat(claim) => TokenProblem::BadClaim(claim.clone()),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) => {
            TokenProblem::UnknownKey
        }
        _ => TokenProblem::Malformed,
    }
}
