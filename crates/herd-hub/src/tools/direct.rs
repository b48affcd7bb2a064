//! The tools that reach one host: `remote_<tool>`, `remote_list_tools` and
//! `remote_call`.

use super::{error_result, host_arg, policy_host, take};
use crate::Fleet;
use crate::path::{Failure, Served};
use crate::raw::{RawObject, to_raw};
use herd_auth::{Action, Tool, hub_tool_target};
use herd_fleet::Host;
use herd_guard::{check, may};
use herd_proto::{Backend, Context, ListKind, RpcError};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Runs agent tool `tool` on the host named by `host`, if the caller may.
pub(super) async fn forward(
    fleet: &Fleet,
    tool: &str,
    mut arguments: Map<String, Value>,
    cx: &Context,
) -> Result<Box<RawValue>, RpcError> {
    let host = match host_arg(&mut arguments).map(|h| fleet.host(&h).map_err(|e| error_result(e.to_string()))) {
        Ok(Ok(host)) => host,
        Ok(Err(e)) | Err(e) => return Ok(to_raw(&e)),
    };
    check(cx, &Action::CallTool { host: policy_host(&host), tool: forwarded_target(tool) })?;
    let timeout = timeout_of(fleet, tool, &arguments);
    Ok(present(fleet.call_tool(&host, tool, arguments, cx, timeout).await))
}

/// [`forward`] for arguments left unparsed: `host` is read out of them and
/// the rest goes to the agent as it came.
pub(super) async fn forward_raw(
    fleet: &Fleet,
    tool: &str,
    mut arguments: RawObject<'_>,
    cx: &Context,
) -> Result<Box<RawValue>, RpcError> {
    let host = match raw_host(arguments.remove("host").as_deref()).map(|h| fleet.host(&h)) {
        Ok(Ok(host)) => host,
        Ok(Err(e)) => return Ok(to_raw(&error_result(e.to_string()))),
        Err(e) => return Ok(to_raw(&e)),
    };
    check(cx, &Action::CallTool { host: policy_host(&host), tool: forwarded_target(tool) })?;
    let own = (tool == "shell").then(|| arguments.get("timeout").and_then(|t| serde_json::from_str(t.get()).ok()));
    let timeout = timeout_for(fleet, tool, own.flatten().as_ref().and_then(Value::as_f64));
    Ok(present(fleet.call_tool_raw(&host, tool, &arguments.to_raw(), cx, timeout).await))
}

/// The `host` argument, required; refused as [`host_arg`] refuses it.
fn raw_host(raw: Option<&RawValue>) -> Result<String, Value> {
    match raw {
        None => Err(error_result("invalid arguments: missing field `host`")),
        Some(raw) if raw.get() == "null" => Err(error_result("invalid arguments: missing field `host`")),
        Some(raw) => serde_json::from_str(raw.get()).or_else(|_| {
            let mut arguments = Map::new();
            arguments.insert("host".into(), serde_json::from_str(raw.get()).unwrap_or(Value::Null));
            host_arg(&mut arguments)
        }),
    }
}

/// The tool the policy sees for a forwarding tool.
fn forwarded_target(tool: &str) -> Tool<'_> {
    let target = hub_tool_target(&format!("remote_{tool}")).map(|t| t.tool());
    target.unwrap_or(Tool { name: tool, read_only: None })
}

/// `remote_call`: any tool of the host's agent, if the caller may call it.
pub(super) async fn call_any(
    fleet: &Fleet,
    mut arguments: Map<String, Value>,
    cx: &Context,
) -> Result<Box<RawValue>, RpcError> {
    let parsed = (|| {
        let host = host_arg(&mut arguments)?;
        let tool = take::<String>(&mut arguments, "tool")?
            .ok_or_else(|| error_result("invalid arguments: missing field `tool`"))?;
        // Checked before anything else: the name goes into log lines and
        // metric labels, and no agent offers a tool by any other name.
        herd_proto::check_tool_name(&tool).map_err(|e| error_result(format!("invalid arguments: tool: {e}")))?;
        let inner = take::<Map<String, Value>>(&mut arguments, "arguments")?.unwrap_or_default();
        if let Some(extra) = arguments.keys().next() {
            return Err(error_result(format!("invalid arguments: unknown field `{extra}`")));
        }
        let host = fleet.host(&host).map_err(|e| error_result(e.to_string()))?;
        Ok((host, tool, inner))
    })();
    let (host, tool, inner) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(to_raw(&e)),
    };
    check_any(fleet, &host, &tool, cx).await?;
    let timeout = timeout_of(fleet, &tool, &inner);
    Ok(present(fleet.call_tool(&host, &tool, inner, cx, timeout).await))
}

/// Whether the caller may call `tool` on `host`, decided with the tool's
/// own annotation from the host's listing. Only a caller whose answer
/// depends on the annotation (a viewer) costs a listing; a tool the host
/// does not list (or a host that cannot list) counts as not read-only.
async fn check_any(fleet: &Fleet, host: &Host, tool: &str, cx: &Context) -> Result<(), RpcError> {
    let unannotated = Action::CallTool { host: policy_host(host), tool: Tool { name: tool, read_only: None } };
    if may(cx, &unannotated) {
        return Ok(());
    }
    // The grants first: a host or tool outside them needs no listing.
    let read_only = Action::CallTool { host: policy_host(host), tool: Tool { name: tool, read_only: Some(true) } };
    check(cx, &read_only)?;
    let hint = listed_hint(fleet, host, tool).await;
    check(cx, &Action::CallTool { host: policy_host(host), tool: Tool { name: tool, read_only: hint } })
}

/// The `readOnlyHint` of `tool` in `host`'s own tool list.
async fn listed_hint(fleet: &Fleet, host: &Host, tool: &str) -> Option<bool> {
    let budget = fleet.config().call_timeout.min(Duration::from_secs(30));
    let relay = fleet.relay(host, budget).ok()?;
    let tools = relay.list(ListKind::Tools, Context::detached()).await.ok()?;
    tools.iter().find_map(|entry| {
        let entry: Value = serde_json::from_str(entry.get()).ok()?;
        let listed = Tool::from_listing(&entry)?;
        (listed.name == tool).then_some(listed.read_only)
    })?
}

/// `remote_list_tools`: the tools of the agent's list the caller may call.
pub(super) async fn list_tools(
    fleet: &Fleet,
    mut arguments: Map<String, Value>,
    cx: &Context,
) -> Result<Value, RpcError> {
    let host = match host_arg(&mut arguments).map(|h| fleet.host(&h).map_err(|e| error_result(e.to_string()))) {
        Ok(Ok(host)) => host,
        Ok(Err(e)) | Err(e) => return Ok(e),
    };
    check(cx, &Action::SeeHost(policy_host(&host)))?;
    let budget = fleet.config().call_timeout.min(Duration::from_secs(30));
    let relay = match fleet.relay(&host, budget) {
        Ok(relay) => relay,
        Err(why) => return Ok(error_result(format!("{}: agent: {why}", host.name))),
    };
    let tools = match relay.list(ListKind::Tools, cx.clone()).await {
        Ok(tools) => tools,
        Err(e) => return Ok(error_result(format!("{}: agent: {}", host.name, e.message))),
    };
    let mut tools: Vec<Value> = tools.iter().filter_map(|t| serde_json::from_str(t.get()).ok()).collect();
    tools.retain(|entry| {
        Tool::from_listing(entry).is_some_and(|tool| may(cx, &Action::CallTool { host: policy_host(&host), tool }))
    });
    let mut text = format!("{} tools on {}:\n", tools.len(), host.name);
    for tool in &tools {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or("?");
        let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
        let first_line = description.lines().next().unwrap_or_default();
        text.push_str(&format!("- {name}: {first_line}\n"));
    }
    Ok(json!({
        "content": [{ "type": "text", "text": text }],
        "structuredContent": { "host": host.name, "via": "agent", "tools": tools },
    }))
}

/// Bound of a whole call: a `shell` call's own timeout plus a margin,
/// otherwise the configured call timeout.
fn timeout_of(fleet: &Fleet, tool: &str, arguments: &Map<String, Value>) -> Duration {
    timeout_for(fleet, tool, (tool == "shell").then(|| arguments.get("timeout").and_then(Value::as_f64)).flatten())
}

/// [`timeout_of`] with a `shell` call's `timeout` argument read already.
fn timeout_for(fleet: &Fleet, tool: &str, own: Option<f64>) -> Duration {
    let config = fleet.config();
    let own = own.and_then(|s| Duration::try_from_secs_f64(s).ok()).unwrap_or(Duration::from_secs(120));
    if tool == "shell" { own.min(Duration::from_secs(3600)) + config.timeout_margin } else { config.call_timeout }
}

/// The result a client sees: the agent's (or fallback's) result with the
/// path noted, or an `isError` result naming every path tried.
pub(super) fn present(outcome: Result<Served, Failure>) -> Box<RawValue> {
    match outcome {
        Ok(served) => served.result,
        Err(failure) => to_raw(&error_result(failure.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `host` read from unparsed arguments is refused exactly as from
    /// parsed ones.
    #[test]
    fn raw_host_is_read_and_refused_as_host_arg_does() {
        for host in [json!("web1"), json!("caf\u{e9}"), json!(null), json!(5), json!(["a"])] {
            let raw = to_raw(&host);
            let mut parsed = Map::new();
            parsed.insert("host".into(), host.clone());
            assert_eq!(raw_host(Some(&raw)), host_arg(&mut parsed), "{host}");
        }
        assert_eq!(raw_host(None), host_arg(&mut Map::new()));
        assert_eq!(raw_host(Some(&to_raw("web1"))), Ok("web1".to_owned()));
    }
}
