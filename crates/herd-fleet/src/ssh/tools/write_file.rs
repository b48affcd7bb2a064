//! `write_file` over SSH: create or replace a whole file, atomically.
//!
//! Arguments and result are the agent's (`path`, `content`, `encoding`,
//! `mode`, `create_dirs` in; `path`, `bytes_written`, `mode`, `created`
//! out). The content travels as base64 in a here-doc and is decoded
//! straight into a temporary file beside the target, which is then renamed
//! over it ([`super::fs_script`]).

use super::args::{Encoding, mode_string, parse, parse_mode, remote_path, shown_path};
use super::fs_script::{RESOLVE, atomic_write, written};
use super::{Ctx, FILE_GRACE, MAX_DIAG_BYTES, ToolResult, failed};
use crate::ssh::remote::Limited;
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
    content: String,
    #[serde(default)]
    encoding: Encoding,
    #[serde(default)]
    mode: Option<Value>,
    #[serde(default)]
    create_dirs: bool,
}

/// Runs `write_file`.
pub(super) async fn call(cx: &Ctx, args: Map<String, Value>) -> ToolResult {
    let a: Args = parse("write_file", args)?;
    let mode = a.mode.as_ref().filter(|m| !m.is_null()).map(|m| parse_mode("write_file", m)).transpose()?;
    let path = remote_path("write_file", &a.path)?;
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
    let w = written(&run, "write_file", &a.path, &diag.bytes).map_err(failed)?;

    let target = shown_path(&a.path, w.target);
    let mode = mode_string(w.mode);
    let verb = if w.created { "created" } else { "replaced" };
    let text = format!("{verb} {target} ({} bytes, mode {mode})", data.len());
    Ok(CallToolResult::structured(
        text,
        json!({
            "path": target,
            "bytes_written": data.len(),
            "mode": mode,
            "created": w.created,
        }),
    ))
}
