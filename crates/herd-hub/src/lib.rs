//! The hub: one MCP endpoint in front of every agent of a fleet.
//!
//! A hub is a router (herd-router) over two backends made here:
//!
//! - [`HubTools`]: `remote_list_hosts`, `remote_<tool>` for each agent
//!   tool, `remote_shell_many`, `remote_list_tools` and `remote_call`;
//! - [`Exposed`]: the tools, resources and prompts of hosts that opted in,
//!   offered first-class under client-safe names.
//!
//! Both reach hosts through a [`Fleet`]: the registry in force, the health
//! of every agent, the MCP sessions to the agents (shared with the health
//! probes, so probes keep them warm) and the ssh [`Fallback`]. The call
//! path ([`Fleet::call_tool`]) decides per call between agent and ssh and
//! logs every call; nothing on it waits on a lock across a network call,
//! so a dead host costs only the calls addressed to it.

mod expose;
mod fallback;
mod fleet;
mod metrics;
mod path;
mod raw;
mod reload;
mod ssh;
mod tools;
mod trace;

pub use expose::Exposed;
pub use fallback::Fallback;
pub use fleet::{CallConfig, Fleet, SelectError};
pub use path::{Failure, Served};
pub use reload::spawn_reloader;
pub use ssh::SshFallback;
pub use tools::HubTools;

use herd_fleet::Registry;
use herd_guard::{Audit, Guarded, Scope};
use herd_proto::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shortest pause between two background probe rounds.
pub const MIN_PROBE_TICK: Duration = Duration::from_secs(1);

/// A hub's parts. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    fleet: Arc<Fleet>,
    tools: Arc<HubTools>,
    exposed: Arc<Exposed>,
}

impl Hub {
    /// A hub over `registry`, falling back to `fallback` for hosts whose
    /// agent is down.
    pub fn new(registry: Registry, fallback: Option<Arc<dyn Fallback>>, config: CallConfig) -> Self {
        let fleet = Arc::new(Fleet::new(registry, fallback, config));
        let tools = Arc::new(HubTools::new(fleet.clone()));
        let exposed = Arc::new(Exposed::new(fleet.clone()));
        Self { fleet, tools, exposed }
    }

    /// The backends to put behind a router: hub tools first (their names
    /// win over exposed ones), then the exposed hosts; both filtered and
    /// decided by the request's principal, not audited.
    pub fn backends(&self) -> Vec<Arc<dyn Backend>> {
        self.audited_backends(None)
    }

    /// [`Hub::backends`], every call audited through `audit` when given.
    pub fn audited_backends(&self, audit: Option<Audit>) -> Vec<Arc<dyn Backend>> {
        let locate: Arc<dyn herd_guard::Locate> = self.exposed.clone();
        vec![
            self.audited_tools(audit.clone()),
            Arc::new(Guarded::new(self.exposed.clone(), Scope::Delegated(Some(locate)), audit)),
        ]
    }

    /// The hub tools alone, filtered and decided by the request's
    /// principal as in [`Hub::audited_backends`], every call audited
    /// through `audit` when given: the way other front ends (the status
    /// page) call a host's tools as MCP clients would.
    pub fn audited_tools(&self, audit: Option<Audit>) -> Arc<dyn Backend> {
        Arc::new(Guarded::new(self.tools.clone(), Scope::HubTools, audit))
    }

    /// The fleet.
    pub fn fleet(&self) -> &Arc<Fleet> {
        &self.fleet
    }

    /// Swaps in a reloaded registry without touching client sessions, and
    /// probes hosts that are new or changed.
    pub async fn reload(&self, registry: Registry) {
        self.fleet.replace(registry);
        self.fleet.health().probe_all(false).await;
        self.exposed.check();
    }

    /// Probes every host once (within the budget); what a hub does before
    /// it starts serving, so the first lists already see live hosts.
    pub async fn probe_now(&self) {
        self.fleet.health().probe_all(false).await;
        self.exposed.check();
    }

    /// Makes the agents that join over `channels` hosts of the fleet, for
    /// as long as the hub runs (until `shutdown`): a host whose channel
    /// opens is probed at once, one whose channel closes is DOWN at once,
    /// and the exposure hears of both.
    pub fn spawn_channels(
        &self,
        channels: herd_channel::Channels,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        let mut changes = channels.changes();
        tokio::spawn(async move {
            let mut was_active = std::collections::BTreeSet::new();
            loop {
                changes.borrow_and_update();
                let hosts = channels.hosts();
                hub.fleet.set_channels(hosts.iter().map(|h| (h.name.clone(), h.link.clone())).collect());
                let active: std::collections::BTreeSet<String> =
                    hosts.iter().filter(|h| h.active).map(|h| h.name.clone()).collect();
                for gone in was_active.difference(&active) {
                    hub.fleet.health().report(gone, Err("its channel closed".to_owned()));
                    tracing::info!(host = %gone, "host inactive: its channel closed");
                }
                let joined: Vec<&String> = active.difference(&was_active).collect();
                let probed =
                    futures_util::future::join_all(joined.iter().map(|name| hub.fleet.health().probe(name, true)))
                        .await;
                for (name, state) in joined.iter().zip(probed) {
                    let up = state.is_some_and(|s| s.is_up());
                    tracing::info!(host = %name, up, "host joined over its channel");
                }
                was_active = active;
                hub.exposed.check();
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
            }
        })
    }

    /// Keeps the health cache fresh in the background: every `every`, or
    /// every half UP TTL when that is shorter (so a short TTL is honoured
    /// within half of it; never more often than every [`MIN_PROBE_TICK`]),
    /// the hosts whose cached state went stale are probed (UP ones after
    /// their TTL, DOWN ones after their backoff). Ends with `shutdown`.
    pub fn spawn_prober(&self, every: Duration, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                let half_ttl = hub.fleet.health().config().up_ttl / 2;
                let pause = every.min(half_ttl).max(MIN_PROBE_TICK);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => hub.probe_now().await,
                }
            }
        })
    }
}
