//! The LLM relay as a team runs it: `herd hub` with real users in its
//! store, a `herd agent` that listens on no port and joins over its
//! channel with the token of `alice` (an operator: the workstation is
//! hers, and so are its private models), and scripted OpenAI-compatible
//! providers on loopback behind it. Tokens reach the official clients as
//! the provider sends them; a private model is its owner's alone; a client
//! leaving cancels the provider's request before and after the first
//! token; a provider dying mid-stream ends the client's stream with an
//! error; a pool spreads load by requests in flight and survives a dead
//! member; concurrent requests share one wake; models go inactive with
//! their channel and come back with it; Anthropic's Messages API passes
//! through. (`llm_stack.rs` covers presets,
//! usage, tool-call deltas and audit through the same hops.)

#![allow(clippy::unwrap_used)]

mod support;

use herd_auth::Role;
use herd_store::{NewUser, Store};
use herd_test_provider::{Behaviour, Event, Script, ScriptedProvider};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use support::{Deps, Herd, repo_root, run_bounded};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Longest any awaited step may take on a busy machine.
const LIMIT: Duration = Duration::from_secs(30);
/// How soon a provider must see its client leave once the client is gone.
const CANCEL_SEEN_WITHIN: Duration = Duration::from_secs(1);

/// One `[[llm]]` of the agent, and the provider behind it.
struct Llm {
    name: &'static str,
    extra: String,
    provider: ScriptedProvider,
}

impl Llm {
    async fn new(name: &'static str, extra: &str, script: Script) -> Llm {
        let provider = ScriptedProvider::start(script).await.unwrap();
        Llm { name, extra: extra.to_owned(), provider }
    }
}

/// The hub, the agent and the users' tokens.
struct Relay {
    hub: Herd,
    agent: Option<Herd>,
    agent_args: (Vec<String>, Vec<(String, String)>),
    base: String,
    root: String,
    alice: String,
    bob: String,
    dir: tempfile::TempDir,
}

impl Relay {
    /// A hub with short channel timings, and the agent of `ws1` (alice's)
    /// publishing `llms`; returns once the hub lists every one of them
    /// active.
    async fn start(llms: &[&Llm]) -> Relay {
        let names: Vec<&str> = llms.iter().map(|l| l.name).collect();
        Relay::start_until(llms, |models| names.iter().all(|n| state(models, n) == Some("active"))).await
    }

    /// [`Relay::start`], returning once `ready` holds of the admin's
    /// `/v1/models`.
    async fn start_until(llms: &[&Llm], ready: impl Fn(&Value) -> bool) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let hub_home = dir.path().join("hub");
        let store = Store::open(hub_home.join("herd.db").to_str().unwrap()).await.unwrap();
        let mut tokens = Vec::new();
        for (name, role) in [("root", Role::Admin), ("alice", Role::Operator), ("bob", Role::Operator)] {
            store.add_user(&NewUser::new(name, role)).await.unwrap();
            let (_, secret) = store.create_token(name, None, None).await.unwrap();
            tokens.push(secret.expose_secret().to_owned());
        }
        drop(store);
        let hosts = dir.path().join("hosts.toml");
        std::fs::write(
            &hosts,
            "[channels]\nheartbeat = 0.3\ntimeout = 0.5\n[llm]\nrefresh = 0.5\nqueue_wait = 2\nstall_timeout = 5\n",
        )
        .unwrap();
        let (h, c) = (hub_home.to_str().unwrap(), hosts.to_str().unwrap());
        let hub = Herd::start(&["hub", "--config", c, "--home", h, "--listen", "127.0.0.1:0"]).await;
        let base = hub.url.trim_end_matches("/mcp").to_owned();
        let [root, alice, bob] = <[String; 3]>::try_from(tokens).unwrap();

        let mut config = format!(
            "name = \"ws1\"\nhub = \"{base}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\n\
             [channel]\nheartbeat = 0.3\ntimeout = 0.5\nreconnect_min = 0.1\nreconnect_max = 0.5\n"
        );
        for llm in llms {
            config.push_str(&format!(
                "[[llm]]\nname = \"{}\"\nurl = \"{}\"\n{}\n",
                llm.name,
                llm.provider.base_url(),
                llm.extra
            ));
        }
        let agent_config = dir.path().join("agent.toml");
        std::fs::write(&agent_config, config).unwrap();
        let agent_home = dir.path().join("agent");
        std::fs::create_dir_all(&agent_home).unwrap();
        let args = vec!["agent".to_owned(), "--config".to_owned(), agent_config.to_str().unwrap().to_owned()];
        let env = vec![
            ("HERD_HUB_TOKEN".to_owned(), alice.clone()),
            ("HERD_HOME".to_owned(), agent_home.to_str().unwrap().to_owned()),
        ];
        let mut relay = Relay { hub, agent: None, agent_args: (args, env), base, root, alice, bob, dir };
        relay.start_agent().await;
        relay.wait_models(ready).await;
        relay
    }

    async fn start_agent(&mut self) {
        let (args, env) = &self.agent_args;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.agent = Some(Herd::start_with_env(&args, &env).await);
    }

    /// `GET /v1/models` as the holder of `token`.
    async fn models(&self, token: &str) -> Value {
        let client = reqwest::Client::new();
        let answer = client.get(format!("{}/v1/models", self.base)).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
    }

    /// Polls the admin's `/v1/models` until `ready` holds of it.
    async fn wait_models(&self, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let models = self.models(&self.root).await;
            if ready(&models) {
                return models;
            }
            assert!(tokio::time::Instant::now() < deadline, "the hub's models never became as expected: {models}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn api(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// A streaming chat completion for `model`, as plain HTTP.
    async fn chat(&self, model: &str, stream: bool) -> reqwest::Response {
        let body = json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
        reqwest::Client::new()
            .post(format!("{}/chat/completions", self.api()))
            .bearer_auth(&self.alice)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }
}

/// The state `/v1/models` gives `id`, if it lists it.
fn state<'a>(models: &'a Value, id: &str) -> Option<&'a str> {
    models["data"].as_array()?.iter().find(|m| m["id"] == id)?["herd"]["state"].as_str()
}

fn ids(models: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

fn python_fixture() -> PathBuf {
    repo_root().join("crates/herd/tests/fixtures/openai_client.py")
}

/// Runs the Python client in `mode` to its end; returns its JSON lines and
/// whether it succeeded.
async fn python(mode: &str, api: &str, model: &str, token: &str) -> (bool, Vec<Value>) {
    let mut cmd = Command::new(Deps::load().python_openai());
    cmd.arg(python_fixture()).args([mode, api, model]).env("HERD_TEST_TOKEN", token);
    let done = run_bounded(cmd, LIMIT).await;
    let lines = done.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (done.status.success(), lines)
}

/// The Python client in `mode`, running; its JSON lines are read as they
/// come.
struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    fn start(mode: &str, api: &str, model: &str, token: &str) -> Running {
        let mut cmd = Command::new(Deps::load().python_openai());
        cmd.arg(python_fixture())
            .args([mode, api, model])
            .env("HERD_TEST_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Running { child, lines }
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(LIMIT, self.lines.next_line()).await.unwrap().unwrap();
        serde_json::from_str(&line.expect("the client ended early")).unwrap()
    }
}

/// Waits for the provider's next event that `matches`.
async fn event(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    limit: Duration,
    matches: impl Fn(&Event) -> bool,
) -> Event {
    let wait = async {
        loop {
            let event = events.recv().await.unwrap();
            if matches(&event) {
                return event;
            }
        }
    };
    tokio::time::timeout(limit, wait).await.expect("the provider saw no such event")
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_reach_the_official_clients_as_the_provider_sends_them() {
    let script = Script { pause_after: Some(2), ..Script::default() };
    let chat = Llm::new("chat", "visibility = \"public\"", script).await;
    let relay = Relay::start(&[&chat]).await;
    let api = relay.api();
    let text = Script::default().text();

    // Tokens reach the client as the provider sends them: two arrive while
    // the provider holds the rest back.
    let mut client = Running::start("stream", &api, "chat", &relay.alice);
    assert_eq!(client.next().await["chunk"], "Hello");
    assert_eq!(client.next().await["chunk"], " from");
    assert_eq!(chat.provider.in_flight(), 1, "the provider still holds the answer open");
    chat.provider.resume();
    let done = loop {
        let line = client.next().await;
        if line["done"] == true {
            break line;
        }
    };
    assert_eq!(done["content"], text.as_str());
    assert_eq!(done["usage"], Value::Null, "usage not asked for, so not passed on");
    assert!(client.child.wait().await.unwrap().success());
    chat.provider.set_script(Script::default());

    let (ok, lines) = python("stream-usage", &api, "chat", &relay.alice).await;
    assert!(ok, "{lines:?}");
    let done = lines.last().unwrap();
    assert_eq!(done["content"], text.as_str());
    assert!(done["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{done}");

    let (ok, lines) = python("chat", &api, "chat", &relay.alice).await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["content"], text.as_str());
    assert!(lines[0]["usage"]["prompt_tokens"].is_u64(), "{lines:?}");

    // The npm client too.
    let deps = Deps::load();
    let mut node = Command::new(&deps.node22);
    node.arg(repo_root().join("crates/herd/tests/fixtures/openai_client.mjs"))
        .arg(&deps.openai_js_dir)
        .args([api.as_str(), "chat"])
        .env("HERD_TEST_TOKEN", &relay.bob);
    let done = run_bounded(node, LIMIT).await;
    assert!(done.status.success(), "{done:?}");
    let last: Value = serde_json::from_str(done.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["content"], text.as_str());
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > 0, "{last}");
    assert_eq!(last["models"], json!(["chat"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_model_is_its_owners_alone() {
    let private = Llm::new("alices", "", Script::default()).await;
    let public = Llm::new("everyones", "visibility = \"public\"", Script::default()).await;
    let relay = Relay::start(&[&private, &public]).await;
    let api = relay.api();
    assert_eq!(ids(&relay.models(&relay.alice).await), ["alices", "everyones"]);
    assert_eq!(ids(&relay.models(&relay.bob).await), ["everyones"]);
    assert_eq!(ids(&relay.models(&relay.root).await), ["alices", "everyones"]);
    let alices = &relay.models(&relay.root).await["data"][0];
    assert_eq!(alices["herd"]["owner"], "alice", "{alices}");

    let (ok, lines) = python("chat", &api, "alices", &relay.bob).await;
    assert!(!ok, "{lines:?}");
    assert_eq!((lines[0]["error"].as_str(), lines[0]["status"].as_u64()), (Some("NotFoundError"), Some(404)));
    assert!(!lines[0]["message"].as_str().unwrap().contains("private"), "a private model is not revealed");
    for token in [&relay.alice, &relay.root] {
        let (ok, lines) = python("chat", &api, "alices", token).await;
        assert!(ok, "{lines:?}");
    }
    let (ok, lines) = python("chat", &api, "everyones", &relay.bob).await;
    assert!(ok, "{lines:?}");
    let (ok, lines) = python("models", &api, "-", &relay.bob).await;
    assert!(ok && lines[0]["models"] == json!(["everyones"]), "{lines:?}");

    // herd llm, as bob: the same view.
    let mut cmd = Command::new(support::herd_bin());
    cmd.args(["llm", "list", "--json", "--url", &relay.hub.url]).env("HERD_TOKEN", &relay.bob);
    let listed = run_bounded(cmd, LIMIT).await;
    assert!(listed.status.success(), "{listed:?}");
    assert!(listed.stdout.contains("everyones") && !listed.stdout.contains("alices"), "{}", listed.stdout);
    let mut cmd = Command::new(support::herd_bin());
    cmd.args(["llm", "chat", "everyones", "Say something.", "--url", &relay.hub.url]).env("HERD_TOKEN", &relay.bob);
    let chatted = run_bounded(cmd, LIMIT).await;
    assert!(chatted.status.success(), "{chatted:?}");
    assert!(chatted.stdout.contains(&Script::default().text()), "{}", chatted.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_goes_away_cancels_the_provider_request() {
    let paused =
        Llm::new("paused", "visibility = \"public\"", Script { pause_after: Some(1), ..Script::default() }).await;
    let hanging = Llm::new("hanging", "visibility = \"public\"", Script::default().behaving(Behaviour::Hang)).await;
    let relay = Relay::start(&[&paused, &hanging]).await;
    let api = relay.api();

    // After the first token: the client closes its stream.
    let mut events = paused.provider.events();
    let mut client = Running::start("first-chunk", &api, "paused", &relay.alice);
    assert_eq!(client.next().await["chunk"], "Hello");
    assert_eq!(client.next().await["closed"], true);
    let closed = event(&mut events, CANCEL_SEEN_WITHIN, |e| matches!(e, Event::ClosedEarly { .. })).await;
    assert!(matches!(closed, Event::ClosedEarly { tokens_sent: 1, .. }), "{closed:?}");
    drop(client);

    // Before the first token: the client is killed while it waits.
    let mut events = hanging.provider.events();
    let mut client = Running::start("wait", &api, "hanging", &relay.alice);
    event(&mut events, LIMIT, |e| matches!(e, Event::Arrived { endpoint, .. } if endpoint == "chat/completions")).await;
    client.child.kill().await.unwrap();
    let closed = event(&mut events, CANCEL_SEEN_WITHIN, |e| matches!(e, Event::ClosedEarly { .. })).await;
    assert!(matches!(closed, Event::ClosedEarly { tokens_sent: 0, .. }), "{closed:?}");

    // Non-streaming, before the answer: the same.
    let hung = tokio::spawn({
        let relay_api = api.clone();
        let token = relay.alice.clone();
        async move {
            let body = json!({ "model": "hanging", "messages": [{ "role": "user", "content": "hi" }] });
            let request = reqwest::Client::new().post(format!("{relay_api}/chat/completions")).bearer_auth(token);
            let _ = request.header("content-type", "application/json").body(body.to_string()).send().await;
        }
    });
    event(&mut events, LIMIT, |e| matches!(e, Event::Arrived { endpoint, .. } if endpoint == "chat/completions")).await;
    hung.abort();
    event(&mut events, CANCEL_SEEN_WITHIN, |e| matches!(e, Event::ClosedEarly { tokens_sent: 0, .. })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_dying_mid_stream_ends_the_clients_stream_with_an_error() {
    // The first token leaves well before the abort; the second one, right
    // before it, may be lost with the connection.
    let script = Script { delay: Duration::from_millis(50), ..Script::default() }.behaving(Behaviour::DieAfter(2));
    let dying = Llm::new("dying", "visibility = \"public\"", script).await;
    let relay = Relay::start(&[&dying]).await;
    let mut client = Running::start("stream", &relay.api(), "dying", &relay.alice);
    assert_eq!(client.next().await["chunk"], "Hello");
    let mut line = client.next().await;
    if line["chunk"] == " from" {
        line = client.next().await;
    }
    assert_eq!(line["error"], "APIError", "{line}");
    let status = tokio::time::timeout(LIMIT, client.child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_spreads_load_by_in_flight_and_survives_a_dead_member() {
    let held = Script { pause_after: Some(1), ..Script::default() };
    let one = Llm::new("duo-1", "pool = \"duo\"\nvisibility = \"public\"\nmax_concurrency = 2", held.clone()).await;
    let two = Llm::new("duo-2", "pool = \"duo\"\nvisibility = \"public\"\nmax_concurrency = 2", held).await;
    let relay = Relay::start(&[&one, &two]).await;

    // Four streams held open: two at each member, none waiting.
    let mut streams = Vec::new();
    for _ in 0..4 {
        let answer = relay.chat("duo", true).await;
        assert_eq!(answer.status(), 200);
        streams.push(answer);
    }
    assert_eq!((one.provider.max_in_flight(), two.provider.max_in_flight()), (2, 2));
    one.provider.resume();
    two.provider.resume();
    for answer in streams {
        let text = answer.text().await.unwrap();
        assert!(text.contains("[DONE]"), "{text}");
    }

    // One member gone: every request still succeeds, through the other.
    one.provider.set_script(Script::default());
    two.provider.set_script(Script::default());
    let served_before = two.provider.requests();
    drop(one);
    for _ in 0..4 {
        let answer = relay.chat("duo", false).await;
        assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    }
    assert_eq!(two.provider.requests() - served_before, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_for_a_hibernating_model_share_one_wake() {
    let sleepy = ScriptedProvider::start(Script { asleep: true, ..Script::default() }).await.unwrap();
    let wake = format!(
        "visibility = \"public\"\nwake = {{ command = [\"curl\", \"-sf\", \"-o\", \"/dev/null\", \"-X\", \"POST\", \"http://{}/wake\"], max_wait = \"20s\" }}",
        sleepy.addr()
    );
    let llm = Llm { name: "sleepy", extra: wake, provider: sleepy };
    let relay = Relay::start_until(&[&llm], |m| state(m, "sleepy") == Some("hibernating")).await;
    let answers = futures_util::future::join_all((0..3).map(|_| relay.chat("sleepy", false))).await;
    for answer in answers {
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(llm.provider.wakes(), 1, "three requests, one wake");
    relay.wait_models(|m| state(m, "sleepy") == Some("active")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn models_go_inactive_with_their_channel_and_come_back_with_it() {
    let llm = Llm::new("steady", "visibility = \"public\"", Script::default()).await;
    let mut relay = Relay::start(&[&llm]).await;
    let session = std::fs::read_to_string(relay.dir.path().join("agent/channel-session")).unwrap();
    relay.agent.as_mut().unwrap().kill().await;
    relay.wait_models(|m| state(m, "steady") == Some("inactive")).await;
    let refused = relay.chat("steady", false).await;
    assert_eq!(refused.status(), 503, "{}", refused.text().await.unwrap());

    relay.start_agent().await;
    relay.wait_models(|m| state(m, "steady") == Some("active")).await;
    let again = std::fs::read_to_string(relay.dir.path().join("agent/channel-session")).unwrap();
    assert_eq!(again, session, "the agent came back under the same session");
    assert_eq!(relay.chat("steady", false).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_anthropic_messages_api_passes_through_to_a_provider_that_speaks_it() {
    let llm = Llm::new("coder", "visibility = \"public\"\nmodel = \"coder-upstream\"", Script::default()).await;
    let relay = Relay::start(&[&llm]).await;
    let text = Script::default().text();
    let send = |stream: bool| {
        let body = json!({ "model": "coder", "max_tokens": 64, "stream": stream,
                           "messages": [{ "role": "user", "content": "hi" }] });
        reqwest::Client::new()
            .post(format!("{}/messages", relay.api()))
            .bearer_auth(&relay.bob)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };

    // Streamed: Anthropic's events, passed on as they are.
    let answer = send(true).await.unwrap();
    assert_eq!(answer.status(), 200);
    let events = answer.text().await.unwrap();
    for kind in ["message_start", "content_block_delta", "message_stop"] {
        assert!(events.contains(&format!("event: {kind}")), "{kind} missing:\n{events}");
    }
    let streamed: String = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|e| e["type"] == "content_block_delta")
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(streamed, text);

    // Whole.
    let answer = send(false).await.unwrap();
    assert_eq!(answer.status(), 200);
    let message: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(message["content"][0]["text"], text.as_str(), "{message}");

    // The provider got the body as sent, its own model id in `model`, and
    // nothing of OpenAI's stream options.
    let sent: Vec<Value> = llm
        .provider
        .history()
        .into_iter()
        .filter_map(|e| match e {
            Event::Arrived { endpoint, body, .. } if endpoint == "messages" => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|b| b["model"] == "coder-upstream" && b.get("stream_options").is_none()), "{sent:?}");
    assert_eq!(sent[0]["max_tokens"], 64);
}
