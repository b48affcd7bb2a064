//! Fixtures for the official MCP conformance suite.
//!
//! `@modelcontextprotocol/conformance` (0.1.16) tests a server by calling
//! tools, resources and prompts with fixed names (`test_simple_text`,
//! `test://static-text`, `test_prompt_with_arguments`, ...) and checking what
//! comes back: content shapes, log and progress notifications sent during a
//! call, and server-to-client requests (sampling, elicitation) whose schemas
//! it inspects field by field. herd serves these fixtures from one in-process
//! [`Catalog`] so the suite exercises herd's real data path (transport,
//! router, backend) instead of a stand-in server.
//!
//! The values follow the suite's scenario descriptions and its reference
//! server, so a failing check points at herd's plumbing, not at a fixture.
//! Each submodule registers one family:
//!
//! - `content`: tools that return fixed content (text, image, audio,
//!   embedded resources, an error) and the JSON Schema 2020-12 tool;
//! - `streaming`: tools that talk while they run (log messages, progress)
//!   and `test_reconnection`, which ends its own SSE stream mid-call;
//! - `sampling` and `elicitation`: tools that ask the client something and
//!   answer with what it said;
//! - `resources` and `prompts`: the `test://` resources and template, the
//!   `test_*` prompts and the completion for `test_prompt_with_arguments`.

mod content;
mod elicitation;
mod media;
mod prompts;
mod resources;
mod sampling;
mod streaming;

use crate::Catalog;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Value, json};

/// Every fixture the conformance suite expects, in one backend.
///
/// Declares the `tools`, `resources` (with `subscribe`), `prompts`,
/// `completions` and `logging` capabilities.
pub fn catalog() -> Catalog {
    let mut builder = Catalog::builder();
    content::register(&mut builder);
    streaming::register(&mut builder);
    sampling::register(&mut builder);
    elicitation::register(&mut builder);
    resources::register(&mut builder);
    prompts::register(&mut builder);
    builder.subscribable().logging().build()
}

/// A tool definition with a title and annotations.
fn tool(name: &str, title: &str, description: &str, input_schema: Value, annotations: ToolAnnotations) -> Tool {
    Tool {
        name: name.into(),
        title: Some(title.into()),
        description: description.into(),
        input_schema,
        output_schema: None,
        annotations: Some(ToolAnnotations { title: Some(title.into()), ..annotations }),
    }
}

/// The input schema of a tool that takes no arguments.
fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {} })
}

/// The input schema of a tool that takes one required string argument.
fn one_string(name: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": { name: { "type": "string", "description": description } },
        "required": [name],
    })
}

/// Annotations of a tool that asks the client (and so a person or a model)
/// something: it changes nothing, but the same call may get another answer.
fn asks_client() -> ToolAnnotations {
    ToolAnnotations {
        read_only_hint: Some(true),
        destructive_hint: Some(false),
        idempotent_hint: Some(false),
        open_world_hint: Some(true),
        ..ToolAnnotations::default()
    }
}

#[cfg(test)]
mod tests;
