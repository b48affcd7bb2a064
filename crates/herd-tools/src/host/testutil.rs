//! Helpers for the host tool tests: a catalog with test-friendly limits,
//! calls through the [`Backend`] API, and bounded polling for process state.

#![allow(clippy::unwrap_used)]

use super::{HostConfig, catalog};
use crate::Catalog;
use herd_proto::{Backend, BoxFuture, Context, Request, RequestId, RpcError};
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::time::Duration;

/// A config with `/bin/sh` and short grace periods.
pub(super) fn config() -> HostConfig {
    HostConfig { shell: "/bin/sh".into(), drain_grace: Duration::from_millis(300), ..HostConfig::default() }
}

/// The host catalog with [`config`].
pub(super) fn host() -> Catalog {
    catalog(config())
}

/// The raw future of a `tools/call`.
pub(super) fn call_future(
    c: &Catalog,
    tool: &str,
    args: Value,
    cx: Context,
) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
    let params = serde_json::value::to_raw_value(&json!({"name": tool, "arguments": args})).unwrap();
    c.call(Request::new(RequestId::number(1), "tools/call", Some(params)), cx)
}

/// Calls a tool and returns the `CallToolResult` as JSON.
pub(super) async fn call(c: &Catalog, tool: &str, args: Value) -> Value {
    let raw = call_future(c, tool, args, Context::detached()).await.unwrap();
    serde_json::from_str(raw.get()).unwrap()
}

/// The first text block of a result.
pub(super) fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

/// Whether a result is an error.
pub(super) fn is_error(result: &Value) -> bool {
    result["isError"] == true
}

/// The process is gone: no such pid, or only a zombie nobody reaped yet
/// (in containers pid 1 does not always reap).
pub(super) fn is_gone(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Err(Errno::ESRCH) => true,
        _ => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])))
            .unwrap_or(false),
    }
}

/// Polls until `cond` holds, for at most ten seconds.
pub(super) async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
