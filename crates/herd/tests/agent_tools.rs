//! Drives `herd agent`'s host tools end to end with the official Python MCP
//! SDK, over Streamable HTTP (with a bearer token) and over stdio, and checks
//! that the agent refuses to serve HTTP without authentication.
//!
//! The client script, `tests/clients/py_agent.py`, calls every tool in its
//! success and failure cases inside a scratch directory and checks the
//! results against the machine (files on disk, modes, processes in /proc).
//! It prints one JSON summary of named checks; these tests require every
//! expected check to be present and `true`, so a check that silently stops
//! running fails as surely as one that reports a failure.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{Deps, Finished, Herd, herd_bin, repo_root, run_bounded};
use tokio::process::Command;

/// A full run takes a few seconds; the script bounds its session to 120 s.
const CLIENT_LIMIT: Duration = Duration::from_secs(180);

/// How long a refused start may take to exit.
const REFUSAL_LIMIT: Duration = Duration::from_secs(20);

/// Checks the script reports on both transports.
const CHECKS: [&str; 26] = [
    "initialize",
    "list_tools",
    "tools_have_schemas_and_annotations",
    "shell_echo",
    "shell_nonzero_exit",
    "shell_timeout_kills_group",
    "shell_cwd_env",
    "shell_output_cap",
    "shell_bg_detached",
    "shell_bg_kill_group",
    "binary_roundtrip_base64",
    "read_binary_as_utf8_fails",
    "read_offset_limit_bytes",
    "read_offset_limit_lines",
    "read_missing_file",
    "write_keeps_mode",
    "write_create_dirs",
    "edit_no_match",
    "edit_ambiguous",
    "edit_single",
    "edit_replace_all",
    "list_dir_entries",
    "search_symlinked_root",
    "search_symlink_cycle",
    "search_max_results",
    "completed",
];

/// The extra check the script makes over HTTP.
const HTTP_CHECKS: [&str; 1] = ["http_requires_token"];

/// A token nobody else uses.
fn fresh_token() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("agent-test-{}-{nanos}", std::process::id())
}

fn script() -> Command {
    let deps = Deps::load();
    let path = repo_root().join("tests/clients/py_agent.py");
    assert!(path.is_file(), "{} missing", path.display());
    let mut cmd = Command::new(deps.python());
    cmd.arg(path);
    cmd
}

/// Runs the script and checks its summary: exit status, transport, and
/// exactly the expected checks, all `true`.
async fn run_script(cmd: Command, transport: &str, expected: &[&str]) {
    let run = run_bounded(cmd, CLIENT_LIMIT).await;
    let summary = summary_of(&run);
    let report = format!("status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr);

    let checks = summary["checks"].as_object().unwrap_or_else(|| panic!("no checks: {report}"));
    for name in expected {
        assert_eq!(checks.get(*name), Some(&Value::Bool(true)), "check {name}: {report}");
    }
    let mut got: Vec<&str> = checks.keys().map(String::as_str).collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "unexpected set of checks: {report}");
    assert!(run.status.success(), "script failed: {report}");
    assert_eq!(summary["ok"], true, "{report}");
    assert_eq!(summary["transport"], transport, "{report}");
    assert_eq!(summary["serverName"], "herd-agent", "{report}");
}

/// The last stdout line, as JSON.
fn summary_of(run: &Finished) -> Value {
    let line = run.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("no JSON summary ({e}); status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_drives_agent_tools_over_http() {
    let token = fresh_token();
    let herd = Herd::start_with_env(
        &["agent", "--listen", "127.0.0.1:0"],
        &[("HERD_TOKEN", &token), ("AGENT_TEST_MARKER", "present")],
    )
    .await;
    let mut cmd = script();
    cmd.args(["--token", &token, "http", &herd.url]);
    let expected: Vec<&str> = CHECKS.iter().chain(&HTTP_CHECKS).copied().collect();
    run_script(cmd, "http", &expected).await;
    drop(herd);
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_drives_agent_tools_over_stdio() {
    let mut cmd = script();
    cmd.args(["stdio", herd_bin(), "agent", "--stdio"]);
    run_script(cmd, "stdio", &CHECKS).await;
}

/// `herd agent ARGS...` with a clean environment, expected to exit at once.
async fn refused_start(args: &[&str]) -> Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env_remove("HERD_TOKEN").env_remove("HERD_LOG_FORMAT").env("HERD_LOG", "info");
    let run = run_bounded(cmd, REFUSAL_LIMIT).await;
    assert!(!run.status.success(), "herd {args:?} started: {run:?}");
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_without_token_refuses_to_start() {
    let run = refused_start(&["agent", "--listen", "127.0.0.1:0"]).await;
    assert!(run.stderr.contains("HERD_TOKEN"), "{run:?}");
    assert!(!run.stderr.contains("serving MCP"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_no_auth_is_loopback_only() {
    let run = refused_start(&["agent", "--insecure-no-auth", "--listen", "0.0.0.0:0"]).await;
    assert!(run.stderr.contains("loopback"), "{run:?}");
    assert!(!run.stderr.contains("serving MCP"), "{run:?}");

    // The same flag on loopback does serve, unauthenticated: the refusal
    // above is about the address, not the flag.
    let mut herd = Herd::start(&["agent", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
    assert!(herd.url.starts_with("http://127.0.0.1:"), "{}", herd.url);
    assert!(herd.stderr_text().contains(r#""auth":false"#), "{}", herd.stderr_text());
}
