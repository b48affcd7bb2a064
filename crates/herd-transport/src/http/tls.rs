//! HTTPS for herd's servers: a certificate and key from PEM files, served
//! with rustls, HTTP/2 or HTTP/1.1 as the client's ALPN chooses.
//!
//! The certificate is reloaded when its files change, so a renewal needs
//! no restart: the files are read every [`RELOAD_POLL`], and a
//! new pair that loads replaces the one in use for every handshake from
//! then on. A pair that does not load (half written, key not matching the
//! certificate) is logged and the old one stays in use; the next change is
//! tried again. Connections already open keep the certificate they were
//! made with.
//!
//! The handshake runs in the connection's own task under the header read
//! timeout, so a client that stalls it holds nothing but its socket, and
//! only until then (see `connection`).

mod connection;

#[cfg(test)]
mod tests;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(super) use connection::Serving;

/// How often the certificate and key files are checked for changes.
pub const RELOAD_POLL: Duration = Duration::from_secs(1);

/// Why a certificate and key cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        reason: String,
    },
    /// The files hold no usable certificate chain or key.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file at fault.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A server's TLS settings: the certificate in force (reloaded from its
/// files) and the ALPN protocols offered (`h2`, `http/1.1`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    cert: Arc<ReloadingCert>,
}

impl ServerTls {
    /// Loads the PEM certificate chain at `cert` and the PEM private key at
    /// `key` (PKCS#8, PKCS#1 or SEC1); the error names the file at fault.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let files = Files { cert: cert.into(), key: key.into() };
        let seen = files.read();
        let current = files.load(&provider)?;
        let cert = Arc::new(ReloadingCert {
            files,
            provider: provider.clone(),
            current: ArcSwap::from_pointee(current),
            seen: Mutex::new(seen),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Invalid { path: cert.files.cert.display().to_string(), reason: e.to_string() })?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self { config: Arc::new(config), cert })
    }

    /// Checks the files every [`RELOAD_POLL`] until `stop`, taking up a new
    /// certificate when they change.
    pub(super) fn spawn_reloader(&self, stop: CancellationToken) {
        let cert = self.cert.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let cert = cert.clone();
                // Reading files blocks; keep it off the runtime's workers.
                let _ = tokio::task::spawn_blocking(move || cert.refresh()).await;
            }
        });
    }
}

/// The certificate and key files.
#[derive(Debug)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

/// What the files held when last read (`None`: unreadable). Compared by
/// content: they are small, and a timestamp may not move between two
/// writes in quick succession.
type Contents = (Option<Vec<u8>>, Option<Vec<u8>>);

impl Files {
    fn read(&self) -> Contents {
        (std::fs::read(&self.cert).ok(), std::fs::read(&self.key).ok())
    }

    /// The chain and key, checked to belong together.
    fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let shown = |path: &Path| path.display().to_string();
        let read =
            |path: &Path| std::fs::read(path).map_err(|e| TlsError::Read { path: shown(path), reason: e.to_string() });
        let invalid = |path: &Path, reason: String| TlsError::Invalid { path: shown(path), reason };
        let chain = CertificateDer::pem_slice_iter(&read(&self.cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&self.cert, format!("unreadable PEM: {e}")))?;
        if chain.is_empty() {
            return Err(invalid(&self.cert, "no PEM certificate (BEGIN CERTIFICATE) in it".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&self.key)?)
            .map_err(|e| invalid(&self.key, format!("no usable PEM private key in it: {e}")))?;
        CertifiedKey::from_der(chain, key, provider)
            .map_err(|e| invalid(&self.key, format!("does not serve with {}: {e}", shown(&self.cert))))
    }
}

/// Hands every handshake the certificate in force.
#[derive(Debug)]
struct ReloadingCert {
    files: Files,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    /// What the files held when last looked at.
    seen: Mutex<Contents>,
}

impl ReloadingCert {
    /// Loads the files again if they changed since last seen. Returns
    /// whether a new certificate is now in force.
    fn refresh(&self) -> bool {
        let now = self.files.read();
        {
            let mut seen = self.seen.lock();
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        match self.files.load(&self.provider) {
            Ok(fresh) => {
                self.current.store(Arc::new(fresh));
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(err) => {
                tracing::error!(%err, "cannot reload the TLS certificate; the previous one stays in use");
                false
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}
