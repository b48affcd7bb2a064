//! `remote_shell_many`: one command on many hosts at once.
//!
//! Hosts run in parallel up to the configured fan-out; each goes through
//! the same path as `remote_shell` (agent, or ssh when it is down) with its
//! own timeout, so one dead or slow host costs only its own slot. The
//! client's progress token reports hosts finished; the per-host calls do
//! not report progress of their own.
//!
//! Hosts the caller may not run `shell` on are skipped, not failed: the
//! result names each with the missing permission (`skipped`), and the
//! others run.

use super::{error_result, policy_host, take};
use crate::Fleet;
use crate::path::quiet;
use futures_util::StreamExt;
use futures_util::stream;
use herd_auth::{Action, Decision, hub_tool_target};
use herd_fleet::Host;
use herd_proto::Context;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

pub(super) async fn call(fleet: &Arc<Fleet>, mut arguments: Map<String, Value>, cx: &Context) -> Value {
    let selection = (|| {
        let names = take::<Vec<String>>(&mut arguments, "hosts")?.unwrap_or_default();
        let tags = take::<Vec<String>>(&mut arguments, "tags")?.unwrap_or_default();
        fleet.select(&names, &tags).map_err(|e| error_result(e.to_string()))
    })();
    let selected = match selection {
        Ok(hosts) => hosts,
        Err(e) => return e,
    };
    let (hosts, skipped) = permitted(selected, cx);
    let own = arguments.get("timeout").and_then(Value::as_f64).and_then(|s| Duration::try_from_secs_f64(s).ok());
    let timeout =
        own.unwrap_or(Duration::from_secs(120)).min(Duration::from_secs(3600)) + fleet.config().timeout_margin;
    let total = hosts.len();
    let sub = quiet(cx);
    let calls: Vec<_> = hosts
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, host)| {
            let (fleet, arguments, sub) = (fleet.clone(), arguments.clone(), sub.clone());
            async move { (i, fleet.call_tool(&host, "shell", arguments, &sub, timeout).await) }
        })
        .collect();
    let mut finished = stream::iter(calls).buffer_unordered(fleet.config().fan_out.max(1));
    let mut results = vec![Value::Null; total];
    let mut done = 0;
    while let Some((i, outcome)) = finished.next().await {
        done += 1;
        let entry = entry(&hosts[i].name, outcome);
        cx.progress(done as f64, Some(total as f64), Some(&summary(&entry)));
        results[i] = entry;
    }
    let succeeded = results.iter().filter(|r| r.get("exit_code").and_then(Value::as_i64) == Some(0)).count();
    let mut text = String::new();
    for r in &results {
        let _ = writeln!(text, "== {} ==", summary(r));
        for stream in ["stdout", "stderr"] {
            if let Some(out) = r.get(stream).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                text.push_str(out);
                if !out.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
    }
    for s in &skipped {
        let _ = writeln!(
            text,
            "== {}: skipped: {} ==",
            s["host"].as_str().unwrap_or("?"),
            s["missing"].as_str().unwrap_or("?")
        );
    }
    let _ = write!(text, "{succeeded} of {total} hosts exited 0");
    if !skipped.is_empty() {
        let _ = write!(text, "; {} skipped (not permitted)", skipped.len());
    }
    let mut structured = json!({ "results": results, "succeeded": succeeded, "failed": total - succeeded });
    if !skipped.is_empty() {
        structured["skipped"] = json!(skipped);
    }
    json!({ "content": [{ "type": "text", "text": text }], "structuredContent": structured })
}

/// The selected hosts the caller may run `shell` on, and the others with
/// what the caller lacks there.
fn permitted(selected: Vec<Host>, cx: &Context) -> (Vec<Host>, Vec<Value>) {
    let (Some(principal), Some(shell)) = (&cx.meta().principal, hub_tool_target("remote_shell_many")) else {
        return (selected, Vec::new());
    };
    let mut skipped = Vec::new();
    let hosts = selected
        .into_iter()
        .filter(|host| match principal.allows(&Action::CallTool { host: policy_host(host), tool: shell.tool() }) {
            Decision::Allow => true,
            Decision::Deny(missing) => {
                skipped.push(json!({ "host": host.name, "missing": missing.to_string() }));
                false
            }
        })
        .collect();
    (hosts, skipped)
}
/// One host's line in the combined result.
fn entry(host: &str, outcome: Result<crate::path::Served, crate::path::Failure>) -> Value {
    match outcome {
        Err(failure) => json!({ "host": host, "error": failure.to_string() }),
        Ok(served) => {
            let mut entry = json!({ "host": host, "via": served.via });
            let result = served.value();
            let structured = result.get("structuredContent");
            for key in ["exit_code", "stdout", "stderr", "timed_out", "duration_ms"] {
                if let Some(v) = structured.and_then(|s| s.get(key)) {
                    entry[key] = v.clone();
                }
            }
            if served.is_error() && structured.is_none() {
                let text = result["content"][0]["text"].as_str().unwrap_or("the tool failed");
                entry["error"] = json!(text);
            }
            entry
        }
    }
}

fn summary(entry: &Value) -> String {
    let host = entry["host"].as_str().unwrap_or("?");
    if let Some(error) = entry.get("error").and_then(Value::as_str) {
        return format!("{host}: failed: {}", error.lines().next().unwrap_or_default());
    }
    let via = entry["via"].as_str().unwrap_or("?");
    match (entry.get("timed_out").and_then(Value::as_bool), entry.get("exit_code").and_then(Value::as_i64)) {
        (Some(true), _) => format!("{host} ({via}): timed out"),
        (_, Some(code)) => format!("{host} ({via}): exit {code}"),
        _ => format!("{host} ({via})"),
    }
}
