//! The CLIENT span of each call the hub makes to a host (see
//! `herd-telemetry`): `tools/call {tool}` with `herd.host` and `herd.path`,
//! a child of the SERVER span of the client's request. The agent's own
//! SERVER span hangs under it through the `traceparent` the upstream
//! sends.

use herd_proto::{RpcError, method};
use herd_telemetry::{CallFacts, McpSpan};
use serde_json::value::RawValue;

/// The span of calling `target` (a tool name) with `method` on `host` over
/// `path` (`http`, `channel` or `ssh`); `None` while tracing is off.
pub(crate) fn call(method: &str, target: Option<&str>, host: &str, path: &str) -> Option<McpSpan> {
    let facts = CallFacts { method, target, ..CallFacts::default() };
    McpSpan::client(&facts, host, path)
}

/// A `tools/call` of `tool` on `host` over `path`.
pub(crate) fn tool_call(tool: &str, host: &str, path: &str) -> Option<McpSpan> {
    call(method::TOOLS_CALL, Some(tool), host, path)
}

/// Records a result: the tool's own failure when it says `isError`.
pub(crate) fn answered(span: Option<&McpSpan>, result: &RawValue) {
    if let Some(span) = span
        && herd_telemetry::is_tool_error(result.get())
    {
        span.fail("tool_error");
    }
}

/// Records a JSON-RPC error.
pub(crate) fn failed(span: Option<&McpSpan>, err: &RpcError) {
    if let Some(span) = span {
        span.fail_with_code(err.code);
    }
}
