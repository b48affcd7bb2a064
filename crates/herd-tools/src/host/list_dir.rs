//! The `list_dir` tool: what is in a directory.
//!
//! Entries are described without following them (a symlink is reported as a
//! symlink, with its target), sorted by name so repeated calls compare
//! cleanly, and capped at [`HostConfig::max_list_entries`].

use super::HostConfig;
use super::blocking::{cancelled, run_blocking};
use super::shape::args::{failed, io_failed};
use super::shape::list_dir::{Args, Entry, Kind, result};
use crate::catalog::ToolResult;
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::fs;
use std::sync::Arc;

/// The definition of `list_dir`.
pub(super) fn tool(cfg: &HostConfig) -> Tool {
    let max = cfg.max_list_entries;
    Tool {
        name: "list_dir".into(),
        title: Some("List a directory".into()),
        description: format!(
            "Lists a directory's entries sorted by name, each with its kind (file, dir, symlink, other) and size \
             in bytes; symlinks are not followed but their target is shown. At most {max} entries."
        ),
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory to list (default: the agent's working directory)."}
            },
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "entries": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string", "enum": ["file", "dir", "symlink", "other"]},
                        "size": {"type": "integer"},
                        "target": {"type": "string", "description": "Where a symlink points."}
                    },
                    "required": ["name", "kind", "size"]
                }},
                "truncated": {"type": "boolean", "description": "More entries exist than were returned."}
            },
            "required": ["path", "entries", "truncated"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("List a directory".into()),
            open_world_hint: Some(false),
            ..ToolAnnotations::read_only()
        }),
    }
}

/// Runs `list_dir`.
pub(super) async fn call(cfg: Arc<HostConfig>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let path = Args::parse(args)?.dir();
    let shown = path.display().to_string();
    let entries = run_blocking("list_dir", &cx, move |token| {
        let what = format!("list_dir {}", path.display());
        let meta = fs::metadata(&path).map_err(|e| io_failed(&what, &e))?;
        if !meta.is_dir() {
            return Err(failed(format!("{what}: Not a directory")));
        }
        let mut entries = Vec::new();
        for dirent in fs::read_dir(&path).map_err(|e| io_failed(&what, &e))? {
            if token.is_cancelled() {
                return Err(cancelled("list_dir"));
            }
            let dirent = dirent.map_err(|e| io_failed(&what, &e))?;
            let name = dirent.file_name().to_string_lossy().into_owned();
            // An entry that vanished or cannot be inspected is still listed.
            let meta = dirent.path().symlink_metadata().ok();
            let file_type = meta.as_ref().map(fs::Metadata::file_type);
            let kind = match file_type {
                Some(t) if t.is_symlink() => Kind::Symlink,
                Some(t) if t.is_dir() => Kind::Dir,
                Some(t) if t.is_file() => Kind::File,
                _ => Kind::Other,
            };
            let target = (kind == Kind::Symlink)
                .then(|| fs::read_link(dirent.path()).ok())
                .flatten()
                .map(|t| t.to_string_lossy().into_owned());
            entries.push(Entry { name, kind, size: meta.map_or(0, |m| m.len()), target });
        }
        Ok(entries)
    })
    .await?;
    Ok(result(&shown, entries, cfg.max_list_entries, false))
}

#[cfg(test)]
mod tests;
