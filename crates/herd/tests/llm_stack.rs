//! The LLM relay through every real hop: the official `openai` Python
//! client → `herd hub` → the channel → `herd agent` (its `[[llm]]` and
//! `[[preset]]`) → a scripted provider. Streams arrive token by token with
//! the usage only when asked for, tool-call deltas pass untouched, the
//! preset's system prompt reaches the provider, a client that leaves after
//! the first token is seen leaving at the provider, and each request has
//! its audit record with the provider's token counts.

#![allow(clippy::unwrap_used)]

mod support;

use herd_test_provider::{Event, Script, ScriptedProvider};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{Deps, Finished, Herd, herd_bin, run_bounded};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;

const ADMIN: &str = "the-hubs-own-admin-token";
const LIMIT: Duration = Duration::from_secs(30);

async fn ok(hub: &Herd, token: &str, args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env("HERD_URL", &hub.url).env("HERD_HOME", home.path()).env("HERD_TOKEN", token);
    let run = run_bounded(cmd, Duration::from_secs(60)).await;
    assert!(run.status.success(), "herd {args:?} failed: {run:?}");
    run.stdout
}

/// The JSON lines a client fixture printed.
fn lines(run: &Finished) -> Vec<Value> {
    assert!(run.status.success(), "{run:?}");
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The official Python client's `mode` against `base` for `model`.
fn python(deps: &Deps, base: &str, token: &str, mode: &str, model: &str) -> Command {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openai_client.py");
    let mut cmd = Command::new(deps.python_openai());
    cmd.arg(fixture).args([mode, base, model]).env("HERD_TEST_TOKEN", token);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn an_official_client_reaches_a_workstations_llm_through_hub_channel_and_agent() {
    let deps = Deps::load();
    let dir = tempfile::tempdir().unwrap();
    let hub_home = dir.path().join("hub");
    let agent_home = dir.path().join("agent");
    std::fs::create_dir_all(&hub_home).unwrap();
    std::fs::create_dir_all(&agent_home).unwrap();
    let hosts = dir.path().join("hosts.toml");
    std::fs::write(&hosts, "[llm]\nstall_timeout = 20\n").unwrap();
    let args = ["hub", "--config", hosts.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    let mut hub =
        Herd::start_with_env(&args, &[("HERD_TOKEN", ADMIN), ("HERD_HOME", hub_home.to_str().unwrap())]).await;
    ok(&hub, ADMIN, &["user", "add", "ws", "--role", "agent"]).await;
    ok(&hub, ADMIN, &["user", "add", "bob", "--role", "operator"]).await;
    let agent_token = ok(&hub, ADMIN, &["token", "create", "--user", "ws"]).await.trim().to_owned();
    let bob = ok(&hub, ADMIN, &["token", "create", "--user", "bob"]).await.trim().to_owned();

    let provider = ScriptedProvider::start(Script::default().with_token_count(5)).await.unwrap();
    let mut events = provider.events();
    let base = hub.url.trim_end_matches("/mcp").to_owned();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"ws1\"\nhub = \"{base}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\n\
             [[llm]]\nname = \"local\"\nurl = \"{url}\"\nmodel = \"upstream-id\"\npool = \"team\"\nvisibility = \"public\"\n\
             [[preset]]\nname = \"terse\"\nllm = \"team\"\nsystem = \"Be brief.\"\nparams = {{ temperature = 0.1 }}\nvisibility = \"public\"\n",
            url = provider.base_url(),
        ),
    )
    .unwrap();
    let env = [("HERD_HUB_TOKEN", agent_token.as_str()), ("HERD_HOME", agent_home.to_str().unwrap())];
    let _agent = Herd::start_with_env(&["agent", "--config", config.to_str().unwrap()], &env).await;
    let listed = hub.wait_for_log("LLM models listed", LIMIT).await;
    assert_eq!((&listed["host"], &listed["providers"], &listed["presets"]), (&json!("ws1"), &json!(1), &json!(1)));

    let v1 = format!("{base}/v1");
    let models = lines(&run_bounded(python(&deps, &v1, &bob, "models", "-"), LIMIT).await);
    assert_eq!(models[0]["models"], json!(["local", "team", "terse"]));

    let stream = lines(&run_bounded(python(&deps, &v1, &bob, "stream", "team"), LIMIT).await);
    let chunks: Vec<&str> = stream.iter().filter_map(|l| l["chunk"].as_str()).collect();
    assert_eq!(chunks, ["t0", " t1", " t2", " t3", " t4"], "token by token");
    assert_eq!(stream.last().unwrap()["usage"], Value::Null, "the usage herd asked for is taken out");
    let asked = lines(&run_bounded(python(&deps, &v1, &bob, "stream-usage", "local"), LIMIT).await);
    assert!(asked.last().unwrap()["usage"]["completion_tokens"].as_u64().is_some(), "{asked:?}");

    let chat = lines(&run_bounded(python(&deps, &v1, &bob, "chat", "terse"), LIMIT).await);
    assert_eq!(chat[0]["content"], "t0 t1 t2 t3 t4");
    let sent = provider
        .history()
        .into_iter()
        .rev()
        .find_map(|e| match e {
            Event::Arrived { endpoint, body, .. } if endpoint == "chat/completions" => Some(body),
            _ => None,
        })
        .unwrap();
    assert_eq!(sent["model"], "upstream-id");
    assert_eq!(sent["temperature"], 0.1);
    assert_eq!(sent["messages"][0], json!({ "role": "system", "content": "Be brief." }));

    provider.set_script(Script { tool_call: true, ..Script::default() });
    let tools = lines(&run_bounded(python(&deps, &v1, &bob, "tools", "local"), LIMIT).await);
    let call = &tools[0]["tool_calls"][0];
    assert_eq!(call["name"], "echo");
    assert!(serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).is_ok(), "{call}");

    // A client that leaves after its first token: the provider sees it go.
    provider.set_script(Script { pause_after: Some(1), ..Script::default().with_token_count(4) });
    while events.try_recv().is_ok() {}
    let mut leaving = python(&deps, &v1, &bob, "first-chunk", "local");
    let mut child = leaving.stdin(Stdio::piped()).stdout(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(LIMIT, out.next_line()).await.unwrap().unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&first).unwrap()["chunk"], "t0");
    let closed = async {
        loop {
            if let Event::ClosedEarly { tokens_sent, .. } = events.recv().await.unwrap() {
                return tokens_sent;
            }
        }
    };
    assert_eq!(tokio::time::timeout(LIMIT, closed).await.expect("the provider saw its client leave"), 1);
    child.stdin.take().unwrap().shutdown().await.unwrap();
    tokio::time::timeout(LIMIT, child.wait()).await.unwrap().unwrap();

    // The record of a request whose client left is written on its own
    // (nothing answers after it): read the log until it is there.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let (audit, records) = loop {
        let audit = ok(&hub, ADMIN, &["audit", "--user", "bob", "--json"]).await;
        let records: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if records.iter().any(|r| r["herd.outcome"] == "cancelled") || tokio::time::Instant::now() > deadline {
            break (audit, records);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let streamed = records.iter().find(|r| r["gen_ai.request.model"] == "team").unwrap();
    assert_eq!((&streamed["herd.outcome"], &streamed["herd.llm.member"]), (&json!("ok"), &json!("ws1")));
    assert_eq!(streamed["gen_ai.provider.name"], "local");
    assert!(streamed["gen_ai.usage.output_tokens"].as_u64().is_some(), "{streamed}");
    let left = records.iter().filter(|r| r["herd.outcome"] == "cancelled").count();
    assert_eq!(left, 1, "{audit}");
}
