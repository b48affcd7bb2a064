//! `read_file` over SSH: a text file by lines, or any file by bytes.
//!
//! Arguments, limits and result are the agent's. The remote checks the
//! path (directory, missing, not a regular file, unreadable), reports the
//! size, and streams raw bytes: with `utf8`, `tail -n +offset | head -c`
//! one byte more than the cap, from which [`Lines::of`] takes the lines
//! exactly as the agent would; with `base64`, `tail -c +offset | head -c
//! limit`. Only when a text read starts past the end of the file does a
//! second short script count the file's lines for the message.

use super::args::remote_path;
use super::errno::{reason, reason_b64};
use super::{Ctx, FILE_GRACE, Fail, LIMITS, MAX_DIAG_BYTES, ToolResult, failed};
use crate::ssh::remote::{Limited, Remote, Run};
use herd_tools::host::shape::args::Encoding;
use herd_tools::host::shape::read_file::{Args, Lines, base64_result, text_result};
use serde_json::{Map, Value};
use std::time::Duration;

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
    let a = Args::parse(args)?;
    let shown = a.path.display().to_string();
    let path = remote_path("read_file", &shown)?;
    let max_bytes = LIMITS.max_read_bytes;
    let mut remote = cx.remote("read_file", Duration::ZERO);
    let mut script = remote.script(true);
    script.var("p", &path).code(CHECK);
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let (first, want) = match a.encoding {
        Encoding::Utf8 => {
            let first = a.offset.unwrap_or(1).max(1);
            script.nums(&["first", "cap"], &[first, max_bytes + 1]);
            script.code("tail -n \"+$first\" -- \"$p\" | head -c \"$cap\"");
            (first, max + 1)
        }
        Encoding::Base64 => {
            let offset = a.offset.unwrap_or(0);
            let limit = a.limit.unwrap_or(max_bytes).min(max_bytes);
            script.nums(&["skip", "lim"], &[offset.saturating_add(1), limit]);
            script.code("tail -c \"+$skip\" -- \"$p\" | head -c \"$lim\"");
            (offset, usize::try_from(limit).unwrap_or(max))
        }
    };
    script.code("rec ok");
    let (mut out, mut diag) = (Limited::new(want), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    let size = checked(&run, &shown, &diag.bytes)?;
    let data = out.bytes;
    match a.encoding {
        Encoding::Utf8 => {
            let limit = a.limit.unwrap_or(LIMITS.default_read_lines);
            read_text(&mut remote, &path, &shown, data, size, (first, limit, max)).await
        }
        Encoding::Base64 => Ok(base64_result(&shown, &data, first, size)),
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

/// The text result, counting the file's lines when nothing was taken.
async fn read_text(
    remote: &mut Remote,
    path: &str,
    shown: &str,
    data: Vec<u8>,
    size: u64,
    (first, limit, max): (u64, u64, usize),
) -> ToolResult {
    let mut s = Lines::of(&data, limit, max);
    if s.lines == 0 {
        // Nothing from line `first` on: the file has fewer lines.
        s.total_lines = Some(if first > 1 { count_lines(remote, path).await? } else { 0 });
    }
    Ok(text_result(shown, &s, first, max, size)?)
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
