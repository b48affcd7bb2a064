//! The table of open sessions and the reaper that ends idle ones.

use crate::{Session, Shared, TooManySessions};
use parking_lot::RwLock;
use rand::RngCore;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Weak};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Sessions {
    map: RwLock<HashMap<Arc<str>, Arc<Session>>>,
}

impl Sessions {
    pub(crate) fn create(&self, shared: &Arc<Shared>) -> Result<Arc<Session>, TooManySessions> {
        let id: Arc<str> = new_session_id().into();
        let session = Arc::new(Session::new(id.clone(), Arc::downgrade(shared)));
        let mut map = self.map.write();
        if map.len() >= shared.config.max_sessions {
            return Err(TooManySessions);
        }
        map.insert(id, session.clone());
        Ok(session)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.map.read().get(id).cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Session>> {
        self.map.write().remove(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.read().len()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        self.map.read().values().cloned().collect()
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

/// Ends sessions idle longer than the configured timeout. Stops when the
/// router is dropped.
pub(crate) async fn reap_idle(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        let limit = shared.config.session_idle_timeout;
        for session in shared.sessions.all() {
            if session.idle_for() > limit {
                tracing::debug!(session = session.id(), "ending idle session");
                if let Some(s) = shared.sessions.remove(session.id()) {
                    s.close();
                }
            }
        }
    }
}
