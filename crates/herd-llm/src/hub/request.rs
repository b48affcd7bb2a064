//! A client's request as the relay reads and changes it: the JSON body
//! checked (size, nesting), its `model` read, a preset's system prompt
//! and parameters applied, usage asked for on a stream, and `model` set
//! to the provider each try goes to. Everything else passes unchanged.

use super::error::{RelayError, Shape};
use crate::wire::Preset;
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// The relayed endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Chat,
    Completions,
    Embeddings,
    Messages,
}

impl Endpoint {
    /// Relative to a provider's base URL (one of `wire::ENDPOINTS`).
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Chat => "chat/completions",
            Self::Completions => "completions",
            Self::Embeddings => "embeddings",
            Self::Messages => "messages",
        }
    }

    /// The shape of its error answers.
    pub(crate) fn shape(self) -> Shape {
        if self == Self::Messages { Shape::Anthropic } else { Shape::OpenAi }
    }

    /// The hub's route.
    pub(crate) fn route(self) -> &'static str {
        match self {
            Self::Chat => "/v1/chat/completions",
            Self::Completions => "/v1/completions",
            Self::Embeddings => "/v1/embeddings",
            Self::Messages => "/v1/messages",
        }
    }
}

/// A request ready to relay.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) model: String,
    pub(crate) body: Map<String, Value>,
    /// The client asked for a stream.
    pub(crate) stream: bool,
    /// Usage was asked for on the client's behalf: take it out again.
    pub(crate) strip_usage: bool,
}

/// Reads a request body: a JSON object no deeper than `max_depth`, with a
/// string `model`.
pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Prepared, RelayError> {
    herd_proto::check_depth(bytes, max_depth)
        .map_err(|_| RelayError::BadRequest(format!("the JSON body nests deeper than {max_depth} levels")))?;
    let body: Map<String, Value> = serde_json::from_slice(bytes)
        .map_err(|e| RelayError::BadRequest(format!("the body is not a JSON object: {e}")))?;
    let model = match body.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return Err(RelayError::BadRequest("`model` must name a model (a string)".into())),
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    Ok(Prepared { model, body, stream, strip_usage: false })
}

impl Prepared {
    /// Applies `preset` and asks for usage on a stream that lacks it.
    pub(crate) fn prepare(&mut self, endpoint: Endpoint, preset: Option<&Preset>) {
        if let Some(preset) = preset {
            if let Some(system) = &preset.system {
                self.set_system(endpoint, system);
            }
            for (key, value) in &preset.params {
                self.body.insert(key.clone(), value.clone());
            }
            self.stream = self.body.get("stream").and_then(Value::as_bool).unwrap_or(false);
        }
        if self.stream && matches!(endpoint, Endpoint::Chat | Endpoint::Completions) {
            let options = self.body.entry("stream_options").or_insert_with(|| json!({}));
            if !options.is_object() {
                *options = json!({});
            }
            let asked = options.get("include_usage").and_then(Value::as_bool) == Some(true);
            if !asked {
                options["include_usage"] = Value::Bool(true);
                self.strip_usage = true;
            }
        }
    }

    /// Puts `system` first, replacing the client's own system message.
    fn set_system(&mut self, endpoint: Endpoint, system: &str) {
        match endpoint {
            Endpoint::Chat => {
                let messages = self.body.entry("messages").or_insert_with(|| json!([]));
                if let Value::Array(list) = messages {
                    list.retain(|m| m.get("role").and_then(Value::as_str) != Some("system"));
                    list.insert(0, json!({ "role": "system", "content": system }));
                }
            }
            Endpoint::Messages => {
                self.body.insert("system".into(), Value::String(system.to_owned()));
            }
            Endpoint::Completions | Endpoint::Embeddings => {}
        }
    }

    /// The body for `provider`.
    pub(crate) fn for_provider(&self, provider: &str) -> Bytes {
        let mut body = self.body.clone();
        body.insert("model".into(), Value::String(provider.to_owned()));
        Bytes::from(Value::Object(body).to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::wire::Visibility;

    #[test]
    fn bad_bodies_are_told_apart() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(deep.as_bytes(), 64).unwrap_err().to_string().contains("deeper than 64"));
        assert!(parse(b"[1]", 64).unwrap_err().to_string().contains("not a JSON object"));
        assert!(parse(b"{\"model\":3}", 64).unwrap_err().to_string().contains("`model`"));
        assert_eq!(parse(b"{\"model\":\"m\"}", 64).unwrap().model, "m");
    }

    #[test]
    fn a_preset_puts_its_system_first_and_its_params_over_the_clients() {
        let mut req = parse(
            br#"{"model":"reviewer","temperature":0.9,"stream":true,"messages":[{"role":"system","content":"mine"},{"role":"user","content":"hi"}]}"#,
            64,
        )
        .unwrap();
        let mut params = Map::new();
        params.insert("temperature".into(), json!(0.2));
        let preset = Preset {
            name: "reviewer".into(),
            llm: "qwen3".into(),
            system: Some("Review.".into()),
            params,
            visibility: Visibility::Public,
        };
        req.prepare(Endpoint::Chat, Some(&preset));
        let sent: Value = serde_json::from_slice(&req.for_provider("qwen3-8b")).unwrap();
        assert_eq!(sent["model"], "qwen3-8b");
        assert_eq!(sent["temperature"], 0.2);
        assert_eq!(sent["messages"], json!([{"role":"system","content":"Review."},{"role":"user","content":"hi"}]));
        assert_eq!(sent["stream_options"]["include_usage"], true);
        assert!(req.strip_usage);
    }

    #[test]
    fn usage_asked_by_the_client_is_left_alone() {
        let mut req = parse(br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#, 64).unwrap();
        req.prepare(Endpoint::Chat, None);
        assert!(!req.strip_usage);
        let mut plain = parse(br#"{"model":"m"}"#, 64).unwrap();
        plain.prepare(Endpoint::Chat, None);
        assert!(!plain.strip_usage && !plain.body.contains_key("stream_options"));
    }
}
