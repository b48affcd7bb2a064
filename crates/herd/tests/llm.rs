//! The LLM relay end to end: a real `herd hub`, an agent that joins it over
//! its channel from this process and answers the relay's wire (a listing
//! and a streamed answer), and `herd llm list` / `herd llm chat` and the
//! official `openai` clients (Python and npm) run against the hub with a
//! user's token.

#![allow(clippy::unwrap_used)]

mod support;

use axum::response::IntoResponse as _;
use herd_channel::{AgentChannel, AgentChannelConfig};
use herd_llm::wire::{self, Listing, Provider, ProviderState, Visibility};
use serde_json::Value;
use std::time::Duration;
use support::{Deps, Finished, Herd, herd_bin, run_bounded};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "the-hubs-own-admin-token";
const LIMIT: Duration = Duration::from_secs(30);
const ANSWER: [&str; 4] = [
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}\n\n",
    "data: [DONE]\n\n",
];

/// `herd ARGS` against `hub` with `token`.
async fn herd(hub: &Herd, token: &str, args: &[&str]) -> Finished {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env("HERD_URL", &hub.url).env("HERD_HOME", home.path()).env("HERD_TOKEN", token);
    run_bounded(cmd, Duration::from_secs(60)).await
}

async fn ok(hub: &Herd, token: &str, args: &[&str]) -> String {
    let run = herd(hub, token, args).await;
    assert!(run.status.success(), "herd {args:?} failed: {run:?}");
    run.stdout
}

/// The agent's side of the wire: one public provider, `m`.
fn agent_router() -> axum::Router {
    let listing = Listing {
        providers: vec![Provider {
            name: "m".into(),
            pool: Some("p".into()),
            visibility: Visibility::Public,
            max_concurrency: 2,
            state: ProviderState::Active,
            wakes: false,
        }],
        presets: Vec::new(),
    };
    let listing = serde_json::to_string(&listing).unwrap();
    axum::Router::new().route(wire::LISTING_PATH, axum::routing::get(move || async move { listing })).route(
        "/api/v1/llm/{provider}/{*endpoint}",
        axum::routing::post(|body: axum::body::Bytes| async move {
            let request: Value = serde_json::from_slice(&body).unwrap();
            if request["stream"] != true {
                let answer = serde_json::json!({
                    "id": "c1", "object": "chat.completion", "created": 0, "model": request["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
                });
                return ([(http_content_type(), "application/json")], answer.to_string()).into_response();
            }
            let chunks = ANSWER.iter().map(|c| Ok::<_, std::io::Error>(bytes_of(c)));
            let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
            ([(http_content_type(), "text/event-stream")], body).into_response()
        }),
    )
}

fn bytes_of(text: &'static str) -> axum::body::Bytes {
    axum::body::Bytes::from_static(text.as_bytes())
}

fn http_content_type() -> axum::http::HeaderName {
    axum::http::header::CONTENT_TYPE
}

#[tokio::test(flavor = "multi_thread")]
async fn herd_llm_lists_and_streams_a_model_an_agent_publishes_over_its_channel() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, "[llm]\nrefresh = 5\n").unwrap();
    let args = ["hub", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    let mut hub = Herd::start_with_env(&args, &[("HERD_TOKEN", ADMIN), ("HERD_HOME", home.to_str().unwrap())]).await;
    ok(&hub, ADMIN, &["user", "add", "ws", "--role", "agent"]).await;
    ok(&hub, ADMIN, &["user", "add", "bob", "--role", "operator"]).await;
    let agent_token = ok(&hub, ADMIN, &["token", "create", "--user", "ws"]).await.trim().to_owned();
    let bob = ok(&hub, ADMIN, &["token", "create", "--user", "bob"]).await.trim().to_owned();

    let base = hub.url.trim_end_matches("/mcp").to_owned();
    let channel =
        AgentChannel::new(AgentChannelConfig::new(base, agent_token, "ws1", "session-of-ws1".into())).unwrap();
    let stop = CancellationToken::new();
    let agent = tokio::spawn(channel.run(agent_router(), stop.clone()));
    let listed = hub.wait_for_log("LLM models listed", LIMIT).await;
    assert_eq!(listed["host"], "ws1");

    let table = ok(&hub, &bob, &["llm", "list"]).await;
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["ID", "KIND", "HOSTS", "STATE", "OWNER"]);
    assert!(rows.contains(&vec!["m", "provider", "ws1", "active", "ws"]), "{table}");
    assert!(rows.contains(&vec!["p", "pool", "ws1", "active", "ws"]), "{table}");
    let json: Value = serde_json::from_str(&ok(&hub, &bob, &["llm", "list", "--json"]).await).unwrap();
    assert_eq!(json["object"], "list");

    assert_eq!(ok(&hub, &bob, &["llm", "chat", "p", "say hello"]).await, "Hello\n");
    let missing = herd(&hub, &bob, &["llm", "chat", "nothing", "hi"]).await;
    assert!(!missing.status.success());
    assert!(missing.stderr.contains("does not exist"), "{missing:?}");

    let audit = ok(&hub, ADMIN, &["audit", "--user", "bob", "--json"]).await;
    let records: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let served = records.iter().find(|r| r["herd.outcome"] == "ok").unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(served["mcp.method.name"], "/v1/chat/completions");
    assert_eq!((&served["gen_ai.request.model"], &served["gen_ai.provider.name"]), (&"p".into(), &"m".into()));
    assert_eq!((&served["herd.llm.member"], &served["herd.path"]), (&"ws1".into(), &"channel".into()));
    assert_eq!((&served["gen_ai.usage.input_tokens"], &served["gen_ai.usage.output_tokens"]), (&4.into(), &2.into()));
    let denied = records.iter().find(|r| r["gen_ai.request.model"] == "nothing").unwrap();
    assert_eq!(denied["herd.outcome"], "denied");

    official_clients(&hub, &bob).await;
    stop.cancel();
    tokio::time::timeout(LIMIT, agent).await.unwrap().unwrap();
}

/// The JSON lines a client fixture printed.
fn lines(run: &Finished) -> Vec<Value> {
    assert!(run.status.success(), "{run:?}");
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The official `openai` clients against the hub's `/v1`.
async fn official_clients(hub: &Herd, token: &str) {
    let deps = Deps::load();
    let base = format!("{}/v1", hub.url.trim_end_matches("/mcp"));
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let python = |mode: &str| {
        let mut cmd = Command::new(deps.python_openai());
        cmd.arg(fixtures.join("openai_client.py")).args([mode, &base, "p"]).env("HERD_TEST_TOKEN", token);
        run_bounded(cmd, Duration::from_secs(60))
    };
    assert_eq!(lines(&python("models").await)[0]["models"], serde_json::json!(["m", "p"]));
    let chat = lines(&python("chat").await);
    assert_eq!((&chat[0]["content"], &chat[0]["usage"]["completion_tokens"]), (&"Hello".into(), &2.into()));
    let stream = lines(&python("stream").await);
    let done = stream.last().unwrap();
    assert_eq!(done["content"], "Hello");
    assert_eq!(done["usage"], Value::Null, "usage the client did not ask for is taken out");
    assert_eq!(done["chunks"], 2);
    let asked = lines(&python("stream-usage").await);
    assert_eq!(asked.last().unwrap()["usage"]["prompt_tokens"], 4, "usage asked for arrives");

    let mut node = Command::new(&deps.node22);
    node.arg(fixtures.join("openai_client.mjs"))
        .args([deps.openai_js_dir.to_str().unwrap(), &base, "p"])
        .env("HERD_TEST_TOKEN", token);
    let js = lines(&run_bounded(node, Duration::from_secs(60)).await);
    let done = js.last().unwrap();
    assert_eq!((&done["content"], &done["usage"]["completion_tokens"]), (&"Hello".into(), &2.into()));
    assert_eq!(done["models"], serde_json::json!(["m", "p"]));
}
