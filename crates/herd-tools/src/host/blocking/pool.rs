//! A few threads that keep file system jobs off the async runtime, and keep
//! the cost of handing a job over small.
//!
//! A job handed to a sleeping thread costs a wake-up and two context
//! switches, several times the cost of reading a small file. So a thread
//! that has finished a job first stays awake for a moment (yielding its core
//! to anything else runnable) and takes the next job without anyone waking
//! it; under a steady stream of calls the threads hardly ever sleep. At most
//! [`MAX_SPINNERS`] threads stay awake this way, and only for [`SPIN`], so an
//! idle agent uses no CPU.
//!
//! At most `max_threads` jobs run at once: a job on a hung network mount
//! holds its thread, and once every thread is held the next jobs wait in the
//! queue. Such a mount can stall file tools, never the runtime or the other
//! tools.

use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// How long a thread out of work stays awake looking for the next job.
const SPIN: Duration = Duration::from_micros(50);

/// Threads staying awake for work at any moment.
const MAX_SPINNERS: usize = 1;

/// A job: it reports its own outcome (through a channel it owns).
pub(super) type Job = Box<dyn FnOnce() + Send>;

/// The pool. Threads start on demand and live as long as the process.
pub(super) struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Jobs in the queue; read without the lock by awake threads.
    queued: AtomicUsize,
    /// Threads awake and looking for work.
    spinning: AtomicUsize,
    max_threads: usize,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    threads: usize,
    sleeping: usize,
}

impl Pool {
    /// A pool running at most `max_threads` jobs at once.
    pub(super) fn new(max_threads: usize) -> Self {
        let shared = Shared {
            state: Mutex::default(),
            wake: Condvar::new(),
            queued: AtomicUsize::new(0),
            spinning: AtomicUsize::new(0),
            max_threads: max_threads.max(1),
        };
        Self { shared: Arc::new(shared) }
    }

    /// Queues `job`; it runs as soon as a thread is free. Never blocks on
    /// the jobs themselves (the lock guards only the queue).
    pub(super) fn submit(&self, job: Job) {
        let mut state = self.shared.state.lock();
        state.jobs.push_back(job);
        self.shared.queued.fetch_add(1, SeqCst);
        // An awake thread checks `queued` after it stops looking, so one
        // of the two always sees the other (both sides are SeqCst).
        if self.shared.spinning.load(SeqCst) > 0 {
            return;
        }
        if state.sleeping > 0 {
            self.shared.wake.notify_one();
        } else if state.threads < self.shared.max_threads {
            state.threads += 1;
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new().name("herd-fs".into()).spawn(move || shared.work());
            if let Err(error) = spawned {
                state.threads -= 1;
                tracing::warn!(%error, "could not start a file system thread");
            }
        }
    }

    #[cfg(test)]
    pub(super) fn threads(&self) -> usize {
        self.shared.state.lock().threads
    }

    #[cfg(test)]
    fn sleeping(&self) -> usize {
        self.shared.state.lock().sleeping
    }
}

impl Shared {
    fn work(&self) {
        loop {
            let job = self.state.lock().jobs.pop_front();
            if let Some(job) = job {
                self.queued.fetch_sub(1, SeqCst);
                // A panicking job drops its channel: its caller sees an
                // internal error, and the thread carries on.
                let _ = catch_unwind(AssertUnwindSafe(job));
                continue;
            }
            if self.look_for_work() {
                continue;
            }
            let mut state = self.state.lock();
            if state.jobs.is_empty() {
                state.sleeping += 1;
                self.wake.wait(&mut state);
                state.sleeping -= 1;
            }
        }
    }

    /// Stays awake for [`SPIN`] while no job is queued; true once one is.
    fn look_for_work(&self) -> bool {
        if self.spinning.fetch_add(1, SeqCst) >= MAX_SPINNERS {
            self.spinning.fetch_sub(1, SeqCst);
            return self.queued.load(SeqCst) > 0;
        }
        let started = Instant::now();
        while self.queued.load(SeqCst) == 0 && started.elapsed() < SPIN {
            // Lets a runnable thread (the runtime, the client) have the core.
            std::thread::yield_now();
        }
        self.spinning.fetch_sub(1, SeqCst);
        self.queued.load(SeqCst) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_every_job_and_survives_a_panicking_one() {
        let pool = Pool::new(2);
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(|| panic!("a job that panics")));
        for i in 0..100 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(i).unwrap_or_default()));
        }
        let mut seen: Vec<i32> = (0..100).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap_or(-1)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        assert!(pool.threads() <= 2);
    }

    #[test]
    fn held_threads_make_later_jobs_wait_not_multiply() {
        let pool = Pool::new(2);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let (started_tx, started_rx) = mpsc::channel();
        for _ in 0..2 {
            let (release_rx, started_tx) = (release_rx.clone(), started_tx.clone());
            pool.submit(Box::new(move || {
                started_tx.send(()).unwrap_or_default();
                let _ = release_rx.lock().recv();
            }));
        }
        for _ in 0..2 {
            started_rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        }
        // Both threads are held, as by a hung mount: a third job waits.
        let (done_tx, done_rx) = mpsc::channel();
        pool.submit(Box::new(move || done_tx.send(()).unwrap_or_default()));
        assert!(done_rx.recv_timeout(Duration::from_millis(100)).is_err(), "ran with every thread held");
        assert_eq!(pool.threads(), 2);
        release_tx.send(()).unwrap_or_default();
        assert!(done_rx.recv_timeout(Duration::from_secs(10)).is_ok(), "never ran once a thread was free");
        release_tx.send(()).unwrap_or_default();
    }

    #[test]
    fn a_sleeping_pool_wakes_for_a_new_job() {
        let pool = Pool::new(1);
        let (tx, rx) = mpsc::channel();
        let first = tx.clone();
        pool.submit(Box::new(move || first.send(1).unwrap_or_default()));
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).ok(), Some(1));
        // Once the thread sleeps, only a wake-up gets the next job run.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.sleeping() == 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(pool.sleeping(), 1);
        pool.submit(Box::new(move || tx.send(2).unwrap_or_default()));
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).ok(), Some(2));
    }
}
