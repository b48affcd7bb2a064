//! The `edit_file` tool: literal, uniqueness-checked replacement.
//!
//! The replacement rules are in [`super::shape::edit_file`]: a quote must
//! match exactly once, unless `replace_all` asks for every occurrence. The
//! file is read whole (up to [`HostConfig::max_edit_bytes`]) and written
//! back atomically, keeping its mode.

use super::Host;
use super::atomic::Target;
use super::shape::args::failed;
use super::shape::edit_file::Args;
use crate::catalog::ToolResult;
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The definition of `edit_file`.
pub(super) fn tool() -> Tool {
    Tool {
        name: "edit_file".into(),
        title: Some("Edit a file".into()),
        description: "Replaces old_string with new_string in a UTF-8 text file, literally (no patterns, \
                      whitespace must match exactly). Fails when old_string does not occur, or occurs more than \
                      once and replace_all is not set: quote more surrounding text to make it unique. The file \
                      is rewritten atomically and keeps its permissions (except setuid and setgid). A symlink at path \
                      is followed to the regular file it names."
            .into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to edit."},
                "old_string": {"type": "string", "description": "Exact text to replace; must not be empty."},
                "new_string": {"type": "string", "description": "Text to put in its place."},
                "replace_all": {"type": "boolean", "default": false,
                                "description": "Replace every occurrence instead of requiring exactly one."}
            },
            "required": ["path", "old_string", "new_string"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The file edited (symlinks resolved)."},
                "replacements": {"type": "integer"},
                "first_line": {"type": "integer", "description": "Line of the first replacement, 1-based."},
                "bytes_written": {"type": "integer"}
            },
            "required": ["path", "replacements", "first_line", "bytes_written"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Edit a file".into()),
            open_world_hint: Some(false),
            ..ToolAnnotations::writes(true, false)
        }),
    }
}

/// Runs `edit_file`.
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let a = Args::parse(args)?;
    let max = host.config.max_edit_bytes;
    let what = format!("edit_file {}", a.path.display());
    let (target, edit) = host
        .files
        .run(&what, &cx, move |_| {
            let shown = a.path.display();
            // Read and written through one directory handle: the file edited is
            // the file read.
            let target = Target::resolve("edit_file", &a.path, false)?;
            let Some(len) = target.existing_len() else {
                return Err(failed(format!("edit_file {shown}: No such file or directory")));
            };
            if len > max {
                return Err(failed(format!("edit_file {shown}: {len} bytes is more than the {max} bytes it edits")));
            }
            let data = target.read()?;
            let edit = a.apply(&shown.to_string(), &data)?;
            let w = target.replace(edit.text.as_bytes(), None)?;
            Ok((w.target, edit))
        })
        .await?;
    Ok(edit.result(&target.to_string_lossy()))
}

#[cfg(test)]
mod tests;
