//! `shell` over SSH: run a command, wait for it, return what it printed.
//!
//! Arguments, limits and result are the agent's. The command reaches the
//! remote as base64 data and runs as `$SHELL -c "$command"` (the login
//! shell, `/bin/sh` if unset), with stdin on `/dev/null`, in a new session
//! (`setsid`), hence its own process group, so the whole group can be
//! killed: by a watchdog when `timeout` passes (then `timed_out`, exit code
//! 137, signal 9, an `isError` result, like the agent), by the stdin
//! watcher when the call is dropped or hits its hard cap, and, after a
//! drain grace of 2 s, when the shell exited but processes it started are
//! still alive. Its stdout and stderr come back as the channel's, each
//! capped like the agent's ([`crate::ssh::capped`]); the exit status and
//! what happened come in a control record the command cannot forge.

mod script;

use super::args::{no_nul, parse};
use super::errno::reason_b64;
use super::{Ctx, DEFAULT_TIMEOUT, DRAIN_GRACE, Fail, MAX_TIMEOUT, ToolResult, failed};
use crate::ssh::capped::{Capped, Captured};
use crate::ssh::remote::Sink;
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    command: String,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    env: Option<BTreeMap<String, Option<String>>>,
}

impl Sink for Capped {
    fn push(&mut self, bytes: &[u8]) -> bool {
        Capped::push(self, bytes);
        true
    }
}

/// How the command ended, as the remote reported it.
struct Outcome {
    exit_code: i32,
    stdout: Captured,
    stderr: Captured,
    timed_out: bool,
    killed_leftovers: bool,
    abandoned: bool,
}

impl Outcome {
    /// The signal that killed the shell. POSIX `wait` reports death by
    /// signal N as 128+N, like `exit 128+N`; statuses in that range are
    /// read as signals.
    fn signal(&self) -> Option<i32> {
        (129..=159).contains(&self.exit_code).then_some(self.exit_code - 128)
    }
}

/// Runs `shell`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a: Args = parse("shell", args)?;
    if a.command.trim().is_empty() {
        return Err(Fail::Invalid("shell: command is empty".into()));
    }
    let timeout = match a.timeout {
        None => DEFAULT_TIMEOUT,
        Some(t) if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT.as_secs_f64() => Duration::from_secs_f64(t),
        Some(t) => {
            let max = MAX_TIMEOUT.as_secs_f64();
            return Err(Fail::Invalid(format!("shell: timeout {t} must be more than 0 and at most {max} seconds")));
        }
    };
    no_nul("shell", "command", &a.command)?;
    let cwd = a.cwd.as_deref().map(|c| no_nul("shell", "cwd", c)).transpose()?;
    let env = a.env.unwrap_or_default();
    for (key, value) in &env {
        script::check_env(key, value.as_deref())?;
    }

    let mut remote = cx.remote("shell", timeout);
    let mut s = remote.script(false);
    script::build(&mut s, &a.command, cwd, &env, timeout);
    let cap = cx.conns.config().output_cap;
    let (mut out, mut err) = (Capped::new(cap), Capped::new(cap));
    let started = Instant::now();
    let run = remote.run(s, &mut out, &mut err, DRAIN_GRACE).await?;
    let elapsed = started.elapsed();
    if let Some(e) = run.record(&["err"]) {
        let cwd = cwd.unwrap_or_default();
        return Err(failed(match e.field(0) {
            "cwdnotdir" => format!("shell: cwd {cwd}: Not a directory"),
            "cwdperm" => format!("shell: cwd {cwd}: {}", std::io::Error::from_raw_os_error(13)),
            _ => format!("shell: cwd {cwd}: {}", reason_b64(e.field(1))),
        }));
    }
    let Some(exit) = run.record(&["exit"]) else {
        return Err(failed(format!("shell `{}`: the remote script reported no exit status", brief(&a.command))));
    };
    let outcome = Outcome {
        exit_code: exit.field(0).parse().unwrap_or(-1),
        timed_out: exit.field(1) == "1",
        killed_leftovers: exit.field(2) == "1",
        abandoned: run.abandoned,
        stdout: out.finish(),
        stderr: err.finish(),
    };
    Ok(render(&a.command, &outcome, timeout, elapsed))
}

/// The command, shortened for messages.
fn brief(command: &str) -> String {
    let command = command.trim();
    let line = command.lines().next().unwrap_or_default();
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None if line.len() < command.len() => format!("{line}..."),
        None => line.to_owned(),
    }
}

fn render(command: &str, o: &Outcome, timeout: Duration, elapsed: Duration) -> CallToolResult {
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
    } else if let Some(sig) = o.signal() {
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
        "signal": o.signal(),
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
