//! The multi-question fixtures: three questions in one round, two rounds in
//! turn, and questions limited to the client's capabilities.

use super::*;
use crate::conformance::input_required::NAME;
use crate::conformance::input_rounds::{STEP1_FORM, STEP2_FORM};

fn caps() -> Value {
    json!({ "sampling": {}, "elicitation": {}, "roots": {} })
}

fn accept(content: Value) -> Value {
    json!({ "action": "accept", "content": content })
}

#[tokio::test]
async fn multiple_inputs_asks_all_three_in_one_round() {
    let c = catalog();
    let name = "test_input_required_result_multiple_inputs";
    // Every question goes out although none is answered yet.
    let first = TestPeer::stateless(caps(), json!({}));
    assert_eq!(try_call(&c, &first, name).await.unwrap_err().code, UNANSWERED);
    let greeting = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": "Generate a greeting" } }],
        "maxTokens": 50 });
    assert_eq!(
        first.asked(),
        [
            Asked { key: Some("user_name".into()), method: "elicitation/create".into(), params: NAME.params() },
            Asked { key: Some("greeting".into()), method: "sampling/createMessage".into(), params: greeting },
            Asked { key: Some("client_roots".into()), method: "roots/list".into(), params: json!({}) },
        ]
    );
    // Some answered: the rest stays open.
    let partial = TestPeer::stateless(caps(), json!({ "user_name": accept(json!({ "name": "Alice" })) }));
    assert_eq!(try_call(&c, &partial, name).await.unwrap_err().code, UNANSWERED);

    let all = json!({
        "user_name": accept(json!({ "name": "Alice" })),
        "greeting": { "role": "assistant", "content": { "type": "text", "text": "Hello there!" },
                      "model": "test-model", "stopReason": "endTurn" },
        "client_roots": { "roots": [{ "uri": "file:///test/root", "name": "Test Root" }] },
    });
    let out = try_call(&c, &TestPeer::stateless(caps(), all), name).await.unwrap();
    assert_eq!(text(&out), "Hello there! Alice! Client roots: file:///test/root");

    let session = TestPeer::new();
    let out = try_call(&c, &session, name).await.unwrap();
    assert_eq!(out["isError"], Value::Null, "{out}");
    assert_eq!(session.keys(), ["user_name", "greeting", "client_roots"]);
}

#[tokio::test]
async fn multi_round_asks_step2_only_once_step1_is_answered() {
    let c = catalog();
    let name = "test_input_required_result_multi_round";
    let r1 = TestPeer::stateless(caps(), json!({}));
    assert_eq!(try_call(&c, &r1, name).await.unwrap_err().code, UNANSWERED);
    assert_eq!(r1.keys(), ["step1"]);
    assert_eq!(r1.asked()[0].params, STEP1_FORM.params());
    assert_eq!(STEP1_FORM.message, "Step 1: What is your name?");

    let step1 = accept(json!({ "name": "Alice" }));
    let r2 = TestPeer::stateless(caps(), json!({ "step1": step1 }));
    assert_eq!(try_call(&c, &r2, name).await.unwrap_err().code, UNANSWERED);
    assert_eq!(r2.keys(), ["step1", "step2"]);
    assert_eq!(r2.asked()[1].params, STEP2_FORM.params());
    assert_eq!(STEP2_FORM.message, "Step 2: What is your favorite color?");
    assert_eq!(STEP2_FORM.schema()["properties"], json!({ "color": { "type": "string" } }));

    let r3 = TestPeer::stateless(caps(), json!({ "step1": step1, "step2": accept(json!({ "color": "blue" })) }));
    assert_eq!(text(&try_call(&c, &r3, name).await.unwrap()), "Alice's favorite color is blue");
}

#[tokio::test]
async fn capabilities_tool_asks_only_what_the_client_declared() {
    let c = catalog();
    let name = "test_input_required_result_capabilities";
    let sampling_only = TestPeer::stateless(json!({ "sampling": {} }), json!({}));
    assert_eq!(try_call(&c, &sampling_only, name).await.unwrap_err().code, UNANSWERED);
    assert_eq!(sampling_only.keys(), ["capital_question"]);
    assert_eq!(sampling_only.asked()[0].method, "sampling/createMessage");

    let both = TestPeer::stateless(caps(), json!({}));
    assert_eq!(try_call(&c, &both, name).await.unwrap_err().code, UNANSWERED);
    let methods: Vec<String> = both.asked().into_iter().map(|a| a.method).collect();
    assert_eq!(methods, ["elicitation/create", "sampling/createMessage"]);

    let session = TestPeer::new();
    let out = try_call(&c, &session, name).await.unwrap();
    assert_eq!(text(&out), "Hello, Alice! The model answered: This is a test response from the client");
    let neither = TestPeer::with_capabilities(json!({}));
    let out = try_call(&c, &neither, name).await.unwrap();
    assert!(text(&out).contains("nothing was asked"), "{out}");
    assert!(neither.asked().is_empty());
}
