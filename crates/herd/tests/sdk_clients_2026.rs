//! Drives herd's HTTP endpoint with the SDK clients that speak protocol
//! revision 2026-07-28: the Python SDK 2.x (PyPI `mcp`, default mode probes
//! `server/discover`) and the TypeScript SDK v2 client
//! (`@modelcontextprotocol/client`, `versionNegotiation: { mode: 'auto' }`),
//! and the same clients in their 2025 (`initialize`) modes.
//!
//! The Python SDK 2.x is also run over stdio (it launches
//! `herd conformance-server --stdio` itself), in both modes: there the
//! default mode must end up on 2026-07-28 too, with herd answering the
//! requests that precede any `initialize` statelessly.
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
use support::{Deps, Finished, Herd, herd_bin, repo_root, run_bounded};
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
    check_results(&summary, &report);

    let entries = summary["wire"].as_array().unwrap_or_else(|| panic!("no wire record: {report}"));
    match wire {
        Wire::Modern => check_modern_wire(entries, &report),
        Wire::Legacy => check_legacy_wire(entries, &report),
    }
    summary
}

/// What the client saw of the fixtures: the server's name, the simple text,
/// and the elicitation answered once with the name Alice.
fn check_results(summary: &Value, report: &str) {
    assert_eq!(summary["serverName"], "herd-conformance", "server identity: {report}");
    assert_eq!(summary["simpleText"], "This is a simple text response for testing.", "{report}");
    let text = summary["elicitationText"].as_str().unwrap_or_default();
    assert!(text.contains("Hello, Alice"), "the elicited name is not in the result: {report}");
    let asked = summary["elicitations"].as_array().unwrap_or_else(|| panic!("no elicitations: {report}"));
    assert_eq!(asked.len(), 1, "the elicitation handler ran {} times: {report}", asked.len());
    assert_eq!(asked[0]["message"], ELICITATION_MESSAGE, "{report}");
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

// Over stdio: the Python SDK 2.x launches `herd conformance-server --stdio`
// itself (`tests/clients/py2_stdio_client.py`) and records every JSON-RPC
// message on the pipe, in both directions ("out": to herd, "in": from herd).

/// Runs the Python SDK 2.x over stdio against `herd conformance-server
/// --stdio` and checks what it saw and what crossed the pipe.
async fn run_python_stdio(wire: Wire) -> Value {
    let deps = Deps::load();
    let mode = Client::Python.mode(wire);
    let mut cmd = Command::new(deps.python_mcp2());
    cmd.arg(script_path("py2_stdio_client.py")).args([herd_bin(), mode, "conformance-server", "--stdio"]);
    let run = run_bounded(cmd, CLIENT_LIMIT).await;
    let summary = summary_of(&run);
    let report = format!("status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr);

    assert_eq!(summary["client"], "python2", "{report}");
    assert_eq!(summary["transport"], "stdio", "{report}");
    assert_eq!(summary["mode"], mode, "{report}");
    let expected_version = if wire == Wire::Modern { MODERN } else { HANDSHAKE };
    assert_eq!(summary["protocolVersion"], expected_version, "negotiated revision: {report}");
    let checks = summary["checks"].as_object().unwrap_or_else(|| panic!("no checks: {report}"));
    for name in CHECKS {
        assert_eq!(checks.get(name), Some(&Value::Bool(true)), "check {name}: {report}");
    }
    assert_eq!(summary["ok"], true, "{report}");
    assert!(run.status.success(), "client failed: {report}");
    check_results(&summary, &report);

    let entries = summary["wire"].as_array().unwrap_or_else(|| panic!("no wire record: {report}"));
    check_stdio_answers(entries, &report);
    match wire {
        Wire::Modern => check_modern_stdio(entries, &report),
        Wire::Legacy => check_legacy_stdio(entries, &report),
    }
    summary
}

/// The messages recorded in one direction.
fn direction<'a>(entries: &'a [Value], dir: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["dir"] == dir).collect()
}

/// Every request of one side is answered by exactly one result (never an
/// error) from the other side, with its id.
fn check_stdio_answers(entries: &[Value], report: &str) {
    assert!(entries.iter().all(|e| e["kind"] != "exception"), "the transport reported an error: {report}");
    for (asks, answers) in [("out", "in"), ("in", "out")] {
        for request in direction(entries, asks).into_iter().filter(|e| e["kind"] == "request") {
            let id = &request["id"];
            let replies: Vec<_> = direction(entries, answers)
                .into_iter()
                .filter(|e| (e["kind"] == "response" || e["kind"] == "error") && &e["id"] == id)
                .collect();
            assert_eq!(replies.len(), 1, "request {request} answered {} times: {report}", replies.len());
            assert_eq!(replies[0]["kind"], "response", "request {request} failed: {}\n{report}", replies[0]);
        }
    }
}

/// The answer from herd to the client's request `id`.
fn answer_to<'a>(entries: &'a [Value], id: &Value, report: &str) -> &'a Value {
    let found = entries.iter().find(|e| e["dir"] == "in" && e["kind"] == "response" && &e["id"] == id);
    found.unwrap_or_else(|| panic!("no answer to request {id}: {report}"))
}

/// The client's `tools/call` requests for the elicitation tool.
fn stdio_elicitation_calls(entries: &[Value]) -> Vec<&Value> {
    direction(entries, "out")
        .into_iter()
        .filter(|e| e["method"] == "tools/call" && e["name"] == ELICITATION_TOOL)
        .collect()
}

/// 2026-07-28 on stdio: `server/discover` first and no handshake, every
/// request carrying the revision in `_meta`, every answer a 2026 result
/// (`resultType`), no request from herd, and the elicitation done by one
/// `input_required` round and one retry with `inputResponses`.
fn check_modern_stdio(entries: &[Value], report: &str) {
    let sent = direction(entries, "out");
    let first = sent.first().unwrap_or_else(|| panic!("nothing sent: {report}"));
    assert_eq!(first["method"], "server/discover", "first message: {report}");
    let discovered = answer_to(entries, &first["id"], report);
    let versions = discovered["supportedVersions"].as_array().unwrap_or_else(|| panic!("discover: {report}"));
    assert!(versions.contains(&Value::from(MODERN)), "discover lists no {MODERN}: {report}");
    for entry in &sent {
        assert_eq!(entry["kind"], "request", "only requests on the stateless wire: {entry}\n{report}");
        assert_ne!(entry["method"], "initialize", "fell back to the handshake: {report}");
        assert_eq!(entry["metaProtocolVersion"], MODERN, "{entry}\n{report}");
    }
    for entry in direction(entries, "in") {
        assert_eq!(entry["kind"], "response", "herd sent something other than an answer: {entry}\n{report}");
        assert!(entry["resultType"].is_string(), "answer without resultType: {entry}\n{report}");
    }
    let calls = stdio_elicitation_calls(entries);
    assert_eq!(calls.len(), 2, "expected the call and one retry with inputResponses: {report}");
    assert!(calls[0].get("inputResponses").is_none(), "first call already answered: {report}");
    assert_eq!(answer_to(entries, &calls[0]["id"], report)["resultType"], "input_required", "{report}");
    assert_eq!(calls[1]["inputResponses"], serde_json::json!([ELICITATION_KEY]), "retry: {report}");
    assert_eq!(answer_to(entries, &calls[1]["id"], report)["resultType"], "complete", "{report}");
}

/// 2025-11-25 on stdio: `initialize` answered with that revision, then
/// `notifications/initialized`; no 2026 probe or envelope either way; the
/// elicitation comes as herd's own `elicitation/create` request inside the
/// one call, and the client answers it.
fn check_legacy_stdio(entries: &[Value], report: &str) {
    let sent = direction(entries, "out");
    assert_eq!(sent.first().map(|e| &e["method"]), Some(&Value::from("initialize")), "first message: {report}");
    assert_eq!(answer_to(entries, &sent[0]["id"], report)["protocolVersion"], HANDSHAKE, "{report}");
    assert_eq!(sent.get(1).map(|e| &e["method"]), Some(&Value::from("notifications/initialized")), "{report}");
    for entry in entries {
        assert_ne!(entry["method"], "server/discover", "2026 probe on the 2025 wire: {entry}\n{report}");
        assert!(entry.get("metaProtocolVersion").is_none(), "2026 envelope on the 2025 wire: {entry}\n{report}");
        assert!(entry.get("resultType").is_none(), "2026 result on the 2025 wire: {entry}\n{report}");
    }
    let calls = stdio_elicitation_calls(entries);
    assert_eq!(calls.len(), 1, "one call on the 2025 wire: {report}");
    assert!(calls[0].get("inputResponses").is_none(), "{report}");
    let from_herd: Vec<_> = direction(entries, "in").into_iter().filter(|e| e["kind"] == "request").collect();
    assert_eq!(from_herd.len(), 1, "expected one request from herd: {report}");
    assert_eq!(from_herd[0]["method"], "elicitation/create", "{report}");
    let answers = sent.iter().filter(|e| e["kind"] == "response").count();
    assert_eq!(answers, 1, "expected one answer to herd's elicitation/create: {report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk2_default_mode_over_stdio_speaks_2026_07_28() {
    run_python_stdio(Wire::Modern).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk2_legacy_mode_over_stdio_speaks_2025_11_25() {
    run_python_stdio(Wire::Legacy).await;
}
