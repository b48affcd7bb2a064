//! A supervised stdio server that keeps crashing while concurrent clients
//! call it: every call ends quickly (answered, or an error naming the
//! server and why), the server comes back after each crash, and the agent
//! is left as it was: the same number of open file descriptors, one child
//! process, no zombie.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/load.rs"]
mod load;

use client::{Client, text};
use load::{children_of, open_fds, zombies_of};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{Deps, Herd, repo_root};
use tokio::sync::watch;
use tokio::time::Instant;

const TOKEN: &str = "fault-supervised-token";
/// Concurrent callers.
const WORKERS: usize = 4;
/// Crashes provoked during the load.
const CRASHES: usize = 3;
/// The longest a call may take while its server crashes and restarts: no
/// call waits for a dead child.
const FAIL_FAST: Duration = Duration::from_secs(5);

fn fixture() -> Value {
    let script = repo_root().join("crates/herd/tests/fixtures/stdio_server.py");
    json!({
        "name": "fx", "command": Deps::load().python(), "args": [script], "wait": 60,
        "restart_delay": 0.1, "max_restarts": 10,
    })
}

async fn server_state(client: &Client) -> (String, u64) {
    let listed = client.call("servers_list", json!({})).await;
    let server = &listed["structuredContent"]["servers"][0];
    (server["state"].as_str().unwrap_or("?").to_owned(), server["restarts"].as_u64().unwrap_or(0))
}

/// Waits (bounded) until the server runs again after restart number `n`:
/// its state is polled, as the test is not the supervisor's client (the
/// crashed call may end before the supervisor has seen the exit).
async fn wait_restarted(client: &Client, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (state, restarts) = server_state(client).await;
        if state == "running" && restarts >= n {
            assert_eq!(restarts, n, "one restart per crash");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not come back after crash {n}: {state}, {restarts} restarts"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Open fds of `pid` once they stop changing (connections of clients that
/// left are closed asynchronously).
async fn settled_fds(pid: u32) -> usize {
    let mut last = open_fds(pid);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = open_fds(pid);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// One call: how long it took and how it ended.
type Call = (Duration, Result<Value, String>);

/// Waits (bounded) until `answered` has grown by `more` calls.
async fn wait_answered(answered: &mut watch::Receiver<usize>, more: usize) {
    let target = *answered.borrow_and_update() + more;
    let waited = tokio::time::timeout(Duration::from_secs(30), answered.wait_for(|&n| n >= target)).await;
    let reached = waited.unwrap_or_else(|_| panic!("fewer than {more} calls answered within 30 s"));
    reached.expect("the load is running");
}

/// `WORKERS` clients calling `fx__echo` until `stop` is set; each call's
/// time and outcome. `answered` counts the calls answered so far.
///
/// A worker finishes the call it is in rather than dropping it: a dropped
/// call makes herd send `notifications/cancelled`, and the Python SDK's
/// server (1.30) crashes when a cancellation races with the tool's own
/// answer (`AssertionError: Request already responded to` in its task
/// group), which would be one crash more than this test provokes.
fn echo_load(
    url: &str,
    stop: Arc<AtomicBool>,
    answered: watch::Sender<usize>,
) -> Vec<tokio::task::JoinHandle<Vec<Call>>> {
    let answered = Arc::new(answered);
    (0..WORKERS)
        .map(|i| {
            let (url, stop, answered) = (url.to_owned(), stop.clone(), answered.clone());
            tokio::spawn(async move {
                let client = Client::connect(&url, Some(TOKEN)).await;
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let outcome = client.try_call("fx__echo", json!({ "text": format!("w{i}") })).await;
                    let ok = outcome.as_ref().is_ok_and(|r| r["isError"] != true);
                    if ok {
                        answered.send_modify(|n| *n += 1);
                    }
                    outcomes.push((started.elapsed(), outcome));
                    if !ok {
                        // A client backs off a little before trying again.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                outcomes
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashing_server_under_load_fails_calls_fast_restarts_and_leaks_nothing() {
    let home = tempfile::tempdir().unwrap();
    let home_text = home.path().to_str().unwrap().to_owned();
    let args = ["agent", "--listen", "127.0.0.1:0", "--token", TOKEN];
    let agent = Herd::start_with_env(&args, &[("HERD_HOME", &home_text)]).await;
    let admin = Client::connect(&agent.url, Some(TOKEN)).await;
    let loaded = admin.call("servers_load", fixture()).await;
    assert_eq!(loaded["structuredContent"]["server"]["state"], "running", "{loaded}");
    let pid = agent.pid();

    // Baseline: the same load without crashes, then every caller gone.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, mut seen) = watch::channel(0);
    let warm = echo_load(&agent.url, stop.clone(), answered);
    wait_answered(&mut seen, 10 * WORKERS).await;
    stop.store(true, Ordering::Relaxed);
    for worker in warm {
        let calls = worker.await.unwrap();
        assert!(!calls.is_empty() && calls.iter().all(|(_, o)| o.is_ok()), "{calls:?}");
    }
    let fds = settled_fds(pid).await;
    let children = children_of(pid);
    assert_eq!(children.len(), 1, "one server process: {children:?}");

    // The same load while the server crashes CRASHES times.
    // Before each crash and after the last one, the load is answered again.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, mut seen) = watch::channel(0);
    let load = echo_load(&agent.url, stop.clone(), answered);
    for n in 1..=CRASHES {
        wait_answered(&mut seen, 2 * WORKERS).await;
        let started = Instant::now();
        let crashed = admin.try_call("fx__crash", json!({})).await;
        assert!(started.elapsed() < FAIL_FAST, "the crashing call waited {:?}", started.elapsed());
        let why = match &crashed {
            Err(e) => e.clone(),
            Ok(result) => {
                assert_eq!(result["isError"], true, "a crash answered: {result}");
                text(result)
            }
        };
        assert!(why.contains("fx"), "the error does not name the server: {why}");
        wait_restarted(&admin, n as u64).await;
    }
    wait_answered(&mut seen, 2 * WORKERS).await;
    stop.store(true, Ordering::Relaxed);

    let mut failed = 0;
    let mut served = 0;
    for worker in load {
        for (elapsed, outcome) in worker.await.unwrap() {
            assert!(elapsed < FAIL_FAST, "a call took {elapsed:?} during the crashes: {outcome:?}");
            match outcome {
                Ok(result) if result["isError"] != true => served += 1,
                Ok(result) => {
                    failed += 1;
                    assert!(text(&result).contains("fx"), "unclear failure: {result}");
                }
                Err(why) => {
                    failed += 1;
                    assert!(why.contains("fx"), "unclear failure: {why}");
                }
            }
        }
    }
    eprintln!("during {CRASHES} crashes: {served} calls answered, {failed} failed with the reason");
    assert!(served > 0, "no call was answered between the crashes");

    // Nothing left behind: the same fds, one child (the new one), no zombie.
    let after = settled_fds(pid).await;
    assert_eq!(after, fds, "open fds of the agent: {fds} before, {after} after the crashes");
    let now = children_of(pid);
    assert_eq!(now.len(), 1, "one server process after the crashes: {now:?}");
    assert_ne!(now, children, "the server process was replaced");
    assert_eq!(zombies_of(pid), 0, "an exited server was not reaped");
    let echoed = admin.try_call("fx__echo", json!({ "text": "still here" })).await;
    if echoed.as_ref().map_or(true, |r| text(r) != "still here") {
        let listed = admin.call("servers_list", json!({})).await;
        let logs = admin.call("servers_logs", json!({ "name": "fx", "lines": 40 })).await;
        panic!("the server does not answer after the crashes: {echoed:?}\n{listed}\n{}", text(&logs));
    }
}
