//! Asking the client under a key, and checking what it answered.
//!
//! The fixtures of the 2026-07-28 suite ask through [`Context::ask`], so one
//! handler serves every revision: a session client gets a server-to-client
//! request, a stateless client an `input_required` result whose
//! `inputRequests` carry the questions under these keys. On the stateless
//! wire the answers arrive in the retried request (`inputResponses`), typed
//! by nobody, so they are checked here before use: an answer that is not
//! the result the method defines (an `ElicitResult` whose accepted form
//! fits the schema that was asked, a `CreateMessageResult`, a
//! `ListRootsResult`) is a JSON-RPC invalid-params error, never a result.
//!
//! Errors of `ask` itself (the core's missing-capability error, or its
//! signal that the answer is still to come) are passed on untouched.

use super::sampling::answer_text;
use herd_proto::{Context, RpcError, method};
use serde_json::{Map, Value, json};

/// An `elicitation/create` question: a message and a flat form schema.
pub(super) struct Form {
    pub(super) message: &'static str,
    /// `(field, JSON type)`, all required.
    pub(super) fields: &'static [(&'static str, &'static str)],
}

impl Form {
    /// The `requestedSchema`: every field required, no other keyword.
    pub(super) fn schema(&self) -> Value {
        let properties: Map<String, Value> =
            self.fields.iter().map(|(name, kind)| ((*name).to_owned(), json!({ "type": kind }))).collect();
        let required: Vec<&str> = self.fields.iter().map(|(name, _)| *name).collect();
        json!({ "type": "object", "properties": properties, "required": required })
    }

    /// The params of the `elicitation/create` request.
    pub(super) fn params(&self) -> Value {
        json!({ "message": self.message, "requestedSchema": self.schema() })
    }
}

/// What the user did with a form.
#[derive(Debug)]
pub(super) enum Reply {
    /// `accept`, with content that fits the form.
    Accepted(Map<String, Value>),
    /// `decline` or `cancel`.
    Refused(String),
}

/// Asks `form` under `key` and checks the answer.
pub(super) async fn elicit(cx: &Context, key: &str, form: &Form) -> Result<Reply, RpcError> {
    let answer = cx.ask(key, method::ELICITATION_CREATE, &form.params()).await?;
    check_reply(key, form, answer)
}

/// Checks an `ElicitResult`: a known action and, when accepted, content
/// with every field of the form, of its type.
pub(super) fn check_reply(key: &str, form: &Form, answer: Value) -> Result<Reply, RpcError> {
    let bad = |why: String| RpcError::invalid_params(format!("the answer to {key:?} (elicitation/create) {why}"));
    let Value::Object(mut answer) = answer else {
        return Err(bad(format!("is not an ElicitResult object: {answer}")));
    };
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => {}
        Some(action @ ("decline" | "cancel")) => return Ok(Reply::Refused(action.to_owned())),
        other => return Err(bad(format!("has no valid action (accept, decline, cancel): {other:?}"))),
    }
    let Some(Value::Object(content)) = answer.remove("content") else {
        return Err(bad("accepts without a content object".into()));
    };
    for (field, kind) in form.fields {
        let fits = match content.get(*field) {
            Some(Value::String(_)) => *kind == "string",
            Some(Value::Bool(_)) => *kind == "boolean",
            Some(Value::Number(n)) => *kind == "number" || (*kind == "integer" && (n.is_i64() || n.is_u64())),
            _ => false,
        };
        if !fits {
            return Err(bad(format!("lacks the {kind} field {field:?}")));
        }
    }
    Ok(Reply::Accepted(content))
}

/// The params of a `sampling/createMessage` request for one user message.
pub(super) fn sampling_params(prompt: &str, max_tokens: u64) -> Value {
    json!({
        "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
        "maxTokens": max_tokens,
    })
}

/// Asks the client's model `prompt` under `key`; the text it answered.
pub(super) async fn sample(cx: &Context, key: &str, prompt: &str, max_tokens: u64) -> Result<String, RpcError> {
    let answer = cx.ask(key, method::SAMPLING_CREATE_MESSAGE, &sampling_params(prompt, max_tokens)).await?;
    check_sample(key, &answer)
}

/// Checks a `CreateMessageResult` (an object with a `content` block or
/// array of blocks) and returns its text.
pub(super) fn check_sample(key: &str, answer: &Value) -> Result<String, RpcError> {
    match answer.get("content") {
        Some(Value::Object(_) | Value::Array(_)) => Ok(answer_text(answer)),
        _ => Err(RpcError::invalid_params(format!(
            "the answer to {key:?} (sampling/createMessage) is not a CreateMessageResult: {answer}"
        ))),
    }
}

/// Asks for the client's roots under `key`; their URIs.
pub(super) async fn list_roots(cx: &Context, key: &str) -> Result<Vec<String>, RpcError> {
    let answer = cx.ask(key, method::ROOTS_LIST, &json!({})).await?;
    check_roots(key, &answer)
}

/// Checks a `ListRootsResult`: a `roots` array of objects with a `uri`.
pub(super) fn check_roots(key: &str, answer: &Value) -> Result<Vec<String>, RpcError> {
    let uris: Option<Vec<String>> = answer
        .get("roots")
        .and_then(Value::as_array)
        .and_then(|roots| roots.iter().map(|r| r.get("uri").and_then(Value::as_str).map(str::to_owned)).collect());
    uris.ok_or_else(|| {
        RpcError::invalid_params(format!("the answer to {key:?} (roots/list) is not a ListRootsResult: {answer}"))
    })
}
