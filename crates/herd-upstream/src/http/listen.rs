//! The session's own SSE stream (an HTTP GET on the MCP endpoint): the way
//! messages the server sends outside any request reach the sink given to
//! [`Upstream::listen`](crate::Upstream::listen).
//!
//! One task per registered sink. It waits until the session is open, then
//! keeps a GET stream on it. A stream that ends, breaks or stays silent
//! longer than `listen_idle_timeout` is resumed with `Last-Event-ID`; the
//! wait before each attempt starts at `reconnect_delay` and doubles up to
//! `max_reconnect_delay` while attempts bring nothing. A 404 means the
//! server lost the stream (it is opened afresh) or the session (it is
//! opened again, shared with requests that meet the same 404); a session
//! opened again by anyone moves the stream to it at once.
//!
//! The task stops for good when the server offers no GET stream (405),
//! when the sink's receiver is dropped, and when the
//! [`HttpUpstream`](super::HttpUpstream) is dropped or listens with another sink. Stopping
//! drops the sink, so its receiver sees the end.

use super::events::{End, Events, is_sse};
use super::{Handshake, Inner};
use crate::UpstreamError;
use herd_proto::Message;
use http::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How one attempt at following the stream ended.
enum Ended {
    /// The stream was open and ended, broke or went idle.
    Dropped {
        /// Whether any message came through.
        delivered: bool,
        /// The server's reconnection advice (ms).
        retry_ms: Option<u64>,
    },
    /// 404: the server knows no such stream or session.
    NotFound,
    /// 405: the server offers no GET stream.
    Unsupported,
    /// The stream could not be opened.
    Failed(UpstreamError),
}

/// Follows the session's GET stream into `sink` until `stop`, the sink
/// closes, or the server says it has no such stream.
pub(super) async fn run(inner: Arc<Inner>, sink: mpsc::UnboundedSender<Message>, stop: CancellationToken) {
    let target = inner.shown.as_str();
    let mut sessions = inner.session.subscribe();
    let mut backoff = Backoff::new(inner.config.reconnect_delay, inner.config.max_reconnect_delay);
    let mut resume: Option<String> = None;
    loop {
        let Some(session) = sessions.borrow_and_update().clone() else {
            tokio::select! {
                () = stop.cancelled() => return,
                () = sink.closed() => return,
                changed = sessions.changed() => if changed.is_err() { return } else { continue },
            }
        };
        let ended = tokio::select! {
            () = stop.cancelled() => return,
            () = sink.closed() => return,
            _ = sessions.changed() => {
                // Opened again elsewhere: the old stream is gone with its session.
                resume = None;
                continue;
            }
            ended = inner.follow(&session, &mut resume, &sink) => ended,
        };
        let wait = match ended {
            Ended::Unsupported => {
                tracing::debug!(upstream = target, "the upstream offers no GET stream (405)");
                return;
            }
            Ended::Dropped { delivered, retry_ms } => {
                if delivered {
                    backoff.reset();
                }
                let wait = backoff.next();
                retry_ms.map_or(wait, |ms| wait.max(Duration::from_millis(ms)).min(backoff.max))
            }
            Ended::NotFound if resume.is_some() => {
                // The stream is gone; the session may not be: try a fresh stream first.
                resume = None;
                backoff.next()
            }
            Ended::NotFound => {
                if session.session_id.is_some() {
                    tracing::debug!(upstream = target, "the upstream forgot the session; opening a new one");
                    let reopened = tokio::select! {
                        () = stop.cancelled() => return,
                        reopened = inner.open(Some(&session)) => reopened,
                    };
                    if let Err(err) = reopened {
                        tracing::debug!(upstream = target, %err, "could not open a new session for the GET stream");
                    }
                }
                backoff.next()
            }
            Ended::Failed(err) => {
                tracing::debug!(upstream = target, %err, "the GET stream failed");
                backoff.next()
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = sink.closed() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

impl Inner {
    /// Opens the stream on `session` (after `resume`, if set) and forwards
    /// its messages to `sink` until it ends; `resume` is left at the last
    /// event seen.
    async fn follow(
        &self,
        session: &Arc<Handshake>,
        resume: &mut Option<String>,
        sink: &mpsc::UnboundedSender<Message>,
    ) -> Ended {
        let response = match self.get_stream(Some(session), resume.as_deref()).await {
            Ok(response) => response,
            Err(err) => return Ended::Failed(err),
        };
        match response.status() {
            StatusCode::METHOD_NOT_ALLOWED => return Ended::Unsupported,
            StatusCode::NOT_FOUND => return Ended::NotFound,
            _ => {}
        }
        let response = match self.check_status(response).await {
            Ok(response) if is_sse(&response) => response,
            Ok(_) => return Ended::Failed(self.protocol("the GET stream is not text/event-stream".into())),
            Err(err) => return Ended::Failed(err),
        };
        let mut events = Events::new(response, self.config.max_message_bytes, &self.shown);
        let mut delivered = false;
        let end = loop {
            match events.next(Some(self.config.listen_idle_timeout)).await {
                Ok(message) => {
                    delivered = true;
                    if sink.send(message).is_err() {
                        break End::Closed;
                    }
                }
                Err(end) => break end,
            }
        };
        if let Some(id) = events.last_id.take() {
            *resume = Some(id);
        }
        if end == End::TooLarge {
            // Resuming would replay the same event: start a fresh stream.
            tracing::warn!(upstream = %self.shown, "an event on the GET stream was too large; starting over");
            *resume = None;
        }
        Ended::Dropped { delivered, retry_ms: events.retry_ms }
    }
}

/// Waits between attempts: doubling from `first` up to `max`.
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Self {
        Self { first, max, next: first }
    }

    fn reset(&mut self) {
        self.next = self.first;
    }

    fn next(&mut self) -> Duration {
        let wait = self.next.min(self.max);
        self.next = wait.saturating_mul(2).min(self.max);
        wait
    }
}
