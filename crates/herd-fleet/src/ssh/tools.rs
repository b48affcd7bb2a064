//! The agent tools, reimplemented over SSH.
//!
//! Each tool parses the agent's arguments, builds a script
//! ([`super::script`]), runs it on the destination ([`super::remote`]) and
//! shapes what came back into the agent's own result: same text, same
//! `structuredContent` fields, same `isError` cases. The arguments, the
//! checks, the rules that need no remote help (output capture, line
//! windows, literal edits, glob matching, listing order and caps) and the
//! result builders are the agent's own code ([`herd_tools::host::shape`]),
//! so results match where the remote's utilities would differ; the agent's
//! default limits ([`HostConfig::default`]) apply.

mod args;
mod cksum;
mod edit_file;
mod errno;
mod fs_script;
mod list_dir;
mod read_file;
mod search_files;
mod shell;
mod walk;
mod write_file;

use args::failed;
pub(super) use args::{Fail, ToolResult};

use super::SshError;
use super::pool::Conns;
use super::remote::Remote;
use herd_proto::model::CallToolResult;
use herd_tools::host::HostConfig;
use serde_json::{Map, Value};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// The tools that work over SSH.
pub(super) const NAMES: [&str; 6] = ["shell", "read_file", "write_file", "edit_file", "list_dir", "search_files"];

/// The agent's limits: those of a default agent.
static LIMITS: LazyLock<HostConfig> = LazyLock::new(HostConfig::default);

/// Most listing bytes `list_dir` and `search_files` read back.
const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;
/// Most diagnostic (non-record stderr) bytes kept from a file tool.
const MAX_DIAG_BYTES: usize = 16 * 1024;
/// How long a file tool's output may stay open after its script is done.
const FILE_GRACE: Duration = Duration::from_millis(500);

/// One call's destination and connection table.
pub(super) struct Ctx {
    conns: Arc<Conns>,
    dest: String,
}

impl Ctx {
    /// Remote access for `tool`, capped at `extra` beyond the call timeout.
    fn remote(&self, tool: &'static str, extra: Duration) -> Remote {
        Remote::new(self.conns.clone(), &self.dest, tool, self.conns.config().call_timeout + extra)
    }
}

/// Runs `tool` (one of [`NAMES`]) on `dest` and returns the agent-shaped result.
pub(super) async fn call(
    conns: Arc<Conns>,
    dest: &str,
    tool: &'static str,
    args: Map<String, Value>,
) -> Result<Value, SshError> {
    let cx = Ctx { conns, dest: dest.to_owned() };
    let result = match tool {
        "shell" => shell::call(&cx, args).await,
        "read_file" => read_file::call(&cx, args).await,
        "write_file" => write_file::call(&cx, args).await,
        "edit_file" => edit_file::call(&cx, args).await,
        "list_dir" => list_dir::call(&cx, args).await,
        "search_files" => search_files::call(&cx, args).await,
        other => return Err(SshError::Unsupported { dest: dest.to_owned(), tool: other.to_owned() }),
    };
    let result = match result {
        Ok(result) => result,
        Err(Fail::Ssh(e)) => return Err(e),
        Err(Fail::Tool(e)) => CallToolResult::error(e.to_string()),
    };
    serde_json::to_value(&result).map_err(|e| SshError::Remote {
        dest: dest.to_owned(),
        tool: tool.to_owned(),
        reason: format!("cannot encode the result: {e}"),
    })
}
