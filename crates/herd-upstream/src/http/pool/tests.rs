//! The pool against a small HTTP/1.1 server that counts its connections
//! and can close each one after its first answer.

use super::{Dial, Pool};
use crate::http::client::SendError;
use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

/// Answers every request with `body`; with `close_after_one`, closes each
/// connection after its first answer (without saying so in a header, as a
/// server that times out idle connections would).
async fn server(body: &'static str, close_after_one: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request per read is enough for these small ones.
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        continue;
                    }
                    buf.clear();
                    let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                    if socket.write_all(answer.as_bytes()).await.is_err() || close_after_one {
                        return;
                    }
                }
            });
        }
    });
    Server { port, accepted }
}

fn pool(port: u16) -> Arc<Pool> {
    Pool::new(Dial {
        host: "127.0.0.1".into(),
        port,
        connect_timeout: Duration::from_secs(2),
        keepalive: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(60),
    })
}

fn get(port: u16) -> Request<Full<Bytes>> {
    Request::get("/mcp").header(header::HOST, format!("127.0.0.1:{port}")).body(Full::new(Bytes::new())).unwrap()
}

#[tokio::test]
async fn a_connection_read_to_the_end_is_used_again() {
    let server = server("hello", false).await;
    let pool = pool(server.port);
    for _ in 0..5 {
        let response = pool.send(get(server.port)).await.unwrap();
        assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello");
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_response_dropped_before_its_end_takes_its_connection_along() {
    let server = server("hello", false).await;
    let pool = pool(server.port);
    drop(pool.send(get(server.port)).await.unwrap());
    let response = pool.send(get(server.port)).await.unwrap();
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced_without_an_error() {
    let server = server("hello", true).await;
    let pool = pool(server.port);
    for round in 1..=3 {
        let response = pool.send(get(server.port)).await.unwrap();
        assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello");
        // Wait until the server's close has reached the pooled connection,
        // so the next round meets a closed one rather than racing it.
        let closed = async {
            loop {
                let closed = pool.idle.lock().back().is_none_or(|idle| idle.sender.is_closed());
                if closed {
                    return;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), closed).await.unwrap();
        assert_eq!(server.accepted.load(Ordering::SeqCst), round);
    }
}

#[tokio::test]
async fn a_refused_port_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    match pool(port).send(get(port)).await {
        Err(SendError::Connect(reason)) => assert!(reason.to_lowercase().contains("refused"), "{reason}"),
        other => panic!("expected a connect error, got {other:?}"),
    }
}
