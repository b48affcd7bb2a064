//! Tests of the pool: every job runs, held threads make jobs wait until
//! the caller asks the pool to grow, growth stops at the cap, abandoned jobs
//! never run, and surplus threads end once the queue is empty.

#![allow(clippy::unwrap_used)]

use super::*;
use std::sync::mpsc;

const LONG: Duration = Duration::from_secs(10);

/// Submits `n` jobs that each report their start, then wait until
/// `release` says so (or is dropped); returns their tickets. With `grow`,
/// each asks the pool for a thread of its own.
fn hold(pool: &Pool, key: &Key, n: usize, grow: bool) -> (Vec<Ticket>, mpsc::Sender<()>) {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let (started_tx, started_rx) = mpsc::channel();
    let tickets = (0..n)
        .map(|_| {
            let (release_rx, started_tx) = (release_rx.clone(), started_tx.clone());
            let ticket = pool.submit(
                key.clone(),
                Box::new(move || {
                    started_tx.send(()).unwrap_or_default();
                    let _ = release_rx.lock().recv();
                }),
            );
            if grow {
                ticket.grow();
            }
            ticket
        })
        .collect();
    for _ in 0..n {
        started_rx.recv_timeout(LONG).unwrap();
    }
    (tickets, release_tx)
}

/// Waits (bounded) for the pool to reach a state no event announces.
fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(cond(), "{what}");
}

fn reporting(tx: &mpsc::Sender<u32>, value: u32) -> Job {
    let tx = tx.clone();
    Box::new(move || tx.send(value).unwrap_or_default())
}

#[test]
fn runs_every_job_and_survives_a_panicking_one() {
    let pool = Pool::new(2, 4, 64);
    let (tx, rx) = mpsc::channel();
    pool.submit(None, Box::new(|| panic!("a job that panics")));
    for i in 0..100 {
        pool.submit(None, reporting(&tx, i));
    }
    let mut seen: Vec<u32> = (0..100).map(|_| rx.recv_timeout(LONG).unwrap_or(u32::MAX)).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    assert!(pool.threads() <= 2, "grew without being asked");
}

#[test]
fn held_threads_make_later_jobs_wait_until_asked_to_grow() {
    let pool = Pool::new(2, 3, 64);
    let (_held, release) = hold(&pool, &None, 2, false);
    // Both threads are held, as by a hung mount: a third job waits.
    let (tx, rx) = mpsc::channel();
    let waiting = pool.submit(None, reporting(&tx, 3));
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "ran with every thread held");
    assert!(waiting.is_queued());
    assert_eq!(pool.threads(), 2);
    waiting.grow();
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(3), "growing did not run the waiting job");
    until("the extra thread did not end once the queue was empty", || pool.threads() == 2);

    // At the cap, growing does nothing: the job waits for a held thread.
    let (_more, release_more) = hold(&pool, &None, 1, true);
    assert_eq!(pool.threads(), 3);
    let capped = pool.submit(None, reporting(&tx, 4));
    capped.grow();
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "grew past the cap");
    assert_eq!(pool.threads(), 3);
    release.send(()).unwrap();
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(4), "never ran once a thread was free");
    release.send(()).unwrap();
    release_more.send(()).unwrap();
}

#[test]
fn a_session_runs_at_most_its_share_while_others_take_turns() {
    let pool = Pool::new(4, 4, 2);
    let a: Key = Some("a".into());
    let (_held, release) = hold(&pool, &a, 2, false);
    let (tx, rx) = mpsc::channel();
    // Threads are free, but a's share is taken: a's third job waits...
    let _third = pool.submit(a.clone(), reporting(&tx, 3));
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "a ran more than its share");
    // ...while another session's job runs at once,
    pool.submit(Some("b".into()), reporting(&tx, 4));
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(4));
    let given_up = pool.submit(a.clone(), reporting(&tx, 5));
    assert_eq!(given_up.abandon(), Abandoned::Queued { session_full: true });
    // and a's runs once one of a's own is done.
    release.send(()).unwrap();
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(3));
    release.send(()).unwrap();
}

#[test]
fn abandoned_jobs_never_run_and_stuck_threads_rejoin() {
    let pool = Pool::new(1, 2, 64);
    let (held, release) = hold(&pool, &None, 1, false);
    let (tx, rx) = mpsc::channel();
    let queued = pool.submit(None, reporting(&tx, 1));
    assert_eq!(queued.abandon(), Abandoned::Queued { session_full: false });
    assert_eq!(held[0].abandon(), Abandoned::Running);
    assert_eq!(pool.stuck(), 1);

    release.send(()).unwrap();
    pool.submit(None, reporting(&tx, 2));
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(2), "the abandoned job ran, or the thread never came back");
    assert_eq!(pool.stuck(), 0);
    assert_eq!(pool.threads(), 1);
}

#[test]
fn a_sleeping_pool_wakes_for_a_new_job() {
    let pool = Pool::new(1, 1, 64);
    let (tx, rx) = mpsc::channel();
    pool.submit(None, reporting(&tx, 1));
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(1));
    // Once the thread sleeps, only a wake-up gets the next job run.
    until("the thread never slept", || pool.sleeping() == 1);
    pool.submit(None, reporting(&tx, 2));
    assert_eq!(rx.recv_timeout(LONG).ok(), Some(2));
}
