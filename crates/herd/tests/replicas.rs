//! Several `herd hub --database-url` replicas on a real PostgreSQL behind a
//! real haproxy doing round robin with no stickiness (see
//! `support/cluster.rs`), driven by the official clients: the Python MCP
//! SDK in 2025 session mode and in 2026-07-28 mode, the `openai` Python
//! client. Any replica answers any request: a session's requests reach
//! the replica that holds it, a channel host's calls and LLM requests
//! reach the replica its agent is connected to, and a token revoked on
//! one replica is refused by the others within the cache bound.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/pg.rs"]
mod pg;

use cluster::{Cluster, LIMIT};
use herd_test_provider::{Script, ScriptedProvider};
use serde_json::Value;
use std::time::Duration;
use support::{Deps, Finished, Herd, repo_root, run_bounded};
use tokio::process::Command;
use tokio::time::Instant;

/// Runs the SDK fleet-check client (`fixtures/replica_client.py`) through
/// `url` to its end.
async fn fleet_checks(url: &str, token: &str, mode: &str, hosts: &str, calls: usize) -> (Value, Finished) {
    let mut cmd = Command::new(Deps::load().python_mcp2());
    cmd.arg(repo_root().join("crates/herd/tests/fixtures/replica_client.py")).args([
        "--token",
        token,
        url,
        mode,
        hosts,
        &calls.to_string(),
    ]);
    let done = run_bounded(cmd, Duration::from_secs(180)).await;
    let summary = done.stdout.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    (summary, done)
}

/// The sum of counter `name{labels}` over the running replicas.
async fn total(cluster: &Cluster, name: &str, labels: &str) -> u64 {
    let mut sum = 0;
    for i in 0..cluster.hubs.len() {
        if cluster.hubs[i].is_some() {
            sum += cluster.metric(i, name, labels).await;
        }
    }
    sum
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_clients_through_round_robin_are_answered_by_every_replica() {
    let cluster = Cluster::start(3).await;
    let url = cluster.proxy.url.clone();

    // A 2025 session lives on one replica; round robin sends its requests
    // to all three, and the two that do not hold it forward them.
    let (legacy, run) = fleet_checks(&url, &cluster.alice, "legacy", "alpha,beta", 9).await;
    assert!(run.status.success() && legacy["ok"] == true, "{legacy}\n{}", run.stderr);
    assert_eq!(legacy["protocolVersion"], "2025-11-25", "{legacy}");
    let sessions = legacy["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "one session for the whole run: {legacy}");
    let session = sessions[0].as_str().unwrap();
    let holder = session.split_once('.').map(|(id, _)| id).unwrap_or_default();
    assert_eq!(holder.len(), 8, "the session id names its replica: {session}");
    let forwarded = total(&cluster, "herd_replica_forwarded_total", r#"kind="session""#).await;
    assert!(forwarded >= 6, "most of the session's requests landed elsewhere and were forwarded: {forwarded}");

    // 2026-07-28: no session; every replica answers on its own.
    let (modern, run) = fleet_checks(&url, &cluster.alice, "default", "alpha,beta", 9).await;
    assert!(run.status.success() && modern["ok"] == true, "{modern}\n{}", run.stderr);
    assert_eq!(modern["protocolVersion"], "2026-07-28", "{modern}");
    assert!(modern["sessions"].as_array().unwrap().is_empty(), "{modern}");
    let after = total(&cluster, "herd_replica_forwarded_total", r#"kind="session""#).await;
    assert_eq!(after, forwarded, "nothing of a stateless run is forwarded");

    for i in 0..3 {
        let answered = cluster.metric(i, "herd_replica_requests_total", r#"route="mcp""#).await;
        eprintln!("replica {i}: {answered} MCP requests");
        assert!(answered >= 5, "replica {i} took {answered} MCP requests: round robin reaches every replica");
    }
    eprintln!("session requests forwarded: {forwarded}");
    // Each call was audited once, by the replica that ran it.
    let store = herd_store::Store::open(&cluster.database).await.unwrap();
    let filter = herd_store::AuditFilter { limit: Some(1000), ..herd_store::AuditFilter::default() };
    let calls = store.query_audit(&filter).await.unwrap();
    let shells = calls.iter().filter(|r| r.target.as_deref() == Some("remote_shell")).count();
    assert_eq!(shells, 18, "every answered call has its audit record");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_revoked_on_one_replica_is_refused_by_the_others_within_the_cache_bound() {
    let cluster = Cluster::start(2).await;
    let store = herd_store::Store::open(&cluster.database).await.unwrap();
    let (record, secret) = store.create_token("alice", Some("laptop"), None).await.unwrap();
    let token = secret.expose_secret().to_owned();
    let (a, b) = (cluster.hub(0), cluster.hub(1));
    let models = |hub: &Herd| {
        let (url, token) = (hub.url.clone(), token.clone());
        async move { support::http_get(&url, "/v1/models", Some(&token)).await.0 }
    };
    // B has the token's principal cached when A revokes it.
    assert_eq!((models(a).await, models(b).await), (200, 200));
    let base = a.url.trim_end_matches("/mcp");
    let revoked = reqwest::Client::new()
        .delete(format!("{base}/api/v1/tokens/{}", record.id))
        .bearer_auth(&cluster.root)
        .timeout(LIMIT)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{revoked:?}");
    let at = Instant::now();
    assert_eq!(models(a).await, 401, "the replica that revoked it refuses it at once");
    // The stated bound: herd_access::CACHE_TTL (2 s), plus a margin for
    // the request itself on a busy machine.
    let bound = herd_access::CACHE_TTL + Duration::from_secs(1);
    let refused = loop {
        let status = models(b).await;
        if status == 401 || at.elapsed() > bound {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused, 401, "replica B still took the token {:?} after its revocation", at.elapsed());
}

/// Runs the official `openai` Python client (`fixtures/openai_client.py`)
/// in `mode` against `api`; returns its last JSON line.
async fn openai(mode: &str, api: &str, model: &str, token: &str) -> Value {
    let mut cmd = Command::new(Deps::load().python_openai());
    cmd.arg(repo_root().join("crates/herd/tests/fixtures/openai_client.py"))
        .args([mode, api, model])
        .env("HERD_TEST_TOKEN", token);
    let done = run_bounded(cmd, LIMIT).await;
    assert!(done.status.success(), "{done:?}");
    serde_json::from_str(done.stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_hosts_calls_and_llm_requests_are_answered_through_any_replica() {
    let cluster = Cluster::start(3).await;
    let provider = ScriptedProvider::start(Script::default()).await.unwrap();
    // The agent joins replica 0 itself: its channel lives there.
    let holder = cluster.hub(0).url.trim_end_matches("/mcp").to_owned();
    let _agent = cluster.channel_agent("ws1", &holder, &[("chat", provider.base_url())]).await;
    for i in 0..3 {
        cluster.wait_up(i, "ws1").await;
        cluster.wait_model(i, "chat").await;
    }

    // Calls for ws1 land on every replica; two of them send theirs to
    // replica 0, which sends them on over the channel.
    let (run, done) = fleet_checks(&cluster.proxy.url, &cluster.alice, "default", "ws1", 9).await;
    assert!(done.status.success() && run["ok"] == true, "{run}\n{}", done.stderr);

    // The OpenAI API, through the balancer, three times: each lands on
    // another replica. alice's private model is hers on every replica.
    let api = cluster.proxy.api();
    let streamed = openai("stream", &api, "chat", &cluster.alice).await;
    assert_eq!(streamed["content"], "Hello from the scripted provider.", "{streamed}");
    assert!(streamed["chunks"].as_u64().unwrap() >= 6, "streamed event by event: {streamed}");
    for _ in 0..2 {
        let answered = openai("chat", &api, "chat", &cluster.alice).await;
        assert_eq!(answered["content"], "Hello from the scripted provider.", "{answered}");
    }
    for i in 1..3 {
        let forwarded = cluster.metric(i, "herd_replica_forwarded_total", r#"kind="channel""#).await;
        assert!(forwarded > 0, "replica {i} reached ws1 through replica 0: {forwarded}");
    }
    assert_eq!(cluster.metric(0, "herd_replica_forwarded_total", r#"kind="channel""#).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stateless_question_is_answered_on_whichever_replica_the_retry_reaches() {
    let cluster = Cluster::start(3).await;
    // The SDK's 2026-07-28 client calls a tool that asks a question: the
    // first replica answers input_required with a signed requestState, and
    // round robin sends the retry to the next one, which must take it.
    let mut cmd = Command::new(Deps::load().python_mcp2());
    cmd.arg(repo_root().join("tests/clients/py2_client.py")).args([
        "--token",
        &cluster.root,
        &cluster.proxy.url,
        "default",
    ]);
    let run = run_bounded(cmd, LIMIT).await;
    let summary: Value = serde_json::from_str(run.stdout.lines().last().unwrap_or_default()).unwrap_or(Value::Null);
    assert!(run.status.success() && summary["ok"] == true, "{summary}\n{}", run.stderr);
    assert_eq!(summary["protocolVersion"], "2026-07-28", "{summary}");
    let retries: Vec<&Value> = summary["wire"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "tools/call" && e.get("inputResponses").is_some())
        .collect();
    assert_eq!(retries.len(), 1, "{summary}");
    assert_eq!(retries[0]["requestState"], true, "the retry carried the first replica's requestState: {summary}");
}

/// One stateless request of the tasks extension through `url` (raw HTTP:
/// neither SDK speaks the extension's 2026-07-28 shape, see `tasks.rs`);
/// the JSON-RPC response.
async fn stateless(url: &str, token: &str, method: &str, name: &str, mut params: Value) -> Value {
    params["_meta"] = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { "extensions": { "io.modelcontextprotocol/tasks": {} } },
        "io.modelcontextprotocol/clientInfo": { "name": "replica-tasks-test", "version": "1" },
    });
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .timeout(LIMIT)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("mcp-name", name)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let mut messages = text.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim);
    let json: Value = match messages.find(|d| d.contains("\"id\":1")) {
        Some(data) => serde_json::from_str(data).unwrap(),
        None => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    };
    assert_eq!(json["id"], 1, "{json}");
    json
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_started_on_one_replica_is_polled_and_finished_through_any() {
    let cluster = Cluster::start(3).await;
    let gate = cluster.dir.path().join("gate");
    let url = &cluster.proxy.url;
    let command = "while [ ! -e \"$GATE\" ]; do sleep 0.05; done; echo finished";
    let arguments = serde_json::json!({
        "host": "alpha", "command": command, "env": { "GATE": gate.to_str().unwrap() }, "timeout": 120,
    });
    let params = serde_json::json!({ "name": "remote_shell", "arguments": arguments });
    let created = stateless(url, &cluster.alice, "tools/call", "remote_shell", params).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(id.split_once('.').map(|(replica, _)| replica.len()), Some(8), "the task id names its replica: {id}");

    // Round robin sends the polls to every replica; each gets the task's
    // own state from the replica that runs it.
    for _ in 0..3 {
        let running = stateless(url, &cluster.alice, "tasks/get", &id, serde_json::json!({ "taskId": &id })).await;
        assert_eq!(running["result"]["status"], "working", "{running}");
    }
    std::fs::write(&gate, b"go").unwrap();
    let deadline = Instant::now() + LIMIT;
    let done = loop {
        let got = stateless(url, &cluster.alice, "tasks/get", &id, serde_json::json!({ "taskId": &id })).await;
        if got["result"]["status"] != "working" {
            break got;
        }
        assert!(Instant::now() < deadline, "the task never finished: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["result"]["status"], "completed", "{done}");
    assert_eq!(done["result"]["result"]["structuredContent"]["stdout"], "finished\n", "{done}");
    let forwarded = total(&cluster, "herd_replica_forwarded_total", r#"kind="task""#).await;
    assert!(forwarded >= 2, "polls landing elsewhere were sent to the task's replica: {forwarded}");
}
