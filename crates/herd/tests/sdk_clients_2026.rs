//! Drives herd's HTTP endpoint with the SDK clients that speak protocol
//! revision 2026-07-28: the Python SDK 2.x (PyPI `mcp`, default mode probes
//! `server/discover`) and the TypeScript SDK v2 client
//! (`@modelcontextprotocol/client`, `versionNegotiation: { mode: 'auto' }`),
//! and the same clients in their 2025 (`initialize`) modes.
//!
//! Both clients fall back to the `initialize` handshake without a word when
//! the server gives no modern evidence, so every test checks the revision
//! the client ended up on and the requests it sent (the scripts record each
//! HTTP exchange), not only that the calls worked.
//!
//! The scripts (`tests/clients/py2_client.py`, `tests/clients/ts2_client.mjs`
//! at the repository root) list the tools, call `test_simple_text` and call
//! `test_input_required_result_elicitation`, answering the elicitation with
//! `{"name": "Alice"}` through the SDK's elicitation handler: on 2026-07-28
//! the server answers `input_required` and the SDK retries the call with
//! `inputResponses` by itself; on 2025-11-25 the server sends
//! `elicitation/create` as its own request and the client answers it.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::{Deps, Finished, Herd, repo_root, run_bounded};
use tokio::process::Command;

/// A client run takes a second or two; the scripts bound each call to 30 s.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

const MODERN: &str = "2026-07-28";
/// What both clients offer in `initialize`, and herd accepts.
const HANDSHAKE: &str = "2025-11-25";

const ELICITATION_TOOL: &str = "test_input_required_result_elicitation";
/// The `inputRequests` key of the fixture's elicitation.
const ELICITATION_KEY: &str = "user_name";
const ELICITATION_MESSAGE: &str = "What is your name?";

/// The checks every script reports; all must be `true`.
const CHECKS: [&str; 5] = ["connect", "list_tools", "call_simple_text", "call_elicitation", "completed"];

#[derive(Clone, Copy, Debug)]
enum Client {
    Python,
    TypeScript,
}

/// Which wire the client is told to use.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Wire {
    /// 2026-07-28 (`server/discover`, per-request `_meta`).
    Modern,
    /// The `initialize` handshake.
    Legacy,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Python => "python2",
            Client::TypeScript => "typescript2",
        }
    }

    /// The mode argument of the script.
    fn mode(self, wire: Wire) -> &'static str {
        match (self, wire) {
            (Client::Python, Wire::Modern) => "default",
            (Client::TypeScript, Wire::Modern) => "auto",
            (_, Wire::Legacy) => "legacy",
        }
    }

    fn command(self, deps: &Deps, url: &str, wire: Wire) -> Command {
        let (interpreter, script) = match self {
            Client::Python => (deps.python_mcp2(), "py2_client.py"),
            Client::TypeScript => (deps.node22.clone(), "ts2_client.mjs"),
        };
        let mut cmd = Command::new(interpreter);
        cmd.arg(script_path(script)).args([url, self.mode(wire)]).env("HERD_TS_SDK_V2_DIR", &deps.ts_sdk_v2_dir);
        cmd
    }
}

fn script_path(name: &str) -> PathBuf {
    let path = repo_root().join("tests/clients").join(name);
    assert!(path.is_file(), "{} missing", path.display());
    path
}

/// The last stdout line, as JSON.
fn summary_of(run: &Finished) -> Value {
    let line = run.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("no JSON summary ({e}); status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr)
    })
}

/// Runs `client` against a fresh `herd conformance-server` and checks what
/// it saw and sent. Returns the summary.
async fn run_client(client: Client, wire: Wire) -> Value {
    let deps = Deps::load();
    let herd = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
    let run = run_bounded(client.command(&deps, &herd.url, wire), CLIENT_LIMIT).await;
    let summary = summary_of(&run);
    let report = format!("status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr);

    assert_eq!(summary["client"], client.name(), "{report}");
    assert_eq!(summary["mode"], client.mode(wire), "{report}");
    let expected_version = if wire == Wire::Modern { MODERN } else { HANDSHAKE };
    assert_eq!(summary["protocolVersion"], expected_version, "negotiated revision: {report}");
    let checks = summary["checks"].as_object().unwrap_or_else(|| panic!("no checks: {report}"));
    for name in CHECKS {
        assert_eq!(checks.get(name), Some(&Value::Bool(true)), "check {name}: {report}");
    }
    assert_eq!(summary["ok"], true, "{report}");
    assert!(run.status.success(), "client failed: {report}");

    assert_eq!(summary["serverName"], "herd-conformance", "server identity: {report}");
    assert_eq!(summary["simpleText"], "This is a simple text response for testing.", "{report}");
    let text = summary["elicitationText"].as_str().unwrap_or_default();
    assert!(text.contains("Hello, Alice"), "the elicited name is not in the result: {report}");
    let asked = summary["elicitations"].as_array().unwrap_or_else(|| panic!("no elicitations: {report}"));
    assert_eq!(asked.len(), 1, "the elicitation handler ran {} times: {report}", asked.len());
    assert_eq!(asked[0]["message"], ELICITATION_MESSAGE, "{report}");

    let entries = summary["wire"].as_array().unwrap_or_else(|| panic!("no wire record: {report}"));
    match wire {
        Wire::Modern => check_modern_wire(entries, &report),
        Wire::Legacy => check_legacy_wire(entries, &report),
    }
    summary
}

/// The POSTs of `tools/call` for the elicitation tool.
fn elicitation_calls(entries: &[Value]) -> Vec<&Value> {
    entries.iter().filter(|e| e["method"] == "tools/call" && e["name"] == ELICITATION_TOOL).collect()
}

/// The 2026-07-28 wire: `server/discover` first, no handshake, no session,
/// every request self-describing (headers and `_meta`) and accepted, and the
/// elicitation done by one `input_required` round and one retry.
fn check_modern_wire(entries: &[Value], report: &str) {
    let first = entries.first().unwrap_or_else(|| panic!("no request recorded: {report}"));
    assert_eq!(first["method"], "server/discover", "first request: {report}");
    for entry in entries {
        assert_eq!(entry["http"], "POST", "only POSTs on the stateless wire: {entry}\n{report}");
        assert_eq!(entry["kind"], "request", "no notifications or answers to server requests: {entry}\n{report}");
        assert_ne!(entry["method"], "initialize", "fell back to the handshake: {report}");
        assert_eq!(entry["status"], 200, "request not accepted: {entry}\n{report}");
        assert!(entry.get("mcp-session-id").is_none(), "a session id on the stateless wire: {entry}\n{report}");
        assert_eq!(entry["mcp-protocol-version"], MODERN, "{entry}\n{report}");
        assert_eq!(entry["metaProtocolVersion"], MODERN, "{entry}\n{report}");
        assert_eq!(entry["mcp-method"], entry["method"], "{entry}\n{report}");
        if entry["method"] == "tools/call" {
            assert_eq!(entry["mcp-name"], entry["name"], "{entry}\n{report}");
        }
    }
    let calls = elicitation_calls(entries);
    assert_eq!(calls.len(), 2, "expected the call and one retry with inputResponses: {report}");
    assert!(calls[0].get("inputResponses").is_none(), "first call already answered: {report}");
    assert_eq!(calls[1]["inputResponses"], serde_json::json!([ELICITATION_KEY]), "retry: {report}");
}

/// The 2025-11-25 wire: `initialize` first, no 2026 probe or envelope, and
/// the elicitation answered as a server-to-client request in one call.
fn check_legacy_wire(entries: &[Value], report: &str) {
    let first = entries.first().unwrap_or_else(|| panic!("no request recorded: {report}"));
    assert_eq!(first["method"], "initialize", "first request: {report}");
    for entry in entries {
        assert_ne!(entry["method"], "server/discover", "probed in legacy mode: {report}");
        assert!(entry.get("metaProtocolVersion").is_none(), "2026 envelope on the 2025 wire: {entry}\n{report}");
        assert!(entry.get("mcp-method").is_none(), "2026 header on the 2025 wire: {entry}\n{report}");
        if entry["http"] == "POST" {
            let status = entry["status"].as_u64().unwrap_or(0);
            assert!((200..300).contains(&status), "POST not accepted: {entry}\n{report}");
        }
    }
    let calls = elicitation_calls(entries);
    assert_eq!(calls.len(), 1, "one call on the 2025 wire: {report}");
    assert!(calls[0].get("inputResponses").is_none(), "{report}");
    let answers = entries.iter().filter(|e| e["kind"] == "response").count();
    assert_eq!(answers, 1, "expected one answer to the server's elicitation/create: {report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk2_default_mode_speaks_2026_07_28() {
    run_client(Client::Python, Wire::Modern).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk2_legacy_mode_speaks_2025_11_25() {
    run_client(Client::Python, Wire::Legacy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_sdk2_auto_negotiation_speaks_2026_07_28() {
    run_client(Client::TypeScript, Wire::Modern).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_sdk2_default_legacy_mode_speaks_2025_11_25() {
    run_client(Client::TypeScript, Wire::Legacy).await;
}
