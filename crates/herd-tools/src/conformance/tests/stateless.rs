//! The diagnostic tools of the `server-stateless` scenario and the list
//! change triggers.

use super::*;
use crate::conformance::stateless::{LOGS, PROBE_MAX_TOKENS, PROBE_PROMPT, PROCEED_FORM};
use herd_proto::Notifier;

#[tokio::test]
async fn missing_capability_passes_the_cores_error_on() {
    let c = catalog();
    let bare = TestPeer::stateless(json!({}), json!({}));
    let err = try_call(&c, &bare, "test_missing_capability").await.unwrap_err();
    assert_eq!(err.code, -32021);
    assert_eq!(err.data.unwrap()["requiredCapabilities"], json!({ "sampling": {} }));

    let first = TestPeer::stateless(json!({ "sampling": {} }), json!({}));
    assert_eq!(try_call(&c, &first, "test_missing_capability").await.unwrap_err().code, UNANSWERED);
    let question = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": PROBE_PROMPT } }],
        "maxTokens": PROBE_MAX_TOKENS });
    assert_eq!(
        first.asked(),
        [Asked { key: Some("probe".into()), method: "sampling/createMessage".into(), params: question }]
    );
    let session = TestPeer::new();
    let out = try_call(&c, &session, "test_missing_capability").await.unwrap();
    assert_eq!(text(&out), "The model answered: This is a test response from the client");
}

#[tokio::test]
async fn streaming_elicitation_reports_progress_around_its_question() {
    let c = catalog();
    let call = |peer: &Arc<TestPeer>| {
        let params = json!({ "name": "test_streaming_elicitation", "arguments": {} });
        send(&c, context(peer, Some("\"p\"")), "tools/call", params)
    };
    let first = TestPeer::stateless(json!({ "elicitation": {} }), json!({}));
    assert_eq!(call(&first).await.unwrap_err().code, UNANSWERED);
    assert_eq!(first.keys(), ["proceed"]);
    assert_eq!(first.asked()[0].params, PROCEED_FORM.params());
    assert_eq!(first.notifications("notifications/progress").len(), 1);

    let go = TestPeer::stateless(
        json!({ "elicitation": {} }),
        json!({ "proceed": { "action": "accept", "content": { "proceed": true } } }),
    );
    assert_eq!(text(&call(&go).await.unwrap()), "Finished both halves");
    let progress: Vec<Value> =
        go.notifications("notifications/progress").iter().map(|p| p["progress"].clone()).collect();
    assert_eq!(progress, [json!(1.0), json!(2.0)]);
    let stop = TestPeer::stateless(
        json!({ "elicitation": {} }),
        json!({ "proceed": { "action": "accept", "content": { "proceed": false } } }),
    );
    assert_eq!(text(&call(&stop).await.unwrap()), "Stopped halfway, as the user asked");
    let session = TestPeer::new();
    assert_eq!(text(&call(&session).await.unwrap()), "Finished both halves");
}

#[tokio::test]
async fn logging_tool_logs_only_what_the_request_asked_for() {
    let c = catalog();
    let messages = |peer: &Arc<TestPeer>| -> Vec<Value> {
        peer.notifications("notifications/message").iter().map(|m| m["data"].clone()).collect()
    };
    let all = TestPeer::logging_at(LogLevel::Debug);
    let out = try_call(&c, &all, "test_logging_tool").await.unwrap();
    assert_eq!(out["isError"], Value::Null);
    assert_eq!(messages(&all), LOGS.map(|(_, m)| json!(m)));
    let some = TestPeer::logging_at(LogLevel::Info);
    try_call(&c, &some, "test_logging_tool").await.unwrap();
    assert_eq!(messages(&some), [json!(LOGS[1].1), json!(LOGS[2].1)]);
    assert_eq!(some.notifications("notifications/message")[1]["level"], "warning");
    // A 2026-07-28 request without a log level gets none.
    let quiet = TestPeer::stateless(json!({}), json!({}));
    try_call(&c, &quiet, "test_logging_tool").await.unwrap();
    assert!(messages(&quiet).is_empty());
}

#[tokio::test]
async fn triggers_announce_list_changes_through_the_notifier() {
    let c = catalog();
    let (notifier, mut rx) = Notifier::channel();
    c.attach(notifier);
    let peer = TestPeer::new();
    let out = try_call(&c, &peer, "test_trigger_tool_change").await.unwrap();
    assert_eq!(text(&out), "Sent notifications/tools/list_changed");
    assert_eq!(rx.recv().await.unwrap().method, "notifications/tools/list_changed");
    let out = try_call(&c, &peer, "test_trigger_prompt_change").await.unwrap();
    assert_eq!(text(&out), "Sent notifications/prompts/list_changed");
    assert_eq!(rx.recv().await.unwrap().method, "notifications/prompts/list_changed");
    assert!(rx.try_recv().is_err(), "one notification per call");
    assert!(peer.notifications("notifications/tools/list_changed").is_empty(), "not on the call's own stream");
    assert_eq!(list(&c, ListKind::Tools).await.len(), c.tool_names().len(), "the lists stay as they were");

    // The triggers hold their catalog weakly: dropping it frees it.
    let weak = c.downgrade();
    drop(c);
    assert!(weak.upgrade().is_none());
}
