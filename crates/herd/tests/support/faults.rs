//! Faulty peers made in the test process, on loopback:
//!
//! - [`DelayProxy`]: a TCP proxy that holds every chunk for a set time in
//!   each direction before passing it on (this kernel has no `netem`), so
//!   an agent behind it answers late but otherwise correctly;
//! - [`StallAgent`]: an MCP server that opens sessions, answers probes
//!   (`initialize`, `tools/list`, `ping`) and, for `tools/call`, sends the
//!   response head of an SSE stream and then nothing, for ever.
//!
//! Both stop when dropped.
#![allow(dead_code, unreachable_pub)]

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A loopback TCP proxy adding a settable delay to each direction.
pub struct DelayProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The delay of each direction, in microseconds.
    one_way: Arc<AtomicU64>,
    _tasks: JoinSet<()>,
}

impl DelayProxy {
    /// Proxies to `target`, at first without delay.
    pub async fn start(target: SocketAddr) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let one_way = Arc::new(AtomicU64::new(0));
        let delay = one_way.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let delay = delay.clone();
                connections.spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else { return };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        delayed_copy(client_read, server_write, delay.clone()),
                        delayed_copy(server_read, client_write, delay)
                    );
                });
            }
        });
        DelayProxy { addr, one_way, _tasks: tasks }
    }

    /// From now on, each chunk read in either direction is written
    /// `one_way` later (so a request and its answer take `2 * one_way`
    /// longer). Chunks keep their order and do not wait for each other:
    /// the delay is latency, not a bandwidth limit.
    pub fn set_one_way(&self, one_way: Duration) {
        self.one_way.store(one_way.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Copies `from` to `to`, each chunk written the current delay after it
/// was read.
async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Arc<AtomicU64>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            let due = Instant::now() + Duration::from_micros(delay.load(Ordering::Relaxed));
            if tx.send((due, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

/// An MCP server whose tool calls never get past the response head.
pub struct StallAgent {
    /// Its MCP endpoint.
    pub url: String,
    stalled: Arc<AtomicUsize>,
    _tasks: JoinSet<()>,
}

impl StallAgent {
    /// Starts it on a random loopback port.
    pub async fn start() -> StallAgent {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the stalling agent");
        let url = format!("http://{}/mcp", listener.local_addr().expect("its address"));
        let stalled = Arc::new(AtomicUsize::new(0));
        let counter = stalled.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve_stalling(stream, counter.clone()));
            }
        });
        StallAgent { url, stalled, _tasks: tasks }
    }

    /// How many tool calls it has left hanging.
    pub fn stalled(&self) -> usize {
        self.stalled.load(Ordering::Relaxed)
    }
}

/// One keep-alive connection of the stalling agent.
async fn serve_stalling(mut stream: TcpStream, stalled: Arc<AtomicUsize>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut stream, &mut buf).await else { return };
        let answer = if head.starts_with("POST ") {
            let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = message.get("id").cloned();
            let result = match (message["method"].as_str(), id) {
                (_, None) => None,
                (Some("initialize"), _) => Some(json!({
                    "protocolVersion": message["params"]["protocolVersion"].as_str().unwrap_or("2025-06-18"),
                    "capabilities": { "tools": {} },
                    "serverInfo": { "name": "stall", "version": "0" }
                })),
                (Some("tools/list"), _) => Some(json!({ "tools": [
                    { "name": "shell", "inputSchema": { "type": "object" } }
                ] })),
                (Some("tools/call"), _) => {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
                    if stream.write_all(head.as_bytes()).await.is_ok() {
                        stalled.fetch_add(1, Ordering::Relaxed);
                        // Hold the connection open and silent until the
                        // caller gives up (or the agent is dropped).
                        let _ = stream.read_to_end(&mut Vec::new()).await;
                    }
                    return;
                }
                (_, Some(_)) => Some(json!({})),
            };
            match (result, message.get("id")) {
                (Some(result), Some(id)) => {
                    let body = json!({ "jsonrpc": "2.0", "id": id, "result": result }).to_string();
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: stall-1\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
                _ => "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_owned(),
            }
        } else if head.starts_with("DELETE ") {
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_owned()
        } else {
            "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n".to_owned()
        };
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head and `Content-Length` body) from `stream`;
/// `buf` keeps bytes of the next one.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[end..end + length].to_vec();
    buf.drain(..end + length);
    Some((head, body))
}
