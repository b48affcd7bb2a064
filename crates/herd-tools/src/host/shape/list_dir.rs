//! `list_dir`: its arguments and its result.
//!
//! Entries are described without following them (a symlink is reported as
//! a symlink, with its target), sorted by name so repeated calls compare
//! cleanly, and capped; the text has one aligned line per entry.

use crate::catalog::ToolError;
use herd_proto::model::CallToolResult;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// The arguments of `list_dir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The directory to list (default: the working directory).
    #[serde(default)]
    pub path: Option<PathBuf>,
}

impl Args {
    /// Parses a call's arguments.
    pub fn parse(args: Map<String, Value>) -> Result<Self, ToolError> {
        super::args::parse("list_dir", args)
    }

    /// The directory to list: `path`, or `.` when it is missing or empty.
    pub fn dir(self) -> PathBuf {
        self.path.filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."))
    }
}

/// What a directory entry is, not following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, FIFO, socket), or an entry that could not be
    /// inspected.
    Other,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Dir => "dir",
            Self::Symlink => "symlink",
            Self::Other => "other",
        }
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The entry's name (lossy UTF-8).
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Its size in bytes (of the link itself for a symlink; 0 if unknown).
    pub size: u64,
    /// Where a symlink points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The result of listing `path` (shown as given): `entries` in any order,
/// of which at most `max` are returned. `cut` says the listing itself was
/// incomplete, so the result is truncated whatever the count.
pub fn result(path: &str, mut entries: Vec<Entry>, max: usize, cut: bool) -> CallToolResult {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let truncated = entries.len() > max || cut;
    entries.truncate(max);
    let mut text = String::new();
    for e in &entries {
        let suffix = if e.kind == Kind::Dir { "/" } else { "" };
        let target = e.target.as_deref().map(|t| format!(" -> {t}")).unwrap_or_default();
        text.push_str(&format!("{:<7} {:>10}  {}{suffix}{target}\n", e.kind.as_str(), e.size, e.name));
    }
    if entries.is_empty() {
        text.push_str(&format!("[{path} is empty]\n"));
    }
    if truncated {
        text.push_str(&format!("[only the first {max} entries are shown]\n"));
    }
    let structured = json!({ "path": path, "entries": entries, "truncated": truncated });
    CallToolResult::structured(text.trim_end().to_owned(), structured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: Kind, size: u64, target: Option<&str>) -> Entry {
        Entry { name: name.into(), kind, size, target: target.map(str::to_owned) }
    }

    #[test]
    fn entries_are_sorted_aligned_and_capped() {
        let entries = vec![
            entry("b", Kind::File, 5, None),
            entry("a", Kind::Dir, 4096, None),
            entry("c", Kind::Symlink, 1, Some("b")),
        ];
        let r = serde_json::to_value(result("/d", entries.clone(), 10, false)).unwrap_or_default();
        let text = r["content"][0]["text"].as_str().unwrap_or_default();
        assert_eq!(text, "dir           4096  a/\nfile             5  b\nsymlink          1  c -> b");
        let s = &r["structuredContent"];
        assert_eq!(s["entries"][2], json!({"name": "c", "kind": "symlink", "size": 1, "target": "b"}));
        assert_eq!((s["path"].clone(), s["truncated"].clone()), (json!("/d"), json!(false)));

        let r = serde_json::to_value(result("/d", entries, 2, false)).unwrap_or_default();
        assert_eq!(r["structuredContent"]["entries"].as_array().map(Vec::len), Some(2));
        assert!(r["content"][0]["text"].as_str().unwrap_or_default().ends_with("[only the first 2 entries are shown]"));
        let r = serde_json::to_value(result("/e", Vec::new(), 2, true)).unwrap_or_default();
        assert_eq!(r["content"][0]["text"], "[/e is empty]\n[only the first 2 entries are shown]");
    }
}
