//! The tools that send sampling and elicitation requests to the client.

use super::*;
use crate::conformance::elicitation::{DEFAULTS_MESSAGE, ENUMS_MESSAGE, defaults_schema, enums_schema, user_schema};
use crate::conformance::sampling::MAX_TOKENS;

#[tokio::test]
async fn sampling_tool_asks_the_client_and_returns_its_answer() {
    let peer = TestPeer::new();
    let prompt = "Test prompt for sampling";
    let out = call_tool(&catalog(), context(&peer, None), "test_sampling", json!({ "prompt": prompt })).await;
    assert_eq!(text(&out), "LLM response: This is a test response from the client");
    let requests = peer.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "sampling/createMessage");
    assert_eq!(
        requests[0].1,
        json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }], "maxTokens": MAX_TOKENS })
    );

    let missing = call_tool(&catalog(), context(&peer, None), "test_sampling", json!({})).await;
    assert_eq!(missing["isError"], true);

    let unable = TestPeer::with_capabilities(json!({}));
    let out = call_tool(&catalog(), context(&unable, None), "test_sampling", json!({ "prompt": prompt })).await;
    assert_eq!(out["isError"], true);
    assert!(text(&out).contains("sampling"));
    assert!(unable.requests().is_empty(), "no request to a client without the capability");
}

#[tokio::test]
async fn elicitation_tool_sends_its_schema_and_returns_the_answer() {
    let peer = TestPeer::new();
    let message = "Please provide your information";
    let out = call_tool(&catalog(), context(&peer, None), "test_elicitation", json!({ "message": message })).await;
    assert_eq!(
        text(&out),
        r#"User response: action=accept, content={"email":"test@example.com","username":"testuser"}"#
    );
    let requests = peer.requests();
    assert_eq!(requests[0].0, "elicitation/create");
    assert_eq!(requests[0].1, json!({ "message": message, "requestedSchema": user_schema() }));

    let unable = TestPeer::with_capabilities(json!({ "sampling": {} }));
    let out = call_tool(&catalog(), context(&unable, None), "test_elicitation", json!({ "message": message })).await;
    assert_eq!(out["isError"], true);
    assert!(unable.requests().is_empty());
}

#[tokio::test]
async fn sep1034_defaults_schema_has_a_default_for_every_type() {
    let peer = TestPeer::new();
    let out = call_tool(&catalog(), context(&peer, None), "test_elicitation_sep1034_defaults", json!({})).await;
    assert!(text(&out).starts_with("Elicitation completed: action=accept, content="), "{out}");
    let (method, params) = &peer.requests()[0];
    assert_eq!(method, "elicitation/create");
    assert_eq!(params["message"], DEFAULTS_MESSAGE);
    let p = &params["requestedSchema"]["properties"];
    assert_eq!((&p["name"]["type"], &p["name"]["default"]), (&json!("string"), &json!("John Doe")));
    assert_eq!((&p["age"]["type"], &p["age"]["default"]), (&json!("integer"), &json!(30)));
    assert_eq!((&p["score"]["type"], &p["score"]["default"]), (&json!("number"), &json!(95.5)));
    assert_eq!((&p["status"]["type"], &p["status"]["default"]), (&json!("string"), &json!("active")));
    assert!(p["status"]["enum"].as_array().unwrap().contains(&json!("active")));
    assert_eq!((&p["verified"]["type"], &p["verified"]["default"]), (&json!("boolean"), &json!(true)));
    assert_eq!(params["requestedSchema"], defaults_schema());
}

#[tokio::test]
async fn sep1330_enums_schema_has_all_five_forms() {
    let peer = TestPeer::new();
    let out = call_tool(&catalog(), context(&peer, None), "test_elicitation_sep1330_enums", json!({})).await;
    assert!(text(&out).starts_with("Elicitation completed: action=accept"), "{out}");
    let (_, params) = &peer.requests()[0];
    assert_eq!(params["message"], ENUMS_MESSAGE);
    assert_eq!(params["requestedSchema"], enums_schema());
    let p = &params["requestedSchema"]["properties"];
    assert!(p["untitledSingle"]["enum"].is_array() && p["untitledSingle"].get("oneOf").is_none());
    assert!(p["untitledSingle"].get("enumNames").is_none());
    assert!(p["titledSingle"].get("enum").is_none());
    for o in p["titledSingle"]["oneOf"].as_array().unwrap() {
        assert!(o["const"].is_string() && o["title"].is_string());
    }
    assert_eq!(
        p["legacyEnum"]["enum"].as_array().unwrap().len(),
        p["legacyEnum"]["enumNames"].as_array().unwrap().len()
    );
    assert_eq!(p["untitledMulti"]["type"], "array");
    assert_eq!(p["untitledMulti"]["items"]["type"], "string");
    assert!(p["untitledMulti"]["items"]["enum"].is_array() && p["untitledMulti"]["items"].get("anyOf").is_none());
    assert_eq!(p["titledMulti"]["type"], "array");
    assert!(p["titledMulti"]["items"].get("enum").is_none());
    for o in p["titledMulti"]["items"]["anyOf"].as_array().unwrap() {
        assert!(o["const"].is_string() && o["title"].is_string());
    }
}
