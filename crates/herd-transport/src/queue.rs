//! A bounded queue of messages to one client, as an [`Outbox`].
//!
//! A client that stops reading must not make herd buffer without end. What
//! happens when the queue is full depends on what is sent:
//!
//! - a notification ([`Outbox::send_notification`]) is dropped; drops are
//!   counted and logged as a warning at the 1st, 2nd, 4th, 8th, … drop, so
//!   a stuck client cannot flood the log either;
//! - a server-to-client request ([`Outbox::send`]) is refused, and the
//!   handler that asked gets an error at once instead of waiting for an
//!   answer to a question never sent;
//! - an answer to the client's own request ([`BoundedOutbox::send_answer`])
//!   waits for room: dropping it would leave the client waiting forever.
//!   Only the task of that request waits, never a loop serving others.

use herd_router::{Closed, Outbox};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::{self, error::TrySendError};

/// The sending side of a bounded message queue.
pub(crate) struct BoundedOutbox {
    tx: mpsc::Sender<String>,
    dropped: AtomicU64,
    /// Names the stream in the drop warning (`stdio`, `subscriptions/listen`).
    stream: &'static str,
}

impl BoundedOutbox {
    /// A queue of at most `capacity` messages (at least one).
    pub(crate) fn channel(capacity: usize, stream: &'static str) -> (Arc<Self>, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Arc::new(Self { tx, dropped: AtomicU64::new(0), stream }), rx)
    }

    /// Queues an answer, waiting for room.
    ///
    /// # Cancel safety
    /// Cancel safe: a cancelled call queued nothing.
    pub(crate) async fn send_answer(&self, message: String) -> Result<(), Closed> {
        self.tx.send(message).await.map_err(|_| Closed)
    }

    /// Notifications dropped so far because the queue was full.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Outbox for BoundedOutbox {
    fn send(&self, message: String) -> Result<(), Closed> {
        self.tx.try_send(message).map_err(|_| Closed)
    }

    fn send_notification(&self, message: String) -> Result<(), Closed> {
        match self.tx.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(_)) => Err(Closed),
            Err(TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        stream = self.stream,
                        dropped,
                        capacity = self.tx.max_capacity(),
                        "the client is not reading its stream; notifications dropped"
                    );
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_notifications_refuses_requests_and_holds_answers() {
        let (queue, mut rx) = BoundedOutbox::channel(2, "test");
        queue.send_notification("n1".into()).unwrap();
        queue.send("r1".into()).unwrap();
        // Full now.
        assert_eq!(queue.send_notification("n2".into()), Ok(()));
        assert_eq!(queue.send_notification("n3".into()), Ok(()));
        assert_eq!(queue.dropped(), 2);
        assert_eq!(queue.send("r2".into()), Err(Closed));
        let held = tokio::spawn({
            let queue = queue.clone();
            async move { queue.send_answer("a1".into()).await }
        });
        assert_eq!(rx.recv().await.as_deref(), Some("n1"));
        assert_eq!(held.await.unwrap(), Ok(()));
        let rest: Vec<String> = [rx.recv().await, rx.recv().await].into_iter().flatten().collect();
        assert_eq!(rest, ["r1", "a1"]);
        drop(rx);
        assert_eq!(queue.send_notification("late".into()), Err(Closed));
    }
}
