//! One change at a time per server name.
//!
//! A load stops the server it replaces before it starts its own, and that
//! stop takes time. Two loads (or a load and an unload) of one name that
//! overlapped there could each act on a server the other had already
//! displaced, and leave a process running that no entry owns. Changes to
//! one name therefore take turns; changes to different names do not wait
//! for each other.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex as Turn, OwnedMutexGuard};

/// The turns of every name with a change under way.
#[derive(Default)]
pub(crate) struct NameLocks {
    turns: Mutex<HashMap<String, Arc<Turn<()>>>>,
}

/// Held while a change to one name runs; the next change waits for it.
pub(crate) struct NameGuard<'a> {
    locks: &'a NameLocks,
    name: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl NameLocks {
    /// Waits for the turn of `name`.
    ///
    /// Cancel safe: a waiter dropped before its turn never holds the name.
    pub(crate) async fn lock(&self, name: &str) -> NameGuard<'_> {
        let turn = self.turns.lock().entry(name.to_owned()).or_default().clone();
        let guard = turn.lock_owned().await;
        NameGuard { locks: self, name: name.to_owned(), guard: Some(guard) }
    }

    #[cfg(test)]
    fn names(&self) -> usize {
        self.turns.lock().len()
    }
}

impl Drop for NameGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut turns = self.locks.turns.lock();
        // Only the map holds it now: nobody waits, so the entry can go.
        if turns.get(&self.name).is_some_and(|turn| Arc::strong_count(turn) == 1) {
            turns.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_name_takes_turns_and_others_do_not_wait() {
        let locks = NameLocks::default();
        let first = locks.lock("a").await;
        let other = tokio::time::timeout(Duration::from_secs(5), locks.lock("b")).await;
        assert!(other.is_ok(), "another name waited");
        drop(other);
        let mut second = std::pin::pin!(locks.lock("a"));
        assert!(futures_util::poll!(second.as_mut()).is_pending(), "the same name did not wait");
        drop(first);
        let second = second.await;
        drop(second);
        assert_eq!(locks.names(), 0, "finished turns are forgotten");
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_nothing_behind() {
        let locks = NameLocks::default();
        let first = locks.lock("a").await;
        {
            let mut waiting = std::pin::pin!(locks.lock("a"));
            assert!(futures_util::poll!(waiting.as_mut()).is_pending());
        }
        drop(first);
        assert_eq!(locks.names(), 0);
    }
}
