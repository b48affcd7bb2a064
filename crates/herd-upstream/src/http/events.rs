//! The messages in an SSE response body, for both kinds of stream a
//! session reads: the answer to one request and the session's GET stream.
//! Tracks what a resumption needs (the last event id, the server's retry
//! advice).

use crate::sse::Parser;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use herd_proto::Message;
use reqwest::header::CONTENT_TYPE;
use std::time::Duration;

/// Whether `response` is an SSE stream.
pub(super) fn is_sse(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// Why a stream gave no further message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The body ended or broke.
    Closed,
    /// No byte arrived within the idle limit.
    Idle,
    /// An event outgrew the message limit.
    TooLarge,
}

/// Reads messages out of one SSE body.
pub(super) struct Events<'a> {
    target: &'a str,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    parser: Parser,
    max_bytes: usize,
    /// The id of the last event read, to resume after it.
    pub(super) last_id: Option<String>,
    /// The server's reconnection advice (ms), if it gave one.
    pub(super) retry_ms: Option<u64>,
}

impl<'a> Events<'a> {
    /// The events of `response` from `target`, each at most `max_bytes`.
    pub(super) fn new(response: reqwest::Response, max_bytes: usize, target: &'a str) -> Self {
        let body = response.bytes_stream().boxed();
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
                let chunk = match idle {
                    Some(limit) => tokio::time::timeout(limit, self.body.next()).await.map_err(|_| End::Idle)?,
                    None => self.body.next().await,
                };
                match chunk {
                    Some(Ok(bytes)) => self.parser.feed(&bytes),
                    Some(Err(_)) | None => return Err(End::Closed),
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
