//! An HTTP server that answers each request with a response head and then
//! stalls: the body its head promises never comes.
//!
//! Self-contained (tokio only), so any test crate can use it with
//! `#[path = "../../herd-upstream/tests/support/stall.rs"] mod stall;`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A head promising a JSON body of 100 bytes.
pub(crate) const JSON_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";

/// A head opening an SSE stream.
pub(crate) const EVENTS_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

/// Serves on a loopback port: reads each request's head, answers with
/// `head` (status line and headers) and holds the connection without a
/// byte more until the client closes it. Returns the MCP URL and a channel
/// that gets `()` for each request stalled.
pub(crate) async fn stalling(head: &'static str) -> (String, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}/mcp", listener.local_addr().expect("a bound address"));
    let (stalled, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let stalled = stalled.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&chunk[..n]),
                    }
                }
                if socket.write_all(head.as_bytes()).await.is_ok() {
                    let _ = stalled.send(());
                    let _ = socket.read(&mut chunk).await;
                }
            });
        }
    });
    (url, rx)
}
