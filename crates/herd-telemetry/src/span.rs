//! The spans of MCP calls, named and attributed as the OpenTelemetry
//! semantic conventions for MCP say.

use crate::propagate::{self, Inbound};
use crate::{TARGET, enabled};
use futures_util::future::Either;
use std::fmt::Display;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing::instrument::Instrumented;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// How a request reached the process (`network.transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP over TCP.
    Tcp,
    /// stdio.
    Pipe,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Pipe => "pipe",
        }
    }
}

/// What a span says of one MCP request.
#[derive(Clone, Copy, Default)]
pub struct CallFacts<'a> {
    /// `mcp.method.name`, e.g. `tools/call`.
    pub method: &'a str,
    /// The tool or prompt named (`gen_ai.tool.name`, `gen_ai.prompt.name`);
    /// the span name's target.
    pub target: Option<&'a str>,
    /// `jsonrpc.request.id`.
    pub request_id: Option<&'a dyn Display>,
    /// `mcp.session.id`.
    pub session_id: Option<&'a str>,
    /// `mcp.protocol.version`.
    pub protocol_version: Option<&'a str>,
}

/// One span: a request answered (SERVER) or a call made (CLIENT).
#[derive(Debug)]
pub struct McpSpan(tracing::Span);

impl McpSpan {
    /// The span of a request this process answers; `None` while tracing is
    /// off. Its parent is the trace context in `params._meta`
    /// (`traceparent`, `tracestate`) when there is one, else the one of the
    /// request's HTTP headers ([`crate::within`]).
    pub fn server(facts: &CallFacts<'_>, params: Option<&str>) -> Option<Self> {
        if !enabled() {
            return None;
        }
        let span = Self::new(facts, "server");
        let inbound = Inbound::current();
        if let Some(transport) = inbound.as_ref().map(|i| i.transport) {
            span.0.record("network.transport", transport.as_str());
            if transport == Transport::Tcp {
                span.0.record("network.protocol.name", "http");
            }
        }
        let parent = params.and_then(propagate::from_meta).or_else(|| inbound.and_then(|i| i.parent));
        if let Some(parent) = parent {
            // Fails only when the span is already started, which it is not.
            let _ = span.0.set_parent(parent);
        }
        Some(span)
    }

    /// The span of a call this process makes to `host` over `path`
    /// (`http` or `ssh`), a child of the current span; `None` while
    /// tracing is off.
    pub fn client(facts: &CallFacts<'_>, host: &str, path: &str) -> Option<Self> {
        if !enabled() {
            return None;
        }
        let span = Self::new(facts, "client");
        span.0.record("network.transport", Transport::Tcp.as_str());
        if path == "http" {
            span.0.record("network.protocol.name", "http");
        }
        span.0.record("herd.host", host);
        span.0.record("herd.path", path);
        Some(span)
    }

    fn new(facts: &CallFacts<'_>, kind: &'static str) -> Self {
        let name = match facts.target {
            Some(target) => format!("{} {target}", facts.method),
            None => facts.method.to_owned(),
        };
        let span = tracing::info_span!(
            target: TARGET,
            "mcp",
            otel.name = %name,
            otel.kind = kind,
            otel.status_code = Empty,
            mcp.method.name = facts.method,
            mcp.session.id = Empty,
            mcp.protocol.version = Empty,
            jsonrpc.request.id = Empty,
            gen_ai.operation.name = Empty,
            gen_ai.tool.name = Empty,
            gen_ai.prompt.name = Empty,
            network.transport = Empty,
            network.protocol.name = Empty,
            "error.type" = Empty,
            rpc.response.status_code = Empty,
            herd.host = Empty,
            herd.path = Empty,
        );
        match (facts.method, facts.target) {
            ("tools/call", Some(tool)) => {
                span.record("gen_ai.operation.name", "execute_tool");
                span.record("gen_ai.tool.name", tool);
            }
            ("prompts/get", Some(prompt)) => {
                span.record("gen_ai.prompt.name", prompt);
            }
            _ => {}
        }
        if let Some(id) = facts.request_id {
            span.record("jsonrpc.request.id", tracing::field::display(id));
        }
        if let Some(session) = facts.session_id {
            span.record("mcp.session.id", session);
        }
        if let Some(version) = facts.protocol_version {
            span.record("mcp.protocol.version", version);
        }
        Self(span)
    }

    /// Marks the call failed with a JSON-RPC error `code`.
    pub fn fail_with_code(&self, code: i32) {
        self.0.record("rpc.response.status_code", code);
        self.fail(&code.to_string());
    }

    /// Marks the call failed; `error_type` is low-cardinality
    /// (`tool_error`, `cancelled`, `unreachable`).
    pub fn fail(&self, error_type: &str) {
        self.0.record("error.type", error_type);
        self.0.record("otel.status_code", "ERROR");
    }

    /// `future` inside `span` when there is one; as it is otherwise.
    pub fn instrument<F: Future>(span: Option<&Self>, future: F) -> Either<Instrumented<F>, F> {
        match span {
            Some(span) => Either::Left(future.instrument(span.0.clone())),
            None => Either::Right(future),
        }
    }
}

/// Whether a `CallToolResult` says the tool failed (`"isError": true`).
pub fn is_tool_error(result: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Flag {
        #[serde(rename = "isError", default)]
        is_error: bool,
    }
    result.contains("isError") && serde_json::from_str::<Flag>(result).is_ok_and(|f| f.is_error)
}
