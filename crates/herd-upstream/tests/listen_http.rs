//! The session's GET stream against real HTTP servers: what a server sends
//! outside any request reaches the listener's sink; a stream the server
//! cuts is resumed after the last event; a session the server forgets is
//! opened again and the stream follows it; a server without a GET stream
//! (405) is asked once; dropping the upstream ends it all.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use herd_proto::{Message, method};
use herd_router::{Router, RouterConfig};
use herd_transport::http::{HttpConfig, app, serve};
use herd_upstream::{HttpUpstream, HttpUpstreamConfig, Upstream};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

const WAIT: Duration = Duration::from_secs(10);

/// One GET the server answered: the `Last-Event-ID` it carried and the status.
type Get = (Option<String>, u16);

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    (listener, url)
}

/// Serves `app` until the guard drops.
fn spawn_serve(listener: TcpListener, app: axum::Router) -> DropGuard {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { serve(listener, app, &HttpConfig::default(), token).await });
    stop.drop_guard()
}

/// Reports every GET once answered, and cuts the body of the first
/// successful one after its first chunk (the server dropping the stream).
async fn watch_gets(gets: mpsc::UnboundedSender<Get>, cut: Arc<AtomicBool>, req: Request, next: Next) -> Response {
    let is_get = req.method() == axum::http::Method::GET;
    let last = req.headers().get("last-event-id").and_then(|v| v.to_str().ok()).map(String::from);
    let response = next.run(req).await;
    if !is_get {
        return response;
    }
    let _ = gets.send((last, response.status().as_u16()));
    if response.status().is_success() && !cut.swap(true, Ordering::SeqCst) {
        let (parts, body) = response.into_parts();
        return Response::from_parts(parts, Body::from_stream(body.into_data_stream().take(1)));
    }
    response
}

fn upstream(url: &str) -> HttpUpstream {
    let config = HttpUpstreamConfig { reconnect_delay: Duration::from_millis(20), ..HttpUpstreamConfig::new(url) };
    HttpUpstream::new(config).unwrap()
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("in time").expect("open")
}

async fn method_of(rx: &mut mpsc::UnboundedReceiver<Message>) -> String {
    match next(rx).await {
        Message::Notification(n) => n.method,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_stream_resumes_follows_a_new_session_and_ends_with_the_upstream() {
    let catalog = herd_tools::conformance::catalog();
    let router = Router::new(RouterConfig::default(), vec![Arc::new(catalog.clone())]);
    let (gets_tx, mut gets) = mpsc::unbounded_channel();
    let cut = Arc::new(AtomicBool::new(false));
    let layer = middleware::from_fn(move |req, next| watch_gets(gets_tx.clone(), cut.clone(), req, next));
    let (listener, url) = bind().await;
    let _server = spawn_serve(listener, app(router.clone(), HttpConfig::default()).layer(layer));

    let upstream = upstream(&url);
    upstream.connect().await.unwrap();
    let (sink, mut seen) = mpsc::unbounded_channel();
    upstream.listen(sink);
    assert_eq!(next(&mut gets).await, (None, 200));
    let (events, _) = mpsc::unbounded_channel();
    let params = RawValue::from_string(r#"{"uri":"test://static-text"}"#.into()).unwrap();
    let subscribed = upstream.request(method::RESOURCES_SUBSCRIBE, Some(params), Vec::new(), events).response.await;
    assert!(subscribed.unwrap().into_result().is_ok());
    catalog.resource_updated("test://static-text");
    assert_eq!(method_of(&mut seen).await, method::RESOURCES_UPDATED);

    // The server cut the stream after that event: it is resumed after it.
    let (last, status) = next(&mut gets).await;
    assert!(last.as_deref().is_some_and(|id| id.ends_with("-1")), "{last:?}");
    assert_eq!(status, 200);
    catalog.remove_tool("test_simple_text");
    assert_eq!(method_of(&mut seen).await, method::TOOLS_LIST_CHANGED);

    // The server forgets the session: the stream's resumption fails, a
    // fresh stream too, and the stream moves to a new session.
    let old = router.session_ids();
    router.end_session(&old[0]);
    assert_eq!(next(&mut gets).await.1, 404);
    assert_eq!(next(&mut gets).await, (None, 404));
    assert_eq!(next(&mut gets).await, (None, 200));
    assert_ne!(router.session_ids(), old);
    catalog.remove_tool("test_image_content");
    assert_eq!(method_of(&mut seen).await, method::TOOLS_LIST_CHANGED);

    // No task outlives the upstream: the sink is dropped with it.
    drop(upstream);
    assert!(tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").is_none());
}

/// Answers `initialize` with a session and every other POST with 202;
/// refuses GET with 405, reporting each one.
async fn no_get_stream(gets: mpsc::UnboundedSender<Get>, req: Request) -> Response {
    if req.method() == axum::http::Method::GET {
        let _ = gets.send((None, 405));
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
    let Ok(Message::Request(init)) = Message::parse(&body) else { return StatusCode::ACCEPTED.into_response() };
    let result = r#"{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}"#;
    let answer = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, init.id);
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("mcp-session-id", "s-1".parse().unwrap());
    (headers, answer).into_response()
}

#[tokio::test]
async fn a_server_without_a_get_stream_is_asked_once() {
    let (gets_tx, mut gets) = mpsc::unbounded_channel();
    let mcp = axum::routing::any(move |req| no_get_stream(gets_tx.clone(), req));
    let (listener, url) = bind().await;
    let _server = spawn_serve(listener, axum::Router::new().route("/mcp", mcp));

    let upstream = upstream(&url);
    upstream.connect().await.unwrap();
    let (sink, mut seen) = mpsc::unbounded_channel();
    upstream.listen(sink);
    assert_eq!(next(&mut gets).await, (None, 405));
    // The listener gave up for good: it dropped the sink, and asks no more.
    assert!(tokio::time::timeout(WAIT, seen.recv()).await.expect("in time").is_none());
    assert!(gets.try_recv().is_err());
}
