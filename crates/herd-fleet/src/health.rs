//! The health cache of the fleet and the probe rounds that refresh it.
//!
//! [`Health::probe_all`] probes every host whose cached state is stale
//! (or every host, with `force`), all at once, and returns when the last
//! probe finished or the round's budget ran out, whichever comes first:
//! probes still running then are dropped and their hosts marked DOWN, so a
//! blackholed or half-open host costs one budget, never more. A host whose
//! probe is already running (another caller's round) is not probed again:
//! the second caller waits for the same probe.
//!
//! Hub replicas on one shared store share the background rounds out among
//! themselves instead of each probing every host (see [`shared`]).

mod config;
mod shared;
mod state;

#[cfg(test)]
mod tests;

pub use config::HealthConfig;
pub use state::HostState;

use crate::{Host, McpProber, ProbeOk, Prober, Registry};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared, join_all};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, timeout_at};

/// Every host's state by name.
pub type Snapshot = BTreeMap<String, HostState>;

/// The health tracker of a fleet. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    /// The settings in force; a reload swaps them.
    config: Mutex<Arc<HealthConfig>>,
    prober: Arc<dyn Prober>,
    /// Probe slots, `max_in_flight` of them; a reload that changes the
    /// number puts new ones in place (probes under way keep their old slot).
    limit: Mutex<Arc<Semaphore>>,
    table: Mutex<Table>,
    /// Bumped whenever a host turns UP or stops being UP.
    flips: watch::Sender<u64>,
    /// The store through which replicas share probes, once set.
    sharing: Mutex<Option<Arc<shared::Sharing>>>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<String, Entry>,
    next_flight: u64,
}

struct Entry {
    host: Arc<Host>,
    state: HostState,
    flight: Option<(u64, Shared<BoxFuture<'static, ()>>)>,
}

impl Health {
    /// A tracker for `hosts`, all Unknown, probed by `prober`.
    pub fn new(config: HealthConfig, hosts: impl IntoIterator<Item = Host>, prober: Arc<dyn Prober>) -> Self {
        let limit = Mutex::new(Arc::new(Semaphore::new(config.max_in_flight.max(1))));
        let (flips, _) = watch::channel(0);
        let config = Mutex::new(Arc::new(config));
        let table = Mutex::new(Table::default());
        let inner = Inner { config, prober, limit, table, flips, sharing: Mutex::new(None) };
        let health = Self { inner: Arc::new(inner) };
        health.set_hosts(hosts);
        health
    }

    /// A tracker for the registry's hosts with its health settings,
    /// probing agents over MCP.
    pub fn for_registry(registry: &Registry) -> Self {
        let config = registry.health().clone();
        let prober = Arc::new(McpProber::new(&config));
        Self::new(config, registry.hosts().iter().cloned(), prober)
    }

    /// The settings in force.
    pub fn config(&self) -> Arc<HealthConfig> {
        self.inner.config.lock().clone()
    }

    /// Puts new settings in force (a registry reload). Cached states are
    /// judged by the new TTLs from now on; the next round uses the new
    /// budget and in-flight limit; the prober takes up its part.
    pub fn set_config(&self, config: HealthConfig) {
        let mut current = self.inner.config.lock();
        if **current == config {
            return;
        }
        if current.max_in_flight != config.max_in_flight {
            *self.inner.limit.lock() = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
        }
        self.inner.prober.reconfigure(&config);
        *current = Arc::new(config);
    }

    /// A feed that changes whenever some host turns UP or stops being UP
    /// (read [`Health::snapshot`] to see which): what a hub needs to tell
    /// clients that a host's exposed tools came or went.
    pub fn flips(&self) -> watch::Receiver<u64> {
        self.inner.flips.subscribe()
    }

    /// Replaces the host set (a registry reload). Hosts whose name, url and
    /// token are unchanged keep their state; others start Unknown.
    pub fn set_hosts(&self, hosts: impl IntoIterator<Item = Host>) {
        let mut table = self.inner.table.lock();
        let mut old = std::mem::take(&mut table.entries);
        for host in hosts {
            let entry = match old.remove(&host.name) {
                Some(e) if e.host.url == host.url && e.host.token == host.token && e.host.channel == host.channel => {
                    Entry { host: Arc::new(host), ..e }
                }
                _ => Entry { host: Arc::new(host), state: HostState::Unknown, flight: None },
            };
            table.entries.insert(entry.host.name.clone(), entry);
        }
    }

    /// Every host's cached state, without probing.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.table.lock().entries.iter().map(|(n, e)| (n.clone(), e.state.clone())).collect()
    }

    /// One host's cached state, without probing.
    pub fn state(&self, name: &str) -> Option<HostState> {
        self.inner.table.lock().entries.get(name).map(|e| e.state.clone())
    }

    /// Probes every stale host (every host with `force`) within one budget
    /// and returns every host's state. With probes shared among replicas,
    /// a round without `force` probes only the stale hosts this replica
    /// claims and takes in what the others found.
    pub async fn probe_all(&self, force: bool) -> Snapshot {
        let sharing = self.inner.sharing.lock().clone();
        match sharing {
            Some(sharing) if !force => self.shared_round(&sharing).await,
            _ => self.round(|_, _| true, force).await,
        }
        self.snapshot()
    }

    /// Probes `name` if its state is stale (or with `force`), within one
    /// budget; `None` for an unknown host.
    pub async fn probe(&self, name: &str, force: bool) -> Option<HostState> {
        self.round(|n, _| n == name, force).await;
        self.state(name)
    }

    /// Records what a real call to `name` found out, as if a probe had.
    pub fn report(&self, name: &str, outcome: Result<ProbeOk, String>) {
        if let Some(entry) = self.inner.table.lock().entries.get_mut(name) {
            let next = entry.state.after(outcome, Instant::now());
            self.inner.record(&mut entry.state, next);
        }
    }

    /// Probes the hosts `pick` chooses that are stale (or all of them, with
    /// `force`) within one budget.
    async fn round(&self, pick: impl Fn(&str, &Entry) -> bool, force: bool) {
        let now = Instant::now();
        let config = self.config();
        let deadline = now.checked_add(config.budget).unwrap_or(now);
        let waits = {
            let mut table = self.inner.table.lock();
            let Table { entries, next_flight } = &mut *table;
            let mut waits = Vec::new();
            // Hosts that answered last time go first, then new ones, then
            // those down the shortest: when dead hosts fill every probe
            // slot, the live part of the fleet has already been served.
            let mut due: Vec<(&String, &mut Entry)> = entries
                .iter_mut()
                .filter(|(name, entry)| pick(name, entry) && (force || !entry.state.is_fresh(now, &config)))
                .collect();
            due.sort_by_key(|(_, entry)| match &entry.state {
                HostState::Up { .. } => 0,
                HostState::Unknown => 1,
                HostState::Down { streak, .. } => 1 + u64::from(*streak),
            });
            for (_, entry) in due {
                if let Some((_, done)) = &entry.flight {
                    waits.push(done.clone());
                    continue;
                }
                if entry.host.url.is_none() && entry.host.channel.is_none() {
                    let why = if entry.host.by_channel {
                        "its channel is not open"
                    } else {
                        "no agent url configured (ssh only)"
                    };
                    entry.state = entry.state.after(Err(why.into()), now);
                    continue;
                }
                *next_flight += 1;
                let done = self.inner.clone().launch(entry.host.clone(), *next_flight, deadline);
                entry.flight = Some((*next_flight, done.clone()));
                waits.push(done);
            }
            waits
        };
        join_all(waits).await;
    }
}

impl Inner {
    /// Starts probing `host` in its own task, which records the outcome
    /// itself (so it lands even if every waiter gives up) and ends by
    /// `deadline` at the latest.
    fn launch(self: Arc<Self>, host: Arc<Host>, flight: u64, deadline: Instant) -> Shared<BoxFuture<'static, ()>> {
        let task = tokio::spawn(async move {
            let probe = AssertUnwindSafe(self.run(&host, deadline)).catch_unwind();
            let outcome = probe.await.unwrap_or_else(|_| Err("the probe panicked".to_owned()));
            self.finish(&host.name, flight, outcome);
        });
        async move {
            let _ = task.await;
        }
        .boxed()
        .shared()
    }

    async fn run(&self, host: &Host, deadline: Instant) -> Result<ProbeOk, String> {
        let config = self.config.lock().clone();
        let budget = config.budget.as_secs_f64();
        let limit = self.limit.lock().clone();
        let permit = timeout_at(deadline, limit.acquire_owned()).await;
        // A permit freed exactly at the deadline is no use any more.
        let Some(Ok(permit)) = permit.ok().filter(|_| Instant::now() < deadline) else {
            let max = config.max_in_flight;
            return Err(format!("not probed within the {budget:.1}s budget: {max} probes already in flight"));
        };
        let started = Instant::now();
        let outcome = timeout_at(deadline, self.prober.probe(host)).await;
        let latency = started.elapsed();
        drop(permit);
        let outcome = outcome.unwrap_or_else(|_| Err(format!("no answer within budget ({budget:.1}s)")));
        outcome.map(|ok| ProbeOk { latency: Some(latency), ..ok })
    }

    fn finish(&self, name: &str, flight: u64, outcome: Result<ProbeOk, String>) {
        let mut table = self.table.lock();
        if let Some(entry) = table.entries.get_mut(name)
            && entry.flight.as_ref().is_some_and(|(id, _)| *id == flight)
        {
            let result = if outcome.is_ok() { "up" } else { "down" };
            metrics::counter!("herd_probes_total", "host" => name.to_owned(), "result" => result).increment(1);
            let next = entry.state.after(outcome, Instant::now());
            self.record(&mut entry.state, next);
            metrics::gauge!("herd_host_up", "host" => name.to_owned()).set(if entry.state.is_up() { 1.0 } else { 0.0 });
            entry.flight = None;
        }
    }

    /// Stores a host's new state, announcing an UP/not-UP flip.
    fn record(&self, state: &mut HostState, next: HostState) {
        let flipped = state.is_up() != next.is_up();
        *state = next;
        if flipped {
            self.flips.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}
