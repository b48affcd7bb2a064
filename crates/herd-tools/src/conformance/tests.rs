//! Each fixture called through the [`Backend`] trait with a recording
//! client ([`TestPeer`]), checked against what the conformance suite
//! asserts: 0.1.16 on the session wire, 0.2 with `--requirements
//! 2026-07-28` on the stateless one (questions under keys, answers from
//! the retried request).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod asking;
mod content;
mod input_required;
mod input_rounds;
mod peer;
mod served;
mod stateless;
mod streaming;

use super::resources::{STATIC_BINARY_URI, STATIC_TEXT_URI, TEMPLATE, WATCHED_URI};
use super::*;
use herd_proto::{Backend, Context, ListKind, LogLevel, Request, RequestId, RequestMeta, RpcError};
use peer::{Asked, TestPeer, UNANSWERED};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

fn context(peer: &Arc<TestPeer>, progress_token: Option<&str>) -> Context {
    let meta = RequestMeta {
        request_id: Some(RequestId::number(7)),
        progress_token: progress_token.map(|t| RawValue::from_string(t.to_owned()).unwrap()),
        version: None,
        ..RequestMeta::default()
    };
    Context::new(peer.clone(), meta, CancellationToken::new())
}

async fn send(c: &Catalog, cx: Context, method: &str, params: Value) -> Result<Value, RpcError> {
    let req = Request::new(RequestId::number(7), method, Some(serde_json::value::to_raw_value(&params).unwrap()));
    let raw = c.call(req, cx).await?;
    Ok(serde_json::from_str(raw.get()).unwrap())
}

async fn call_tool(c: &Catalog, cx: Context, name: &str, arguments: Value) -> Value {
    send(c, cx, "tools/call", json!({ "name": name, "arguments": arguments })).await.unwrap()
}

/// Calls an argument-less tool as `peer`; a JSON-RPC error stays an error.
async fn try_call(c: &Catalog, peer: &Arc<TestPeer>, name: &str) -> Result<Value, RpcError> {
    send(c, context(peer, None), "tools/call", json!({ "name": name, "arguments": {} })).await
}

async fn list(c: &Catalog, kind: ListKind) -> Vec<Value> {
    let entries = c.list(kind, Context::detached()).await.unwrap();
    entries.iter().map(|e| serde_json::from_str(e.get()).unwrap()).collect()
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn lists_every_fixture_with_the_fields_the_suite_checks() {
    let c = catalog();
    let tools = list(&c, ListKind::Tools).await;
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let expected = [
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_error_handling",
        "json_schema_2020_12_tool",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_reconnection",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_tampered_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_capabilities",
        "test_missing_capability",
        "test_streaming_elicitation",
        "test_logging_tool",
        "test_mirrored_headers",
        "greet",
        "slow_compute",
        "failing_job",
        "protocol_error_job",
        "confirm_delete",
        "multi_input",
        "test_tool_with_task",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
    ];
    assert_eq!(names, expected);
    let support = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap()["execution"]["taskSupport"].clone();
    assert_eq!(support("greet"), Value::Null, "greet never runs as a task");
    assert_eq!(support("slow_compute"), "optional");
    assert_eq!(support("failing_job"), "required");
    assert_eq!(support("test_tool_with_task"), "required");
    let mirrored = &tools.iter().find(|t| t["name"] == "test_mirrored_headers").unwrap()["inputSchema"]["properties"];
    assert_eq!(
        (mirrored["region"]["x-mcp-header"].as_str(), mirrored["region"]["type"].as_str()),
        (Some("Region"), Some("string"))
    );
    for t in &tools {
        assert!(!t["description"].as_str().unwrap().is_empty(), "{t}");
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert!(t["annotations"]["readOnlyHint"].is_boolean(), "{t}");
        assert!(t["title"].is_string(), "{t}");
    }

    let resources = list(&c, ListKind::Resources).await;
    let uris: Vec<&str> = resources.iter().map(|r| r["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, [STATIC_TEXT_URI, STATIC_BINARY_URI, WATCHED_URI]);
    assert!(resources.iter().all(|r| r["name"].is_string() && r["description"].is_string()));
    let templates = list(&c, ListKind::ResourceTemplates).await;
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0]["uriTemplate"], TEMPLATE);

    let prompts = list(&c, ListKind::Prompts).await;
    let names: Vec<&str> = prompts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "test_simple_prompt",
            "test_prompt_with_arguments",
            "test_prompt_with_embedded_resource",
            "test_prompt_with_image",
            "test_input_required_result_prompt",
        ]
    );
    assert!(prompts.iter().all(|p| p["description"].is_string()));
    assert_eq!(
        prompts[1]["arguments"][0],
        json!({"name": "arg1", "description": "First test argument", "required": true})
    );

    let caps = c.capabilities();
    assert_eq!(caps["resources"]["subscribe"], true);
    assert_eq!(caps["tools"]["listChanged"], true);
    assert_eq!(caps["prompts"]["listChanged"], true);
    for key in ["tools", "prompts", "logging", "completions"] {
        assert!(caps.contains_key(key), "missing capability {key}");
    }
}
