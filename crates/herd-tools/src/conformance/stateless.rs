//! The diagnostic tools of the 2026-07-28 `server-stateless` scenario
//! (SEP-2575): one that needs a client capability, one that asks the user
//! mid-call, one that logs, and two hooks that announce a list change.
//!
//! What they test is the core's: the -32021 error for an undeclared
//! capability, questions carried by an `input_required` result instead of
//! a request on the response stream, no log messages for a request that set
//! no log level, list changes delivered to `subscriptions/listen` streams.
//! The fixtures only do the ordinary thing that exercises each.

use super::answers::{Form, Reply, elicit, sample};
use super::streaming::LOGGER;
use super::{asks_client, no_arguments, tool};
use crate::{Catalog, CatalogBuilder, ToolError};
use herd_proto::model::{CallToolResult, ToolAnnotations};
use herd_proto::{ListKind, LogLevel};

/// Key of the question of `test_missing_capability`.
pub(super) const PROBE: &str = "probe";
/// What `test_missing_capability` asks the client's model.
pub(super) const PROBE_PROMPT: &str = "Reply with one word: ready";
/// Its `maxTokens`.
pub(super) const PROBE_MAX_TOKENS: u64 = 10;
/// Key of the question of `test_streaming_elicitation`.
pub(super) const PROCEED: &str = "proceed";
/// That question.
pub(super) const PROCEED_FORM: Form =
    Form { message: "Continue with the second half of the work?", fields: &[("proceed", "boolean")] };
/// The messages `test_logging_tool` logs, in order.
pub(super) const LOGS: [(LogLevel, &str); 3] = [
    (LogLevel::Debug, "Logging tool: debug message"),
    (LogLevel::Info, "Logging tool: info message"),
    (LogLevel::Warning, "Logging tool: warning message"),
];

/// Registers the capability, elicitation and logging tools.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        tool(
            "test_missing_capability",
            "Missing capability",
            "Needs the client's sampling capability: asks its model for one word (key probe) and \
             returns it; a client that did not declare sampling gets error -32021 (conformance \
             fixture)",
            no_arguments(),
            asks_client(),
        ),
        |_, cx| async move {
            let word = sample(&cx, PROBE, PROBE_PROMPT, PROBE_MAX_TOKENS).await?;
            Ok(CallToolResult::text(format!("The model answered: {word}")))
        },
    );
    b.tool(
        tool(
            "test_streaming_elicitation",
            "Streaming elicitation",
            "Reports progress, asks the user whether to go on (key proceed), then finishes; on \
             2026-07-28 the question comes back as an input_required result, never as a request \
             on the response stream (conformance fixture)",
            no_arguments(),
            asks_client(),
        ),
        |_, cx| async move {
            cx.progress(1.0, Some(2.0), Some("First half done; asking whether to go on"));
            let proceed = match elicit(&cx, PROCEED, &PROCEED_FORM).await? {
                Reply::Accepted(content) => content.get("proceed").and_then(serde_json::Value::as_bool),
                Reply::Refused(action) => {
                    return Err(ToolError::Failed(format!("stopped halfway: the user chose to {action}")));
                }
            };
            if proceed != Some(true) {
                return Ok(CallToolResult::text("Stopped halfway, as the user asked"));
            }
            cx.progress(2.0, Some(2.0), Some("Second half done"));
            Ok(CallToolResult::text("Finished both halves"))
        },
    );
    b.tool(
        tool(
            "test_logging_tool",
            "Logging tool",
            "Logs a debug, an info and a warning message while it runs; a 2026-07-28 request \
             receives only those at or above the log level it set in _meta, none without one \
             (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, cx| async move {
            for (level, message) in LOGS {
                cx.log(level, Some(LOGGER), message.into());
            }
            Ok(CallToolResult::text("Logged a debug, an info and a warning message"))
        },
    );
}

/// Adds `test_trigger_tool_change` and `test_trigger_prompt_change` to a
/// built catalog: each tells clients through the catalog's notifier that a
/// list changed (the list itself stays as it is, so the other scenarios
/// keep their fixtures), which subscribed clients receive on their
/// `subscriptions/listen` stream.
pub(super) fn add_triggers(catalog: &Catalog) {
    for (name, title, kind, list) in [
        ("test_trigger_tool_change", "Trigger tool change", ListKind::Tools, "tool"),
        ("test_trigger_prompt_change", "Trigger prompt change", ListKind::Prompts, "prompt"),
    ] {
        let description = format!(
            "Sends notifications/{list}s/list_changed to subscribed clients, as if the {list} list \
             had changed (conformance fixture)"
        );
        let weak = catalog.downgrade();
        let definition = tool(name, title, &description, no_arguments(), ToolAnnotations::read_only());
        catalog.add_tool(definition, move |_, _| {
            let catalog = weak.upgrade();
            async move {
                let catalog = catalog.ok_or_else(|| ToolError::Failed("the catalog is gone".into()))?;
                catalog.notify_list_changed(kind);
                Ok(CallToolResult::text(format!("Sent notifications/{list}s/list_changed")))
            }
        });
    }
}
