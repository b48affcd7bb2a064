//! The pool against a small HTTP/1.1 server that counts its connections
//! and requests, and can close each connection after its first answer or
//! as its second request comes in.

use super::{Dial, Pool};
use crate::http::client::{IDLE_TIMEOUT, SendError};
use crate::http::replay::Replay;
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
    requests: Arc<AtomicUsize>,
}

/// What the server does with each connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conduct {
    /// Answers every request.
    Answer,
    /// Closes the connection after its first answer (without saying so in a
    /// header, as a server that times out idle connections would).
    CloseAfterOne,
    /// Closes the connection as its n-th request comes in, without a byte
    /// of answer: with n = 2, what a request meets when it leaves just as
    /// the server times the idle connection out.
    CloseOn(usize),
    /// Closes the connection halfway through the head of its n-th answer.
    CutAnswerOn(usize),
}

/// Answers requests with `body` as `conduct` says.
async fn server(body: &'static str, conduct: Conduct) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (count, seen) = (accepted.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut on_this_connection = 0;
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
                    seen.fetch_add(1, Ordering::SeqCst);
                    on_this_connection += 1;
                    if conduct == Conduct::CloseOn(on_this_connection) {
                        return;
                    }
                    if conduct == Conduct::CutAnswerOn(on_this_connection) {
                        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-le").await;
                        return;
                    }
                    let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                    if socket.write_all(answer.as_bytes()).await.is_err() || conduct == Conduct::CloseAfterOne {
                        return;
                    }
                }
            });
        }
    });
    Server { port, accepted, requests }
}

fn pool(port: u16) -> Arc<Pool> {
    Pool::new(Dial {
        host: "127.0.0.1".into(),
        port,
        connect_timeout: Duration::from_secs(2),
        keepalive: Duration::from_secs(30),
        idle_timeout: IDLE_TIMEOUT,
    })
}

fn get(port: u16) -> Request<Full<Bytes>> {
    Request::get("/mcp").header(header::HOST, format!("127.0.0.1:{port}")).body(Full::new(Bytes::new())).unwrap()
}

/// Sends a GET through `pool` and reads the whole answer.
async fn fetch(pool: &Arc<Pool>, port: u16, replay: Replay) -> Result<Bytes, SendError> {
    let response = pool.send(get(port), replay).await?;
    Ok(response.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn a_connection_read_to_the_end_is_used_again() {
    let server = server("hello", Conduct::Answer).await;
    let pool = pool(server.port);
    for _ in 0..5 {
        assert_eq!(fetch(&pool, server.port, Replay::AtMostOnce).await.unwrap(), "hello");
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_response_dropped_before_its_end_takes_its_connection_along() {
    let server = server("hello", Conduct::Answer).await;
    let pool = pool(server.port);
    drop(pool.send(get(server.port), Replay::AtMostOnce).await.unwrap());
    assert_eq!(fetch(&pool, server.port, Replay::AtMostOnce).await.unwrap(), "hello");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced_without_an_error() {
    let server = server("hello", Conduct::CloseAfterOne).await;
    let pool = pool(server.port);
    for round in 1..=3 {
        assert_eq!(fetch(&pool, server.port, Replay::AtMostOnce).await.unwrap(), "hello");
        // Wait until the server's close has reached the pooled connection,
        // so the next round meets a closed one rather than racing it.
        let closed = async {
            loop {
                let closed = pool.idle.lock().back().is_none_or(|idle| idle.conn.sender.is_closed());
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
    match pool(port).send(get(port), Replay::Idempotent).await {
        Err(SendError::Connect(reason)) => assert!(reason.to_lowercase().contains("refused"), "{reason}"),
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_idempotent_request_on_a_connection_closed_under_it_is_sent_again_on_a_fresh_one() {
    let server = server("hello", Conduct::CloseOn(2)).await;
    let pool = pool(server.port);
    for _ in 0..2 {
        assert_eq!(fetch(&pool, server.port, Replay::Idempotent).await.unwrap(), "hello");
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2, "the second request went again on a new connection");
    assert_eq!(server.requests.load(Ordering::SeqCst), 3, "the request lost with the first connection, once more");
}

#[tokio::test]
async fn a_request_that_may_have_run_is_not_sent_again() {
    let server = server("hello", Conduct::CloseOn(2)).await;
    let pool = pool(server.port);
    assert_eq!(fetch(&pool, server.port, Replay::AtMostOnce).await.unwrap(), "hello");
    match fetch(&pool, server.port, Replay::AtMostOnce).await {
        Err(SendError::Lost(reason)) => {
            assert!(reason.contains("may have reached the server, so it was not sent again"), "{reason}");
        }
        other => panic!("expected a lost request, got {other:?}"),
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 2, "sent once");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_request_the_server_had_begun_to_answer_is_not_sent_again() {
    let server = server("hello", Conduct::CutAnswerOn(2)).await;
    let pool = pool(server.port);
    assert_eq!(fetch(&pool, server.port, Replay::Idempotent).await.unwrap(), "hello");
    let result = fetch(&pool, server.port, Replay::Idempotent).await;
    assert!(matches!(result, Err(SendError::Lost(_))), "{result:?}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2, "sent once");
}

#[tokio::test]
async fn a_request_that_fails_on_a_fresh_connection_is_not_sent_again() {
    let server = server("hello", Conduct::CloseOn(1)).await;
    let result = fetch(&pool(server.port), server.port, Replay::Idempotent).await;
    assert!(matches!(result, Err(SendError::Lost(_))), "{result:?}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1, "a fresh connection is not given a second chance");
}

#[test]
fn idle_connections_are_given_up_well_before_a_herd_server_closes_them() {
    let server = herd_transport::http::HEADER_READ_TIMEOUT;
    assert_eq!(herd_transport::http::HttpConfig::default().header_read_timeout, server);
    assert!(IDLE_TIMEOUT + Duration::from_secs(5) <= server, "{IDLE_TIMEOUT:?} against the server's {server:?}");
}
