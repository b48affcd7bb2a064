//! The single-question `test_input_required_result_*` fixtures and prompt:
//! the keys and questions the 2026-07-28 suite looks for, the rounds, and
//! what is done with answers that do not fit.

use super::*;
use crate::conformance::input_required::{CAPITAL_PROMPT, CONFIRM_SIGNED, CONTEXT, NAME, PLEASE_CONFIRM};
use herd_proto::code;

fn caps() -> Value {
    json!({ "sampling": {}, "elicitation": {}, "roots": { "listChanged": true } })
}

fn accept(content: Value) -> Value {
    json!({ "action": "accept", "content": content })
}

fn asked(key: &str, method: &str, params: Value) -> Asked {
    Asked { key: Some(key.into()), method: method.into(), params }
}

#[tokio::test]
async fn each_tool_asks_under_the_suites_key() {
    let name_q = json!({ "message": "What is your name?",
        "requestedSchema": { "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] } });
    assert_eq!(NAME.params(), name_q);
    let capital = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": CAPITAL_PROMPT } }],
        "maxTokens": 100 });
    let confirm = |form: &crate::conformance::answers::Form| {
        assert_eq!(form.schema()["properties"], json!({ "ok": { "type": "boolean" } }));
        form.params()
    };
    assert_eq!(PLEASE_CONFIRM.message, "Please confirm");
    let cases = [
        ("elicitation", asked("user_name", "elicitation/create", name_q), "Hello, Alice!"),
        ("sampling", asked("capital_question", "sampling/createMessage", capital), "The model answered: "),
        ("list_roots", asked("client_roots", "roots/list", json!({})), "Client roots: file:///test/root"),
        ("request_state", asked("confirm", "elicitation/create", confirm(&PLEASE_CONFIRM)), "state-ok"),
        ("tampered_state", asked("confirm", "elicitation/create", confirm(&CONFIRM_SIGNED)), "state-ok"),
    ];
    for (suffix, question, answer) in cases {
        let name = format!("test_input_required_result_{suffix}");
        // Round 1 on the stateless wire: the question, no result.
        let first = TestPeer::stateless(caps(), json!({}));
        let err = try_call(&catalog(), &first, &name).await.unwrap_err();
        assert_eq!(err.code, UNANSWERED, "{name}");
        assert_eq!(first.asked(), std::slice::from_ref(&question), "{name}");
        // A session client answers at once; so does the retried round.
        let session = TestPeer::new();
        let out = try_call(&catalog(), &session, &name).await.unwrap();
        assert!(text(&out).starts_with(answer), "{name}: {out}");
        assert_eq!(session.asked(), [question], "{name}");
    }
}

#[tokio::test]
async fn retried_rounds_complete_with_the_suites_answers() {
    let c = catalog();
    let retry = |name: &'static str, responses: Value| {
        let peer = TestPeer::stateless(caps(), responses);
        let c = c.clone();
        async move { try_call(&c, &peer, name).await }
    };
    let hello =
        retry("test_input_required_result_elicitation", json!({ "user_name": accept(json!({ "name": "Alice" })) }));
    assert_eq!(text(&hello.await.unwrap()), "Hello, Alice!");
    let sampled = json!({ "role": "assistant", "content": { "type": "text", "text": "The capital of France is Paris." },
        "model": "test-model", "stopReason": "endTurn" });
    let paris = retry("test_input_required_result_sampling", json!({ "capital_question": sampled })).await.unwrap();
    assert_eq!(text(&paris), "The model answered: The capital of France is Paris.");
    let roots = json!({ "roots": [{ "uri": "file:///test/root", "name": "Test Root" }] });
    let listed = retry("test_input_required_result_list_roots", json!({ "client_roots": roots })).await.unwrap();
    assert_eq!(text(&listed), "Client roots: file:///test/root");
    let ok = retry("test_input_required_result_request_state", json!({ "confirm": accept(json!({ "ok": true })) }));
    assert_eq!(text(&ok.await.unwrap()), "state-ok (confirmed: true)");

    // Unknown keys next to the right one are ignored; a wrong key alone
    // leaves the question open.
    let extra = json!({ "user_name": accept(json!({ "name": "Alice" })), "unknown_extra_key": accept(json!({ "foo": "bar" })) });
    assert_eq!(text(&retry("test_input_required_result_elicitation", extra).await.unwrap()), "Hello, Alice!");
    let wrong = retry("test_input_required_result_elicitation", json!({ "wrong_key": accept(json!({ "data": "x" })) }));
    assert_eq!(wrong.await.unwrap_err().code, UNANSWERED);
}

#[tokio::test]
async fn answers_that_do_not_fit_are_invalid_params_never_results() {
    let c = catalog();
    let elicitation = "test_input_required_result_elicitation";
    for bad in [
        json!(12345),
        json!({ "action": "maybe" }),
        json!({ "action": "accept" }),
        json!({ "action": "accept", "content": {} }),
        json!({ "action": "accept", "content": { "name": 5 } }),
    ] {
        let peer = TestPeer::stateless(caps(), json!({ "user_name": bad }));
        let err = try_call(&c, &peer, elicitation).await.unwrap_err();
        assert_eq!(err.code, code::INVALID_PARAMS, "{bad}");
        assert!(err.message.contains("user_name"), "{}", err.message);
    }
    let confirm = TestPeer::stateless(caps(), json!({ "confirm": accept(json!({ "ok": "yes" })) }));
    let err = try_call(&c, &confirm, "test_input_required_result_request_state").await.unwrap_err();
    assert_eq!(err.code, code::INVALID_PARAMS);
    let sampling = TestPeer::stateless(caps(), json!({ "capital_question": "Paris" }));
    let err = try_call(&c, &sampling, "test_input_required_result_sampling").await.unwrap_err();
    assert_eq!(err.code, code::INVALID_PARAMS);
    let roots = TestPeer::stateless(caps(), json!({ "client_roots": { "roots": [{ "name": "no uri" }] } }));
    let err = try_call(&c, &roots, "test_input_required_result_list_roots").await.unwrap_err();
    assert_eq!(err.code, code::INVALID_PARAMS);

    // Declining is an answer: the tool reports it as a tool error.
    let declined = TestPeer::stateless(caps(), json!({ "user_name": { "action": "decline" } }));
    let out = try_call(&c, &declined, elicitation).await.unwrap();
    assert_eq!(out["isError"], true);
    assert!(text(&out).contains("decline"), "{out}");
}

#[tokio::test]
async fn prompt_asks_for_its_context_then_renders() {
    let c = catalog();
    let get = |peer: &Arc<TestPeer>| {
        send(&c, context(peer, None), "prompts/get", json!({ "name": "test_input_required_result_prompt" }))
    };
    let first = TestPeer::stateless(caps(), json!({}));
    assert_eq!(get(&first).await.unwrap_err().code, UNANSWERED);
    assert_eq!(first.asked(), [asked("user_context", "elicitation/create", CONTEXT.params())]);
    assert_eq!(CONTEXT.message, "What context should the prompt use?");
    assert_eq!(CONTEXT.schema()["required"], json!(["context"]));

    let retried = TestPeer::stateless(caps(), json!({ "user_context": accept(json!({ "context": "test context" })) }));
    let prompt = get(&retried).await.unwrap();
    assert_eq!(prompt["messages"][0]["role"], "user");
    assert_eq!(prompt["messages"][0]["content"]["text"], "Answer with this context in mind: test context");
    let declined = TestPeer::stateless(caps(), json!({ "user_context": { "action": "cancel" } }));
    assert_eq!(get(&declined).await.unwrap_err().code, code::INVALID_PARAMS);
}
