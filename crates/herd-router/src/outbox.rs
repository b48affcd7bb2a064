//! Where messages for a client go.
//!
//! A transport gives the router an [`Outbox`] per request (an HTTP request's
//! SSE stream, stdout for stdio) and one per session for messages that
//! concern no request (the HTTP GET stream). Messages are serialized JSON-RPC
//! text; the transport only frames them.

use std::sync::Arc;
use tokio::sync::mpsc;

/// The outbox no longer accepts messages (its stream ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client's stream is closed")]
pub struct Closed;

/// A destination for serialized messages to the client.
pub trait Outbox: Send + Sync {
    /// Queues one message. Must not block. A bounded outbox that is full
    /// refuses it, as if closed: the sender learns that the client will not
    /// see it (a server-to-client request fails instead of waiting for an
    /// answer that cannot come).
    fn send(&self, message: String) -> Result<(), Closed>;

    /// Queues a message the client can do without (a notification). Must
    /// not block. A bounded outbox that is full drops it, counts the drop and
    /// answers `Ok`, so one slow reader neither stalls nor unsubscribes
    /// anyone; `Err` means the stream is gone. By default the same as
    /// [`send`](Self::send).
    fn send_notification(&self, message: String) -> Result<(), Closed> {
        self.send(message)
    }

    /// Ends the stream early so the client resumes it elsewhere; by default
    /// nothing happens.
    fn close(&self) {}
}

impl Outbox for mpsc::UnboundedSender<String> {
    fn send(&self, message: String) -> Result<(), Closed> {
        mpsc::UnboundedSender::send(self, message).map_err(|_| Closed)
    }
}

/// A shared outbox.
pub type SharedOutbox = Arc<dyn Outbox>;
