//! A hub killed with SIGKILL in the middle of a load and started again on
//! the same address: calls made while it is gone fail at once (nothing
//! hangs), and the clients' next calls succeed on new sessions without
//! anything being restarted on their side.
//!
//! Two clients: herd's own client session (`herd-upstream`, the same code
//! the hub uses towards agents), which opens a new session when the server
//! no longer knows its session (HTTP 404), and the official Python SDK
//! client, opening a session per call.
//!
//! The kill loses no audit record: every call whose answer a client
//! received is in the hub's audit afterwards (each call's command is
//! unique and the hub keeps argument values, `[audit] payloads = true`).
//! The same test runs with the hub's state in SQLite (`$HERD_HOME/herd.db`)
//! and in a real PostgreSQL (`--database-url`, see `support/pg.rs`).

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/pg.rs"]
mod pg;

use client::Client;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{Deps, Herd, herd_bin, run_bounded};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::time::Instant;

const HUB_TOKEN: &str = "fault-restart-hub-token";
const AGENT_TOKEN: &str = "fault-restart-agent-token";
const WORKERS: usize = 4;
/// A call to a hub that is gone must fail within this (connection refused
/// or reset, not a timeout).
const FAIL_FAST: Duration = Duration::from_secs(5);
/// The longest the test waits for the load to reach a stage.
const WAIT: Duration = Duration::from_secs(30);

/// A loopback address free right now, for a hub that must come back on it.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Calls a load worker has made so far.
#[derive(Debug, Default)]
struct Progress {
    answered: usize,
    failed: usize,
}

/// Waits (bounded) until one worker's progress meets `done`.
async fn wait_one(seen: &mut watch::Receiver<Progress>, what: &str, done: impl Fn(&Progress) -> bool) {
    let waited = tokio::time::timeout(WAIT, seen.wait_for(|p| done(p))).await.map(|reached| reached.map(drop));
    match waited {
        Ok(reached) => reached.expect("the worker is running"),
        Err(_) => panic!("a worker did not {what} within {WAIT:?}: {:?}", *seen.borrow()),
    }
}

/// Waits (bounded) until every worker's progress meets `done`.
async fn wait_all(seen: &mut [watch::Receiver<Progress>], what: &str, done: impl Fn(&Progress) -> bool + Copy) {
    for one in seen {
        wait_one(one, what, done).await;
    }
}

/// Where the hub keeps its state, the audit included, across the kill.
enum State {
    /// SQLite: `herd.db` in the hub's `HERD_HOME`.
    Sqlite,
    /// PostgreSQL: the database at this URL.
    Postgres(String),
}

impl State {
    /// The arguments that point `herd hub` or `herd audit` at the state in
    /// `home` or the database.
    fn args(&self, home: &Path) -> [String; 2] {
        match self {
            State::Sqlite => ["--home".to_owned(), home.to_str().unwrap().to_owned()],
            State::Postgres(url) => ["--database-url".to_owned(), url.clone()],
        }
    }
}

async fn start_hub(config: &str, listen: &str, home: &Path, state: &State) -> Herd {
    let mut args = vec!["hub", "--config", config, "--listen", listen, "--token", HUB_TOKEN];
    let state = state.args(home);
    args.extend(state.iter().map(String::as_str));
    Herd::start_with_env(&args, &[("HERD_HOME", home.to_str().unwrap())]).await
}

/// Every audit record in the hub's state, as `herd audit --json` prints
/// them.
async fn audit_records(home: &Path, state: &State) -> Vec<Value> {
    let mut cmd = Command::new(herd_bin());
    cmd.args(["audit", "--json", "--tool", "remote_shell", "--limit", "10000"]).args(state.args(home));
    cmd.env_remove("HERD_URL").env_remove("HERD_TOKEN").env_remove("HERD_DATABASE_URL");
    let run = run_bounded(cmd, WAIT).await;
    assert!(run.status.success(), "herd audit failed: {run:?}");
    run.stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// The Python SDK client: for each line on stdin (a command), opens a
/// session, calls `remote_shell` and prints `ok <stdout>` or `error <why>`.
const PY_CLIENT: &str = r#"
import asyncio, sys
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

async def call(url, token, command):
    headers = {"Authorization": f"Bearer {token}"}
    async with streamablehttp_client(url, headers=headers, timeout=5) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("remote_shell", {"host": "a", "command": command})
            return result.structuredContent["stdout"].strip()

async def main():
    url, token = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        try:
            out = await asyncio.wait_for(call(url, token, line.strip()), 10)
            print("ok", out, flush=True)
        except BaseException as e:
            print("error", type(e).__name__, str(e)[:200].replace("\n", " "), flush=True)

asyncio.run(main())
"#;

mod sqlite {
    #[tokio::test(flavor = "multi_thread")]
    async fn clients_get_fast_errors_while_the_hub_is_gone_and_succeed_after_it_restarts() {
        super::kill_the_hub_under_load(super::State::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread")]
    async fn clients_get_fast_errors_while_the_hub_is_gone_and_succeed_after_it_restarts() {
        let server = tokio::task::spawn_blocking(super::pg::server).await.unwrap();
        super::kill_the_hub_under_load(super::State::Postgres(server.create_database().await)).await;
    }
}

/// Kills the hub (state in `state`) with SIGKILL under load from both
/// clients, starts it again on the same address and the same state, and
/// checks the clients' calls and the audit.
async fn kill_the_hub_under_load(state: State) {
    let agent = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    let registry = format!(
        "[audit]\npayloads = true\n\n[[hosts]]\nname = \"a\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n",
        agent.url
    );
    let home = dir.path().join("hub-home");
    std::fs::write(&config, registry).unwrap();
    let config = config.to_str().unwrap().to_owned();
    let listen = free_address();
    let mut hub = start_hub(&config, &listen, &home, &state).await;
    let url = hub.url.clone();

    let mut python = Command::new(Deps::load().python());
    python
        .args(["-c", PY_CLIENT, &url, HUB_TOKEN])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut python = python.spawn().unwrap();
    let mut py_in = python.stdin.take().unwrap();
    let mut py_out = BufReader::new(python.stdout.take().unwrap()).lines();
    let mut py_call = async |command: &str| {
        py_in.write_all(format!("{command}\n").as_bytes()).await.unwrap();
        let line = tokio::time::timeout(Duration::from_secs(30), py_out.next_line()).await;
        line.expect("the Python client answers within 30 s").unwrap().expect("the Python client is running")
    };
    assert_eq!(py_call("echo before").await, "ok before");

    // Load through herd's client: WORKERS loops until told to stop, each
    // reporting its answered and failed calls so far.
    let client = Arc::new(Client::connect(&url, Some(HUB_TOKEN)).await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut progress = Vec::new();
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (client, stop) = (client.clone(), stop.clone());
            let (report, seen) = watch::channel(Progress::default());
            progress.push(seen);
            tokio::spawn(async move {
                let mut calls: Vec<(Instant, Duration, String, Result<Value, String>)> = Vec::new();
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let started = Instant::now();
                    let command = format!("echo {i} {n}");
                    let outcome = client.try_call("remote_shell", json!({ "host": "a", "command": command }));
                    let outcome = outcome.await;
                    let failed = outcome.is_err();
                    calls.push((started, started.elapsed(), command, outcome));
                    report.send_modify(|p| if failed { p.failed += 1 } else { p.answered += 1 });
                    if failed {
                        // A client backs off a little before trying again.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                calls
            })
        })
        .collect();

    // Every worker has been answered a few times before the kill, has
    // failed at least once while the hub is gone, and has been answered
    // again after the restart.
    wait_all(&mut progress, "be answered before the kill", |p| p.answered >= 5).await;
    let killed = Instant::now();
    hub.kill().await;
    assert!(py_call("echo while-gone").await.starts_with("error"), "a call succeeded with the hub gone");
    let before = progress.iter().map(|p| p.borrow().failed).collect::<Vec<_>>();
    for (seen, before) in progress.iter_mut().zip(before) {
        wait_one(seen, "fail while the hub is gone", |p| p.failed > before).await;
    }
    let hub = start_hub(&config, &listen, &home, &state).await;
    let restarted = Instant::now();
    assert_eq!(hub.url, url, "the hub came back on the same address");
    let before = progress.iter().map(|p| p.borrow().answered).collect::<Vec<_>>();
    for (seen, before) in progress.iter_mut().zip(before) {
        wait_one(seen, "be answered after the restart", |p| p.answered >= before + 3).await;
    }
    stop.store(true, Ordering::Relaxed);

    let mut answered = Vec::new();
    for (i, worker) in workers.into_iter().enumerate() {
        let calls = worker.await.unwrap();
        for (started, elapsed, command, outcome) in &calls {
            assert!(*elapsed < FAIL_FAST, "worker {i}: a call took {elapsed:?}: {outcome:?}");
            match outcome {
                Ok(result) => {
                    let printed = command.trim_start_matches("echo ");
                    assert_eq!(result["structuredContent"]["stdout"], format!("{printed}\n"), "{result}");
                    answered.push(command.clone());
                }
                // Only calls that were running or made while the hub was
                // gone may fail.
                Err(why) => assert!(
                    *started + *elapsed >= killed && *started < restarted,
                    "worker {i}: a call failed outside the outage (started {:?} after the restart): {why}",
                    started.checked_duration_since(restarted)
                ),
            }
        }
        let (first, last) = (calls.iter().position(|c| c.0 >= killed), calls.last());
        assert!(first.is_some(), "worker {i} made no call after the kill");
        let (_, _, _, last) = last.unwrap();
        assert!(last.is_ok(), "worker {i} did not recover after the restart: {last:?}");
        let after = calls.iter().filter(|c| c.0 >= restarted && c.3.is_ok()).count();
        eprintln!("worker {i}: {} calls, {after} answered after the restart", calls.len());
    }
    assert_eq!(py_call("echo after").await, "ok after", "the Python SDK client works with the new hub");

    // No record of an answered call was lost with the kill.
    let records = audit_records(&home, &state).await;
    assert!(records.len() < 10_000, "more records than one query returns: {}", records.len());
    let recorded: std::collections::HashSet<String> = records
        .iter()
        .filter_map(|r| {
            // The arguments as kept: an object, or its JSON text when capped.
            let args = match &r["herd.args"] {
                Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
                args => args.clone(),
            };
            args["command"].as_str().map(str::to_owned)
        })
        .collect();
    let lost: Vec<&String> = answered.iter().filter(|c| !recorded.contains(c.as_str())).collect();
    assert!(!answered.is_empty());
    assert!(lost.is_empty(), "{} of {} answered calls have no audit record: {lost:?}", lost.len(), answered.len());
    eprintln!("{} answered calls, {} audit records of remote_shell", answered.len(), records.len());
    drop(hub);
}
