//! The `shell_bg` tool: start a command that keeps running on its own.
//!
//! Servers, watchers and long builds must outlive the call that starts them
//! and the agent itself. The command runs as `<shell> -c <command>` under
//! `setsid(1)` (a new session: no controlling terminal, no hang-up when the
//! agent's session ends); where `setsid(1)` is missing it gets its own
//! process group instead. stdin is `/dev/null`; stdout and stderr are
//! appended to a log file opened here, so no path is ever spliced into a
//! command line. Like `shell`, the command inherits the agent's
//! environment without herd's secrets. The call returns at once with the pid and the log path; a
//! background task reaps the process when it exits, so no zombie is left.

use super::Host;
use super::shape::args::{failed, io_failed, parse};
use crate::catalog::{ToolError, ToolResult};
use herd_proto::Context;
use herd_proto::model::{CallToolResult, Tool, ToolAnnotations};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    command: String,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default)]
    log: Option<PathBuf>,
}

/// The definition of `shell_bg`.
pub(super) fn tool() -> Tool {
    Tool {
        name: "shell_bg".into(),
        title: Some("Start a background command".into()),
        description: "Starts a command with the user's shell, detached in its own session, and returns at once \
                      with its pid and log file. stdin is empty; stdout and stderr are appended to the log \
                      (default: a new file under the agent's temporary directory). The process keeps running \
                      after the call and after the agent exits; read the log with read_file. The pid leads its \
                      own process group: stop everything it started with `kill -- -<pid>` through shell."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "Shell command line, passed verbatim to the shell."},
                "cwd": {"type": "string", "description": "Working directory (default: the agent's)."},
                "log": {"type": "string", "description": "File to append stdout and stderr to (created if missing)."}
            },
            "required": ["command"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "pid": {"type": "integer", "description": "Process id; also its process group id (and session id when session is true)."},
                "log": {"type": "string", "description": "Where stdout and stderr go."},
                "session": {"type": "boolean", "description": "Runs in a new session (else only its own process group)."}
            },
            "required": ["pid", "log", "session"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Start a background command".into()),
            open_world_hint: Some(true),
            ..ToolAnnotations::writes(true, false)
        }),
    }
}

/// Runs `shell_bg`.
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let cfg = &host.config;
    let a: Args = parse("shell_bg", args)?;
    if a.command.trim().is_empty() {
        return Err(ToolError::InvalidArguments("shell_bg: command is empty".into()));
    }
    let log_dir = cfg.bg_log_dir.clone();
    let (cwd, log) = (a.cwd.clone(), a.log.clone());
    let (file, log, setsid) = host
        .files
        .run("shell_bg", &cx, move |_| {
            if let Some(cwd) = &cwd {
                let meta =
                    fs::metadata(cwd).map_err(|e| io_failed(format_args!("shell_bg: cwd {}", cwd.display()), &e))?;
                if !meta.is_dir() {
                    return Err(failed(format!("shell_bg: cwd {}: Not a directory", cwd.display())));
                }
            }
            let (file, log) = match log {
                Some(path) => (open_given_log(&path)?, path),
                None => new_log(&log_dir)?,
            };
            Ok((file, log, find_setsid()))
        })
        .await?;
    let err_file = file.try_clone().map_err(|e| io_failed(format_args!("shell_bg: log {}", log.display()), &e))?;

    let mut cmd = match &setsid {
        Some(setsid) => {
            let mut cmd = tokio::process::Command::new(setsid);
            cmd.arg(&cfg.shell);
            cmd
        }
        None => {
            let mut cmd = tokio::process::Command::new(&cfg.shell);
            cmd.process_group(0);
            cmd
        }
    };
    cmd.arg("-c").arg(&a.command).stdin(Stdio::null()).stdout(file).stderr(err_file).kill_on_drop(false);
    cfg.child_env.scrub(&mut cmd);
    if let Some(cwd) = &a.cwd {
        cmd.current_dir(cwd);
    }
    let mut child =
        cmd.spawn().map_err(|e| io_failed(format_args!("shell_bg: cannot start {}", cfg.shell.display()), &e))?;
    let Some(pid) = child.id() else {
        return Err(failed("shell_bg: the process vanished before it could be tracked"));
    };
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    let session = setsid.is_some();
    let how = if session { "in its own session" } else { "in its own process group (setsid not found)" };
    let text = format!("started pid {pid} {how}; stdout and stderr are appended to {}", log.display());
    Ok(CallToolResult::structured(text, json!({ "pid": pid, "log": log.to_string_lossy(), "session": session })))
}

/// Opens a log file the caller named, for appending.
fn open_given_log(path: &Path) -> Result<File, ToolError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| io_failed(format_args!("shell_bg: log {}", path.display()), &e))
}

/// Creates a fresh log file in `dir`, which must be ours and private.
fn new_log(dir: &Path) -> Result<(File, PathBuf), ToolError> {
    let what = format!("shell_bg: log directory {}", dir.display());
    DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io_failed(&what, &e))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| io_failed(&what, &e))?;
    if !meta.is_dir() || meta.uid() != nix::unistd::getuid().as_raw() || meta.mode() & 0o022 != 0 {
        return Err(failed(format!(
            "{what}: refusing to use it: not a directory owned by this user and writable only by it"
        )));
    }
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let name = format!("{millis}-{}-{}.log", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
    let path = dir.join(name);
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io_failed(format_args!("shell_bg: log {}", path.display()), &e))?;
    Ok((file, path))
}

/// `setsid(1)`, if the system has it.
fn find_setsid() -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    ["/usr/bin", "/bin"]
        .iter()
        .map(PathBuf::from)
        .chain(dirs)
        .map(|d| d.join("setsid"))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests;
