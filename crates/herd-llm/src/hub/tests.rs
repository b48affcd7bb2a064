//! The relay against real channels: agents dial a loopback hub and answer
//! the wire from an in-test router (see `fleet`).

#![allow(clippy::unwrap_used)]

mod channels;
mod fleet;

use super::RelayConfig;
use crate::wire::{Listing, Visibility};
use fleet::{Agent, CHUNKS, DONE, Hub, LIMIT, USAGE, entry, ids, preset, provider};
use herd_store::{AuditPath, Outcome};
use serde_json::{Value, json};
use std::time::Duration;

fn listing(providers: Vec<crate::wire::Provider>) -> Listing {
    Listing { providers, presets: Vec::new() }
}

fn chat(model: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "hi" }] })
}

/// The body of a streamed answer, read to its end.
async fn text(response: reqwest::Response) -> String {
    tokio::time::timeout(LIMIT, response.text()).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_sees_and_uses_exactly_what_the_policy_allows() {
    let hub = Hub::start(RelayConfig::default()).await;
    let alice = listing(vec![
        provider("a-private", None, Visibility::Private, 2),
        provider("a-public", None, Visibility::Public, 2),
    ]);
    let _ws1 = Agent::start(&hub, "alice-agent", "ws1", "session-ws1", alice);
    let _ws2 = Agent::start(
        &hub,
        "bob-agent",
        "ws2",
        "session-ws2",
        listing(vec![provider("b-private", None, Visibility::Private, 2)]),
    );
    let all = hub.models_when("root", |m| ids(m).len() == 3).await;
    assert_eq!(ids(&all), ["a-private", "a-public", "b-private"], "an admin sees all");
    assert_eq!(ids(&hub.models("alice").await), ["a-private", "a-public"]);
    let bobs = hub.models("bob").await;
    assert_eq!(ids(&bobs), ["a-public", "b-private"]);
    let public = entry(&bobs, "a-public");
    assert_eq!(public["object"], "model");
    assert_eq!(public["owned_by"], "alice");
    assert_eq!(
        public["herd"],
        json!({"kind": "provider", "hosts": ["ws1"], "pool": null, "state": "active", "owner": "alice", "in_flight": 0, "max_concurrency": 2})
    );
    assert!(ids(&hub.models("alice-agent").await).is_empty(), "agents use no models");
    let agent = hub.post("alice-agent", "chat/completions", chat("a-public", false)).await;
    assert_eq!(agent.status(), 403);
    let agent: Value = agent.json().await.unwrap();
    assert_eq!(agent["error"]["type"], "permission_error");

    let hidden = hub.post("bob", "chat/completions", chat("a-private", false)).await;
    assert_eq!(hidden.status(), 404);
    let hidden: Value = hidden.json().await.unwrap();
    let unknown: Value = hub.post("bob", "chat/completions", chat("nothing", false)).await.json().await.unwrap();
    assert_eq!(hidden["error"]["code"], "model_not_found");
    assert_eq!(
        hidden["error"]["message"].as_str().unwrap().replace("a-private", "X"),
        unknown["error"]["message"].as_str().unwrap().replace("nothing", "X"),
        "a private model reads as one that does not exist"
    );
    for (token, model) in [("bob", "a-public"), ("alice", "a-public"), ("alice", "a-private"), ("root", "b-private")] {
        let used = hub.post(token, "chat/completions", chat(model, false)).await;
        assert_eq!(used.status(), 200, "{token} uses {model}");
        assert_eq!(used.headers()["content-type"], "application/json");
        let answer: Value = used.json().await.unwrap();
        assert_eq!(answer["provider"], model);
    }
    let anthropic: Value = hub.post("bob", "messages", chat("a-private", false)).await.json().await.unwrap();
    assert_eq!(anthropic["error"]["type"], "not_found_error", "/v1/messages answers in Anthropic's shape");
    let no_token = hub.http.get(format!("{}/v1/models", hub.url)).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_passes_event_by_event_with_usage_only_when_asked_and_is_audited() {
    let hub = Hub::start(RelayConfig::default()).await;
    let _ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("m", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| ids(m) == ["m"]).await;
    let plain = hub.post("bob", "chat/completions", chat("m", true)).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["content-type"], "text/event-stream");
    assert_eq!(text(plain).await, format!("{}{DONE}", CHUNKS.concat()), "the usage asked for the client is taken out");
    let mut asked = chat("m", true);
    asked["stream_options"] = json!({ "include_usage": true });
    let asked = text(hub.post("bob", "chat/completions", asked).await).await;
    assert_eq!(asked, format!("{}{USAGE}{DONE}", CHUNKS.concat()), "usage asked for is kept");
    let _ws2 = Agent::start(
        &hub,
        "alice-agent",
        "ws2",
        "session-ws2",
        listing(vec![provider("linger", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| ids(m).len() == 2).await;
    let lingering = text(hub.post("bob", "chat/completions", chat("linger", true)).await).await;
    assert_eq!(
        lingering,
        format!("{}{DONE}", CHUNKS.concat()),
        "[DONE] ends the answer, whatever the provider does after"
    );
    let records = hub.audit(3).await;
    for record in &records[..2] {
        assert_eq!(record.method, "/v1/chat/completions");
        assert_eq!(record.user.as_deref(), Some("bob"));
        assert_eq!(
            (record.model.as_deref(), record.provider.as_deref(), record.member.as_deref()),
            (Some("m"), Some("m"), Some("ws1"))
        );
        assert_eq!((record.prompt_tokens, record.completion_tokens), (Some(5), Some(3)));
        assert_eq!((record.outcome, record.path), (Outcome::Ok, Some(AuditPath::Channel)));
        assert!(record.ttft_ms.is_some() && record.args_sha256.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_and_presets_resolve_to_their_members_with_the_preset_applied() {
    let hub = Hub::start(RelayConfig::default()).await;
    let mut ws1 = listing(vec![provider("qwen-a", Some("qwen"), Visibility::Public, 4)]);
    ws1.presets.push(preset("reviewer", "qwen", "Review.", json!({ "temperature": 0.2 })));
    let agent = Agent::start(&hub, "alice-agent", "ws1", "session-ws1", ws1);
    let models = hub.models_when("bob", |m| ids(m).len() == 3).await;
    assert_eq!(ids(&models), ["qwen", "qwen-a", "reviewer"]);
    assert_eq!(entry(&models, "qwen")["herd"]["kind"], "pool");
    assert_eq!(entry(&models, "reviewer")["herd"]["kind"], "preset");
    let mut body = chat("reviewer", false);
    body["temperature"] = json!(0.9);
    body["messages"] = json!([{ "role": "system", "content": "mine" }, { "role": "user", "content": "hi" }]);
    assert_eq!(hub.post("bob", "chat/completions", body).await.status(), 200);
    assert_eq!(hub.post("bob", "chat/completions", chat("qwen", false)).await.status(), 200);
    let embedded = hub.post("bob", "embeddings", json!({ "model": "qwen", "input": "x" })).await;
    assert_eq!(embedded.status(), 200);
    let seen = agent.seen.requests.lock().clone();
    let (provider, sent) = &seen[0];
    assert_eq!(provider, "qwen-a");
    assert_eq!(sent["model"], "qwen-a");
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(
        sent["messages"],
        json!([{ "role": "system", "content": "Review." }, { "role": "user", "content": "hi" }])
    );
    assert_eq!(seen[1].0, "qwen-a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_least_busy_member_gets_the_request_and_a_full_pool_answers_429() {
    let config = RelayConfig { queue_wait: Duration::from_millis(200), ..RelayConfig::default() };
    let hub = Hub::start(config).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("gate-1", Some("lb"), Visibility::Public, 1)]),
    );
    let ws2 = Agent::start(
        &hub,
        "alice-agent",
        "ws2",
        "session-ws2",
        listing(vec![provider("gate-2", Some("lb"), Visibility::Public, 1)]),
    );
    hub.models_when("bob", |m| {
        ids(m).contains(&"lb".to_owned()) && entry(m, "lb")["herd"]["hosts"].as_array().unwrap().len() == 2
    })
    .await;
    let first = tokio::spawn({
        let request =
            hub.http.post(format!("{}/v1/chat/completions", hub.url)).bearer_auth("bob").json(&chat("lb", false));
        request.send()
    });
    let second = tokio::spawn({
        let request =
            hub.http.post(format!("{}/v1/chat/completions", hub.url)).bearer_auth("bob").json(&chat("lb", false));
        request.send()
    });
    // Both members are taken once each has seen its request.
    let both = async {
        while ws1.seen.requests.lock().is_empty() || ws2.seen.requests.lock().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(LIMIT, both).await.expect("each member got one of the two requests");
    let busy = hub.models("bob").await;
    assert_eq!(
        (&entry(&busy, "lb")["herd"]["in_flight"], &entry(&busy, "lb")["herd"]["max_concurrency"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(entry(&busy, "gate-1")["herd"]["in_flight"], 1);
    let third = hub.post("bob", "chat/completions", chat("lb", false)).await;
    assert_eq!(third.status(), 429);
    let third: Value = third.json().await.unwrap();
    assert_eq!(third["error"]["type"], "rate_limit_error");
    ws1.seen.gate.add_permits(1);
    ws2.seen.gate.add_permits(1);
    for request in [first, second] {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_member_is_tried_only_before_the_first_byte() {
    let hub = Hub::start(RelayConfig::default()).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![
            provider("fail-1", Some("fo"), Visibility::Public, 4),
            provider("break-1", Some("br"), Visibility::Public, 4),
        ]),
    );
    let _ws2 = Agent::start(
        &hub,
        "alice-agent",
        "ws2",
        "session-ws2",
        listing(vec![
            provider("ok-2", Some("fo"), Visibility::Public, 4),
            provider("ok-3", Some("br"), Visibility::Public, 4),
        ]),
    );
    hub.models_when("bob", |m| ids(m).len() == 6).await;
    let served = hub.post("bob", "chat/completions", chat("fo", true)).await;
    assert_eq!(served.status(), 200);
    assert_eq!(text(served).await, format!("{}{DONE}", CHUNKS.concat()));
    let records = hub.audit(1).await;
    assert_eq!((records[0].member.as_deref(), records[0].provider.as_deref()), (Some("ws2"), Some("ok-2")));

    let failed = hub.post("bob", "chat/completions", chat("fail-1", false)).await;
    assert_eq!(failed.status(), 502);
    let failed: Value = failed.json().await.unwrap();
    assert_eq!(failed["error"]["code"], "unreachable", "the agent's failure is named");

    // break-1 (ws1) is picked first: both members idle, ws1 sorts first.
    let mut broken = hub.post("bob", "chat/completions", chat("br", true)).await;
    let mut body = Vec::new();
    while body.len() < CHUNKS.concat().len() {
        body.extend(tokio::time::timeout(LIMIT, broken.chunk()).await.unwrap().unwrap().unwrap());
    }
    ws1.seen.gate.add_permits(1);
    body.extend(tokio::time::timeout(LIMIT, broken.bytes()).await.unwrap().unwrap());
    let broken = String::from_utf8(body).unwrap();
    assert!(broken.starts_with(&CHUNKS.concat()), "{broken}");
    let error_event = broken.strip_prefix(&CHUNKS.concat()).unwrap();
    let error: Value = serde_json::from_str(error_event.strip_prefix("data: ").unwrap().trim()).expect(error_event);
    assert_eq!(error["error"]["code"], "upstream_error");
    let records = hub.audit(3).await;
    assert_eq!((records[2].outcome, records[2].member.as_deref()), (Outcome::RpcError, Some("ws1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_ends_with_an_error_event_and_its_upstream_is_dropped() {
    let config = RelayConfig { stall_timeout: Duration::from_millis(300), ..RelayConfig::default() };
    let hub = Hub::start(config).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("stall", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| ids(m) == ["stall"]).await;
    let body = text(hub.post("bob", "chat/completions", chat("stall", true)).await).await;
    let error = body.strip_prefix(&CHUNKS.concat()).unwrap();
    assert!(error.contains("\"code\":\"timeout\""), "{error}");
    let dropped = ws1.seen.dropped().await;
    assert_eq!(dropped, "stall");
    let records = hub.audit(1).await;
    assert_eq!(records[0].outcome, Outcome::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_resets_the_stream_at_the_agent() {
    let hub = Hub::start(RelayConfig::default()).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("stall", None, Visibility::Public, 1)]),
    );
    hub.models_when("bob", |m| ids(m) == ["stall"]).await;
    let mut response = hub.post("bob", "chat/completions", chat("stall", true)).await;
    let first = tokio::time::timeout(LIMIT, response.chunk()).await.unwrap().unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    drop(response);
    let dropped = ws1.seen.dropped().await;
    assert_eq!(dropped, "stall", "the agent's answer body was dropped");
    let records = hub.audit(1).await;
    assert_eq!(records[0].outcome, Outcome::Cancelled);
    // Its place is free again: max_concurrency 1 takes the next request.
    let mut next = hub.post("bob", "chat/completions", chat("stall", true)).await;
    assert_eq!(next.status(), 200);
    assert!(tokio::time::timeout(LIMIT, next.chunk()).await.unwrap().unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_a_silent_member_get_clear_errors() {
    let config =
        RelayConfig { max_body_bytes: 1024, first_token_timeout: Duration::from_millis(300), ..RelayConfig::default() };
    let hub = Hub::start(config).await;
    let ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("gate", None, Visibility::Public, 4)]),
    );
    hub.models_when("bob", |m| ids(m) == ["gate"]).await;
    let large = hub.post("bob", "chat/completions", json!({ "model": "gate", "pad": "x".repeat(2048) })).await;
    assert_eq!(large.status(), 413);
    let deep = format!("{{\"model\":\"gate\",\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
    let deep =
        hub.http.post(format!("{}/v1/chat/completions", hub.url)).bearer_auth("bob").body(deep).send().await.unwrap();
    assert_eq!(deep.status(), 400);
    let deep: Value = deep.json().await.unwrap();
    assert!(deep["error"]["message"].as_str().unwrap().contains("deeper"), "{deep}");
    let no_model = hub.post("bob", "chat/completions", json!({ "messages": [] })).await;
    assert_eq!(no_model.status(), 400);
    let silent = hub.post("bob", "chat/completions", chat("gate", true)).await;
    assert_eq!(silent.status(), 504, "the gate never opens: no first byte");
    let silent: Value = silent.json().await.unwrap();
    assert_eq!(silent["error"]["code"], "timeout");
    assert_eq!(ws1.seen.dropped().await, "gate", "the agent's request is dropped with it");
    let records = hub.audit(4).await;
    let outcomes: Vec<Outcome> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::RpcError, Outcome::RpcError, Outcome::RpcError, Outcome::Timeout]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_share_one_channel_and_every_place_is_given_back() {
    let hub = Hub::start(RelayConfig::default()).await;
    let _ws1 = Agent::start(
        &hub,
        "alice-agent",
        "ws1",
        "session-ws1",
        listing(vec![provider("m", None, Visibility::Public, 128)]),
    );
    hub.models_when("bob", |m| ids(m) == ["m"]).await;
    let streams: Vec<_> = (0..100)
        .map(|_| {
            let request =
                hub.http.post(format!("{}/v1/chat/completions", hub.url)).bearer_auth("bob").json(&chat("m", true));
            tokio::spawn(async move { request.send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    for stream in streams {
        let text = tokio::time::timeout(LIMIT, stream).await.unwrap().unwrap();
        assert_eq!(text, format!("{}{DONE}", CHUNKS.concat()));
    }
    let models = hub.models("bob").await;
    assert_eq!(entry(&models, "m")["herd"]["in_flight"], 0);
    assert_eq!(hub.audit(100).await.iter().filter(|r| r.outcome == Outcome::Ok).count(), 100);
}
