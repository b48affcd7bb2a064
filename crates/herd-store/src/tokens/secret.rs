//! Token secrets and public ids.
//!
//! Secrets are made and hashed by `herd_auth::token` (one generator, one
//! digest, whoever makes or checks a token); this module only adds the
//! public ids the store gives tokens.

use crate::{Result, StoreError};
use aws_lc_rs::rand;

pub use herd_auth::token::TokenSecret;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh secret from the operating system's random source.
pub(crate) fn generate() -> Result<TokenSecret> {
    TokenSecret::generate().map_err(|_| StoreError::invalid("random source", "the system RNG failed"))
}

/// The SHA-256 digest of `secret`, as [`crate::Store::token_by_hash`]
/// looks it up (`herd_auth::token::token_hash`).
pub fn hash_secret(secret: &str) -> [u8; 32] {
    *herd_auth::token::token_hash(secret).as_bytes()
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
    fn secrets_are_herd_tokens_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(herd_auth::token::looks_like_herd_token(a.expose_secret()));
        assert!(!format!("{a:?}").contains(&a.expose_secret()[5..]));
    }

    #[test]
    fn ids_and_digests() {
        let id = public_id().unwrap();
        assert!(id.starts_with("tok_") && id.len() == 16, "{id}");
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(hash_secret("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
