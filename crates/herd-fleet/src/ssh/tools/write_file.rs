//! `write_file` over SSH: create or replace a whole file, atomically.
//!
//! Arguments and result are the agent's (`path`, `content`, `encoding`,
//! `mode`, `create_dirs` in; `path`, `bytes_written`, `mode`, `created`
//! out). The content travels as base64 in a here-doc and is decoded
//! straight into a temporary file beside the target, which is then renamed
//! over it ([`super::fs_script`]).

use super::args::{remote_path, shown_path};
use super::fs_script::{RESOLVE, atomic_write, written};
use super::{Ctx, FILE_GRACE, MAX_DIAG_BYTES, ToolResult, failed};
use crate::ssh::remote::Limited;
use herd_tools::host::shape::args::mode_string;
use herd_tools::host::shape::write_file::{Args, result};
use serde_json::{Map, Value};
use std::time::Duration;

/// Runs `write_file`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a = Args::parse(args)?;
    let mode = a.mode()?;
    let shown = a.path.display().to_string();
    let path = remote_path("write_file", &shown)?;
    let data = a.encoding.decode("write_file", a.content)?;

    let mut remote = cx.remote("write_file", Duration::ZERO);
    let mut script = remote.script(true);
    script
        .var("p", &path)
        .var("m", mode.map(mode_string).unwrap_or_default())
        .var("cd", if a.create_dirs { "1" } else { "0" })
        .var("ck", "")
        .code(RESOLVE);
    atomic_write(&mut script, &data);
    let (mut out, mut diag) = (Limited::new(MAX_DIAG_BYTES), Limited::new(MAX_DIAG_BYTES));
    let run = remote.run(script, &mut out, &mut diag, FILE_GRACE).await?;
    let w = written(&run, "write_file", &shown, &diag.bytes).map_err(failed)?;
    Ok(result(&shown_path(&shown, w.target), data.len() as u64, w.mode, w.created))
}
