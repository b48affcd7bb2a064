//! The tool of the 2026-07-28 `http-custom-header-server-validation`
//! scenario (SEP-2243): arguments the client mirrors into `Mcp-Param-*`
//! headers, designated with `x-mcp-header` in the input schema.
//!
//! What the scenario tests is the core's: the router holds each header
//! against its argument before the call runs. The tool only declares the
//! designations (a string, an integer, a boolean, and one argument left
//! unmirrored) and says what it was given.

use super::tool;
use crate::CatalogBuilder;
use herd_proto::model::{CallToolResult, ToolAnnotations};
use serde_json::{Value, json};

/// The tool's name.
pub(super) const NAME: &str = "test_mirrored_headers";

/// Registers `test_mirrored_headers`.
pub(super) fn register(b: &mut CatalogBuilder) {
    let schema = json!({
        "type": "object",
        "properties": {
            "region": { "type": "string", "description": "Where to run", "x-mcp-header": "Region" },
            "priority": { "type": "integer", "description": "How urgent", "x-mcp-header": "Priority" },
            "verbose": { "type": "boolean", "description": "Say more", "x-mcp-header": "Verbose" },
            "query": { "type": "string", "description": "What to run (not mirrored)" },
        },
        "required": ["region"],
    });
    let annotations = ToolAnnotations {
        read_only_hint: Some(true),
        destructive_hint: Some(false),
        idempotent_hint: Some(true),
        open_world_hint: Some(false),
        ..ToolAnnotations::default()
    };
    let description = "Takes arguments mirrored into Mcp-Param-Region, Mcp-Param-Priority and \
                       Mcp-Param-Verbose headers and echoes them (conformance fixture)";
    b.tool(tool(NAME, "Mirrored headers", description, schema, annotations), |args, _| async move {
        let region = args.get("region").and_then(Value::as_str).unwrap_or_default();
        Ok(CallToolResult::text(format!("Ran in region {region:?} with {}", Value::Object(args.clone()))))
    });
}
