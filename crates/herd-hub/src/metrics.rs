//! What the hub counts, in one place: names and labels of every metric it
//! records. The binary installs a Prometheus recorder and serves it on
//! `/metrics`; without a recorder these calls cost next to nothing.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `herd_calls_total` | counter | `host`, `tool`, `path` (agent, ssh, none), `outcome` (ok, tool_error, failed) |
//! | `herd_call_duration_seconds` | histogram | `host`, `path` |
//! | `herd_probes_total` | counter | `host`, `result` (up, down) — recorded by herd-fleet |
//! | `herd_host_up` | gauge | `host` — recorded by herd-fleet |

use crate::path::{Failure, Served};
use metrics::Label;
use std::time::Duration;

/// Records one finished call and writes its log line.
pub(crate) fn call(tool: &str, host: &str, outcome: &Result<Served, Failure>, elapsed: Duration) {
    let (path, result) = match outcome {
        Ok(served) if served.is_error() => (served.via, "tool_error"),
        Ok(served) => (served.via, "ok"),
        Err(_) => ("none", "failed"),
    };
    let host_label = Label::new("host", host.to_owned());
    let path_label = Label::from_static_parts("path", path);
    let labels = vec![host_label.clone(), path_label.clone()];
    metrics::histogram!("herd_call_duration_seconds", labels).record(elapsed.as_secs_f64());
    let labels =
        vec![host_label, Label::new("tool", tool.to_owned()), path_label, Label::from_static_parts("outcome", result)];
    metrics::counter!("herd_calls_total", labels).increment(1);
    // Whole microseconds: "2.945", not "2.9450629999999998".
    let elapsed_ms = elapsed.as_micros() as f64 / 1000.0;
    match outcome {
        Err(failure) => {
            tracing::info!(target: "herd::calls", tool, host, path, elapsed_ms, outcome = result, error = %failure, "call")
        }
        Ok(served) => match &served.detour {
            Some(detour) => {
                tracing::info!(target: "herd::calls", tool, host, path, elapsed_ms, outcome = result, detour, "call")
            }
            None => tracing::info!(target: "herd::calls", tool, host, path, elapsed_ms, outcome = result, "call"),
        },
    }
}
