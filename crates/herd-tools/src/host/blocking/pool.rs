//! The threads that run file system jobs off the async runtime, and keep
//! the cost of handing a job over small.
//!
//! A job handed to a sleeping thread costs a wake-up and two context
//! switches, several times the cost of reading a small file. So a thread
//! that has finished a job first stays awake for a moment (yielding its core
//! to anything else runnable) and takes the next job without anyone waking
//! it; under a steady stream of calls the threads hardly ever sleep. At most
//! [`MAX_SPINNERS`] threads stay awake this way, and only for [`SPIN`], so an
//! idle agent uses no CPU. Waiting jobs sit in per-session [`lanes`] that
//! take turns, each session running at most its share of jobs at once.
//!
//! # Size
//!
//! The pool keeps up to `threads` threads for the usual stream of short jobs;
//! more would only add context switches on a small machine. A job on a hung
//! network mount, though, holds its thread in the kernel, and nothing can
//! take the thread back. So when a job has waited for a thread for a while
//! ([`Ticket::grow`], called by the job's caller), the busy threads are taken
//! to be slow or stuck and one more thread starts, up to `max_threads` in
//! all, stuck ones included. A thread beyond `threads` ends as soon as no
//! job is ready for it. The bound: never more than `max_threads` threads;
//! once that many are stuck, further jobs wait and their callers' deadlines
//! end the wait.
//!
//! # Abandoned jobs
//!
//! A job's caller may stop waiting ([`Ticket::abandon`]: its deadline
//! passed, or it was cancelled). A job not started yet is taken out of its
//! lane and never runs. A job under way cannot be stopped; its thread is
//! counted as stuck until the job returns, and then rejoins the pool (or
//! ends, if the pool has enough threads without it).

mod lanes;

pub(super) use lanes::Key;

use lanes::Lanes;
use parking_lot::{Condvar, Mutex};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// How long a thread out of work stays awake looking for the next job.
const SPIN: Duration = Duration::from_micros(50);

/// Threads staying awake for work at any moment.
const MAX_SPINNERS: usize = 1;

/// A job: it reports its own outcome (through a channel it owns).
pub(super) type Job = Box<dyn FnOnce() + Send>;

/// Where a job is, as its caller and the pool see it.
const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const ABANDONED: u8 = 3;

/// Where a job was when its caller abandoned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Abandoned {
    /// Still waiting: it will never run. `session_full` when its session
    /// had as many jobs running as it may (stuck ones included).
    Queued {
        /// Its session's share was taken by the session's own jobs.
        session_full: bool,
    },
    /// Running: its thread counts as stuck until the job returns.
    Running,
    /// It had already finished.
    Finished,
}

/// The caller's hold on a submitted job.
pub(super) struct Ticket {
    phase: Arc<AtomicU8>,
    key: Key,
    shared: Arc<Shared>,
}

/// The pool. Threads start on demand; up to `threads` of them live as long
/// as the process.
pub(super) struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Lanes with a job ready to run; read without the lock by awake
    /// threads.
    ready: AtomicUsize,
    /// Threads awake and looking for work.
    spinning: AtomicUsize,
    threads: usize,
    max_threads: usize,
}

struct Queued {
    job: Job,
    phase: Arc<AtomicU8>,
}

struct State {
    lanes: Lanes<Queued>,
    threads: usize,
    /// Threads asleep that no submitted job has claimed yet.
    sleeping: usize,
    /// Threads running a job their caller abandoned.
    stuck: usize,
    /// Threads started that have not looked for a job yet: each will take
    /// one, so growing counts them as idle.
    starting: usize,
}

impl Pool {
    /// A pool of `threads` threads for the usual load, growing up to
    /// `max_threads` when jobs wait behind slow or stuck ones; one session
    /// runs at most `per_session` jobs at once.
    pub(super) fn new(threads: usize, max_threads: usize, per_session: usize) -> Self {
        let threads = threads.max(1);
        let state = State { lanes: Lanes::new(per_session), threads: 0, sleeping: 0, stuck: 0, starting: 0 };
        let shared = Shared {
            state: Mutex::new(state),
            wake: Condvar::new(),
            ready: AtomicUsize::new(0),
            spinning: AtomicUsize::new(0),
            threads,
            max_threads: max_threads.max(threads),
        };
        Self { shared: Arc::new(shared) }
    }

    /// Queues `job` in the lane of `key`; it runs as soon as a thread is
    /// free and the session has room. Never blocks on the jobs themselves
    /// (the lock guards only the queue).
    pub(super) fn submit(&self, key: Key, job: Job) -> Ticket {
        let phase = Arc::new(AtomicU8::new(QUEUED));
        let mut state = self.shared.state.lock();
        let room = state.lanes.push(&key, Queued { job, phase: phase.clone() });
        self.shared.ready.store(state.lanes.ready_lanes(), SeqCst);
        // An awake thread checks `ready` after it stops looking, so one of
        // the two always sees the other (both sides are SeqCst).
        if room && self.shared.spinning.load(SeqCst) == 0 {
            if state.sleeping > 0 {
                // Claims a sleeper: the next job does not count on it too.
                state.sleeping -= 1;
                self.shared.wake.notify_one();
            } else if state.threads < self.shared.threads {
                self.shared.spawn(&mut state);
            }
        }
        Ticket { phase, key, shared: self.shared.clone() }
    }

    /// Threads running a job their caller gave up on.
    pub(super) fn stuck(&self) -> usize {
        self.shared.state.lock().stuck
    }

    /// Threads alive.
    #[cfg(test)]
    pub(super) fn threads(&self) -> usize {
        self.shared.state.lock().threads
    }

    #[cfg(test)]
    fn sleeping(&self) -> usize {
        self.shared.state.lock().sleeping
    }
}

impl Ticket {
    /// Whether the job still waits for a thread.
    pub(super) fn is_queued(&self) -> bool {
        self.phase.load(SeqCst) == QUEUED
    }

    /// The job has waited long enough: start one more thread, if its
    /// session has room to run it (a job held back by its session's share
    /// gains nothing from a thread), no thread is idle or about to look for
    /// work, and the cap allows.
    pub(super) fn grow(&self) {
        let mut state = self.shared.state.lock();
        let idle = state.sleeping > 0 || state.starting > 0 || self.shared.spinning.load(SeqCst) > 0;
        let room = !state.lanes.is_full(&self.key);
        if room && state.lanes.has_ready() && !idle && state.threads < self.shared.max_threads {
            self.shared.spawn(&mut state);
        }
    }

    /// The caller no longer waits for the job; see the module doc.
    pub(super) fn abandon(&self) -> Abandoned {
        let mut state = self.shared.state.lock();
        if self.phase.compare_exchange(QUEUED, ABANDONED, SeqCst, SeqCst).is_ok() {
            let session_full = state.lanes.is_full(&self.key);
            let removed = state.lanes.remove(&self.key, |q| q.phase.load(SeqCst) == ABANDONED);
            self.shared.ready.store(state.lanes.ready_lanes(), SeqCst);
            drop(state);
            // Dropped outside the lock: a job's captures may do work on drop.
            drop(removed);
            return Abandoned::Queued { session_full };
        }
        // Under the lock, so the thread sees `stuck` counted if it finds
        // its job abandoned when it returns.
        if self.phase.compare_exchange(RUNNING, ABANDONED, SeqCst, SeqCst).is_ok() {
            state.stuck += 1;
            return Abandoned::Running;
        }
        Abandoned::Finished
    }
}

impl Shared {
    /// Starts a thread (the caller checked that one may start).
    fn spawn(self: &Arc<Self>, state: &mut State) {
        state.threads += 1;
        state.starting += 1;
        let shared = self.clone();
        let spawned = std::thread::Builder::new().name("herd-fs".into()).spawn(move || shared.work());
        if let Err(error) = spawned {
            state.threads -= 1;
            state.starting -= 1;
            tracing::warn!(%error, "could not start a file system thread");
        }
    }

    fn work(&self) {
        let mut started = false;
        loop {
            let next = {
                let mut state = self.state.lock();
                if !std::mem::replace(&mut started, true) {
                    state.starting -= 1;
                }
                let next = state.lanes.pop();
                self.ready.store(state.lanes.ready_lanes(), SeqCst);
                next
            };
            if let Some((key, Queued { job, phase })) = next {
                let ran = phase.compare_exchange(QUEUED, RUNNING, SeqCst, SeqCst).is_ok();
                if ran {
                    // A panicking job drops its channel: its caller sees an
                    // internal error, and the thread carries on.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                } else {
                    drop(job); // abandoned while queued: its caller is gone
                }
                let was_abandoned = ran && phase.compare_exchange(RUNNING, DONE, SeqCst, SeqCst).is_err();
                let mut state = self.state.lock();
                if was_abandoned {
                    state.stuck = state.stuck.saturating_sub(1);
                }
                state.lanes.done(&key);
                self.ready.store(state.lanes.ready_lanes(), SeqCst);
                if !state.lanes.has_ready() && state.threads > self.threads {
                    state.threads -= 1;
                    return;
                }
                continue;
            }
            if self.look_for_work() {
                continue;
            }
            let mut state = self.state.lock();
            if !state.lanes.has_ready() {
                // Whoever wakes this thread takes it off `sleeping`
                // (parking_lot's condvar has no spurious wake-ups).
                state.sleeping += 1;
                self.wake.wait(&mut state);
            }
        }
    }

    /// Stays awake for [`SPIN`] while no job is ready; true once one is.
    fn look_for_work(&self) -> bool {
        if self.spinning.fetch_add(1, SeqCst) >= MAX_SPINNERS {
            self.spinning.fetch_sub(1, SeqCst);
            return self.ready.load(SeqCst) > 0;
        }
        let started = Instant::now();
        while self.ready.load(SeqCst) == 0 && started.elapsed() < SPIN {
            // Lets a runnable thread (the runtime, the client) have the core.
            std::thread::yield_now();
        }
        self.spinning.fetch_sub(1, SeqCst);
        self.ready.load(SeqCst) > 0
    }
}

#[cfg(test)]
mod tests;
