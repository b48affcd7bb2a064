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
//!
//! Labels stay bounded whatever clients send. `host` is always a registered
//! name (a call to any other is refused before it gets here). `tool` comes
//! from the client through `remote_call`, which takes only valid tool names;
//! still, each host keeps at most [`MAX_TOOL_LABELS`] distinct ones and
//! counts the rest as `other`, and a name that is not a valid tool name is
//! neither a label nor quoted in the log line.

use crate::path::{Failure, Served};
use metrics::{Counter, Histogram, Label};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

const PATHS: [&str; 4] = ["agent", "channel", "ssh", "none"];
const OUTCOMES: [&str; 3] = ["ok", "tool_error", "failed"];

/// Distinct `tool` labels kept per host; further tools count as [`OTHER`].
pub(crate) const MAX_TOOL_LABELS: usize = 256;
/// The `tool` label of tools past [`MAX_TOOL_LABELS`] and of invalid names.
const OTHER: &str = "other";

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
    let tool = if herd_proto::check_tool_name(tool).is_ok() { tool } else { "(invalid name)" };
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
    let mut handles = HANDLES.lock();
    if !handles.contains_key(host) {
        handles.insert(host.to_owned(), HostHandles::default());
    }
    let Some(of_host) = handles.get_mut(host) else { return };
    let tool = of_host.tool_label(tool);
    if !of_host.calls.contains_key(tool) {
        of_host.calls.insert(tool.to_owned(), Default::default());
    }
    let (Some(p), Some(o)) = (PATHS.iter().position(|&x| x == path), OUTCOMES.iter().position(|&x| x == result)) else {
        // Not a path or outcome the table knows: recorded without a handle.
        metrics::histogram!("herd_call_duration_seconds", duration_labels(host, path)).record(elapsed.as_secs_f64());
        metrics::counter!("herd_calls_total", call_labels(host, tool, path, result)).increment(1);
        return;
    };
    of_host.durations[p]
        .get_or_insert_with(|| metrics::histogram!("herd_call_duration_seconds", duration_labels(host, path)))
        .record(elapsed.as_secs_f64());
    if let Some(of_tool) = of_host.calls.get_mut(tool) {
        of_tool[p][o]
            .get_or_insert_with(|| metrics::counter!("herd_calls_total", call_labels(host, tool, path, result)))
            .increment(1);
    }
}

impl HostHandles {
    /// The `tool` label of a call to `tool`: its own name while the host
    /// has fewer than [`MAX_TOOL_LABELS`] of them (and it is a valid tool
    /// name), else [`OTHER`].
    fn tool_label<'a>(&self, tool: &'a str) -> &'a str {
        let known = self.calls.contains_key(tool);
        if known || (self.calls.len() < MAX_TOOL_LABELS && herd_proto::check_tool_name(tool).is_ok()) {
            tool
        } else {
            OTHER
        }
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

    #[test]
    fn tool_labels_per_host_are_bounded_and_the_rest_is_other() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let host = "metrics-bound-host";
        metrics::with_local_recorder(&recorder, || {
            for i in 0..MAX_TOOL_LABELS + 50 {
                record(host, &format!("tool_{i}"), "agent", "ok", Duration::from_millis(1));
            }
            // A name seen before the bound keeps its own label.
            record(host, "tool_0", "agent", "ok", Duration::from_millis(1));
            record(host, "bad name\n{x=\"y\"}", "agent", "ok", Duration::from_millis(1));
            record("metrics-other-host", "tool_999", "agent", "ok", Duration::from_millis(1));
        });
        let text = recorder.handle().render();
        let series: Vec<&str> =
            text.lines().filter(|l| l.starts_with("herd_calls_total{") && l.contains(host)).collect();
        assert_eq!(series.len(), MAX_TOOL_LABELS + 1, "{text}");
        let line = |needle: &str| text.lines().find(|l| l.starts_with(needle)).map(str::to_owned);
        let other = format!(r#"herd_calls_total{{host="{host}",tool="other",path="agent",outcome="ok"}}"#);
        assert_eq!(line(&other), Some(format!("{other} 51")), "{text}");
        let first = format!(r#"herd_calls_total{{host="{host}",tool="tool_0",path="agent",outcome="ok"}}"#);
        assert_eq!(line(&first), Some(format!("{first} 2")), "{text}");
        assert!(!text.contains("bad name"), "{text}");
        assert!(text.contains(r#"host="metrics-other-host",tool="tool_999""#), "each host has its own bound");
    }

    #[test]
    fn an_invalid_name_is_counted_as_other_even_below_the_bound() {
        let handles = HostHandles::default();
        assert_eq!(handles.tool_label("read_file"), "read_file");
        assert_eq!(handles.tool_label(&"x".repeat(500)), OTHER);
        assert_eq!(handles.tool_label("a b"), OTHER);
    }
}
