//! The answers' shapes, as the official OpenAI and Anthropic clients parse
//! them: whole JSON answers, and the frames of streamed ones.

use crate::Script;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

/// Dimensions of the embeddings answered.
const DIMENSIONS: usize = 8;

/// One frame of a streamed answer.
pub(crate) struct Frame {
    pub(crate) bytes: Bytes,
    /// Whether it carries a token (the script's delays come before these).
    pub(crate) token: bool,
}

/// What an answer is made of, from the request and the script.
pub(crate) struct Ask<'a> {
    pub(crate) id: u64,
    pub(crate) model: String,
    pub(crate) script: &'a Script,
    pub(crate) prompt_tokens: u64,
    pub(crate) include_usage: bool,
}

impl<'a> Ask<'a> {
    pub(crate) fn new(id: u64, body: &Value, script: &'a Script) -> Self {
        let model = body.get("model").and_then(Value::as_str).unwrap_or(&script.model).to_owned();
        let words = |v: Option<&Value>| v.map_or(0, |v| v.to_string().split_whitespace().count() as u64);
        let prompt_tokens = words(body.get("messages")) + words(body.get("prompt")) + words(body.get("input"));
        let include_usage = body.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
        Self { id, model, script, prompt_tokens: prompt_tokens.max(1), include_usage }
    }

    fn completion_tokens(&self) -> u64 {
        self.script.tokens.len() as u64
    }

    fn usage(&self) -> Value {
        let (p, c) = (self.prompt_tokens, self.completion_tokens());
        json!({ "prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c })
    }

    /// The tool call's arguments, in pieces: `{"text": "` then the tokens
    /// then `"}`.
    fn argument_pieces(&self) -> Vec<String> {
        let mut pieces = vec!["{\"text\": \"".to_owned()];
        pieces.extend(self.script.tokens.iter().map(|t| t.replace(['"', '\\'], "")));
        pieces.push("\"}".to_owned());
        pieces
    }
}

/// The whole answer of `endpoint` (not streamed).
pub(crate) fn whole(endpoint: &str, ask: &Ask<'_>, body: &Value) -> Value {
    let id = ask.id;
    match endpoint {
        "chat/completions" => {
            let (message, finish) = if ask.script.tool_call {
                let call = json!({ "id": "call_0", "type": "function",
                    "function": { "name": "echo", "arguments": ask.argument_pieces().concat() } });
                (json!({ "role": "assistant", "content": null, "tool_calls": [call] }), "tool_calls")
            } else {
                (json!({ "role": "assistant", "content": ask.script.text() }), "stop")
            };
            json!({ "id": format!("chatcmpl-{id}"), "object": "chat.completion", "created": 0, "model": ask.model,
                "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
                "usage": ask.usage() })
        }
        "completions" => json!({ "id": format!("cmpl-{id}"), "object": "text_completion", "created": 0,
            "model": ask.model,
            "choices": [{ "index": 0, "text": ask.script.text(), "logprobs": null, "finish_reason": "stop" }],
            "usage": ask.usage() }),
        "embeddings" => embeddings(ask, body),
        _ => json!({ "id": format!("msg_{id}"), "type": "message", "role": "assistant", "model": ask.model,
            "content": [{ "type": "text", "text": ask.script.text() }],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": { "input_tokens": ask.prompt_tokens, "output_tokens": ask.completion_tokens() } }),
    }
}

fn embeddings(ask: &Ask<'_>, body: &Value) -> Value {
    let inputs = match body.get("input") {
        Some(Value::Array(items)) if items.first().is_some_and(|i| i.is_string() || i.is_array()) => items.len(),
        _ => 1,
    };
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = (0..inputs)
        .map(|index| {
            let vector: Vec<f32> = (0..DIMENSIONS).map(|d| (index * DIMENSIONS + d) as f32 / 100.0).collect();
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    json!({ "object": "list", "data": data, "model": ask.model,
        "usage": { "prompt_tokens": ask.prompt_tokens, "total_tokens": ask.prompt_tokens } })
}

fn data(value: &Value, token: bool) -> Frame {
    Frame { bytes: Bytes::from(format!("data: {value}\n\n")), token }
}

fn event(name: &str, value: &Value, token: bool) -> Frame {
    Frame { bytes: Bytes::from(format!("event: {name}\ndata: {value}\n\n")), token }
}

/// The frames of `endpoint`'s streamed answer, `[DONE]` included.
pub(crate) fn frames(endpoint: &str, ask: &Ask<'_>) -> Vec<Frame> {
    match endpoint {
        "chat/completions" => chat_frames(ask),
        "completions" => completion_frames(ask),
        _ => message_frames(ask),
    }
}

fn chat_frames(ask: &Ask<'_>) -> Vec<Frame> {
    let chunk = |delta: Value, finish: Option<&str>| {
        let mut c = json!({ "id": format!("chatcmpl-{}", ask.id), "object": "chat.completion.chunk", "created": 0,
            "model": ask.model, "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }] });
        if ask.include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let mut frames = Vec::new();
    let finish = if ask.script.tool_call {
        frames.push(data(&chunk(json!({ "role": "assistant", "content": null }), None), false));
        for (i, piece) in ask.argument_pieces().into_iter().enumerate() {
            let mut call = json!({ "index": 0, "function": { "arguments": piece } });
            if i == 0 {
                call = json!({ "index": 0, "id": "call_0", "type": "function",
                    "function": { "name": "echo", "arguments": piece } });
            }
            frames.push(data(&chunk(json!({ "tool_calls": [call] }), None), i > 0));
        }
        "tool_calls"
    } else {
        frames.push(data(&chunk(json!({ "role": "assistant", "content": "" }), None), false));
        for token in &ask.script.tokens {
            frames.push(data(&chunk(json!({ "content": token }), None), true));
        }
        "stop"
    };
    frames.push(data(&chunk(json!({}), Some(finish)), false));
    if ask.include_usage {
        let usage = json!({ "id": format!("chatcmpl-{}", ask.id), "object": "chat.completion.chunk", "created": 0,
            "model": ask.model, "choices": [], "usage": ask.usage() });
        frames.push(data(&usage, false));
    }
    frames.push(Frame { bytes: Bytes::from_static(b"data: [DONE]\n\n"), token: false });
    frames
}

fn completion_frames(ask: &Ask<'_>) -> Vec<Frame> {
    let chunk = |text: &str, finish: Option<&str>| {
        json!({ "id": format!("cmpl-{}", ask.id), "object": "text_completion", "created": 0, "model": ask.model,
            "choices": [{ "index": 0, "text": text, "logprobs": null, "finish_reason": finish }] })
    };
    let mut frames: Vec<Frame> = ask.script.tokens.iter().map(|t| data(&chunk(t, None), true)).collect();
    frames.push(data(&chunk("", Some("stop")), false));
    if ask.include_usage {
        let usage = json!({ "id": format!("cmpl-{}", ask.id), "object": "text_completion", "created": 0,
            "model": ask.model, "choices": [], "usage": ask.usage() });
        frames.push(data(&usage, false));
    }
    frames.push(Frame { bytes: Bytes::from_static(b"data: [DONE]\n\n"), token: false });
    frames
}

fn message_frames(ask: &Ask<'_>) -> Vec<Frame> {
    let start = json!({ "type": "message_start", "message": { "id": format!("msg_{}", ask.id), "type": "message",
        "role": "assistant", "model": ask.model, "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": { "input_tokens": ask.prompt_tokens, "output_tokens": 1 } } });
    let mut frames = vec![
        event("message_start", &start, false),
        event(
            "content_block_start",
            &json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
            false,
        ),
        event("ping", &json!({ "type": "ping" }), false),
    ];
    for token in &ask.script.tokens {
        let delta =
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": token } });
        frames.push(event("content_block_delta", &delta, true));
    }
    frames.push(event("content_block_stop", &json!({ "type": "content_block_stop", "index": 0 }), false));
    let delta = json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn", "stop_sequence": null },
        "usage": { "output_tokens": ask.completion_tokens() } });
    frames.push(event("message_delta", &delta, false));
    frames.push(event("message_stop", &json!({ "type": "message_stop" }), false));
    frames
}

/// An OpenAI error body.
pub(crate) fn error(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}
