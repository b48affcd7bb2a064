//! Where one message from the child goes (see the parent module).

use super::Shared;
use herd_proto::{Message, Notification, Request, Response, RpcError, code, method};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;

/// The progress token a request's params carry, as JSON text.
pub(super) fn progress_token_of_params(params: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Params<'a> {
        #[serde(rename = "_meta", borrow)]
        meta: Option<Meta<'a>>,
    }
    #[derive(Deserialize)]
    struct Meta<'a> {
        #[serde(rename = "progressToken", borrow)]
        token: Option<&'a RawValue>,
    }
    if !params.get().contains("progressToken") {
        return None;
    }
    let parsed: Params<'_> = serde_json::from_str(params.get()).ok()?;
    Some(parsed.meta?.token?.get().to_owned())
}

/// The token a progress notification names, as JSON text.
fn progress_token_of_notification(n: &Notification) -> Option<String> {
    #[derive(Deserialize)]
    struct Params<'a> {
        #[serde(rename = "progressToken", borrow)]
        token: &'a RawValue,
    }
    let params: Params<'_> = serde_json::from_str(n.params.as_deref()?.get()).ok()?;
    Some(params.token.get().to_owned())
}

pub(super) async fn deliver(shared: &Arc<Shared>, message: Message) {
    match message {
        Message::Response(response) => {
            let Some(id) = response.id.as_u64() else {
                tracing::debug!(server = shared.label, id = %response.id, "response to an id herd never sent");
                return;
            };
            let call = shared.state.lock().pending.remove(&id);
            if let Some(call) = call {
                let _ = call.answer.send(Ok(response));
            }
        }
        Message::Notification(n) if n.method == method::PROGRESS => {
            let Some(token) = progress_token_of_notification(&n) else { return };
            let state = shared.state.lock();
            let owner = state.pending.values().find(|p| p.token.as_deref() == Some(token.as_str()));
            if let Some(owner) = owner {
                let _ = owner.events.send(Message::Notification(n));
            }
        }
        Message::Notification(n) if n.method == method::LOG_MESSAGE || n.method == method::CANCELLED => {
            if let Err(Message::Notification(n)) = to_the_only_call(shared, Message::Notification(n)) {
                let params = n.params.as_deref().map(RawValue::get).unwrap_or_default();
                tracing::info!(server = shared.label, method = n.method, params, "from a server, no single caller");
            }
        }
        Message::Notification(n) => {
            let _ = shared.unsolicited.send(Message::Notification(n));
        }
        Message::Request(r) if r.method == method::PING => {
            reply(shared, Response::result(r.id, empty_object()));
        }
        Message::Request(r) => {
            if let Err(Message::Request(r)) = to_the_only_call(shared, Message::Request(r)) {
                refuse(shared, r);
            }
        }
    }
}

/// Hands `message` to the one call in flight; gives it back otherwise.
fn to_the_only_call(shared: &Shared, message: Message) -> Result<(), Message> {
    let state = shared.state.lock();
    let mut calls = state.pending.values();
    match (calls.next(), calls.next()) {
        (Some(only), None) => only.events.send(message).map_err(|e| e.0),
        _ => Err(message),
    }
}

fn refuse(shared: &Arc<Shared>, r: Request) {
    let in_flight = shared.state.lock().pending.len();
    let why = if in_flight == 0 {
        format!("herd: {} asked {} outside any call; there is no client to ask", shared.label, r.method)
    } else {
        format!(
            "herd: {} asked {} with {in_flight} calls in flight; cannot tell which client to ask",
            shared.label, r.method
        )
    };
    tracing::info!(server = shared.label, method = r.method, in_flight, "refused a request from a server");
    reply(shared, Response::error(r.id, &RpcError::new(code::INTERNAL_ERROR, why)));
}

/// Sends an answer without holding up the reader (the child may be
/// blocked writing to us while its stdin queue is full).
fn reply(shared: &Arc<Shared>, response: Response) {
    let shared = shared.clone();
    tokio::spawn(async move {
        let _ = shared.send(Message::Response(response).to_json()).await;
    });
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("{} is JSON")
}
