//! The table of open sessions, its caps (in total and per owner), and the
//! reaper that ends idle ones.

use crate::{Caller, Expiry, Owner, Session, Shared, TooManySessions};
use parking_lot::RwLock;
use rand::RngCore;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Weak};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Sessions {
    table: RwLock<Table>,
}

#[derive(Default)]
struct Table {
    map: HashMap<Arc<str>, Arc<Session>>,
    /// Open sessions per owner; an owner with none has no entry.
    per_owner: HashMap<Owner, usize>,
}

impl Sessions {
    pub(crate) fn create(
        &self,
        shared: &Arc<Shared>,
        owner: Owner,
        expiry: Expiry,
        caller: Caller,
    ) -> Result<Arc<Session>, TooManySessions> {
        let config = &shared.config;
        let id: Arc<str> = format!("{}{}", config.id_prefix, new_session_id()).into();
        let mut table = self.table.write();
        if table.map.len() >= config.max_sessions {
            return Err(TooManySessions::Total { limit: config.max_sessions });
        }
        let owned = table.per_owner.get(&owner).copied().unwrap_or(0);
        if owned >= config.max_sessions_per_owner {
            tracing::warn!(%owner, limit = config.max_sessions_per_owner, "session refused: the owner holds too many");
            return Err(TooManySessions::PerOwner { limit: config.max_sessions_per_owner });
        }
        let session = Arc::new(Session::new(id.clone(), Arc::downgrade(shared), owner.clone(), expiry, caller));
        table.per_owner.insert(owner, owned + 1);
        table.map.insert(id, session.clone());
        Ok(session)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.table.read().map.get(id).cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let mut table = self.table.write();
        let session = table.map.remove(id)?;
        if let Some(count) = table.per_owner.get_mut(session.owner()) {
            *count -= 1;
            if *count == 0 {
                table.per_owner.remove(session.owner());
            }
        }
        Some(session)
    }

    pub(crate) fn len(&self) -> usize {
        self.table.read().map.len()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        self.table.read().map.values().cloned().collect()
    }
}

/// 128 random bits as hex: unguessable, and visible ASCII as HTTP requires.
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How often the reaper looks: often enough that a session outlives its
/// idle timeout by at most half of it, and at most every 30 s.
fn reap_period(idle_timeout: Duration) -> Duration {
    (idle_timeout / 2).clamp(Duration::from_millis(10), Duration::from_secs(30))
}

/// Ends sessions of [`Expiry::WhenIdle`] idle longer than the configured
/// timeout; sessions of [`Expiry::WithTransport`] are left to their
/// transport. Stops when the router is dropped.
pub(crate) async fn reap_idle(shared: Weak<Shared>) {
    let Some(period) = shared.upgrade().map(|s| reap_period(s.config.session_idle_timeout)) else { return };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        let limit = shared.config.session_idle_timeout;
        for session in shared.sessions.all() {
            if session.expiry() == Expiry::WhenIdle && session.idle_for() > limit {
                tracing::debug!(session = session.id(), "ending idle session");
                if let Some(s) = shared.sessions.remove(session.id()) {
                    s.close();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
