//! The `edit_file` tool: literal, uniqueness-checked replacement.
//!
//! Models patch files by quoting the text to change. A quote that matches
//! nowhere, or in several places, means the model's picture of the file is
//! wrong, so both are errors (saying how many matches there were) unless
//! `replace_all` asks for every occurrence. Matching is literal: no regular
//! expressions, no whitespace folding. The result is written back
//! atomically, keeping the file's mode.

use super::HostConfig;
use super::args::{failed, io_failed, parse};
use super::atomic::{resolve_target, write_atomic};
use super::blocking::run_blocking;
use crate::catalog::{ToolError, ToolResult};
use herd_proto::Context;
use herd_proto::model::{CallToolResult, Tool, ToolAnnotations};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: PathBuf,
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: bool,
}

/// The definition of `edit_file`.
pub(super) fn tool() -> Tool {
    Tool {
        name: "edit_file".into(),
        title: Some("Edit a file".into()),
        description: "Replaces old_string with new_string in a UTF-8 text file, literally (no patterns, \
                      whitespace must match exactly). Fails when old_string does not occur, or occurs more than \
                      once and replace_all is not set: quote more surrounding text to make it unique. The file \
                      is rewritten atomically and keeps its permissions."
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
pub(super) async fn call(cfg: Arc<HostConfig>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let a: Args = parse("edit_file", args)?;
    if a.old_string.is_empty() {
        return Err(ToolError::InvalidArguments("edit_file: old_string must not be empty".into()));
    }
    if a.old_string == a.new_string {
        return Err(ToolError::InvalidArguments("edit_file: old_string and new_string are the same".into()));
    }
    let max = cfg.max_edit_bytes;
    let (target, count, first_line, bytes) = run_blocking("edit_file", &cx, move |_| {
        let shown = a.path.display();
        let (target, meta) = resolve_target("edit_file", &a.path)?;
        let Some(meta) = meta else {
            return Err(failed(format!("edit_file {shown}: No such file or directory")));
        };
        if meta.len() > max {
            return Err(failed(format!(
                "edit_file {shown}: {} bytes is more than the {max} bytes it edits",
                meta.len()
            )));
        }
        let data = std::fs::read(&target).map_err(|e| io_failed(format_args!("edit_file {shown}"), &e))?;
        let text = String::from_utf8(data)
            .map_err(|_| failed(format!("edit_file {shown}: binary content (not UTF-8 text); use write_file")))?;
        let count = text.matches(a.old_string.as_str()).count();
        let Some(at) = text.find(a.old_string.as_str()) else {
            return Err(failed(format!(
                "edit_file {shown}: old_string not found (it must match exactly, whitespace included)"
            )));
        };
        if count > 1 && !a.replace_all {
            return Err(failed(format!(
                "edit_file {shown}: old_string is not unique: it occurs {count} times; include more surrounding \
                 text to pick one, or set replace_all"
            )));
        }
        let first_line = text[..at].matches('\n').count() + 1;
        let edited = if a.replace_all {
            text.replace(a.old_string.as_str(), &a.new_string)
        } else {
            text.replacen(a.old_string.as_str(), &a.new_string, 1)
        };
        let w = write_atomic("edit_file", &target, edited.as_bytes(), None, false)?;
        Ok((w.target, count, first_line, w.bytes))
    })
    .await?;
    let plural = if count == 1 { "" } else { "s" };
    let text = format!("replaced {count} occurrence{plural} in {} (first at line {first_line})", target.display());
    Ok(CallToolResult::structured(
        text,
        json!({
            "path": target.to_string_lossy(),
            "replacements": count,
            "first_line": first_line,
            "bytes_written": bytes,
        }),
    ))
}

#[cfg(test)]
mod tests;
