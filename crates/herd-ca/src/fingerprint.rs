//! The CA's fingerprint: how an agent knows, before it trusts anything,
//! that the CA a hub serves is the fleet's.

use sha2::{Digest as _, Sha256};

/// SHA-256 of a certificate's DER, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

/// A fingerprint that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a CA fingerprint is 64 hex digits (SHA-256, as `herd init hub` prints it), optionally after `sha256:`")]
pub struct BadFingerprint;

impl Fingerprint {
    /// The fingerprint of a certificate's DER.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The fingerprint of the first certificate in `pem`, if there is one.
    pub fn of_pem(pem: &str) -> Option<Self> {
        crate::request::pem_der(pem, "CERTIFICATE").map(|der| Self::of_der(&der))
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = BadFingerprint;

    /// Reads 64 hex digits, in either case, with or without a `sha256:`
    /// prefix and `:` between bytes (as `openssl x509 -fingerprint` shows).
    fn from_str(text: &str) -> Result<Self, BadFingerprint> {
        let text = text.trim();
        let text = text.strip_prefix("sha256:").or_else(|| text.strip_prefix("SHA256:")).unwrap_or(text);
        let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
        if digits.len() != 64 {
            return Err(BadFingerprint);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| BadFingerprint)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| BadFingerprint)?;
        }
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}
