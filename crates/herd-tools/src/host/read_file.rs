//! The `read_file` tool: read a text file by lines, or any file by bytes.
//!
//! Text is addressed by lines, the unit a model edits in: `offset` is the
//! first line (1-based) and `limit` a number of lines, as line-numbered
//! editors and other agent tools do. Binary content is addressed by bytes and
//! returned as base64. Either way one call returns at most
//! [`HostConfig::max_read_bytes`]; the result says where to continue.
//! Binary data asked for as text is refused with a pointer to base64 rather
//! than sent as mojibake. The line rules and the results are in
//! [`super::shape::read_file`]; lines before the requested one are counted,
//! not stored, so reading the end of a large log costs a scan but no memory.

use super::blocking::cancelled;
use super::shape::args::{Encoding, failed, io_failed};
use super::shape::read_file::{Args, base64_result, lines, text_result};
use super::{Host, HostConfig};
use crate::catalog::{ToolError, ToolResult};
use herd_proto::Context;
use herd_proto::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The definition of `read_file`.
pub(super) fn tool(cfg: &HostConfig) -> Tool {
    let (max, lines) = (cfg.max_read_bytes, cfg.default_read_lines);
    Tool {
        name: "read_file".into(),
        title: Some("Read a file".into()),
        description: format!(
            "Reads a file. With encoding utf8 (default) offset and limit count lines: offset is the first line \
             (1-based, default 1), limit the number of lines (default {lines}); binary content is refused, read it \
             with encoding base64. With encoding base64 offset and limit count bytes (offset 0-based). A call \
             returns at most {max} bytes; when more follows, the result gives next_offset."
        ),
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to read."},
                "offset": {"type": "integer", "minimum": 0,
                           "description": "utf8: first line, 1-based (0 also means line 1); base64: first byte, 0-based."},
                "limit": {"type": "integer", "minimum": 1,
                          "description": "utf8: number of lines; base64: number of bytes."},
                "encoding": {"type": "string", "enum": ["utf8", "base64"], "default": "utf8"}
            },
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "encoding": {"type": "string", "enum": ["utf8", "base64"]},
                "content": {"type": "string", "description": "The text, or base64 of the bytes."},
                "offset": {"type": "integer", "description": "First line (utf8) or byte (base64) returned."},
                "lines": {"type": "integer", "description": "utf8: lines returned."},
                "bytes": {"type": "integer", "description": "Bytes of the file returned."},
                "size": {"type": "integer", "description": "File size in bytes."},
                "truncated": {"type": "boolean", "description": "More content follows what was returned."},
                "next_offset": {"type": ["integer", "null"], "description": "offset to continue from."}
            },
            "required": ["path", "encoding", "content", "offset", "bytes", "size", "truncated"]
        })),
        annotations: Some(ToolAnnotations {
            title: Some("Read a file".into()),
            open_world_hint: Some(false),
            ..ToolAnnotations::read_only()
        }),
    }
}

/// Runs `read_file`.
pub(super) async fn call(host: Arc<Host>, args: Map<String, Value>, cx: Context) -> ToolResult {
    let a = Args::parse(args)?;
    let what = format!("read_file {}", a.path.display());
    let job_host = host.clone();
    host.files
        .run(&what, &cx, move |token| {
            let cfg = &job_host.config;
            let (file, size) = open(&a.path)?;
            let max = usize::try_from(cfg.max_read_bytes).unwrap_or(usize::MAX);
            match a.encoding {
                Encoding::Utf8 => {
                    let first = a.offset.unwrap_or(1).max(1);
                    let limit = a.limit.unwrap_or(cfg.default_read_lines);
                    read_text(&a.path, file, size, first, limit, max, token)
                }
                Encoding::Base64 => {
                    let limit = a.limit.unwrap_or(cfg.max_read_bytes).min(cfg.max_read_bytes);
                    read_base64(&a.path, file, size, a.offset.unwrap_or(0), limit)
                }
            }
        })
        .await
}

/// Lines `first..first+limit` as text, at most `max` bytes.
fn read_text(
    path: &Path,
    file: File,
    size: u64,
    first: u64,
    limit: u64,
    max: usize,
    token: &CancellationToken,
) -> ToolResult {
    // Sized to the file: most reads are of small files.
    let capacity = usize::try_from(size).unwrap_or(usize::MAX).clamp(512, 64 * 1024);
    let mut reader = BufReader::with_capacity(capacity, file);
    let shown = path.display().to_string();
    let s = lines(&mut reader, first, limit, max, token)
        .map_err(|e| io_failed(format_args!("read_file {shown}"), &e))?
        .ok_or_else(|| cancelled("read_file"))?;
    text_result(&shown, &s, first, max, size)
}

/// `limit` bytes from `offset`, as base64.
fn read_base64(path: &Path, mut file: File, size: u64, offset: u64, limit: u64) -> ToolResult {
    let shown = path.display().to_string();
    let mut data = Vec::new();
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.take(limit).read_to_end(&mut data))
        .map_err(|e| io_failed(format_args!("read_file {shown}"), &e))?;
    Ok(base64_result(&shown, &data, offset, size))
}

/// Opens a regular file (following symlinks) and returns its size.
fn open(path: &Path) -> Result<(File, u64), ToolError> {
    let shown = path.display();
    // Checked before opening: opening a FIFO would block.
    let meta = std::fs::metadata(path).map_err(|e| io_failed(format_args!("read_file {shown}"), &e))?;
    if meta.is_dir() {
        return Err(failed(format!("read_file {shown}: Is a directory (use list_dir)")));
    }
    if !meta.is_file() {
        return Err(failed(format!("read_file {shown}: not a regular file")));
    }
    let file = File::open(path).map_err(|e| io_failed(format_args!("read_file {shown}"), &e))?;
    Ok((file, meta.len()))
}

#[cfg(test)]
mod tests;
