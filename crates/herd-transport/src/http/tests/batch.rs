//! JSON-RPC batches: taken from 2025-03-26 sessions, refused elsewhere.

use super::support::{Client, EventReader, started};
use herd_proto::code;
use http::StatusCode;
use serde_json::{Value, json};

const JSON: &str = "application/json";

/// The answers of an array, by id (as JSON text).
fn by_id(answers: &Value) -> std::collections::HashMap<String, Value> {
    let answers = answers.as_array().unwrap_or_else(|| panic!("not an array: {answers}"));
    answers.iter().map(|a| (a["id"].to_string(), a.clone())).collect()
}

fn echo(id: Value, text: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"echo","arguments":{"text":text}}})
}

#[tokio::test]
async fn a_batch_of_requests_is_answered_with_an_array_matched_by_id() {
    let mut c = Client::new();
    c.initialize("2025-03-26").await;
    let batch = json!([echo(json!(1), "one"), echo(json!("two"), "two"), {"jsonrpc":"2.0","id":3,"method":"ping"}]);
    let (status, ctype, body) = c.post_json(&batch).await;
    assert_eq!((status, ctype.as_str()), (StatusCode::OK, JSON));
    let answers = by_id(&body);
    assert_eq!(answers.len(), 3, "{body}");
    assert_eq!(answers["1"]["result"]["content"][0]["text"], "one");
    assert_eq!(answers[r#""two""#]["result"]["content"][0]["text"], "two");
    assert_eq!(answers["3"]["result"], json!({}));
}

#[tokio::test]
async fn a_batch_without_requests_is_accepted_with_no_body() {
    let mut c = Client::new();
    c.initialize("2025-03-26").await;
    let batch = json!([
        {"jsonrpc":"2.0","method":"notifications/initialized"},
        {"jsonrpc":"2.0","method":"notifications/roots/list_changed"},
        {"jsonrpc":"2.0","id":41,"result":{}},
    ]);
    let resp = c.post_stream(&batch).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(axum::body::to_bytes(resp.into_body(), 1024).await.unwrap().is_empty());
}

#[tokio::test]
async fn batches_are_refused_outside_2025_03_26_sessions() {
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
    for version in ["2025-06-18", "2025-11-25"] {
        let mut c = Client::new();
        c.initialize(version).await;
        let (status, body) = c.post_raw(batch, JSON, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{version}");
        assert_eq!(body["error"]["code"], code::INVALID_REQUEST, "{version}: {body}");
        assert_eq!(body["id"], Value::Null);
    }
    let (status, body) = Client::new().post_raw(batch, JSON, None).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code::INVALID_REQUEST as i64)));
}

#[tokio::test]
async fn an_oversize_or_empty_batch_is_refused_whole() {
    let mut c = Client::new();
    c.initialize("2025-03-26").await;
    let pings: Vec<Value> =
        (0..=crate::MAX_BATCH_MESSAGES).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"ping"})).collect();
    let (status, body) = c.post_raw(&Value::from(pings).to_string(), JSON, None).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code::INVALID_REQUEST as i64)));
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("101") && message.contains("100"), "{message}");

    let (status, body) = c.post_raw("[]", JSON, None).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code::INVALID_REQUEST as i64)));
    let (status, body) = c.post_raw("[{", JSON, None).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code::PARSE_ERROR as i64)));
}

#[tokio::test]
async fn initialize_and_invalid_members_are_answered_on_their_own() {
    let mut c = Client::new();
    c.initialize("2025-03-26").await;
    let init = serde_json::from_str::<Value>(&super::support::init_body("2025-03-26")).unwrap();
    let batch = json!([
        {"jsonrpc":"2.0","id":1,"method":"ping"},
        5,
        {"jsonrpc":"1.0","id":"x","method":"ping"},
        init,
        {"jsonrpc":"2.0","id":2,"method":"no/such"},
    ]);
    let (status, _, body) = c.post_json(&batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().map(Vec::len), Some(5), "{body}");
    let answers = by_id(&body);
    assert_eq!(answers["1"]["result"], json!({}));
    assert_eq!(answers["null"]["error"]["code"], code::INVALID_REQUEST);
    assert_eq!(answers[r#""x""#]["error"]["code"], code::INVALID_REQUEST);
    let refused = &answers["0"]["error"];
    assert_eq!(refused["code"], code::INVALID_REQUEST);
    assert!(refused["message"].as_str().unwrap_or("").contains("initialize"), "{refused}");
    assert_eq!(answers["2"]["error"]["code"], code::METHOD_NOT_FOUND);
    // The session is still the one opened first, and still works.
    assert_eq!(c.post_json(&json!({"jsonrpc":"2.0","id":9,"method":"ping"})).await.2["result"], json!({}));
}

#[tokio::test]
async fn a_client_taking_only_sse_gets_each_answer_on_a_stream() {
    let mut c = Client::new();
    c.initialize("2025-03-26").await;
    let batch = json!([
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":"p"}}},
        echo(json!(2), "two"),
    ]);
    let accept = [("accept", "text/event-stream")];
    let resp = c.request_body(http::Method::POST, &accept, &batch.to_string()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut events = EventReader::new(resp);
    let (mut answers, mut progress) = (Vec::new(), 0);
    while let Some((_, message)) = events.next_event().await {
        let Some(message) = message else { continue };
        match message["method"].as_str() {
            Some("notifications/progress") => progress += 1,
            Some(_) => {}
            None => answers.push(message),
        }
    }
    assert_eq!(progress, 2);
    let answers = by_id(&Value::from(answers));
    assert_eq!(answers["1"]["result"]["content"][0]["text"], "done");
    assert_eq!(answers["2"]["result"]["content"][0]["text"], "two");
}

#[tokio::test]
async fn a_slow_request_in_a_batch_holds_up_no_other_session() {
    let (mut slow, mut probe) = Client::with_cancel_probe();
    slow.initialize("2025-03-26").await;
    let batch = json!([
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait"}},
        {"jsonrpc":"2.0","id":2,"method":"ping"},
    ]);
    let waiting = {
        let mut slow = slow.clone();
        tokio::spawn(async move { slow.post_json(&batch).await })
    };
    started(&mut probe).await;

    let mut other = slow.clone();
    other.initialize("2025-03-26").await;
    let (status, _, body) = other.post_json(&json!([{"jsonrpc":"2.0","id":7,"method":"ping"}])).await;
    assert_eq!((status, body[0]["result"].clone()), (StatusCode::OK, json!({})));

    let cancel = json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}});
    assert_eq!(slow.post_json(&cancel).await.0, StatusCode::ACCEPTED);
    let (status, _, body) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let answers = by_id(&body);
    assert_eq!(answers["1"]["error"]["code"], code::REQUEST_CANCELLED);
    assert_eq!(answers["2"]["result"], json!({}));
}
