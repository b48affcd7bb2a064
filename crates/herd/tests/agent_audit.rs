//! A standalone `herd agent` records the calls made to it in its own state
//! (`$HERD_HOME/herd.db`), each committed before the answer leaves: right
//! after a call returns, `herd audit --home` on that directory shows it.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::Client;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::{Herd, herd_bin, run_bounded};
use tokio::process::Command;

const TOKEN: &str = "agent-audit-token";

/// `herd audit --json` against the state in `home`, one value per record.
async fn audit(home: &Path, args: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(herd_bin());
    cmd.arg("audit").arg("--json").args(args).arg("--home").arg(home).env_remove("HERD_URL").env_remove("HERD_TOKEN");
    let run = run_bounded(cmd, Duration::from_secs(60)).await;
    assert!(run.status.success(), "herd audit failed: {run:?}");
    run.stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_made_to_an_agent_are_in_its_own_audit_before_they_are_answered() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("note.txt");
    std::fs::write(&file, "hello").unwrap();
    let args = ["agent", "--listen", "127.0.0.1:0", "--token", TOKEN];
    let herd = Herd::start_with_env(&args, &[("HERD_HOME", home.path().to_str().unwrap())]).await;
    let client = Client::connect(&herd.url, Some(TOKEN)).await;

    let read = client.call("read_file", json!({ "path": file })).await;
    assert_eq!(read["structuredContent"]["content"], json!("hello"), "{read}");
    // No wait: the record was committed before the answer left.
    let records = audit(home.path(), &["--tool", "read_file"]).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["gen_ai.tool.name"], json!("read_file"), "{record}");
    assert_eq!(record["mcp.method.name"], json!("tools/call"), "{record}");
    assert_eq!(record["herd.outcome"], json!("ok"), "{record}");

    let missing = client.call("read_file", json!({ "path": home.path().join("absent") })).await;
    assert_eq!(missing["isError"], json!(true), "{missing}");
    let errors = audit(home.path(), &["--tool", "read_file", "--outcome", "tool_error"]).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    // Listing is not a call: still exactly two records of read_file.
    client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(audit(home.path(), &["--tool", "read_file"]).await.len(), 2);
    drop(herd);
}

/// Runs an offline verb (`herd user ...`, `herd token ...`) on `home`'s state.
async fn offline(home: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).arg("--home").arg(home).env_remove("HERD_URL").env_remove("HERD_TOKEN");
    let run = run_bounded(cmd, Duration::from_secs(60)).await;
    assert!(run.status.success(), "herd {args:?} failed: {run:?}");
    run.stdout.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_of_the_agents_state_call_it_with_their_own_tokens_under_the_policy() {
    let home = tempfile::tempdir().unwrap();
    offline(home.path(), &["user", "add", "vera", "--role", "viewer"]).await;
    let vera_token = offline(home.path(), &["token", "create", "--user", "vera"]).await;
    let file = home.path().join("note.txt");
    std::fs::write(&file, "hello").unwrap();
    let args = ["agent", "--listen", "127.0.0.1:0", "--token", TOKEN];
    let herd = Herd::start_with_env(&args, &[("HERD_HOME", home.path().to_str().unwrap())]).await;

    let vera = Client::connect(&herd.url, Some(&vera_token)).await;
    let tools = vera.tool_names().await;
    assert!(tools.contains(&"read_file".to_owned()) && !tools.contains(&"shell".to_owned()), "{tools:?}");
    let read = vera.call("read_file", json!({ "path": file })).await;
    assert_eq!(read["structuredContent"]["content"], json!("hello"), "{read}");
    let denied = vera.try_call("shell", json!({ "command": "true" })).await.unwrap_err();
    assert!(denied.contains("forbidden") && denied.contains("readOnlyHint"), "{denied}");
    let records = audit(home.path(), &["--user", "vera"]).await;
    let outcomes: Vec<&Value> = records.iter().map(|r| &r["herd.outcome"]).collect();
    assert_eq!(outcomes, [&json!("ok"), &json!("denied")], "{records:?}");

    // The agent's own token (its hub's credential) is still the operator's.
    let operator = Client::connect(&herd.url, Some(TOKEN)).await;
    assert!(operator.tool_names().await.contains(&"shell".to_owned()));
    drop(herd);
}
