//! `read_file` over SSH: a text file by lines, or any file by bytes.
//!
//! Arguments, limits and result are the agent's. The remote checks the
//! path (directory, missing, not a regular file, unreadable), reports the
//! size, and streams raw bytes: with `utf8`, `tail -n +offset | head -c`
//! one byte more than the cap, from which [`super::scan`] takes the lines
//! exactly as the agent would; with `base64`, `tail -c +offset | head -c
//! limit`. Only when a text read starts past the end of the file does a
//! second short script count the file's lines for the message.

use super::args::{Encoding, parse, remote_path, to_base64};
use super::errno::{reason, reason_b64};
use super::scan::{as_text, lines};
use super::{Ctx, DEFAULT_READ_LINES, FILE_GRACE, Fail, MAX_DIAG_BYTES, MAX_READ_BYTES, ToolResult, failed};
use crate::ssh::remote::{Limited, Remote, Run};
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    encoding: Encoding,
}

/// Checks `$p` and records `size`, or an error, and returns.
const CHECK: &str = r#"if [ -d "$p" ]; then rec err isdir; return; fi
if [ ! -e "$p" ]; then rec err msg "$(enc "$(probe "$p")")"; return; fi
if [ ! -f "$p" ]; then rec err notregular; return; fi
if [ ! -r "$p" ]; then rec err msg "$(enc "$(probe "$p")")"; return; fi
set -- $(wc -c <"$p")
rec size "${1-0}"
"#;

/// Runs `read_file`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a: Args = parse("read_file", args)?;
    if a.limit == Some(0) {
        return Err(Fail::Invalid("read_file: limit must be at least 1".into()));
    }
    let path = remote_path("read_file", &a.path)?;
    let shown = a.path.as_str();
    let mut remote = cx.remote("read_file", Duration::ZERO);
    let mut script = remote.script(true);
    script.var("p", &path).code(CHECK);
    let max = usize::try_from(MAX_READ_BYTES).unwrap_or(usize::MAX);
    let (first, want) = match a.encoding {
        Encoding::Utf8 => {
            let first = a.offset.unwrap_or(1).max(1);
            script.nums(&["first", "cap"], &[first, MAX_READ_BYTES + 1]);
            script.code("tail -n \"+$first\" -- \"$p\" | head -c \"$cap\"");
            (first, max + 1)
        }
        Encoding::Base64 => {
            let offset = a.offset.unwrap_or(0);
            let limit = a.limit.unwrap_or(MAX_READ_BYTES).min(MAX_READ_BYTES);
            script.nums(&["skip", "lim"], &[offset.saturating_add(1), limit]);
            script.code("tail -c \"+$skip\" -- \"$p\" | head -c \"$lim\"");
            (offset, usize::try_from(limit).unwrap_or(max))
        }
    };
    script.code("rec ok");
    let (mut out, mut diag) = (Limited::new(want), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    let size = checked(&run, shown, &diag.bytes)?;
    let data = out.bytes;
    match a.encoding {
        Encoding::Utf8 => {
            let limit = a.limit.unwrap_or(DEFAULT_READ_LINES);
            read_text(&mut remote, &path, shown, data, size, (first, limit, max)).await
        }
        Encoding::Base64 => Ok(base64_result(shown, &data, size, first)),
    }
}

/// The file's size from `run`, or the agent's failure.
fn checked(run: &Run, shown: &str, diag: &[u8]) -> Result<u64, Fail> {
    if let Some(e) = run.record(&["err"]) {
        return Err(failed(match e.field(0) {
            "isdir" => format!("read_file {shown}: Is a directory (use list_dir)"),
            "notregular" => format!("read_file {shown}: not a regular file"),
            _ => format!("read_file {shown}: {}", reason_b64(e.field(1))),
        }));
    }
    let size = run.record(&["size"]).and_then(|r| r.num(0));
    match size {
        Some(size) if run.record(&["ok"]).is_some() && diag.iter().all(u8::is_ascii_whitespace) => Ok(size),
        _ => Err(failed(format!("read_file {shown}: {}", reason(&String::from_utf8_lossy(diag))))),
    }
}

async fn read_text(
    remote: &mut Remote,
    path: &str,
    shown: &str,
    data: Vec<u8>,
    size: u64,
    (first, limit, max): (u64, u64, usize),
) -> ToolResult {
    let s = lines(&data, limit, max);
    let content = as_text(&s.content, s.cut_line).ok_or_else(|| {
        failed(format!("read_file {shown}: binary content (not UTF-8 text); read it with encoding \"base64\""))
    })?;
    let next = s.more.then_some(first + s.lines);
    let mut text = content.clone();
    if s.lines == 0 {
        // Nothing from line `first` on: the file has fewer lines.
        let total = if first > 1 { count_lines(remote, path).await? } else { 0 };
        text = format!("[{shown} has {total} lines; nothing from line {first} on]");
    } else if content.is_empty() {
        text = format!("[{shown} is empty]");
    }
    if let Some(next) = next {
        if s.cut_line {
            text.push_str(&format!("\n[line {first} is longer than {max} bytes and was cut]"));
        }
        text.push_str(&format!("\n[more follows: continue with offset {next}]"));
    }
    let structured = json!({
        "path": shown, "encoding": "utf8", "content": content, "offset": first,
        "lines": s.lines, "bytes": s.content.len(), "size": size, "truncated": next.is_some(),
        "next_offset": next,
    });
    Ok(CallToolResult::structured(text, structured))
}

/// Lines in the file, counting a last line without a newline.
async fn count_lines(remote: &mut Remote, path: &str) -> Result<u64, Fail> {
    let mut script = remote.script(true);
    script.var("p", path).code("set -- $(wc -l <\"$p\") $(tail -c 1 -- \"$p\" | wc -l) $(wc -c <\"$p\")");
    script.code("rec lines \"${1-0}\" \"${2-0}\" \"${3-0}\"");
    let (mut out, mut diag) = (Limited::new(MAX_DIAG_BYTES), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    let r = run.record(&["lines"]);
    let (newlines, ends_with_newline, bytes) = (
        r.and_then(|r| r.num(0)).unwrap_or(0),
        r.and_then(|r| r.num(1)).unwrap_or(0),
        r.and_then(|r| r.num(2)).unwrap_or(0),
    );
    Ok(newlines + u64::from(bytes > 0 && ends_with_newline == 0))
}

fn base64_result(shown: &str, data: &[u8], size: u64, offset: u64) -> CallToolResult {
    let end = offset + data.len() as u64;
    let more = end < size;
    let content = to_base64(data);
    let mut text = content.clone();
    if more {
        text.push_str(&format!("\n[bytes {offset}..{end} of {size}; more follows: continue with offset {end}]"));
    }
    let structured = json!({
        "path": shown, "encoding": "base64", "content": content, "offset": offset,
        "bytes": data.len(), "size": size, "truncated": more, "next_offset": more.then_some(end),
    });
    CallToolResult::structured(text, structured)
}
