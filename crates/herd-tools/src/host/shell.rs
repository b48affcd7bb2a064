//! The `shell` tool: run a command, wait for it, return what it printed.
//!
//! The command string goes to `<shell> -c` as one argument, exactly as the
//! caller wrote it. It runs in a process group of its own with stdin on
//! `/dev/null`; the group is killed on timeout, when the call is cancelled
//! or dropped ([`ProcessGroup`] kills on drop), and after the shell exits,
//! so nothing the command started outlives the call. Output capture and the
//! bounded wait on pipes a stray process may hold open live in [`run`].

mod run;

use super::shape::args::{failed, io_failed};
use super::shape::shell::{Args, brief, result};
use super::{Host, HostConfig};
use crate::catalog::{ToolError, ToolResult};
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Map, Value, json};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

/// The definition of `shell`.
pub(super) fn tool(cfg: &HostConfig) -> Tool {
    let cap = cfg.output_cap;
    let default = cfg.default_timeout.as_secs_f64();
    let max = cfg.max_timeout.as_secs_f64();
    Tool {
        name: "shell".into(),
        title: Some("Run a shell command".into()),
        description: format!(
            "Runs a command with `{shell} -c` and waits for it. stdin is empty; stdout and stderr are captured \
             separately, each capped at {cap} bytes (first and last halves kept, the middle elided and marked). \
             The result ends with the exit code; a non-zero exit is reported, not treated as a tool error. \
             On timeout (default {default} s, at most {max} s) the command's whole process group is killed and \
             the call fails. Processes the command starts are killed when the call ends: use shell_bg for \
             anything that must keep running. A client that accepts tasks gets a task for a command that \
             outlasts a moment, and may poll it (tasks/get) from a later connection.",
            shell = cfg.shell.display()
        ),
        input_schema: json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "Shell command line, passed verbatim to the shell."},
                "cwd": {"type": "string", "description": "Working directory (default: the agent's)."},
                "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": max, "default": default,
                            "description": "Seconds before the command's process group is killed."},
                "env": {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                        "description": "Variables to set (null unsets one) on top of the agent's environment \
                                        (which never includes herd's own variables or secrets)."}
            },
            "required": ["command"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "exit_code": {"type": "integer", "description": "Exit status; 128+N when killed by signal N."},
                "signal": {"type": ["integer", "null"], "description": "Signal that killed the shell, if any."},
                "stdout": {"type": "string"},
                "stderr": {"type": "string"},
                "timed_out": {"type": "boolean"},
                "duration_ms": {"type": "integer"},
                "truncated": {"type": "boolean", "description": "Some output was elided to fit the cap."},
                "stdout_bytes": {"type": "integer", "description": "Bytes written to stdout in all."},
                "stderr_bytes": {"type": "integer", "description": "Bytes written to stderr in all."}
            },
            "required": ["exit_code", "stdout", "stderr", "timed_out", "duration_ms", "truncated"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Run a shell command".into()),
            open_world_hint: Some(true),
            ..ToolAnnotations::writes(true, false)
        }),
    }
}

/// Runs `shell`.
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let cfg = &host.config;
    let a = Args::parse(args)?;
    let timeout = a.timeout(cfg.default_timeout, cfg.max_timeout)?;
    if let Some(cwd) = &a.cwd {
        let meta =
            tokio::fs::metadata(cwd).await.map_err(|e| io_failed(format_args!("shell: cwd {}", cwd.display()), &e))?;
        if !meta.is_dir() {
            return Err(failed(format!("shell: cwd {}: Not a directory", cwd.display())));
        }
    }

    let mut cmd = tokio::process::Command::new(&cfg.shell);
    cmd.arg("-c")
        .arg(&a.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = &a.cwd {
        cmd.current_dir(cwd);
    }
    // The agent's secrets never pass; what the call sets explicitly does.
    cfg.child_env.scrub(&mut cmd);
    for (key, value) in a.env.iter().flatten() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let started = Instant::now();
    let mut child =
        cmd.spawn().map_err(|e| io_failed(format_args!("shell: cannot start {}", cfg.shell.display()), &e))?;
    let pid = child.id().and_then(|id| i32::try_from(id).ok());
    let Some(pid) = pid else {
        return Err(failed("shell: the shell vanished before it could be tracked"));
    };
    // From here on, however the call ends, the group is killed.
    let group = ProcessGroup(Pid::from_raw(pid));
    let outcome = run::supervise(&mut child, &group, timeout, cfg, &cx).await.map_err(|e| match e {
        ToolError::Failed(why) => failed(format!("shell `{}`: {why}", brief(&a.command))),
        other => other,
    })?;
    drop(group);
    Ok(result(&a.command, &outcome, timeout, started.elapsed()))
}

/// The command's process group; dropping it kills every member.
pub(super) struct ProcessGroup(Pid);

impl ProcessGroup {
    /// Sends SIGKILL to every process in the group (a no-op once it is empty).
    pub(super) fn kill(&self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests;
