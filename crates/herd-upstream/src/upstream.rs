//! The client-connection contract the relay is written against.

use crate::UpstreamError;
use herd_proto::{BoxFuture, Extra, Message, Notification, RequestId, Response};
use serde_json::value::RawValue;
use tokio::sync::mpsc;

/// One request in flight upstream.
pub struct Call {
    /// The id the upstream knows the request by (for cancellation).
    pub id: RequestId,
    /// Resolves with the upstream's response.
    pub response: BoxFuture<'static, Result<Response, UpstreamError>>,
    /// Receives one `()` each time the server ends the call's SSE stream
    /// before the response and asks to be polled again (SSE polling,
    /// protocol 2025-11-25); the upstream resumes the stream itself, and a
    /// relay ends its own client's stream the same way. Every message the
    /// server sent before the close is in `events` before the `()` is sent.
    /// `None` for upstreams whose answers are never cut like that.
    pub stream_closes: Option<mpsc::UnboundedReceiver<()>>,
}

impl Call {
    /// A call that resolves with `response` and whose answer is never cut.
    pub fn new(id: RequestId, response: BoxFuture<'static, Result<Response, UpstreamError>>) -> Self {
        Self { id, response, stream_closes: None }
    }
}

/// A client connection to another MCP server.
pub trait Upstream: Send + Sync + 'static {
    /// Sends a request under a fresh id. Messages the server sends while
    /// answering it go to `events`; the returned [`Call`] resolves with the
    /// response. Dropping the call abandons the request (the relay sends
    /// `notifications/cancelled` itself).
    fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        extra: Extra,
        events: mpsc::UnboundedSender<Message>,
    ) -> Call;

    /// Sends a notification.
    fn notify(&self, notification: Notification) -> BoxFuture<'static, Result<(), UpstreamError>>;

    /// Answers a request the server sent us.
    fn respond(&self, response: Response) -> BoxFuture<'static, Result<(), UpstreamError>>;

    /// A short name for messages, e.g. the URL.
    fn describe(&self) -> &str;

    /// Registers `sink` for what the server sends outside any request: its
    /// own `notifications/*/list_changed`, `notifications/resources/updated`,
    /// log messages, and requests such as `ping` (answer those with
    /// [`Upstream::respond`]). A later call replaces the sink. The upstream
    /// stops delivering once the sink's receiver is dropped, and drops the
    /// sink when it can never deliver (so the receiver sees the end).
    ///
    /// The default drops `sink` at once: the upstream has no such channel.
    fn listen(&self, sink: mpsc::UnboundedSender<Message>) {
        drop(sink);
    }
}
