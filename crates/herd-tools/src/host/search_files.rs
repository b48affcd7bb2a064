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
//!
//! A walk is bounded in work as well as in results: it reads at most
//! [`HostConfig::max_search_entries`] directory entries and runs at most
//! [`HostConfig::search_time_limit`]; then it returns what it found, marked
//! truncated, with the reason.

use super::blocking::cancelled;
use super::shape::args::{failed, io_failed};
use super::shape::search_files::{Args, Found, Search};
use super::{Host, HostConfig};
use crate::catalog::{ToolError, ToolResult};
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::collections::{HashSet, VecDeque};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The definition of `search_files`.
pub(super) fn tool(cfg: &HostConfig) -> Tool {
    let (default, max) = (cfg.default_search_results, cfg.max_search_results);
    let (entries, secs) = (cfg.max_search_entries, cfg.search_time_limit.as_secs_f64());
    Tool {
        name: "search_files".into(),
        title: Some("Find files by name".into()),
        description: format!(
            "Finds files and directories under path whose name matches a glob (*, ?, [abc]), like find -L -name; \
             a pattern containing / is matched against the path relative to path instead (** spans \
             directories). Follows symlinks, also when path itself is one; each directory is visited once, so \
             link cycles are harmless. Unreadable directories are skipped and reported. Returns at most \
             max_results paths (default {default}, at most {max}), shallowest first. A walk reads at most \
             {entries} entries and runs at most {secs} s, then returns what it found, marked truncated."
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
                "truncated": {"type": "boolean",
                              "description": "More matches exist than were returned, or may: the walk stopped early."},
                "stopped": {"type": ["string", "null"],
                            "description": "Why the walk stopped before looking everywhere (entry or time budget)."},
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
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let cfg = &host.config;
    let a = Args::parse(args)?;
    let search = a.search(cfg.default_search_results, cfg.max_search_results)?;
    let max = search.max;
    let root = a.root();
    let walk_root = root.clone();
    let budget = Budget { entries: cfg.max_search_entries, time: cfg.search_time_limit };
    let what = format!("search_files {}", root.display());
    let found = host.files.run(&what, &cx, move |token| walk(&walk_root, &search, budget, token)).await?;
    Ok(found.result(&root.display().to_string(), &a.pattern, max))
}

/// How much work one walk may do.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Directory entries read.
    entries: usize,
    /// Time spent.
    time: Duration,
}

impl Budget {
    /// Why a walk that has read `read` entries since `started` must stop,
    /// if it must.
    fn spent(&self, read: usize, started: Instant) -> Option<String> {
        if read > self.entries {
            return Some(format!("read {} directory entries", self.entries));
        }
        // The clock is read once per 256 entries: cheap, and often enough.
        if read.is_multiple_of(256) && started.elapsed() >= self.time {
            return Some(format!("searched for {}s", self.time.as_secs_f64()));
        }
        None
    }
}

fn walk(root: &Path, search: &Search, budget: Budget, token: &CancellationToken) -> Result<Found, ToolError> {
    let what = format!("search_files {}", root.display());
    let meta = fs::metadata(root).map_err(|e| io_failed(&what, &e))?;
    if !meta.is_dir() {
        return Err(failed(format!("{what}: Not a directory")));
    }
    let mut found = Found::default();
    let mut visited = HashSet::from([(meta.dev(), meta.ino())]);
    let mut queue = VecDeque::from([root.to_path_buf()]);
    let (started, mut read) = (Instant::now(), 0usize);
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
        let mut entries = Vec::new();
        for entry in listing {
            read += 1;
            if let Some(why) = budget.spent(read, started) {
                // This directory is cut short: what it yielded so far is
                // still searched, its subdirectories are not entered.
                found.stopped = Some(why);
                queue.clear();
                break;
            }
            if let Ok(entry) = entry {
                entries.push(entry);
            }
        }
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
            if found.stopped.is_none()
                && maybe_dir
                && let Ok(m) = fs::metadata(&path)
                && m.is_dir()
                && visited.insert((m.dev(), m.ino()))
            {
                queue.push_back(path);
            }
        }
    }
    found.truncated |= found.stopped.is_some();
    Ok(found)
}

#[cfg(test)]
mod tests;
