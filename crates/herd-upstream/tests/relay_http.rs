//! The relay in front of a real herd HTTP server: what a hub does for every
//! agent call.

#![allow(clippy::unwrap_used)]

use herd_proto::model::{CallToolResult, Tool};
use herd_proto::{Backend, BoxFuture, Context, ListKind, Message, Request, Response, RpcError, code};
use herd_router::{Closed, Outbox, Router, RouterConfig, Session, SharedOutbox};
use herd_transport::http::{HttpConfig, app, serve};
use herd_upstream::{HttpUpstream, HttpUpstreamConfig, Relay, RelayConfig};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Server {
    url: String,
    router: Router,
    _stop: tokio_util::sync::DropGuard,
}

async fn server(backends: Vec<Arc<dyn Backend>>) -> Server {
    let router = Router::new(RouterConfig::default(), backends);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let config = HttpConfig::default();
    let (app, token) = (app(router.clone(), config.clone()), stop.clone());
    tokio::spawn(async move { serve(listener, app, &config, token).await });
    Server { url, router, _stop: stop.drop_guard() }
}

fn relay_to(url: &str) -> Arc<dyn Backend> {
    let upstream = HttpUpstream::new(HttpUpstreamConfig::new(url)).unwrap();
    Arc::new(Relay::new(Arc::new(upstream), RelayConfig::default()))
}

struct Recorder(mpsc::UnboundedSender<String>);

/// What a [`Recorder`] records when the stream is ended early.
const CLOSED: &str = "<stream closed>";

impl Outbox for Recorder {
    fn send(&self, message: String) -> Result<(), Closed> {
        self.0.send(message).map_err(|_| Closed)
    }

    fn close(&self) {
        let _ = self.0.send(CLOSED.to_owned());
    }
}

async fn front(backend: Arc<dyn Backend>) -> (Router, Arc<Session>) {
    let router = Router::new(RouterConfig::default(), vec![backend]);
    let session = router.create_session().unwrap();
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}}"#;
    session.handle_request(request(init), None).await.unwrap();
    (router, session)
}

fn request(text: &str) -> Request {
    match Message::parse(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

async fn ask(session: &Arc<Session>, text: &str, outbox: Option<SharedOutbox>) -> Value {
    serde_json::from_str(&session.handle_request(request(text), outbox).await.unwrap()).unwrap()
}

fn recorder() -> (SharedOutbox, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Recorder(tx)), rx)
}

/// A server that ends a call's stream to be polled (SSE polling) makes the
/// relay end its own client's stream the same way, while it resumes the
/// server's stream itself and still returns the result.
#[tokio::test]
async fn a_stream_the_server_closes_is_closed_for_the_client_too() {
    let inner = server(vec![Arc::new(herd_tools::conformance::catalog())]).await;
    let (_front, s) = front(relay_to(&inner.url)).await;
    let (outbox, mut seen) = recorder();
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_reconnection","arguments":{}}}"#;
    let answer = ask(&s, call, Some(outbox)).await;
    let text = answer["result"]["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Reconnection test completed"), "{answer}");
    let recorded: Vec<String> = std::iter::from_fn(|| seen.try_recv().ok()).collect();
    assert_eq!(recorded, [CLOSED], "the client's stream was not closed: {recorded:?}");
}

/// A server that answers on one unbroken stream closes nothing.
#[tokio::test]
async fn an_unbroken_stream_closes_nothing() {
    let inner = server(vec![Arc::new(herd_tools::conformance::catalog())]).await;
    let (_front, s) = front(relay_to(&inner.url)).await;
    let (outbox, mut seen) = recorder();
    let call =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_tool_with_logging","arguments":{}}}"#;
    let answer = ask(&s, call, Some(outbox)).await;
    assert!(answer["result"].is_object(), "{answer}");
    let recorded: Vec<String> = std::iter::from_fn(|| seen.try_recv().ok()).collect();
    assert!(!recorded.is_empty() && !recorded.iter().any(|m| m == CLOSED), "{recorded:?}");
}

#[tokio::test]
async fn calls_lists_progress_and_sampling_cross_the_relay() {
    let inner = server(vec![Arc::new(herd_tools::conformance::catalog())]).await;
    let (_front, s) = front(relay_to(&inner.url)).await;
    let list = ask(&s, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, None).await;
    let names: Vec<&str> =
        list["result"]["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"test_simple_text") && names.contains(&"json_schema_2020_12_tool"), "{names:?}");
    let text =
        ask(&s, r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_simple_text"}}"#, None).await;
    assert_eq!(text["result"]["content"][0]["text"], "This is a simple text response for testing.");

    let (outbox, mut seen) = recorder();
    let progress = ask(&s, r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":"client-tok"}}}"#, Some(outbox)).await;
    assert!(progress["result"].is_object(), "{progress}");
    let notes: Vec<Value> =
        std::iter::from_fn(|| seen.try_recv().ok()).map(|m| serde_json::from_str(&m).unwrap()).collect();
    let values: Vec<f64> = notes
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .map(|n| {
            assert_eq!(n["params"]["progressToken"], "client-tok");
            n["params"]["progress"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(values, [0.0, 50.0, 100.0]);

    let (outbox, mut seen) = recorder();
    let call = tokio::spawn({
        let s = s.clone();
        async move {
            ask(&s, r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"test_sampling","arguments":{"prompt":"2+2?"}}}"#, Some(outbox)).await
        }
    });
    let question: Value = serde_json::from_str(&seen.recv().await.unwrap()).unwrap();
    assert_eq!(question["method"], "sampling/createMessage");
    let result = RawValue::from_string(
        json!({"role":"assistant","content":{"type":"text","text":"four"},"model":"m"}).to_string(),
    )
    .unwrap();
    let id = serde_json::from_value(question["id"].clone()).unwrap();
    s.handle_response(Response::result(id, result));
    let answer = call.await.unwrap();
    assert!(answer["result"]["content"][0]["text"].as_str().unwrap().contains("four"), "{answer}");
}

/// Answers any request with the request it received.
struct Mirror;

impl Backend for Mirror {
    fn capabilities(&self) -> Map<String, Value> {
        Map::new()
    }
    fn list(&self, _: ListKind, _: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn call(&self, req: Request, _: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let text = Message::Request(req).to_json();
        Box::pin(async move { Ok(RawValue::from_string(text).unwrap()) })
    }
}

#[tokio::test]
async fn unknown_methods_params_and_members_survive_two_hops() {
    let inner = server(vec![Arc::new(Mirror)]).await;
    let (_front, s) = front(relay_to(&inner.url)).await;
    let params = r#"{"deep":{"n":[2.50,1e400,{"z":null}]},"_meta":{"vendor.io/k":"v"}}"#;
    let input = format!(r#"{{"jsonrpc":"2.0","id":"c-1","method":"vendor/frob","params":{params},"x-ext":{{"a":1}}}}"#);
    let answer = s.handle_request(request(&input), None).await.unwrap();
    // Raw text: serde_json's Value could not even hold 1e400.
    assert!(answer.contains(r#""method":"vendor/frob""#), "{answer}");
    assert!(answer.contains(r#""x-ext":{"a":1}"#), "unknown members survive: {answer}");
    assert!(answer.contains(params), "params arrive byte for byte: {answer}");
}

#[tokio::test]
async fn cancelling_a_relayed_call_stops_the_upstream_handler() {
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel::<()>();
    struct OnDrop(mpsc::UnboundedSender<()>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let tool = Tool {
        name: "wait".into(),
        title: None,
        description: "waits".into(),
        input_schema: json!({"type":"object"}),
        output_schema: None,
        annotations: None,
    };
    let catalog = herd_tools::Catalog::builder()
        .tool(tool, move |_, cx: Context| {
            let (started_tx, dropped_tx) = (started_tx.clone(), dropped_tx.clone());
            async move {
                let _probe = OnDrop(dropped_tx);
                let _ = started_tx.send(());
                cx.cancelled().await;
                std::future::pending::<()>().await;
                Ok(CallToolResult::text("never"))
            }
        })
        .build();
    let inner = server(vec![Arc::new(catalog)]).await;
    let (_front, s) = front(relay_to(&inner.url)).await;
    let call = tokio::spawn({
        let s = s.clone();
        async move {
            s.handle_request(
                request(r#"{"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wait"}}"#),
                None,
            )
            .await
        }
    });
    started.recv().await.unwrap();
    let cancel =
        Message::parse(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w"}}"#).unwrap();
    let Message::Notification(cancel) = cancel else { unreachable!() };
    s.handle_notification(cancel);
    assert_eq!(call.await.unwrap(), None);
    dropped.recv().await.expect("the upstream handler was dropped");
}

#[tokio::test]
async fn a_dead_upstream_fails_fast_with_its_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);
    let (_front, s) = front(relay_to(&url)).await;
    let answer = ask(&s, r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#, None).await;
    assert_eq!(answer["error"]["code"], code::UPSTREAM_UNAVAILABLE);
    assert!(answer["error"]["message"].as_str().unwrap().contains(&url), "{answer}");
}

#[tokio::test]
async fn a_forgotten_upstream_session_is_reopened_transparently() {
    let inner = server(vec![Arc::new(herd_tools::conformance::catalog())]).await;
    let (_front, s) = front(relay_to(&inner.url)).await;
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_simple_text"}}"#;
    assert!(ask(&s, call, None).await["result"].is_object());
    let first = inner.router.session_ids();
    assert_eq!(first.len(), 1);
    // The upstream restarts or expires the session.
    inner.router.end_session(&first[0]);
    assert!(ask(&s, call, None).await["result"].is_object());
    let second = inner.router.session_ids();
    assert_eq!(second.len(), 1);
    assert_ne!(first, second);
}
