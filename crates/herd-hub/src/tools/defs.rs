//! Definitions of the hub tools. The forwarding ones are derived from the
//! agent's own definitions (same arguments plus `host`, same result shape
//! plus `host` and `via`), so a change to an agent tool shows here too.

use futures_util::FutureExt;
use herd_proto::{Backend, Context, ListKind};
use herd_tools::host::{HostConfig, catalog};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Agent tools offered as `remote_<name>`.
pub(crate) const FORWARDED: &[&str] =
    &["shell", "shell_bg", "read_file", "write_file", "edit_file", "list_dir", "search_files"];

/// Every hub tool, serialized once.
pub(crate) fn all() -> Vec<Box<RawValue>> {
    let agent = agent_tools();
    let mut tools = vec![list_hosts()];
    tools.extend(agent.iter().filter(|t| FORWARDED.contains(&name(t))).map(forwarded));
    if let Some(shell) = agent.iter().find(|t| name(t) == "shell") {
        tools.push(shell_many(shell));
    }
    tools.push(list_tools());
    tools.push(remote_call());
    tools.iter().filter_map(|t| serde_json::value::to_raw_value(t).ok()).collect()
}

fn agent_tools() -> Vec<Value> {
    let listed = catalog(HostConfig::default()).list(ListKind::Tools, Context::detached()).now_or_never();
    let raw = listed.and_then(Result::ok).unwrap_or_default();
    raw.iter().filter_map(|r| serde_json::from_str(r.get()).ok()).collect()
}

fn name(tool: &Value) -> &str {
    tool.get("name").and_then(Value::as_str).unwrap_or_default()
}

fn host_property() -> Value {
    json!({ "type": "string", "description": "Name of a registered host (see remote_list_hosts)." })
}

fn with_host(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("host".into(), host_property());
    }
    let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    schema["required"] = Value::Array(std::iter::once(json!("host")).chain(required).collect());
    schema
}

fn with_path(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("host".into(), json!({ "type": "string", "description": "The host that ran the tool." }));
        props.insert(
            "via".into(),
            json!({ "type": "string", "enum": ["agent", "channel", "ssh"],
            "description": "Which path served the call." }),
        );
    }
    schema
}

fn forwarded(tool: &Value) -> Value {
    let agent_name = name(tool);
    let fallback = if agent_name == "shell_bg" {
        "Needs the host's agent."
    } else {
        "When the host's agent is down, runs over ssh instead (if the host has an ssh destination)."
    };
    let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
    let mut out = json!({
        "name": format!("remote_{agent_name}"),
        "description": format!("On a registered host: {description} {fallback} The result says which path served it."),
        "inputSchema": with_host(&tool["inputSchema"]),
    });
    if let Some(title) = tool.get("title").and_then(Value::as_str) {
        out["title"] = json!(format!("{title} on a host"));
    }
    if let Some(schema) = tool.get("outputSchema") {
        out["outputSchema"] = with_path(schema);
    }
    if let Some(annotations) = tool.get("annotations") {
        let mut annotations = annotations.clone();
        annotations["openWorldHint"] = json!(true);
        out["annotations"] = annotations;
    }
    // A tool that may run as a task on the agent may as `remote_<name>` on
    // the hub, which runs the call as a task of its own.
    if let Some(execution) = tool.get("execution") {
        out["execution"] = execution.clone();
    }
    out
}

fn list_hosts() -> Value {
    json!({
        "name": "remote_list_hosts",
        "title": "List the fleet's hosts",
        "description": "Lists every registered host: its agent's state (up, down, unknown) as last probed, since when, \
                        the last error, its tags and which paths (agent, channel, ssh) can reach it. Probe results are cached \
                        (UP for 30 s, DOWN with growing backoff); `force` probes every host now, within the probe budget.",
        "inputSchema": { "type": "object", "properties": {
            "force": { "type": "boolean", "default": false, "description": "Probe every host now instead of trusting the cache." }
        }, "additionalProperties": false },
        "outputSchema": { "type": "object", "properties": { "hosts": { "type": "array", "items": { "type": "object",
            "properties": {
                "name": { "type": "string" },
                "state": { "type": "string", "enum": ["up", "down", "unknown"] },
                "url": { "type": "string" }, "ssh": { "type": "string" },
                "path": { "type": "string", "enum": ["agent", "agent+ssh", "channel", "channel+ssh", "ssh"] },
                "tags": { "type": "array", "items": { "type": "string" } },
                "checked_s_ago": { "type": "number" }, "up_for_s": { "type": "number" },
                "failures": { "type": "integer" }, "error": { "type": "string" }, "tools": { "type": "integer" }
            }, "required": ["name", "state", "tags"] } } }, "required": ["hosts"] },
        "annotations": { "readOnlyHint": true, "openWorldHint": true }
    })
}

fn shell_many(shell: &Value) -> Value {
    let mut input = shell["inputSchema"].clone();
    if let Some(props) = input.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "hosts".into(),
            json!({ "type": "array", "items": { "type": "string" },
            "description": "Host names. With neither hosts nor tags: every host." }),
        );
        props.insert(
            "tags".into(),
            json!({ "type": "array", "items": { "type": "string" },
            "description": "Also every host carrying any of these tags." }),
        );
    }
    json!({
        "name": "remote_shell_many",
        "title": "Run a shell command on many hosts",
        "description": "Runs the same command on many hosts in parallel (bounded), each like remote_shell (agent, or ssh \
                        when the agent is down), and returns one result per host, in registry order. A host that fails \
                        does not fail the others. Progress is reported as hosts finish.",
        "inputSchema": input,
        "outputSchema": { "type": "object", "properties": {
            "results": { "type": "array", "items": { "type": "object", "properties": {
                "host": { "type": "string" }, "via": { "type": "string" },
                "exit_code": { "type": "integer" }, "stdout": { "type": "string" }, "stderr": { "type": "string" },
                "timed_out": { "type": "boolean" }, "duration_ms": { "type": "integer" }, "error": { "type": "string" }
            }, "required": ["host"] } },
            "succeeded": { "type": "integer", "description": "Hosts where the command exited 0." },
            "failed": { "type": "integer", "description": "Hosts where it did not run or did not exit 0." }
        }, "required": ["results", "succeeded", "failed"] },
        "annotations": { "destructiveHint": true, "openWorldHint": true }
    })
}

fn list_tools() -> Value {
    json!({
        "name": "remote_list_tools",
        "title": "List a host's tools",
        "description": "Lists every tool the host's agent offers (host tools and the tools of its supervised MCP \
                        servers) with descriptions and input schemas. Call one with remote_call.",
        "inputSchema": { "type": "object", "properties": { "host": host_property() },
                         "required": ["host"], "additionalProperties": false },
        "annotations": { "readOnlyHint": true, "openWorldHint": true }
    })
}

fn remote_call() -> Value {
    json!({
        "name": "remote_call",
        "title": "Call any tool on a host",
        "description": "Calls a tool of the host's agent by name (see remote_list_tools) and returns its result as the \
                        agent gave it, plus a closing line saying which path served it.",
        "inputSchema": { "type": "object", "properties": {
            "host": host_property(),
            "tool": { "type": "string", "description": "The tool's name on that host." },
            "arguments": { "type": "object", "description": "The tool's arguments." }
        }, "required": ["host", "tool"], "additionalProperties": false },
        "annotations": { "openWorldHint": true }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed() -> Vec<Value> {
        all().iter().map(|r| serde_json::from_str(r.get()).unwrap()).collect()
    }

    #[test]
    fn every_hub_tool_is_defined_with_a_client_safe_name() {
        let names: Vec<String> = parsed().iter().map(|t| name(t).to_owned()).collect();
        assert_eq!(names.len(), 1 + FORWARDED.len() + 3, "{names:?}");
        for n in &names {
            assert!(n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{n}");
        }
        assert!(names.contains(&"remote_search_files".to_owned()));
    }

    #[test]
    fn forwarded_tools_require_host_and_keep_the_agent_schema() {
        let tools = parsed();
        let shell = tools.iter().find(|t| name(t) == "remote_shell").unwrap();
        assert_eq!(shell["inputSchema"]["required"], json!(["host", "command"]));
        assert_eq!(shell["inputSchema"]["additionalProperties"], json!(false));
        assert!(shell["inputSchema"]["properties"]["timeout"].is_object());
        assert!(shell["outputSchema"]["properties"]["via"].is_object());
        assert_eq!(shell["outputSchema"]["properties"]["exit_code"]["type"], "integer");
        let read = tools.iter().find(|t| name(t) == "remote_read_file").unwrap();
        assert_eq!(read["annotations"]["readOnlyHint"], json!(true));
    }
}
