//! What a client's input may cost: replay logs bounded in bytes and told
//! when they lost events, replaced standalone streams freed, sessions
//! capped per token.

use super::support::{Client, EventReader, sse_events};
use crate::http::{Authenticator, BearerAuth, HttpConfig};
use futures_util::{FutureExt, StreamExt};
use herd_router::RouterConfig;
use http::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_resume_past_events_no_longer_held_is_told_what_was_lost() {
    // Bounded in bytes only: about twenty progress events fit.
    let http = HttpConfig { max_stream_bytes: 2048, max_stream_events: 10_000, ..HttpConfig::default() };
    let mut c = Client::with_config(RouterConfig::default(), http);
    c.initialize("2025-11-25").await;
    let call = json!({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"burst","arguments":{"n":50},"_meta":{"progressToken":"p"}}});
    let first = sse_events(c.post_stream(&call).await, 10).await;
    let last = first.iter().rev().find_map(|(id, _)| id.clone()).expect("an event id before the close");
    let stream = last.split_once('-').map(|(s, _)| s.to_owned()).unwrap();

    // The handler sends 50 events and answers while the client is away.
    c.burst.go.notify_one();
    c.burst.done.notified().await;
    let resumed = c.request_body(Method::GET, &[("last-event-id", &last), ("accept", "text/event-stream")], "").await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let events = sse_events(resumed, 100).await;

    let (notice_id, notice) = events.first().cloned().expect("events after the resume");
    let notice = notice.expect("a message");
    assert_eq!(notice["method"], "notifications/message", "{notice}");
    assert_eq!(notice["params"]["logger"], "herd", "{notice}");
    let lost = notice["params"]["data"]["lostEvents"]["count"].as_u64().expect("a count");
    assert!(lost > 0 && lost < 50, "{notice}");
    // Resuming from the notice goes on after the gap.
    assert_eq!(notice_id.as_deref(), Some(format!("{stream}-{}", 2 + lost).as_str()));

    let messages: Vec<&Value> = events[1..].iter().filter_map(|(_, m)| m.as_ref()).collect();
    let progress = messages.iter().filter(|m| m["method"] == "notifications/progress").count() as u64;
    assert_eq!(progress + lost, 50, "every event is either delivered or reported lost");
    let answer = messages.last().expect("the answer");
    assert_eq!(answer["result"]["content"][0]["text"], "burst over", "{answer}");
}

#[tokio::test]
async fn a_replaced_standalone_stream_is_forgotten() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let sse = [("accept", "text/event-stream")];
    let mut first = EventReader::new(c.request_body(Method::GET, &sse, "").await);
    c.catalog
        .add_tool(super::support::tool("late"), |_, _| async { Ok(herd_proto::model::CallToolResult::text("late")) });
    let (id, _) = first.next_event().await.expect("list_changed on the first stream");
    let id = id.expect("an event id");

    let second = c.request_body(Method::GET, &sse, "").await;
    assert_eq!(second.status(), StatusCode::OK);
    assert!(first.next_event().await.is_none(), "the replaced stream ends");
    let resumed = c.request_body(Method::GET, &[("last-event-id", &id), ("accept", "text/event-stream")], "").await;
    assert_eq!(resumed.status(), StatusCode::NOT_FOUND, "the replaced stream's log is gone");
}

#[tokio::test]
async fn sessions_are_capped_per_token() {
    let router = RouterConfig { max_sessions_per_owner: 1, ..RouterConfig::default() };
    let http = HttpConfig {
        auth: Authenticator::static_tokens(BearerAuth::new(["tok-a".into(), "tok-b".into()])),
        ..HttpConfig::default()
    };
    let c = Client::with_config(router, http);
    let init = super::support::init_body("2025-11-25");
    let open = |token: &'static str| {
        let c = c.clone();
        let init = init.clone();
        async move {
            let header = format!("Bearer {token}");
            let resp = c.request_body(Method::POST, &[("authorization", &header)], &init).await;
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    assert_eq!(open("tok-a").await.0, StatusCode::OK);
    let (status, body) = open("tok-a").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit 1 per client"), "{body}");
    assert_eq!(open("tok-b").await.0, StatusCode::OK, "another token is not locked out");
}

#[tokio::test]
async fn a_listen_stream_not_read_keeps_a_bounded_queue_and_its_subscription() {
    let http = HttpConfig { max_queued_notifications: 4, ..HttpConfig::default() };
    let mut c = Client::with_config(RouterConfig::default(), http);
    let stateless = c.clone();
    c.initialize("2025-11-25").await;
    // The session's GET stream keeps every event: once it has seen a list
    // change, the listen stream has been offered it too.
    let mut witness = EventReader::new(c.request_body(Method::GET, &[("accept", "text/event-stream")], "").await);
    let listen = json!({"jsonrpc":"2.0","id":"L","method":"subscriptions/listen","params":{
        "notifications":{"toolsListChanged":true},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "subscriptions/listen")];
    let resp = stateless.request_body(Method::POST, &headers, &listen.to_string()).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body().into_data_stream();

    let changes = |n: usize| {
        for i in 0..n {
            c.catalog.add_tool(super::support::tool(&format!("t{i}")), |_, _| async {
                Ok(herd_proto::model::CallToolResult::text("t"))
            });
        }
    };
    changes(50);
    for _ in 0..50 {
        assert_eq!(witness.next_message().await["method"], "notifications/tools/list_changed");
    }
    // Everything queued is ready at once; nothing more is.
    let mut queued = String::new();
    while let Some(Some(chunk)) = body.next().now_or_never() {
        queued.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let delivered = queued.matches("notifications/tools/list_changed").count();
    assert!(queued.contains("notifications/subscriptions/acknowledged"), "{queued}");
    assert!((1..=4).contains(&delivered), "{delivered} of 50 list changes queued for a reader that did not read");

    // Dropping notifications did not end the subscription.
    changes(1);
    assert_eq!(witness.next_message().await["method"], "notifications/tools/list_changed");
    let next = body.next().now_or_never().flatten().expect("the next change, queued").unwrap();
    assert!(std::str::from_utf8(&next).unwrap().contains("notifications/tools/list_changed"));
}
