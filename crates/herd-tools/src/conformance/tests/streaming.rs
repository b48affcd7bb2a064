//! The tools that send log and progress messages, and the reconnection tool.

use super::*;
use crate::conformance::streaming::{LOG_LINES, LOGGER, RECONNECTION_DELAY, RECONNECTION_TEXT};

#[tokio::test(start_paused = true)]
async fn logging_tool_sends_three_info_messages() {
    let peer = TestPeer::new();
    let out = call_tool(&catalog(), context(&peer, None), "test_tool_with_logging", json!({})).await;
    assert_eq!(text(&out), "Tool with logging executed successfully");
    let logs = peer.notifications("notifications/message");
    let expected: Vec<Value> =
        LOG_LINES.iter().map(|l| json!({ "level": "info", "logger": LOGGER, "data": l })).collect();
    assert_eq!(logs, expected);
}

#[tokio::test(start_paused = true)]
async fn progress_tool_reports_0_50_100_with_the_callers_token() {
    let peer = TestPeer::new();
    let out =
        call_tool(&catalog(), context(&peer, Some("\"progress-test-1\"")), "test_tool_with_progress", json!({})).await;
    assert_eq!(out["isError"], Value::Null);
    let progress = peer.notifications("notifications/progress");
    assert_eq!(progress.len(), 3);
    for (i, (p, value)) in progress.iter().zip([0.0, 50.0, 100.0]).enumerate() {
        assert_eq!(p["progressToken"], "progress-test-1");
        assert_eq!(p["progress"], value);
        assert_eq!(p["total"], 100.0);
        assert_eq!(p["message"], format!("Completed step {} of 3", i + 1));
    }

    // A numeric token (what the TypeScript SDK sends) is echoed as a number;
    // without a token the tool still runs and reports nothing.
    let numeric = TestPeer::new();
    call_tool(&catalog(), context(&numeric, Some("3")), "test_tool_with_progress", json!({})).await;
    assert_eq!(numeric.notifications("notifications/progress")[2]["progressToken"], 3);
    let silent = TestPeer::new();
    call_tool(&catalog(), context(&silent, None), "test_tool_with_progress", json!({})).await;
    assert!(silent.notifications("notifications/progress").is_empty());
}

#[tokio::test(start_paused = true)]
async fn reconnection_tool_closes_its_stream_then_answers() {
    let peer = TestPeer::new();
    let started = tokio::time::Instant::now();
    let params = json!({ "name": "test_reconnection", "arguments": {} });
    let req = Request::new(RequestId::number(7), "tools/call", Some(serde_json::value::to_raw_value(&params).unwrap()));
    // `Backend::call` futures are 'static, so the call can run as a task.
    let call = tokio::spawn(catalog().call(req, context(&peer, None)));
    tokio::time::sleep(RECONNECTION_DELAY / 2).await;
    assert_eq!(peer.closes.load(Ordering::SeqCst), 1, "stream closed mid-call");
    assert!(!call.is_finished(), "the result comes after the close");
    let raw = call.await.unwrap().unwrap();
    let out: Value = serde_json::from_str(raw.get()).unwrap();
    assert!(started.elapsed() >= RECONNECTION_DELAY);
    assert_eq!(out, json!({ "content": [{ "type": "text", "text": RECONNECTION_TEXT }] }));
    assert_eq!(peer.closes.load(Ordering::SeqCst), 1);
}
