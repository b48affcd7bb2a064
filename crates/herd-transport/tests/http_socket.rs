//! The HTTP transport over a real loopback socket: what only a real
//! connection shows (header limits, slow clients, TCP_NODELAY framing).

#![allow(clippy::unwrap_used)]

use herd_proto::Backend;
use herd_router::{Router, RouterConfig};
use herd_transport::http::{HttpConfig, app, serve};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

async fn start(config: HttpConfig) -> (SocketAddr, CancellationToken) {
    let backend: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    let router = Router::new(RouterConfig::default(), vec![backend]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { serve(listener, app(router, config.clone()), &config, stop).await });
    (addr, shutdown)
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
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
