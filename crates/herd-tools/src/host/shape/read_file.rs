//! `read_file`: its arguments, its line rules and its results.
//!
//! Text is addressed by lines (`offset` is the first line, 1-based; `limit`
//! a number of lines), binary content by bytes, returned as base64. A text
//! read stops at the byte cap on a line boundary, or cuts a single longer
//! line ([`Lines`]); binary data asked for as text is refused with a pointer
//! to base64. Either result says where to continue.

mod scan;

pub use scan::Lines;
pub(crate) use scan::lines;

use super::args::{Encoding, failed, to_base64};
use crate::catalog::{ToolError, ToolResult};
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// The arguments of `read_file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The file to read.
    pub path: PathBuf,
    /// `utf8`: the first line, 1-based (0 also means line 1); `base64`: the
    /// first byte, 0-based.
    #[serde(default)]
    pub offset: Option<u64>,
    /// `utf8`: a number of lines; `base64`: a number of bytes.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Text by lines, or bytes as base64.
    #[serde(default)]
    pub encoding: Encoding,
}

impl Args {
    /// Parses and checks a call's arguments.
    pub fn parse(args: Map<String, Value>) -> Result<Self, ToolError> {
        let a: Self = super::args::parse("read_file", args)?;
        if a.limit == Some(0) {
            return Err(ToolError::InvalidArguments("read_file: limit must be at least 1".into()));
        }
        Ok(a)
    }
}

/// The result of a text read of `path` (shown as given), a file of `size`
/// bytes: `s` are the lines taken from line `first` on, at most `max`
/// bytes. When `s` holds no line, `s.total_lines` must say how many lines
/// the file has. Binary content is a failure.
pub fn text_result(path: &str, s: &Lines, first: u64, max: usize, size: u64) -> ToolResult {
    let content = scan::as_text(&s.content, s.cut_line).ok_or_else(|| {
        failed(format!("read_file {path}: binary content (not UTF-8 text); read it with encoding \"base64\""))
    })?;
    let next = s.more.then_some(first + s.lines);
    let mut text = content.clone();
    if let Some(total) = s.total_lines.filter(|_| s.lines == 0) {
        text = format!("[{path} has {total} lines; nothing from line {first} on]");
    } else if content.is_empty() {
        text = format!("[{path} is empty]");
    }
    if let Some(next) = next {
        if s.cut_line {
            text.push_str(&format!("\n[line {first} is longer than {max} bytes and was cut]"));
        }
        text.push_str(&format!("\n[more follows: continue with offset {next}]"));
    }
    let structured = json!({
        "path": path, "encoding": "utf8", "content": content, "offset": first,
        "lines": s.lines, "bytes": s.content.len(), "size": size, "truncated": next.is_some(),
        "next_offset": next,
    });
    Ok(CallToolResult::structured(text, structured))
}

/// The result of a base64 read of `path` (shown as given), a file of
/// `size` bytes: `data` are the bytes from `offset` on.
pub fn base64_result(path: &str, data: &[u8], offset: u64, size: u64) -> CallToolResult {
    let end = offset + data.len() as u64;
    let more = end < size;
    let content = to_base64(data);
    let mut text = content.clone();
    if more {
        text.push_str(&format!("\n[bytes {offset}..{end} of {size}; more follows: continue with offset {end}]"));
    }
    let structured = json!({
        "path": path, "encoding": "base64", "content": content, "offset": offset,
        "bytes": data.len(), "size": size, "truncated": more, "next_offset": more.then_some(end),
    });
    CallToolResult::structured(text, structured)
}
