//! JSON-RPC batches sent by the official TypeScript SDK client
//! (`@modelcontextprotocol/sdk` 1.x, whose Streamable HTTP transport sends
//! an array as one POST) on a session of protocol revision 2025-03-26, the
//! one revision that has them: to `herd conformance-server` directly, and
//! to a hub relaying each request of the batch to that server on its own.
//!
//! The script (`tests/clients/ts_batch_client.mjs`) prints one JSON summary
//! line; these tests check its exit status and that summary.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Deps, Herd, repo_root, run_bounded};
use tokio::process::Command;

/// The script takes about a second; it bounds each answer to 30 s.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

async fn run_batches(url: &str) -> Value {
    let deps = Deps::load();
    let script = repo_root().join("tests/clients/ts_batch_client.mjs");
    let mut cmd = Command::new(&deps.node22);
    cmd.arg(&script).arg(url).env("HERD_TS_SDK_DIR", &deps.ts_sdk_dir);
    let run = run_bounded(cmd, CLIENT_LIMIT).await;
    let report = format!("status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr);
    let line = run.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let summary: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("no summary ({e}): {report}"));
    assert!(run.status.success(), "client failed: {report}");
    assert_eq!(summary["ok"], true, "{report}");
    for check in ["initialize", "notifications", "list_and_ping", "three_requests", "oversize_refused"] {
        assert_eq!(summary["checks"][check], true, "check {check}: {report}");
    }
    assert_eq!(summary["protocolVersion"], "2025-03-26", "{report}");
    assert_eq!(summary["simpleText"], "This is a simple text response for testing.", "{report}");
    let mut ids: Vec<String> = summary["answeredIds"].as_array().unwrap().iter().map(Value::to_string).collect();
    ids.sort();
    assert_eq!(ids, ["\"call\"", "0", "1", "2", "4", "5"], "every request answered once: {report}");
    summary
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typescript_sdk_sends_batches_on_a_2025_03_26_session() {
    let herd = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
    run_batches(&herd.url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_answers_batches_relaying_each_request_on_its_own() {
    let (hub, _backend, _registry) = Herd::hub_over_conformance_server().await;
    let summary = run_batches(&hub.url).await;
    assert!(summary["tools"].as_u64().unwrap() > 20, "{summary}");
}
