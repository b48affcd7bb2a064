//! Fixtures of the tasks extension scenarios (`tasks-*`, SEP-2663): tools
//! that may or must run as tasks, and one that never does.
//!
//! Whether a call becomes a task is the router's decision (a call to a
//! task-supporting tool still running after a moment does); these tools
//! only take their time. Those that ask the client something first spend a
//! second "looking", so the question is parked on the task (answered with
//! `tasks/update`), except `test_tool_with_task`, which asks at once, so
//! the question goes back in place (`input_required`) and the retried call
//! becomes a task.

use super::answers::{Form, Reply, elicit};
use super::input_required::{NAME, USER_NAME, accepted};
use super::{no_arguments, one_string, tool};
use crate::{CatalogBuilder, ToolError};
use herd_proto::model::{CallToolResult, TaskSupport, ToolAnnotations};
use herd_proto::{Context, RpcError};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// How long the asking fixtures look before they ask, and the failing ones
/// work before they fail: well past the router's in-place moment.
const LOOKING: Duration = Duration::from_secs(1);
/// Longest `slow_compute` sleep, so a call cannot hold a task for hours.
const MAX_SECONDS: f64 = 300.0;

/// The confirmation `confirm_delete` asks for.
const CONFIRM_DELETE: Form = Form { message: "Delete the file?", fields: &[("confirm", "boolean")] };

/// Registers `greet`, `slow_compute`, `failing_job`, `protocol_error_job`,
/// `confirm_delete`, `multi_input` and `test_tool_with_task`.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        tool("greet", "Greet", "Says hello to name, at once (conformance fixture)", name_schema(), quiet()),
        |args, _| async move { Ok(CallToolResult::text(format!("Hello, {}!", string(&args, "name")))) },
    );
    b.task_tool(
        tool(
            "slow_compute",
            "Slow compute",
            "Sleeps `seconds` (0 to 300), then answers with `label` (conformance fixture)",
            json!({
                "type": "object",
                "properties": {
                    "seconds": { "type": "number", "minimum": 0, "maximum": MAX_SECONDS },
                    "label": { "type": "string" },
                },
                "required": ["seconds"],
            }),
            quiet(),
        ),
        TaskSupport::Optional,
        |args, cx| async move {
            let seconds = args.get("seconds").and_then(Value::as_f64).unwrap_or(-1.0);
            if !(0.0..=MAX_SECONDS).contains(&seconds) {
                return Err(ToolError::InvalidArguments(format!("seconds must be a number from 0 to {MAX_SECONDS}")));
            }
            pause(&cx, Duration::from_secs_f64(seconds)).await?;
            Ok(CallToolResult::text(format!("Computed {} after {seconds} s", string(&args, "label"))))
        },
    );
    b.task_tool(
        tool("failing_job", "Failing job", "Works a second, then fails (conformance fixture)", no_arguments(), quiet()),
        TaskSupport::Required,
        |_, cx| async move {
            pause(&cx, LOOKING).await?;
            Err(ToolError::Failed("the job failed, as it always does".into()))
        },
    );
    b.task_tool(
        tool(
            "protocol_error_job",
            "Protocol error job",
            "Works a second, then ends in a protocol error (conformance fixture)",
            no_arguments(),
            quiet(),
        ),
        TaskSupport::Optional,
        |_, cx| async move {
            pause(&cx, LOOKING).await?;
            Err(ToolError::Rpc(RpcError::internal("the job broke down")))
        },
    );
    b.task_tool(
        tool(
            "confirm_delete",
            "Confirm delete",
            "Looks for `filename`, then asks for a confirmation (conformance fixture)",
            one_string("filename", "The file to delete"),
            super::asks_client(),
        ),
        TaskSupport::Optional,
        |args, cx| async move {
            pause(&cx, LOOKING).await?;
            let filename = string(&args, "filename");
            let text = match elicit(&cx, "confirm_delete", &CONFIRM_DELETE).await? {
                Reply::Accepted(content) if content.get("confirm") == Some(&Value::Bool(true)) => {
                    format!("Deleted {filename}")
                }
                _ => format!("Kept {filename}"),
            };
            Ok(CallToolResult::text(text))
        },
    );
    b.task_tool(
        tool(
            "multi_input",
            "Multiple inputs",
            "Asks two questions at once, then answers with both replies (conformance fixture)",
            no_arguments(),
            super::asks_client(),
        ),
        TaskSupport::Optional,
        |_, cx| async move {
            pause(&cx, LOOKING).await?;
            let (first, second) = tokio::join!(elicit(&cx, "first_name", &NAME), elicit(&cx, "second_name", &NAME));
            let (first, second) = (accepted(first?, "name")?, accepted(second?, "name")?);
            Ok(CallToolResult::text(format!("Got {first} and {second}")))
        },
    );
    b.task_tool(
        tool(
            "test_tool_with_task",
            "Input, then task",
            "Asks the user's name (key user_name) at once, then works a second and greets them \
             (conformance fixture)",
            no_arguments(),
            super::asks_client(),
        ),
        TaskSupport::Required,
        |_, cx| async move {
            let name = accepted(elicit(&cx, USER_NAME, &NAME).await?, "name")?;
            pause(&cx, LOOKING).await?;
            Ok(CallToolResult::text(format!("Hello, {name}!")))
        },
    );
}

/// Sleeps `how_long`, or less when the call is cancelled.
async fn pause(cx: &Context, how_long: Duration) -> Result<(), ToolError> {
    tokio::select! {
        () = tokio::time::sleep(how_long) => Ok(()),
        () = cx.cancelled() => Err(ToolError::Rpc(RpcError::new(herd_proto::code::REQUEST_CANCELLED, "cancelled"))),
    }
}

fn name_schema() -> Value {
    one_string("name", "Who to greet")
}

fn string(args: &Map<String, Value>, key: &str) -> String {
    args.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Annotations of a fixture that changes nothing and asks nobody.
fn quiet() -> ToolAnnotations {
    ToolAnnotations { open_world_hint: Some(false), ..ToolAnnotations::read_only() }
}
