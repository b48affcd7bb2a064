//! Token secrets and public ids: random base62 text, and the digest the
//! store keeps instead of the secret.

use crate::{Result, StoreError};
use aws_lc_rs::{digest, rand};
use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A token's secret. `Debug` and `Display` print a placeholder; only
/// [`TokenSecret::expose`] hands the value out, to show it once.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// A fresh secret: `herd_` and 44 base62 characters (262 bits).
    pub(crate) fn generate() -> Result<Self> {
        Ok(Self(format!("herd_{}", base62(44)?)))
    }

    pub(crate) fn from_existing(secret: &str) -> Self {
        Self(secret.to_owned())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(***)")
    }
}

impl fmt::Display for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The SHA-256 digest of `secret`, as [`crate::Store::token_by_hash`]
/// looks it up.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
    out
}

/// A public token id: `tok_` and 12 base62 characters.
pub(crate) fn public_id() -> Result<String> {
    Ok(format!("tok_{}", base62(12)?))
}

/// `n` uniformly random base62 characters from the system's CSPRNG.
fn base62(n: usize) -> Result<String> {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        rand::fill(&mut buf).map_err(|_| StoreError::invalid("random source", "the system RNG failed"))?;
        // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
        out.extend(
            buf.iter().filter(|&&b| b < 248).map(|&b| char::from(BASE62[usize::from(b % 62)])).take(n - out.len()),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_prefix_and_differ() {
        let a = TokenSecret::generate().unwrap();
        let b = TokenSecret::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("herd_"));
        assert_eq!(a.expose().len(), 5 + 44);
        assert!(a.expose()[5..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(format!("{a} {a:?}"), "*** TokenSecret(***)");
    }

    #[test]
    fn ids_and_digests() {
        let id = public_id().unwrap();
        assert!(id.starts_with("tok_") && id.len() == 16, "{id}");
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(hash_secret("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
