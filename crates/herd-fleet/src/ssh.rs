//! The SSH fallback: the agent's file and shell tools, run over SSH when a
//! host's agent is down.
//!
//! [`SshPool::call_tool`] takes an agent tool name and the agent's argument
//! object and returns the agent's result shape (`content`,
//! `structuredContent`, `isError`), so the hub can serve a call from either
//! path and the model cannot tell which, except where noted below. Failures
//! of the tool (a missing file, an ambiguous edit, a command timing out) are
//! `isError` results; failures of SSH itself are [`SshError`]s.
//!
//! How a call travels:
//!
//! - one master connection per destination, reused by every call
//!   (OpenSSH multiplexing through openssh's native mux client), connected
//!   once for concurrent first callers, dropped and remade when it breaks;
//!   `BatchMode=yes`, `StrictHostKeyChecking=yes` (the host key must be in
//!   `known_hosts`: an unattended hub must never trust on first use; the
//!   builder sets both on the command line, where they override `-F`),
//!   `ConnectTimeout` and `ServerAliveInterval` from [`SshConfig`];
//! - the remote command line is always `sh -s`; the script comes on stdin,
//!   and request values are base64 data inside it, never code (module
//!   `script`), so quotes, `;`, `$(...)`, newlines or a leading `-` in a
//!   path or command are plain data; whatever the remote login shell's
//!   startup files print before the script runs is dropped;
//! - each call is capped in wall-clock time; when the cap passes or the
//!   call's future is dropped, the channel closes and a watcher in the
//!   script kills every process the call started on the remote.
//!
//! Where results differ from the agent's (a POSIX host run through `sh`
//! cannot do everything the agent does in-process):
//!
//! - relative paths and `shell`'s default `cwd` are relative to the remote
//!   user's home directory, not the agent's working directory;
//! - `shell` runs the command with the login user's `$SHELL`; `env` names
//!   must be shell identifiers; `signal` is inferred from exit statuses 129
//!   to 159 (POSIX `wait` cannot tell `exit 137` from death by SIGKILL);
//!   processes the command leaves behind are killed after the 2 s drain
//!   grace whether or not they hold its output (the agent kills those that
//!   do not at once, silently); `duration_ms` includes the network; the
//!   command runs without `SSH_CLIENT`/`SSH2_CLIENT`, or bash would read
//!   `~/.bashrc` a second time (the login shell did; the agent's commands
//!   do not read it either). Hosts
//!   without `setsid` run the command in the script's process group: a
//!   timeout then kills the shell, not its children (the channel watcher
//!   still kills them all when the call ends);
//! - errors read `No such file or directory (os error 2)` like the agent's
//!   for the classic error numbers (identical on Linux, BSD, macOS); rarer
//!   ones carry the remote utility's wording without a number;
//! - `write_file` and `edit_file` do not fsync (no portable way in sh);
//!   the rename is still atomic. `edit_file` reads, edits here, and writes
//!   back only if the file's `cksum` is unchanged, checked just before the
//!   rename; a change in the instant between check and rename is not seen;
//! - `list_dir` and `search_files` use GNU `find -printf` when present;
//!   otherwise a portable listing (slower; `search_files` then searches a
//!   directory reachable by two symlink paths under both). Setting
//!   `HERD_SSH_PORTABLE` in the remote environment forces the portable
//!   listing (for tests);
//! - listings are read up to 64 MiB; a larger tree is cut and reported
//!   `truncated`;
//! - the remote needs `sh`, `base64`, `mktemp`, `readlink`, `stat` (GNU or
//!   BSD), `cksum`, `find`, `head -c` and `tail`, all standard on Linux,
//!   BSD and macOS; large writes travel as base64 in the script (4/3 of the
//!   size) and are slow where `sh` is bash (bash reads scripts from a pipe
//!   byte by byte: about 4 MB/s).
//!
//! At most 8 channels per destination are open at once (sshd's default
//! `MaxSessions` is 10); further calls wait for one, within their cap.

mod error;
mod pool;
mod records;
mod remote;
mod script;
mod tools;

pub use error::SshError;

use pool::Conns;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How the pool reaches hosts.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// An ssh config file, passed to ssh as `-F` (default: the user's).
    pub config_file: Option<PathBuf>,
    /// Connect timeout (5 s). ssh takes whole seconds; this rounds up.
    pub connect_timeout: Duration,
    /// Hard wall-clock cap of one call once connected (30 s); for `shell`,
    /// on top of the command's own `timeout`.
    pub call_timeout: Duration,
    /// `ServerAliveInterval` (5 s): a silent host is declared dead after
    /// three unanswered keepalives.
    pub keepalive_interval: Duration,
    /// Where the control sockets live; `None`: a private temporary
    /// directory. Socket paths must stay short (about 100 bytes).
    pub control_dir: Option<PathBuf>,
    /// Bytes of stdout, and separately of stderr, a `shell` result keeps (32 KiB).
    pub output_cap: usize,
}

impl Default for SshConfig {
    fn default() -> Self {
        Self {
            config_file: None,
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(5),
            control_dir: None,
            output_cap: 32 * 1024,
        }
    }
}

/// Runs agent tools over SSH, one reused connection per destination.
///
/// Cheap to clone; clones share connections. Dropping the last clone shuts
/// the connections down.
#[derive(Clone)]
pub struct SshPool {
    conns: Arc<Conns>,
}

impl std::fmt::Debug for SshPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshPool").field("config", self.conns.config()).finish_non_exhaustive()
    }
}

impl SshPool {
    /// A pool with no connections yet.
    pub fn new(config: SshConfig) -> Self {
        Self { conns: Arc::new(Conns::new(config)) }
    }

    /// Whether `tool` can run over SSH: `shell`, `read_file`, `write_file`,
    /// `edit_file`, `list_dir`, `search_files`.
    pub fn supports(tool: &str) -> bool {
        tools::NAMES.contains(&tool)
    }

    /// Runs agent tool `tool` with the agent's arguments on ssh destination
    /// `dest` (anything ssh accepts: `user@host`, an alias from the config).
    ///
    /// `Ok` is a `CallToolResult` shaped like the agent's, tool failures
    /// included (`isError`). `Err` means the SSH path itself failed: no
    /// connection, authentication, the hard cap, a lost connection.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the call's channel; the remote side then
    /// kills every process the call started. A connect in progress goes on
    /// in the background and its connection is kept for the next call.
    pub async fn call_tool(&self, dest: &str, tool: &str, args: &Map<String, Value>) -> Result<Value, SshError> {
        let invalid = |why: &str| SshError::InvalidDestination { dest: dest.to_owned(), why: why.to_owned() };
        if dest.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if dest.starts_with('-') {
            return Err(invalid("it starts with '-' and would be read as an option"));
        }
        if dest.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("it contains whitespace or control characters"));
        }
        let Some(tool) = tools::NAMES.iter().copied().find(|n| *n == tool) else {
            return Err(SshError::Unsupported { dest: dest.to_owned(), tool: tool.to_owned() });
        };
        tools::call(self.conns.clone(), dest, tool, args.clone()).await
    }

    /// Drops the cached connection to `dest` (e.g. after a registry
    /// reload); calls in flight finish on it, the next call reconnects.
    pub fn forget(&self, dest: &str) {
        self.conns.forget(dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_shareable() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<SshPool>();
    }

    #[test]
    fn calls_can_be_spawned() {
        fn spawnable<T: Send + 'static>(_: &T) {}
        let pool = SshPool::new(SshConfig::default());
        let call = async move { pool.call_tool("h", "shell", &Map::new()).await };
        spawnable(&call);
    }

    #[test]
    fn supports_the_six_tools() {
        for tool in ["shell", "read_file", "write_file", "edit_file", "list_dir", "search_files"] {
            assert!(SshPool::supports(tool), "{tool}");
        }
        assert!(!SshPool::supports("shell_bg") && !SshPool::supports("remote_shell"));
    }

    #[tokio::test]
    async fn bad_destinations_and_tools_fail_before_connecting() {
        let pool = SshPool::new(SshConfig::default());
        let args = Map::new();
        let e = pool.call_tool("-oProxyCommand=x", "shell", &args).await.err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("invalid destination")));
        let e = pool.call_tool("web1", "shell_bg", &args).await.err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("ssh web1: tool shell_bg is not available over ssh"));
    }
}
