//! The router's side of a backend's [`Context`](herd_proto::Context) on
//! the stateless revision: notifications go to the request's own stream,
//! log messages only when the request asked for them, and questions to the
//! client are answered from the request's inputs or become part of its
//! `input_required` result. Once the request became a task, questions are
//! parked on the task instead, until `tasks/update` answers them.

use super::envelope::Envelope;
use super::inputs::Inputs;
use crate::outbox::SharedOutbox;
use crate::tasks::Task;
use herd_proto::{BoxFuture, LogLevel, Message, Notification, Peer, RpcError, code, method};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::sync::Arc;

/// A [`Peer`] bound to one stateless request.
pub(super) struct StatelessPeer {
    envelope: Envelope,
    inputs: Arc<Inputs>,
    outbox: Option<SharedOutbox>,
    /// The task the request became, if it did.
    task: Mutex<Option<Arc<Task>>>,
}

impl StatelessPeer {
    pub(super) fn new(envelope: Envelope, inputs: Arc<Inputs>, outbox: Option<SharedOutbox>) -> Self {
        Self { envelope, inputs, outbox, task: Mutex::new(None) }
    }

    /// Makes the handler's later questions park on `task`, unless it
    /// already asked one that goes back in the `input_required` result
    /// (then false, and nothing changes).
    pub(super) fn become_task(&self, task: &Arc<Task>) -> bool {
        let mut slot = self.task.lock();
        if self.inputs.has_questions() {
            return false;
        }
        *slot = Some(task.clone());
        true
    }
}

impl StatelessPeer {
    /// Whether a `notifications/message` with these params passes the
    /// request's log level (none set: nothing passes).
    fn wants_log(&self, params: &RawValue) -> bool {
        #[derive(serde::Deserialize)]
        struct Level {
            level: LogLevel,
        }
        let Some(min) = self.envelope.log_level else { return false };
        serde_json::from_str::<Level>(params.get()).is_ok_and(|l| l.level >= min)
    }
}

/// The client capability a question needs.
fn capability_for(method: &str) -> Option<&'static str> {
    match method {
        method::SAMPLING_CREATE_MESSAGE => Some("sampling"),
        method::ELICITATION_CREATE => Some("elicitation"),
        method::ROOTS_LIST => Some("roots"),
        _ => None,
    }
}

impl Peer for StatelessPeer {
    fn notify(&self, method: &str, params: Box<RawValue>) {
        // Log messages a relay passes on raw are filtered here too.
        if method == method::LOG_MESSAGE && !self.wants_log(&params) {
            return;
        }
        if let Some(outbox) = &self.outbox {
            let message = Message::Notification(Notification::new(method, Some(params)));
            let _ = outbox.send_notification(message.to_json());
        }
    }

    fn request(
        &self,
        key: Option<&str>,
        method: &str,
        params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        if let Some(capability) = capability_for(method)
            && self.envelope.capabilities.get(capability).is_none()
        {
            let why =
                format!("{method} needs the client capability {capability:?}, which this request did not declare");
            let err = RpcError::new(code::MISSING_CLIENT_CAPABILITY, why)
                .with_data(json!({ "requiredCapabilities": { capability: {} } }));
            return Box::pin(async move { Err(err) });
        }
        let task = self.task.lock();
        if let Some(task) = task.as_ref() {
            let answer = task.ask(key, method, params);
            let method = method.to_owned();
            return Box::pin(async move {
                let answer = answer
                    .await
                    .map_err(|_| RpcError::internal(format!("the task ended before {method} was answered")))?;
                serde_json::value::to_raw_value(&answer).map_err(|e| RpcError::internal(e.to_string()))
            });
        }
        match self.inputs.answer(key, method, params) {
            Some(answer) => {
                let answer = serde_json::value::to_raw_value(&answer).map_err(|e| RpcError::internal(e.to_string()));
                Box::pin(async move { answer })
            }
            // The router answers `input_required` and drops the handler;
            // a question awaited elsewhere (a relay's task) ends with it.
            None => {
                let ended = self.inputs.ended();
                let method = method.to_owned();
                Box::pin(async move {
                    ended.cancelled().await;
                    Err(RpcError::internal(format!("{method} goes to the client in the input_required result")))
                })
            }
        }
    }

    fn log_level(&self) -> Option<LogLevel> {
        self.envelope.log_level
    }

    fn logs_without_level(&self) -> bool {
        false
    }

    fn client_capabilities(&self) -> Option<&Value> {
        Some(&self.envelope.capabilities)
    }
}
