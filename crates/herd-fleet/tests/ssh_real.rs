//! The SSH fallback against a real sshd on loopback: every tool, success
//! and failure, shaped like the agent's results; connection reuse; hosts
//! that refuse, never answer or stall; remote processes killed on timeout
//! and on drop; hostile paths and commands treated as data.

#![allow(clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "ssh_real/files.rs"]
mod files;
#[path = "ssh_real/resilience.rs"]
mod resilience;
#[path = "ssh_real/shell.rs"]
mod shell;

use herd_fleet::{SshConfig, SshError, SshPool};
use herd_proto::{Backend, Context, Request, RequestId};
use serde_json::{Value, json};
use sshd::Sshd;
use std::time::Duration;

/// A pool reaching `server`, with short test timeouts.
fn pool(server: &Sshd) -> SshPool {
    SshPool::new(config(server))
}

fn config(server: &Sshd) -> SshConfig {
    SshConfig {
        config_file: Some(server.config_file()),
        connect_timeout: Duration::from_secs(2),
        call_timeout: Duration::from_secs(20),
        ..SshConfig::default()
    }
}

/// Calls `tool`, failing the test on an SSH error.
async fn call(pool: &SshPool, dest: &str, tool: &str, args: Value) -> Value {
    try_call(pool, dest, tool, args).await.unwrap_or_else(|e| panic!("{tool} over ssh failed: {e}"))
}

async fn try_call(pool: &SshPool, dest: &str, tool: &str, args: Value) -> Result<Value, SshError> {
    pool.call_tool(dest, tool, args.as_object().unwrap()).await
}

/// Asserts that `result`, from `tool` over SSH, is what the agent itself
/// answers to the same call on this machine, but for the time it took.
async fn assert_like_agent(result: &Value, tool: &str, args: Value) {
    let catalog = herd_tools::host::catalog(herd_tools::host::HostConfig::default());
    let params = serde_json::value::to_raw_value(&json!({"name": tool, "arguments": args})).unwrap();
    let request = Request::new(RequestId::number(1), "tools/call", Some(params));
    let raw = catalog.call(request, Context::detached()).await.unwrap();
    let agent: Value = serde_json::from_str(raw.get()).unwrap();
    let untimed = |v: &Value| {
        let mut v = v.clone();
        v["structuredContent"].as_object_mut().map(|s| s.remove("duration_ms"));
        v
    };
    assert_eq!(untimed(result), untimed(&agent), "{tool} {args}");
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

fn is_error(result: &Value) -> bool {
    result["isError"] == true
}

/// The process is gone: no such pid, or a zombie nobody reaped yet.
fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Polls `cond` for up to ten seconds.
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
