//! A real `herd agent` publishing an `[[llm]]` over its channel: the hub
//! end of the channel (herd-channel) asks it for its listing and forwards
//! a streamed chat to a scripted provider through it; the provider, asleep
//! at first, is woken by the agent's command without the agent's secrets,
//! gets the API key, and sees its client leave when the hub drops the
//! stream; its death mid-answer reaches the hub as a broken stream. The
//! same routes are not served on the agent's `--listen` port.

#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Bytes;
use herd_auth::{Grant, Identity, Principal, Role};
use herd_channel::{Channels, ChannelsConfig};
use herd_llm::wire::{Listing, ProviderState};
use herd_test_provider::{Behaviour, Event, Script, ScriptedProvider};
use http_body_util::{BodyExt as _, Full};
use std::time::Duration;
use support::Herd;

const EVENT_LIMIT: Duration = Duration::from_secs(20);
const LLM_KEY: &str = "sk-local-upstream-key-0123456789";

/// The hub's end of the channels on a loopback port, every caller taken
/// for an agent user.
async fn channel_hub() -> (Channels, String) {
    let identity = Identity::User {
        user_id: herd_auth::UserId(1),
        name: "ws-owner".into(),
        token_id: herd_auth::TokenId("t1".into()),
    };
    let principal = Principal::new(identity, Role::Agent, Grant::all());
    let channels = Channels::new(ChannelsConfig::default());
    let app = channels.route().layer(axum::Extension(principal));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, app).into_future());
    (channels, url)
}

async fn joined(channels: &Channels, host: &str) {
    let mut changes = channels.changes();
    let wait = async {
        while !channels.hosts().iter().any(|h| h.name == host && h.active) {
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(EVENT_LIMIT, wait).await.expect("the agent joined over its channel");
}

fn request(method: &str, path: &str, body: &str) -> http::Request<herd_channel::hub::ChannelBody> {
    let body = Full::new(Bytes::from(body.to_owned())).map_err(|never| match never {}).boxed();
    let builder = http::Request::builder().method(method).uri(format!("http://ws1{path}"));
    builder.header("content-type", "application/json").body(body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_publishes_its_llm_over_the_channel_only() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let script = Script { asleep: true, pause_after: Some(1), ..Script::default() }.with_token_count(4);
    let provider = ScriptedProvider::start(script).await.unwrap();
    let mut events = provider.events();
    let (channels, hub_url) = channel_hub().await;
    let env_file = dir.path().join("wake-env");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"ws1\"\nhub = \"{hub_url}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\n\
             [[llm]]\nname = \"local\"\nurl = \"{url}\"\nmodel = \"upstream-id\"\napi_key_env = \"LOCAL_LLM_KEY\"\n\
             wake = {{ command = [\"sh\", \"-c\", \"env > \\\"$1\\\"; curl -sf -o /dev/null -X POST \\\"$2\\\"\", \"sh\", \"{env}\", \"http://{addr}/wake\"] }}\n\
             [[preset]]\nname = \"terse\"\nllm = \"local\"\nsystem = \"Be brief.\"\n",
            url = provider.base_url(),
            env = env_file.display(),
            addr = provider.addr(),
        ),
    )
    .unwrap();
    let env = [
        ("HERD_HUB_TOKEN", "hub-channel-token"),
        ("HERD_HOME", home.path().to_str().unwrap()),
        ("LOCAL_LLM_KEY", LLM_KEY),
    ];
    let args = ["agent", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--token", "agent-token"];
    let agent = Herd::start_with_env(&args, &env).await;
    joined(&channels, "ws1").await;

    let listed = channels.send("ws1", request("GET", "/api/v1/llm", "")).await.unwrap();
    assert_eq!(listed.status(), 200);
    let listing: Listing = serde_json::from_slice(&listed.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(listing.providers[0].name, "local");
    assert!(listing.providers[0].wakes);
    assert_eq!(listing.presets[0].system.as_deref(), Some("Be brief."));
    let shown = serde_json::to_string(&listing).unwrap();
    assert!(!shown.contains(LLM_KEY) && !shown.contains(&provider.base_url()), "{shown}");

    let chat = r#"{"model":"local","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let answer = channels.send("ws1", request("POST", "/api/v1/llm/local/chat/completions", chat)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(provider.wakes(), 1);
    let (body, authorization) = loop {
        match tokio::time::timeout(EVENT_LIMIT, events.recv()).await.unwrap().unwrap() {
            Event::Arrived { endpoint, body, authorization, .. } if endpoint == "chat/completions" => {
                break (body, authorization);
            }
            _ => {}
        }
    };
    assert_eq!(body["model"], "upstream-id");
    assert_eq!(authorization, Some(format!("Bearer {LLM_KEY}")));
    let woken_with = std::fs::read_to_string(&env_file).unwrap();
    assert!(!woken_with.contains(LLM_KEY) && !woken_with.contains("hub-channel-token"), "{woken_with}");
    assert!(woken_with.contains("PATH="), "the wake command keeps the ordinary environment");

    // The first token arrives while the provider holds the rest; then the
    // hub gives up, and the provider sees its client leave.
    let mut body = answer.into_body();
    let mut seen = String::new();
    while !seen.contains(r#""content":"t0""#) {
        let frame = tokio::time::timeout(EVENT_LIMIT, body.frame()).await.unwrap().unwrap().unwrap();
        seen.push_str(std::str::from_utf8(&frame.into_data().unwrap_or_default()).unwrap());
    }
    drop(body);
    let closed = async {
        loop {
            if let Event::ClosedEarly { tokens_sent, .. } = events.recv().await.unwrap() {
                return tokens_sent;
            }
        }
    };
    let sent = tokio::time::timeout(Duration::from_secs(1), closed).await.expect("the provider saw its client leave");
    assert_eq!(sent, 1);
    let relisted = channels.send("ws1", request("GET", "/api/v1/llm", "")).await.unwrap();
    let listing: Listing = serde_json::from_slice(&relisted.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(listing.providers[0].state, ProviderState::Active);

    // A provider that dies mid-answer breaks the stream the hub reads: it
    // does not end as if complete.
    provider.set_script(Script::default().behaving(Behaviour::DieAfter(2)));
    let answer = channels.send("ws1", request("POST", "/api/v1/llm/local/chat/completions", chat)).await.unwrap();
    let cut = tokio::time::timeout(EVENT_LIMIT, answer.into_body().collect()).await.unwrap();
    assert!(cut.is_err(), "a cut upstream reads as a broken stream over the channel");

    let (status, _) = support::http_get(&agent.url, "/api/v1/llm", Some("agent-token")).await;
    assert_eq!(status, 404, "the LLM routes are the hub's alone, served over the channel only");
}
