//! `edit_file` over SSH: literal, uniqueness-checked replacement.
//!
//! Two scripts, one connection. The first resolves the path (following
//! symlinks, as the agent does), checks it and sends the file's bytes. The
//! replacement is done here by the agent's own rules ([`Args::apply`]: no
//! match, or several without `replace_all`, is an error naming the count).
//! The second script
//! writes the result back atomically, keeping mode and owner, and renames
//! it into place only if the file's `cksum` is still that of the bytes the
//! edit started from ([`super::cksum`]), checked right before the rename;
//! otherwise nothing is written and the result says the file changed.

use super::args::{from_base64, remote_path, shown_path};
use super::cksum::cksum;
use super::errno::reason;
use super::fs_script::{RESOLVE, atomic_write, written};
use super::{Ctx, FILE_GRACE, Fail, LIMITS, MAX_DIAG_BYTES, ToolResult, failed};
use crate::ssh::remote::{Limited, Remote};
use herd_tools::host::shape::edit_file::Args;
use serde_json::{Map, Value};
use std::time::Duration;

/// After [`RESOLVE`]: checks `$t` and sends its bytes.
const READ: &str = r#"if [ "$ex" != 1 ]; then rec err missing; return; fi
if [ ! -r "$t" ]; then rec err msg "$(enc "$(probe "$t")")"; return; fi
set -- $(wc -c <"$t")
if [ "${1-0}" -gt "$max" ]; then rec err big "$1"; return; fi
rec read "$(enc "$t")"
cat -- "$t" || return
rec ok
"#;

/// Runs `edit_file`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a = Args::parse(args)?;
    let shown = a.path.display().to_string();
    let path = remote_path("edit_file", &shown)?;
    let mut remote = cx.remote("edit_file", Duration::ZERO);
    let (target, data) = read(&mut remote, &path, &shown).await?;
    let edit = a.apply(&shown, &data)?;
    let target = write_back(&mut remote, &target, &shown, &cksum(&data), edit.text.as_bytes()).await?;
    Ok(edit.result(&shown_path(&shown, target)))
}

/// The resolved target and its bytes.
async fn read(remote: &mut Remote, path: &str, shown: &str) -> Result<(String, Vec<u8>), Fail> {
    let mut script = remote.script(true);
    let max = LIMITS.max_edit_bytes;
    script.var("p", path).nums(&["max"], &[max]).code(RESOLVE).code(READ);
    let limit = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
    let (mut out, mut diag) = (Limited::new(limit), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    match run.record(&["err"]) {
        Some(e) if e.field(0) == "missing" => {
            return Err(failed(format!("edit_file {shown}: No such file or directory")));
        }
        Some(e) if e.field(0) == "big" => {
            let size = e.field(1);
            return Err(failed(format!("edit_file {shown}: {size} bytes is more than the {max} bytes it edits")));
        }
        Some(_) => return Err(written(&run, "edit_file", shown, &diag.bytes).err().map_or_else(|| failed(""), failed)),
        None => {}
    }
    let target = run.record(&["read"]).map(|r| from_base64(r.field(0)));
    match target {
        Some(target) if run.record(&["ok"]).is_some() && !run.overflow => Ok((target, out.bytes)),
        _ if run.overflow => Err(failed(format!("edit_file {shown}: the file grew while it was read; retry"))),
        _ => Err(failed(format!("edit_file {shown}: {}", reason(&String::from_utf8_lossy(&diag.bytes))))),
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
