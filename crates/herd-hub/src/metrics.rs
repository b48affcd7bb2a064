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
use metrics::{Counter, Histogram, Label};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

const PATHS: [&str; 3] = ["agent", "ssh", "none"];
const OUTCOMES: [&str; 3] = ["ok", "tool_error", "failed"];

/// One host's metric handles, made on first use: recording through a
/// handle skips building labels and looking the series up on every call.
#[derive(Default)]
struct HostHandles {
    durations: [Option<Histogram>; PATHS.len()],
    /// By tool, then path, then outcome.
    calls: HashMap<String, [[Option<Counter>; OUTCOMES.len()]; PATHS.len()]>,
}

static HANDLES: LazyLock<Mutex<HashMap<String, HostHandles>>> = LazyLock::new(Mutex::default);

/// Records one finished call and writes its log line.
pub(crate) fn call(tool: &str, host: &str, outcome: &Result<Served, Failure>, elapsed: Duration) {
    let (path, result) = match outcome {
        Ok(served) if served.is_error() => (served.via, "tool_error"),
        Ok(served) => (served.via, "ok"),
        Err(_) => ("none", "failed"),
    };
    record(host, tool, path, result, elapsed);
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

fn record(host: &str, tool: &str, path: &'static str, result: &'static str, elapsed: Duration) {
    let (Some(p), Some(o)) = (PATHS.iter().position(|&x| x == path), OUTCOMES.iter().position(|&x| x == result)) else {
        // Not a path or outcome the table knows: recorded without a handle.
        metrics::histogram!("herd_call_duration_seconds", duration_labels(host, path)).record(elapsed.as_secs_f64());
        metrics::counter!("herd_calls_total", call_labels(host, tool, path, result)).increment(1);
        return;
    };
    let mut handles = HANDLES.lock();
    if !handles.contains_key(host) {
        handles.insert(host.to_owned(), HostHandles::default());
    }
    let Some(of_host) = handles.get_mut(host) else { return };
    of_host.durations[p]
        .get_or_insert_with(|| metrics::histogram!("herd_call_duration_seconds", duration_labels(host, path)))
        .record(elapsed.as_secs_f64());
    if !of_host.calls.contains_key(tool) {
        of_host.calls.insert(tool.to_owned(), Default::default());
    }
    if let Some(of_tool) = of_host.calls.get_mut(tool) {
        of_tool[p][o]
            .get_or_insert_with(|| metrics::counter!("herd_calls_total", call_labels(host, tool, path, result)))
            .increment(1);
    }
}

fn duration_labels(host: &str, path: &'static str) -> Vec<Label> {
    vec![Label::new("host", host.to_owned()), Label::from_static_parts("path", path)]
}

fn call_labels(host: &str, tool: &str, path: &'static str, result: &'static str) -> Vec<Label> {
    vec![
        Label::new("host", host.to_owned()),
        Label::new("tool", tool.to_owned()),
        Label::from_static_parts("path", path),
        Label::from_static_parts("outcome", result),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    #[test]
    fn calls_are_counted_through_the_cached_handles() {
        let recorder = PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || {
            for _ in 0..2 {
                record("metrics-test-host", "read_file", "agent", "ok", Duration::from_millis(3));
            }
            record("metrics-test-host", "read_file", "ssh", "failed", Duration::from_millis(5));
        });
        let text = recorder.handle().render();
        let line = |needle: &str| text.lines().find(|l| l.starts_with(needle)).map(str::to_owned);
        let ok = r#"herd_calls_total{host="metrics-test-host",tool="read_file",path="agent",outcome="ok"}"#;
        assert_eq!(line(ok).as_deref(), Some(format!("{ok} 2").as_str()), "{text}");
        let failed = r#"herd_calls_total{host="metrics-test-host",tool="read_file",path="ssh",outcome="failed"}"#;
        assert_eq!(line(failed).as_deref(), Some(format!("{failed} 1").as_str()), "{text}");
        let count = r#"herd_call_duration_seconds_count{host="metrics-test-host",path="agent"}"#;
        assert_eq!(line(count).as_deref(), Some(format!("{count} 2").as_str()), "{text}");
    }
}
