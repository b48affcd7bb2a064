//! The pool's queue: one lane of waiting jobs per session, served in turn.
//!
//! A single queue lets one session that submits a burst (or whose jobs
//! hang) fill every thread. So each session gets a lane, the lanes that may
//! run a job take turns ([`Lanes::pop`] goes round them), and a lane never
//! has more than `per_lane` jobs running at once: its further jobs wait in
//! the lane while other sessions' jobs run. A job counts as running until
//! its thread is really done with it, so a session's stuck jobs take up its
//! own allowance only. The jobs stay in the pool meanwhile, so a thread
//! that finishes one takes the next without a trip through the async
//! runtime. A lane disappears once it has nothing queued or running.
//!
//! Requests outside any session (key `None`) share one lane.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Which lane a job goes to: its session's id, or `None`.
pub(in crate::host::blocking) type Key = Option<Arc<str>>;

/// Lanes of waiting items of type `T`.
pub(super) struct Lanes<T> {
    by_key: HashMap<Key, Lane<T>>,
    /// Lanes with a waiting item and room to run it, in turn order.
    ready: VecDeque<Key>,
    per_lane: usize,
}

struct Lane<T> {
    waiting: VecDeque<T>,
    running: usize,
    in_ready: bool,
}

impl<T> Lanes<T> {
    /// Lanes that each run at most `per_lane` items at once (at least 1).
    pub(super) fn new(per_lane: usize) -> Self {
        Self { by_key: HashMap::new(), ready: VecDeque::new(), per_lane: per_lane.max(1) }
    }

    /// Queues `item` in the lane of `key`; true when that lane has room to
    /// run it as soon as a thread takes it (nothing of the lane's waits
    /// ahead of it beyond its share).
    pub(super) fn push(&mut self, key: &Key, item: T) -> bool {
        let per_lane = self.per_lane;
        let lane = self.by_key.entry(key.clone()).or_insert_with(|| Lane {
            waiting: VecDeque::new(),
            running: 0,
            in_ready: false,
        });
        lane.waiting.push_back(item);
        let room = lane.running + lane.waiting.len() <= per_lane;
        if lane.running < per_lane && !lane.in_ready {
            lane.in_ready = true;
            self.ready.push_back(key.clone());
        }
        room
    }

    /// The next item to run, from the next lane in turn; it counts as
    /// running in its lane until [`Lanes::done`].
    pub(super) fn pop(&mut self) -> Option<(Key, T)> {
        while let Some(key) = self.ready.pop_front() {
            let Some(lane) = self.by_key.get_mut(&key) else { continue };
            lane.in_ready = false;
            let Some(item) = lane.waiting.pop_front() else {
                self.forget_if_idle(&key);
                continue;
            };
            lane.running += 1;
            if !lane.waiting.is_empty() && lane.running < self.per_lane {
                lane.in_ready = true;
                self.ready.push_back(key.clone());
            }
            return Some((key, item));
        }
        None
    }

    /// An item of `key`'s lane that [`Lanes::pop`] gave out is done.
    pub(super) fn done(&mut self, key: &Key) {
        let Some(lane) = self.by_key.get_mut(key) else { return };
        lane.running = lane.running.saturating_sub(1);
        if !lane.waiting.is_empty() && !lane.in_ready && lane.running < self.per_lane {
            lane.in_ready = true;
            self.ready.push_back(key.clone());
        }
        self.forget_if_idle(key);
    }

    /// Takes the waiting items of `key`'s lane that `gone` picks out of the
    /// queue, and returns them.
    pub(super) fn remove(&mut self, key: &Key, mut gone: impl FnMut(&T) -> bool) -> VecDeque<T> {
        let Some(lane) = self.by_key.get_mut(key) else { return VecDeque::new() };
        let (kept, removed): (VecDeque<T>, VecDeque<T>) =
            std::mem::take(&mut lane.waiting).into_iter().partition(|item| !gone(item));
        lane.waiting = kept;
        self.forget_if_idle(key);
        removed
    }

    /// Whether some lane has an item it may run now.
    pub(super) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Lanes with an item they may run now.
    pub(super) fn ready_lanes(&self) -> usize {
        self.ready.len()
    }

    /// Whether `key`'s lane runs as many items as it may.
    pub(super) fn is_full(&self, key: &Key) -> bool {
        self.by_key.get(key).is_some_and(|lane| lane.running >= self.per_lane)
    }

    /// Lanes that exist (something queued or running).
    #[cfg(test)]
    pub(super) fn lanes(&self) -> usize {
        self.by_key.len()
    }

    fn forget_if_idle(&mut self, key: &Key) {
        if self.by_key.get(key).is_some_and(|lane| lane.running == 0 && lane.waiting.is_empty()) {
            self.by_key.remove(key);
            self.ready.retain(|k| k != key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Key {
        Some(k.into())
    }

    #[test]
    fn lanes_take_turns_and_none_runs_more_than_its_share() {
        let mut lanes = Lanes::new(2);
        for i in 0..4 {
            assert_eq!(lanes.push(&key("a"), ("a", i)), i < 2, "room for a's job {i}");
        }
        lanes.push(&key("b"), ("b", 0));
        lanes.push(&None, ("-", 0));
        let order: Vec<_> = std::iter::from_fn(|| lanes.pop().map(|(_, item)| item)).collect();
        // a's third and fourth wait for a's first two, not for b or the
        // sessionless lane.
        assert_eq!(order, [("a", 0), ("b", 0), ("-", 0), ("a", 1)]);
        assert!(lanes.is_full(&key("a")) && !lanes.has_ready());
        lanes.done(&key("a"));
        assert_eq!(lanes.pop().map(|(_, item)| item), Some(("a", 2)));
        assert_eq!(lanes.pop(), None);
    }

    #[test]
    fn idle_lanes_are_forgotten_and_removed_items_never_run() {
        let mut lanes = Lanes::new(1);
        lanes.push(&key("a"), 1);
        lanes.push(&key("a"), 2);
        lanes.push(&key("b"), 3);
        assert_eq!(lanes.remove(&key("b"), |i| *i == 3), [3]);
        assert_eq!(lanes.lanes(), 1, "an empty lane was kept");
        let (k, first) = lanes.pop().unwrap();
        assert_eq!(first, 1);
        assert_eq!(lanes.remove(&k, |i| *i == 2), [2]);
        assert_eq!(lanes.pop(), None);
        lanes.done(&k);
        assert_eq!(lanes.lanes(), 0, "a lane with nothing queued or running was kept");
    }
}
