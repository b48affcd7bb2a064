//! `herd init hub` and `herd init agent`: a working setup written into a
//! home directory, the way `kubeadm init` and `kubeadm join` make one.
//!
//! - [`hub::init`] writes the hub's settings (`hub.env`, `hosts.toml`), the
//!   fleet CA (`tls/ca.pem`, `tls/ca.key` 0600, see [`herd_ca`]), the hub's
//!   certificate from it, and the state with the first admin and a token
//!   agents join with (both printed once, stored hashed).
//! - [`agent::init`] makes the agent's key on its own machine, fetches the
//!   hub's CA and accepts it only when its SHA-256 is the one given (how a
//!   first contact is trusted), has the hub sign a request for the key
//!   (`POST /api/v1/certificates`), and writes the agent's settings
//!   (`agent.toml`, `agent.env` 0600 with its token).
//! - [`install`] puts the systemd unit (or launchd plist) from `packaging/`
//!   in place for that home and starts it.
//!
//! A second run with the same arguments changes nothing and says so; a run
//! whose arguments disagree with what is there refuses, naming the file,
//! unless `force`. The CA is never replaced: agents trust it.

pub mod agent;
mod files;
pub mod hub;
pub mod install;
mod join;

pub use files::Changes;

use std::path::{Path, PathBuf};

/// Why an init failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file already there says something else than these arguments.
    #[error("{} differs from what these arguments write ({what}); pass --force to replace it", path.display())]
    Differs {
        /// Which.
        path: PathBuf,
        /// How.
        what: String,
    },
    /// Certificates.
    #[error(transparent)]
    Ca(#[from] herd_ca::CaError),
    /// The CA the hub serves is not the one the fingerprint names.
    #[error(
        "the hub's CA has SHA-256 {got}, not {expected} as given: this is not the hub you meant \
         (or someone is in between); nothing was written"
    )]
    Fingerprint {
        /// What was given.
        expected: String,
        /// What the hub served.
        got: String,
    },
    /// Talking to the hub failed.
    #[error("{0}")]
    Hub(String),
    /// The state database refused.
    #[error("cannot set up the state: {0}")]
    State(String),
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// Installing or starting the service failed.
    #[error("{0}")]
    Install(String),
}

impl InitError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// A certificate expiring sooner than this is renewed by the next run.
pub(crate) const RENEW_BEFORE_SECS: i64 = 30 * 24 * 3600;

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// This machine's host name (`localhost` when it has none).
pub fn hostname() -> String {
    let name = nix::unistd::gethostname().ok().and_then(|n| n.into_string().ok()).unwrap_or_default();
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() { "localhost".to_owned() } else { name }
}

/// `text` as a TOML basic string.
pub(crate) fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// `path` as the UTF-8 text files and commands need.
pub(crate) fn utf8(path: &Path) -> Result<&str, InitError> {
    path.to_str().ok_or_else(|| InitError::Usage(format!("{} is not a UTF-8 path", path.display())))
}
