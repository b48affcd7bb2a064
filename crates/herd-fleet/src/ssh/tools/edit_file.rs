//! `edit_file` over SSH: literal, uniqueness-checked replacement.
//!
//! Two scripts, one connection. The first resolves the path (following
//! symlinks, as the agent does), checks it and sends the file's bytes. The
//! replacement is done here with the agent's rules (no match, or several
//! without `replace_all`, is an error naming the count). The second script
//! writes the result back atomically, keeping mode and owner, and renames
//! it into place only if the file's `cksum` is still that of the bytes the
//! edit started from ([`super::cksum`]), checked right before the rename;
//! otherwise nothing is written and the result says the file changed.

use super::args::{parse, remote_path, shown_path};
use super::cksum::cksum;
use super::fs_script::{RESOLVE, atomic_write, written};
use super::{Ctx, FILE_GRACE, Fail, MAX_DIAG_BYTES, MAX_EDIT_BYTES, ToolResult, failed};
use crate::ssh::remote::{Limited, Remote};
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: bool,
}

/// After [`RESOLVE`]: checks `$t` and sends its bytes.
const READ: &str = r#"if [ "$ex" != 1 ]; then rec err missing; return; fi
if [ ! -r "$t" ]; then rec err msg "$(enc "$(probe "$t")")"; return; fi
set -- $(wc -c <"$t")
if [ "${1-0}" -gt "$max" ]; then rec err big "$1"; return; fi
rec read "$(enc "$t")"
cat -- "$t" || return
rec ok
"#;

/// The edit, decided: the new text and what to report.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Edit {
    pub(super) text: String,
    pub(super) count: usize,
    pub(super) first_line: usize,
}

/// Applies the agent's rules for replacing `old` with `new` in `text`.
pub(super) fn apply(shown: &str, text: &str, old: &str, new: &str, all: bool) -> Result<Edit, Fail> {
    let count = text.matches(old).count();
    let Some(at) = text.find(old) else {
        return Err(failed(format!(
            "edit_file {shown}: old_string not found (it must match exactly, whitespace included)"
        )));
    };
    if count > 1 && !all {
        return Err(failed(format!(
            "edit_file {shown}: old_string is not unique: it occurs {count} times; include more surrounding \
             text to pick one, or set replace_all"
        )));
    }
    let first_line = text[..at].matches('\n').count() + 1;
    let text = if all { text.replace(old, new) } else { text.replacen(old, new, 1) };
    Ok(Edit { text, count, first_line })
}

/// Runs `edit_file`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a: Args = parse("edit_file", args)?;
    if a.old_string.is_empty() {
        return Err(Fail::Invalid("edit_file: old_string must not be empty".into()));
    }
    if a.old_string == a.new_string {
        return Err(Fail::Invalid("edit_file: old_string and new_string are the same".into()));
    }
    let path = remote_path("edit_file", &a.path)?;
    let shown = a.path.as_str();
    let mut remote = cx.remote("edit_file", Duration::ZERO);
    let (target, data) = read(&mut remote, &path, shown).await?;
    let text = String::from_utf8(data)
        .map_err(|_| failed(format!("edit_file {shown}: binary content (not UTF-8 text); use write_file")))?;
    let edit = apply(shown, &text, &a.old_string, &a.new_string, a.replace_all)?;
    let target = write_back(&mut remote, &target, shown, &cksum(text.as_bytes()), edit.text.as_bytes()).await?;

    let (count, first_line) = (edit.count, edit.first_line);
    let target = shown_path(&a.path, target);
    let plural = if count == 1 { "" } else { "s" };
    let message = format!("replaced {count} occurrence{plural} in {target} (first at line {first_line})");
    Ok(CallToolResult::structured(
        message,
        json!({
            "path": target,
            "replacements": count,
            "first_line": first_line,
            "bytes_written": edit.text.len(),
        }),
    ))
}

/// The resolved target and its bytes.
async fn read(remote: &mut Remote, path: &str, shown: &str) -> Result<(String, Vec<u8>), Fail> {
    let mut script = remote.script(true);
    script.var("p", path).nums(&["max"], &[MAX_EDIT_BYTES]).code(RESOLVE).code(READ);
    let limit = usize::try_from(MAX_EDIT_BYTES).unwrap_or(usize::MAX).saturating_add(1);
    let (mut out, mut diag) = (Limited::new(limit), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    match run.record(&["err"]) {
        Some(e) if e.field(0) == "missing" => {
            return Err(failed(format!("edit_file {shown}: No such file or directory")));
        }
        Some(e) if e.field(0) == "big" => {
            let size = e.field(1);
            return Err(failed(format!(
                "edit_file {shown}: {size} bytes is more than the {MAX_EDIT_BYTES} bytes it edits"
            )));
        }
        Some(_) => return Err(written(&run, "edit_file", shown, &diag.bytes).err().map_or_else(|| failed(""), failed)),
        None => {}
    }
    let target = run.record(&["read"]).map(|r| super::args::from_base64(r.field(0)));
    match target {
        Some(target) if run.record(&["ok"]).is_some() && !run.overflow => Ok((target, out.bytes)),
        _ if run.overflow => Err(failed(format!("edit_file {shown}: the file grew while it was read; retry"))),
        _ => Err(failed(format!("edit_file {shown}: {}", super::errno::reason(&String::from_utf8_lossy(&diag.bytes))))),
    }
}

/// Writes `data` to `target` if it still has checksum `sum`.
async fn write_back(remote: &mut Remote, target: &str, shown: &str, sum: &str, data: &[u8]) -> Result<String, Fail> {
    let mut script = remote.script(true);
    script.var("p", target).var("m", "").var("cd", "0").var("ck", sum).code(RESOLVE);
    atomic_write(&mut script, data);
    let (mut out, mut diag) = (Limited::new(MAX_DIAG_BYTES), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    written(&run, "edit_file", shown, &diag.bytes).map(|w| w.target).map_err(failed)
}

#[cfg(test)]
mod tests;
