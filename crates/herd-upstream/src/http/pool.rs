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
//! cannot abandon a response and keep the connection. A request that meets
//! a pooled connection the server has closed meanwhile is sent again on a
//! fresh one, but only when hyper hands it back unsent, so nothing ever runs
//! twice.

use super::client::{SendError, with_causes};
use bytes::Bytes;
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

/// Idle connections beyond this many are closed instead of kept.
const MAX_IDLE: usize = 256;

type Sender = SendRequest<Full<Bytes>>;

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
    sender: Sender,
    since: Instant,
}

impl Pool {
    pub(super) fn new(dial: Dial) -> Arc<Self> {
        Arc::new(Self { dial, idle: Mutex::new(VecDeque::new()) })
    }

    /// Sends `request` (origin-form URI, `Host` set) on an idle connection
    /// or a new one; the response's body gives the connection back when it
    /// has been read to the end.
    ///
    /// # Cancel safety
    /// Dropping the future closes the connection the request was on.
    pub(super) async fn send(
        self: &Arc<Self>,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<PooledBody>, SendError> {
        loop {
            let (mut sender, reused) = match self.checkout().await {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let back = Some((sender, Arc::downgrade(self)));
                    return Ok(response.map(|body| PooledBody { body, back }));
                }
                Err(mut err) => match err.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(SendError::Lost(with_causes(&err.into_error()))),
                },
            }
        }
    }

    /// The most recently used idle connection that is still open.
    async fn checkout(&self) -> Option<Sender> {
        loop {
            let Idle { mut sender, since } = self.idle.lock().pop_back()?;
            if sender.is_closed() || since.elapsed() > self.dial.idle_timeout {
                continue;
            }
            // It turns ready as soon as its connection has finished the
            // previous response; an error means the server closed it.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn checkin(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock();
        while idle.front().is_some_and(|oldest| now.duration_since(oldest.since) > self.dial.idle_timeout) {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE {
            idle.push_back(Idle { sender, since: now });
        }
    }

    async fn connect(&self) -> Result<Sender, SendError> {
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
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| SendError::Connect(with_causes(&e)))?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// A response body that returns its connection to the pool at its end.
#[derive(Debug)]
pub(super) struct PooledBody {
    body: Incoming,
    back: Option<(Sender, Weak<Pool>)>,
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = polled
            && let Some((sender, pool)) = self.back.take()
            && let Some(pool) = pool.upgrade()
        {
            pool.checkin(sender);
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
