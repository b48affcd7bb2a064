//! The one policy end to end: herd users with real `herd_` tokens, driven
//! by the official Python SDK client (PyPI `mcp`), against `herd hub` over
//! two real `herd agent` processes: `web1` (tag `web`) and `db1` (tag
//! `db`), each exposing its `shell` and `read_file`.
//!
//! The users and their tokens are made in the hub's store before it
//! starts; the hub resolves the tokens from it and writes its audit there.
//! For each user, every tool of the hub and every agent tool on every host
//! is both listed and called: what a user's lists show is exactly what it
//! may call, in both directions; and every call leaves exactly one audit
//! record, committed before its answer arrived.

#![allow(clippy::unwrap_used)]

mod support;

use herd_auth::Role;
use herd_store::{AuditFilter, NewUser, Outcome, Store};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;
use support::{Deps, Herd, repo_root};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const AGENT_TOKEN: &str = "agent-test-token";
const HOSTS: [&str; 2] = ["web1", "db1"];
/// One client run: a few hundred calls on loopback.
const PLAN_LIMIT: Duration = Duration::from_secs(180);

struct Fixture {
    url: String,
    store: Store,
    tokens: Vec<(&'static str, String)>,
    _hub: Herd,
    _agents: Vec<Herd>,
    _dir: tempfile::TempDir,
}

/// Users `root` (admin), `op` (operator on `@web`) and `eye` (viewer), one
/// token each; the hub over two agents.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = Store::open(home.join("herd.db").to_str().unwrap()).await.unwrap();
    let users =
        [("root", Role::Admin, vec![]), ("op", Role::Operator, vec!["@web".to_owned()]), ("eye", Role::Viewer, vec![])];
    let mut tokens = Vec::new();
    for (name, role, hosts) in users {
        store.add_user(&NewUser { hosts, ..NewUser::new(name, role) }).await.unwrap();
        let (_, secret) = store.create_token(name, None, None).await.unwrap();
        assert!(secret.expose_secret().starts_with("herd_"));
        tokens.push((name, secret.expose_secret().to_owned()));
    }

    let mut agents = Vec::new();
    let mut registry = String::new();
    for (host, tag) in [("web1", "web"), ("db1", "db")] {
        let agent = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
        registry.push_str(&format!(
            "[[hosts]]\nname = \"{host}\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\ntags = [\"{tag}\"]\n\
             expose = {{ tools = [\"shell\", \"read_file\"], prefix = \"{host}_\" }}\n",
            agent.url
        ));
        agents.push(agent);
    }
    let config = home.join("hosts.toml");
    std::fs::write(&config, registry).unwrap();
    let (config, home_arg) = (config.to_str().unwrap(), home.to_str().unwrap());
    let hub = Herd::start(&["hub", "--config", config, "--home", home_arg, "--listen", "127.0.0.1:0"]).await;
    Fixture { url: hub.url.clone(), store, tokens, _hub: hub, _agents: agents, _dir: dir }
}

impl Fixture {
    fn token(&self, user: &str) -> &str {
        &self.tokens.iter().find(|(name, _)| *name == user).unwrap().1
    }

    /// Runs `plan` (see `tests/clients/py_plan.py`) as `user`; one answer
    /// per step.
    async fn run(&self, user: &str, plan: &[Value]) -> Vec<Value> {
        let deps = Deps::load();
        let script = repo_root().join("tests/clients/py_plan.py");
        let mut child = Command::new(deps.python())
            .arg(script)
            .args([&self.url, self.token(user)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(serde_json::to_string(plan).unwrap().as_bytes()).await.unwrap();
        drop(stdin);
        let out = tokio::time::timeout(PLAN_LIMIT, child.wait_with_output()).await.expect("the client finished");
        let out = out.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "py_plan.py as {user} failed: {stderr}");
        let answers: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answers.len(), plan.len(), "{stderr}");
        answers
    }
}

fn list_tools() -> Value {
    json!({ "list": "tools" })
}

fn call(name: &str, arguments: Value) -> Value {
    json!({ "call": name, "arguments": arguments })
}

fn names(answer: &Value) -> BTreeSet<String> {
    answer["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect()
}

fn forbidden(answer: &Value) -> bool {
    answer["error"]["code"] == herd_proto::code::FORBIDDEN
}

fn structured(answer: &Value) -> &Value {
    &answer["result"]["structuredContent"]
}

/// The names under `key` of a hub tool's structured result (`[]` when it
/// was refused).
fn listed(answer: &Value, key: &str) -> BTreeSet<String> {
    let entries = structured(answer)[key].as_array().cloned().unwrap_or_default();
    entries.iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
}

/// Arguments no tool accepts: a call that reaches a tool fails there, so
/// nothing runs, while a refused one is refused before.
fn bogus(host: Option<&str>) -> Value {
    match host {
        Some(host) => json!({ "host": host, "not_an_argument": 1 }),
        None => json!({ "not_an_argument": 1 }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_user_lists_exactly_what_it_may_call_through_the_python_sdk() {
    let fixture = fixture().await;

    // Everything there is, as the admin sees it.
    let mut plan = vec![list_tools(), call("remote_list_hosts", json!({}))];
    plan.extend(HOSTS.map(|host| call("remote_list_tools", json!({ "host": host }))));
    let all = fixture.run("root", &plan).await;
    let every_tool = names(&all[0]);
    assert_eq!(listed(&all[1], "hosts"), HOSTS.map(str::to_owned).into());
    let agent_tools = listed(&all[2], "tools");
    assert_eq!(agent_tools, listed(&all[3], "tools"));
    for expected in ["remote_shell", "remote_call", "remote_shell_many", "web1_shell", "db1_read_file"] {
        assert!(every_tool.contains(expected), "{expected} missing from {every_tool:?}");
    }
    assert!(agent_tools.contains("shell") && agent_tools.contains("read_file"), "{agent_tools:?}");

    for user in ["op", "eye"] {
        // Listing: the tool list, the hosts, and each host's tools.
        let mut plan = vec![list_tools(), call("remote_list_hosts", json!({}))];
        plan.extend(HOSTS.map(|host| call("remote_list_tools", json!({ "host": host }))));
        // Calling: every tool of the hub (on web1 for those that take a
        // host), then every agent tool on every host, by remote_call and
        // by its remote_<tool>.
        let hub_calls: Vec<&String> = every_tool.iter().collect();
        for tool in &hub_calls {
            let arguments = match tool.as_str() {
                "remote_shell_many" => json!({ "hosts": ["nowhere"] }),
                t if t.starts_with("remote_") => bogus(Some("web1")),
                _ => bogus(None),
            };
            plan.push(call(tool, arguments));
        }
        let mut per_host = Vec::new();
        for host in HOSTS {
            for tool in &agent_tools {
                let arguments = json!({ "host": host, "tool": tool, "arguments": bogus(None) });
                plan.push(call("remote_call", arguments));
                per_host.push((host, tool.clone(), None));
                let forwarding = format!("remote_{tool}");
                if every_tool.contains(&forwarding) {
                    plan.push(call(&forwarding, bogus(Some(host))));
                    per_host.push((host, tool.clone(), Some(forwarding)));
                }
            }
        }
        let answers = fixture.run(user, &plan).await;
        let (listing, calls) = answers.split_at(4);
        let shown = names(&listing[0]);
        let hosts = listed(&listing[1], "hosts");
        let host_tools: Vec<BTreeSet<String>> = listing[2..].iter().map(|a| listed(a, "tools")).collect();

        // Hub and exposed tools: not listed means refused; listed means
        // callable (hub tools taking a host are checked per host below).
        for (tool, answer) in hub_calls.iter().zip(calls) {
            if !shown.contains(*tool) {
                assert!(forbidden(answer), "{user}: {tool} is not listed, yet {answer}");
            } else if !tool.starts_with("remote_") {
                assert!(!forbidden(answer), "{user}: {tool} is listed, yet {answer}");
            }
        }
        // Each host: its tools are listed exactly when callable, both ways.
        for ((host, tool, forwarding), answer) in per_host.iter().zip(&calls[hub_calls.len()..]) {
            let index = HOSTS.iter().position(|h| h == host).unwrap();
            let may = host_tools[index].contains(tool);
            let how = forwarding.as_deref().unwrap_or("remote_call");
            assert_eq!(may, !forbidden(answer), "{user}: {how} {tool} on {host}: listed {may}, answer {answer}");
            if may {
                assert!(hosts.contains(*host), "{user}: {tool} callable on unlisted {host}");
            }
        }
        for (host, tools) in HOSTS.iter().zip(&host_tools) {
            assert_eq!(hosts.contains(*host), !forbidden(&listing[2 + HOSTS.iter().position(|h| h == host).unwrap()]));
            if !hosts.contains(*host) {
                assert!(tools.is_empty(), "{user} sees tools of {host}");
            }
        }

        match user {
            "op" => {
                assert_eq!(hosts, ["web1".to_owned()].into());
                assert_eq!(host_tools[0], agent_tools, "op may call every tool of web1");
                assert!(shown.contains("web1_shell") && shown.contains("remote_shell"), "{shown:?}");
                assert!(!shown.iter().any(|t| t.starts_with("db1_")), "{shown:?}");
            }
            _ => {
                assert_eq!(hosts, HOSTS.map(str::to_owned).into());
                for hidden in
                    ["remote_shell", "remote_shell_bg", "remote_write_file", "remote_shell_many", "web1_shell"]
                {
                    assert!(!shown.contains(hidden), "the viewer sees {hidden}");
                }
                for visible in ["remote_read_file", "remote_list_hosts", "remote_call", "web1_read_file"] {
                    assert!(shown.contains(visible), "the viewer misses {visible}: {shown:?}");
                }
                assert!(!host_tools[0].contains("shell") && host_tools[0].contains("read_file"), "{host_tools:?}");
            }
        }

        // Every call left exactly one record, committed before its answer.
        let filter = AuditFilter { user: Some(user.to_owned()), ..AuditFilter::default() };
        let records = fixture.store.query_audit(&filter).await.unwrap();
        let made = plan.iter().filter(|step| step.get("call").is_some()).count();
        assert_eq!(records.len(), made, "{user}: one record per call");
        let denied = answers.iter().filter(|a| forbidden(a)).count();
        assert_eq!(records.iter().filter(|r| r.outcome == Outcome::Denied).count(), denied, "{user}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_is_refused_a_destructive_tool_with_the_permission_named() {
    let fixture = fixture().await;
    let plan = [
        call("remote_call", json!({ "host": "web1", "tool": "shell", "arguments": { "command": "touch /tmp/x" } })),
        call(
            "remote_call",
            json!({ "host": "web1", "tool": "read_file", "arguments": { "path": "/proc/self/status" } }),
        ),
    ];
    let answers = fixture.run("eye", &plan).await;
    let missing = "role viewer may only call tools annotated readOnlyHint: true";
    assert_eq!(answers[0]["error"]["code"], herd_proto::code::FORBIDDEN, "{}", answers[0]);
    assert_eq!(answers[0]["error"]["message"], format!("forbidden: {missing}"));
    assert_eq!(answers[0]["error"]["data"], json!({ "missing": missing }));
    assert_eq!(answers[1]["result"]["isError"], json!(false), "{}", answers[1]);

    let outside = [call("remote_call", json!({ "host": "db1", "tool": "read_file", "arguments": {} }))];
    let op = fixture.run("op", &outside).await;
    assert_eq!(op[0]["error"]["message"], "forbidden: no grant for host db1", "{}", op[0]);

    let filter = AuditFilter { user: Some("eye".into()), ..AuditFilter::default() };
    let records = fixture.store.query_audit(&filter).await.unwrap();
    let got: Vec<(Option<&str>, Outcome)> = records.iter().map(|r| (r.target.as_deref(), r.outcome)).collect();
    assert_eq!(got, [(Some("remote_call"), Outcome::Denied), (Some("remote_call"), Outcome::Ok)]);
    assert!(records[0].token_id.as_deref().unwrap().starts_with("tok_"), "{:?}", records[0].token_id);
    assert_eq!(records[0].client_name.as_deref(), Some("mcp"), "the Python SDK's clientInfo");
    assert_eq!(records[1].hosts, ["web1"]);
}
