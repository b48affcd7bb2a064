//! The agent's host tools.
//!
//! A herd agent runs on a machine and lets MCP clients work on it: run
//! commands, read and change files, look around the file system. These are
//! the tools it exposes, built on the [`Catalog`] engine:
//!
//! | tool | does |
//! |---|---|
//! | `shell` | runs a command through the user's shell, waits, returns its output and exit code (a task, for a client that accepts tasks and a command that takes a while) |
//! | `shell_bg` | starts a detached command (own session) and returns its pid and log path at once |
//! | `read_file` | reads a text file by lines, or any file by bytes as base64 |
//! | `write_file` | replaces a file atomically (temp file + fsync + rename) |
//! | `edit_file` | literal, uniqueness-checked replacement inside a text file |
//! | `list_dir` | lists a directory with kinds and sizes |
//! | `search_files` | finds entries by glob, following symlinks, cycle-safe |
//!
//! Every tool answers with readable text plus `structuredContent` matching
//! its `outputSchema`. Failures (missing files, permissions, ambiguous
//! edits, timeouts) are `isError` results naming the path or command and the
//! operating system's reason, so the model can read them and correct course.
//!
//! Commands inherit the agent's environment without herd's secrets
//! ([`HostConfig::child_env`]).
//!
//! Processes started by `shell` never outlive the call: the command runs in
//! its own process group, and the group is killed on timeout, on
//! cancellation, and once the shell has exited. Use `shell_bg` for anything
//! that must keep running.
//!
//! Blocking file system work runs on a few threads of the agent's own,
//! which stay awake briefly between jobs, and stops early when the call is
//! cancelled or dropped. Every file tool call has a deadline, each session
//! a share of the threads, and the pool grows around threads stuck on a
//! hung file system up to a hard cap (see `blocking`).
//!
//! The arguments and results of these tools are defined in [`shape`], which
//! the hub's SSH fallback uses too, so a result reads the same whichever
//! path produced it.

pub mod shape;

mod atomic;
mod blocking;
mod edit_file;
mod list_dir;
mod read_file;
mod search_files;
mod shell;
mod shell_bg;
mod write_file;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use crate::catalog::{Catalog, ToolResult};
use crate::child_env::ChildEnv;
use herd_proto::Context;
use herd_proto::model::{TaskSupport, Tool};
use serde_json::{Map, Value};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Limits and defaults of the host tools.
///
/// [`HostConfig::default`] suits an interactive agent; every field can be
/// tuned by the embedding program.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The shell that runs `shell` and `shell_bg` commands as
    /// `<shell> -c <command>`. Defaults to `$SHELL`, or `/bin/sh`.
    pub shell: PathBuf,
    /// `shell` timeout when the call gives none (120 s).
    pub default_timeout: Duration,
    /// The longest `timeout` a `shell` call may ask for (1 h).
    pub max_timeout: Duration,
    /// Bytes of stdout, and separately of stderr, a `shell` result keeps
    /// (32 KiB): the first and last halves, with the middle elided.
    pub output_cap: usize,
    /// How long `shell` keeps reading after the shell exited while some
    /// process it started still holds the output open (2 s); that process
    /// group is then killed and reading stops after the same time again.
    pub drain_grace: Duration,
    /// Where `shell_bg` logs go when the call names no log file
    /// (`$TMPDIR/herd-bg-<uid>`).
    pub bg_log_dir: PathBuf,
    /// Most bytes one `read_file` call returns (256 KiB).
    pub max_read_bytes: u64,
    /// Lines `read_file` returns when the call sets no `limit` (2000).
    pub default_read_lines: u64,
    /// Largest file `edit_file` loads (16 MiB).
    pub max_edit_bytes: u64,
    /// Most entries `list_dir` reads and returns (5000); a larger
    /// directory is listed only that far, and the result says so.
    pub max_list_entries: usize,
    /// `search_files` results when the call sets no `max_results` (200).
    pub default_search_results: usize,
    /// The largest `max_results` a `search_files` call may ask for (10 000).
    pub max_search_results: usize,
    /// Directory entries one `search_files` walk reads at most (200 000).
    pub max_search_entries: usize,
    /// Longest one `search_files` walk runs before it returns what it
    /// found so far (10 s).
    pub search_time_limit: Duration,
    /// Longest a file tool call (`read_file`, `write_file`, `edit_file`,
    /// `list_dir`, `search_files`, the file work of `shell_bg`) may take,
    /// waiting for a thread included (30 s). Past it the call fails with a
    /// timeout error; work stuck in the kernel keeps its thread.
    pub file_timeout: Duration,
    /// Threads running file system work under the usual load (8).
    pub file_threads: usize,
    /// Threads for file system work in all, those stuck on a hung file
    /// system included (64).
    pub max_file_threads: usize,
    /// File system jobs one session may have in flight, stuck ones
    /// included (4).
    pub file_jobs_per_session: usize,
    /// What `shell` and `shell_bg` commands inherit: the agent's
    /// environment without its secrets.
    pub child_env: ChildEnv,
}

impl Default for HostConfig {
    fn default() -> Self {
        let shell =
            std::env::var_os("SHELL").filter(|s| !s.is_empty()).map_or_else(|| PathBuf::from("/bin/sh"), PathBuf::from);
        let uid = nix::unistd::getuid();
        Self {
            shell,
            default_timeout: Duration::from_secs(120),
            max_timeout: Duration::from_secs(3600),
            output_cap: 32 * 1024,
            drain_grace: Duration::from_secs(2),
            bg_log_dir: std::env::temp_dir().join(format!("herd-bg-{uid}")),
            max_read_bytes: 256 * 1024,
            default_read_lines: 2000,
            max_edit_bytes: 16 * 1024 * 1024,
            max_list_entries: 5000,
            default_search_results: 200,
            max_search_results: 10_000,
            max_search_entries: 200_000,
            search_time_limit: Duration::from_secs(10),
            file_timeout: Duration::from_secs(30),
            file_threads: 8,
            max_file_threads: 64,
            file_jobs_per_session: 4,
            child_env: ChildEnv::default(),
        }
    }
}

/// What every host tool call gets: the limits, and the file system threads.
struct Host {
    config: HostConfig,
    files: blocking::Files,
}

impl Host {
    fn new(config: HostConfig) -> Self {
        let files = blocking::Files::new(&config);
        Self { config, files }
    }
}

/// The host tools as one catalog: `shell`, `shell_bg`, `read_file`,
/// `write_file`, `edit_file`, `list_dir`, `search_files`.
pub fn catalog(config: HostConfig) -> Catalog {
    let host = Arc::new(Host::new(config));
    let cfg = &host.config;
    let mut builder = Catalog::builder();
    {
        // A long command may run as a task: a client that accepts tasks
        // gets one, and may disconnect and fetch the result later.
        let host = host.clone();
        let call = move |args, cx| Box::pin(shell::call(host.clone(), args, cx)) as BoxedCall;
        builder.task_tool(shell::tool(cfg), TaskSupport::Optional, call);
    }
    let mut add = |tool: Tool, call: fn(Arc<Host>, Map<String, Value>, Context) -> BoxedCall| {
        let host = host.clone();
        builder.tool(tool, move |args, cx| call(host.clone(), args, cx));
    };
    add(shell_bg::tool(), |c, a, cx| Box::pin(shell_bg::call(c, a, cx)));
    add(read_file::tool(cfg), |c, a, cx| Box::pin(read_file::call(c, a, cx)));
    add(write_file::tool(), |c, a, cx| Box::pin(write_file::call(c, a, cx)));
    add(edit_file::tool(), |c, a, cx| Box::pin(edit_file::call(c, a, cx)));
    add(list_dir::tool(cfg), |c, a, cx| Box::pin(list_dir::call(c, a, cx)));
    add(search_files::tool(cfg), |c, a, cx| Box::pin(search_files::call(c, a, cx)));
    builder.build()
}

type BoxedCall = std::pin::Pin<Box<dyn Future<Output = ToolResult> + Send>>;
