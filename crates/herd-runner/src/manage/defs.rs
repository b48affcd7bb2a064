//! Definitions (schemas, annotations) of the management tools.

use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Value, json};

fn status_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "source": {"type": "string"},
            "state": {"type": "string", "enum": ["installing", "running", "restarting", "crashed", "failed", "stopped"]},
            "pid": {"type": "integer"},
            "restarts": {"type": "integer"},
            "error": {"type": "string"},
            "since_ms": {"type": "integer"},
            "env": {"type": "array", "items": {"type": "string"}, "description": "Names only; values are never shown."}
        },
        "required": ["name", "source", "state", "restarts", "since_ms"]
    })
}

fn name_property() -> Value {
    json!({"type": "string", "description": "The server's name on this agent."})
}

pub(super) fn list() -> Tool {
    Tool {
        name: "servers_list".into(),
        title: Some("List supervised MCP servers".into()),
        description: "Lists the MCP servers this agent supervises, with state (installing, running, restarting, \
                      crashed, failed, stopped), pid, restarts in a row and the last error. Their tools are offered \
                      as <server>__<tool>."
            .into(),
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"servers": {"type": "array", "items": status_schema()}},
            "required": ["servers"]
        })),
        annotations: Some(ToolAnnotations { open_world_hint: Some(false), ..ToolAnnotations::read_only() }),
    }
}

pub(super) fn load() -> Tool {
    let string = |d: &str| json!({"type": "string", "description": d});
    Tool {
        name: "servers_load".into(),
        title: Some("Load an MCP server".into()),
        description: "Installs and starts a stdio MCP server on this agent, replacing one of the same name. Give \
                      exactly one source: npx (npm package), uvx (PyPI package), git (+ branch), path, or command \
                      (+ args). Nothing is passed through a shell. Waits until it runs or gives up (progress is \
                      reported) and returns its state; on failure the end of its log. The agent keeps it: it \
                      comes back when the agent restarts, until servers_unload."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
                         "description": "Name on this agent; its tools become <name>__<tool>."},
                "npx": string("npm package, e.g. @modelcontextprotocol/server-everything"),
                "uvx": string("PyPI package, e.g. mcp-server-time"),
                "git": string("Repository URL (https://, ssh://, git://, file:///, user@host:path)."),
                "branch": string("Branch or tag of git."),
                "path": string("Absolute path of a local server directory."),
                "command": string("Program to run (alone, or inside the git/path directory)."),
                "bin": string("Which executable of the npx/uvx package (default: the package's own name)."),
                "args": {"type": "array", "items": {"type": "string"}, "description": "Arguments, passed as they are."},
                "env": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Extra environment variables."},
                "autostart": {"type": "boolean", "description": "Start now (default true)."},
                "restart": {"type": "string", "enum": ["on-failure", "never"], "description": "Default on-failure."},
                "max_restarts": {"type": "integer", "minimum": 0, "description": "Restarts in a row (default 5)."},
                "restart_delay": {"type": "number", "minimum": 0, "maximum": 60,
                                  "description": "Seconds before the first restart; doubles up to 60 (default 1)."},
                "call_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400,
                                 "description": "Seconds one call may take."},
                "wait": {"type": "number", "minimum": 0, "maximum": 3600,
                         "description": "Seconds to wait for the outcome (default 600)."}
            },
            "required": ["name"],
            "additionalProperties": false
        }),
        output_schema: Some(
            json!({"type": "object", "properties": {"server": status_schema()}, "required": ["server"]}),
        ),
        annotations: Some(ToolAnnotations { open_world_hint: Some(true), ..ToolAnnotations::writes(false, true) }),
    }
}

pub(super) fn unload() -> Tool {
    Tool {
        name: "servers_unload".into(),
        title: Some("Unload an MCP server".into()),
        description: "Stops a supervised server (SIGTERM to its whole process group, then SIGKILL) and forgets it, \
                      so it does not come back when the agent restarts. Calls in flight fail. Its installed files \
                      stay, so loading it again is quick."
            .into(),
        input_schema: json!({
            "type": "object", "properties": {"name": name_property()}, "required": ["name"], "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "unloaded": {"type": "boolean"}},
            "required": ["name", "unloaded"]
        })),
        annotations: Some(ToolAnnotations { open_world_hint: Some(false), ..ToolAnnotations::writes(true, true) }),
    }
}

pub(super) fn logs() -> Tool {
    Tool {
        name: "servers_logs".into(),
        title: Some("Read a server's log".into()),
        description: "The last lines a supervised server wrote to stderr, with herd's notes on its installs, exits \
                      and restarts (lines starting with [herd]). The buffer is bounded; `dropped` counts older lines."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "name": name_property(),
                "lines": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "How many (default 100)."}
            },
            "required": ["name"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "lines": {"type": "array", "items": {"type": "string"}},
                "dropped": {"type": "integer"}
            },
            "required": ["name", "lines", "dropped"]
        })),
        annotations: Some(ToolAnnotations { open_world_hint: Some(false), ..ToolAnnotations::read_only() }),
    }
}
