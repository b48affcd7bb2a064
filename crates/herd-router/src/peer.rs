//! The router's side of a backend's [`Context`](herd_proto::Context): how
//! a handler's notifications and server-to-client requests reach the client
//! of the request that caused them.

use crate::Session;
use crate::outbox::{Closed, SharedOutbox};
use herd_proto::{BoxFuture, LogLevel, Message, Notification, Peer, Request, RequestId, RpcError, method};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;

/// A [`Peer`] bound to one request of one session.
pub(crate) struct RequestPeer {
    session: Arc<Session>,
    outbox: Option<SharedOutbox>,
}

impl RequestPeer {
    pub(crate) fn new(session: Arc<Session>, outbox: Option<SharedOutbox>) -> Self {
        Self { session, outbox }
    }

    fn target(&self) -> Option<SharedOutbox> {
        self.outbox.clone().or_else(|| self.session.standalone())
    }
}

impl Peer for RequestPeer {
    fn notify(&self, method: &str, params: Box<RawValue>) {
        if let Some(target) = self.target() {
            let message = Message::Notification(Notification::new(method, Some(params)));
            let _ = target.send(message.to_json());
        }
    }

    fn request(
        &self,
        _key: Option<&str>,
        method: &str,
        params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let session = &self.session;
        let Some(target) = self.target() else {
            let err = RpcError::internal(format!("the client has no open stream to receive {method}"));
            return Box::pin(async move { Err(err) });
        };
        let id = session.next_outbound_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        session.pending.lock().insert(id, reply);
        let message = Message::Request(Request::new(RequestId::number(id), method, Some(params)));
        if target.send(message.to_json()).is_err() {
            session.pending.lock().remove(&id);
            let err = RpcError::internal(format!("the client's stream closed before {method} could be sent"));
            return Box::pin(async move { Err(err) });
        }
        let timeout = session.shared.upgrade().map(|s| s.config.client_request_timeout).unwrap_or_default();
        let guard = Unanswered { session: session.clone(), id, target: Some(target) };
        let method = method.to_owned();
        Box::pin(async move {
            let outcome = tokio::time::timeout(timeout, answer).await;
            match outcome {
                Ok(Ok(answer)) => {
                    guard.answered();
                    answer
                }
                Ok(Err(_)) => Err(RpcError::internal(format!("the session ended before the client answered {method}"))),
                Err(_) => Err(RpcError::internal(format!("the client did not answer {method} within {timeout:?}"))),
            }
        })
    }

    fn log_level(&self) -> Option<LogLevel> {
        self.session.log_level()
    }

    fn client_capabilities(&self) -> Option<&Value> {
        self.session.negotiated.get().map(|n| &n.client_capabilities)
    }

    fn close_stream(&self) {
        if let Some(outbox) = &self.outbox {
            outbox.close();
        }
    }
}

/// Withdraws a server-to-client request nobody will wait for any more: the
/// pending entry goes, and the client is told with `notifications/cancelled`.
struct Unanswered {
    session: Arc<Session>,
    id: u64,
    target: Option<SharedOutbox>,
}

impl Unanswered {
    fn answered(mut self) {
        self.target = None;
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        self.session.pending.lock().remove(&self.id);
        if let Some(target) = self.target.take() {
            let _ = notify_cancelled(&*target, self.id);
        }
    }
}

fn notify_cancelled(target: &dyn crate::Outbox, id: u64) -> Result<(), Closed> {
    let params = serde_json::json!({ "requestId": id, "reason": "the request that needed this answer ended" });
    let raw = serde_json::value::to_raw_value(&params).map_err(|_| Closed)?;
    target.send(Message::Notification(Notification::new(method::CANCELLED, Some(raw))).to_json())
}
