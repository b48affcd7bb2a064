//! The agent's routes served on loopback in front of a scripted provider,
//! called as the hub calls them.

mod wake;

use super::*;
use crate::wire::{FAILURE_HEADER, Failure, ProviderState};
use futures_util::StreamExt as _;
use herd_test_provider::{Behaviour, Event, Script, ScriptedProvider};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Long enough never to be reached by a passing test.
const NEVER: Duration = Duration::from_secs(20);

pub(super) fn quick() -> Timing {
    Timing { probe_every: Duration::from_secs(3600), wake_poll: Duration::from_millis(20), ..Timing::default() }
}

/// The routes of `providers` on a loopback port; its base URL.
pub(super) async fn serve(providers: &Providers) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, providers.routes()).into_future());
    format!("http://{addr}")
}

pub(super) fn keys(var: &str) -> Option<String> {
    (var == "TEST_LLM_KEY").then(|| "sk-upstream-secret".to_owned())
}

/// One provider named `local` over `double`, its routes' base URL.
pub(super) async fn agent_over(double: &ScriptedProvider, edit: impl FnOnce(&mut LlmConfig)) -> (Providers, String) {
    let mut llm = LlmConfig::new("local", double.base_url());
    llm.model = Some("upstream-id".into());
    edit(&mut llm);
    let providers = Providers::build(vec![llm], vec![], ChildEnv::default(), quick(), &keys).unwrap();
    let url = serve(&providers).await;
    (providers, url)
}

pub(super) fn chat(stream: bool) -> Value {
    json!({ "model": "local", "stream": stream, "temperature": 0.5,
        "messages": [{ "role": "user", "content": "hello there" }] })
}

pub(super) async fn post(url: &str, path: &str, body: &Value) -> reqwest::Response {
    let request = reqwest::Client::new().post(format!("{url}/api/v1/llm/{path}"));
    request.header("content-type", "application/json").body(body.to_string()).send().await.unwrap()
}

pub(super) async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The next event matching `pick`.
pub(super) async fn next<T>(events: &mut broadcast::Receiver<Event>, pick: impl Fn(&Event) -> Option<T>) -> T {
    let wait = async {
        loop {
            let event = events.recv().await.unwrap();
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    };
    tokio::time::timeout(NEVER, wait).await.expect("the event never came")
}

/// Requests the provider got besides the probes of its model list.
pub(super) fn forwarded(double: &ScriptedProvider) -> usize {
    let history = double.history();
    history.iter().filter(|e| matches!(e, Event::Arrived { endpoint, .. } if endpoint != "models")).count()
}

pub(super) fn failure_of(response: &reqwest::Response) -> Option<Failure> {
    response.headers().get(FAILURE_HEADER).and_then(|v| Failure::parse(v.to_str().ok()?))
}

#[tokio::test]
async fn a_whole_answer_comes_back_with_only_the_model_rewritten_and_the_key_sent_upstream() {
    let double = ScriptedProvider::start(Script::default()).await.unwrap();
    let mut events = double.events();
    let (providers, url) = agent_over(&double, |llm| llm.api_key_env = Some("TEST_LLM_KEY".into())).await;
    let response = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 200);
    assert!(failure_of(&response).is_none());
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer = json_of(response).await;
    assert_eq!(answer["choices"][0]["message"]["content"], Script::default().text());
    let (body, authorization) = next(&mut events, |e| match e {
        Event::Arrived { endpoint, body, authorization, .. } if endpoint == "chat/completions" => {
            Some((body.clone(), authorization.clone()))
        }
        _ => None,
    })
    .await;
    let mut expected = chat(false);
    expected["model"] = json!("upstream-id");
    assert_eq!(body, expected);
    assert_eq!(authorization.as_deref(), Some("Bearer sk-upstream-secret"));
    let shown = format!("{providers:?} {}", serde_json::to_string(&providers.listing()).unwrap());
    assert!(!shown.contains("sk-upstream-secret") && shown.contains("***"), "{shown}");
    assert!(!shown.contains(&double.base_url()), "{shown}");
}

#[tokio::test]
async fn a_stream_is_relayed_chunk_by_chunk_not_buffered() {
    let script = Script { pause_after: Some(2), ..Script::default() }.with_token_count(5);
    let double = ScriptedProvider::start(script).await.unwrap();
    let (_providers, url) = agent_over(&double, |_| {}).await;
    let mut body = chat(true);
    body["stream_options"] = json!({ "include_usage": true });
    let response = post(&url, "local/chat/completions", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    // The provider holds its third token until resumed: what arrives
    // before was relayed while the provider's answer was still open.
    while !seen.contains(r#""content":" t1""#) {
        let chunk = tokio::time::timeout(NEVER, stream.next()).await.expect("no chunk before the end").unwrap();
        seen.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let history = double.history();
    let chat_id = history.iter().find_map(|e| match e {
        Event::Arrived { id, endpoint, .. } if endpoint == "chat/completions" => Some(*id),
        _ => None,
    });
    let ended = |e: &Event| matches!(e, Event::Finished { id } if Some(*id) == chat_id);
    assert!(!history.iter().any(|e| ended(e) || matches!(e, Event::Token { index: 2, .. })), "{history:?}");
    double.resume();
    while let Some(chunk) = stream.next().await {
        seen.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(seen.contains(r#""content":" t4""#) && seen.ends_with("data: [DONE]\n\n"), "{seen}");
    assert!(seen.contains(r#""choices":[],"#) && seen.contains(r#""completion_tokens":5"#), "{seen}");
}

#[tokio::test]
async fn every_endpoint_reaches_its_upstream_path_and_status_passes_through() {
    let double = ScriptedProvider::start(Script::default()).await.unwrap();
    let (_providers, url) = agent_over(&double, |_| {}).await;
    for (endpoint, body, field) in [
        ("completions", json!({ "model": "local", "prompt": "hi" }), "/choices/0/text"),
        ("embeddings", json!({ "model": "local", "input": ["a", "b"] }), "/data/1/index"),
        ("messages", json!({ "model": "local", "max_tokens": 5, "messages": [] }), "/content/0/text"),
    ] {
        let response = post(&url, &format!("local/{endpoint}"), &body).await;
        assert_eq!(response.status(), 200, "{endpoint}");
        let answer = json_of(response).await;
        assert!(answer.pointer(field).is_some(), "{endpoint}: {answer}");
        assert_eq!(answer["model"], "upstream-id", "{endpoint}");
    }
    double.set_script(Script::default().behaving(Behaviour::Fail));
    let failed = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!((failed.status().as_u16(), failure_of(&failed)), (500, None));
}

#[tokio::test]
async fn what_the_agent_cannot_forward_is_named_in_the_failure_header() {
    let double = ScriptedProvider::start(Script::default()).await.unwrap();
    let (_providers, url) = agent_over(&double, |_| {}).await;
    let cases = [
        ("nobody/chat/completions", chat(false), Failure::UnknownProvider),
        ("local/images/generations", chat(false), Failure::UnknownEndpoint),
        ("local/chat/completions", json!(["not", "an", "object"]), Failure::BadRequest),
    ];
    for (path, body, expected) in cases {
        let response = post(&url, path, &body).await;
        assert_eq!(response.status().as_u16(), expected.status(), "{path}");
        assert_eq!(failure_of(&response), Some(expected), "{path}");
        let error = json_of(response).await;
        assert_eq!(error["error"]["code"], expected.as_str());
    }
    assert_eq!(forwarded(&double), 0, "nothing reached the provider");
}

#[tokio::test]
async fn a_provider_that_is_down_is_unreachable_and_listed_inactive() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let llm = LlmConfig::new("gone", format!("http://127.0.0.1:{port}/v1"));
    let providers = Providers::build(vec![llm], vec![], ChildEnv::default(), quick(), &keys).unwrap();
    let url = serve(&providers).await;
    let response = post(&url, "gone/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(failure_of(&response), Some(Failure::Unreachable));
    assert_eq!(providers.listing().providers[0].state, ProviderState::Inactive);
}

#[tokio::test]
async fn requests_over_max_concurrency_are_refused_as_busy() {
    let double = ScriptedProvider::start(Script::default().behaving(Behaviour::Hang)).await.unwrap();
    let mut events = double.events();
    let (_providers, url) = agent_over(&double, |llm| llm.max_concurrency = 1).await;
    let first = tokio::spawn({
        let url = url.clone();
        async move { post(&url, "local/chat/completions", &chat(true)).await }
    });
    next(&mut events, |e| matches!(e, Event::Arrived { .. }).then_some(())).await;
    let busy = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!((busy.status().as_u16(), failure_of(&busy)), (429, Some(Failure::Busy)));
    first.abort();
    next(&mut events, |e| matches!(e, Event::ClosedEarly { .. }).then_some(())).await;
    double.set_script(Script::default());
    let freed = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!(freed.status(), 200, "the slot came back when the first request went away");
    assert_eq!(double.max_in_flight(), 1);
}

/// Sends a streamed chat, drops the hub's side once `tokens_before`
/// tokens came back, and expects the provider to see its client leave within a second.
async fn dropping_the_stream_closes_the_upstream_request(script: Script, tokens_before: usize) {
    let double = ScriptedProvider::start(script).await.unwrap();
    let mut events = double.events();
    let (_providers, url) = agent_over(&double, |_| {}).await;
    let request = tokio::spawn({
        let url = url.clone();
        async move {
            let response = post(&url, "local/chat/completions", &chat(true)).await;
            let mut stream = response.bytes_stream();
            let mut seen = String::new();
            while tokens_before > 0 && !seen.contains(&format!("\" t{}\"", tokens_before - 1)) {
                seen.push_str(std::str::from_utf8(&stream.next().await.unwrap().unwrap()).unwrap());
            }
        }
    });
    next(&mut events, |e| matches!(e, Event::Arrived { .. }).then_some(())).await;
    // The hub side gives up: its response (or its wait for one) is dropped.
    tokio::time::timeout(NEVER, request).await.unwrap().unwrap();
    let closed = next(&mut events, |e| match e {
        Event::ClosedEarly { tokens_sent, .. } => Some(*tokens_sent),
        _ => None,
    });
    let sent = tokio::time::timeout(Duration::from_secs(1), closed)
        .await
        .expect("the provider did not see its client leave within 1 s");
    assert_eq!(sent, tokens_before);
}

#[tokio::test]
async fn dropping_the_stream_before_the_answer_head_closes_the_upstream_request() {
    let double = ScriptedProvider::start(Script::default().behaving(Behaviour::Hang)).await.unwrap();
    let mut events = double.events();
    let (_providers, url) = agent_over(&double, |_| {}).await;
    let request = tokio::spawn(async move { post(&url, "local/chat/completions", &chat(true)).await });
    next(&mut events, |e| matches!(e, Event::Arrived { .. }).then_some(())).await;
    request.abort();
    let sent = tokio::time::timeout(
        Duration::from_secs(1),
        next(&mut events, |e| match e {
            Event::ClosedEarly { tokens_sent, .. } => Some(*tokens_sent),
            _ => None,
        }),
    )
    .await
    .expect("the provider did not see its client leave within 1 s");
    assert_eq!(sent, 0);
}

#[tokio::test]
async fn dropping_the_stream_before_the_first_token_closes_the_upstream_request() {
    dropping_the_stream_closes_the_upstream_request(Script { pause_after: Some(0), ..Script::default() }, 0).await;
}

#[tokio::test]
async fn dropping_the_stream_mid_answer_closes_the_upstream_request() {
    let script = Script { pause_after: Some(2), ..Script::default() }.with_token_count(6);
    dropping_the_stream_closes_the_upstream_request(script, 2).await;
}

#[tokio::test]
async fn a_provider_dying_mid_stream_breaks_the_relayed_stream_instead_of_ending_it() {
    let double = ScriptedProvider::start(Script::default().behaving(Behaviour::DieAfter(2))).await.unwrap();
    let (_providers, url) = agent_over(&double, |_| {}).await;
    let response = post(&url, "local/chat/completions", &chat(true)).await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    let broken = loop {
        match tokio::time::timeout(NEVER, stream.next()).await.expect("the stream stalled") {
            Some(Ok(chunk)) => seen.push_str(std::str::from_utf8(&chunk).unwrap()),
            Some(Err(_)) => break true,
            None => break false,
        }
    };
    assert!(broken, "a cut upstream must not read as a complete answer: {seen}");
    assert!(seen.contains(r#""content":" from""#) && !seen.contains("[DONE]"), "{seen}");
}

#[tokio::test]
async fn the_probes_list_a_provider_active_while_it_answers_and_inactive_after() {
    let double = ScriptedProvider::start(Script::default()).await.unwrap();
    let mut events = double.events();
    let mut llm = LlmConfig::new("local", double.base_url());
    llm.api_key_env = Some("TEST_LLM_KEY".into());
    let timing = Timing { probe_every: Duration::from_millis(10), ..quick() };
    let providers = Providers::build(vec![llm], vec![], ChildEnv::default(), timing, &keys).unwrap();
    let mut rounds = providers.inner.probe_rounds.subscribe();
    let authorization = next(&mut events, |e| match e {
        Event::Arrived { endpoint, authorization, .. } if endpoint == "models" => Some(authorization.clone()),
        _ => None,
    })
    .await;
    assert_eq!(authorization.as_deref(), Some("Bearer sk-upstream-secret"));
    tokio::time::timeout(NEVER, rounds.wait_for(|n| *n >= 1)).await.unwrap().unwrap();
    assert_eq!(providers.listing().providers[0].state, ProviderState::Active);
    double.set_asleep(true);
    // A round that started after the provider fell asleep has ended.
    let now = *rounds.borrow_and_update();
    tokio::time::timeout(NEVER, rounds.wait_for(|n| *n >= now + 2)).await.unwrap().unwrap();
    assert_eq!(providers.listing().providers[0].state, ProviderState::Inactive);
}

#[tokio::test]
async fn a_provider_that_never_answers_is_given_up_on_at_the_first_byte_limit() {
    let double = ScriptedProvider::start(Script::default().behaving(Behaviour::Hang)).await.unwrap();
    let mut events = double.events();
    let llm = LlmConfig::new("local", double.base_url());
    let timing = Timing { first_byte: Duration::from_secs(1), ..quick() };
    let providers = Providers::build(vec![llm], vec![], ChildEnv::default(), timing, &keys).unwrap();
    let url = serve(&providers).await;
    let response = post(&url, "local/chat/completions", &chat(true)).await;
    assert_eq!((response.status().as_u16(), failure_of(&response)), (502, Some(Failure::Unreachable)));
    let error = json_of(response).await;
    assert!(error["error"]["message"].as_str().unwrap().contains("within 1s"), "{error}");
    next(&mut events, |e| matches!(e, Event::ClosedEarly { .. }).then_some(())).await;
}
