//! Audit retention: records older than `audit.retention` (default 90
//! days) are deleted in the background, once at start and then hourly.
//!
//! The setting lives in the hub's config file (the hosts registry) as
//!
//! ```toml
//! [audit]
//! retention = "90d"   # a duration (30d, 12h, 2w), or "forever"
//! payloads = false    # keep argument values in audit records (capped)
//! sync = "normal"     # or "full": an SQLite commit survives power loss too
//! ```
//!
//! `sync` is read before the store opens: with `"normal"` (the default) a
//! record committed before its answer survives the process being killed;
//! `"full"` makes every commit wait for the disk, so it survives power loss
//! as well, at a cost in throughput (see herd-store's `Durability`).
//!
//! Other tables of the file are read by their own owners and ignored here.

#[cfg(test)]
mod tests;

use crate::parse_duration;
use herd_store::{Durability, Store, Timestamp};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long audit records are kept unless the config says otherwise.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// How often the pruner runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The `[audit]` table of the hub's config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// How long records are kept; `None`: forever.
    pub retention: Option<Duration>,
    /// Whether argument values are kept in records.
    pub payloads: bool,
    /// What a commit to an SQLite store survives.
    pub sync: Durability,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self { retention: Some(DEFAULT_RETENTION), payloads: false, sync: Durability::Normal }
    }
}

/// Why the `[audit]` table could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: [audit]: {reason}")]
pub struct AuditSettingsError {
    path: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    retention: Option<String>,
    payloads: Option<bool>,
    sync: Option<Durability>,
}

impl AuditSettings {
    /// The `[audit]` table of the TOML file at `path`; defaults when the
    /// file has none.
    pub fn load(path: &Path) -> Result<Self, AuditSettingsError> {
        let fail = |reason: String| AuditSettingsError { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text).map_err(fail)
    }

    /// The `[audit]` table of TOML `text` (a file in the seed's whitespace
    /// format has none: defaults).
    pub fn parse(text: &str) -> Result<Self, String> {
        let Ok(mut file) = toml::from_str::<toml::Table>(text) else {
            return Ok(Self::default());
        };
        let Some(table) = file.remove("audit") else {
            return Ok(Self::default());
        };
        let table: Table = table.try_into().map_err(|e: toml::de::Error| e.to_string())?;
        let retention = match table.retention.as_deref().map(str::trim) {
            None => Some(DEFAULT_RETENTION),
            Some("forever") => None,
            Some(text) => Some(parse_duration(text).map_err(|e| format!("retention: {e} (or \"forever\")"))?),
        };
        Ok(Self { retention, payloads: table.payloads.unwrap_or(false), sync: table.sync.unwrap_or_default() })
    }
}

/// Deletes the records older than `retention` before `now`; how many went.
pub async fn prune_once(store: &Store, retention: Duration, now: Timestamp) -> Result<u64, herd_store::StoreError> {
    store.prune_audit(now.saturating_sub(retention)).await
}

/// Prunes now and every [`PRUNE_EVERY`] until `shutdown`; nothing when
/// records are kept forever. A failed round is logged and retried on the
/// next tick.
pub fn spawn_pruner(store: Store, settings: &AuditSettings, shutdown: CancellationToken) {
    let Some(retention) = settings.retention else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match prune_once(&store, retention, Timestamp::now()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, retention_s = retention.as_secs(), "pruned old audit records"),
                Err(e) => tracing::warn!(error = %e, "pruning audit records failed"),
            }
        }
    });
}
