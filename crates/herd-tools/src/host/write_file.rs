//! The `write_file` tool: create or replace a whole file, atomically.
//!
//! Content arrives as text or base64; the write goes through
//! [`super::atomic`], so readers never see a half-written file, the write
//! stays in the directory resolved when it started, and an existing file
//! keeps its permission bits (not setuid/setgid) and owner, where
//! permitted, unless the call sets `mode`.

use super::Host;
use super::atomic::write_atomic;
use super::shape::write_file::{Args, result};
use crate::catalog::ToolResult;
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The definition of `write_file`.
pub(super) fn tool() -> Tool {
    Tool {
        name: "write_file".into(),
        title: Some("Write a file".into()),
        description: "Creates or replaces a whole file atomically (temporary file in the same directory, flushed, \
                      then renamed over the target), so readers never see partial content. A symlink at path is \
                      followed when it leads to a regular file; a dangling one is refused. An existing file keeps \
                      its permissions, except setuid and setgid, unless mode is given; new files get the usual \
                      default (0666 less the umask). Use edit_file to change part of a file."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to write."},
                "content": {"type": "string", "description": "The complete new content."},
                "encoding": {"type": "string", "enum": ["utf8", "base64"], "default": "utf8",
                             "description": "How content is encoded; base64 for binary data."},
                "mode": {"type": ["string", "integer"],
                         "description": "Permission bits in octal, like chmod: \"0644\", \"755\" or 644."},
                "create_dirs": {"type": "boolean", "default": false,
                                "description": "Create missing parent directories."}
            },
            "required": ["path", "content"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The file written (symlinks resolved)."},
                "bytes_written": {"type": "integer"},
                "mode": {"type": "string", "description": "The file's permission bits, octal."},
                "created": {"type": "boolean", "description": "The file did not exist before."}
            },
            "required": ["path", "bytes_written", "mode", "created"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Write a file".into()),
            open_world_hint: Some(false),
            ..ToolAnnotations::writes(true, true)
        }),
    }
}

/// Runs `write_file`.
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let a = Args::parse(args)?;
    let mode = a.mode()?;
    let data = a.encoding.decode("write_file", a.content)?;
    let path = a.path;
    let what = format!("write_file {}", path.display());
    let w = host.files.run(&what, &cx, move |_| write_atomic("write_file", &path, &data, mode, a.create_dirs)).await?;
    Ok(result(&w.target.to_string_lossy(), w.bytes, w.mode, w.created))
}

#[cfg(test)]
mod tests;
