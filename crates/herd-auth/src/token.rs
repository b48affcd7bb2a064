//! herd's own bearer tokens: made here, shown once, stored as a hash.
//!
//! A token is `herd_` followed by 32 random bytes from the operating system
//! in unpadded base64url (43 characters), so secret scanners can find one
//! and a guess is hopeless. The store keeps only [`token_hash`] (SHA-256):
//! a leaked database holds no usable token, and since the secret has 256
//! bits of entropy no slow hash or salt is needed. A presented token is
//! hashed and looked up by hash; [`TokenHash`] compares in constant time,
//! as does [`secrets_equal`] for a configured static token.
//!
//! [`TokenSecret`] never prints its value: `Debug` shows only the prefix,
//! and there is no `Display`; [`TokenSecret::expose_secret`] is the one way
//! to the text, for printing it once to whoever created it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// What every herd token starts with.
pub const TOKEN_PREFIX: &str = "herd_";

/// Random bytes in a token.
const SECRET_BYTES: usize = 32;

/// Base64url characters encoding them, without padding.
const ENCODED_LEN: usize = 43;

/// A token's secret text. Its `Debug` is redacted and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

/// The operating system gave no random bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot make a token: the operating system's random source failed: {0}")]
pub struct RandomUnavailable(String);

impl TokenSecret {
    /// A new token from the operating system's random source.
    pub fn generate() -> Result<Self, RandomUnavailable> {
        let mut bytes = [0u8; SECRET_BYTES];
        OsRng.try_fill_bytes(&mut bytes).map_err(|e| RandomUnavailable(e.to_string()))?;
        Ok(Self(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// The token's text, to show once to its owner. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn hash(&self) -> TokenHash {
        token_hash(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSecret({TOKEN_PREFIX}<redacted>)")
    }
}

/// The SHA-256 of a token's text: how the store finds a token. Equality
/// is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// A hash as the store kept it.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash's bytes, for the store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// Shows the first four bytes in hex: enough to tell hashes apart in a test
/// failure, useless to anyone else.
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "TokenHash({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

/// The hash of a presented token, whatever it looks like.
pub fn token_hash(secret: &str) -> TokenHash {
    TokenHash(Sha256::digest(secret.as_bytes()).into())
}

/// Whether `s` has the shape of a herd token (`herd_` and 43 base64url
/// characters). Tells a herd token from a JWT before any lookup; says
/// nothing about whether it is valid.
pub fn looks_like_herd_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == ENCODED_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Compares two secrets in time independent of where they differ (their
/// lengths may show).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_tokens_have_the_herd_shape_and_differ() {
        let tokens: Vec<TokenSecret> = (0..64).map(|_| TokenSecret::generate().unwrap()).collect();
        for token in &tokens {
            let text = token.expose_secret();
            assert!(looks_like_herd_token(text), "{text}");
            assert_eq!(text.len(), TOKEN_PREFIX.len() + ENCODED_LEN);
            let decoded = URL_SAFE_NO_PAD.decode(&text[TOKEN_PREFIX.len()..]).unwrap();
            assert_eq!(decoded.len(), SECRET_BYTES);
        }
        let distinct: HashSet<&str> = tokens.iter().map(TokenSecret::expose_secret).collect();
        assert_eq!(distinct.len(), tokens.len());
    }

    #[test]
    fn the_shape_check_refuses_near_misses() {
        let good = format!("herd_{}", "A".repeat(ENCODED_LEN));
        assert!(looks_like_herd_token(&good));
        for bad in [
            format!("herd_{}", "A".repeat(ENCODED_LEN - 1)),
            format!("herd_{}", "A".repeat(ENCODED_LEN + 1)),
            format!("herd_{}=", "A".repeat(ENCODED_LEN - 1)),
            format!("herd_{}+", "A".repeat(ENCODED_LEN - 1)),
            format!("HERD_{}", "A".repeat(ENCODED_LEN)),
            "eyJhbGciOiJFUzI1NiJ9.e30.sig".to_owned(),
            String::new(),
        ] {
            assert!(!looks_like_herd_token(&bad), "{bad}");
        }
    }

    #[test]
    fn hashes_are_sha256_of_the_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = token_hash("abc").as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        let token = TokenSecret::generate().unwrap();
        assert_eq!(token.hash(), token_hash(token.expose_secret()));
        assert_ne!(token.hash(), token_hash("herd_other"));
        assert_eq!(TokenHash::from_bytes(*token.hash().as_bytes()), token.hash());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let token = TokenSecret::generate().unwrap();
        let secret_part = &token.expose_secret()[TOKEN_PREFIX.len()..];
        let shown = format!("{token:?} {:?}", token.hash());
        assert!(!shown.contains(secret_part), "{shown}");
        assert!(shown.starts_with("TokenSecret(herd_<redacted>) TokenHash("), "{shown}");
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(secrets_equal(b"herd_x", b"herd_x"));
        assert!(!secrets_equal(b"herd_x", b"herd_y"));
        assert!(!secrets_equal(b"herd_x", b"herd_xx"));
    }
}
