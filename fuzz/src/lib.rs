//! Shared pieces of herd's fuzz targets: one Tokio runtime per process, a
//! fresh router over the conformance catalog per input, and independent
//! checks that output is well-formed JSON-RPC.
//!
//! The checks below deliberately use plain `serde_json` rather than
//! `herd_proto::Message`, so a bug in herd's own parser cannot hide a bug in
//! what herd writes.

use herd_proto::Backend;
use herd_router::{Router, RouterConfig};
use serde::de;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::runtime::Runtime;

/// The process-wide current-thread runtime, on a paused clock.
///
/// With the clock paused, Tokio jumps time forward whenever every task is
/// idle, so timers (SSE keep-alive, tool delays, retention, drain) cost
/// nothing in wall time and fire in a deterministic order.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime builds")
    })
}

/// A router over the conformance fixtures. Call inside the runtime.
pub fn router() -> Router {
    let catalog = herd_tools::conformance::catalog();
    Router::new(RouterConfig::default(), vec![Arc::new(catalog) as Arc<dyn Backend>])
}

/// Lets every timer that could still be pending fire (the session reaper,
/// stream retention, client-request timeouts), so tasks left by one input
/// finish before the next input runs. Free on the paused clock.
pub async fn settle() {
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
}

/// The members of one JSON object, each kept as raw JSON text.
///
/// Raw text rather than `serde_json::Value`: JSON's grammar allows numbers
/// such as `1e999` that `Value` refuses as out of range, and herd echoes
/// request ids verbatim by design, so a `Value` check would flag a correct
/// echo. Syntax is still fully validated.
type Members = HashMap<String, Box<RawValue>>;

fn members(text: &str, what: &str) -> Result<Members, String> {
    serde_json::from_str::<de::IgnoredAny>(text).map_err(|e| format!("{what} is not JSON ({e}): {text:?}"))?;
    serde_json::from_str::<Members>(text).map_err(|e| format!("{what} is not an object ({e}): {text:?}"))
}

fn first(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(0)
}

/// Checks that `text` is one JSON-RPC 2.0 message of any kind.
pub fn check_message(text: &str) -> Result<(), String> {
    let obj = members(text, "message")?;
    check_version(&obj, text)?;
    if let Some(method) = obj.get("method") {
        if first(method) != b'"' {
            return Err(format!("method is not a string: {text:?}"));
        }
        if let Some(id) = obj.get("id") {
            check_id(id, false, text)?;
        }
        if let Some(params) = obj.get("params")
            && first(params) != b'{'
        {
            return Err(format!("params is not an object: {text:?}"));
        }
        if obj.contains_key("result") || obj.contains_key("error") {
            return Err(format!("request carries result/error: {text:?}"));
        }
        return Ok(());
    }
    check_response_obj(&obj, text)
}

/// Checks that `text` is a JSON-RPC 2.0 response (result or error).
pub fn check_response(text: &str) -> Result<(), String> {
    let obj = members(text, "response")?;
    check_version(&obj, text)?;
    if obj.contains_key("method") {
        return Err(format!("expected a response, got a request/notification: {text:?}"));
    }
    check_response_obj(&obj, text)
}

fn check_version(obj: &Members, text: &str) -> Result<(), String> {
    if obj.get("jsonrpc").map(|v| v.get()) != Some(r#""2.0""#) {
        return Err(format!("jsonrpc is not \"2.0\": {text:?}"));
    }
    Ok(())
}

fn check_response_obj(obj: &Members, text: &str) -> Result<(), String> {
    let id = obj.get("id").ok_or_else(|| format!("response without id: {text:?}"))?;
    match (obj.get("result"), obj.get("error")) {
        (Some(_), None) => check_id(id, false, text),
        (None, Some(error)) => {
            check_id(id, true, text)?;
            let error = members(error.get(), "error")?;
            let code = error.get("code").map_or("", |c| c.get());
            let integer = code.strip_prefix('-').unwrap_or(code);
            if integer.is_empty() || !integer.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("error.code is not an integer: {text:?}"));
            }
            if !error.get("message").is_some_and(|m| first(m) == b'"') {
                return Err(format!("error.message is not a string: {text:?}"));
            }
            Ok(())
        }
        _ => Err(format!("response needs exactly one of result and error: {text:?}")),
    }
}

fn check_id(id: &RawValue, null_ok: bool, text: &str) -> Result<(), String> {
    match first(id) {
        b'"' | b'-' | b'0'..=b'9' => Ok(()),
        b'n' if null_ok => Ok(()),
        _ => Err(format!("bad id {}: {text:?}", id.get())),
    }
}

/// Checks an SSE body prefix: every complete event is made of known fields,
/// and every non-empty `data` is one JSON-RPC message. An incomplete last
/// event (the read stopped mid-stream) is ignored.
pub fn check_sse(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("SSE body is not UTF-8: {e}"))?;
    let complete = match text.rfind("\n\n") {
        Some(end) => &text[..end],
        None => return Ok(()),
    };
    for event in complete.split("\n\n") {
        let mut data = String::new();
        for line in event.lines() {
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').ok_or_else(|| format!("SSE line without a field: {line:?}"))?;
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(value);
                }
                "id" | "retry" | "event" => {}
                _ => return Err(format!("unknown SSE field {field:?} in {event:?}")),
            }
        }
        if !data.is_empty() {
            check_message(&data).map_err(|e| format!("SSE data: {e}"))?;
        }
    }
    Ok(())
}
