//! The `list_dir` tool: what is in a directory.
//!
//! Entries are described without following them (a symlink is reported as a
//! symlink, with its target), sorted by name so repeated calls compare
//! cleanly, and capped at [`HostConfig::max_list_entries`]: reading stops one
//! entry past the cap, so a directory of millions of entries costs no more
//! than a small one, and the result says it was cut (the entries shown are
//! then the first the directory yielded, not the first by name).

use super::blocking::cancelled;
use super::shape::args::{failed, io_failed};
use super::shape::list_dir::{Args, Entry, Kind, result};
use super::{Host, HostConfig};
use crate::catalog::ToolResult;
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::fs;
use std::io;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let path = Args::parse(args)?.dir();
    let shown = path.display().to_string();
    let max = host.config.max_list_entries;
    let what = format!("list_dir {shown}");
    let entries = host
        .files
        .run(&what, &cx, move |token| {
            let what = format!("list_dir {}", path.display());
            let meta = fs::metadata(&path).map_err(|e| io_failed(&what, &e))?;
            if !meta.is_dir() {
                return Err(failed(format!("{what}: Not a directory")));
            }
            let listing = fs::read_dir(&path).map_err(|e| io_failed(&what, &e))?;
            collect(listing, max, token, describe)
                .map_err(|e| io_failed(&what, &e))?
                .ok_or_else(|| cancelled("list_dir"))
        })
        .await?;
    Ok(result(&shown, entries, max, false))
}

/// Describes the entries `listing` yields, reading at most `max + 1` of
/// them: one past the cap tells the result it was cut. `None` once the
/// token is cancelled.
fn collect<T>(
    listing: impl Iterator<Item = io::Result<T>>,
    max: usize,
    token: &CancellationToken,
    describe: impl Fn(T) -> Entry,
) -> io::Result<Option<Vec<Entry>>> {
    let mut entries = Vec::new();
    for item in listing.take(max.saturating_add(1)) {
        if token.is_cancelled() {
            return Ok(None);
        }
        entries.push(describe(item?));
    }
    Ok(Some(entries))
}

/// One directory entry, not followed; an entry that vanished or cannot be
/// inspected is still listed.
fn describe(dirent: fs::DirEntry) -> Entry {
    let name = dirent.file_name().to_string_lossy().into_owned();
    let meta = dirent.path().symlink_metadata().ok();
    let kind = match meta.as_ref().map(fs::Metadata::file_type) {
        Some(t) if t.is_symlink() => Kind::Symlink,
        Some(t) if t.is_dir() => Kind::Dir,
        Some(t) if t.is_file() => Kind::File,
        _ => Kind::Other,
    };
    let target = (kind == Kind::Symlink)
        .then(|| fs::read_link(dirent.path()).ok())
        .flatten()
        .map(|t| t.to_string_lossy().into_owned());
    Entry { name, kind, size: meta.map_or(0, |m| m.len()), target }
}

#[cfg(test)]
mod tests;
