//! Health probes shared out among hub replicas.
//!
//! Several hubs in front of one fleet (replicas sharing a PostgreSQL
//! store) would each probe every host, so every agent would answer N times
//! the probes one hub sends. Instead, each host is probed by one replica at
//! a time and the results travel through the store (herd-store's `probes`
//! module holds the leases): on each background round a replica
//!
//! 1. takes in the results the others published that are newer than what
//!    it knows;
//! 2. claims the hosts still stale for it (their lease ran out: the last
//!    result is older than its TTL, or the replica that claimed them died);
//! 3. probes the hosts it won, exactly as a lone hub would;
//! 4. publishes what it found, with a lease as long as the result is
//!    trusted (the UP TTL, or the DOWN backoff), so nobody probes the host
//!    again before then.
//!
//! So each host is probed about once per TTL across the cluster, and every
//! replica holds the same states, a round behind at most. Only the
//! background rounds are shared: a forced probe (`force`), a host joining
//! over its channel, and what real calls report stay local, as do hosts
//! only this replica can reach (over a channel opened to it). A store that
//! does not answer makes the round a local one, as on a lone hub.

use super::{Entry, Health, HostState};
use crate::Host;
use herd_store::{ProbeOutcome, ProbeResult, Store, Timestamp};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a claim outlasts the round's budget: the time the claimant
/// has to publish before another replica may take the host.
const CLAIM_MARGIN: Duration = Duration::from_secs(2);

/// The store probes are shared through, and this replica's part.
pub(super) struct Sharing {
    store: Store,
    replica: String,
    /// Per host, the check time of the last shared result taken in or
    /// published, so the same result is not taken in twice.
    known: Mutex<HashMap<String, Timestamp>>,
}

impl Health {
    /// Shares the background probe rounds with the other replicas on
    /// `store`, as replica `replica` (an id unique among them): each stale
    /// host is probed by the one replica that claims it, and every replica
    /// takes in the results. Meant for a store several hubs share; a lone
    /// hub does better without the store round trips.
    pub fn share_probes(&self, store: Store, replica: impl Into<String>) {
        let sharing = Sharing { store, replica: replica.into(), known: Mutex::new(HashMap::new()) };
        *self.inner.sharing.lock() = Some(Arc::new(sharing));
    }

    pub(super) async fn shared_round(&self, sharing: &Sharing) {
        if let Err(e) = self.take_in(sharing).await {
            tracing::warn!(error = %e, "shared probe results unreadable; probing every stale host here");
            return self.round(|_, _| true, false).await;
        }
        let config = self.config();
        let now = Instant::now();
        let due: Vec<(String, String)> = {
            let table = self.inner.table.lock();
            let stale = |e: &&Entry| shared(&e.host) && e.flight.is_none() && !e.state.is_fresh(now, &config);
            table.entries.values().filter(stale).map(|e| (e.host.name.clone(), target(&e.host))).collect()
        };
        let won: HashSet<String> = if due.is_empty() {
            HashSet::new()
        } else {
            let wall = Timestamp::now();
            let until = wall.saturating_add(config.budget + CLAIM_MARGIN);
            let wanted: Vec<(&str, &str)> = due.iter().map(|(h, t)| (h.as_str(), t.as_str())).collect();
            match sharing.store.claim_probes(&sharing.replica, &wanted, wall, until).await {
                Ok(won) => won.into_iter().collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim probes; probing every stale host here");
                    return self.round(|_, _| true, false).await;
                }
            }
        };
        self.round(|name, entry| !shared(&entry.host) || won.contains(name), false).await;
        self.publish(sharing, &won).await;
        // Hosts another replica is probing right now that this one knows
        // nothing of yet (it just started): take in their results as soon
        // as they are published rather than a round later.
        let unknown = due.iter().any(|(name, _)| !won.contains(name) && self.state(name) == Some(HostState::Unknown));
        if unknown && let Err(e) = self.take_in(sharing).await {
            tracing::warn!(error = %e, "shared probe results unreadable");
        }
    }

    /// Takes in every published result newer than this replica's own.
    async fn take_in(&self, sharing: &Sharing) -> herd_store::Result<()> {
        let results = sharing.store.probe_results().await?;
        let (wall, now) = (Timestamp::now(), Instant::now());
        let mut known = sharing.known.lock();
        let mut table = self.inner.table.lock();
        for result in results {
            let Some(entry) = table.entries.get_mut(&result.host) else { continue };
            if !shared(&entry.host)
                || entry.flight.is_some()
                || known.get(&result.host) == Some(&result.checked)
                || result.target != target(&entry.host)
            {
                continue;
            }
            let state = state_of(&result, wall, now);
            if entry.state.checked().is_some_and(|mine| Some(mine) >= state.checked()) {
                continue;
            }
            metrics::gauge!("herd_host_up", "host" => result.host.clone()).set(if state.is_up() { 1.0 } else { 0.0 });
            self.inner.record(&mut entry.state, state);
            known.insert(result.host, result.checked);
        }
        Ok(())
    }

    /// Publishes the states of the hosts this replica won.
    async fn publish(&self, sharing: &Sharing, won: &HashSet<String>) {
        if won.is_empty() {
            return;
        }
        let config = self.config();
        let (wall, now) = (Timestamp::now(), Instant::now());
        let results: Vec<(ProbeResult, Timestamp)> = {
            let table = self.inner.table.lock();
            won.iter()
                .filter_map(|name| {
                    let entry = table.entries.get(name)?;
                    let result = result_of(&entry.host, &entry.state, wall, now)?;
                    let ttl = match &entry.state {
                        HostState::Down { streak, .. } => config.down_ttl(*streak),
                        _ => config.up_ttl,
                    };
                    let until = result.checked.saturating_add(ttl);
                    Some((result, until))
                })
                .collect()
        };
        sharing.known.lock().extend(results.iter().map(|(r, _)| (r.host.clone(), r.checked)));
        if let Err(e) = sharing.store.publish_probes(&sharing.replica, &results).await {
            // The claims run out; another replica probes those hosts again.
            tracing::warn!(error = %e, hosts = results.len(), "probe results not published");
        }
    }
}

/// Whether `host`'s probes may be shared: any replica can reach it at its
/// url. One reached over its channel is reached from the replica the
/// channel is open to.
fn shared(host: &Host) -> bool {
    host.url.is_some() && host.channel.is_none() && !host.by_channel
}

/// How `host` is reached, as a digest (the token stays out of the store):
/// replicas share results only while they agree on it.
fn target(host: &Host) -> String {
    let url = host.url.as_deref().unwrap_or_default();
    let token = host.token.as_ref().map_or("", |t| t.expose());
    let digest = herd_store::hash_secret(&format!("{url}\n{token}"));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The monotonic instant of wall-clock time `t`, given that `wall` is
/// `now`; a time in the future (another replica's clock runs ahead) is now.
fn instant_of(t: Timestamp, wall: Timestamp, now: Instant) -> Option<Instant> {
    let ago = u64::try_from(wall.unix_millis().saturating_sub(t.unix_millis())).unwrap_or(0);
    now.checked_sub(Duration::from_millis(ago))
}

/// The wall-clock time of `at`, given that `wall` is `now`.
fn wall_of(at: Instant, wall: Timestamp, now: Instant) -> Timestamp {
    wall.saturating_sub(now.saturating_duration_since(at))
}

fn state_of(result: &ProbeResult, wall: Timestamp, now: Instant) -> HostState {
    let checked = instant_of(result.checked, wall, now).unwrap_or(now);
    match &result.outcome {
        ProbeOutcome::Up { since, tool_count, latency } => HostState::Up {
            // Older than this machine's monotonic clock: as old as it gets here.
            since: instant_of(*since, wall, now).unwrap_or(checked).min(checked),
            checked,
            tool_count: tool_count.and_then(|n| usize::try_from(n).ok()),
            latency: *latency,
        },
        ProbeOutcome::Down { streak, error } => HostState::Down { checked, streak: *streak, error: error.clone() },
    }
}

fn result_of(host: &Host, state: &HostState, wall: Timestamp, now: Instant) -> Option<ProbeResult> {
    let (checked, outcome) = match state {
        HostState::Unknown => return None,
        HostState::Up { since, checked, tool_count, latency } => {
            let since = wall_of(*since, wall, now);
            let tool_count = tool_count.and_then(|n| u64::try_from(n).ok());
            (*checked, ProbeOutcome::Up { since, tool_count, latency: *latency })
        }
        HostState::Down { checked, streak, error } => {
            (*checked, ProbeOutcome::Down { streak: *streak, error: error.clone() })
        }
    };
    let checked = wall_of(checked, wall, now);
    Some(ProbeResult { host: host.name.clone(), target: target(host), checked, outcome })
}

#[cfg(test)]
mod tests;
