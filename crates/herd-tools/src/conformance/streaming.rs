//! Tools that keep talking to the client while they run, and the tool that
//! ends its own stream mid-call (the SSE polling scenario, SEP-1699).
//!
//! Their notifications travel on the call's own channel (the request's SSE
//! stream over HTTP), so `tools-call-with-logging` and
//! `tools-call-with-progress` pass only if herd delivers messages sent
//! during a call before its result. The pauses between messages are part of
//! the fixture: they make the messages arrive as separate events.

use super::{no_arguments, tool};
use crate::CatalogBuilder;
use herd_proto::LogLevel;
use herd_proto::model::{CallToolResult, ToolAnnotations};
use std::time::Duration;

/// The pause between two messages of one call.
pub(super) const STEP: Duration = Duration::from_millis(50);

/// How long `test_reconnection` keeps working after it asked the transport
/// to end the call's stream. The suite's client reconnects at once and waits
/// up to 5 s for the result, so the result usually arrives on the resumed
/// stream; a transport must also replay it when it was ready first.
pub(super) const RECONNECTION_DELAY: Duration = Duration::from_millis(200);

/// The log lines `test_tool_with_logging` sends, in order.
pub(super) const LOG_LINES: [&str; 3] = ["Tool execution started", "Tool processing data", "Tool execution completed"];

/// Logger name on the fixture's log messages.
pub(super) const LOGGER: &str = "conformance";

/// The progress values `test_tool_with_progress` reports, out of 100.
pub(super) const PROGRESS_STEPS: [f64; 3] = [0.0, 50.0, 100.0];

/// Text `test_reconnection` answers with.
pub(super) const RECONNECTION_TEXT: &str = "Reconnection test completed successfully. \
     If you received this, the client properly reconnected after stream closure.";

/// Registers the logging, progress and reconnection tools.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        tool(
            "test_tool_with_logging",
            "Logging",
            "Sends three info log messages 50 ms apart while it runs (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, cx| async move {
            for (i, line) in LOG_LINES.into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(STEP).await;
                }
                cx.log(LogLevel::Info, Some(LOGGER), line.into());
            }
            Ok(CallToolResult::text("Tool with logging executed successfully"))
        },
    );
    b.tool(
        tool(
            "test_tool_with_progress",
            "Progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart, when the call carries a \
             progress token (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, cx| async move {
            let steps = PROGRESS_STEPS.len();
            for (i, progress) in PROGRESS_STEPS.into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(STEP).await;
                }
                let message = format!("Completed step {} of {steps}", i + 1);
                cx.progress(progress, Some(100.0), Some(&message));
            }
            Ok(CallToolResult::text("Tool with progress executed successfully"))
        },
    );
    b.tool(
        tool(
            "test_reconnection",
            "Reconnection",
            "Ends the call's SSE stream mid-call, then answers, so the result reaches the \
             client only after it reconnects with Last-Event-ID (conformance fixture)",
            no_arguments(),
            ToolAnnotations::read_only(),
        ),
        |_, cx| async move {
            cx.close_stream();
            tokio::time::sleep(RECONNECTION_DELAY).await;
            Ok(CallToolResult::text(RECONNECTION_TEXT))
        },
    );
}
