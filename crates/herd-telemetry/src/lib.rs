//! OpenTelemetry traces of MCP calls.
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then [`Telemetry::from_env`]
//! builds an OTLP exporter from the standard `OTEL_*` variables and the
//! binary adds [`Telemetry::layer`] to its subscriber. While it is off,
//! [`enabled`] is one relaxed atomic load and every helper here returns at
//! once, so the request path pays nothing.
//!
//! Spans follow the OpenTelemetry semantic conventions for MCP: one SERVER
//! span per request a router answers ([`McpSpan::server`]), one CLIENT span
//! per call the hub makes to a host ([`McpSpan::client`]), named
//! `{mcp.method.name} {target}`. Trace context travels as W3C
//! `traceparent`/`tracestate`: in HTTP headers ([`inject_headers`],
//! [`Inbound::http`]) and in `params._meta` of the request
//! ([`meta_entries`]), which is the only carrier stdio has. Attributes name
//! methods, tools, ids and hosts, never arguments or credentials.

mod propagate;
mod setup;
mod span;

pub use propagate::{Inbound, inject_headers, meta_entries, within};
pub use setup::{Telemetry, TelemetryError};
pub use span::{CallFacts, McpSpan, Transport, is_tool_error};

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are being made and exported.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The target of every span made here: the binary's log filter leaves it
/// out of log lines, the exporter takes only it.
pub const TARGET: &str = "herd_telemetry";
