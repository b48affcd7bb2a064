//! What an `https://` upstream is trusted by: the system's roots, or a CA
//! file given for it; and how a failed certificate check reads.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The certificates of a CA file (PEM): an upstream verified against them
/// trusts only them, not the system's roots. Compared by content, so a
/// reloaded file that changed is a different value.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedCa {
    path: PathBuf,
    certs: Arc<[CertificateDer<'static>]>,
}

/// A CA file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CA file {path}: {reason}")]
pub struct CaError {
    path: String,
    reason: String,
}

impl TrustedCa {
    /// Reads every certificate in the PEM file at `path`; a file without
    /// one is an error.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, CaError> {
        let path = path.into();
        let error = |reason: String| CaError { path: path.display().to_string(), reason };
        let pem = std::fs::read(&path).map_err(|e| error(format!("cannot read it: {e}")))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| error(format!("unreadable PEM: {e}")))?;
        if certs.is_empty() {
            return Err(error("no PEM certificate (BEGIN CERTIFICATE) in it".into()));
        }
        Ok(Self { certs: certs.into(), path })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates, as reqwest takes them.
    pub fn roots(&self) -> Result<Vec<reqwest::Certificate>, String> {
        self.certs
            .iter()
            .map(|der| reqwest::Certificate::from_der(der).map_err(|e| format!("CA file {}: {e}", self.path.display())))
            .collect()
    }
}

impl std::fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedCa({}, {} certificate(s))", self.path.display(), self.certs.len())
    }
}

/// The TLS failure somewhere in `error`'s causes, said plainly: a
/// certificate that does not verify is "certificate verify failed" with
/// rustls's reason (unknown issuer, wrong name, expired).
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                rustls::Error::InvalidCertificate(why) => format!("TLS certificate verify failed: {why}"),
                other => format!("TLS handshake failed: {other}"),
            });
        }
        // tokio-rustls hands rustls's error up inside an io::Error (itself
        // wrapped in another), whose `source` skips what it wraps.
        next = match e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = TrustedCa::load(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()) && err.contains("no PEM certificate"), "{err}");
        let err = TrustedCa::load(dir.path().join("missing.pem")).unwrap_err().to_string();
        assert!(err.contains("missing.pem: cannot read it"), "{err}");
    }

    #[test]
    fn a_certificate_failure_inside_an_io_error_is_found() {
        let rustls_error = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error);
        let said = tls_failure(&std::io::Error::other(io)).unwrap();
        assert!(said.starts_with("TLS certificate verify failed: UnknownIssuer"), "{said}");
        assert_eq!(tls_failure(&std::io::Error::other("refused")), None);
    }
}
