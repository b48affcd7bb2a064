//! Drives herd with the official MCP SDK clients, Python (PyPI `mcp`) and
//! TypeScript (`@modelcontextprotocol/sdk`), over Streamable HTTP and stdio.
//!
//! The client scripts live in `tests/clients/` at the repository root; each
//! runs the same session against `herd conformance-server` (handshake, tools,
//! progress, a sampling request answered by the client, a resource, a prompt)
//! and prints one JSON summary line. These tests check the scripts' exit
//! status and that summary, so a regression in either transport shows up as
//! a named failed check.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::{Deps, Finished, Herd, herd_bin, repo_root, run_bounded};
use tokio::process::Command;

/// A client session takes about a second; the scripts bound each call to 30 s.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// The checks every client script reports; all must be `true`.
const CHECKS: [&str; 8] = [
    "initialize",
    "list_tools",
    "call_simple_text",
    "call_with_progress",
    "call_sampling",
    "read_resource",
    "get_prompt",
    "completed",
];

#[derive(Clone, Copy)]
enum Client {
    Python,
    TypeScript,
}

enum Transport {
    Http,
    Stdio,
}

impl Client {
    fn command(self, deps: &Deps) -> Command {
        let (interpreter, script) = match self {
            Client::Python => (deps.python(), "py_client.py"),
            Client::TypeScript => (deps.node22.clone(), "ts_client.mjs"),
        };
        let mut cmd = Command::new(interpreter);
        cmd.arg(script_path(script)).env("HERD_TS_SDK_DIR", &deps.ts_sdk_dir);
        cmd
    }

    fn name(self) -> &'static str {
        match self {
            Client::Python => "python",
            Client::TypeScript => "typescript",
        }
    }

    /// The canned text the script's sampling callback answers with.
    fn sampling_answer(self) -> String {
        format!("canned answer from the {} client", self.name())
    }
}

fn script_path(name: &str) -> PathBuf {
    let path = repo_root().join("tests/clients").join(name);
    assert!(path.is_file(), "{} missing", path.display());
    path
}

async fn run_client(client: Client, transport: Transport) -> Value {
    let deps = Deps::load();
    let mut cmd = client.command(&deps);
    // Keeps the HTTP server alive until the client is done.
    let _server;
    let transport_name = match transport {
        Transport::Http => {
            let herd = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
            cmd.args(["http", &herd.url]);
            _server = Some(herd);
            "http"
        }
        Transport::Stdio => {
            cmd.args(["stdio", herd_bin(), "conformance-server", "--stdio"]);
            _server = None;
            "stdio"
        }
    };
    let run = run_bounded(cmd, CLIENT_LIMIT).await;
    let summary = summary_of(&run);
    let report = format!("status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr);

    assert!(run.status.success(), "client failed: {report}");
    assert_eq!(summary["ok"], true, "{report}");
    assert_eq!(summary["client"], client.name(), "{report}");
    assert_eq!(summary["transport"], transport_name, "{report}");
    let checks = summary["checks"].as_object().unwrap_or_else(|| panic!("no checks: {report}"));
    for name in CHECKS {
        assert_eq!(checks.get(name), Some(&Value::Bool(true)), "check {name}: {report}");
    }
    assert_eq!(summary["serverName"], "herd-conformance", "{report}");
    for capability in ["tools", "resources", "prompts"] {
        let caps = summary["capabilities"].as_array().expect("capabilities array");
        assert!(caps.contains(&Value::from(capability)), "capability {capability}: {report}");
    }
    assert!(summary["tools"].as_u64().unwrap_or(0) >= 3, "{report}");
    assert_eq!(summary["simpleText"], "This is a simple text response for testing.", "{report}");
    let progress: Vec<f64> =
        summary["progress"].as_array().expect("progress array").iter().filter_map(Value::as_f64).collect();
    assert_eq!(progress, [0.0, 50.0, 100.0], "{report}");
    let sampled = summary["samplingResult"].as_str().unwrap_or_default();
    assert!(sampled.contains(&client.sampling_answer()), "sampling answer not used: {report}");
    assert_eq!(summary["resourceText"], "This is the content of the static text resource.", "{report}");
    assert!(summary["promptMessages"].as_u64().unwrap_or(0) >= 1, "{report}");
    summary
}

/// The last stdout line, as JSON.
fn summary_of(run: &Finished) -> Value {
    let line = run.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("no JSON summary ({e}); status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_http() {
    let summary = run_client(Client::Python, Transport::Http).await;
    assert_eq!(summary["protocolVersion"], "2025-11-25");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_stdio() {
    let summary = run_client(Client::Python, Transport::Stdio).await;
    assert_eq!(summary["protocolVersion"], "2025-11-25");
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_sdk_over_http() {
    run_client(Client::TypeScript, Transport::Http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_sdk_over_stdio() {
    run_client(Client::TypeScript, Transport::Stdio).await;
}
