//! `shell` as a task through the hub (the tasks extension, protocol
//! revision 2026-07-28): a client starts a long command on an agent,
//! drops its connection, comes back on a new one and fetches the result;
//! another user is told the task does not exist; cancelling a task ends
//! its command on the agent.
//!
//! Neither official SDK client speaks the tasks extension of 2026-07-28
//! (the TypeScript SDK 2.4 and the Python SDK 2.x know only the earlier
//! task shapes, `tasks/result` and `tasks/list`), so the client here is
//! raw HTTP: one `reqwest` client per connection, dropped to disconnect.
//! The command waits for a file the test creates, so the task is still
//! running when the client comes back, whatever the machine's speed.

#![allow(clippy::unwrap_used)]

mod support;

use herd_store::{NewUser, Role, Store};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::Herd;
use tokio::time::Instant;

const AGENT_TOKEN: &str = "agent-test-token";
const REVISION: &str = "2026-07-28";
const TASKS: &str = "io.modelcontextprotocol/tasks";
/// How long a finished command may take to show as completed.
const FINISH_LIMIT: Duration = Duration::from_secs(30);

/// One HTTP connection (pool) of one user to the hub.
struct Connection {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Connection {
    fn open(url: &str, token: &str) -> Connection {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Connection { http, url: url.to_owned(), token: token.to_owned() }
    }

    /// One stateless request; the JSON-RPC response.
    async fn request(&self, method: &str, name: &str, mut params: Value) -> Value {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": REVISION,
            "io.modelcontextprotocol/clientCapabilities": { "extensions": { TASKS: {} } },
            "io.modelcontextprotocol/clientInfo": { "name": "tasks-test", "version": "1" },
        });
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let mut request = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", REVISION)
            .header("mcp-method", method);
        if !name.is_empty() {
            request = request.header("mcp-name", name);
        }
        let response = request.body(body.to_string()).send().await.unwrap();
        let sse = response.headers().get("content-type").is_some_and(|c| c.to_str().unwrap().contains("event-stream"));
        let text = response.text().await.unwrap();
        let json = if sse {
            let data = text.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim);
            data.filter_map(|d| serde_json::from_str::<Value>(d).ok()).find(|m| m.get("id").is_some()).unwrap()
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        assert_eq!(json["id"], 1, "{json}");
        json
    }

    async fn task(&self, id: &str) -> Value {
        self.request("tasks/get", id, json!({ "taskId": id })).await
    }
}

/// A hub with users `alice` and `bob` and one agent, `box`, whose `shell`
/// is also exposed first-class as `box_shell`.
struct Fleet {
    hub: Herd,
    _agent: Herd,
    alice: String,
    bob: String,
    home: tempfile::TempDir,
}

impl Fleet {
    async fn start() -> Fleet {
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(home.path().join("herd.db").to_str().unwrap()).await.unwrap();
        let mut tokens = Vec::new();
        for user in ["alice", "bob"] {
            store.add_user(&NewUser::new(user, Role::Operator)).await.unwrap();
            let (_, secret) = store.create_token(user, None, None).await.unwrap();
            tokens.push(secret.expose_secret().to_owned());
        }
        let agent = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
        let config = home.path().join("hosts.toml");
        let registry = format!(
            "[[hosts]]\nname = \"box\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n\
             expose = {{ tools = [\"shell\"], prefix = \"box_\" }}\n",
            agent.url
        );
        std::fs::write(&config, registry).unwrap();
        let args = ["hub", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"];
        let hub = Herd::start_with_env(&args, &[("HERD_HOME", home.path().to_str().unwrap())]).await;
        let bob = tokens.pop().unwrap();
        let alice = tokens.pop().unwrap();
        Fleet { hub, _agent: agent, alice, bob, home }
    }
}

/// Polls `tasks/get` at the interval the task asks for until it ends.
async fn finished(connection: &Connection, id: &str) -> Value {
    let deadline = Instant::now() + FINISH_LIMIT;
    loop {
        let got = connection.task(id).await;
        let result = &got["result"];
        if ["completed", "failed", "cancelled"].contains(&result["status"].as_str().unwrap_or_default()) {
            return got;
        }
        assert!(Instant::now() < deadline, "task {id} still {} after {FINISH_LIMIT:?}", result["status"]);
        let interval = result["pollIntervalMs"].as_u64().unwrap_or(100).min(200);
        tokio::time::sleep(Duration::from_millis(interval)).await;
    }
}

/// Starts `tool` (with `arguments`) as a task on a connection that is then
/// dropped, comes back on a new one, lets the command finish and fetches
/// its output; `bob` sees no such task.
async fn start_leave_and_come_back(fleet: &Fleet, tool: &str, mut arguments: Value, gate: &Path) {
    let marker = format!("finished-{tool}");
    arguments["command"] = json!(format!("while [ ! -e \"$GATE\" ]; do sleep 0.05; done; echo {marker}"));
    arguments["env"] = json!({ "GATE": gate.to_str().unwrap() });
    arguments["timeout"] = json!(120);
    let first = Connection::open(&fleet.hub.url, &fleet.alice);
    let created = first.request("tools/call", tool, json!({ "name": tool, "arguments": arguments })).await;
    let created = &created["result"];
    assert_eq!(created["resultType"], "task", "{tool}: {created}");
    assert_eq!(created["status"], "working", "{tool}: {created}");
    assert!(created["ttlMs"].as_u64().unwrap() > 0, "{created}");
    let id = created["taskId"].as_str().unwrap().to_owned();
    drop(first);

    // Another user: as if the task did not exist.
    let bob = Connection::open(&fleet.hub.url, &fleet.bob);
    let refused = bob.task(&id).await;
    assert_eq!(refused["error"]["code"], -32602, "bob must not see alice's task: {refused}");
    let refused = bob.request("tasks/cancel", &id, json!({ "taskId": &id })).await;
    assert_eq!(refused["error"]["code"], -32602, "bob must not cancel alice's task: {refused}");

    // Alice again, on a new connection: the command is still waiting.
    let second = Connection::open(&fleet.hub.url, &fleet.alice);
    let running = second.task(&id).await;
    assert_eq!(running["result"]["status"], "working", "{tool}: {running}");
    assert!(running["result"].get("result").is_none(), "{running}");

    std::fs::write(gate, b"go").unwrap();
    let done = finished(&second, &id).await;
    let done = &done["result"];
    assert_eq!(done["status"], "completed", "{tool}: {done}");
    let output = &done["result"]["structuredContent"];
    assert_eq!(output["exit_code"], 0, "{done}");
    assert_eq!(output["stdout"].as_str().unwrap().trim(), marker, "{done}");
    let text = done["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains(&marker), "{text}");
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to `FINISH_LIMIT` for `what` to hold, checking every 50 ms.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + FINISH_LIMIT;
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {FINISH_LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a command as a task through the hub, cancels the task and sees
/// the command's process end on the agent.
async fn cancel_ends_the_command(fleet: &Fleet, pidfile: &Path) {
    let arguments = json!({
        "host": "box",
        "command": "echo $$ > \"$PIDFILE\"; exec sleep 600",
        "env": { "PIDFILE": pidfile.to_str().unwrap() },
        "timeout": 900,
    });
    let alice = Connection::open(&fleet.hub.url, &fleet.alice);
    let created =
        alice.request("tools/call", "remote_shell", json!({ "name": "remote_shell", "arguments": arguments })).await;
    let id = created["result"]["taskId"].as_str().unwrap_or_else(|| panic!("a task: {created}")).to_owned();
    let mut pid = String::new();
    eventually("the command writes its pid", || {
        pid = std::fs::read_to_string(pidfile).unwrap_or_default().trim().to_owned();
        !pid.is_empty()
    })
    .await;
    assert!(!gone(&pid), "the command runs while the task does");

    let ack = alice.request("tasks/cancel", &id, json!({ "taskId": &id })).await;
    assert_eq!(ack["result"], json!({ "resultType": "complete" }), "{ack}");
    assert_eq!(alice.task(&id).await["result"]["status"], "cancelled");
    eventually("the cancelled command's process ends", || gone(&pid)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_as_a_task_through_the_hub_outlives_the_connection_and_cancel_ends_it() {
    let fleet = Fleet::start().await;
    let listing = Connection::open(&fleet.hub.url, &fleet.alice).request("tools/list", "", json!({})).await;
    for name in ["remote_shell", "box_shell"] {
        let tools = listing["result"]["tools"].as_array().unwrap();
        let tool = tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} in {listing}"));
        assert_eq!(tool["execution"]["taskSupport"], "optional", "{tool}");
    }

    let gates = fleet.home.path();
    start_leave_and_come_back(&fleet, "remote_shell", json!({ "host": "box" }), &gates.join("go-remote")).await;
    start_leave_and_come_back(&fleet, "box_shell", json!({}), &gates.join("go-exposed")).await;
    cancel_ends_the_command(&fleet, &gates.join("pid")).await;
}
