//! `[fleet_ca]` of the hub's config file (written by `herd init hub`):
//! the CA the hub signs agents' certificates with.
//!
//! ```toml
//! [fleet_ca]
//! cert = "/var/lib/herd/tls/ca.pem"
//! key = "/var/lib/herd/tls/ca.key"   # 0600
//! ```
//!
//! Read once at start. The names of the hub's own certificate
//! (`--tls-cert`) are refused in agents' requests.

use anyhow::{Context as _, bail};
use herd_ca::FleetCa;
use serde::Deserialize;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    cert: PathBuf,
    key: PathBuf,
}

/// The fleet CA `config` names, if it names one.
pub(crate) fn load(config: &Path, hub_cert: Option<&Path>) -> anyhow::Result<Option<FleetCa>> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", config.display())),
    };
    // The seed's whitespace format has no tables.
    let Ok(file) = text.parse::<toml::Table>() else { return Ok(None) };
    let Some(table) = file.get("fleet_ca") else { return Ok(None) };
    let table: Table = table.clone().try_into().with_context(|| format!("{}: invalid [fleet_ca]", config.display()))?;
    let cert = std::fs::read_to_string(&table.cert)
        .with_context(|| format!("[fleet_ca] cert: cannot read {}", table.cert.display()))?;
    let key_file = std::fs::File::open(&table.key)
        .with_context(|| format!("[fleet_ca] key: cannot read {}", table.key.display()))?;
    let mode = key_file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "[fleet_ca] key {} is open to other users (mode {:o}); run chmod 600 on it",
            table.key.display(),
            mode & 0o777
        );
    }
    let key = std::io::read_to_string(key_file).with_context(|| format!("cannot read {}", table.key.display()))?;
    let ca = FleetCa::load(&cert, &key).with_context(|| format!("{}: [fleet_ca]", config.display()))?;
    let own = match hub_cert {
        Some(path) => std::fs::read_to_string(path)
            .ok()
            .and_then(|pem| herd_ca::certificate_names(&pem))
            .map(|(names, _)| names)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    tracing::info!(fingerprint = %ca.fingerprint(), "fleet CA loaded: agents' certificate requests are signed");
    Ok(Some(ca.reserving(own)))
}
