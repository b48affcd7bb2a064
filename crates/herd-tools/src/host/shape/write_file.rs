//! `write_file`: its arguments and its result.
//!
//! The result names the file written (symlinks resolved), its size, its
//! permission bits in octal and whether it was created or replaced.

use super::args::{Encoding, mode_string, parse_mode};
use crate::catalog::ToolError;
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// The arguments of `write_file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The file to write.
    pub path: PathBuf,
    /// The complete new content, encoded as `encoding` says.
    pub content: String,
    /// How `content` is encoded.
    #[serde(default)]
    pub encoding: Encoding,
    /// Permission bits, as given (see [`Args::mode`]).
    #[serde(default)]
    pub mode: Option<Value>,
    /// Create missing parent directories.
    #[serde(default)]
    pub create_dirs: bool,
}

impl Args {
    /// Parses a call's arguments.
    pub fn parse(args: Map<String, Value>) -> Result<Self, ToolError> {
        super::args::parse("write_file", args)
    }

    /// The permission bits asked for: an octal string (`"0644"`, `"644"`,
    /// `"0o644"`) or a number read as octal digits like chmod (`644`).
    pub fn mode(&self) -> Result<Option<u32>, ToolError> {
        self.mode.as_ref().filter(|m| !m.is_null()).map(|m| parse_mode("write_file", m)).transpose()
    }
}

/// The result of writing `bytes` bytes to `target`, which now has
/// permission bits `mode` and did not exist before if `created`.
pub fn result(target: &str, bytes: u64, mode: u32, created: bool) -> CallToolResult {
    let mode = mode_string(mode);
    let verb = if created { "created" } else { "replaced" };
    let text = format!("{verb} {target} ({bytes} bytes, mode {mode})");
    CallToolResult::structured(
        text,
        json!({
            "path": target,
            "bytes_written": bytes,
            "mode": mode,
            "created": created,
        }),
    )
}
