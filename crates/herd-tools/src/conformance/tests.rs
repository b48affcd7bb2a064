//! Each fixture called through the [`Backend`] trait with a recording
//! client, checked against what the conformance suite asserts.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod asking;
mod content;
mod served;
mod streaming;

use super::resources::{STATIC_BINARY_URI, STATIC_TEXT_URI, TEMPLATE, WATCHED_URI};
use super::*;
use herd_proto::{Backend, BoxFuture, Context, ListKind, LogLevel, Peer, Request, RequestId, RequestMeta, RpcError};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::sync::CancellationToken;

/// A client that records what it is sent and answers sampling and
/// elicitation with canned results, like the suite's client does.
struct TestPeer {
    capabilities: Value,
    notifications: Mutex<Vec<(String, Value)>>,
    requests: Mutex<Vec<(String, Value)>>,
    closes: AtomicUsize,
}

impl TestPeer {
    fn new() -> Arc<Self> {
        Self::with_capabilities(json!({ "sampling": {}, "elicitation": {} }))
    }

    fn with_capabilities(capabilities: Value) -> Arc<Self> {
        Arc::new(Self {
            capabilities,
            notifications: Mutex::default(),
            requests: Mutex::default(),
            closes: AtomicUsize::new(0),
        })
    }

    fn notifications(&self, method: &str) -> Vec<Value> {
        self.notifications.lock().iter().filter(|(m, _)| m == method).map(|(_, p)| p.clone()).collect()
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().clone()
    }
}

impl Peer for TestPeer {
    fn notify(&self, method: &str, params: Box<RawValue>) {
        self.notifications.lock().push((method.to_owned(), serde_json::from_str(params.get()).unwrap()));
    }

    fn request(&self, method: &str, params: Box<RawValue>) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let params: Value = serde_json::from_str(params.get()).unwrap();
        self.requests.lock().push((method.to_owned(), params.clone()));
        let answer = match method {
            "sampling/createMessage" => Ok(json!({
                "role": "assistant",
                "content": { "type": "text", "text": "This is a test response from the client" },
                "model": "test-model",
                "stopReason": "endTurn",
            })),
            "elicitation/create" => {
                let properties = &params["requestedSchema"]["properties"];
                let content = if properties.get("username").is_some() {
                    json!({ "username": "testuser", "email": "test@example.com" })
                } else {
                    json!({ "name": "Jane Smith", "age": 25 })
                };
                Ok(json!({ "action": "accept", "content": content }))
            }
            other => Err(RpcError::method_not_found(other)),
        };
        Box::pin(async move { answer.map(|a| serde_json::value::to_raw_value(&a).unwrap()) })
    }

    fn log_level(&self) -> Option<LogLevel> {
        Some(LogLevel::Debug)
    }

    fn client_capabilities(&self) -> Option<&Value> {
        Some(&self.capabilities)
    }

    fn close_stream(&self) {
        self.closes.fetch_add(1, Ordering::SeqCst);
    }
}

fn context(peer: &Arc<TestPeer>, progress_token: Option<&str>) -> Context {
    let meta = RequestMeta {
        request_id: Some(RequestId::number(7)),
        progress_token: progress_token.map(|t| RawValue::from_string(t.to_owned()).unwrap()),
        version: None,
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
    ];
    assert_eq!(names, expected);
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
            "test_prompt_with_image"
        ]
    );
    assert!(prompts.iter().all(|p| p["description"].is_string()));
    assert_eq!(
        prompts[1]["arguments"][0],
        json!({"name": "arg1", "description": "First test argument", "required": true})
    );

    let caps = c.capabilities();
    assert_eq!(caps["resources"]["subscribe"], true);
    for key in ["tools", "prompts", "logging", "completions"] {
        assert!(caps.contains_key(key), "missing capability {key}");
    }
}
