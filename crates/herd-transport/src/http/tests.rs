//! The HTTP transport driven through `oneshot`, without sockets.

mod batch;
mod limits;
mod mirrored;
mod origins;
mod principals;
mod support;

use herd_proto::code;
use http::StatusCode;
use serde_json::{Value, json};
use support::{Client, sse_events};

#[tokio::test]
async fn initialize_then_call_answers_json_with_a_session() {
    let mut c = Client::new();
    let init = c.initialize("2025-06-18").await;
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    assert_eq!(c.session.as_ref().map(String::len), Some(32));
    let (status, ctype, body) = c
        .post_json(
            &json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    assert_eq!(body["result"]["content"][0]["text"], "hi");
    assert_eq!(body["id"], 2);
}

#[tokio::test]
async fn older_and_unknown_revisions_get_sensible_answers() {
    let mut c = Client::new();
    assert_eq!(c.initialize("2025-03-26").await["result"]["protocolVersion"], "2025-03-26");
    let mut c = Client::new();
    assert_eq!(c.initialize("1999-01-01").await["result"]["protocolVersion"], "2025-11-25");
}

#[tokio::test]
async fn sessions_are_required_known_and_deletable() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"});
    let sid = c.session.take();
    assert_eq!(c.post_json(&ping).await.0, StatusCode::BAD_REQUEST);
    c.session = Some("0".repeat(32));
    assert_eq!(c.post_json(&ping).await.0, StatusCode::NOT_FOUND);
    c.session = sid;
    assert_eq!(c.post_json(&ping).await.2["result"], json!({}));
    assert_eq!(c.delete().await, StatusCode::NO_CONTENT);
    assert_eq!(c.post_json(&ping).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_code() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let (status, body) = c.post_raw("{not json", "application/json", None).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code::PARSE_ERROR as i64)));
    let (status, body) = c.post_raw(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, "application/json", None).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code::INVALID_REQUEST as i64)));
    let deep =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"a":{}{}}}}}"#, "[".repeat(70), "]".repeat(70));
    let (status, body) = c.post_raw(&deep, "application/json", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("nesting"));
    let (status, _) = c.post_raw(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, "text/plain", None).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) =
        c.post_raw(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, "application/json", Some("text/html")).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    let big =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#, "x".repeat(9 * 1024 * 1024));
    let (status, _) = c.post_raw(&big, "application/json", None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = c.post_json(&json!({"jsonrpc":"2.0","id":7,"method":"no/such"})).await.into_pair();
    assert_eq!(
        (status, body["error"]["code"].as_i64(), body["id"].as_i64()),
        (StatusCode::OK, Some(code::METHOD_NOT_FOUND as i64), Some(7))
    );
    let (status, body) =
        c.post_json(&json!({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":5}})).await.into_pair();
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::OK, Some(code::INVALID_PARAMS as i64)));
    assert_eq!(c.request(http::Method::PUT, &[]).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = c.request(http::Method::POST, &[("mcp-protocol-version", "1900-01-01")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dns_rebinding_and_auth_are_enforced() {
    let c = Client::with_auth("s3cret");
    let init = support::init_body("2025-11-25");
    let resp = c.request_body(http::Method::POST, &[("host", "evil.example.com")], &init).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = c.request_body(http::Method::POST, &[("origin", "http://evil.example.com")], &init).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = c.request_body(http::Method::POST, &[], &init).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="herd""#);
    let resp = c.request_body(http::Method::POST, &[("authorization", "Bearer wrong")], &init).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp =
        c.request_body(http::Method::POST, &[("authorization", "Bearer s3cret"), ("host", "127.0.0.1:9")], &init).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let pre = c.request_body(http::Method::OPTIONS, &[("origin", "http://localhost:3000")], "").await;
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    assert_eq!(pre.headers()["access-control-allow-origin"], "http://localhost:3000");
}

#[tokio::test]
async fn a_handler_that_sends_nothing_answers_json_even_when_it_answers_late() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let (status, ctype, body) =
        c.post_json(&json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"quiet"}})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json", "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "late");
}

#[tokio::test]
async fn a_handler_that_reports_progress_answers_as_sse() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let resp = c.post_stream(&json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":"tok"}}})).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = sse_events(resp, 10).await;
    let messages: Vec<&Value> = events.iter().filter_map(|(_, m)| m.as_ref()).collect();
    let progress: Vec<f64> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            assert_eq!(m["params"]["progressToken"], "tok");
            m["params"]["progress"].as_f64().unwrap_or(-1.0)
        })
        .collect();
    assert_eq!(progress, [1.0, 2.0]);
    assert_eq!(messages.last().map(|m| m["id"].clone()), Some(json!(3)));
    assert!(events.iter().all(|(id, _)| id.is_some()), "every event has an id: {events:?}");
    assert!(events[0].1.is_none(), "2025-11-25 streams start with a priming event");
}

#[tokio::test]
async fn a_tool_can_await_sampling_from_the_client() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let resp = c.post_stream(&json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"ask"}})).await;
    let mut events = support::EventReader::new(resp);
    let request = events.next_message().await;
    assert_eq!(request["method"], "sampling/createMessage");
    let answer = json!({"jsonrpc":"2.0","id":request["id"],"result":{"role":"assistant","content":{"type":"text","text":"forty-two"},"model":"m"}});
    assert_eq!(c.post_json(&answer).await.0, StatusCode::ACCEPTED);
    let result = events.next_message().await;
    assert_eq!(result["id"], 4);
    assert_eq!(result["result"]["content"][0]["text"], "model said forty-two");
}

#[tokio::test]
async fn cancellation_stops_the_running_handler() {
    let (mut c, mut stopped) = Client::with_cancel_probe();
    c.initialize("2025-11-25").await;
    let mut caller = c.clone();
    let call = tokio::spawn(async move {
        caller.post_json(&json!({"jsonrpc":"2.0","id":"slow-1","method":"tools/call","params":{"name":"wait"}})).await
    });
    support::started(&mut stopped).await;
    let cancel =
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow-1","reason":"user"}});
    assert_eq!(c.post_json(&cancel).await.0, StatusCode::ACCEPTED);
    assert_eq!(stopped.recv().await.as_deref(), Some("dropped"));
    let (_, _, body) = call.await.expect("call task");
    assert_eq!(body["error"]["code"].as_i64(), Some(code::REQUEST_CANCELLED as i64));
}

#[tokio::test]
async fn a_closed_stream_resumes_with_last_event_id() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let resp =
        c.post_stream(&json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"reconnect"}})).await;
    let events = sse_events(resp, 10).await;
    assert!(
        events.iter().all(|(_, m)| m.as_ref().is_none_or(|m| m.get("result").is_none())),
        "result must not arrive before the close: {events:?}"
    );
    let last = events.iter().rev().find_map(|(id, _)| id.clone()).expect("an event id before the close");
    let resumed =
        c.request_body(http::Method::GET, &[("last-event-id", &last), ("accept", "text/event-stream")], "").await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let after = sse_events(resumed, 10).await;
    let result = after.iter().find_map(|(_, m)| m.as_ref().filter(|m| m["id"] == 5)).expect("result after resume");
    assert_eq!(result["result"]["content"][0]["text"], "after reconnect");
}

#[tokio::test]
async fn list_changed_reaches_the_standalone_stream() {
    let mut c = Client::new();
    c.initialize("2025-11-25").await;
    let get = c.request_body(http::Method::GET, &[("accept", "text/event-stream")], "").await;
    assert_eq!(get.status(), StatusCode::OK);
    let mut events = support::EventReader::new(get);
    c.catalog.add_tool(support::tool("late"), |_, _| async { Ok(herd_proto::model::CallToolResult::text("late")) });
    assert_eq!(events.next_message().await["method"], "notifications/tools/list_changed");
}

trait IntoPair {
    fn into_pair(self) -> (StatusCode, Value);
}

impl IntoPair for (StatusCode, String, Value) {
    fn into_pair(self) -> (StatusCode, Value) {
        (self.0, self.2)
    }
}
