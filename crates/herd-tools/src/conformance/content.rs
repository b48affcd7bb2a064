//! Tools whose results are fixed content: one per content type the suite
//! checks (`tools-call-*`), the tool that always fails, and the tool whose
//! input schema uses JSON Schema 2020-12 keywords.
//!
//! They are deterministic, so the suite's checks on them test only how herd
//! serializes and relays results and tool definitions.

use super::media::{PNG_BASE64, PNG_MIME, WAV_MIME, wav_base64};
use super::{no_arguments, tool};
use crate::{CatalogBuilder, ToolError};
use herd_proto::model::{CallToolResult, Content, ResourceContents, ToolAnnotations};
use serde_json::{Value, json};

/// Text returned by `test_simple_text`.
pub(super) const SIMPLE_TEXT: &str = "This is a simple text response for testing.";
/// Text returned (with `isError`) by `test_error_handling`.
pub(super) const ERROR_TEXT: &str = "This tool intentionally returns an error for testing";
/// URI of the resource `test_embedded_resource` embeds.
pub(super) const EMBEDDED_URI: &str = "test://embedded-resource";
/// `$schema` of `json_schema_2020_12_tool`.
pub(super) const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Registers the fixed-content tools.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        tool(
            "test_simple_text",
            "Simple text",
            "Returns one text block (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, _| async { Ok(CallToolResult::text(SIMPLE_TEXT)) },
    );
    b.tool(
        tool(
            "test_image_content",
            "Image content",
            "Returns a 1x1 PNG image block (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, _| async { Ok(content(vec![image()])) },
    );
    b.tool(
        tool(
            "test_audio_content",
            "Audio content",
            "Returns a short silent WAV audio block (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, _| async { Ok(content(vec![Content::Audio { data: wav_base64(), mime_type: WAV_MIME.into() }])) },
    );
    b.tool(
        tool(
            "test_embedded_resource",
            "Embedded resource",
            "Returns a text/plain resource embedded in the result (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, _| async {
            Ok(content(vec![Content::Resource {
                resource: ResourceContents::text(EMBEDDED_URI, "text/plain", "This is an embedded resource content."),
            }]))
        },
    );
    b.tool(
        tool(
            "test_multiple_content_types",
            "Mixed content",
            "Returns text, an image and an embedded resource together (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, _| async { Ok(content(mixed())) },
    );
    b.tool(
        tool(
            "test_error_handling",
            "Error handling",
            "Always fails, reporting the failure as an isError result (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, _| async { Err(ToolError::Failed(ERROR_TEXT.into())) },
    );
    b.tool(
        tool(
            "json_schema_2020_12_tool",
            "JSON Schema 2020-12",
            "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
            json_schema_2020_12(),
            ToolAnnotations::read_only(),
        ),
        |args, _| async move {
            let args = Value::Object(args);
            Ok(CallToolResult::text(format!("JSON Schema 2020-12 tool called with: {args}")))
        },
    );
}

/// The input schema of `json_schema_2020_12_tool`, exactly as the suite
/// (0.2) lists it: `$schema`, `$defs.address` and `additionalProperties:
/// false` (SEP-1613), and the broader SEP-2106 vocabulary (`$anchor` inside
/// `$defs.address`, `allOf` holding an `anyOf`, `if`/`then`/`else`) must
/// survive every hop to the client.
pub(super) fn json_schema_2020_12() -> Value {
    json!({
        "$schema": DRAFT_2020_12,
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {
                    "street": { "type": "string" },
                    "city": { "type": "string" },
                },
            },
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" },
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false,
    })
}

fn content(blocks: Vec<Content>) -> CallToolResult {
    CallToolResult { content: blocks, ..CallToolResult::default() }
}

fn image() -> Content {
    Content::Image { data: PNG_BASE64.into(), mime_type: PNG_MIME.into() }
}

fn mixed() -> Vec<Content> {
    let resource = json!({ "test": "data", "value": 123 }).to_string();
    vec![
        Content::text("Multiple content types test:"),
        image(),
        Content::Resource {
            resource: ResourceContents::text("test://mixed-content-resource", "application/json", resource),
        },
    ]
}
