//! `edit_file`: its arguments, its replacement rules and its result.
//!
//! Models patch files by quoting the text to change. A quote that matches
//! nowhere, or in several places, means the model's picture of the file is
//! wrong, so both are errors (saying how many matches there were) unless
//! `replace_all` asks for every occurrence. Matching is literal: no regular
//! expressions, no whitespace folding. Only UTF-8 text is edited.

use super::args::failed;
use crate::catalog::ToolError;
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// The arguments of `edit_file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The file to edit.
    pub path: PathBuf,
    /// The exact text to replace; never empty.
    pub old_string: String,
    /// The text to put in its place; never `old_string`.
    pub new_string: String,
    /// Replace every occurrence instead of requiring exactly one.
    #[serde(default)]
    pub replace_all: bool,
}

impl Args {
    /// Parses and checks a call's arguments.
    pub fn parse(args: Map<String, Value>) -> Result<Self, ToolError> {
        let a: Self = super::args::parse("edit_file", args)?;
        if a.old_string.is_empty() {
            return Err(ToolError::InvalidArguments("edit_file: old_string must not be empty".into()));
        }
        if a.old_string == a.new_string {
            return Err(ToolError::InvalidArguments("edit_file: old_string and new_string are the same".into()));
        }
        Ok(a)
    }

    /// Applies the edit to `data`, the file's bytes; `shown` names the file
    /// in failures.
    pub fn apply(&self, shown: &str, data: &[u8]) -> Result<Edit, ToolError> {
        let text = std::str::from_utf8(data)
            .map_err(|_| failed(format!("edit_file {shown}: binary content (not UTF-8 text); use write_file")))?;
        let (old, new) = (self.old_string.as_str(), self.new_string.as_str());
        let count = text.matches(old).count();
        let Some(at) = text.find(old) else {
            return Err(failed(format!(
                "edit_file {shown}: old_string not found (it must match exactly, whitespace included)"
            )));
        };
        if count > 1 && !self.replace_all {
            return Err(failed(format!(
                "edit_file {shown}: old_string is not unique: it occurs {count} times; include more surrounding \
                 text to pick one, or set replace_all"
            )));
        }
        let first_line = text[..at].matches('\n').count() + 1;
        let edited = if self.replace_all { text.replace(old, new) } else { text.replacen(old, new, 1) };
        Ok(Edit { text: edited, count, first_line })
    }
}

/// An edit, decided: the new text and what to report.
#[derive(Debug, PartialEq, Eq)]
pub struct Edit {
    /// The file's new content.
    pub text: String,
    /// Occurrences replaced.
    pub count: usize,
    /// The line of the first replacement, 1-based.
    pub first_line: usize,
}

impl Edit {
    /// The result once the new text was written to `target` (symlinks
    /// resolved).
    pub fn result(&self, target: &str) -> CallToolResult {
        let (count, first_line) = (self.count, self.first_line);
        let plural = if count == 1 { "" } else { "s" };
        let text = format!("replaced {count} occurrence{plural} in {target} (first at line {first_line})");
        CallToolResult::structured(
            text,
            json!({
                "path": target,
                "replacements": count,
                "first_line": first_line,
                "bytes_written": self.text.len(),
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(old: &str, new: &str, all: bool) -> Args {
        Args { path: "f".into(), old_string: old.into(), new_string: new.into(), replace_all: all }
    }

    fn apply(text: &str, old: &str, new: &str, all: bool) -> Result<Edit, String> {
        args(old, new, all).apply("f", text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn replacement_rules() {
        let e = apply("a\nlet x = 1;\nb\n", "x = 1", "x = 2", false);
        assert_eq!(e, Ok(Edit { text: "a\nlet x = 2;\nb\n".into(), count: 1, first_line: 2 }));
        let err = apply("fn main() {}\n", "nope", "x", false).err().unwrap_or_default();
        assert!(err.contains("f: old_string not found"), "{err}");
        let err = apply("foo bar foo\n", "foo", "baz", false).err().unwrap_or_default();
        assert!(err.contains("not unique: it occurs 2 times"), "{err}");
        let e = apply("foo bar foo\n", "foo", "baz", true);
        assert_eq!(e, Ok(Edit { text: "baz bar baz\n".into(), count: 2, first_line: 1 }));
        let err = args("a", "b", false).apply("f", &[0xff]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("binary content"), "{err}");
    }

    #[test]
    fn empty_or_unchanged_quotes_are_invalid() {
        let parse = |v: Value| Args::parse(v.as_object().cloned().unwrap_or_default()).err().map(|e| e.to_string());
        let err = parse(json!({"path": "f", "old_string": "", "new_string": "x"}));
        assert_eq!(err.as_deref(), Some("invalid arguments: edit_file: old_string must not be empty"));
        let err = parse(json!({"path": "f", "old_string": "x", "new_string": "x"}));
        assert_eq!(err.as_deref(), Some("invalid arguments: edit_file: old_string and new_string are the same"));
    }
}
