//! The HTTP transport over a real loopback socket: what only a real
//! connection shows (header limits, slow clients, TCP_NODELAY framing).

#![allow(clippy::unwrap_used)]

use herd_proto::Backend;
use herd_router::{Router, RouterConfig};
use herd_transport::http::{HttpConfig, app, serve};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

async fn start(config: HttpConfig) -> (SocketAddr, CancellationToken) {
    let backend: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    start_with(Router::new(RouterConfig::default(), vec![backend]), config).await
}

async fn start_with(router: Router, config: HttpConfig) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { serve(listener, app(router, config.clone()), &config, stop).await });
    (addr, shutdown)
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    exchange_from(addr, Ipv4Addr::LOCALHOST, request).await
}

/// One exchange from a client socket bound to `from` (any 127.0.0.0/8
/// address is this machine).
async fn exchange_from(addr: SocketAddr, from: Ipv4Addr, request: &[u8]) -> String {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let mut socket = socket.connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_oversized_header_section_gets_431() {
    let (addr, _stop) = start(HttpConfig { max_header_bytes: 16 * 1024, ..HttpConfig::default() }).await;
    let big = "x".repeat(40 * 1024);
    let request = format!("POST /mcp HTTP/1.1\r\nhost: localhost\r\nx-big: {big}\r\ncontent-length: 0\r\n\r\n");
    let response = exchange(addr, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{}", &response[..response.len().min(200)]);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_head_is_disconnected() {
    let config = HttpConfig { header_read_timeout: Duration::from_millis(200), ..HttpConfig::default() };
    let (addr, _stop) = start(config).await;
    let response = exchange(addr, b"POST /mcp HTTP/1.1\r\nhost: localhost\r\n").await;
    // The server closes (possibly after a 408) instead of holding the socket.
    assert!(response.is_empty() || response.starts_with("HTTP/1.1 408"), "{response}");
}

#[tokio::test]
async fn a_full_exchange_works_over_keep_alive() {
    let (addr, _stop) = start(HttpConfig::default()).await;
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{init}",
        init.len()
    );
    let response = exchange(addr, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.to_ascii_lowercase().contains("mcp-session-id: "), "{response}");
    assert!(response.contains(r#""protocolVersion":"2025-06-18""#), "{response}");
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// A POST of `body` that closes the connection after the answer.
fn post(body: &str, headers: &str) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n{headers}connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn session_id(response: &str) -> &str {
    let at = response.to_ascii_lowercase().find("mcp-session-id: ").expect("a session id") + "mcp-session-id: ".len();
    &response[at..at + 32]
}

#[tokio::test]
async fn a_client_that_takes_only_json_gets_json_from_a_handler_that_awaits() {
    let tool = herd_proto::model::Tool {
        name: "slow".into(),
        title: None,
        description: "answers after awaiting".into(),
        input_schema: serde_json::json!({"type":"object"}),
        output_schema: None,
        annotations: None,
    };
    let mut catalog = herd_tools::Catalog::builder();
    catalog.tool(tool, |_, cx| async move {
        // Not ready on the first poll, and chatty while it works.
        tokio::time::sleep(Duration::from_millis(5)).await;
        cx.progress(1.0, None, None);
        tokio::task::yield_now().await;
        Ok(herd_proto::model::CallToolResult::text("slow answer"))
    });
    let router = Router::new(RouterConfig::default(), vec![Arc::new(catalog.build())]);
    let (addr, _stop) = start_with(router, HttpConfig::default()).await;
    let both = "accept: application/json, text/event-stream\r\n";
    let init = exchange(addr, post(INIT, both).as_bytes()).await;
    let session = session_id(&init);
    let call =
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":"p"}}}"#;
    let headers = format!("accept: application/json\r\nmcp-session-id: {session}\r\n");
    let response = exchange(addr, post(call, &headers).as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.to_ascii_lowercase().contains("content-type: application/json\r\n"), "{response}");
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let answer: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"));
    assert_eq!(answer["id"], 2, "{answer}");
    assert_eq!(answer["result"]["content"][0]["text"], "slow answer", "{answer}");
}

#[tokio::test]
async fn sessions_are_capped_per_client_address() {
    let config = RouterConfig { max_sessions_per_owner: 1, ..RouterConfig::default() };
    let backend: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    let (addr, _stop) = start_with(Router::new(config, vec![backend]), HttpConfig::default()).await;
    let init = post(INIT, "accept: application/json, text/event-stream\r\n");
    let first = exchange_from(addr, Ipv4Addr::new(127, 0, 0, 1), init.as_bytes()).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    let refused = exchange_from(addr, Ipv4Addr::new(127, 0, 0, 1), init.as_bytes()).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    let body = &refused[refused.find("\r\n\r\n").unwrap() + 4..];
    let error: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {refused}"));
    assert!(error["error"]["message"].as_str().unwrap().contains("limit 1 per client"), "{error}");
    assert_eq!(error["error"]["data"]["limit"], 1, "{error}");

    // Another client is not locked out.
    let other = exchange_from(addr, Ipv4Addr::new(127, 0, 0, 2), init.as_bytes()).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
}
