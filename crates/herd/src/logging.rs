//! Structured logs on stderr (stdout belongs to the stdio transport),
//! written by a thread of their own (`background`) so that logging never
//! waits on stderr. With trace export on, the MCP spans go to their own
//! layer and stay out of the lines.

mod background;

use crate::cli::{LogArgs, LogFormat};
use herd_telemetry::Telemetry;
use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Writes out the lines still queued when dropped: hold it until the end of
/// `main`.
pub(crate) struct Guard {
    _flush: Option<background::Flush>,
}

pub(crate) fn init(args: &LogArgs, traces: Option<&Telemetry>) -> Guard {
    let filter = EnvFilter::try_new(&args.filter).unwrap_or_else(|err| {
        eprintln!("herd: ignoring invalid log filter {:?}: {err}", args.filter);
        EnvFilter::new("info")
    });
    // Colours only for a person at a terminal, never into files or journals.
    let ansi = std::io::stderr().is_terminal();
    let (lines, flush) = match background::spawn(std::io::stderr(), background::CAPACITY) {
        Ok((lines, flush)) => (Some(lines), Some(flush)),
        Err(err) => {
            eprintln!("herd: no log writer thread ({err}); writing logs directly");
            (None, None)
        }
    };
    match traces {
        None => plain(filter, ansi, lines, args.format),
        Some(traces) => with_traces(filter, ansi, lines, args.format, traces),
    }
    Guard { _flush: flush }
}

/// Log lines only: one global filter, nothing else to ask per span.
fn plain(filter: EnvFilter, ansi: bool, lines: Option<background::Lines>, format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    match (lines, format) {
        (Some(lines), LogFormat::Text) => builder.with_writer(lines).init(),
        (Some(lines), LogFormat::Json) => builder.with_writer(lines).json().init(),
        (None, LogFormat::Text) => builder.with_writer(std::io::stderr).init(),
        (None, LogFormat::Json) => builder.with_writer(std::io::stderr).json().init(),
    }
}

/// Log lines as [`plain`] writes them, beside the trace layer: each keeps
/// to its own (the MCP spans stay out of the log lines).
fn with_traces(filter: EnvFilter, ansi: bool, lines: Option<background::Lines>, format: LogFormat, traces: &Telemetry) {
    let filter = match format!("{}=off", herd_telemetry::TARGET).parse() {
        Ok(spans_off) => filter.add_directive(spans_off),
        Err(_) => filter,
    };
    let layer = tracing_subscriber::fmt::layer().with_ansi(ansi);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match (lines, format) {
        (Some(lines), LogFormat::Text) => layer.with_writer(lines).boxed(),
        (Some(lines), LogFormat::Json) => layer.json().with_writer(lines).boxed(),
        (None, LogFormat::Text) => layer.with_writer(std::io::stderr).boxed(),
        (None, LogFormat::Json) => layer.json().with_writer(std::io::stderr).boxed(),
    };
    tracing_subscriber::registry().with(fmt.with_filter(filter)).with(traces.layer()).init();
}
