//! Plain-TCP HTTP/1.1 connections to one upstream, kept open between
//! requests.
//!
//! The hub's hop to an agent is a stream of small exchanges, and a general
//! client's machinery (URL handling, redirect and proxy policy, a pool keyed
//! by scheme and authority) was about a third of the hub's client-side CPU
//! per call. This pool does only what a session needs: it dials one
//! address, sends one request at a time per connection, and takes a
//! connection back once its response has been read to the end.
//!
//! A response dropped before its end takes its connection with it: HTTP/1.1
//! cannot abandon a response and keep the connection.
//!
//! A server closes a connection that stayed idle too long, and a request
//! may go out on it at that moment. Idle connections are therefore given
//! up before a herd server would close them (`Dial::idle_timeout`), and a
//! request that meets a pooled connection closed under it is sent again:
//! - on another connection, when hyper hands it back unsent (it never
//!   left);
//! - once, on a fresh connection, when it failed before a single byte of
//!   answer came and running it twice is harmless (`Replay::Idempotent`).
//!
//! Any other request that failed that way gets an error saying it may have
//! reached the server: only the caller knows whether to try again.

use super::client::{SendError, with_causes};
use super::replay::Replay;
use bytes::Bytes;
use counted::{Counted, ReadCount};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

mod counted;

/// Idle connections beyond this many are closed instead of kept.
const MAX_IDLE: usize = 256;

/// One connection: its request sender and how much it has read.
#[derive(Debug)]
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    read: ReadCount,
}

/// Where and how to dial.
#[derive(Debug, Clone)]
pub(super) struct Dial {
    /// A host name or an IP literal (without brackets).
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) connect_timeout: Duration,
    pub(super) keepalive: Duration,
    /// An idle connection older than this is closed, not reused.
    pub(super) idle_timeout: Duration,
}

/// The connections to one upstream address.
pub(super) struct Pool {
    dial: Dial,
    /// Most recently used at the back.
    idle: Mutex<VecDeque<Idle>>,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

impl Pool {
    pub(super) fn new(dial: Dial) -> Arc<Self> {
        Arc::new(Self { dial, idle: Mutex::new(VecDeque::new()) })
    }

    /// Sends `request` (origin-form URI, `Host` set) on an idle connection
    /// or a new one; the response's body gives the connection back when it
    /// has been read to the end. A request that meets a connection closed
    /// under it is sent again as `replay` allows (see the module docs).
    ///
    /// # Cancel safety
    /// Dropping the future closes the connection the request was on.
    pub(super) async fn send(
        self: &Arc<Self>,
        mut request: Request<Full<Bytes>>,
        replay: Replay,
    ) -> Result<Response<PooledBody>, SendError> {
        let mut fresh_only = false;
        loop {
            let idle = if fresh_only { None } else { self.checkout().await };
            let (mut conn, idle_for) = match idle {
                Some((conn, idle_for)) => (conn, Some(idle_for)),
                None => (self.connect().await?, None),
            };
            // Kept for a second attempt, but only when one may follow.
            let spare = (idle_for.is_some() && replay == Replay::Idempotent).then(|| copy(&request));
            let read_before = conn.read.get();
            let err = match conn.sender.try_send_request(request).await {
                Ok(response) => {
                    let back = Some((conn, Arc::downgrade(self)));
                    return Ok(response.map(|body| PooledBody { body, back }));
                }
                Err(mut err) => match (err.take_message(), idle_for) {
                    (Some(unsent), Some(_)) => {
                        request = unsent;
                        continue;
                    }
                    _ => with_causes(&err.into_error()),
                },
            };
            let Some(idle_for) = idle_for.filter(|_| conn.read.get() == read_before) else {
                // A fresh connection, or the server had begun to answer.
                return Err(SendError::Lost(err));
            };
            let Some(spare) = spare else {
                return Err(SendError::Lost(format!(
                    "{err} (a connection idle for {:.1}s closed before any answer; the request may have reached \
                     the server, so it was not sent again)",
                    idle_for.as_secs_f64()
                )));
            };
            tracing::debug!(%err, "a reused connection closed before any answer; sending again on a fresh one");
            request = spare;
            fresh_only = true;
        }
    }

    /// The most recently used idle connection that is still open, and how
    /// long it was idle.
    async fn checkout(&self) -> Option<(Conn, Duration)> {
        loop {
            let Idle { mut conn, since } = self.idle.lock().pop_back()?;
            let idle_for = since.elapsed();
            if conn.sender.is_closed() || idle_for > self.dial.idle_timeout {
                continue;
            }
            // It turns ready as soon as its connection has finished the
            // previous response; an error means the server closed it.
            if conn.sender.ready().await.is_ok() {
                return Some((conn, idle_for));
            }
        }
    }

    fn checkin(&self, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock();
        while idle.front().is_some_and(|oldest| now.duration_since(oldest.since) > self.dial.idle_timeout) {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE {
            idle.push_back(Idle { conn, since: now });
        }
    }

    async fn connect(&self) -> Result<Conn, SendError> {
        let dial = &self.dial;
        let stream = tokio::time::timeout(dial.connect_timeout, TcpStream::connect((dial.host.as_str(), dial.port)))
            .await
            .map_err(|_| {
                SendError::Connect(format!("no connection within {:.1}s", dial.connect_timeout.as_secs_f64()))
            })?
            .map_err(|e| SendError::Connect(with_causes(&e)))?;
        // Small messages go out at once; a dead peer is noticed by the kernel.
        let _ = stream.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new().with_time(dial.keepalive);
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
        let (stream, read) = Counted::new(stream);
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| SendError::Connect(with_causes(&e)))?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "upstream connection ended with an error");
            }
        });
        Ok(Conn { sender, read })
    }
}

/// A copy of `request` to send a second time.
fn copy(request: &Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// A response body that returns its connection to the pool at its end.
#[derive(Debug)]
pub(super) struct PooledBody {
    body: Incoming,
    back: Option<(Conn, Weak<Pool>)>,
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = polled
            && let Some((conn, pool)) = self.back.take()
            && let Some(pool) = pool.upgrade()
        {
            pool.checkin(conn);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
