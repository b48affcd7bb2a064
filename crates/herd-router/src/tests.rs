//! Router behaviour with real sessions and small backends.

use crate::{Outbox, Router, RouterConfig, Session, SharedOutbox};
use herd_proto::model::{CallToolResult, Tool};
use herd_proto::{Backend, BoxFuture, Context, ListKind, LogLevel, Message, Request, RpcError, code};
use herd_tools::Catalog;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Answers any request with the exact text of the request it received.
struct Mirror;

impl Backend for Mirror {
    fn capabilities(&self) -> Map<String, Value> {
        Map::new()
    }

    fn list(&self, _kind: ListKind, _cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn call(&self, req: Request, _cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let text = Message::Request(req).to_json();
        Box::pin(async move { RawValue::from_string(text).map_err(|e| RpcError::internal(e.to_string())) })
    }
}

pub(crate) fn tool(name: &str) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: name.into(),
        input_schema: json!({"type":"object"}),
        output_schema: None,
        annotations: None,
    }
}

fn named(names: &[&str], answer: &'static str) -> Arc<dyn Backend> {
    let mut b = Catalog::builder();
    for n in names {
        b.tool(tool(n), move |_, _| async move { Ok(CallToolResult::text(answer)) });
    }
    Arc::new(b.build())
}

struct Recorder(mpsc::UnboundedSender<String>);

impl Outbox for Recorder {
    fn send(&self, message: String) -> Result<(), crate::Closed> {
        self.0.send(message).map_err(|_| crate::Closed)
    }
}

fn recorder() -> (SharedOutbox, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Recorder(tx)), rx)
}

fn parse_request(text: &str) -> Request {
    match Message::parse(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        other => panic!("not a request: {other:?}"),
    }
}

async fn call(session: &Arc<Session>, text: &str) -> Value {
    let answer = session.handle_request(parse_request(text), None).await.expect("an answer");
    serde_json::from_str(&answer).unwrap()
}

async fn initialized(router: &Router) -> Arc<Session> {
    let s = router.create_session().unwrap();
    let init = call(&s, r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}}"#).await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    s
}

#[tokio::test]
async fn unknown_methods_and_fields_pass_through_unchanged() {
    let router = Router::new(RouterConfig::default(), vec![Arc::new(Mirror)]);
    let s = initialized(&router).await;
    let input = r#"{"jsonrpc":"2.0","id":9.0,"method":"vendor/frobnicate","params":{"deep":{"x":[1,2.50,1e400,{"k":null}]},"_meta":{"vendor.io/trace":"abc"},"extra":true},"x-top":{"a":"b"},"another":[1]}"#;
    let answer = session_answer(&s, input).await;
    // The result is the request as the backend saw it, byte for byte.
    let expected = format!(r#"{{"jsonrpc":"2.0","id":9.0,"result":{input}}}"#);
    assert_eq!(answer, expected);
}

async fn session_answer(s: &Arc<Session>, text: &str) -> String {
    s.handle_request(parse_request(text), None).await.expect("an answer")
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_works() {
    let router = Router::new(RouterConfig::default(), vec![named(&["a"], "A")]);
    let s = router.create_session().unwrap();
    let ping = call(&s, r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).await;
    assert_eq!(ping["result"], json!({}));
    let early = call(&s, r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#).await;
    assert_eq!(early["error"]["code"], code::INVALID_REQUEST);
    let s = initialized(&router).await;
    let again =
        call(&s, r#"{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#).await;
    assert_eq!(again["error"]["code"], code::INVALID_REQUEST);
}

#[tokio::test]
async fn lists_merge_across_backends_first_owner_wins_and_paginate() {
    let config = RouterConfig { page_size: 2, ..RouterConfig::default() };
    let router = Router::new(config, vec![named(&["a", "shared"], "first"), named(&["shared", "b", "c"], "second")]);
    let s = initialized(&router).await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({ "cursor": c }));
        let page = call(&s, &json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":params}).to_string()).await;
        let tools = page["result"]["tools"].as_array().unwrap();
        assert!(tools.len() <= 2);
        names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match page["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["a", "shared", "b", "c"]);
    let shared = call(&s, r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"shared"}}"#).await;
    assert_eq!(shared["result"]["content"][0]["text"], "first");
    let c = call(&s, r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"c"}}"#).await;
    assert_eq!(c["result"]["content"][0]["text"], "second");
    let missing = call(&s, r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"zzz"}}"#).await;
    assert_eq!(missing["error"]["code"], code::INVALID_PARAMS);
    let bad_cursor = call(&s, r#"{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"cursor":"x"}}"#).await;
    assert_eq!(bad_cursor["error"]["code"], code::INVALID_PARAMS);
    let unknown = call(&s, r#"{"jsonrpc":"2.0","id":6,"method":"vendor/x"}"#).await;
    assert_eq!(unknown["error"]["code"], code::METHOD_NOT_FOUND);
}

#[tokio::test]
async fn log_level_filters_messages_and_capabilities_include_logging() {
    let catalog = Catalog::builder()
        .tool(tool("log"), |_, cx: Context| async move {
            cx.log(LogLevel::Debug, None, json!("debug"));
            cx.log(LogLevel::Error, None, json!("error"));
            Ok(CallToolResult::text("ok"))
        })
        .build();
    let router = Router::new(RouterConfig::default(), vec![Arc::new(catalog)]);
    let s = initialized(&router).await;
    let set = call(&s, r#"{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"warning"}}"#).await;
    assert_eq!(set["result"], json!({}));
    let bad = call(&s, r#"{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"loud"}}"#).await;
    assert_eq!(bad["error"]["code"], code::INVALID_PARAMS);
    let (outbox, mut rx) = recorder();
    let req = parse_request(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"log"}}"#);
    s.handle_request(req, Some(outbox)).await.unwrap();
    let logs: Vec<Value> =
        std::iter::from_fn(|| rx.try_recv().ok()).map(|m| serde_json::from_str(&m).unwrap()).collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["params"]["level"], "error");
}

#[tokio::test]
async fn an_unanswered_client_request_names_its_key_times_out_and_is_withdrawn() {
    let catalog = Catalog::builder()
        .tool(tool("ask"), |_, cx: Context| async move {
            match cx.ask("roots_please", "roots/list", &json!({})).await {
                Ok(_) => Ok(CallToolResult::text("answered")),
                Err(e) => Ok(CallToolResult::error(e.message)),
            }
        })
        .build();
    let config = RouterConfig { client_request_timeout: Duration::from_millis(50), ..RouterConfig::default() };
    let router = Router::new(config, vec![Arc::new(catalog)]);
    let s = initialized(&router).await;
    let (outbox, mut rx) = recorder();
    let req = parse_request(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask"}}"#);
    let answer: Value = serde_json::from_str(&s.handle_request(req, Some(outbox)).await.unwrap()).unwrap();
    assert_eq!(answer["result"]["isError"], true);
    assert!(answer["result"]["content"][0]["text"].as_str().unwrap().contains("did not answer roots/list"));
    let sent: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(sent["method"], "roots/list");
    assert_eq!(sent["params"]["_meta"][herd_proto::INPUT_KEY_META], "roots_please");
    let withdrawn: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(withdrawn["method"], "notifications/cancelled");
    assert_eq!(withdrawn["params"]["requestId"], sent["id"]);
}

#[tokio::test]
async fn duplicate_in_flight_ids_are_refused_and_ending_a_session_cancels_work() {
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let catalog = Catalog::builder()
        .tool(tool("wait"), move |_, cx: Context| {
            let started_tx = started_tx.clone();
            async move {
                let _ = started_tx.send(());
                cx.cancelled().await;
                Ok(CallToolResult::text("cancelled"))
            }
        })
        .build();
    let router = Router::new(RouterConfig::default(), vec![Arc::new(catalog)]);
    let s = initialized(&router).await;
    let text = r#"{"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wait"}}"#;
    let first = tokio::spawn({
        let s = s.clone();
        async move { s.handle_request(parse_request(text), None).await }
    });
    started.recv().await.unwrap();
    let second = call(&s, text).await;
    assert_eq!(second["error"]["code"], code::INVALID_REQUEST);
    assert!(second["error"]["message"].as_str().unwrap().contains("already in flight"));
    assert!(router.end_session(s.id()));
    // The client did not cancel: it hears that the session ended.
    let first: Value = serde_json::from_str(&first.await.unwrap().expect("an answer")).unwrap();
    assert_eq!(first["error"]["code"], code::REQUEST_CANCELLED, "{first}");
    assert!(first["error"]["message"].as_str().unwrap().contains("session ended"), "{first}");
    assert!(router.session(s.id()).is_none());
}
