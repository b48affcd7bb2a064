//! `test_sampling`: a tool that asks the client's model to complete a
//! prompt and answers with what the model said.
//!
//! It exercises the server-to-client request path: the
//! `sampling/createMessage` request leaves during the call, and the call can
//! only finish once the client's answer has been routed back to it.

use super::{asks_client, one_string, tool};
use crate::{CatalogBuilder, ToolError};
use herd_proto::model::CallToolResult;
use herd_proto::{Context, method};
use serde_json::{Map, Value, json};

/// `maxTokens` of the sampling request.
pub(super) const MAX_TOKENS: u64 = 100;

/// Registers `test_sampling`.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        tool(
            "test_sampling",
            "Sampling",
            "Asks the client's model to complete the prompt (sampling/createMessage) and \
             returns its answer (conformance fixture)",
            one_string("prompt", "The prompt to send to the model"),
            asks_client(),
        ),
        sample,
    );
}

async fn sample(args: Map<String, Value>, cx: Context) -> Result<CallToolResult, ToolError> {
    let Some(prompt) = args.get("prompt").and_then(Value::as_str) else {
        return Err(ToolError::InvalidArguments("prompt (string) is required".into()));
    };
    if !cx.client_supports("sampling") {
        return Err(ToolError::Failed("the client did not declare the sampling capability".into()));
    }
    let params = json!({
        "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
        "maxTokens": MAX_TOKENS,
    });
    let answer = cx
        .request(method::SAMPLING_CREATE_MESSAGE, &params)
        .await
        .map_err(|e| ToolError::Failed(format!("sampling failed: {e}")))?;
    Ok(CallToolResult::text(format!("LLM response: {}", answer_text(&answer))))
}

/// The text of a `CreateMessageResult`: its `content` is one block or, since
/// 2025-11-25, possibly an array of blocks.
pub(super) fn answer_text(answer: &Value) -> String {
    let content = answer.get("content");
    let blocks: Vec<&Value> = match content {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(block) => vec![block],
        None => Vec::new(),
    };
    let texts: Vec<&str> = blocks.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).collect();
    if texts.is_empty() { "(no text in the answer)".into() } else { texts.join("\n") }
}
