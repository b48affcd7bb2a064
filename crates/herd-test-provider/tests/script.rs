//! The scripted provider does what its script says, and reports it.

#![allow(clippy::unwrap_used)]

use herd_test_provider::{Behaviour, Event, Script, ScriptedProvider};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::broadcast;

const LIMIT: Duration = Duration::from_secs(20);

async fn post(provider: &ScriptedProvider, path: &str, body: &Value) -> reqwest::Response {
    let request = reqwest::Client::new().post(format!("{}/{path}", provider.base_url()));
    request.header("content-type", "application/json").body(body.to_string()).send().await.unwrap()
}

async fn text(response: reqwest::Response) -> String {
    String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The JSON of every `data:` line but `[DONE]`.
fn data(stream: &str) -> Vec<Value> {
    let lines = stream.lines().filter_map(|l| l.strip_prefix("data: ")).filter(|d| *d != "[DONE]");
    lines.map(|d| serde_json::from_str(d).unwrap()).collect()
}

async fn next<T>(events: &mut broadcast::Receiver<Event>, pick: impl Fn(Event) -> Option<T>) -> T {
    let wait = async {
        loop {
            if let Some(found) = pick(events.recv().await.unwrap()) {
                return found;
            }
        }
    };
    tokio::time::timeout(LIMIT, wait).await.unwrap()
}

/// Sends a streamed chat over a bare connection, to leave whenever.
async fn raw_stream(provider: &ScriptedProvider) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(provider.addr()).await.unwrap();
    let body = r#"{"stream":true,"messages":[]}"#;
    let head = format!("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n", body.len());
    tcp.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
    tcp
}

#[tokio::test]
async fn a_stream_ends_with_usage_in_a_chunk_without_choices_then_done() {
    let provider = ScriptedProvider::start(Script::default().with_token_count(3)).await.unwrap();
    let body = json!({ "model": "m", "stream": true, "stream_options": { "include_usage": true }, "messages": [] });
    let stream = text(post(&provider, "chat/completions", &body).await).await;
    assert!(stream.ends_with("data: [DONE]\n\n"), "{stream}");
    let chunks = data(&stream);
    let content: String = chunks.iter().filter_map(|c| c.pointer("/choices/0/delta/content")?.as_str()).collect();
    assert_eq!(content, "t0 t1 t2");
    let last = chunks.last().unwrap();
    assert_eq!((last["choices"].as_array().unwrap().len(), &last["usage"]["completion_tokens"]), (0, &json!(3)));
    assert_eq!(chunks[chunks.len() - 2]["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn tool_call_arguments_stream_across_chunks_and_add_up_to_json() {
    let provider = ScriptedProvider::start(Script { tool_call: true, ..Script::default() }).await.unwrap();
    let body = json!({ "model": "m", "stream": true, "messages": [] });
    let chunks = data(&text(post(&provider, "chat/completions", &body).await).await);
    let calls: Vec<&Value> = chunks.iter().filter_map(|c| c.pointer("/choices/0/delta/tool_calls/0")).collect();
    assert!(calls.len() > 2, "{chunks:?}");
    assert_eq!((&calls[0]["id"], &calls[0]["function"]["name"]), (&json!("call_0"), &json!("echo")));
    let arguments: String = calls.iter().map(|c| c["function"]["arguments"].as_str().unwrap()).collect();
    assert_eq!(serde_json::from_str::<Value>(&arguments).unwrap()["text"], Script::default().text());
    let finish = chunks.iter().find_map(|c| c.pointer("/choices/0/finish_reason")?.as_str().map(str::to_owned));
    assert_eq!(finish.as_deref(), Some("tool_calls"));
}

#[tokio::test]
async fn an_anthropic_stream_sends_its_events_in_order() {
    let provider = ScriptedProvider::start(Script::default()).await.unwrap();
    let stream =
        text(post(&provider, "messages", &json!({ "model": "m", "stream": true, "messages": [] })).await).await;
    let events: Vec<&str> = stream.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(&events[events.len() - 3..], ["content_block_stop", "message_delta", "message_stop"]);
    let whole = json_of(post(&provider, "messages", &json!({ "model": "m", "messages": [] })).await).await;
    assert_eq!(whole["content"][0]["text"], Script::default().text());
}

#[tokio::test]
async fn asleep_every_endpoint_answers_503_until_woken() {
    let provider = ScriptedProvider::start(Script { asleep: true, ..Script::default() }).await.unwrap();
    let models = reqwest::get(format!("{}/models", provider.base_url())).await.unwrap();
    assert_eq!(models.status(), 503);
    assert_eq!(post(&provider, "chat/completions", &json!({})).await.status(), 503);
    let wake = reqwest::Client::new().post(format!("http://{}/wake", provider.addr())).send().await.unwrap();
    assert_eq!((wake.status().as_u16(), provider.wakes(), provider.is_asleep()), (200, 1, false));
    let models = json_of(reqwest::get(format!("{}/models", provider.base_url())).await.unwrap()).await;
    assert_eq!(models["data"][0]["id"], "scripted");
}

#[tokio::test]
async fn failures_and_deaths_are_as_scripted() {
    let provider = ScriptedProvider::start(Script::default().behaving(Behaviour::Fail)).await.unwrap();
    let failed = post(&provider, "completions", &json!({ "prompt": "x" })).await;
    assert_eq!(failed.status(), 500);
    assert_eq!(json_of(failed).await["error"]["type"], "server_error");
    provider.set_script(Script::default().behaving(Behaviour::DieAfter(2)));
    let mut events = provider.events();
    let dying = post(&provider, "chat/completions", &json!({ "stream": true, "messages": [] })).await;
    assert!(dying.bytes().await.is_err(), "the stream was cut");
    next(&mut events, |e| matches!(e, Event::Died { .. }).then_some(())).await;
    assert!(provider.history().iter().any(|e| matches!(e, Event::Token { index: 1, .. })));
    assert!(!provider.history().iter().any(|e| matches!(e, Event::Token { index: 2, .. })));
}

#[tokio::test]
async fn a_client_leaving_is_reported_and_concurrency_is_recorded() {
    let provider = ScriptedProvider::start(Script::default().behaving(Behaviour::Hang)).await.unwrap();
    let mut events = provider.events();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(raw_stream(&provider).await);
        next(&mut events, |e| matches!(e, Event::Arrived { .. }).then_some(())).await;
    }
    assert_eq!((provider.in_flight(), provider.max_in_flight()), (3, 3));
    drop(clients);
    for _ in 0..3 {
        next(&mut events, |e| matches!(e, Event::ClosedEarly { tokens_sent: 0, .. }).then_some(())).await;
    }
    assert_eq!((provider.closed_early(), provider.in_flight(), provider.max_in_flight()), (3, 0, 3));
    // Mid-stream too: a paused stream whose reader leaves.
    provider.set_script(Script { pause_after: Some(1), ..Script::default() });
    let mut tcp = raw_stream(&provider).await;
    next(&mut events, |e| matches!(e, Event::Token { index: 0, .. }).then_some(())).await;
    let mut buf = [0u8; 256];
    assert!(tcp.read(&mut buf).await.unwrap() > 0);
    drop(tcp);
    next(&mut events, |e| matches!(e, Event::ClosedEarly { tokens_sent: 1, .. }).then_some(())).await;
}
