//! Tools that ask the user for input (`elicitation/create`) and answer with
//! what the client sent back.
//!
//! The suite inspects the `requestedSchema` of two of them field by field
//! (SEP-1034 defaults, SEP-1330 enum forms), and the client rejects a schema
//! outside the specification's restricted subset before the user sees it, so
//! the schemas here are exact.

use super::{asks_client, no_arguments, one_string, tool};
use crate::{CatalogBuilder, ToolError};
use herd_proto::model::CallToolResult;
use herd_proto::{Context, method};
use serde_json::{Map, Value, json};

/// Message of the `test_elicitation_sep1034_defaults` request.
pub(super) const DEFAULTS_MESSAGE: &str = "Please review and update the form fields with defaults";
/// Message of the `test_elicitation_sep1330_enums` request.
pub(super) const ENUMS_MESSAGE: &str = "Please select options from the enum fields";

/// Registers the three elicitation tools.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        tool(
            "test_elicitation",
            "Elicitation",
            "Asks the user for a username and an email address (elicitation/create) and \
             returns the answer (conformance fixture)",
            one_string("message", "The message to show the user"),
            asks_client(),
        ),
        |args, cx| async move {
            let Some(message) = args.get("message").and_then(Value::as_str) else {
                return Err(ToolError::InvalidArguments("message (string) is required".into()));
            };
            let answer = elicit(&cx, message, user_schema()).await?;
            Ok(CallToolResult::text(format!("User response: {answer}")))
        },
    );
    b.tool(
        tool(
            "test_elicitation_sep1034_defaults",
            "Elicitation defaults",
            "Asks the user to confirm a form whose fields all have defaults (SEP-1034) and \
             returns the answer (conformance fixture)",
            no_arguments(),
            asks_client(),
        ),
        |_, cx| async move { completed(elicit(&cx, DEFAULTS_MESSAGE, defaults_schema()).await?) },
    );
    b.tool(
        tool(
            "test_elicitation_sep1330_enums",
            "Elicitation enums",
            "Asks the user to pick from the five enum forms of SEP-1330 and returns the \
             answer (conformance fixture)",
            no_arguments(),
            asks_client(),
        ),
        |_, cx| async move { completed(elicit(&cx, ENUMS_MESSAGE, enums_schema()).await?) },
    );
}

/// The schema `test_elicitation` asks for: two required strings.
pub(super) fn user_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": { "type": "string", "description": "User's response" },
            "email": { "type": "string", "description": "User's email address" },
        },
        "required": ["username", "email"],
    })
}

/// SEP-1034: a default on every primitive type.
pub(super) fn defaults_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "User name", "default": "John Doe" },
            "age": { "type": "integer", "description": "User age", "default": 30 },
            "score": { "type": "number", "description": "User score", "default": 95.5 },
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": { "type": "boolean", "description": "Verification status", "default": true },
        },
        "required": [],
    })
}

/// SEP-1330: untitled and titled single select, the legacy `enumNames`
/// form, untitled and titled multi select.
pub(super) fn enums_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Select one option",
                "enum": ["option1", "option2", "option3"],
            },
            "titledSingle": {
                "type": "string",
                "description": "Select one option with titles",
                "oneOf": [
                    { "const": "value1", "title": "First Option" },
                    { "const": "value2", "title": "Second Option" },
                    { "const": "value3", "title": "Third Option" },
                ],
            },
            "legacyEnum": {
                "type": "string",
                "description": "Select one option (legacy)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "description": "Select multiple options",
                "minItems": 1,
                "maxItems": 3,
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] },
            },
            "titledMulti": {
                "type": "array",
                "description": "Select multiple options with titles",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "anyOf": [
                        { "const": "value1", "title": "First Choice" },
                        { "const": "value2", "title": "Second Choice" },
                        { "const": "value3", "title": "Third Choice" },
                    ],
                },
            },
        },
        "required": [],
    })
}

/// The client's answer, summarized as `action=..., content=...`.
struct Answer {
    action: String,
    content: Value,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "action={}, content={}", self.action, self.content)
    }
}

/// Sends `elicitation/create` and awaits the answer. A client without the
/// capability, or a failed request, makes the tool fail.
async fn elicit(cx: &Context, message: &str, schema: Value) -> Result<Answer, ToolError> {
    if !cx.client_supports("elicitation") {
        return Err(ToolError::Failed("the client did not declare the elicitation capability".into()));
    }
    let params = json!({ "message": message, "requestedSchema": schema });
    let answer = cx
        .request(method::ELICITATION_CREATE, &params)
        .await
        .map_err(|e| ToolError::Failed(format!("elicitation failed: {e}")))?;
    let action = answer.get("action").and_then(Value::as_str).unwrap_or("unknown").to_owned();
    let content = answer.get("content").cloned().unwrap_or(Value::Object(Map::new()));
    Ok(Answer { action, content })
}

fn completed(answer: Answer) -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult::text(format!("Elicitation completed: {answer}")))
}
