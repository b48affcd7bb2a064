//! Greeting a freshly started server: `initialize`, then
//! `notifications/initialized`.
//!
//! herd declares the client capabilities it can relay (sampling,
//! elicitation, roots): a server's question goes to the session whose call
//! caused it.

use crate::stdio::StdioUpstream;
use herd_proto::{Notification, ProtocolVersion, method};
use herd_upstream::Upstream;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

/// Runs the handshake; returns the server's `capabilities`.
pub(super) async fn run(upstream: &StdioUpstream) -> Result<Map<String, Value>, String> {
    let params = json!({
        "protocolVersion": ProtocolVersion::LATEST.as_str(),
        "capabilities": { "sampling": {}, "elicitation": {}, "roots": { "listChanged": true } },
        "clientInfo": { "name": "herd-agent", "version": env!("CARGO_PKG_VERSION") }
    });
    let params = serde_json::value::to_raw_value(&params).map_err(|e| e.to_string())?;
    let (events, _ignored) = mpsc::unbounded_channel();
    let call = upstream.request(method::INITIALIZE, Some(params), Vec::new(), events);
    let answer = call.response.await.map_err(|e| e.to_string())?;
    let result = answer.into_result().map_err(|e| format!("initialize: {e}"))?;
    let result: Value = serde_json::from_str(result.get()).map_err(|e| format!("initialize result: {e}"))?;
    let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
    if ProtocolVersion::parse(version).is_none() && version != "2024-11-05" {
        return Err(format!("the server speaks protocol {version:?}, which herd does not"));
    }
    upstream.notify(Notification::new(method::INITIALIZED, None)).await.map_err(|e| e.to_string())?;
    Ok(result.get("capabilities").and_then(Value::as_object).cloned().unwrap_or_default())
}
