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
//! capped like the agent's ([`Capped`]); the exit status and what happened
//! come in a control record the command cannot forge.

mod script;

use super::args::no_nul;
use super::errno::reason_b64;
use super::{Ctx, LIMITS, ToolResult, failed};
use crate::ssh::remote::Sink;
use herd_tools::host::shape::capture::Capped;
use herd_tools::host::shape::shell::{Args, Outcome, brief, result};
use serde_json::{Map, Value};
use std::time::Instant;

impl Sink for Capped {
    fn push(&mut self, bytes: &[u8]) -> bool {
        Capped::push(self, bytes);
        true
    }
}

/// The signal that killed the shell, read from its exit status. POSIX
/// `wait` reports death by signal N as 128+N, like `exit 128+N`; statuses
/// in that range are read as signals.
fn signal(exit_code: i32) -> Option<i32> {
    (129..=159).contains(&exit_code).then_some(exit_code - 128)
}

/// Runs `shell`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a = Args::parse(args)?;
    let timeout = a.timeout(LIMITS.default_timeout, LIMITS.max_timeout)?;
    no_nul("shell", "command", &a.command)?;
    let cwd = a.cwd.as_ref().map(|c| c.display().to_string());
    let cwd = cwd.as_deref().map(|c| no_nul("shell", "cwd", c)).transpose()?;
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
    let run = remote.run(s, &mut out, &mut err, LIMITS.drain_grace).await?;
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
    let exit_code = exit.field(0).parse().unwrap_or(-1);
    let outcome = Outcome {
        exit_code,
        signal: signal(exit_code),
        timed_out: exit.field(1) == "1",
        killed_leftovers: exit.field(2) == "1",
        abandoned: run.abandoned,
        stdout: out.finish(),
        stderr: err.finish(),
    };
    Ok(result(&a.command, &outcome, timeout, elapsed))
}

#[cfg(test)]
mod tests;
