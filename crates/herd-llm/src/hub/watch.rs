//! Keeping the registry in line with the channels: a listing fetched over
//! each channel as it opens, every open one again every `refresh` (so a
//! provider's state changes show), closed ones marked inactive.

use super::Inner;
use super::registry::ToFetch;
use crate::wire::{LISTING_PATH, Listing};
use http_body_util::{BodyExt as _, Empty, Limited};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Largest listing taken.
const MAX_LISTING_BYTES: usize = 4 * 1024 * 1024;

pub(super) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut changes = inner.channels.changes();
    let mut tick = tokio::time::interval(inner.config.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.reset();
    loop {
        changes.borrow_and_update();
        let hosts = inner.channels.hosts();
        for open in inner.registry.sync(&hosts) {
            tokio::spawn(fetch(inner.clone(), open));
        }
        inner.listed.send_modify(|n| *n += 1);
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = tick.tick() => {
                for open in inner.channels.hosts().iter().filter_map(ToFetch::of) {
                    tokio::spawn(fetch(inner.clone(), open));
                }
            }
        }
    }
}

/// Fetches `open`'s listing and stores it if that connection is still the
/// one in force.
async fn fetch(inner: Arc<Inner>, open: ToFetch) {
    let limit = inner.config.listing_timeout;
    let listing = match tokio::time::timeout(limit, get(&inner, &open.host)).await {
        Ok(Ok(listing)) => listing,
        Ok(Err(err)) => return tracing::info!(host = %open.host, %err, "no LLM listing"),
        Err(_) => return tracing::info!(host = %open.host, "no LLM listing within {limit:?}"),
    };
    let current = inner.channels.hosts().into_iter().find(|h| h.name == open.host).and_then(|h| h.connection);
    if current != Some(open.connection) {
        return;
    }
    let count = listing.providers.len();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let presets = listing.presets.len();
    if inner.registry.store(&open, listing, now) && count + presets > 0 {
        tracing::info!(host = %open.host, providers = count, presets, "LLM models listed");
    }
    inner.listed.send_modify(|n| *n += 1);
}

async fn get(inner: &Inner, host: &str) -> Result<Listing, String> {
    let request = http::Request::get(format!("http://{host}{LISTING_PATH}"))
        .body(Empty::new().map_err(|never| match never {}).boxed())
        .map_err(|e| e.to_string())?;
    let response = inner.channels.send(host, request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    if status == http::StatusCode::NOT_FOUND {
        // An agent that relays no LLMs.
        return Ok(Listing::default());
    }
    let body = Limited::new(response.into_body(), MAX_LISTING_BYTES).collect().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("the agent answered {status}"));
    }
    serde_json::from_slice(&body.to_bytes()).map_err(|e| format!("unreadable listing: {e}"))
}
