//! Who is up: each replica writes its heartbeat every
//! [`ReplicaConfig::heartbeat`](crate::ReplicaConfig) and reads the
//! others'; one silent for `dead_after` is dead, and its sessions and
//! channels with it.

use crate::Replica;
use herd_store::Timestamp;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows of replicas silent this long are removed when a replica leaves.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Least time between two reads of the members on demand (a session id
/// naming a replica not known yet), so made-up ids cannot flood the store.
pub(crate) const REREAD_AFTER: Duration = Duration::from_millis(100);

pub(crate) async fn run(replica: Replica, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(replica.inner.config.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(err) = replica.beat().await {
            tracing::warn!(%err, "replica heartbeat failed");
        }
    }
}

impl Replica {
    /// Writes this replica's heartbeat and reads who else is alive.
    pub(crate) async fn beat(&self) -> Result<(), herd_store::StoreError> {
        let inner = &self.inner;
        inner.store.heartbeat_replica(&inner.id, &inner.config.address).await?;
        self.read_members().await
    }

    /// Reads the members again now, unless this was done less than
    /// [`REREAD_AFTER`] ago (heartbeats aside); whether it was.
    pub(crate) async fn reread(&self) -> bool {
        {
            let mut read_at = self.inner.reread_at.lock();
            if read_at.is_some_and(|at| at.elapsed() < REREAD_AFTER) {
                return false;
            }
            *read_at = Some(tokio::time::Instant::now());
        }
        match self.read_members().await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%err, "cannot read the replicas");
                false
            }
        }
    }

    async fn read_members(&self) -> Result<(), herd_store::StoreError> {
        let inner = &self.inner;
        let since = Timestamp::now().saturating_sub(inner.config.dead_after);
        let live: HashMap<String, String> =
            inner.store.live_replicas(since).await?.into_iter().map(|r| (r.id, r.address)).collect();
        let mut known = inner.live.write();
        if known.len() != live.len() || live.keys().any(|id| !known.contains_key(id)) {
            let mut ids: Vec<&String> = live.keys().collect();
            ids.sort();
            tracing::info!(replica = %inner.id, live = ?ids, "replicas changed");
        }
        *known = live;
        Ok(())
    }

    /// Leaves: this replica's row and its channels' claims are removed,
    /// so the others stop sending to it at once.
    pub(crate) async fn leave(&self) {
        let dead_before = Timestamp::now().saturating_sub(FORGET_AFTER);
        match self.inner.store.remove_replica(&self.inner.id, dead_before).await {
            Ok(()) => tracing::info!(replica = %self.inner.id, "replica left"),
            Err(err) => tracing::warn!(%err, "replica could not leave; the others see it dead once silent"),
        }
    }
}
