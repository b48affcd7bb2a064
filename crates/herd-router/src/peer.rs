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
            let _ = target.send_notification(message.to_json());
        }
    }

    fn request(
        &self,
        key: Option<&str>,
        method: &str,
        params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let session = &self.session;
        let params = match key {
            Some(key) => with_input_key(params, key),
            None => params,
        };
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
            let err = RpcError::internal(format!(
                "{method} could not be sent: the client's stream is closed, or full because the client is not reading it"
            ));
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
    target.send_notification(Message::Notification(Notification::new(method::CANCELLED, Some(raw))).to_json())
}

/// `params` with the handler's key for the question in
/// `_meta[INPUT_KEY_META]` (see [`herd_proto::INPUT_KEY_META`]); unchanged
/// when they are not an object.
fn with_input_key(params: Box<RawValue>, key: &str) -> Box<RawValue> {
    let Ok(mut map) = serde_json::from_str::<serde_json::Map<String, Value>>(params.get()) else { return params };
    let meta = map.entry("_meta").or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(herd_proto::INPUT_KEY_META.into(), Value::String(key.to_owned()));
    }
    serde_json::value::to_raw_value(&map).unwrap_or(params)
}
