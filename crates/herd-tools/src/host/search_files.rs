//! The `search_files` tool: find entries by glob under a directory.
//!
//! The walk follows symlinks, the start path included: `find` without `-L`
//! on BSD returns nothing when the start path is a symlink, which once made
//! searches of a Homebrew tree silently come back empty. Following links
//! invites cycles, so every directory is entered once, keyed by its
//! (device, inode). Unreadable directories are skipped and counted, not
//! fatal. The walk is breadth-first with each directory's entries sorted,
//! so shallow matches come first and results are stable, and it stops one
//! match past `max_results` to know whether it truncated.

use super::HostConfig;
use super::blocking::{cancelled, run_blocking};
use super::shape::args::{failed, io_failed};
use super::shape::search_files::{Args, Found, Search};
use crate::catalog::{ToolError, ToolResult};
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::collections::{HashSet, VecDeque};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The definition of `search_files`.
pub(super) fn tool(cfg: &HostConfig) -> Tool {
    let (default, max) = (cfg.default_search_results, cfg.max_search_results);
    Tool {
        name: "search_files".into(),
        title: Some("Find files by name".into()),
        description: format!(
            "Finds files and directories under path whose name matches a glob (*, ?, [abc]), like find -L -name; \
             a pattern containing / is matched against the path relative to path instead (** spans \
             directories). Follows symlinks, also when path itself is one; each directory is visited once, so \
             link cycles are harmless. Unreadable directories are skipped and reported. Returns at most \
             max_results paths (default {default}, at most {max}), shallowest first."
        ),
        input_schema: json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Glob matched against entry names, e.g. \"*.rs\"."},
                "path": {"type": "string", "description": "Directory to search (default: the agent's working directory)."},
                "max_results": {"type": "integer", "minimum": 1, "maximum": max, "default": default}
            },
            "required": ["pattern"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "root": {"type": "string"},
                "pattern": {"type": "string"},
                "matches": {"type": "array", "items": {"type": "string"}},
                "truncated": {"type": "boolean", "description": "More matches exist than were returned."},
                "skipped_dirs": {"type": "integer", "description": "Directories that could not be read."},
                "errors": {"type": "array", "items": {"type": "string"}, "description": "Why (the first few)."}
            },
            "required": ["root", "pattern", "matches", "truncated", "skipped_dirs"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Find files by name".into()),
            open_world_hint: Some(false),
            ..ToolAnnotations::read_only()
        }),
    }
}

/// Runs `search_files`.
pub(super) async fn call(cfg: Arc<HostConfig>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let a = Args::parse(args)?;
    let search = a.search(cfg.default_search_results, cfg.max_search_results)?;
    let max = search.max;
    let root = a.root();
    let walk_root = root.clone();
    let found = run_blocking("search_files", &cx, move |token| walk(&walk_root, &search, token)).await?;
    Ok(found.result(&root.display().to_string(), &a.pattern, max))
}

fn walk(root: &Path, search: &Search, token: &CancellationToken) -> Result<Found, ToolError> {
    let what = format!("search_files {}", root.display());
    let meta = fs::metadata(root).map_err(|e| io_failed(&what, &e))?;
    if !meta.is_dir() {
        return Err(failed(format!("{what}: Not a directory")));
    }
    let mut found = Found::default();
    let mut visited = HashSet::from([(meta.dev(), meta.ino())]);
    let mut queue = VecDeque::from([root.to_path_buf()]);
    while let Some(dir) = queue.pop_front() {
        if token.is_cancelled() {
            return Err(cancelled("search_files"));
        }
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(e) => {
                found.skipped += 1;
                if found.errors.len() < 10 {
                    found.errors.push(format!("{}: {e}", dir.display()));
                }
                continue;
            }
        };
        let mut entries: Vec<_> = listing.filter_map(Result::ok).collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            if path.strip_prefix(root).is_ok_and(|rel| search.matches(rel)) {
                if found.matches.len() == search.max {
                    found.truncated = true;
                    return Ok(found);
                }
                found.matches.push(path.display().to_string());
            }
            // Only directories and links to them are entered; d_type spares
            // a stat for everything else.
            let maybe_dir = entry.file_type().map_or(true, |t| t.is_dir() || t.is_symlink());
            if maybe_dir
                && let Ok(m) = fs::metadata(&path)
                && m.is_dir()
                && visited.insert((m.dev(), m.ino()))
            {
                queue.push_back(path);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
