//! Fixtures for the official MCP conformance suite.
//!
//! `@modelcontextprotocol/conformance` (0.1.16, and 0.2 on the session
//! revisions) tests a server by calling tools, resources and prompts with
//! fixed names (`test_simple_text`, `test://static-text`,
//! `test_prompt_with_arguments`, ...) and checking what comes back: content
//! shapes, log and progress notifications sent during a call, and
//! server-to-client requests (sampling, elicitation) whose schemas it
//! inspects field by field. herd serves these fixtures from one in-process
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
//!
//! 0.2 with `--requirements 2026-07-28` speaks the stateless revision
//! (SEP-2575): a server's questions to the client leave in `input_required`
//! results (SEP-2322) instead of server-to-client requests, and the answers
//! come back in the retried request. Its fixtures ask through
//! [`herd_proto::Context::ask`] under the keys the suite looks for, so they
//! run unchanged on the session revisions too:
//!
//! - `input_required` and `input_rounds`: the `test_input_required_result_*`
//!   tools (one question of each kind, the `requestState` pair, three
//!   questions at once, two rounds, only what the client declared) and the
//!   `test_input_required_result_prompt` prompt; `answers` asks and checks
//!   the answers, which on that wire come back untyped;
//! - `stateless`: the diagnostic tools of `server-stateless`
//!   (`test_missing_capability`, `test_streaming_elicitation`,
//!   `test_logging_tool`) and the hooks that announce a tool or prompt list
//!   change through the catalog's notifier (`test_trigger_tool_change`,
//!   `test_trigger_prompt_change`);
//! - `headers`: `test_mirrored_headers`, whose arguments the client
//!   mirrors into `Mcp-Param-*` headers (SEP-2243);
//! - `tasks`: the tools of the tasks extension scenarios (SEP-2663):
//!   `slow_compute`, `failing_job`, `confirm_delete` and the others that
//!   may or must run as tasks, and `greet`, which never does.

mod answers;
mod content;
mod elicitation;
mod headers;
mod input_required;
mod input_rounds;
mod media;
mod prompts;
mod resources;
mod sampling;
mod stateless;
mod streaming;
mod tasks;

use crate::Catalog;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Value, json};

/// Every fixture the conformance suite expects, in one backend.
///
/// Declares the `tools`, `resources` (with `subscribe`), `prompts` (with
/// `listChanged`, which `test_trigger_prompt_change` announces),
/// `completions` and `logging` capabilities.
pub fn catalog() -> Catalog {
    let mut builder = Catalog::builder();
    content::register(&mut builder);
    streaming::register(&mut builder);
    sampling::register(&mut builder);
    elicitation::register(&mut builder);
    resources::register(&mut builder);
    prompts::register(&mut builder);
    input_required::register(&mut builder);
    input_rounds::register(&mut builder);
    stateless::register(&mut builder);
    headers::register(&mut builder);
    tasks::register(&mut builder);
    let catalog = builder.subscribable().prompts_list_changed().logging().build();
    stateless::add_triggers(&catalog);
    catalog
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
