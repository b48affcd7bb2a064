//! The messages in an SSE response body, for both kinds of stream a
//! session reads: the answer to one request and the session's GET stream.
//! Tracks what a resumption needs (the last event id, the server's retry
//! advice).

use super::client::Body;
use crate::sse::Parser;
use herd_proto::Message;
use http::Response;
use http::header::CONTENT_TYPE;
use http_body_util::BodyExt;
use std::time::Duration;

/// Whether `response` is an SSE stream.
pub(super) fn is_sse(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// Why a stream gave no further message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The body ended: the server closed the stream.
    Closed,
    /// The body broke off (the connection failed).
    Broken,
    /// No byte arrived within the idle limit.
    Idle,
    /// An event outgrew the message limit.
    TooLarge,
}

/// Reads messages out of one SSE body.
pub(super) struct Events<'a> {
    target: &'a str,
    body: Body,
    parser: Parser,
    max_bytes: usize,
    /// The id of the last event read, to resume after it.
    pub(super) last_id: Option<String>,
    /// The server's reconnection advice (ms), if it gave one.
    pub(super) retry_ms: Option<u64>,
}

impl<'a> Events<'a> {
    /// The events of `response` from `target`, each at most `max_bytes`.
    pub(super) fn new(response: Response<Body>, max_bytes: usize, target: &'a str) -> Self {
        let body = response.into_body();
        Self { target, body, parser: Parser::default(), max_bytes, last_id: None, retry_ms: None }
    }

    /// The next message. With `idle`, the stream counts as ended once that
    /// long passes without a byte (comments and keep-alives count).
    /// Events without data and unreadable ones are skipped.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes already read stay buffered for the next call.
    pub(super) async fn next(&mut self, idle: Option<Duration>) -> Result<Message, End> {
        loop {
            let Some(event) = self.parser.next_event(self.max_bytes).map_err(|_| End::TooLarge)? else {
                let frame = match idle {
                    Some(limit) => tokio::time::timeout(limit, self.body.frame()).await.map_err(|_| End::Idle)?,
                    None => self.body.frame().await,
                };
                match frame {
                    Some(Ok(frame)) => {
                        if let Ok(bytes) = frame.into_data() {
                            self.parser.feed(&bytes);
                        }
                    }
                    Some(Err(_)) => return Err(End::Broken),
                    None => return Err(End::Closed),
                }
                continue;
            };
            if event.id.is_some() {
                self.last_id = event.id;
            }
            self.retry_ms = event.retry_ms.or(self.retry_ms);
            if event.data.is_empty() {
                continue;
            }
            match Message::parse(event.data.as_bytes()) {
                Ok(message) => return Ok(message),
                Err(e) => tracing::debug!(upstream = %self.target, %e, "skipping an unreadable event"),
            }
        }
    }
}
