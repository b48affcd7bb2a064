//! `search_files`: its arguments and its result.
//!
//! A pattern without `/` is matched against entry names, one with `/`
//! against the path relative to the root (`**` spans directories), with
//! the `glob` crate's rules on every path. Matches come shallowest first;
//! directories that could not be read are counted and named, not fatal.

use crate::catalog::ToolError;
use glob::{MatchOptions, Pattern};
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The arguments of `search_files`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The glob, e.g. `*.rs`.
    pub pattern: String,
    /// The directory to search (default: the working directory).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The most matches to return.
    #[serde(default)]
    pub max_results: Option<usize>,
}

/// A checked search: what to match and how many matches to return.
#[derive(Debug)]
pub struct Search {
    pattern: Pattern,
    options: MatchOptions,
    /// The pattern has a `/`: it is matched against paths relative to the
    /// root, not against names.
    pub by_path: bool,
    /// The most matches to return.
    pub max: usize,
}

impl Search {
    /// Whether the entry at `rel`, its path relative to the root, matches.
    pub fn matches(&self, rel: &Path) -> bool {
        if self.by_path {
            self.pattern.matches_path_with(rel, self.options)
        } else {
            let name = rel.file_name().unwrap_or_default();
            self.pattern.matches_with(&name.to_string_lossy(), self.options)
        }
    }
}

impl Args {
    /// Parses a call's arguments.
    pub fn parse(args: Map<String, Value>) -> Result<Self, ToolError> {
        super::args::parse("search_files", args)
    }

    /// Compiles the pattern and checks `max_results` against `max` (with
    /// `default` when the call gives none).
    pub fn search(&self, default: usize, max: usize) -> Result<Search, ToolError> {
        let pattern = Pattern::new(&self.pattern)
            .map_err(|e| ToolError::InvalidArguments(format!("search_files: pattern {:?}: {e}", self.pattern)))?;
        let wanted = self.max_results.unwrap_or(default);
        if wanted == 0 || wanted > max {
            return Err(ToolError::InvalidArguments(format!("search_files: max_results must be between 1 and {max}")));
        }
        let by_path = self.pattern.contains('/');
        let options = MatchOptions { require_literal_separator: by_path, ..MatchOptions::new() };
        Ok(Search { pattern, by_path, options, max: wanted })
    }

    /// The directory to search: `path`, or `.` when it is missing or empty.
    pub fn root(&self) -> PathBuf {
        self.path.clone().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."))
    }
}

/// What a search found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The matching paths, root included, shallowest first.
    pub matches: Vec<String>,
    /// More matches exist than were returned, or may exist: the walk
    /// stopped early.
    pub truncated: bool,
    /// Why the walk stopped before it had looked everywhere (its budget of
    /// entries or time ran out).
    pub stopped: Option<String>,
    /// Directories that could not be read.
    pub skipped: usize,
    /// Why (the first ten), as `path: reason`.
    pub errors: Vec<String>,
}

impl Found {
    /// The result of searching `root` (shown as given) for `pattern` (as
    /// given), returning at most `max` matches.
    pub fn result(&self, root: &str, pattern: &str, max: usize) -> CallToolResult {
        let mut text = self.matches.join("\n");
        if self.matches.is_empty() {
            text = format!("[nothing under {root} matches {pattern:?}]");
        }
        if let Some(why) = &self.stopped {
            text.push_str(&format!("\n[stopped early: {why}; search a narrower path]"));
        } else if self.truncated {
            text.push_str(&format!("\n[stopped after {max} matches; narrow the pattern or raise max_results]"));
        }
        if self.skipped > 0 {
            let first = self.errors.first().map(String::as_str).unwrap_or_default();
            text.push_str(&format!("\n[skipped {} unreadable directories, e.g. {first}]", self.skipped));
        }
        let structured = json!({
            "root": root,
            "pattern": pattern,
            "matches": self.matches,
            "truncated": self.truncated,
            "stopped": self.stopped,
            "skipped_dirs": self.skipped,
            "errors": self.errors,
        });
        CallToolResult::structured(text, structured)
    }
}
