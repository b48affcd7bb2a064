//! A hub replica killed (SIGKILL) in the middle of a stream of calls
//! through haproxy (see `support/cluster.rs`): the official Python SDK
//! clients of the other replicas see no error, the clients whose session
//! it held open new ones and go on, the agent whose channel it held joins
//! another replica, and every answered call has its audit record in
//! PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/pg.rs"]
mod pg;

use cluster::{Cluster, Haproxy, LIMIT};
use herd_store::{AuditFilter, Outcome, Store, Timestamp};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use support::{Deps, repo_root};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Calls each client makes, and the pause between two (s): the run spans
/// the kill.
const CALLS: usize = 40;
const PAUSE: &str = "0.05";

/// `fixtures/replica_client.py --resilient --hold`, running; its lines are
/// read as they come, and its calls start with [`Running::go`].
struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    fn start(url: &str, token: &str, mode: &str, hosts: &str) -> Running {
        let mut child = Command::new(Deps::load().python_mcp2())
            .arg(repo_root().join("crates/herd/tests/fixtures/replica_client.py"))
            .args(["--token", token, "--resilient", "--hold", "--pause", PAUSE, url, mode, hosts, &CALLS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Running { child, lines }
    }

    /// Starts its calls.
    async fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next line that `wanted` accepts; panics if the run ends first.
    async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = tokio::time::timeout(LIMIT, self.lines.next_line()).await.unwrap().unwrap();
            let value: Value = serde_json::from_str(&line.expect("the client ended early")).unwrap();
            if wanted(&value) {
                return value;
            }
        }
    }

    /// Its summary (the last line), once it exits.
    async fn finish(mut self) -> Value {
        let summary = self.until(|v| v.get("ok").is_some()).await;
        let status = tokio::time::timeout(LIMIT, self.child.wait()).await.unwrap().unwrap();
        assert_eq!(status.success(), summary["ok"] == true, "{summary}");
        summary
    }
}

/// The replica that holds the channel of `host`, once one claims it, and
/// not `not`.
async fn holder(store: &Store, host: &str, not: Option<&str>) -> String {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let claims = store.channel_claims().await.unwrap();
        if let Some(claim) = claims.iter().find(|c| c.host == host && Some(c.replica_id.as_str()) != not) {
            return claim.replica_id.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no replica other than {not:?} claimed {host}: {claims:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_stream_loses_no_answered_call_and_everyone_carries_on() {
    let mut cluster = Cluster::start(3).await;
    let url = cluster.proxy.url.clone();
    let store = Store::open(&cluster.database).await.unwrap();
    // The replica that holds the first session is the one to be killed.
    let mut sessions = vec![Running::start(&url, &cluster.alice, "legacy", "alpha,beta")];
    let opened = sessions[0].until(|v| v.get("opened").is_some()).await;
    let victim_id = opened["opened"].as_str().unwrap().split_once('.').unwrap().0.to_owned();
    let replicas = store.live_replicas(Timestamp::from_unix_millis(0)).await.unwrap();
    let address = &replicas.iter().find(|r| r.id == victim_id).unwrap().address;
    let victim = (0..3).find(|&i| cluster.hub(i).url.starts_with(address.as_str())).unwrap();
    // The agent joins through a balancer of its own that picks the first
    // replica up, the victim first: its channel is there, and moves to
    // another once the victim is gone.
    let order: Vec<&str> =
        [victim, (victim + 1) % 3, (victim + 2) % 3].iter().map(|&i| cluster.hub(i).url.as_str()).collect();
    let agents_proxy = Haproxy::start_balancing(&order, "first").await;
    let _agent = cluster.channel_agent("ws1", agents_proxy.url.trim_end_matches("/mcp"), &[]).await;
    assert_eq!(holder(&store, "ws1", None).await, victim_id);
    for i in 0..3 {
        cluster.wait_up(i, "ws1").await;
    }
    // More session clients: round robin places them on other replicas too.
    for _ in 0..2 {
        let mut client = Running::start(&url, &cluster.alice, "legacy", "alpha,beta");
        client.until(|v| v.get("opened").is_some()).await;
        sessions.push(client);
    }
    let on_victim = 0;
    let mut stateless = Running::start(&url, &cluster.alice, "default", "alpha,beta,ws1");
    stateless.until(|v| v.get("opened").is_some()).await;
    for client in sessions.iter_mut().chain([&mut stateless]) {
        client.go().await;
    }
    stateless.until(|v| v["answered"].as_u64() >= Some(5)).await;

    cluster.hubs[victim].take().unwrap().kill().await;

    let mut answered = 0;
    for (i, client) in sessions.into_iter().enumerate() {
        let summary = client.finish().await;
        eprintln!("session client {i}: {summary}");
        assert_eq!(summary["ok"], true, "session client {i}: {summary}");
        answered += summary["answered"].as_u64().unwrap();
        if i == on_victim {
            assert!(summary["reopened"].as_u64() >= Some(1), "its session died with its replica: {summary}");
            assert_eq!(
                summary["sessions"].as_array().unwrap().len(),
                1 + summary["reopened"].as_u64().unwrap() as usize
            );
        } else {
            // Its session lives on: at most, once, the connection that
            // carried its stream through the replica that died ended with
            // it (see the README, "Several hubs").
            let failures = summary.get("failures").and_then(Value::as_array).cloned().unwrap_or_default();
            let transport = |f: &Value| f.as_str().unwrap().starts_with("RemoteProtocolError");
            assert!(
                failures.len() <= 1 && failures.iter().all(transport),
                "a client of another replica saw an error: {summary}"
            );
        }
    }
    let summary = stateless.finish().await;
    eprintln!("stateless client: {summary}");
    assert_eq!(summary["ok"], true, "{summary}");
    answered += summary["answered"].as_u64().unwrap();
    // Only ws1's calls could fail, while its agent moved to another replica.
    let failures = summary.get("failures").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(failures.iter().all(|f| f.as_str().unwrap().contains("on ws1")), "{summary}");

    let moved = holder(&store, "ws1", Some(&victim_id)).await;
    assert_ne!(moved, victim_id);

    // Every answered call was committed to the audit log before its answer.
    let filter = AuditFilter { tool: Some("remote_shell".into()), limit: Some(10_000), ..AuditFilter::default() };
    let records = store.query_audit(&filter).await.unwrap();
    let ok = records.iter().filter(|r| r.outcome == Outcome::Ok).count() as u64;
    eprintln!("{answered} calls answered, {ok} audited as answered");
    assert!(ok >= answered, "{answered} calls answered, {ok} audited as answered");
}
