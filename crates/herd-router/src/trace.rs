//! The SERVER span of each request the router answers (see
//! `herd-telemetry`); nothing at all while tracing is off.

use herd_proto::{ProtocolVersion, Request, RequestId, RpcError, code, method};
use herd_telemetry::{CallFacts, McpSpan};
use serde_json::value::RawValue;

/// The span of `req`, or `None` while tracing is off.
pub(crate) fn server(req: &Request, session_id: Option<&str>, version: Option<ProtocolVersion>) -> Option<McpSpan> {
    if !herd_telemetry::enabled() {
        return None;
    }
    let target = match req.method.as_str() {
        method::TOOLS_CALL | method::PROMPTS_GET => name(req),
        _ => None,
    };
    let id = id_text(&req.id);
    let facts = CallFacts {
        method: &req.method,
        target: target.as_deref(),
        request_id: Some(&id),
        session_id,
        protocol_version: version.map(ProtocolVersion::as_str),
    };
    McpSpan::server(&facts, req.params.as_deref().map(RawValue::get))
}

/// Records how the request ended: a JSON-RPC error, a tool's own failure,
/// or nothing (success).
pub(crate) fn finish(span: Option<&McpSpan>, outcome: Option<&Result<Box<RawValue>, RpcError>>) {
    let Some(span) = span else { return };
    match outcome {
        None => span.fail_with_code(code::REQUEST_CANCELLED),
        Some(Err(err)) => span.fail_with_code(err.code),
        Some(Ok(result)) if herd_telemetry::is_tool_error(result.get()) => span.fail("tool_error"),
        Some(Ok(_)) => {}
    }
}

/// The tool or prompt name of the request's params.
fn name(req: &Request) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        name: Option<String>,
    }
    serde_json::from_str::<Named>(req.params.as_deref()?.get()).ok()?.name
}

/// A string id without its quotes; a number as written.
fn id_text(id: &RequestId) -> String {
    let raw = id.to_string();
    serde_json::from_str::<String>(&raw).unwrap_or(raw)
}
