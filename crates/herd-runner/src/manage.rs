//! The tools that manage an agent's servers: `servers_list`,
//! `servers_load`, `servers_unload`, `servers_logs`.
//!
//! They are ordinary agent tools, so the hub reaches them with
//! `remote_call` and `herd servers` is a thin client over them. A load
//! takes the same fields as a `[[servers]]` entry of the config and waits
//! (with progress) until the server runs or gives up, so the caller learns
//! the outcome in one call. A loaded server is saved in the agent's store
//! and comes back when the agent starts again, until it is unloaded.

mod defs;

use crate::Runner;
use crate::keep::{Keep, LoadError};
use crate::spec::ServerSpec;
use crate::supervisor::{State, Status};
use herd_proto::Context;
use herd_proto::model::CallToolResult;
use herd_tools::catalog::{Catalog, ToolError, ToolResult};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The management tools over `runner`.
pub(crate) fn catalog(runner: Runner) -> Catalog {
    let mut builder = Catalog::builder();
    let r = runner.clone();
    builder.tool(defs::list(), move |_, _| {
        let r = r.clone();
        async move { Ok(listing(&r.list())) }
    });
    let r = runner.clone();
    builder.tool(defs::load(), move |args, cx| load(r.clone(), args, cx));
    let r = runner.clone();
    builder.tool(defs::unload(), move |args, _| unload(r.clone(), args));
    builder.tool(defs::logs(), move |args, _| {
        let r = runner.clone();
        async move { logs(&r, args) }
    });
    builder.build()
}

fn tool_error(error: LoadError) -> ToolError {
    match error {
        LoadError::Spec(e) => ToolError::InvalidArguments(e.to_string()),
        e @ LoadError::Keep { .. } => ToolError::Failed(e.to_string()),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(args: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args)).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

fn line(s: &Status) -> String {
    let pid = s.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
    let restarts = if s.restarts > 0 { format!(", {} restarts", s.restarts) } else { String::new() };
    let error = s.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
    format!("{} ({}) {}{pid}{restarts}{error}", s.name, s.source, s.state.as_str())
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn listing(servers: &[Status]) -> CallToolResult {
    let text = if servers.is_empty() {
        "no servers".to_owned()
    } else {
        servers.iter().map(line).collect::<Vec<_>>().join("\n")
    };
    CallToolResult::structured(text, json!({ "servers": to_value(&servers) }))
}

async fn load(runner: Runner, args: Map<String, Value>, cx: Context) -> ToolResult {
    let mut args = args;
    let (wait, secs) = wait(args.remove("wait"))?;
    let spec: ServerSpec = parse(args)?;
    let name = spec.name.clone();
    let server = runner.load_server(spec, Keep::Yes).await.map_err(tool_error)?;
    let mut step = 0.0;
    let status = Runner::settle(&server, wait, |s| {
        step += 1.0;
        cx.progress(step, None, Some(&format!("{name}: {}", s.state.as_str())));
    })
    .await;
    let structured = json!({ "server": to_value(&status) });
    match status.state {
        State::Running | State::Stopped => Ok(CallToolResult::structured(line(&status), structured)),
        State::Installing | State::Restarting => {
            Ok(CallToolResult::structured(format!("{} (still going after {secs}s)", line(&status)), structured))
        }
        State::Crashed | State::Failed => {
            let (tail, _) = server.ring.tail(20);
            let text = format!("{}\nlast lines of its log:\n{}", line(&status), tail.join("\n"));
            Ok(CallToolResult { is_error: true, ..CallToolResult::structured(text, structured) })
        }
    }
}

/// The longest `wait` of `servers_load` (an hour; installs take minutes).
const MAX_WAIT: f64 = 3600.0;

/// How long `servers_load` waits for the outcome: `wait` seconds (default
/// 600), checked before anything is loaded.
fn wait(value: Option<Value>) -> Result<(Duration, f64), ToolError> {
    let secs = match value {
        None | Some(Value::Null) => 600.0,
        Some(v) => v.as_f64().ok_or_else(|| ToolError::InvalidArguments(format!("wait must be a number, not {v}")))?,
    };
    crate::spec::seconds("wait", secs, true, MAX_WAIT).map_err(ToolError::InvalidArguments)?;
    let wait = Duration::try_from_secs_f64(secs).map_err(|e| ToolError::InvalidArguments(format!("wait: {e}")))?;
    Ok((wait, secs))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameArgs {
    name: String,
}

async fn unload(runner: Runner, args: Map<String, Value>) -> ToolResult {
    let NameArgs { name } = parse(args)?;
    if runner.unload_server(&name, Keep::Yes).await.map_err(tool_error)? {
        Ok(CallToolResult::structured(
            format!("{name}: stopped and unloaded"),
            json!({ "name": name, "unloaded": true }),
        ))
    } else {
        Err(ToolError::Failed(format!("no server named {name:?}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsArgs {
    name: String,
    #[serde(default)]
    lines: Option<usize>,
}

fn logs(runner: &Runner, args: Map<String, Value>) -> ToolResult {
    let LogsArgs { name, lines } = parse(args)?;
    let lines = lines.unwrap_or(100).min(10_000);
    let (tail, dropped) =
        runner.logs(&name, lines).ok_or_else(|| ToolError::Failed(format!("no server named {name:?}")))?;
    let text = if tail.is_empty() { format!("{name}: no output yet") } else { tail.join("\n") };
    Ok(CallToolResult::structured(text, json!({ "name": name, "lines": tail, "dropped": dropped })))
}

#[cfg(test)]
mod tests;
