//! `shell`: its arguments and its result.
//!
//! However a command ran, its result is the agent's: stdout, then stderr
//! under a `--- stderr ---` line, then notes on a timeout, a killing
//! signal or processes that held the output open, then `exit code: N`;
//! `structuredContent` carries the same facts as fields. A timeout is an
//! `isError` result; a non-zero exit is not.

use super::capture::Captured;
use crate::catalog::ToolError;
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The arguments of `shell`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The command line, passed verbatim to the shell.
    pub command: String,
    /// The working directory.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Seconds before the command's process group is killed.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Variables to set (`None` unsets one).
    #[serde(default)]
    pub env: Option<BTreeMap<String, Option<String>>>,
}

impl Args {
    /// Parses and checks a call's arguments.
    pub fn parse(args: Map<String, Value>) -> Result<Self, ToolError> {
        let a: Self = super::args::parse("shell", args)?;
        if a.command.trim().is_empty() {
            return Err(ToolError::InvalidArguments("shell: command is empty".into()));
        }
        Ok(a)
    }

    /// The timeout to apply: `default` when the call gives none, and at
    /// most `max`.
    pub fn timeout(&self, default: Duration, max: Duration) -> Result<Duration, ToolError> {
        match self.timeout {
            None => Ok(default),
            Some(t) if t.is_finite() && t > 0.0 && t <= max.as_secs_f64() => match Duration::try_from_secs_f64(t) {
                Ok(timeout) => Ok(timeout.min(max)),
                Err(_) => Ok(max),
            },
            Some(t) => {
                let max = max.as_secs_f64();
                Err(ToolError::InvalidArguments(format!(
                    "shell: timeout {t} must be more than 0 and at most {max} seconds"
                )))
            }
        }
    }
}

/// How a command ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status; 128+N for death by signal N, as shells report it.
    pub exit_code: i32,
    /// The signal that killed the shell, if one did.
    pub signal: Option<i32>,
    /// What the command wrote to stdout.
    pub stdout: Captured,
    /// What the command wrote to stderr.
    pub stderr: Captured,
    /// The timeout passed and the command's process group was killed.
    pub timed_out: bool,
    /// After the shell exited, processes it started still held the output
    /// open and were killed.
    pub killed_leftovers: bool,
    /// Reading stopped before end-of-file (a process outside the group
    /// held the output open).
    pub abandoned: bool,
}

/// The command, shortened for messages: its first line, at most 80
/// characters, with `...` when something was left out.
pub fn brief(command: &str) -> String {
    let command = command.trim();
    let line = command.lines().next().unwrap_or_default();
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None if line.len() < command.len() => format!("{line}..."),
        None => line.to_owned(),
    }
}

/// The `shell` result for `command`, which ran for `elapsed` under
/// `timeout` and ended as `o` says.
pub fn result(command: &str, o: &Outcome, timeout: Duration, elapsed: Duration) -> CallToolResult {
    let mut text = String::new();
    for (label, stream) in [("", &o.stdout), ("--- stderr ---\n", &o.stderr)] {
        if !stream.text.is_empty() {
            text.push_str(label);
            text.push_str(&stream.text);
            if !stream.text.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    if o.timed_out {
        let command = brief(command);
        text.push_str(&format!("[`{command}` timed out after {timeout:?}: killed its process group]\n"));
    } else if let Some(sig) = o.signal {
        text.push_str(&format!("[the shell was killed by signal {sig}]\n"));
    }
    if o.killed_leftovers {
        text.push_str("[processes the command left running kept its output open; they were killed]\n");
    }
    if o.abandoned {
        text.push_str("[a process outside the command's group kept its output open; stopped reading]\n");
    }
    text.push_str(&format!("exit code: {}", o.exit_code));
    let structured = json!({
        "exit_code": o.exit_code,
        "signal": o.signal,
        "stdout": o.stdout.text,
        "stderr": o.stderr.text,
        "timed_out": o.timed_out,
        "duration_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "truncated": o.stdout.omitted > 0 || o.stderr.omitted > 0,
        "stdout_bytes": o.stdout.total,
        "stderr_bytes": o.stderr.total,
    });
    let mut result = CallToolResult::structured(text, structured);
    result.is_error = o.timed_out;
    result
}

#[cfg(test)]
mod tests;
